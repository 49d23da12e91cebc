"""The node's configuration as written (no node needed): files its programs can parse, with the
settings this machine needs, and the relay's egress refusing anything but the node's networks."""

from __future__ import annotations

import ipaddress
import json
import tomllib
from pathlib import Path

import yaml

from sagemaker_ack_kfp.stack import node_config
from sagemaker_ack_kfp.stack.control_plane import _with_flags
from sagemaker_ack_kfp.stack.node_layout import NodeLayout
from sagemaker_ack_kfp.stack.node_network import CLUSTER_CIDR, NODE_IP
from sagemaker_ack_kfp.stack.relay import Relay


def test_containerd_config_parses_and_keeps_everything_under_the_stack(tmp_path: Path) -> None:
    layout = NodeLayout(tmp_path / "node")
    config = tomllib.loads(node_config.containerd_toml(layout, sandbox_image="localhost/p:1", snapshotter="overlayfs").read_text())
    cri = config["plugins"]["io.containerd.grpc.v1.cri"]
    assert cri["sandbox_image"] == "localhost/p:1"
    assert cri["restrict_oom_score_adj"] is True  # runc cannot lower oom_score_adj on these machines
    assert cri["netns_mounts_under_state_dir"] is True
    assert cri["containerd"]["runtimes"]["runc"]["options"]["SystemdCgroup"] is False
    paths = [config["root"], config["state"], config["grpc"]["address"], cri["cni"]["conf_dir"],
             config["plugins"]["io.containerd.internal.v1.opt"]["path"], cri["containerd"]["runtimes"]["runc"]["options"]["Root"]]
    assert all(path.startswith(str(layout.root)) for path in paths), paths


def test_kubelet_and_kube_proxy_configs(tmp_path: Path) -> None:
    layout = NodeLayout(tmp_path / "node")
    kubelet = yaml.safe_load(node_config.kubelet_yaml(layout, ca_file=tmp_path / "ca.crt").read_text())
    assert kubelet["authentication"]["anonymous"]["enabled"] is False and kubelet["authorization"]["mode"] == "Webhook"
    assert kubelet["failCgroupV1"] is False and kubelet["cgroupDriver"] == "cgroupfs"
    assert kubelet["readOnlyPort"] == 0 and kubelet["address"] == NODE_IP
    proxy = yaml.safe_load(node_config.kube_proxy_yaml(layout).read_text())
    assert proxy["mode"] == "iptables" and proxy["iptables"]["localhostNodePorts"] is False
    assert proxy["conntrack"]["maxPerCore"] == 0  # no machine-wide conntrack setting changed
    conflist = json.loads(node_config.cni_conflist(layout).read_text())
    assert conflist["plugins"][0]["ipMasq"] is False
    assert conflist["plugins"][0]["ipam"]["dataDir"].startswith(str(layout.root))


def test_the_relay_connects_the_api_server_to_the_node_and_pods_only() -> None:
    relay = Relay.__new__(Relay)
    relay.allowed = [ipaddress.ip_network(f"{NODE_IP}/32"), ipaddress.ip_network(CLUSTER_CIDR)]
    assert relay._target(["CONNECT", f"{NODE_IP}:10250", "HTTP/1.1"]) == (NODE_IP, 10250)
    assert relay._target(["CONNECT", "10.244.0.7:8080", "HTTP/1.1"]) == ("10.244.0.7", 8080)
    for refused in ("127.0.0.1:2379", "10.200.0.3:22", "8.8.8.8:53", "example.com:443", f"{NODE_IP}:0", f"{NODE_IP}:x"):
        assert relay._target(["CONNECT", refused, "HTTP/1.1"]) is None, refused
    assert relay._target(["GET", f"{NODE_IP}:10250", "HTTP/1.1"]) is None


def test_node_flags_replace_the_api_servers_own() -> None:
    argv = ["kube-apiserver", "--advertise-address=127.0.0.1", "--authorization-mode=RBAC", "--v=1"]
    assert _with_flags(argv, ["--advertise-address=10.200.0.2", "--authorization-mode=Node,RBAC", "--egress-selector-config-file=x"]) == [
        "kube-apiserver", "--v=1", "--advertise-address=10.200.0.2", "--authorization-mode=Node,RBAC", "--egress-selector-config-file=x"
    ]
