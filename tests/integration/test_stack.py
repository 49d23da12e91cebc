"""The local stack is real: the real API server enforces schemas and RBAC, and the real ACK
controller drives TrainingJobs through the simulator."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, config

from sagemaker_ack_kfp.codegen.ack_release import pinned_versions
from tests.support.cluster import GROUP, VERSION, Cluster, PrivateStacks, create_namespace, wait_for
from tests.support.manifests import training_job

pytestmark = pytest.mark.integration


def get_training_job(cluster: Cluster, namespace: str, name: str) -> dict[str, Any]:
    api = client.CustomObjectsApi(cluster.admin())
    return dict(api.get_namespaced_custom_object(GROUP, VERSION, namespace, "trainingjobs", name))


def condition(obj: dict[str, Any], kind: str) -> dict[str, Any]:
    return next((c for c in (obj.get("status") or {}).get("conditions", []) if c["type"] == kind), {})


def test_server_reports_the_pinned_kubernetes_version(cluster: Cluster) -> None:
    if cluster.stack is None:
        pytest.skip("only the local stack pins the server version")
    out = cluster.kubectl("version", "-o", "yaml").stdout
    assert yaml.safe_load(out)["serverVersion"]["gitVersion"] == pinned_versions()["KUBERNETES_VERSION"]


def test_second_stack_up_reuses_the_running_stack(cluster: Cluster) -> None:
    if cluster.stack is None:
        pytest.skip("local stack only")
    before = cluster.stack.load_state()
    again = cluster.stack.up(require_controller=False)
    assert before is not None and again.pids == before.pids


def test_api_server_rejects_a_wrong_type_by_the_crd_schema(cluster: Cluster, namespace: str) -> None:
    manifest = training_job("wrong-type", namespace)
    manifest["spec"]["resourceConfig"]["instanceCount"] = "two"
    result = cluster.kubectl("apply", "-f", "-", stdin=yaml.safe_dump(manifest), check=False)
    assert result.returncode != 0
    assert "spec.resourceConfig.instanceCount" in result.stderr and "integer" in result.stderr
    assert cluster.kubectl("get", "trainingjobs", "-n", namespace, "-o", "name").stdout.strip() == ""


def test_user_without_rolebinding_is_forbidden(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    if cluster.stack is None:
        pytest.skip("static test users exist only on the local stack")
    kubeconfig = cluster.kubeconfig_for_token(cluster.user_token("alice"), tmp_path / "alice.kubeconfig")
    api = client.CustomObjectsApi(config.new_client_from_config(config_file=str(kubeconfig)))
    with pytest.raises(client.ApiException) as raised:
        api.create_namespaced_custom_object(GROUP, VERSION, namespace, "trainingjobs", training_job("denied", namespace))
    assert raised.value.status == 403
    assert 'User "alice" cannot create resource "trainingjobs"' in json.loads(raised.value.body)["message"]


def test_crds_show_acks_printer_columns(cluster: Cluster, namespace: str) -> None:
    cluster.kubectl("apply", "-f", "-", stdin=yaml.safe_dump(training_job("columns", namespace)))
    header = cluster.kubectl("get", "trainingjobs", "-n", namespace).stdout.splitlines()[0].split()
    assert header[:3] == ["NAME", "SECONDARY-STATUS", "STATUS"]


@pytest.mark.controller
def test_controller_drives_a_training_job_to_completed(cluster: Cluster, namespace: str) -> None:
    name = f"tj-{uuid.uuid4().hex[:8]}"
    cluster.kubectl("apply", "-f", "-", stdin=yaml.safe_dump(training_job(name, namespace)))
    done = wait_for(
        lambda: (obj := get_training_job(cluster, namespace, name)).get("status", {}).get("trainingJobStatus") == "Completed"
        and condition(obj, "ACK.ResourceSynced").get("status") == "True"
        and obj,
        timeout=180, interval=1, what="trainingJobStatus Completed and ACK.ResourceSynced True",
    )
    status = done["status"]
    assert status["secondaryStatus"] == "Completed"
    assert status["modelArtifacts"]["s3ModelArtifacts"] == f"s3://demo-bucket/mnist/output/{name}/output/model.tar.gz"
    assert status["ackResourceMetadata"]["arn"] == f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{name}"
    if cluster.simulator_url:
        [job] = cluster.sim_resources("TrainingJob", name_prefix=name)
        assert job["status"] == "Completed"


@pytest.mark.controller
@pytest.mark.simulator
def test_injected_failure_ends_failed_with_its_reason(cluster: Cluster, namespace: str) -> None:
    name = f"tj-{uuid.uuid4().hex[:8]}"
    manifest = training_job(name, namespace, fail_reason="AlgorithmError: injected by the test")
    cluster.kubectl("apply", "-f", "-", stdin=yaml.safe_dump(manifest))
    failed = wait_for(
        lambda: (obj := get_training_job(cluster, namespace, name)).get("status", {}).get("trainingJobStatus") == "Failed"
        and obj,
        timeout=180, interval=1, what="trainingJobStatus Failed",
    )
    assert failed["status"]["failureReason"] == "AlgorithmError: injected by the test"


@pytest.mark.controller
@pytest.mark.simulator
def test_deleting_an_in_progress_training_job_stops_it(cluster: Cluster, namespace: str) -> None:
    name = f"tj-{uuid.uuid4().hex[:8]}"
    # Long phases keep the job InProgress while we delete it.
    cluster.kubectl("apply", "-f", "-", stdin=yaml.safe_dump(training_job(name, namespace, phase_seconds="60")))
    wait_for(
        lambda: [j for j in cluster.sim_resources("TrainingJob", name_prefix=name) if j["status"] == "InProgress"],
        timeout=60, what="the job InProgress in the simulator",
    )
    cluster.kubectl("delete", "trainingjob", name, "-n", namespace, "--wait=false")
    wait_for(
        lambda: [j for j in cluster.sim_resources("TrainingJob", name_prefix=name) if j["status"] in ("Stopping", "Stopped")],
        timeout=120, interval=1, what="StopTrainingJob to reach the simulator",
    )
    assert cluster.sim("/_sim/calls")["calls"].get("StopTrainingJob", 0) >= 1


@pytest.mark.controller
@pytest.mark.simulator
def test_controller_recovers_after_a_throttling_burst(private_stack: PrivateStacks) -> None:
    """SageMaker throttles the account (every caller's next 5 calls) just as a TrainingJob is
    applied: the controller backs off, creates exactly one job, and drives it to Completed.

    On a private stack: a burst on the shared one would also throttle the concurrent tests."""
    cluster = private_stack.start()
    if not cluster.controller_running:
        pytest.skip(f"ACK controller not running in the private stack: {cluster.controller_absent_reason}")
    namespace = create_namespace(cluster, "throttling-burst")
    name = f"tj-{uuid.uuid4().hex[:8]}"
    cluster.sim("/_sim/throttle", {"count": 5})
    cluster.kubectl("apply", "-f", "-", stdin=yaml.safe_dump(training_job(name, namespace, phase_seconds="2")))
    done = wait_for(
        lambda: (obj := get_training_job(cluster, namespace, name)).get("status", {}).get("trainingJobStatus") == "Completed"
        and obj,
        timeout=240, interval=1, what="Completed after throttling",
    )
    assert done["status"]["secondaryStatus"] == "Completed"
    assert sum(cluster.sim("/_sim/calls")["throttled"].values()) == 5  # the burst really hit the controller
    assert len(cluster.sim_resources("TrainingJob", name_prefix=name)) == 1
    assert cluster.sim("/_sim/calls")["calls"]["CreateTrainingJob"] == 1


@pytest.mark.controller
def test_controller_reconciles_exactly_the_kinds_with_a_component(cluster: Cluster) -> None:
    """--reconcile-resources names every kind of components/ and nothing else: the controller starts
    a reconciler for each of them and none for the kinds the project does not offer."""
    if cluster.stack is None or cluster.state is None:
        pytest.skip("the local stack's own controller only")
    from sagemaker_ack_kfp.kinds import known_kinds

    argv = Path(f"/proc/{cluster.state.pids['controller']}/cmdline").read_bytes().decode().split("\0")
    [flag] = [arg for arg in argv if arg.startswith("--reconcile-resources=")]
    assert flag.split("=", 1)[1].split(",") == list(known_kinds())
    assert len(known_kinds()) == 18
    log = cluster.stack.layout.log("controller").read_text()
    excluded = {json.loads(line)["kind"] for line in log.splitlines()
                if line.startswith("{") and "excluding reconciler for resource kind" in line}
    assert {"NotebookInstance", "Domain", "FeatureGroup"} <= excluded
    assert not excluded & set(known_kinds())
