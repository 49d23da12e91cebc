"""The local control plane: etcd, kube-apiserver (RBAC, token auth, TokenRequest), the ACK
sagemaker-controller's CRDs and RBAC, an S3 object store, the SageMaker API simulator (reading and
writing that store), and the real ACK controller authenticating as its own service account.
Everything listens on 127.0.0.1 with free ports.
With `node="auto"|"required"`, also a real node (node.py): kube-controller-manager,
kube-scheduler, and containerd, kubelet and kube-proxy in a network namespace of their own.

`up` is idempotent (a healthy stack is reused), `down` stops exactly the pids that `up` recorded,
and `restart(piece)` restarts one process on the same port, for fault tests.
"""

from __future__ import annotations

import json
import os
import shutil
import ssl
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sagemaker_ack_kfp.codegen.ack_release import AckRelease, locate, pinned_versions
from sagemaker_ack_kfp.kinds import known_kinds
from sagemaker_ack_kfp.stack import bootstrap, object_store
from sagemaker_ack_kfp.stack import node as node_module
from sagemaker_ack_kfp.stack.layout import StackLayout, binary_paths
from sagemaker_ack_kfp.stack.pki import ensure_pki
from sagemaker_ack_kfp.stack.processes import StartFailed, free_port, is_alive, spawn, stop, wait_ready

REGION = "us-east-1"
ADMIN_USER = "admin"
# Users with no RoleBinding at all: tests use them to prove RBAC is enforced.
TEST_USERS = ("alice", "bob")
CONTROLLER_NAMESPACE = "ack-system"
CONTROLLER_SERVICE_ACCOUNT = "ack-sagemaker-controller"
# Start order; `down` stops in reverse.
PIECES = ("etcd", "kube-apiserver", object_store.PIECE, "simulator", "controller")
# How often a piece is started again on new ports when the ones picked for it were taken meanwhile.
PORT_ATTEMPTS = 3


def _say(message: str) -> None:
    print(f"[stack {time.strftime('%H:%M:%S')}] {message}", flush=True)


@dataclass
class StackState:
    """What `up` started: written to .stack/state.json and read by `down`, `status`, tests."""

    ports: dict[str, int] = field(default_factory=dict)
    pids: dict[str, int] = field(default_factory=dict)
    argv: dict[str, list[str]] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    controller: str = "absent"  # "running", or why it is absent
    simulator_phase_seconds: float | None = None  # None: the profile's
    simulator_profile: str = "fast"
    simulator_rule_seconds: float | None = None  # None: the profile's
    node: str = "off"  # "running", or why there is none (node.py)

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.ports['kube-apiserver']}"

    @property
    def simulator_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['simulator']}"

    @property
    def object_store_url(self) -> str | None:
        """None when the stack runs in the no-S3 mode."""
        port = self.ports.get(object_store.PIECE)
        return object_store.url(port) if port else None


