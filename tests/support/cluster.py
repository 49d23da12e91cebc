"""A handle on the cluster the integration tests run against: the local stack (default), or an
existing cluster with the ACK controller installed (SAGEMAKER_ACK_KFP_TEST_KUBECONFIG), where the
tests that need the simulator's controls are skipped."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import time
import urllib.request
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, config

from sagemaker_ack_kfp.stack import object_store
from sagemaker_ack_kfp.stack.control_plane import ADMIN_USER, Stack, StackState, step_environment
from sagemaker_ack_kfp.stack.layout import StackLayout, binary_paths
from sagemaker_ack_kfp.stack.node_network import NODE_IP
from tests.support import s3_data

GROUP, VERSION = "sagemaker.services.k8s.aws", "v1alpha1"


@dataclass
class Cluster:
    kubeconfig: Path
    server: str
    ca_file: str | None
    stack: Stack | None  # None on an external cluster
    state: StackState | None

    # ----- what is available -------------------------------------------------------------
    @property
    def controller_running(self) -> bool:
        return self.state is None or self.state.controller == "running"

    @property
    def controller_absent_reason(self) -> str:
        return "" if self.state is None else self.state.controller

    @property
    def node_running(self) -> bool:
        """The local stack's node (kubelet, containerd, kube-proxy; stack/node.py) is up. An
        external cluster has nodes of its own, but not this stack's images: node tests skip there."""
        return self.state is not None and self.state.node == "running"

    @property
    def node_absent_reason(self) -> str:
        if self.state is None:
            return "an external cluster (the node tests need the local stack's node and its images)"
        return self.state.node

    @property
    def simulator_url(self) -> str | None:
        return self.state.simulator_url if self.state else None

    @property
    def object_store_url(self) -> str | None:
        """The stack's S3 endpoint; None on an external cluster or in the no-S3 mode."""
        return self.state.object_store_url if self.state else None

    def s3_env(self) -> dict[str, str]:
        """What a pipeline step needs in its environment to reach the stack's object store."""
        return object_store.client_env(self.object_store_url) if self.object_store_url else {}

    def step_env(self, *, pods: bool = False) -> dict[str, str]:
        """What the stack gives a pipeline step (.stack/step.env, or pod-step.env for a Pod on the
        node): fake credentials, the simulator as CloudWatch Logs, the object store. Never only
        the credentials: with them alone a step would stream its job's logs from real AWS."""
        if not self.state:
            return self.s3_env()
        return step_environment(self.state, host=NODE_IP if pods else "127.0.0.1")

    def s3(self) -> Any:
        assert self.object_store_url, "this stack has no object store"
        return s3_data.s3_client(self.object_store_url)

    # ----- clients -----------------------------------------------------------------------
    def kubectl(self, *args: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [kubectl_binary(), "--kubeconfig", str(self.kubeconfig), *args],
            input=stdin, capture_output=True, text=True, timeout=60, check=check,
        )

    def admin(self) -> client.ApiClient:
        return config.new_client_from_config(config_file=str(self.kubeconfig))

    def kubeconfig_for_token(self, token: str, path: Path) -> Path:
        data = yaml.safe_load(self.kubeconfig.read_text())
        data["users"] = [{"name": "subject", "user": {"token": token}}]
        data["contexts"] = [{"name": "subject", "context": {"cluster": data["clusters"][0]["name"], "user": "subject"}}]
        data["current-context"] = "subject"
        path.write_text(yaml.safe_dump(data))
        path.chmod(0o600)
        return path

    def user_token(self, user: str) -> str:
        assert self.state, "static test users exist only on the local stack"
        return self.state.tokens[user]

    def service_account_token(self, namespace: str, name: str) -> str:
        core = client.CoreV1Api(self.admin())
        try:
            core.create_namespaced_service_account(namespace, {"metadata": {"name": name}})
        except client.ApiException as exc:
            if exc.status != 409:
                raise
        result = core.create_namespaced_service_account_token(name, namespace, {"spec": {"expirationSeconds": 3600}})
        return str(result.status.token)

    # ----- simulator ---------------------------------------------------------------------
    def sim(self, path: str, body: dict[str, Any] | None = None) -> Any:
        assert self.simulator_url, "no simulator on an external cluster"
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request(f"{self.simulator_url}{path}", data=data, method="POST" if data else "GET")
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read() or b"null")

    def sim_resources(self, kind: str, *, name_prefix: str = "") -> list[dict[str, Any]]:
        listing = self.sim(f"/_sim/resources?kind={kind}")
        items = listing.get(kind, []) if isinstance(listing, dict) else []
        return [item for item in items if str(item.get("name", "")).startswith(name_prefix)]


