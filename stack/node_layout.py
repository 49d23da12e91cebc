"""Where the node keeps its files: everything under <stack>/node, except what must be
machine-wide because only one node runs per machine (node_host.py: /run/sagemaker-ack-kfp)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class NodeLayout:
    root: Path  # <stack>/node

    @property
    def pki(self) -> Path:
        return self.root / "pki"

    @property
    def kubeconfigs(self) -> Path:
        return self.root / "kubeconfigs"

    def kubeconfig(self, who: str) -> Path:
        return self.kubeconfigs / f"{who}.kubeconfig"

    @property
    def containerd_config(self) -> Path:
        return self.root / "containerd.toml"

    @property
    def containerd_root(self) -> Path:
        # Kept across stack-down/up: the imported images live here.
        return self.root / "containerd" / "root"

    @property
    def containerd_state(self) -> Path:
        return self.root / "containerd" / "state"

    @property
    def containerd_socket(self) -> Path:
        return self.root / "containerd.sock"

    @property
    def runc_root(self) -> Path:
        return self.root / "containerd" / "runc"

    @property
    def cni_conf_dir(self) -> Path:
        return self.root / "cni" / "net.d"

    @property
    def cni_ipam_dir(self) -> Path:
        return self.root / "cni" / "ipam"

    @property
    def kubelet_root(self) -> Path:
        return self.root / "kubelet"

    @property
    def kubelet_config(self) -> Path:
        return self.root / "kubelet.yaml"

    @property
    def pod_logs(self) -> Path:
        return self.root / "pod-logs"

    @property
    def kube_proxy_config(self) -> Path:
        return self.root / "kube-proxy.yaml"

    @property
    def egress_config(self) -> Path:
        return self.root / "egress-selector.yaml"

    @property
    def egress_socket(self) -> Path:
        return self.root / "egress.sock"

    @property
    def resolv_conf(self) -> Path:
        return self.root / "resolv.conf"

    @property
    def images_file(self) -> Path:
        """Which image archive (by key) containerd holds under each name."""
        return self.root / "images.json"

    def serving_dir(self, piece: str) -> Path:
        return self.root / "serving" / piece

    @property
    def volatile(self) -> tuple[Path, ...]:
        """Wiped on every start: state of the previous run (containers, pods, IP leases)."""
        return (self.containerd_state, self.runc_root, self.kubelet_root, self.pod_logs, self.cni_ipam_dir, self.root / "serving")