class Stack:
    def __init__(self, layout: StackLayout | None = None) -> None:
        self.layout = layout or StackLayout.default()
        self.binaries = binary_paths()

    # ----- state -------------------------------------------------------------------------
    def load_state(self) -> StackState | None:
        try:
            raw = json.loads(self.layout.state_file.read_text())
        except (OSError, json.JSONDecodeError):
            return None
        return StackState(**raw)

    def _save_state(self, state: StackState) -> None:
        self.layout.root.mkdir(parents=True, exist_ok=True)
        tmp = self.layout.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(state), indent=2, sort_keys=True))
        tmp.chmod(0o600)
        tmp.replace(self.layout.state_file)

    def running(self) -> StackState | None:
        """The recorded stack if its core processes are alive and the API server answers."""
        state = self.load_state()
        if not state:
            return None
        core = ("etcd", "kube-apiserver", "simulator") + ((object_store.PIECE,) if state.object_store_url else ())
        if not all(piece in state.pids and is_alive(state.pids[piece]) for piece in core):
            return None
        return state if self._apiserver_ready(state) else None

    # ----- up ----------------------------------------------------------------------------
    def up(
        self,
        *,
        require_controller: bool = True,
        phase_seconds: float | None = None,
        with_controller: bool = True,
        install_crds: bool = True,
        s3: bool = True,
        profile: str = "fast",
        rule_seconds: float | None = None,
        node: str = "off",
    ) -> StackState:
        """Start every piece (or reuse a healthy stack). `with_controller=False` and
        `install_crds=False` make the partial stacks that tests of those failures need;
        `s3=False` is the no-S3 mode (no object store; the simulator checks and writes no data).
        node: "auto" (where this machine can run one), "required" or "off"."""
        existing = self.running()
        if existing:
            _say(f"already up (API server {existing.server}, controller: {existing.controller}, "
                 f"object store: {existing.object_store_url or 'off'}, node: {existing.node}); reusing it")
            if s3 != bool(existing.object_store_url) or profile != existing.simulator_profile:
                _say(f"note: it runs with {'an object store' if existing.object_store_url else 'no object store'} and the "
                     f"'{existing.simulator_profile}' profile, not what was asked; `make stack-down` first to change that")
            if require_controller and existing.controller != "running":
                raise StartFailed("controller", existing.controller, self.layout.log("controller"))
            if node != "off":
                node_module.ensure(self.layout, existing, node, persist=lambda: self._persist(existing))
            return existing
        if self.load_state():
            _say("found a partial stack from an earlier run; stopping it first")
            self.down(quiet=True)

        release = locate()
        _say(f"ACK sagemaker-controller {release.version} CRDs and RBAC from {release.source}")
        self._require_binaries(("etcd", "kube-apiserver", "kubectl"))
        self._reset_state_dir()
        state = StackState(simulator_phase_seconds=phase_seconds, simulator_profile=profile,
                           simulator_rule_seconds=rule_seconds)
        state.tokens = {user: os.urandom(16).hex() for user in (ADMIN_USER, *TEST_USERS)}
        state.ports = {
            "etcd": free_port(),
            "etcd-peer": free_port(),
            "kube-apiserver": free_port(),
            "simulator": free_port(),
            **({object_store.PIECE: free_port()} if s3 else {}),
            "controller-metrics": free_port(),
            "controller-healthz": free_port(),
        }
        ensure_pki(self.layout.pki)
        self._write_tokens(state)
        self._write_audit_policy()
        the_node, apiserver_extra = node_module.plan(self.layout, state, node)

        def start_apiserver() -> None:
            self._write_kubeconfig(self.layout.kubeconfig, state, ADMIN_USER, state.tokens[ADMIN_USER])
            self._start_apiserver(state, apiserver_extra)

        try:
            self._start_on_own_ports("etcd", ("etcd", "etcd-peer"), state, lambda: self._start_etcd(state))
            self._start_on_own_ports("kube-apiserver", ("kube-apiserver",), state, start_apiserver)
            if install_crds:
                bootstrap.install_release(self.layout.kubeconfig, release)
                _say(f"applied {len(release.crd_files)} CRDs; all Established")
            if state.object_store_url:
                self._start_on_own_ports(object_store.PIECE, (object_store.PIECE,), state,
                                         lambda: self._start_object_store(state))
            self._start_on_own_ports("simulator", ("simulator",), state, lambda: self._start_simulator(state))
            if with_controller and install_crds:
                self._start_on_own_ports("controller", ("controller-metrics", "controller-healthz"), state,
                                         lambda: self._start_controller(state, release, required=require_controller))
            else:
                state.controller = "not started (partial stack)"
            if the_node:
                the_node.start(state, lambda: self._save_state(state))
        except StartFailed:
            self._save_state(state)
            raise
        self._save_state(state)
        self._write_env(state)
        _say(f"up: kubectl --kubeconfig {self.layout.kubeconfig} get trainingjobs -A")
        return state

    def _require_binaries(self, names: tuple[str, ...]) -> None:
        missing = [f"{name} ({self.binaries[name]})" for name in names if not self.binaries[name].exists()]
        if missing:
            raise StartFailed(
                "binaries", "not built: " + ", ".join(missing) + "; run hack/build-binaries.sh", self.layout.logs
            )

    def _reset_state_dir(self) -> None:
        # Keep the PKI (stable CA for kubeconfigs users copied), wipe data and logs.
        for sub in (self.layout.etcd_data, self.layout.logs):
            shutil.rmtree(sub, ignore_errors=True)
        self.layout.logs.mkdir(parents=True, exist_ok=True)

    def _write_tokens(self, state: StackState) -> None:
        lines = [f'{state.tokens[ADMIN_USER]},{ADMIN_USER},uid-admin,"system:masters"']
        lines += [f"{state.tokens[user]},{user},uid-{user}" for user in TEST_USERS]
        self.layout.tokens_file.write_text("\n".join(lines) + "\n")
        self.layout.tokens_file.chmod(0o600)

    def _write_audit_policy(self) -> None:
        # Metadata for every request: the benchmark counts API requests per step from it.
        policy = {
            "apiVersion": "audit.k8s.io/v1",
            "kind": "Policy",
            "omitStages": ["RequestReceived"],
            "rules": [{"level": "Metadata"}],
        }
        self.layout.audit_policy.write_text(yaml.safe_dump(policy))

    def _write_kubeconfig(self, path: Path, state: StackState, user: str, token: str) -> None:
        config = {
            "apiVersion": "v1",
            "kind": "Config",
            "clusters": [
                {
                    "name": "sagemaker-ack-kfp-local",
                    "cluster": {"server": state.server, "certificate-authority": str(self.layout.pki / "ca.crt")},
                }
            ],
            "users": [{"name": user, "user": {"token": token}}],
            "contexts": [{"name": user, "context": {"cluster": "sagemaker-ack-kfp-local", "user": user}}],
            "current-context": user,
        }
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(yaml.safe_dump(config, sort_keys=False))
        path.chmod(0o600)

    def _launch(
        self,
        piece: str,
        state: StackState,
        argv: list[str],
        probe: Callable[[], bool],
        *,
        env: dict[str, str] | None = None,
        timeout: float = 60.0,
    ) -> None:
        state.argv[piece] = argv
        log = self.layout.log(piece)
        state.pids[piece] = spawn(argv, log=log, env=env)
        self._save_state(state)
        wait_ready(piece, state.pids[piece], probe, log=log, timeout=timeout)
        _say(f"{piece}: ready (pid {state.pids[piece]}, log {log})")

    def _start_on_own_ports(
        self, piece: str, ports: tuple[str, ...], state: StackState, start: Callable[[], None]
    ) -> None:
        """Run `start`; if the piece died because one of its ports was taken, start it again on new
        ones. Ports are picked before the pieces start, so another process (an outgoing
        connection's ephemeral port, say) can take one meanwhile: seen once in a full test run."""
        log = self.layout.log(piece)
        for attempt in range(1, PORT_ATTEMPTS + 1):
            written_before = log.stat().st_size if log.exists() else 0
            try:
                start()
                return
            except StartFailed:
                if attempt == PORT_ATTEMPTS or not _port_was_taken(log, since=written_before):
                    raise
            if piece in state.pids:
                stop(state.pids.pop(piece))
            taken = ", ".join(str(state.ports[name]) for name in ports)
            for name in ports:
                state.ports[name] = free_port()
            _say(f"{piece}: port {taken} was taken by another process meanwhile; starting it on a new one")

    def _start_etcd(self, state: StackState) -> None:
        client = f"http://127.0.0.1:{state.ports['etcd']}"
        peer = f"http://127.0.0.1:{state.ports['etcd-peer']}"
        argv = [
            str(self.binaries["etcd"]),
            "--name=local",
            f"--data-dir={self.layout.etcd_data}",
            f"--listen-client-urls={client}",
            f"--advertise-client-urls={client}",
            f"--listen-peer-urls={peer}",
            f"--initial-advertise-peer-urls={peer}",
            f"--initial-cluster=local={peer}",
            # A throwaway test store: durability is not worth the fsync cost.
            "--unsafe-no-fsync",
            "--quota-backend-bytes=4294967296",
            "--log-level=warn",
        ]
        self._launch("etcd", state, argv, lambda: _http_ok(f"{client}/health"))

    def _start_apiserver(self, state: StackState, extra: list[str] | None = None) -> None:
        pki = self.layout.pki
        argv = [
            str(self.binaries["kube-apiserver"]),
            f"--etcd-servers=http://127.0.0.1:{state.ports['etcd']}",
            "--bind-address=127.0.0.1",
            "--advertise-address=127.0.0.1",
            f"--secure-port={state.ports['kube-apiserver']}",
            f"--tls-cert-file={pki / 'apiserver.crt'}",
            f"--tls-private-key-file={pki / 'apiserver.key'}",
            f"--client-ca-file={pki / 'ca.crt'}",
            f"--token-auth-file={self.layout.tokens_file}",
            "--authorization-mode=RBAC",
            "--anonymous-auth=false",
            # Service-account issuer and keys: TokenRequest works without kube-controller-manager.
            "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
            f"--service-account-key-file={pki / 'sa.pub'}",
            f"--service-account-signing-key-file={pki / 'sa.key'}",
            "--api-audiences=https://kubernetes.default.svc.cluster.local",
            "--service-cluster-ip-range=10.96.0.0/16",
            f"--audit-policy-file={self.layout.audit_policy}",
            f"--audit-log-path={self.layout.audit_log}",
            "--audit-log-format=json",
            # Compacting often lets tests provoke a real 410 Gone on watches.
            "--etcd-compaction-interval=1m",
            "--profiling=false",
            "--v=1",
        ]
        argv = _with_flags(argv, extra or [])
        self._launch("kube-apiserver", state, argv, lambda: self._apiserver_ready(state), timeout=90)

    def _apiserver_ready(self, state: StackState) -> bool:
        return _http_ok(
            f"{state.server}/readyz",
            token=state.tokens.get(ADMIN_USER, ""),
            cafile=self.layout.pki / "ca.crt",
        )

    def _start_object_store(self, state: StackState) -> None:
        directory = self.layout.root / object_store.PIECE
        shutil.rmtree(directory, ignore_errors=True)
        endpoint = state.object_store_url
        assert endpoint
        self._launch(object_store.PIECE, state, object_store.argv(state.ports[object_store.PIECE]),
                     lambda: object_store.healthy(endpoint), env=self._env_for(object_store.PIECE, state))

    def _start_simulator(self, state: StackState) -> None:
        argv = [
            sys.executable,
            "-u",
            "-m",
            "sagemaker_ack_kfp.simulator",
            "serve",
            "--host=127.0.0.1",
            f"--port={state.ports['simulator']}",
            f"--profile={state.simulator_profile}",
        ]
        if state.simulator_phase_seconds is not None:
            argv.append(f"--phase-seconds={state.simulator_phase_seconds}")
        if state.simulator_rule_seconds is not None:
            argv.append(f"--rule-seconds={state.simulator_rule_seconds}")
        if state.object_store_url:
            argv.append(f"--s3-endpoint-url={state.object_store_url}")
        self._launch("simulator", state, argv, lambda: _http_ok(f"{state.simulator_url}/_sim/health"),
                     env=self._env_for("simulator", state))

    def _start_controller(self, state: StackState, release: AckRelease, *, required: bool) -> None:
        binary = self.binaries["controller"]
        if not binary.exists():
            state.controller = (
                f"not built ({binary} missing): the ACK sagemaker-controller "
                f"{release.version} could not be built; see hack/build-binaries.sh controller"
            )
            if required:
                raise StartFailed("controller", state.controller, self.layout.log("controller"))
            _say(f"controller: ABSENT - {state.controller}")
            return
        token = bootstrap.controller_token(
            self.layout.kubeconfig, release, namespace=CONTROLLER_NAMESPACE, name=CONTROLLER_SERVICE_ACCOUNT
        )
        self._write_kubeconfig(self.layout.controller_kubeconfig, state, CONTROLLER_SERVICE_ACCOUNT, token)
        env = self._controller_env()
        argv = [
            str(binary),
            f"--aws-region={REGION}",
            f"--aws-endpoint-url={state.simulator_url}",
            f"--aws-identity-endpoint-url={state.simulator_url}",
            "--allow-unsafe-aws-endpoint-urls",
            "--enable-carm=false",
            "--enable-leader-election=false",
            f"--metrics-addr=127.0.0.1:{state.ports['controller-metrics']}",
            f"--healthz-addr=127.0.0.1:{state.ports['controller-healthz']}",
            "--log-level=info",
            # Exactly the kinds that have a component: the stack serves what the project offers.
            f"--reconcile-resources={','.join(known_kinds())}",
        ]
        healthz = f"http://127.0.0.1:{state.ports['controller-healthz']}/readyz"
        self._launch("controller", state, argv, lambda: _http_ok(healthz), env=env, timeout=60)
        state.controller = "running"

    def _controller_env(self) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": os.environ.get("HOME", "/tmp"),
            "KUBECONFIG": str(self.layout.controller_kubeconfig),
            # Fake credentials: the only AWS endpoint is the simulator.
            **object_store.FAKE_CREDENTIALS,
            "AWS_REGION": REGION,
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def _write_env(self, state: StackState) -> None:
        steps = step_environment(state)
        self.layout.step_env_file.write_text(
            "# The environment a pipeline step gets on this stack: written by `stack up`; pass it with\n"
            "# `run-local --env-file` (the demo does). Fake credentials, the simulator as CloudWatch Logs.\n"
            + "".join(f"{key}={value}\n" for key, value in steps.items())
        )
        if state.node == node_module.RUNNING:
            self.layout.pod_step_env_file.write_text(
                "# step.env for a step's Pod on the node (`run-local --mode pod --env-file`): the simulator\n"
                "# and the object store at the node's address, where the relay forwards to this machine.\n"
                + "".join(f"{key}={value}\n" for key, value in step_environment(state, host=node_module.NODE_IP).items())
            )
        else:
            self.layout.pod_step_env_file.unlink(missing_ok=True)
        values = {
            "KUBECONFIG": str(self.layout.kubeconfig),
            "KUBE_APISERVER_URL": state.server,
            "SAGEMAKER_SIMULATOR_URL": state.simulator_url,
            "ETCD_URL": f"http://127.0.0.1:{state.ports['etcd']}",
            "ACK_CONTROLLER": "running" if state.controller == "running" else "absent",
            "STACK_NODE": "running" if state.node == node_module.RUNNING else "absent",
            "AWS_REGION": REGION,
            "KUBECTL": str(self.binaries["kubectl"]),
            # What steps get (step.env: credentials, the Logs endpoint, the object store), so that
            # a step run from this shell streams its job's logs and reaches S3.
            **steps,
        }
        self.layout.env_file.write_text("".join(f"export {key}={value}\n" for key, value in values.items()))

    # ----- down / restart ----------------------------------------------------------------
    def down(self, *, quiet: bool = False) -> None:
        state = self.load_state()
        if not state:
            if not quiet:
                _say("nothing to stop (no .stack/state.json)")
            return
        node_module.Node(self.layout).stop(state, quiet=quiet)  # first: its pods talk to the API server
        for piece in reversed(PIECES):
            pid = state.pids.get(piece)
            if pid and is_alive(pid):
                stop(pid)
                if not quiet:
                    _say(f"{piece}: stopped (pid {pid})")
        self.layout.state_file.unlink(missing_ok=True)
        self.layout.env_file.unlink(missing_ok=True)
        self.layout.step_env_file.unlink(missing_ok=True)
        self.layout.pod_step_env_file.unlink(missing_ok=True)

    def stop_node(self) -> None:
        """Stop the node alone (the control plane keeps running); tests of its clean-up use it."""
        state = self._require_state()
        node_module.Node(self.layout).stop(state)
        self._persist(state)

    def start_node(self, mode: str = "required") -> StackState:
        state = self._require_state()
        node_module.ensure(self.layout, state, mode, persist=lambda: self._persist(state))
        return state

    def _persist(self, state: StackState) -> None:
        self._save_state(state)
        self._write_env(state)

    def kill(self, piece: str) -> None:
        """Stop one piece without restarting it (fault tests)."""
        state = self._require_state()
        stop(state.pids[piece])

    def start_again(self, piece: str) -> None:
        """Start a stopped piece with the same argv and port as before."""
        state = self._require_state()
        endpoint = state.object_store_url or ""
        probes: dict[str, Callable[[], bool]] = {
            object_store.PIECE: lambda: object_store.healthy(endpoint),
            "etcd": lambda: _http_ok(f"http://127.0.0.1:{state.ports['etcd']}/health"),
            "kube-apiserver": lambda: self._apiserver_ready(state),
            "simulator": lambda: _http_ok(f"{state.simulator_url}/_sim/health"),
            "controller": lambda: _http_ok(f"http://127.0.0.1:{state.ports['controller-healthz']}/readyz"),
        }
        self._launch(piece, state, state.argv[piece], probes[piece], env=self._env_for(piece, state), timeout=90)

    def _env_for(self, piece: str, state: StackState) -> dict[str, str] | None:
        """A piece's environment, the same at every start; None inherits the caller's."""
        if piece == "controller":
            return self._controller_env()
        if piece == "simulator" and state.object_store_url:
            return object_store.simulator_env(state.object_store_url)
        if piece == object_store.PIECE:
            return object_store.process_env(self.layout.root / object_store.PIECE)
        return None

    def restart(self, piece: str) -> None:
        self.kill(piece)
        self.start_again(piece)

    def _require_state(self) -> StackState:
        state = self.load_state()
        if not state:
            raise RuntimeError("the local stack is not up (no .stack/state.json); run `make stack-up`")
        return state

    def status(self) -> dict[str, Any]:
        state = self.load_state()
        if not state:
            return {"up": False}
        return {
            "up": self.running() is not None,
            "server": state.server,
            "simulator": state.simulator_url,
            "object_store": state.object_store_url or "off (no-S3 mode)",
            "controller": state.controller,
            "node": state.node,
            "pieces": {piece: {"pid": pid, "alive": is_alive(pid)} for piece, pid in state.pids.items()},
            "kubeconfig": str(self.layout.kubeconfig),
            "logs": str(self.layout.logs),
        }


