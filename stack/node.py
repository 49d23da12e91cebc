"""A real node in the local stack: kube-controller-manager and kube-scheduler beside the API
server, and, in a network namespace of its own, containerd (Debian's, with runc and the CNI
plugins), kubelet and kube-proxy (built from the same k8s.io/kubernetes module as the API server).

How pods reach the API server, which listens on this machine's 127.0.0.1 only: the relay
(relay.py) listens inside the node's namespace on its 127.0.0.1 (kubelet, kube-proxy) and on the
node's address, the API server's --advertise-address, so the `kubernetes` Service (10.96.0.1:443)
has a real endpoint that kube-proxy routes to (iptables mode, inside the namespace). The serving
certificate names 10.96.0.1, so a pod's in-cluster configuration works unchanged. The API server
reaches kubelet (logs, exec) through the relay's unix socket (egress selector, HTTP CONNECT).

Only one node runs per machine (node_host.py holds the claim); `down` deletes the node's pods,
stops every process by pid, unmounts what kubelet and containerd mounted, deletes the namespace
(and with it every iptables rule and the bridge) and restores the sysctls kubelet set.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kubernetes import client, config
from kubernetes.client.rest import ApiException

from sagemaker_ack_kfp.stack import images, node_config, node_host, node_pki, object_store
from sagemaker_ack_kfp.stack.node_layout import NodeLayout
from sagemaker_ack_kfp.stack.node_network import CLUSTER_CIDR, NETNS, NODE_IP, NODE_NAME, POD_CIDR, SERVICE_CIDR
from sagemaker_ack_kfp.stack.processes import StartFailed, free_port, is_alive, spawn, stop, stop_all, wait_ready

if TYPE_CHECKING:
    from sagemaker_ack_kfp.stack.control_plane import StackState
    from sagemaker_ack_kfp.stack.layout import StackLayout

NODE_PIECES_ALIVE = ("containerd", "kubelet", "kube-proxy", "relay")

# Start order; `stop` goes the other way.
CONTROL_PIECES = ("kube-controller-manager", "kube-scheduler")
NODE_PIECES = ("relay", "containerd", "kubelet", "kube-proxy")
# Loopback services pods reach at the node's address through the relay, on the same port.
POD_REACHABLE_PIECES = ("simulator", object_store.PIECE)
PIECES = (*CONTROL_PIECES, *NODE_PIECES)
RUNNING = "running"
MODES = ("auto", "required", "off")
REQUIRED_PACKAGES = {
    "containerd": "/usr/bin/containerd",
    "runc": node_config.RUNC,
    "containernetworking-plugins": f"{node_config.CNI_BIN_DIR}/bridge",
    "iptables": "/usr/sbin/iptables",
    "ctr (containerd)": "/usr/bin/ctr",
}
_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Pods deleted at `down` get this long to stop (a step's SIGTERM handling deletes its resource).
POD_GRACE_SECONDS = 10


def _say(message: str) -> None:
    print(f"[stack {time.strftime('%H:%M:%S')}] {message}", flush=True)


def machine_support() -> str | None:
    """Why this machine cannot run the node, or None if it can (what is missing can be installed)."""
    if not sys.platform.startswith("linux"):
        return f"the node needs Linux (this is {sys.platform})"
    if os.geteuid() != 0:
        return "the node needs root (kubelet and containerd manage mounts, cgroups and network namespaces)"
    if not (shutil.which("apt-get") and shutil.which("dpkg-query")) and not all(
        Path(path).exists() for path in REQUIRED_PACKAGES.values()
    ):
        return "containerd, runc and the CNI plugins are not installed, and there is no apt-get to install them"
    hierarchies = {path.name for path in node_host.cgroup_hierarchies()}
    missing = {"cpu", "cpuacct", "cpuset", "memory", "pids"} - {n for h in hierarchies for n in h.split(",")}
    if missing:
        return (
            "the node supports cgroup v1 machines (what these machines boot) and this one has no "
            f"cgroup v1 {', '.join(sorted(missing))} hierarchy under /sys/fs/cgroup"
        )
    if not os.access("/proc/sys/kernel/panic", os.W_OK):
        return "/proc/sys is read-only here (kubelet must set kernel sysctls)"
    if not shutil.which("ip") or not shutil.which("nsenter"):
        return "the node needs `ip` (iproute2) and `nsenter` (util-linux)"
    return None


def node_binaries() -> dict[str, Path]:
    from sagemaker_ack_kfp.stack.layout import binary_paths

    kube = binary_paths()["kube-apiserver"].parent
    return {name: kube / name for name in ("kubelet", "kube-controller-manager", "kube-scheduler", "kube-proxy")}


class Node:
    def __init__(self, stack_layout: StackLayout) -> None:
        self.stack_layout = stack_layout
        self.layout = NodeLayout(stack_layout.root / "node")
        self.binaries = node_binaries()

    # ----- before the API server starts --------------------------------------------------
    def preflight(self, mode: str) -> str | None:
        """None if the node can start; else why not (mode auto: a reason to skip it; mode
        required: raised as StartFailed)."""
        reason = machine_support() or self._missing_prerequisites() or self._other_node()
        if reason and mode == "required":
            raise StartFailed("node", reason, self.stack_layout.log("node"))
        return reason

    def _missing_prerequisites(self) -> str | None:
        missing = [f"{name} ({path})" for name, path in REQUIRED_PACKAGES.items() if not Path(path).exists()]
        missing += [f"{name} ({path})" for name, path in self.binaries.items() if not path.exists()]
        missing += [f"image {image.name} ({image.path})" for image in images.node_images() if not image.ready]
        if missing:
            return "not prepared: " + ", ".join(missing) + " missing; run hack/node-prereqs.sh (`make stack-up` does)"
        return None

    def _other_node(self) -> str | None:
        claim = node_host.read_claim()
        if claim and claim.stack_dir != str(self.stack_layout.root) and claim.alive_pids():
            pids = ", ".join(f"{name} {pid}" for name, pid in sorted(claim.alive_pids().items()))
            return (
                f"another stack's node is running on this machine ({claim.stack_dir}: {pids}); one node per "
                "machine (its network namespace, the kubelet's sysctls): stop it with `make stack-down` there"
            )
        return None

    def prepare(self, stack_pki: Path) -> list[str]:
        """Credentials and the egress configuration; returns the API server's extra flags."""
        node_pki.ensure_node_pki(stack_pki, self.layout.pki)
        node_config.egress_selector_yaml(self.layout)
        return [
            f"--advertise-address={NODE_IP}",
            "--authorization-mode=Node,RBAC",
            "--enable-admission-plugins=NodeRestriction",
            f"--kubelet-client-certificate={node_pki.cert_path(self.layout.pki, 'apiserver-kubelet-client')}",
            f"--kubelet-client-key={node_pki.key_path(self.layout.pki, 'apiserver-kubelet-client')}",
            f"--kubelet-certificate-authority={stack_pki / 'ca.crt'}",
            "--kubelet-preferred-address-types=InternalIP",
            f"--egress-selector-config-file={self.layout.egress_config}",
        ]

    # ----- start -------------------------------------------------------------------------------
    def start(self, state: StackState, save: Callable[[], None]) -> None:
        """Start every piece after the API server is up; raises StartFailed naming the piece."""
        ca_file = self.stack_layout.pki / "ca.crt"
        server = state.server
        started = time.monotonic()
        state.node = "starting (did not become ready: see the logs of its pieces)"
        claim = node_host.read_claim()
        if claim and claim.stack_dir != str(self.stack_layout.root):
            _say(f"node: taking over the stale node claim of {claim.stack_dir} (none of its processes runs)")
            self._clean_machine(quiet=False)
        node_host.write_claim(node_host.Claim(stack_dir=str(self.stack_layout.root)))
        baseline = node_host.record_baseline()
        _say(f"node: machine settings recorded ({len(baseline['sysctls'])} sysctls, iptables, mounts) in {node_host.BASELINE_FILE}")

        for who in ("kubelet", "kube-proxy", "kube-controller-manager", "kube-scheduler"):
            node_config.kubeconfig(self.layout, who, server=server, ca_file=ca_file)
        self._bootstrap_rbac()
        for piece in CONTROL_PIECES:
            state.ports[piece] = free_port()
            self._start_control_piece(piece, state, ca_file)
            save()

        # A previous run that was killed may have left mounts and state below the node's folder.
        node_host.unmount_below(self.layout.root)
        for path in self.layout.volatile:
            shutil.rmtree(path, ignore_errors=True)
        node_host.create_netns()
        node_host.create_cgroup_parent(node_config.CGROUP_PARENT)

        self._start_relay(state)
        save()
        self._start_containerd(state)
        save()
        self._import_images()
        node_config.kubelet_yaml(self.layout, ca_file=ca_file)
        self._start_kubelet(state)
        save()
        node_config.kube_proxy_yaml(self.layout)
        self._start_kube_proxy(state)
        state.node = RUNNING
        save()
        node_host.write_claim(node_host.Claim(stack_dir=str(self.stack_layout.root), pids={p: state.pids[p] for p in NODE_PIECES}))
        _say(f"node {NODE_NAME}: Ready in {time.monotonic() - started:.0f}s (pods {POD_CIDR}, Service "
             f"kubernetes 10.96.0.1:443 -> {NODE_IP}:{state.ports['kube-apiserver']} -> 127.0.0.1; "
             f"namespace {NETNS})")

    def _admin(self) -> client.ApiClient:
        return config.new_client_from_config(config_file=str(self.stack_layout.kubeconfig))

    def _bootstrap_rbac(self) -> None:
        """The API server's kubelet client may use the kubelet API (logs, exec), as kubeadm grants."""
        rbac = client.RbacAuthorizationV1Api(self._admin())
        body = {
            "metadata": {"name": "sagemaker-ack-kfp:apiserver-kubelet-client"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:kubelet-api-admin"},
            "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": node_pki.KUBELET_CLIENT_USER}],
        }
        try:
            rbac.create_cluster_role_binding(body)
        except ApiException as exc:
            if exc.status != 409:
                raise

    def _launch(self, piece: str, state: StackState, argv: list[str], probe: Callable[[], bool], *,
                netns: bool = False, timeout: float = 60.0) -> None:
        if netns:
            argv = ["nsenter", f"--net={node_host.netns_path()}", "--", *argv]
        state.argv[piece] = argv
        log = self.stack_layout.log(piece)
        env = {"PATH": _PATH, "HOME": os.environ.get("HOME", "/root")}
        state.pids[piece] = spawn(argv, log=log, env=env)
        wait_ready(piece, state.pids[piece], probe, log=log, timeout=timeout)
        _say(f"{piece}: ready (pid {state.pids[piece]}, log {log})")

    def _start_control_piece(self, piece: str, state: StackState, ca_file: Path) -> None:
        kubeconfig = self.layout.kubeconfig(piece)
        port = state.ports[piece]
        argv = [
            str(self.binaries[piece]),
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            "--bind-address=127.0.0.1",
            f"--secure-port={port}",
            f"--cert-dir={self.layout.serving_dir(piece)}",
            "--leader-elect=false",
            "--profiling=false",
            "--v=1",
        ]
        if piece == "kube-controller-manager":
            argv += [
                # Each controller as its own service account, as in a real cluster.
                "--use-service-account-credentials=true",
                f"--service-account-private-key-file={self.stack_layout.pki / 'sa.key'}",
                f"--root-ca-file={ca_file}",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                f"--cluster-cidr={CLUSTER_CIDR}",
            ]
        self._launch(piece, state, argv, lambda: _https_ok(f"https://127.0.0.1:{port}/healthz"))

    def _start_relay(self, state: StackState) -> None:
        api_port = state.ports["kube-apiserver"]
        argv = [
            sys.executable, "-u", "-m", "sagemaker_ack_kfp.stack.relay",
            f"--netns={node_host.netns_path()}", f"--api-port={api_port}",
            "--listen=127.0.0.1", f"--listen={NODE_IP}",
            f"--egress-socket={self.layout.egress_socket}",
            f"--egress-allow={NODE_IP}/32", f"--egress-allow={CLUSTER_CIDR}",
            # What a step's pod talks to besides the API server (pod-step.env points there).
            *(f"--forward={state.ports[piece]}" for piece in POD_REACHABLE_PIECES if piece in state.pids),
        ]
        self._launch("relay", state, argv, lambda: _connect_via(self.layout.egress_socket, NODE_IP, api_port))

    def _ctr(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["ctr", "--address", str(self.layout.containerd_socket), "--namespace", "k8s.io", *args],
            capture_output=True, text=True, timeout=timeout, check=False,
        )

    def _start_containerd(self, state: StackState) -> None:
        snapshotter = "overlayfs" if _overlay_works(self.layout.root) else "native"
        if snapshotter != "overlayfs":
            _say(f"containerd: overlayfs does not work below {self.layout.root}; using the native snapshotter (slower)")
        self._snapshotter = snapshotter
        node_config.containerd_toml(self.layout, sandbox_image=images.pause_image().name, snapshotter=snapshotter)
        node_config.cni_conflist(self.layout)
        argv = ["containerd", f"--config={self.layout.containerd_config}", "--log-level=warn"]
        self._launch("containerd", state, argv, lambda: self._ctr("version", timeout=5).returncode == 0, netns=True)

    def refresh_images(self) -> None:
        """On a reused stack: import images rebuilt since (a project file changed)."""
        self._snapshotter = self._configured_snapshotter()
        self._import_images()

    def _import_images(self) -> None:
        try:
            imported = json.loads(self.layout.images_file.read_text())
        except (OSError, ValueError):
            imported = {}
        present = set(self._ctr("images", "ls", "-q").stdout.split())
        for image in images.node_images():
            if imported.get(image.name) == f"{image.key}/{self._snapshotter}" and image.name in present:
                continue
            started = time.monotonic()
            result = self._ctr("images", "import", "--snapshotter", self._snapshotter, str(image.path), timeout=600)
            if result.returncode != 0 or image.name not in set(self._ctr("images", "ls", "-q").stdout.split()):
                raise StartFailed("containerd", f"importing {image.path} as {image.name} failed: {result.stderr.strip()}",
                                  self.stack_layout.log("containerd"))
            imported[image.name] = f"{image.key}/{self._snapshotter}"
            self.layout.images_file.write_text(json.dumps(imported, indent=2))
            _say(f"containerd: imported {image.name} in {time.monotonic() - started:.1f}s")

    def _start_kubelet(self, state: StackState) -> None:
        argv = [
            str(self.binaries["kubelet"]),
            f"--config={self.layout.kubelet_config}",
            f"--kubeconfig={self.layout.kubeconfig('kubelet')}",
            f"--root-dir={self.layout.kubelet_root}",
            f"--cert-dir={self.layout.kubelet_root / 'pki'}",
            f"--hostname-override={NODE_NAME}",
            f"--node-ip={NODE_IP}",
            "--v=1",
        ]
        self._launch("kubelet", state, argv, self._node_ready, netns=True, timeout=90)

    def _node_ready(self) -> bool:
        node = client.CoreV1Api(self._admin()).read_node(NODE_NAME)
        return any(c.type == "Ready" and c.status == "True" for c in node.status.conditions or [])

    def _start_kube_proxy(self, state: StackState) -> None:
        argv = [str(self.binaries["kube-proxy"]), f"--config={self.layout.kube_proxy_config}", "--v=1"]
        self._launch("kube-proxy", state, argv, _service_routed, netns=True, timeout=60)

    # ----- stop ----------------------------------------------------------------------------------
    def stop(self, state: StackState, *, quiet: bool = False) -> None:
        say = (lambda _m: None) if quiet else _say
        started = state.node == RUNNING or state.node.startswith("starting")
        if not started and not any(piece in state.pids for piece in PIECES):
            return  # this stack never started a node (a private test stack, NODE=0)
        if is_alive(state.pids.get("kubelet", 0)) and is_alive(state.pids.get("kube-apiserver", 0)):
            self._delete_pods(say)
        for piece in ("kube-proxy", "kubelet"):
            self._stop_piece(piece, state, say)
        if is_alive(state.pids.get("containerd", 0)):
            self._remove_containers(say)
        self._stop_piece("containerd", state, say)
        self._clean_machine(quiet=quiet, keep_claim_of_others=True)
        # The rest hold no machine-wide state: signalled together, each waited for.
        rest = {piece: state.pids.pop(piece) for piece in ("relay", *CONTROL_PIECES) if piece in state.pids}
        stop_all(list(rest.values()), grace_seconds=15)
        for piece, pid in rest.items():
            say(f"{piece}: stopped (pid {pid})")
        if state.node == RUNNING:
            state.node = "stopped"

    def _stop_piece(self, piece: str, state: StackState, say: Callable[[str], None]) -> None:
        pid = state.pids.pop(piece, None)
        if pid and is_alive(pid):
            stop(pid, grace_seconds=15)
            say(f"{piece}: stopped (pid {pid})")

    def _delete_pods(self, say: Callable[[str], None]) -> None:
        """Every pod on the node, gracefully (a step stops its SageMaker job), via kubelet."""
        core = client.CoreV1Api(self._admin())
        selector = f"spec.nodeName={NODE_NAME}"
        try:
            pods = core.list_pod_for_all_namespaces(field_selector=selector).items
        except (ApiException, OSError) as exc:
            say(f"node: cannot list its pods ({exc}); removing their containers directly")
            return
        if not pods:
            return
        say(f"node: deleting {len(pods)} pod(s) (grace {POD_GRACE_SECONDS}s)")
        for pod in pods:
            try:
                core.delete_namespaced_pod(pod.metadata.name, pod.metadata.namespace, grace_period_seconds=POD_GRACE_SECONDS)
            except ApiException as exc:
                if exc.status != 404:
                    raise
        deadline = time.monotonic() + POD_GRACE_SECONDS + 30
        while time.monotonic() < deadline:
            if not core.list_pod_for_all_namespaces(field_selector=selector).items:
                return
            time.sleep(0.5)
        say("node: pods still terminating; removing their containers directly")

    def _remove_containers(self, say: Callable[[str], None]) -> None:
        """What kubelet did not clean up: every task killed, every container and its snapshot removed."""
        tasks = [line.split()[0] for line in self._ctr("tasks", "ls", timeout=30).stdout.splitlines()[1:] if line.split()]
        for task in tasks:
            self._ctr("tasks", "kill", "--signal", "SIGKILL", task, timeout=30)
        for task in tasks:
            self._ctr("tasks", "delete", "--force", task, timeout=30)
        containers = self._ctr("containers", "ls", "-q", timeout=30).stdout.split()
        for container in containers:
            self._ctr("containers", "delete", container, timeout=30)
            self._ctr("snapshots", "--snapshotter", self._configured_snapshotter(), "rm", container, timeout=30)
        if tasks or containers:
            say(f"containerd: removed {len(containers)} container(s), {len(tasks)} of them still running")

    def _configured_snapshotter(self) -> str:
        try:
            text = self.layout.containerd_config.read_text()
        except OSError:
            return "overlayfs"
        return "native" if 'snapshotter = "native"' in text else "overlayfs"

    def _clean_machine(self, *, quiet: bool, keep_claim_of_others: bool = False) -> None:
        """Everything below the node's folder unmounted, no process left in the node's namespace or
        cgroup, the namespace deleted, kubelet's sysctls restored, the claim released."""
        say = (lambda _m: None) if quiet else _say
        claim = node_host.read_claim()
        theirs = claim is not None and claim.stack_dir != str(self.stack_layout.root)
        if theirs and keep_claim_of_others:
            return  # another stack's node: not ours to clean
        leftovers = [pid for pid, _ in node_host.processes_mentioning(str(self.layout.containerd_socket))]
        leftovers += node_host.cgroup_tasks(node_config.CGROUP_PARENT) + node_host.pids_in_netns()
        leftovers = sorted(set(leftovers) - {os.getpid()})
        if leftovers:
            say(f"node: stopping {len(leftovers)} leftover process(es) of the node: {leftovers}")
            node_host.kill_pids(leftovers)
        unmounted = node_host.unmount_below(self.layout.root)
        if claim and theirs:
            unmounted += node_host.unmount_below(Path(claim.stack_dir) / "node")
        if unmounted:
            say(f"node: unmounted {len(unmounted)} mount(s) below {self.layout.root}")
        if node_host.netns_path().exists():
            node_host.delete_netns()
            say(f"node: network namespace {NETNS} deleted (its bridge, routes and iptables rules with it)")
        stuck = node_host.remove_cgroup_parent(node_config.CGROUP_PARENT)
        if stuck:
            say(f"node: cgroups still in use, left in place: {', '.join(stuck[:3])}")
        for line in node_host.restore_baseline():
            say(f"node: restored sysctl {line}")
        node_host.forget_baseline()
        if claim:
            node_host.release_claim(claim.stack_dir)


