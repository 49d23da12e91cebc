"""Where the local stack keeps its state: one folder (default ./.stack) that `down` can wipe."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from sagemaker_ack_kfp.codegen.ack_release import REPO_ROOT, pinned_versions


def cache_dir() -> Path:
    """Built binaries, keyed by version, shared by every checkout on the machine."""
    explicit = os.environ.get("SAGEMAKER_ACK_KFP_CACHE")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "sagemaker-ack-kfp"


@dataclass(frozen=True)
class StackLayout:
    root: Path

    @classmethod
    def default(cls) -> "StackLayout":
        return cls(Path(os.environ.get("SAGEMAKER_ACK_KFP_STACK_DIR", REPO_ROOT / ".stack")).resolve())

    @property
    def state_file(self) -> Path:
        return self.root / "state.json"

    @property
    def kubeconfig(self) -> Path:
        return self.root / "kubeconfig"

    @property
    def env_file(self) -> Path:
        return self.root / "env"

    @property
    def step_env_file(self) -> Path:
        """The environment a pipeline step gets on this stack (KEY=VALUE lines, as `docker
        run --env-file` and `run-local --env-file` read them)."""
        return self.root / "step.env"

    @property
    def pod_step_env_file(self) -> Path:
        """step.env as a step's Pod on the node needs it: the same variables, with the addresses
        pods reach (the node's relay), written only while the node runs."""
        return self.root / "pod-step.env"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def pki(self) -> Path:
        return self.root / "pki"

    @property
    def etcd_data(self) -> Path:
        return self.root / "etcd-data"

    @property
    def tokens_file(self) -> Path:
        return self.root / "pki" / "tokens.csv"

    @property
    def audit_log(self) -> Path:
        return self.root / "logs" / "audit.log"

    @property
    def audit_policy(self) -> Path:
        return self.root / "audit-policy.yaml"

    @property
    def controller_kubeconfig(self) -> Path:
        return self.root / "controller.kubeconfig"

    def log(self, piece: str) -> Path:
        return self.logs / f"{piece}.log"


def binary_paths() -> dict[str, Path]:
    """Where hack/build-binaries.sh caches each binary (env overrides for your own builds)."""
    versions = pinned_versions()
    cache = cache_dir()
    kube = cache / f"kubernetes-{versions['KUBERNETES_VERSION']}" / "bin"
    return {
        "etcd": Path(os.environ.get("ETCD_BIN", cache / f"etcd-{versions['ETCD_VERSION']}" / "bin" / "etcd")),
        "kube-apiserver": Path(os.environ.get("KUBE_APISERVER_BIN", kube / "kube-apiserver")),
        "kubectl": Path(os.environ.get("KUBECTL_BIN", kube / "kubectl")),
        "controller": Path(
            os.environ.get(
                "ACK_CONTROLLER_BIN",
                cache / f"ack-sagemaker-controller-{versions['ACK_SAGEMAKER_CONTROLLER_VERSION']}" / "bin" / "controller",
            )
        ),
    }