def step_environment(state: StackState, *, host: str = "127.0.0.1") -> dict[str, str]:
    """What a pipeline step needs on this stack besides its kubeconfig: the one place both ways
    of running steps (local processes, pods) take it from. AWS credentials (fake) and the
    standard service-specific endpoint variables make a step stream its job's CloudWatch logs
    from the simulator and reach the object store, with the same code that talks to AWS.
    host: where the step reaches this machine's loopback services (a pod: the node's relay)."""
    def at_host(url: str) -> str:
        return url.replace("://127.0.0.1:", f"://{host}:", 1)

    return {
        **object_store.FAKE_CREDENTIALS,
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,  # the name botocore reads (AWS_REGION: the other SDKs')
        "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": at_host(state.simulator_url),
        "AWS_EC2_METADATA_DISABLED": "true",  # nothing to find there; do not wait for it
        # The object store, for the data step, boto3 and the AWS CLI; absent in the no-S3 mode.
        **(object_store.client_env(at_host(state.object_store_url)) if state.object_store_url else {}),
    }


def _with_flags(argv: list[str], extra: list[str]) -> list[str]:
    """argv with each --flag=value of extra replacing a flag of the same name, or appended."""
    names = {flag.split("=", 1)[0] for flag in extra}
    return [arg for arg in argv if arg.split("=", 1)[0] not in names] + extra


def _port_was_taken(log: Path, *, since: int) -> bool:
    """Whether the piece's log, from byte `since` on, says it could not bind its port (Go and
    Python both say "address already in use")."""
    if not log.exists():
        return False
    with log.open("rb") as lines:
        lines.seek(since)
        return b"address already in use" in lines.read().lower()


def _http_ok(url: str, *, token: str = "", cafile: Path | None = None) -> bool:
    request = urllib.request.Request(url)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    context = ssl.create_default_context(cafile=str(cafile)) if cafile else None
    try:
        with urllib.request.urlopen(request, timeout=2, context=context) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def versions_summary() -> str:
    versions = pinned_versions()
    return (
        f"kubernetes {versions['KUBERNETES_VERSION']}, etcd {versions['ETCD_VERSION']}, "
        f"ACK sagemaker-controller {versions['ACK_SAGEMAKER_CONTROLLER_VERSION']}"
    )