def plan(stack_layout: StackLayout, state: StackState, mode: str) -> tuple[Node | None, list[str]]:
    """Whether a new stack gets a node (state.node says why not), and the API server flags it needs."""
    if mode == "off":
        state.node = "off (not asked for: NODE=0, or a private stack a test started)"
        _say(f"node: {state.node}; steps run as local processes, node tests are skipped")
        return None, []
    the_node = Node(stack_layout)
    reason = the_node.preflight(mode)
    if reason:
        state.node = f"not started: {reason}"
        _say(f"node: NOT STARTED - {reason}; the stack runs without it")
        return None, []
    return the_node, the_node.prepare(stack_layout.pki)


def ensure(stack_layout: StackLayout, state: StackState, mode: str, *, persist: Callable[[], None]) -> None:
    """On a reused stack: import images rebuilt since, or (re)start a node that is asked for but
    not running. persist() saves the state and the env file."""
    the_node = Node(stack_layout)
    if state.node == RUNNING and all(is_alive(state.pids.get(p, 0)) for p in NODE_PIECES_ALIVE):
        if the_node.preflight(mode) is None:
            the_node.refresh_images()
        return
    if not any(arg.startswith("--egress-selector-config-file") for arg in state.argv.get("kube-apiserver", [])):
        without = "this stack's API server was started without a node; `make stack-down` first"
        if mode == "required":
            raise StartFailed("node", without, stack_layout.log("node"))
        _say(f"node: NOT STARTED - {without}")
        return
    reason = the_node.preflight(mode)
    if reason:
        state.node = f"not started: {reason}"
        _say(f"node: NOT STARTED - {reason}")
        persist()
        return
    _say("node: not running in the reused stack; (re)starting it")
    the_node.stop(state, quiet=True)
    try:
        the_node.start(state, persist)
    finally:
        persist()


