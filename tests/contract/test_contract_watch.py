"""Contract tests: the step's one watch, through the real `Kube.watch`, against a real API server.
It survives a restart of the API server, a watch resumed from a resourceVersion that etcd has
compacted away (HTTP 410 Gone: the step re-reads its resource), and 429/5xx answers (from a proxy
in front of the real server: the step backs off, honouring Retry-After, and carries on). The
controller's part is replayed from recordings of the real controller."""

from __future__ import annotations

import base64
import json
import time
import urllib.request
from pathlib import Path

import pytest
from kubernetes import client

from sagemaker_ack_kfp.kinds import load_kind
from sagemaker_ack_kfp.kube import Gone, Kube, ResourceRef
from tests.contract.stage import Contract
from tests.support.cluster import GROUP, VERSION, Cluster, PrivateStacks, create_namespace
from tests.support.component_command import StepResult
from tests.support.fault_proxy import FaultProxy
from tests.support.manifests import step_arguments, training_job

pytestmark = pytest.mark.integration

TRAINING = load_kind("TrainingJob")


@pytest.fixture(scope="module")
def restartable(private_stack: PrivateStacks) -> Cluster:
    """A stack of this module's own, without the controller: its API server gets restarted."""
    return private_stack.start(with_controller=False)


def _etcd(cluster: Cluster, path: str, body: dict[str, object]) -> dict[str, object]:
    assert cluster.state is not None
    request = urllib.request.Request(f"http://127.0.0.1:{cluster.state.ports['etcd']}{path}",
                                     data=json.dumps(body).encode(), method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return dict(json.loads(response.read()))


def compact_etcd(cluster: Cluster) -> int:
    """Compact etcd up to its current revision (the stack compacts every minute anyway; this does it
    now): every older resourceVersion is gone from the store. Returns the revision."""
    header = _etcd(cluster, "/v3/kv/range", {"key": base64.b64encode(b"/").decode()})["header"]
    assert isinstance(header, dict)
    revision = int(header["revision"])
    _etcd(cluster, "/v3/kv/compaction", {"revision": revision, "physical": True})
    return revision


def move_etcd_on(cluster: Cluster, namespace: str) -> None:
    """A write elsewhere, so that the store's revision is past every version the step has seen."""
    client.CoreV1Api(cluster.admin()).create_namespaced_config_map(
        namespace, {"metadata": {"generateName": "revision-"}, "data": {"at": str(time.time())}})


def requests(cluster: Cluster, namespace: str, verbs: tuple[str, ...] = ("watch",)) -> list[str]:
    """The URIs of the `verbs` requests on trainingjobs in `namespace`, in order (audit log; a 410
    during a watch comes inside its stream, so the log has the request, not the answer)."""
    assert cluster.stack is not None
    uris: dict[str, str] = {}
    for line in cluster.stack.layout.audit_log.read_text().splitlines():
        entry = json.loads(line)
        ref = entry.get("objectRef") or {}
        if entry.get("verb") in verbs and ref.get("namespace") == namespace and ref.get("resource") == "trainingjobs":
            uris.setdefault(entry["auditID"], entry["requestURI"])
    return list(uris.values())


def completed(result: StepResult) -> StepResult:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    name = result.outputs["training_job_name"]
    assert result.outputs["model_artifact_url"] == f"s3://demo-bucket/mnist/output/{name}/output/model.tar.gz"
    assert result.output_json("status")["trainingJobStatus"] == "Completed"
    return result


def test_a_watch_from_a_compacted_version_raises_gone(restartable: Cluster) -> None:
    namespace = create_namespace(restartable, "watch-gone")
    api = client.CustomObjectsApi(restartable.admin())
    created = api.create_namespaced_custom_object(GROUP, VERSION, namespace, "trainingjobs", training_job("gone", namespace))
    old = created["metadata"]["resourceVersion"]
    for n in range(3):
        api.patch_namespaced_custom_object(GROUP, VERSION, namespace, "trainingjobs", "gone", {"metadata": {"labels": {"n": str(n)}}})
    compact_etcd(restartable)
    assert restartable.stack is not None
    restartable.stack.restart("kube-apiserver")  # its watch cache starts afresh, above the compaction

    kube = Kube(restartable.admin())
    ref = ResourceRef(GROUP, VERSION, "trainingjobs", "TrainingJob", namespace, "gone")
    with pytest.raises(Gone, match="too old resource version"):
        list(kube.watch(ref, resource_version=old, timeout_seconds=5))
    # The object's own version is as old (nothing changed it since): from no version at all, the
    # watch starts with the object as it is now.
    current = kube.get(ref)
    assert current is not None
    with pytest.raises(Gone):
        list(kube.watch(ref, resource_version=current["metadata"]["resourceVersion"], timeout_seconds=1))
    [added] = [event for event in kube.watch(ref, resource_version="", timeout_seconds=1) if event["type"] != "BOOKMARK"]
    assert added["type"] == "ADDED" and added["raw_object"]["metadata"]["labels"] == {"n": "2"}


def test_a_step_survives_an_api_server_restart_and_a_compacted_version(restartable: Cluster, tmp_path: Path) -> None:
    contract = Contract(restartable, create_namespace(restartable, "watch-restart"), tmp_path)
    run = contract.start("TrainingJob", step_arguments("TrainingJob", contract.namespace))
    replay = contract.replay("TrainingJob", "success")
    replay.play(until="InProgress")
    run.wait_for_line(": InProgress")  # the step is in its watch
    move_etcd_on(restartable, contract.namespace)
    compact_etcd(restartable)
    assert restartable.stack is not None
    restartable.stack.restart("kube-apiserver")
    run.wait_for_line("watch interrupted")
    seen = replay.live
    assert seen is not None
    before = len(requests(restartable, contract.namespace, ("get", "watch")))
    time.sleep(3)  # the job runs on, nothing changes: the step waits quietly, no request loop
    quiet = requests(restartable, contract.namespace, ("get", "watch"))[before:]
    assert len(quiet) <= 5, quiet
    replay.play()
    result = completed(run.finish())
    assert "reconnecting" in result.stdout
    assert "reattached" not in result.stdout and len(contract.resources("TrainingJob")) == 1
    # It resumed from the version it had seen, was told 410 Gone (too old for the restarted server),
    # and watched on from the current state: a watch without a version, which only Gone leads to.
    watches = requests(restartable, contract.namespace)
    resumed = [i for i, uri in enumerate(watches) if f"resourceVersion={seen['metadata']['resourceVersion']}" in uri]
    from_now = [i for i, uri in enumerate(watches) if "resourceVersion=" not in uri]
    assert resumed and from_now and from_now[0] > resumed[0], watches


def test_throttled_and_failing_watches_are_retried(contract: Contract, tmp_path: Path) -> None:
    watches = lambda method, path: method == "GET" and "watch=true" in path.lower()  # noqa: E731
    with FaultProxy(contract.cluster) as proxy:
        proxy.answer(429, count=1, match=watches, retry_after=1)
        proxy.answer(503, count=1, match=watches)
        proxy.answer(500, count=1, match=watches)
        run = contract.start("TrainingJob", step_arguments("TrainingJob", contract.namespace),
                             kubeconfig=proxy.kubeconfig(tmp_path / "kubeconfig"))
        replay = contract.replay("TrainingJob", "success")
        replay.attach()
        run.wait_for_line("watch interrupted (ConnectionError); reconnecting")
        replay.play()
        result = completed(run.finish())
        outcomes = [seen.outcome for seen in proxy.requests(watches)]
    assert outcomes[:4] == ["answered 429", "answered 503", "answered 500", "passed"], outcomes
    watched = proxy_times = [seen.at for seen in proxy.requests(watches)][:2]
    assert watched[1] - watched[0] >= 0.8, proxy_times  # the 429's Retry-After: 1 was honoured
    # (The HTTP client itself retries a GET answered 429 with a Retry-After; the others reach the step.)
    assert result.stdout.count("watch interrupted (ConnectionError); reconnecting") >= 2, result.stdout


def test_a_throttled_create_waits_as_long_as_retry_after_says(contract: Contract, tmp_path: Path) -> None:
    creates = lambda method, path: method == "POST" and path.split("?")[0].endswith("/trainingjobs")  # noqa: E731
    with FaultProxy(contract.cluster) as proxy:
        proxy.answer(429, count=2, match=creates, retry_after=2)
        run = contract.start("TrainingJob", step_arguments("TrainingJob", contract.namespace),
                             kubeconfig=proxy.kubeconfig(tmp_path / "kubeconfig"))
        contract.replay("TrainingJob", "success").play()
        result = completed(run.finish())
        seen = proxy.requests(creates)
    assert [s.outcome for s in seen] == ["answered 429", "answered 429", "passed"]
    gaps = [later.at - earlier.at for earlier, later in zip(seen, seen[1:])]
    assert all(gap >= 2 * 0.8 for gap in gaps), gaps  # Retry-After, less the jitter
    assert [entry["responseStatus"]["code"] for entry in contract.requests("TrainingJob", "create")] == [201]
    assert "created TrainingJob" in result.stdout


def test_a_server_error_on_a_read_is_retried(contract: Contract, tmp_path: Path) -> None:
    reads = lambda method, path: method == "GET" and "/trainingjobs/" in path and "watch" not in path.lower()  # noqa: E731
    with FaultProxy(contract.cluster) as proxy:
        proxy.answer(503, count=2, match=reads)
        run = contract.start("TrainingJob", step_arguments("TrainingJob", contract.namespace),
                             kubeconfig=proxy.kubeconfig(tmp_path / "kubeconfig"))
        contract.replay("TrainingJob", "success").play()
        completed(run.finish())
        outcomes = [seen.outcome for seen in proxy.requests(reads)]
    assert outcomes[:3] == ["answered 503", "answered 503", "passed"], outcomes


def test_a_resource_deleted_while_the_step_waits_fails_the_step(contract: Contract) -> None:
    run = contract.start("TrainingJob", step_arguments("TrainingJob", contract.namespace))
    replay = contract.replay("TrainingJob", "success")
    replay.play(until="InProgress")
    run.wait_for_line(": InProgress")
    name = replay.name
    assert name is not None
    # Someone deletes it and the controller lets go (no stop by the step: it did not ask).
    contract.api.delete_namespaced_custom_object(GROUP, VERSION, contract.namespace, "trainingjobs", name)
    contract.api.patch_namespaced_custom_object(GROUP, VERSION, contract.namespace, "trainingjobs", name,
                                                {"metadata": {"finalizers": None}})
    result = run.finish()
    assert result.returncode == 1, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert f"TrainingJob {contract.namespace}/{name} was deleted while the step was waiting for it" in result.stderr
    assert result.outputs == {} and "Traceback" not in result.stderr
