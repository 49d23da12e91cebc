"""Pod mode: each attempt of a step is a Pod on the cluster's node, built the way KFP 1.8's Argo
executor builds it, so a step runs exactly as in KFP: the component's image with the command and
arguments of the compiled pipeline, as the pipeline's service account (its projected token and
in-cluster configuration, its RBAC), identified by its own pod's Argo annotation and KFP label.

The Pod (what Argo writes, minus Argo's own wait sidecar and executor wrapper):
  metadata.name                           <workflow>-<task>-<hash>, new for every attempt
  annotations workflows.argoproj.io/node-name   <workflow>.<task>, with Argo's `(N)` attempt suffix
                                          when the step has a retry limit (a retry: a new pod,
                                          the same node name but for that suffix)
  labels pipeline/runid, workflows.argoproj.io/workflow, plus the template's own metadata
  spec.serviceAccountName                 the pipeline's (--service-account, else the compiled
                                          pipeline's, else KFP's default for the namespace)
  containers[main]                        image, command, args, env as compiled; restartPolicy Never

Outputs come back through the node's filesystem: each output file's folder in the container is a
hostPath volume backed by the step's folder on this machine (world-writable: the image runs as a
non-root user), which the runner reads once the container has exited 0. Argo's wait sidecar does the
same job by copying the files out; the node here is this machine, so a volume is enough.
The container's log is streamed to the console as it runs. Interrupting the runner deletes the
running pods (their grace period applies, so each step gets SIGTERM and stops its job).
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections import deque
from collections.abc import Iterator
from typing import Any

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

from sagemaker_ack_kfp.localrun.launching import Attempt, Emit, Outcome, failure_reason
from sagemaker_ack_kfp.localrun.plan import ContainerCall, Invocation, PipelineError, RunContext

NODE_NAME_ANNOTATION = "workflows.argoproj.io/node-name"
WORKFLOW_LABEL = "workflows.argoproj.io/workflow"
RUN_ID_LABEL = "pipeline/runid"
CONTAINER = "main"
# Waiting reasons after which a container will not start by itself.
_FATAL_WAITING = {
    "ErrImagePull", "ImagePullBackOff", "ErrImageNeverPull", "InvalidImageName",
    "CreateContainerConfigError", "CreateContainerError", "RunContainerError",
}
_POD_NAME_MAX = 63  # the pod's hostname is its name cut to 63: the step finds its pod by HOSTNAME
_LABEL_MAX = 63


def workflow_name(run: RunContext) -> str:
    """What Argo would name the run's Workflow: the pipeline's name and a suffix of the run, as a
    DNS label (it is also a label value)."""
    return _dns_label(f"{run.pipeline_name}-{run.run_id[:8]}")[:_LABEL_MAX].strip("-")


def node_name(run: RunContext, attempt: Attempt) -> str:
    base = f"{workflow_name(run)}.{attempt.task}"
    return f"{base}({attempt.number})" if attempt.retries else base


def pod_name(run: RunContext, attempt: Attempt) -> str:
    """New for every attempt (a rerun of the same --run-id too), at most 63 characters."""
    digest = str(int(hashlib.sha256(node_name(run, attempt).encode() + os.urandom(8)).hexdigest()[:8], 16))
    prefix = _dns_label(f"{workflow_name(run)}-{attempt.task}")[: _POD_NAME_MAX - len(digest) - 1].rstrip("-")
    return f"{prefix}-{digest}"


def label_value(text: str) -> str:
    """A Kubernetes label value: at most 63 characters, alphanumeric at both ends."""
    cleaned = "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in text)[:_LABEL_MAX]
    return cleaned.strip("-_.")


def _dns_label(text: str) -> str:
    out = "".join(ch if ch.isalnum() else "-" for ch in text.lower())
    return "-".join(part for part in out.split("-") if part)


def pod_manifest(run: RunContext, attempt: Attempt, call: ContainerCall, *, service_account: str,
                 step_env: dict[str, str] | None = None) -> dict[str, Any]:
    compiled = {item["name"] for item in call.env}
    # --env-file's variables first; the compiled env wins on a clash (as in the process mode).
    extra = [{"name": key, "value": value} for key, value in (step_env or {}).items() if key not in compiled]
    container: dict[str, Any] = {
        "name": CONTAINER,
        "image": call.image,
        "command": call.command,
        "args": call.args,
        "env": [*extra, *call.env],
        "volumeMounts": [{"name": f"output-{i}", "mountPath": inside} for i, inside in enumerate(sorted(call.output_dirs))],
        "terminationMessagePolicy": "FallbackToLogsOnError",
    }
    if call.resources:
        container["resources"] = call.resources
    volumes = [
        {"name": f"output-{i}", "hostPath": {"path": str(call.output_dirs[inside]), "type": "Directory"}}
        for i, inside in enumerate(sorted(call.output_dirs))
    ]
    labels = {**call.labels, WORKFLOW_LABEL: workflow_name(run), RUN_ID_LABEL: label_value(run.run_id)}
    annotations = {**call.annotations, NODE_NAME_ANNOTATION: node_name(run, attempt)}
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": pod_name(run, attempt), "namespace": run.namespace, "labels": labels, "annotations": annotations},
        "spec": {
            "serviceAccountName": service_account,
            "restartPolicy": "Never",
            "containers": [container],
            "volumes": volumes,
        },
    }


class PodLauncher:
    mode = "pod"

    def __init__(self, run: RunContext, *, service_account: str, kubeconfig: str | None = None,
                 start_timeout: float = 300.0, step_env: dict[str, str] | None = None) -> None:
        self.run_context = run
        self.step_env = step_env or {}  # --env-file: into every container's env
        self.service_account = service_account
        self.start_timeout = start_timeout
        try:
            self._api = config.new_client_from_config(config_file=kubeconfig)
        except (config.ConfigException, OSError) as exc:
            raise PipelineError(f"pod mode needs a cluster: cannot use kubeconfig {kubeconfig}: {exc}") from None
        self._core = client.CoreV1Api(self._api)
        self._running: dict[str, str] = {}  # task -> pod name
        self._lock = threading.Lock()
        self._interrupted: bool | None = None  # None; False: graceful; True: force

    # ----- before the run ------------------------------------------------------------------------
    def check(self) -> None:
        """Refuse up front what would fail every pod: no node, no service account."""
        namespace = self.run_context.namespace
        try:
            self._core.read_namespaced_service_account(self.service_account, namespace)
        except ApiException as exc:
            if exc.status == 404:
                raise PipelineError(
                    f"service account {namespace}/{self.service_account} does not exist: create it (KFP creates "
                    "pipeline-runner or default-editor), grant it with rbac/setup.sh, or pass --service-account"
                ) from None
            raise PipelineError(f"cannot read service account {namespace}/{self.service_account}: {exc.reason}") from None
        nodes = self._core.list_node().items
        ready = [n for n in nodes if any(c.type == "Ready" and c.status == "True" for c in n.status.conditions or [])]
        if not ready:
            raise PipelineError("pod mode needs a Ready node in the cluster and there is none "
                                "(the local stack starts one with `make stack-up`); or use --mode process")

    def command_line(self, invocation: Invocation) -> list[str]:
        call = _container(invocation)
        return [*call.command, *call.args]

    # ----- one attempt -------------------------------------------------------------------------
    def run(self, attempt: Attempt, invocation: Invocation, emit: Emit) -> Outcome:
        call = _container(invocation)
        for host in call.output_dirs.values():
            host.mkdir(parents=True, exist_ok=True)
            host.chmod(0o777)  # the image's user is not root
        manifest = pod_manifest(self.run_context, attempt, call, service_account=self.service_account,
                                step_env=self.step_env)
        name, namespace = manifest["metadata"]["name"], self.run_context.namespace
        with self._lock:
            if self._interrupted is not None:
                return Outcome(143, "the run was interrupted before the step's pod was created")
        try:
            self._core.create_namespaced_pod(namespace, manifest)
        except ApiException as exc:
            return Outcome(3, f"cannot create pod {namespace}/{name}: {_message(exc)}")
        with self._lock:
            self._running[attempt.task] = name
            late = self._interrupted
        emit(f"pod {namespace}/{name} (node name {manifest['metadata']['annotations'][NODE_NAME_ANNOTATION]}, "
             f"service account {self.service_account})")
        if late is not None:
            self._delete(name, force=late)
        try:
            return self._follow(name, emit)
        finally:
            with self._lock:
                self._running.pop(attempt.task, None)

    def _follow(self, name: str, emit: Emit) -> Outcome:
        started = self._wait_until_started(name)
        if isinstance(started, Outcome):
            return started
        tail: deque[str] = deque(maxlen=30)
        self._stream_logs(name, emit, tail)
        final = self._wait_until_terminated(name)
        if final is None:
            return Outcome(143, "the step's pod was deleted before its container finished")
        code = int(final.get("exitCode", 1))
        reason = ""
        if code:
            reason = failure_reason(list(tail), code)
            kind = final.get("reason") or ""
            if kind not in ("", "Error", "Completed"):
                reason = f"{kind}: {reason}"
        return Outcome(code, reason)

    def _events(self, name: str, timeout: float) -> Iterator[tuple[str, dict[str, Any]]]:
        """The pod's states: its current one, then every change (a watch from its resourceVersion);
        ("DELETED", last state) when it is gone."""
        namespace = self.run_context.namespace
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                pod = self._api.sanitize_for_serialization(self._core.read_namespaced_pod(name, namespace))
            except ApiException as exc:
                if exc.status == 404:
                    yield "DELETED", {}
                    return
                time.sleep(1)
                continue
            yield "MODIFIED", pod
            stream = watch.Watch().stream(
                self._core.list_namespaced_pod, namespace, field_selector=f"metadata.name={name}",
                resource_version=pod["metadata"]["resourceVersion"], allow_watch_bookmarks=False,
                timeout_seconds=max(1, min(60, int(deadline - time.monotonic()))), _preload_content=True,
            )
            try:
                for event in stream:
                    obj = self._api.sanitize_for_serialization(event["object"])
                    yield event["type"], obj
                    if event["type"] == "DELETED":
                        return
            except ApiException as exc:
                if exc.status != 410:  # 410 Gone: read again and watch from there
                    time.sleep(1)
            except (OSError, ValueError):
                time.sleep(1)

    def _wait_until_started(self, name: str) -> Outcome | None:
        """None once the container runs (or already ran); an Outcome if it never will."""
        last = "Pending"
        for kind, pod in self._events(name, self.start_timeout):
            if kind == "DELETED":
                return Outcome(143, "the step's pod was deleted before its container started")
            state = _container_state(pod)
            if "running" in state or "terminated" in state:
                return None
            waiting = state.get("waiting") or {}
            if waiting.get("reason") in _FATAL_WAITING:
                self._delete(name, force=True)
                return Outcome(3, f"the step's container cannot start: {waiting['reason']}: {waiting.get('message', '')}".strip())
            status = pod.get("status") or {}
            if status.get("phase") == "Failed":
                return Outcome(1, f"the step's pod failed: {status.get('reason', '')} {status.get('message', '')}".strip())
            last = _pending_reason(pod) or last
        self._delete(name, force=True)
        return Outcome(3, f"the step's pod did not start within {self.start_timeout:g}s: {last}")

    def _stream_logs(self, name: str, emit: Emit, tail: deque[str]) -> None:
        try:
            response = self._core.read_namespaced_pod_log(
                name, self.run_context.namespace, container=CONTAINER, follow=True, _preload_content=False
            )
        except ApiException as exc:
            emit(f"(cannot stream the pod's log: {_message(exc)})")
            return
        buffer = b""
        try:
            for chunk in response.stream(4096):
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for line in lines:
                    text = line.decode(errors="replace")
                    tail.append(text)
                    emit(text)
        except (OSError, ValueError):
            pass
        finally:
            response.release_conn()
        if buffer:
            text = buffer.decode(errors="replace")
            tail.append(text)
            emit(text)

    def _wait_until_terminated(self, name: str) -> dict[str, Any] | None:
        last: dict[str, Any] | None = None
        for kind, pod in self._events(name, 24 * 3600):
            if kind == "DELETED":
                return _container_state(pod).get("terminated") or last
            terminated = _container_state(pod).get("terminated")
            if terminated:
                return dict(terminated)
        return last

    # ----- interruption ---------------------------------------------------------------------------
    def interrupt(self, *, force: bool) -> None:
        with self._lock:
            self._interrupted = force
            names = list(self._running.values())
        for name in names:
            self._delete(name, force=force)

    def _delete(self, name: str, *, force: bool) -> None:
        try:
            self._core.delete_namespaced_pod(name, self.run_context.namespace, grace_period_seconds=0 if force else None)
        except ApiException as exc:
            if exc.status != 404:
                raise


def _container(invocation: Invocation) -> ContainerCall:
    if invocation.container is None:  # pragma: no cover - both compiled forms provide it
        raise PipelineError("this step has no container to run as a pod")
    return invocation.container


def _container_state(pod: dict[str, Any]) -> dict[str, Any]:
    for status in (pod.get("status") or {}).get("containerStatuses") or []:
        if status.get("name") == CONTAINER:
            return dict(status.get("state") or {})
    return {}


def _pending_reason(pod: dict[str, Any]) -> str:
    for condition in (pod.get("status") or {}).get("conditions") or []:
        if condition.get("status") != "True" and condition.get("message"):
            return f"{condition.get('reason', '')}: {condition['message']}"
    waiting = _container_state(pod).get("waiting") or {}
    return f"{waiting.get('reason', '')} {waiting.get('message', '')}".strip()


def _message(exc: ApiException) -> str:
    import json

    try:
        return str(json.loads(exc.body or "{}").get("message") or exc.reason)
    except (ValueError, AttributeError):
        return str(exc.reason)


def kept_pods_hint(run: RunContext) -> str:
    return f"kubectl get pods -n {run.namespace} -l {RUN_ID_LABEL}={label_value(run.run_id)}"
