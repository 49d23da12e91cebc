"""The TrainingJob component, run exactly as KFP runs its container command, against the stack."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from sagemaker_ack_kfp.naming import RUN_LABEL, TASK_LABEL
from tests.support.cluster import GROUP, VERSION, Cluster, wait_for
from tests.support.component_command import ComponentStep
from tests.support.manifests import tags, training_arguments

pytestmark = pytest.mark.integration


def step(cluster: Cluster, tmp_path: Path, arguments: dict[str, Any], *, run_id: str = "", task: str = "train") -> ComponentStep:
    return ComponentStep(
        "TrainingJob", arguments, kubeconfig=cluster.kubeconfig, workdir=tmp_path,
        run_id=run_id or str(uuid.uuid4()), task=task,
    )


def training_jobs(cluster: Cluster, namespace: str) -> list[dict[str, Any]]:
    api = client.CustomObjectsApi(cluster.admin())
    return list(api.list_namespaced_custom_object(GROUP, VERSION, namespace, "trainingjobs")["items"])


# ----- success, failure, retries (need the controller) -------------------------------------


@pytest.mark.controller
def test_success_writes_plain_outputs(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    run_id = str(uuid.uuid4())
    result = step(cluster, tmp_path, training_arguments(namespace), run_id=run_id).run()
    assert result.returncode == 0, result.stderr
    name = result.outputs["training_job_name"]
    assert name.startswith("training-train-") and len(name) <= 32
    assert result.outputs["model_artifact_url"] == f"s3://demo-bucket/mnist/output/{name}/output/model.tar.gz"
    assert result.outputs["training_job_arn"] == f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{name}"
    assert result.output_json("status")["trainingJobStatus"] == "Completed"
    assert set(result.output_json("final_metrics")) == {"debugRuleEvaluationStatuses", "profilerRuleEvaluationStatuses"}
    # Progress: one line per change, with console links; no CR dump.
    assert "InProgress" in result.stdout and "Completed" in result.stdout
    assert "SageMaker console: https://us-east-1.console.aws.amazon.com/sagemaker/home" in result.stdout
    assert "CloudWatch logs:" in result.stdout
    assert "apiVersion" not in result.stdout
    [job] = training_jobs(cluster, namespace)
    assert job["metadata"]["labels"] == {RUN_LABEL: run_id, TASK_LABEL: "train"}


@pytest.mark.controller
@pytest.mark.simulator
def test_failed_job_exits_1_with_sagemakers_reason(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    arguments = training_arguments(namespace, tags=tags(fail_reason="ClientError: Unable to download data from s3://x"))
    result = step(cluster, tmp_path, arguments).run()
    assert result.returncode == 1
    assert "failed: Failed: ClientError: Unable to download data from s3://x" in result.stderr
    assert result.outputs == {}  # outputs are written only on success
    assert "Traceback" not in result.stderr


@pytest.mark.controller
@pytest.mark.simulator
def test_sigterm_stops_the_sagemaker_job(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    arguments = training_arguments(namespace, tags=tags(phase_seconds="60"))
    component = step(cluster, tmp_path, arguments)
    proc = component.start()
    component.terminate_when(proc, lambda: [j for j in training_jobs(cluster, namespace) if j.get("status", {}).get("trainingJobStatus") == "InProgress"])
    result = component.finish(proc, timeout=60)
    assert result.returncode == 143
    assert "received SIGTERM" in result.stderr
    name = result.stdout.split("TrainingJob name ")[1].split()[0]
    wait_for(
        lambda: [j for j in cluster.sim_resources("TrainingJob", name_prefix=name) if j["status"] in ("Stopping", "Stopped")],
        timeout=120, interval=1, what="the SageMaker job to be stopped",
    )


@pytest.mark.controller
@pytest.mark.simulator
def test_retried_step_reattaches_and_creates_one_job(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    run_id = str(uuid.uuid4())
    arguments = training_arguments(namespace, tags=tags(phase_seconds="3"))
    first = step(cluster, tmp_path / "a", arguments, run_id=run_id)
    proc = first.start()
    # The pod dies mid-wait (SIGKILL: no chance to clean up), and KFP starts a new one.
    first.terminate_when(proc, lambda: training_jobs(cluster, namespace))
    proc.kill()
    proc.wait()
    retry = step(cluster, tmp_path / "b", arguments, run_id=run_id).run()
    assert retry.returncode == 0, retry.stderr
    assert "reattached to the existing TrainingJob" in retry.stdout
    name = retry.outputs["training_job_name"]
    assert len(cluster.sim_resources("TrainingJob", name_prefix=name)) == 1
    assert len(training_jobs(cluster, namespace)) == 1


@pytest.mark.controller
@pytest.mark.simulator
def test_retry_after_success_only_writes_outputs(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    run_id = str(uuid.uuid4())
    first = step(cluster, tmp_path / "a", training_arguments(namespace), run_id=run_id).run()
    assert first.returncode == 0, first.stderr
    second = step(cluster, tmp_path / "b", training_arguments(namespace), run_id=run_id).run()
    assert second.returncode == 0, second.stderr
    assert "reattached to the existing TrainingJob" in second.stdout
    assert second.outputs == first.outputs
    name = first.outputs["training_job_name"]
    assert len(cluster.sim_resources("TrainingJob", name_prefix=name)) == 1
    assert len(training_jobs(cluster, namespace)) == 1


@pytest.mark.controller
@pytest.mark.simulator
def test_persistent_recoverable_condition_fails_with_its_message(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    arguments = training_arguments(
        namespace,
        tags=tags(validation_error="Invalid ResourceConfig: ml.m5.huge is not a supported instance type"),
        recoverable_grace_seconds=3,
    )
    result = step(cluster, tmp_path, arguments).run(timeout=180)
    assert result.returncode == 1
    assert "ACK.Recoverable" in result.stderr
    assert "ml.m5.huge is not a supported instance type" in result.stderr


@pytest.mark.controller
def test_kfp2_struct_floats_reach_the_cr_as_integers(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    # KFP 2.x passes JsonObject inputs through protobuf Struct: every number arrives as a float.
    arguments = training_arguments(
        namespace,
        resource_config={"instanceCount": 1.0, "instanceType": "ml.m5.large", "volumeSizeInGB": 5.0},
        stopping_condition={"maxRuntimeInSeconds": 3600.0},
    )
    result = step(cluster, tmp_path, arguments).run()
    assert result.returncode == 0, result.stderr
    [job] = training_jobs(cluster, namespace)
    assert job["spec"]["resourceConfig"]["volumeSizeInGB"] == 5
    assert job["spec"]["stoppingCondition"]["maxRuntimeInSeconds"] == 3600
    assert '"volumeSizeInGB":5.0' not in json.dumps(job["spec"]).replace(" ", "")


# ----- needs only the API server ---------------------------------------------------------


def test_forbidden_step_names_the_rbac_fix(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    if cluster.stack is None:
        pytest.skip("static test users exist only on the local stack")
    kubeconfig = cluster.kubeconfig_for_token(cluster.user_token("bob"), tmp_path / "bob.kubeconfig")
    component = ComponentStep(
        "TrainingJob", training_arguments(namespace), kubeconfig=kubeconfig, workdir=tmp_path, run_id="r", task="t"
    )
    result = component.run()
    assert result.returncode == 3
    assert "permission denied" in result.stderr
    assert f"create trainingjobs.sagemaker.services.k8s.aws in namespace '{namespace}'" in result.stderr
    assert "rbac/setup.sh" in result.stderr
    assert training_jobs(cluster, namespace) == []


def test_cr_carries_run_labels_and_generated_name(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    """Created with labels, a deterministic name, and the spec exactly as given (camelCase)."""
    run_id = str(uuid.uuid4())
    arguments = training_arguments(namespace, no_controller_seconds=1 if not cluster.controller_running else None)
    result = step(cluster, tmp_path, arguments, run_id=run_id, task="my-pipeline.train-model").run()
    [job] = training_jobs(cluster, namespace)
    assert job["metadata"]["labels"] == {RUN_LABEL: run_id, TASK_LABEL: "train-model"}
    assert job["metadata"]["name"].startswith("training-train-model-")
    assert job["spec"]["hyperParameters"] == {"k": "10", "feature_dim": "784"}
    if cluster.controller_running:
        assert result.returncode == 0, result.stderr
    else:
        assert result.returncode == 3 and "no ACK controller acted" in result.stderr
