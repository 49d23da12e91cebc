"""The local stack is real: the real API server enforces schemas and RBAC, the real ACK
controller drives TrainingJobs through the simulator, and the object store serves S3."""

from __future__ import annotations

import json
import os
import socket
import sys
import uuid
from pathlib import Path
from typing import Any
from unittest import mock

import botocore.session
import pytest
import yaml
from botocore.exceptions import ClientError
from kubernetes import client, config

from sagemaker_ack_kfp.codegen.ack_release import pinned_versions
from sagemaker_ack_kfp.stack import object_store
from sagemaker_ack_kfp.stack.processes import StartFailed, is_alive
from tests.support.cluster import GROUP, VERSION, Cluster, PrivateStacks, create_namespace, wait_for
from tests.support.manifests import training_job
from tests.support.s3_data import BUCKET

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


def test_steps_get_aws_credentials_and_the_simulator_as_cloudwatch_logs_from_one_file(cluster: Cluster) -> None:
    """.stack/step.env is what run-local --env-file hands every step; .stack/env exports the same."""
    if cluster.stack is None or cluster.state is None:
        pytest.skip("local stack only")
    lines = [line for line in cluster.stack.layout.step_env_file.read_text().splitlines() if line and not line.startswith("#")]
    step_env = dict(line.split("=", 1) for line in lines)
    assert step_env["AWS_ENDPOINT_URL_CLOUDWATCH_LOGS"] == cluster.state.simulator_url
    assert {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION"} <= set(step_env)
    exported = cluster.stack.layout.env_file.read_text()
    assert all(f"export {key}={value}\n" in exported for key, value in step_env.items())
    # A Pod on the node gets the same, with the node's address, where the relay forwards each port.
    pod_file = cluster.stack.layout.pod_step_env_file
    if cluster.state.node != "running":
        assert not pod_file.exists()
    else:
        lines = [line for line in pod_file.read_text().splitlines() if line and not line.startswith("#")]
        pod_env = dict(line.split("=", 1) for line in lines)
        assert pod_env.keys() == step_env.keys()
        for key, value in step_env.items():
            assert pod_env[key] == value.replace("://127.0.0.1:", "://10.200.0.2:"), key
        assert pod_env["AWS_ENDPOINT_URL_CLOUDWATCH_LOGS"].startswith("http://10.200.0.2:")
    # botocore, with nothing but that environment, reaches the simulator's Logs endpoint.
    with mock.patch.dict(os.environ, step_env, clear=True):
        logs = botocore.session.Session().create_client("logs")
        assert logs.meta.endpoint_url == cluster.state.simulator_url
        try:
            found = logs.describe_log_streams(logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix="no-such-job/")
        except ClientError as exc:  # no job of the stack has written the group yet
            assert exc.response["Error"]["Code"] == "ResourceNotFoundException"
        else:
            assert found["logStreams"] == []


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


# ----- the object store ----------------------------------------------------------------------


def env_file(cluster: Cluster) -> dict[str, str]:
    assert cluster.stack is not None
    lines = cluster.stack.layout.env_file.read_text().splitlines()
    return dict(line.removeprefix("export ").split("=", 1) for line in lines if line.startswith("export "))


def test_the_object_store_serves_s3_at_the_endpoint_in_the_env_file(cluster: Cluster) -> None:
    if cluster.stack is None or not cluster.object_store_url:
        pytest.skip("the local stack with its object store only")
    env = env_file(cluster)
    assert env["AWS_ENDPOINT_URL_S3"] == cluster.object_store_url
    assert env["AWS_ENDPOINT_URL_S3"].startswith("http://127.0.0.1:")
    assert env["AWS_ACCESS_KEY_ID"] == object_store.FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"]
    s3 = cluster.s3()
    key = f"stack-test/{uuid.uuid4().hex}.txt"
    s3.put_object(Bucket=BUCKET, Key=key, Body=b"hello")
    assert s3.get_object(Bucket=BUCKET, Key=key)["Body"].read() == b"hello"
    status = cluster.stack.status()
    assert status["object_store"] == cluster.object_store_url and status["pieces"][object_store.PIECE]["alive"]


@pytest.mark.controller
@pytest.mark.simulator
def test_a_job_whose_input_prefix_is_empty_fails_with_sagemakers_reason(cluster: Cluster, namespace: str) -> None:
    if not cluster.object_store_url:
        pytest.skip("needs the stack's object store")
    name = f"tj-{uuid.uuid4().hex[:8]}"
    manifest = training_job(name, namespace)
    channel = manifest["spec"]["inputDataConfig"][0]["dataSource"]["s3DataSource"]
    channel["s3URI"] = f"s3://{BUCKET}/nothing-here/{name}/"
    cluster.kubectl("apply", "-f", "-", stdin=yaml.safe_dump(manifest))
    failed = wait_for(
        lambda: (obj := get_training_job(cluster, namespace, name)).get("status", {}).get("trainingJobStatus") == "Failed"
        and obj,
        timeout=180, interval=1, what="trainingJobStatus Failed",
    )
    assert failed["status"]["failureReason"].startswith(
        f'ClientError: Data download failed:No S3 objects found under S3 URL "s3://{BUCKET}/nothing-here/{name}/" '
        "given in input data source. Please ensure that the bucket exists in the selected region (us-east-1)")


def test_object_store_starts_and_stops_with_the_stack_and_a_failed_start_names_it(
    private_stack: PrivateStacks, monkeypatch: pytest.MonkeyPatch
) -> None:
    with_store = private_stack.start(with_controller=False, install_crds=False, s3=True)
    assert with_store.stack is not None and with_store.state is not None
    pid = with_store.state.pids[object_store.PIECE]
    assert is_alive(pid) and object_store.healthy(str(with_store.object_store_url))
    simulator_argv = with_store.state.argv["simulator"]
    assert f"--s3-endpoint-url={with_store.object_store_url}" in simulator_argv
    with_store.stack.down(quiet=True)
    assert not is_alive(pid)

    without = private_stack.start(with_controller=False, install_crds=False, s3=False)
    assert without.object_store_url is None and without.state is not None
    assert object_store.PIECE not in without.state.pids
    assert not [a for a in without.state.argv["simulator"] if a.startswith("--s3-endpoint-url")]
    assert "AWS_ENDPOINT_URL_S3" not in env_file(without)

    # A store that cannot start is named, with the end of its log.
    monkeypatch.setattr(object_store, "argv", lambda port: [sys.executable, "-c", "print('cannot serve S3: port taken'); raise SystemExit(3)"])
    with pytest.raises(StartFailed) as failed:
        private_stack.start(with_controller=False, install_crds=False, s3=True)
    assert failed.value.piece == object_store.PIECE
    assert "object-store failed to start: the process exited" in str(failed.value)
    assert "cannot serve S3: port taken" in str(failed.value)



def test_a_port_taken_after_it_was_picked_is_replaced(
    private_stack: PrivateStacks, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The stack picks every port before it starts the pieces; another process can bind one
    meanwhile. Here every first pick is a port the test already listens on: each piece fails to
    bind, is started again on new ports (saying so) and the stack comes up whole."""
    from sagemaker_ack_kfp.stack import control_plane
    from sagemaker_ack_kfp.stack.processes import free_port

    held: list[socket.socket] = []

    def a_port_someone_else_binds() -> int:
        if len(held) >= 7:  # every port of the first round; new picks are really free
            return free_port()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        held.append(sock)
        return int(sock.getsockname()[1])

    monkeypatch.setattr(control_plane, "free_port", a_port_someone_else_binds)
    try:
        stack = private_stack.start(with_controller=True, install_crds=True, s3=True)
    finally:
        taken = {sock.getsockname()[1] for sock in held}
        for sock in held:
            sock.close()
    assert stack.state is not None
    said = capsys.readouterr().out
    started = [piece for piece in ("etcd", "kube-apiserver", object_store.PIECE, "simulator") if piece in stack.state.pids]
    if stack.state.controller == "running":
        started.append("controller")
    for piece in started:
        assert f"{piece}: port " in said and "was taken by another process meanwhile" in said, said
        assert is_alive(stack.state.pids[piece])
    ports_of = {"etcd": ("etcd", "etcd-peer"), "controller": ("controller-metrics", "controller-healthz")}
    in_use = {stack.state.ports[name] for piece in started for name in ports_of.get(piece, (piece,))}
    assert len(started) >= 4 and not taken & in_use, (taken, stack.state.ports)
    assert object_store.healthy(str(stack.object_store_url))
    core = client.CoreV1Api(stack.admin())
    assert core.list_namespace().items

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
