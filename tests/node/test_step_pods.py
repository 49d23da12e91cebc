"""Pipeline steps as real Pods on the local stack's node, as KFP 1.8 runs them: the component image,
the pipeline's service account and its projected token, RBAC from rbac/setup.sh, the step's
identity read from its own pod, SIGTERM from a pod deletion, a retried pod reattaching, and bad
input. None of it needs the ACK controller: where a resource must progress, the test writes its
status as the controller would (status subresource, admin credentials). With a controller in the
stack (ACK_CONTROLLER_BIN) they pass too: the training job is kept running by the simulator, and
the status writes are left to the controller where it makes them itself."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from sagemaker_ack_kfp.rbac import granting
from tests.support.cluster import GROUP, VERSION, Cluster, create_namespace, wait_for
from tests.support.manifests import MODEL_IMAGE, ROLE, training_arguments
from tests.support.step_pods import create_service_account, node_lock, start_step_pod

pytestmark = [pytest.mark.integration, pytest.mark.node]


@pytest.fixture(autouse=True)
def _node_in_use(cluster: Cluster) -> Iterator[None]:
    with node_lock(cluster):
        yield


@pytest.fixture
def pipeline_namespace(cluster: Cluster) -> str:
    """A namespace as a KFP profile has it: the pipeline's service account, no grant yet."""
    namespace = create_namespace(cluster, "node-steps")
    create_service_account(cluster, namespace)
    return namespace


def grant(cluster: Cluster, namespace: str) -> None:
    """What rbac/setup.sh does (the same code): Role and RoleBinding for default-editor."""
    api = cluster.admin()
    granting.apply_role(api, namespace)
    granting.apply_binding(api, namespace, "default-editor")


def custom(cluster: Cluster, namespace: str, plural: str) -> list[dict[str, Any]]:
    listing = client.CustomObjectsApi(cluster.admin()).list_namespaced_custom_object(GROUP, VERSION, namespace, plural)
    return list(listing["items"])


def write_status(cluster: Cluster, namespace: str, plural: str, name: str, status: dict[str, Any]) -> None:
    """What the ACK controller would write, through the status subresource."""
    now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    for condition in status.get("conditions", []):
        condition.setdefault("lastTransitionTime", now)
    client.CustomObjectsApi(cluster.admin()).patch_namespaced_custom_object_status(
        GROUP, VERSION, namespace, plural, name, {"status": status}
    )


def synced(arn: str, **fields: Any) -> dict[str, Any]:
    return {
        "ackResourceMetadata": {"arn": arn, "ownerAccountID": "123456789012", "region": "us-east-1"},
        "conditions": [{"type": "ACK.ResourceSynced", "status": "True"}],
        **fields,
    }


def training_inputs(namespace: str, **overrides: Any) -> dict[str, Any]:
    """A training step's inputs, in the step's own namespace (no namespace input: the pod's)."""
    # With a controller, the simulator keeps the job InProgress for an hour; without one, nothing acts.
    tags = [{"key": "sim/phase-seconds", "value": "3600"}]
    inputs = training_arguments(namespace, tags=tags, no_controller_seconds=600, **overrides)
    del inputs["namespace"]
    return inputs


def model_inputs() -> dict[str, Any]:
    return {"execution_role_arn": ROLE, "primary_container": {"image": MODEL_IMAGE, "modelDataURL": "s3://b/model.tar.gz"}}


def test_a_step_pod_gets_a_real_403_without_the_rolebinding_and_succeeds_with_it(
    cluster: Cluster, pipeline_namespace: str, tmp_path: Path
) -> None:
    run_id = str(uuid.uuid4())
    refused = start_step_pod(cluster, pipeline_namespace, "Model", model_inputs(), workdir=tmp_path, run_id=run_id, task="model")
    assert refused.exit_code() == 3, refused.log()
    log = refused.log()
    # The API server's own answer to the pod's projected service-account token.
    assert f'User "system:serviceaccount:{pipeline_namespace}:default-editor" cannot create resource "models"' in log, log
    assert "permission denied: the pod's service account may not create models.sagemaker.services.k8s.aws" in log
    assert "rbac/setup.sh --namespace" in log
    assert custom(cluster, pipeline_namespace, "models") == []

    grant(cluster, pipeline_namespace)
    allowed = start_step_pod(
        cluster, pipeline_namespace, "Model", model_inputs(), workdir=tmp_path, run_id=run_id, task="model", attempt=1
    )
    allowed.wait_for_line("created Model")
    [model] = custom(cluster, pipeline_namespace, "models")
    name = model["metadata"]["name"]
    if not cluster.controller_running:
        write_status(cluster, pipeline_namespace, "models", name, synced(f"arn:aws:sagemaker:us-east-1:123456789012:model/{name}"))
    assert allowed.exit_code() == 0, allowed.log()
    [done] = custom(cluster, pipeline_namespace, "models")
    # The outputs came back from the container, through the node's filesystem.
    assert allowed.output("model_name") == model["spec"]["modelName"]
    assert allowed.output("model_arn") == done["status"]["ackResourceMetadata"]["arn"]