def _https_ok(url: str) -> bool:
    # A local health probe of a component's self-signed serving certificate.
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        with urllib.request.urlopen(url, timeout=2, context=context) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def _connect_via(egress_socket: Path, host: str, port: int) -> bool:
    """A CONNECT through the relay's egress socket to its own listener in the node's namespace:
    both directions of the relay answer."""
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(3)
            sock.connect(str(egress_socket))
            sock.sendall(f"CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n".encode())
            return sock.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def _service_routed() -> bool:
    """kube-proxy has programmed the `kubernetes` Service in the node's namespace."""
    result = subprocess.run(
        ["nsenter", f"--net={node_host.netns_path()}", "--", "iptables-save", "-t", "nat"],
        capture_output=True, text=True, timeout=10, check=False,
    )
    return "default/kubernetes:https" in result.stdout and "-j KUBE-SVC-" in result.stdout


def _overlay_works(directory: Path) -> bool:
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".overlay-probe-", dir=directory) as tmp:
        parts = {name: Path(tmp) / name for name in ("lower", "upper", "work", "merged")}
        for path in parts.values():
            path.mkdir()
        options = f"lowerdir={parts['lower']},upperdir={parts['upper']},workdir={parts['work']}"
        mounted = subprocess.run(["mount", "-t", "overlay", "overlay", "-o", options, str(parts["merged"])],
                                 capture_output=True, check=False).returncode == 0
        if mounted:
            subprocess.run(["umount", str(parts["merged"])], check=False)
        return mounted


def status(state: StackState) -> dict[str, Any]:
    return {
        "node": state.node,
        "name": NODE_NAME,
        "netns": NETNS,
        "pieces": {p: {"pid": state.pids[p], "alive": is_alive(state.pids[p])} for p in PIECES if p in state.pids},
    }
