"""A cluster that cannot serve the step: no controller acting on the resource, no ACK CRDs, no
such namespace. Each ends in exit 3 with its own reason, never a traceback and never a
misleading reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.harness import custom_resources, job_name, sim_jobs, start
from tests.support.cluster import Cluster, PrivateStacks, create_namespace
from tests.support.manifests import training_arguments

pytestmark = pytest.mark.integration


def test_no_controller_acting(private_stack: PrivateStacks, tmp_path: Path) -> None:
    cluster = private_stack.start(with_controller=False)
    namespace = create_namespace(cluster, "no-controller")
    result = start(cluster, tmp_path, training_arguments(namespace, no_controller_seconds=3)).finish(timeout=120)

    assert result.returncode == 3, f"{result.stdout}\n{result.stderr}"
    assert "no ACK controller acted" in result.stderr
    assert f"does it watch namespace '{namespace}'" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.outputs == {}
    name = job_name(result.stdout)
    # The resource stays for a controller to pick up later; nothing reached SageMaker.
    assert [cr["metadata"]["name"] for cr in custom_resources(cluster, namespace)] == [name]
    assert sim_jobs(cluster, name) == []


def test_crds_missing(private_stack: PrivateStacks, tmp_path: Path) -> None:
    cluster = private_stack.start(install_crds=False)
    namespace = create_namespace(cluster, "no-crds")
    result = start(cluster, tmp_path, training_arguments(namespace)).finish(timeout=120)

    assert result.returncode == 3, f"{result.stdout}\n{result.stderr}"
    assert "the ACK SageMaker controller's CRDs are not installed" in result.stderr
    assert "trainingjobs.sagemaker.services.k8s.aws" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.outputs == {}
    assert cluster.sim_resources("TrainingJob") == []


def test_missing_namespace_is_not_reported_as_missing_crds(cluster: Cluster, tmp_path: Path) -> None:
    """Creating in a namespace that does not exist is a 404 too; the reason must name the namespace."""
    result = start(cluster, tmp_path, training_arguments("no-such-namespace-f4ult")).finish(timeout=120)

    assert result.returncode == 3, f"{result.stdout}\n{result.stderr}"
    assert "namespace 'no-such-namespace-f4ult' does not exist" in result.stderr
    assert "CRDs" not in result.stderr
    assert "Traceback" not in result.stderr