def test_the_step_identity_comes_from_its_own_pod(cluster: Cluster, pipeline_namespace: str, tmp_path: Path) -> None:
    grant(cluster, pipeline_namespace)
    run_id = str(uuid.uuid4())
    step = start_step_pod(cluster, pipeline_namespace, "Model", model_inputs(), workdir=tmp_path, run_id=run_id, task="register")
    line = step.wait_for_line("Model name")
    [model] = custom(cluster, pipeline_namespace, "models")
    pod = step.pod()
    assert pod is not None
    node_name = pod["metadata"]["annotations"]["workflows.argoproj.io/node-name"]
    assert node_name.endswith(".register")
    # The task is the pod's Argo node name, read by the step from its own pod: nothing in the
    # container's environment says it (the local runner's process mode would).
    env = {item["name"] for item in pod["spec"]["containers"][0].get("env") or []}
    assert not {"SAGEMAKER_ACK_KFP_TASK", "SAGEMAKER_ACK_KFP_RUN_ID"} & env
    assert f"task {node_name}" in line and f"run {run_id}" in line, line
    assert model["metadata"]["labels"]["sagemaker-ack-kfp.io/task"] == "register"
    assert model["metadata"]["annotations"]["sagemaker-ack-kfp.io/task"] == node_name
    step.delete()

    # The same inputs in a pod without the annotation: no task, so the name comes from the inputs.
    anonymous = start_step_pod(
        cluster, pipeline_namespace, "Model", model_inputs(), workdir=tmp_path, run_id=run_id, task="register",
        attempt=1, annotate=False,
    )
    assert "derived from the inputs (no KFP run identity)" in anonymous.wait_for_line("Model name")
    anonymous.delete()


def test_deleting_the_pod_mid_wait_sends_sigterm_and_the_step_deletes_its_training_job(
    cluster: Cluster, pipeline_namespace: str, tmp_path: Path
) -> None:
    grant(cluster, pipeline_namespace)
    inputs = training_inputs(pipeline_namespace)
    step = start_step_pod(cluster, pipeline_namespace, "TrainingJob", inputs, workdir=tmp_path, run_id=str(uuid.uuid4()), task="train")
    step.wait_for_line("created TrainingJob")
    [job] = custom(cluster, pipeline_namespace, "trainingjobs")
    step.delete()  # what terminating a KFP run does to its pods

    def deleted() -> bool:  # gone, or (a controller stopping the job first) marked for deletion
        return all(job["metadata"].get("deletionTimestamp") for job in custom(cluster, pipeline_namespace, "trainingjobs"))

    wait_for(deleted, timeout=60, what="the TrainingJob to be deleted")
    step.wait_for_line(f"deleted TrainingJob {pipeline_namespace}/{job['metadata']['name']}; the controller stops the SageMaker job")
    step.wait_for_line("received SIGTERM: the run was terminated")


def test_an_endpoint_stays_when_its_pod_is_deleted_and_the_retried_pod_reattaches(
    cluster: Cluster, pipeline_namespace: str, tmp_path: Path
) -> None:
    grant(cluster, pipeline_namespace)
    run_id = str(uuid.uuid4())
    inputs = {"endpoint_config_name": "config-a", "no_controller_seconds": 600, "recoverable_grace_seconds": 600}
    first = start_step_pod(
        cluster, pipeline_namespace, "Endpoint", inputs, workdir=tmp_path, run_id=run_id, task="deploy", retries=2
    )
    first.wait_for_line("created Endpoint")
    [endpoint] = custom(cluster, pipeline_namespace, "endpoints")
    first.delete()
    first.wait_for_line("leaving Endpoint")
    wait_for(lambda: first.pod() is None, timeout=60, what="the first pod to be gone")
    [still] = custom(cluster, pipeline_namespace, "endpoints")
    assert still["metadata"]["uid"] == endpoint["metadata"]["uid"]

    # Argo's retry: a new pod, a new name, the same node name but for its attempt suffix.
    second = start_step_pod(
        cluster, pipeline_namespace, "Endpoint", inputs, workdir=tmp_path, run_id=run_id, task="deploy", retries=2, attempt=1
    )
    assert second.name != first.name
    annotations = (second.pod() or {})["metadata"]["annotations"]
    assert annotations["workflows.argoproj.io/node-name"].endswith(".deploy(1)")
    second.wait_for_line(f"reattached to the existing Endpoint {pipeline_namespace}/{endpoint['metadata']['name']}")
    if cluster.controller_running:
        # A real controller keeps retrying the missing config-a (ACK.Recoverable) and would undo a
        # status written here: the reattachment is what this test is about.
        second.delete()
        second.wait_for_line("leaving Endpoint")
        return
    name = endpoint["metadata"]["name"]
    write_status(cluster, pipeline_namespace, "endpoints", name,
                 synced(f"arn:aws:sagemaker:us-east-1:123456789012:endpoint/{name}", endpointStatus="InService"))
    assert second.exit_code() == 0, second.log()
    assert second.output("endpoint_name") == endpoint["spec"]["endpointName"]
    [after] = custom(cluster, pipeline_namespace, "endpoints")
    assert after["metadata"]["uid"] == endpoint["metadata"]["uid"]


def test_bad_input_exits_2_in_the_pod_with_its_message_in_kubectl_logs(
    cluster: Cluster, pipeline_namespace: str, tmp_path: Path
) -> None:
    grant(cluster, pipeline_namespace)
    inputs = training_inputs(pipeline_namespace, resource_config="{not json")
    step = start_step_pod(cluster, pipeline_namespace, "TrainingJob", inputs, workdir=tmp_path, run_id=str(uuid.uuid4()), task="train")
    assert step.exit_code() == 2
    logs = cluster.kubectl("logs", "-n", pipeline_namespace, step.name).stdout  # through the API server and kubelet
    assert "error: The TrainingJob step's inputs have" in logs, logs
    assert "input 'resource_config': not valid JSON" in logs and "nothing was created" in logs
    assert "Traceback" not in logs
    assert custom(cluster, pipeline_namespace, "trainingjobs") == []
