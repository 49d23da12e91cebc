"""`run-local --mode pod` on the local stack's node: every step of a compiled pipeline (KFP SDK 1.8
and 2.x) is a Pod as KFP would create it, outputs flow from one pod to the next, and the runner's
SIGTERM deletes the running step's pod, which stops its job. Without the ACK controller the test
plays the controller's part and writes the statuses; with one, the controller does."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from sagemaker_ack_kfp.rbac import granting
from tests.integration.test_samples import ROLE, LocalRun, compile_with
from tests.support.cluster import GROUP, VERSION, Cluster, create_namespace, wait_for
from tests.support.step_pods import create_service_account, node_lock

pytestmark = [pytest.mark.integration, pytest.mark.node, pytest.mark.slow]

PIPELINE = '''
from kfp import dsl

from kfp_compat import component, never_cache

Model = component("Model")
EndpointConfig = component("EndpointConfig")
IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"


@dsl.pipeline(name="pods-model-config")
def pods_model_config(role_arn: str, no_controller_seconds: int = 600):
    model = never_cache(Model(
        execution_role_arn=role_arn,
        primary_container={"image": IMAGE, "modelDataURL": "s3://demo-bucket/model.tar.gz"},
        no_controller_seconds=no_controller_seconds,
    ))
    never_cache(EndpointConfig(
        production_variants=[{"variantName": "main", "modelName": model.outputs["model_name"],
                              "initialInstanceCount": 1, "instanceType": "ml.m5.large"}],
        no_controller_seconds=no_controller_seconds,
    ))


PIPELINE = pods_model_config
'''


@pytest.fixture(autouse=True)
def _node_in_use(cluster: Cluster) -> Iterator[None]:
    with node_lock(cluster):
        yield


def custom(cluster: Cluster, namespace: str, plural: str) -> list[dict[str, Any]]:
    return list(client.CustomObjectsApi(cluster.admin()).list_namespaced_custom_object(GROUP, VERSION, namespace, plural)["items"])


class StatusWriter:
    """Plays the ACK controller for kinds that are done once synced: every new Model and
    EndpointConfig gets an ARN and ACK.ResourceSynced True."""

    def __init__(self, cluster: Cluster, namespace: str) -> None:
        self.cluster, self.namespace = cluster, namespace
        self.done = threading.Event()
        self.thread = threading.Thread(target=self._loop, daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        api = client.CustomObjectsApi(self.cluster.admin())
        while not self.done.wait(0.5):
            for plural, arn_kind in (("models", "model"), ("endpointconfigs", "endpoint-config")):
                for obj in custom(self.cluster, self.namespace, plural):
                    if (obj.get("status") or {}).get("conditions"):
                        continue
                    name = obj["metadata"]["name"]
                    status = {
                        "ackResourceMetadata": {"arn": f"arn:aws:sagemaker:us-east-1:123456789012:{arn_kind}/{name}",
                                                "ownerAccountID": "123456789012", "region": "us-east-1"},
                        "conditions": [{"type": "ACK.ResourceSynced", "status": "True",
                                        "lastTransitionTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}],
                    }
                    api.patch_namespaced_custom_object_status(GROUP, VERSION, self.namespace, plural, name, {"status": status})

    def stop(self) -> None:
        self.done.set()
        self.thread.join(timeout=10)


def prepared_namespace(cluster: Cluster, prefix: str) -> str:
    namespace = create_namespace(cluster, prefix)
    create_service_account(cluster, namespace)
    api = cluster.admin()
    granting.apply_role(api, namespace)
    granting.apply_binding(api, namespace, "default-editor")
    return namespace


@pytest.mark.parametrize("sdk", ["kfp-1.8.22", "kfp-2"])
def test_every_step_runs_as_a_pod_and_outputs_flow_between_pods(cluster: Cluster, tmp_path: Path, sdk: str) -> None:
    source = tmp_path / "pods_model_config.py"
    source.write_text(PIPELINE)
    pipeline = compile_with(sdk, source, tmp_path / "pipeline.yaml")
    namespace = prepared_namespace(cluster, f"pods-{sdk}")
    run_id = str(uuid.uuid4())
    writer = None if cluster.controller_running else StatusWriter(cluster, namespace)
    try:
        run = LocalRun(cluster, pipeline, namespace, tmp_path, f"role_arn={ROLE}", options=("--mode", "pod", "--run-id", run_id))
        code, out, report = run.wait(timeout=300)
    finally:
        if writer:
            writer.stop()
    assert code == 0, out[-5000:]
    assert {step["status"] for step in report["steps"]} == {"Succeeded"}
    [model] = custom(cluster, namespace, "models")
    [config] = custom(cluster, namespace, "endpointconfigs")
    # The Model step's output, read back from its pod, is what the next pod was given.
    assert config["spec"]["productionVariants"][0]["modelName"] == model["spec"]["modelName"]
    core = client.CoreV1Api(cluster.admin())

    def pods_succeeded() -> list[Any]:  # kubelet reports the phase a moment after the container's end
        pods = core.list_namespaced_pod(namespace, label_selector=f"pipeline/runid={run_id}").items
        return pods if pods and all(pod.status.phase == "Succeeded" for pod in pods) else []

    pods = wait_for(pods_succeeded, timeout=30, what="the step pods to be Succeeded")
    assert len(pods) == 2
    for pod in pods:
        assert pod.spec.service_account_name == "default-editor"
        assert pod.spec.containers[0].image == "ghcr.io/sagemaker-ack-kfp/components:0.1.0"
        assert pod.spec.containers[0].command == ["python3", "-u", "-m", "sagemaker_ack_kfp.component"]
        assert pod.metadata.annotations["workflows.argoproj.io/node-name"].rsplit(".", 1)[1] in {s["name"] for s in report["steps"]}
    # Each step found its task in its own pod: the CRs carry the node names.
    tasks = {obj["metadata"]["annotations"]["sagemaker-ack-kfp.io/task"] for obj in (model, config)}
    assert tasks == {pod.metadata.annotations["workflows.argoproj.io/node-name"] for pod in pods}


def test_terminating_the_runner_deletes_the_running_pod_which_stops_its_job(cluster: Cluster, tmp_path: Path) -> None:
    pipeline = compile_with("kfp-1.8.22", "training_only", tmp_path / "training_only.yaml")
    namespace = prepared_namespace(cluster, "pods-sigterm")
    # The simulator (with a controller) keeps the job running for an hour; without one nothing acts.
    run = LocalRun(cluster, pipeline, namespace, tmp_path, f"role_arn={ROLE}", "bucket=demo-bucket",
                   "no_controller_seconds=600", options=("--mode", "pod"))
    wait_for(lambda: custom(cluster, namespace, "trainingjobs"), timeout=120, what="the TrainingJob")
    core = client.CoreV1Api(cluster.admin())
    # The data step's pod has finished by now; the training step's is the one running.
    [pod] = [p for p in core.list_namespaced_pod(namespace).items
             if p.metadata.annotations["workflows.argoproj.io/node-name"].endswith(".sagemaker-trainingjob")]
    run.process.terminate()  # SIGTERM to the runner, as when a CI job is cancelled
    code, out, report = run.wait(timeout=120)
    assert code == 130, out
    assert "interrupted: stopping 1 running step(s) (deleting their pods)" in out
    assert "received SIGTERM: the run was terminated" in out  # the pod's own log, streamed
    assert "deleted TrainingJob" in out
    [training] = [step for step in report["steps"] if step["name"] == "sagemaker-trainingjob"]
    assert training["exit_code"] == 143
    wait_for(lambda: all(j["metadata"].get("deletionTimestamp") for j in custom(cluster, namespace, "trainingjobs")),
             timeout=60, what="the TrainingJob to be deleted")
    wait_for(lambda: not [p for p in core.list_namespaced_pod(namespace).items if p.metadata.name == pod.metadata.name],
             timeout=60, what="the step's pod to be gone")