def _lock(path: Path) -> Any:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("w")
    fcntl.flock(handle, fcntl.LOCK_EX)
    return handle


def connect() -> Cluster:
    external = os.environ.get("SAGEMAKER_ACK_KFP_TEST_KUBECONFIG")
    if external:
        loaded = yaml.safe_load(Path(external).read_text())
        cluster = loaded["clusters"][0]["cluster"]
        return Cluster(Path(external), cluster["server"], cluster.get("certificate-authority"), None, None)
    stack = Stack()
    # pytest-xdist workers share one stack: the first starts it, the others reuse it. A stack the
    # tests start gets a node where the machine has one prepared (`make stack-up` prepares it).
    with _lock(stack.layout.root.parent / ".stack.lock"):
        state = stack.running() or stack.up(require_controller=False, node="auto")
        if state.object_store_url:
            s3_data.seed(state.object_store_url)
    return Cluster(stack.layout.kubeconfig, state.server, str(stack.layout.pki / "ca.crt"), stack, state)


class PrivateStacks:
    def __init__(self, tmp_path_factory: Any) -> None:
        self._factory = tmp_path_factory
        self._stacks: list[Stack] = []

    def start(self, *, with_controller: bool = True, install_crds: bool = True, s3: bool = False) -> Cluster:
        """A private stack; without an object store unless asked (`s3`), as disruptive tests need none."""
        # On an external cluster (a laptop running the suite against kind, say), the local
        # stack's binaries may never have been built: skip rather than fail to start.
        missing = [name for name in ("etcd", "kube-apiserver") if not binary_paths()[name].exists()]
        if missing:
            pytest.skip(f"needs a private local stack, but {', '.join(missing)} is not built (make binaries)")
        stack = Stack(StackLayout(Path(self._factory.mktemp("stack"))))
        self._stacks.append(stack)
        state = stack.up(require_controller=False, with_controller=with_controller, install_crds=install_crds, s3=s3)
        if state.object_store_url:
            s3_data.seed(state.object_store_url)
        return Cluster(stack.layout.kubeconfig, state.server, str(stack.layout.pki / "ca.crt"), stack, state)

    def down_all(self) -> None:
        for stack in self._stacks:
            stack.down(quiet=True)


def kubectl_binary() -> str:
    """The local stack's own kubectl (the pinned version), else the one on PATH (a laptop running
    the suite against kind, say)."""
    built = binary_paths()["kubectl"]
    found = str(built) if built.exists() else shutil.which("kubectl")
    if not found:
        pytest.skip(f"needs kubectl: neither {built} (make binaries) nor one on PATH")
    return found


def create_namespace(cluster: Cluster, prefix: str) -> str:
    name = unique_namespace(prefix)
    client.CoreV1Api(cluster.admin()).create_namespace({"metadata": {"name": name}})
    return name


def unique_namespace(prefix: str) -> str:
    slug = "".join(ch if ch.isalnum() else "-" for ch in prefix.lower())[:40].strip("-")
    return f"{slug}-{uuid.uuid4().hex[:6]}"


def wait_for(predicate: Any, *, timeout: float, interval: float = 0.5, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


__all__ = ["ADMIN_USER", "GROUP", "VERSION", "Cluster", "connect", "unique_namespace", "wait_for"]
