"""Run a generated component as a Pod on the local stack's node, built by the same function the
local runner's pod mode uses (localrun/pods.py: Argo's node-name annotation, the pipeline/runid
label, the pipeline's service account, outputs through hostPath folders), and watch it: its log as
it runs, its exit code, its output files."""

from __future__ import annotations

import fcntl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from sagemaker_ack_kfp.localrun.launching import Attempt
from sagemaker_ack_kfp.localrun.plan import ContainerCall, RunContext
from sagemaker_ack_kfp.localrun.pods import CONTAINER, NODE_NAME_ANNOTATION, pod_manifest
from sagemaker_ack_kfp.stack.images import component_image_name
from sagemaker_ack_kfp.stack.processes import is_alive
from tests.support.cluster import Cluster, wait_for
from tests.support.component_command import COMPONENTS, resolve_args

IN_POD_OUTPUTS = Path("/tmp/outputs")


@contextmanager
def node_lock(cluster: Cluster, *, exclusive: bool = False) -> Iterator[None]:
    """Tests that use the node hold it shared; the one that stops and restarts it holds it alone."""
    assert cluster.stack is not None
    path = cluster.stack.layout.root.parent / ".stack-node.lock"
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        try:
            state = cluster.stack.load_state()
            if state is None or state.node != "running" or not is_alive(state.pids.get("kubelet", 0)):
                # It ran when the session started: a test that stopped it could not start it again.
                pytest.fail(f"the local stack's node is down: {state.node if state else 'no stack'}")
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class StepPod:
    def __init__(self, cluster: Cluster, namespace: str, name: str, outputs: dict[str, Path]) -> None:
        self.cluster, self.namespace, self.name, self.outputs = cluster, namespace, name, outputs
        self.core = client.CoreV1Api(cluster.admin())
        self.lines: list[str] = []
        self._logs = threading.Thread(target=self._follow_logs, daemon=True)
        self._logs.start()

    def _follow_logs(self) -> None:
        """The container's log as it runs (a deleted pod's log is gone afterwards)."""
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if self.terminated() is not None or self.running():
                break
            time.sleep(0.2)
        try:
            response = self.core.read_namespaced_pod_log(
                self.name, self.namespace, container=CONTAINER, follow=True, _preload_content=False
            )
            buffer = b""
            for chunk in response.stream(1024):
                buffer += chunk
                *complete, buffer = buffer.split(b"\n")
                self.lines.extend(line.decode(errors="replace") for line in complete)
            if buffer:
                self.lines.append(buffer.decode(errors="replace"))
        except (client.ApiException, OSError, ValueError):
            pass

    def pod(self) -> dict[str, Any] | None:
        try:
            return dict(self.core.api_client.sanitize_for_serialization(self.core.read_namespaced_pod(self.name, self.namespace)))
        except client.ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def _state(self) -> dict[str, Any]:
        pod = self.pod() or {}
        for status in (pod.get("status") or {}).get("containerStatuses") or []:
            return dict(status.get("state") or {})
        return {}

    def running(self) -> bool:
        return "running" in self._state()

    def terminated(self) -> dict[str, Any] | None:
        return self._state().get("terminated")

    def wait_for_line(self, text: str, *, timeout: float = 120) -> str:
        return str(wait_for(lambda: next((line for line in self.lines if text in line), None), timeout=timeout,
                            interval=0.2, what=f"{text!r} in the log of pod {self.name} (so far: {self.lines[-5:]})"))

    def exit_code(self, *, timeout: float = 180) -> int:
        terminated = wait_for(self.terminated, timeout=timeout, interval=0.3, what=f"pod {self.name} to finish")
        self._logs.join(timeout=30)
        return int(terminated["exitCode"])

    def log(self) -> str:
        self._logs.join(timeout=30)
        return "\n".join(self.lines)

    def delete(self) -> None:
        """As Kubernetes deletes a pod: SIGTERM, its grace period, then SIGKILL."""
        self.core.delete_namespaced_pod(self.name, self.namespace)

    def output(self, name: str) -> str:
        return self.outputs[name].read_text()


def start_step_pod(
    cluster: Cluster,
    namespace: str,
    kind: str,
    arguments: dict[str, Any],
    *,
    workdir: Path,
    run_id: str,
    task: str,
    attempt: int = 0,
    retries: int = 0,
    service_account: str = "default-editor",
    annotate: bool = True,
) -> StepPod:
    """A component's step as KFP 1.8 runs it: its component.yaml's command with these inputs."""
    spec = yaml.safe_load((COMPONENTS / kind / "component.yaml").read_text())
    argv, in_pod = resolve_args(spec, arguments, IN_POD_OUTPUTS, run_id)
    command_length = len(spec["implementation"]["container"]["command"])
    host = {name: workdir / task / str(attempt) / name for name in in_pod}
    for folder in host.values():
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o777)
    call = ContainerCall(
        image=spec["implementation"]["container"]["image"],
        command=argv[:command_length],
        args=argv[command_length:],
        env=[],
        output_dirs={str(in_pod[name].parent): host[name] for name in in_pod},
    )
    assert call.image == component_image_name()
    run = RunContext(run_id=run_id, workdir=workdir, namespace=namespace, pipeline_name="node-test", params={})
    manifest = pod_manifest(run, Attempt(task=task, number=attempt, retries=retries), call, service_account=service_account)
    if not annotate:
        del manifest["metadata"]["annotations"][NODE_NAME_ANNOTATION]
    client.CoreV1Api(cluster.admin()).create_namespaced_pod(namespace, manifest)
    return StepPod(cluster, namespace, manifest["metadata"]["name"], {name: host[name] / "data" for name in in_pod})


def create_service_account(cluster: Cluster, namespace: str, name: str = "default-editor") -> str:
    core = client.CoreV1Api(cluster.admin())
    core.create_namespaced_service_account(namespace, {"metadata": {"name": name}})
    return name
