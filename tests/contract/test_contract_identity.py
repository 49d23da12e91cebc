"""Contract tests: a step in a KFP pod finds its run and task the way it does in a real pod: from
HOSTNAME, the mounted service account and its own Pod object's Argo annotation and KFP label, read
from the real API server. (A pod is played by a process: HOSTNAME names a real Pod object, and
SAGEMAKER_ACK_KFP_SERVICE_ACCOUNT_DIR a directory laid out like the service-account mount.)"""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from kubernetes import client

from sagemaker_ack_kfp.identity import NODE_NAME_ANNOTATION, RUN_ID_LABEL, SERVICE_ACCOUNT_DIR_ENV
from sagemaker_ack_kfp.naming import RUN_LABEL, TASK_ANNOTATION, TASK_LABEL
from tests.contract.stage import Contract
from tests.support.component_command import StepResult
from tests.support.manifests import step_arguments

pytestmark = pytest.mark.integration

NODE = "mnist-pipeline-x7k2p.train-model"


def argo_pod(contract: Contract, *, attempt: int, run_id: str) -> str:
    """A Pod object as Argo creates it for one attempt of a task (it never runs: no scheduler
    picks it up)."""
    core = client.CoreV1Api(contract.cluster.admin())
    try:  # the ServiceAccount admission plugin needs it; kube-controller-manager may not run
        core.create_namespaced_service_account(contract.namespace, {"metadata": {"name": "default"}})
    except client.ApiException as exc:
        if exc.status != 409:
            raise
    name = f"mnist-pipeline-x7k2p-{attempt}{uuid.uuid4().hex[:6]}"
    core.create_namespaced_pod(contract.namespace, {
        "metadata": {"name": name, "annotations": {NODE_NAME_ANNOTATION: f"{NODE}({attempt})"},
                     "labels": {RUN_ID_LABEL: run_id}},
        "spec": {"schedulerName": "not-scheduled-contract-test", "containers": [{"name": "main", "image": "step:test"}]},
    })
    return name


def service_account_mount(contract: Contract, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "namespace").write_text(contract.namespace)
    (folder / "token").write_text("not-used: the step's credentials come from its kubeconfig")
    return folder


def run_in_pod(contract: Contract, pod: str, mount: Path, *, run_id_arg: str, scenario: str = "success") -> StepResult:
    # No namespace input and no SAGEMAKER_ACK_KFP_TASK: both must come from the pod.
    run = contract.start("TrainingJob", step_arguments("TrainingJob", contract.namespace) | {"namespace": None},
                         run_id=run_id_arg, task=None, env={"HOSTNAME": pod, SERVICE_ACCOUNT_DIR_ENV: str(mount)})
    contract.replay("TrainingJob", scenario).play()
    return run.finish()


@pytest.mark.parametrize("run_id_arg", ["substituted", "{{workflow.uid}}"])
def test_a_step_in_a_pod_takes_its_task_from_the_argo_annotation(contract: Contract, tmp_path: Path, run_id_arg: str) -> None:
    """KFP substitutes {{workflow.uid}} in the step's arguments; where it did not, the run is the
    pod's pipeline/runid label."""
    run_id = str(uuid.uuid4())
    pod = argo_pod(contract, attempt=0, run_id=run_id)
    result = run_in_pod(contract, pod, service_account_mount(contract, tmp_path / "sa"),
                        run_id_arg=run_id if run_id_arg == "substituted" else run_id_arg)
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert f"(derived from run {run_id}, task {NODE})" in result.stdout
    [job] = contract.resources("TrainingJob")  # in the namespace of the service-account mount
    assert job["metadata"]["labels"] == {RUN_LABEL: run_id, TASK_LABEL: "train-model"}
    assert job["metadata"]["annotations"][TASK_ANNOTATION] == NODE
    assert job["metadata"]["name"].startswith("training-train-model-")
    assert result.outputs["training_job_name"] == job["spec"]["trainingJobName"]


def test_the_next_attempt_of_the_task_reattaches(contract: Contract, tmp_path: Path) -> None:
    """Argo's retry suffix (0), (1)... differs per attempt and pod; the task, and so the resource, do not."""
    run_id = str(uuid.uuid4())
    mount = service_account_mount(contract, tmp_path / "sa")
    first = run_in_pod(contract, argo_pod(contract, attempt=0, run_id=run_id), mount, run_id_arg=run_id)
    assert first.returncode == 0, first.stderr
    retry = contract.start("TrainingJob", step_arguments("TrainingJob", contract.namespace) | {"namespace": None},
                           run_id=run_id, task=None,
                           env={"HOSTNAME": argo_pod(contract, attempt=1, run_id=run_id), SERVICE_ACCOUNT_DIR_ENV: str(mount)})
    second = retry.finish()
    assert second.returncode == 0, second.stderr
    assert "reattached to the existing TrainingJob" in second.stdout
    assert second.outputs == first.outputs
    assert len(contract.resources("TrainingJob")) == 1
    assert [entry["responseStatus"]["code"] for entry in contract.requests("TrainingJob", "create")] == [201, 409]


def test_outside_a_pod_hostname_alone_is_not_a_pod(contract: Contract) -> None:
    """Without the service-account mount the step does not look for a pod (a laptop's HOSTNAME
    names no Pod): with no identity, the name follows the inputs."""
    run_id = str(uuid.uuid4())
    pod = argo_pod(contract, attempt=0, run_id=run_id)
    run = contract.start("TrainingJob", step_arguments("TrainingJob", contract.namespace), run_id="{{workflow.uid}}",
                         task=None, env={"HOSTNAME": pod, SERVICE_ACCOUNT_DIR_ENV: "/nonexistent/serviceaccount"})
    contract.replay("TrainingJob", "success").play()
    result = run.finish()
    assert result.returncode == 0, result.stderr
    assert "(derived from the inputs (no KFP run identity))" in result.stdout
    [job] = contract.resources("TrainingJob")
    assert job["metadata"].get("labels", {}) == {}
