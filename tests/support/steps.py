"""Running one component step against a cluster, as KFP runs it, and reading what it created."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import boto3
from kubernetes import client

from tests.support.cluster import GROUP, VERSION, Cluster
from tests.support.component_command import ComponentStep, StepResult


def component(cluster: Cluster, tmp_path: Path, kind: str, arguments: dict[str, Any], *, run_id: str = "",
              task: str = "") -> ComponentStep:
    return ComponentStep(
        kind, arguments, kubeconfig=cluster.kubeconfig, workdir=tmp_path / f"{kind}-{uuid.uuid4().hex[:6]}",
        run_id=run_id or str(uuid.uuid4()), task=task or kind.lower(),
    )


def run(cluster: Cluster, tmp_path: Path, kind: str, arguments: dict[str, Any], *, run_id: str = "", task: str = "",
        timeout: float = 400) -> StepResult:
    return component(cluster, tmp_path, kind, arguments, run_id=run_id, task=task).run(timeout=timeout)


def ok(result: StepResult) -> StepResult:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def items(cluster: Cluster, namespace: str, plural: str) -> list[dict[str, Any]]:
    api = client.CustomObjectsApi(cluster.admin())
    return list(api.list_namespaced_custom_object(GROUP, VERSION, namespace, plural)["items"])


def sagemaker(cluster: Cluster) -> Any:
    """A boto3 SageMaker client on the stack's simulator: to check what the controller did there."""
    assert cluster.simulator_url, "no simulator on an external cluster"
    return boto3.client("sagemaker", endpoint_url=cluster.simulator_url, region_name="us-east-1",
                        aws_access_key_id="AKIDSIMULATOR", aws_secret_access_key="not-a-secret")
