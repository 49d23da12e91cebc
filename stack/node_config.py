"""The node's configuration files, written fresh on every start: containerd's (CRI), the CNI
network, kubelet's, kube-proxy's, the API server's egress selector, and a kubeconfig per component.
Why each unusual setting is there is said next to it."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from sagemaker_ack_kfp.stack import node_pki
from sagemaker_ack_kfp.stack.node_layout import NodeLayout
from sagemaker_ack_kfp.stack.node_network import (
    CLUSTER_CIDR,
    CNI_BRIDGE,
    KUBELET_PORT,
    NODE_IP,
    NODE_NAME,
    POD_CIDR,
)

CNI_BIN_DIR = "/usr/lib/cni"  # Debian's containernetworking-plugins
RUNC = "/usr/sbin/runc"
CGROUP_PARENT = "/sagemaker-ack-kfp"  # kubelet's cgroupRoot, in every cgroup v1 hierarchy
CNI_NETWORK = "sagemaker-ack-kfp"


def _write(path: Path, text: str, mode: int = 0o644) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(mode)
    return path


def containerd_toml(layout: NodeLayout, *, sandbox_image: str, snapshotter: str) -> Path:
    cri = 'plugins."io.containerd.grpc.v1.cri"'
    text = f"""# Written by the local stack (stack/node_config.py) on every start.
version = 2
root = "{layout.containerd_root}"
state = "{layout.containerd_state}"
# Snapshotters this machine cannot use, and plugins that would write outside the stack's folder.
disabled_plugins = [
  "io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
  "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing",
]

[grpc]
  address = "{layout.containerd_socket}"

[ttrpc]
  address = "{layout.containerd_socket}.ttrpc"

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "{layout.root / 'containerd' / 'opt'}"

[{cri}]
  sandbox_image = "{sandbox_image}"
  # runc cannot lower a process's oom_score_adj here (no CAP_SYS_RESOURCE in this VM).
  restrict_oom_score_adj = true
  # Pods' network namespaces under the state folder, not the machine's /run/netns.
  netns_mounts_under_state_dir = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  disable_apparmor = true
  max_container_log_line_size = 16384

  [{cri}.containerd]
    snapshotter = "{snapshotter}"
    default_runtime_name = "runc"

    [{cri}.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"

      [{cri}.containerd.runtimes.runc.options]
        BinaryName = "{RUNC}"
        Root = "{layout.runc_root}"
        # cgroupfs, like kubelet: no systemd on these machines.
        SystemdCgroup = false

  [{cri}.cni]
    bin_dir = "{CNI_BIN_DIR}"
    conf_dir = "{layout.cni_conf_dir}"
    max_conf_num = 1
"""
    return _write(layout.containerd_config, text)


def cni_conflist(layout: NodeLayout) -> Path:
    """bridge + host-local (containerd adds loopback itself). No IP masquerade: pods reach the
    node's address and each other, nothing beyond the node's namespace."""
    conf = {
        "cniVersion": "1.0.0",
        "name": CNI_NETWORK,
        "plugins": [
            {
                "type": "bridge",
                "bridge": CNI_BRIDGE,
                "isGateway": True,
                "ipMasq": False,
                "hairpinMode": True,
                "ipam": {
                    "type": "host-local",
                    "ranges": [[{"subnet": POD_CIDR}]],
                    "routes": [{"dst": "0.0.0.0/0"}],
                    "dataDir": str(layout.cni_ipam_dir),
                },
            }
        ],
    }
    for stale in layout.cni_conf_dir.glob("*"):
        stale.unlink()
    return _write(layout.cni_conf_dir / "10-sagemaker-ack-kfp.conflist", json.dumps(conf, indent=2))


def kubeconfig(layout: NodeLayout, who: str, *, server: str, ca_file: Path) -> Path:
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "local", "cluster": {"server": server, "certificate-authority": str(ca_file)}}],
        "users": [
            {
                "name": who,
                "user": {
                    "client-certificate": str(node_pki.cert_path(layout.pki, who)),
                    "client-key": str(node_pki.key_path(layout.pki, who)),
                },
            }
        ],
        "contexts": [{"name": who, "context": {"cluster": "local", "user": who}}],
        "current-context": who,
    }
    return _write(layout.kubeconfig(who), yaml.safe_dump(config, sort_keys=False), 0o600)


def kubelet_yaml(layout: NodeLayout, *, ca_file: Path) -> Path:
    config = {
        "apiVersion": "kubelet.config.k8s.io/v1beta1",
        "kind": "KubeletConfiguration",
        "address": NODE_IP,
        "port": KUBELET_PORT,
        "readOnlyPort": 0,
        "healthzBindAddress": "127.0.0.1",
        "healthzPort": 10248,
        # The API server authenticates with its client certificate; anything else is asked about
        # through the API server (webhook). Nobody anonymous.
        "authentication": {
            "anonymous": {"enabled": False},
            "webhook": {"enabled": True, "cacheTTL": "30s"},
            "x509": {"clientCAFile": str(ca_file)},
        },
        "authorization": {"mode": "Webhook"},
        "tlsCertFile": str(node_pki.cert_path(layout.pki, "kubelet-serving")),
        "tlsPrivateKeyFile": str(node_pki.key_path(layout.pki, "kubelet-serving")),
        "rotateCertificates": False,
        "containerRuntimeEndpoint": f"unix://{layout.containerd_socket}",
        "imageServiceEndpoint": f"unix://{layout.containerd_socket}",
        # containerd 1.6 lacks the RuntimeConfig call, so kubelet uses this driver as configured.
        "cgroupDriver": "cgroupfs",
        "cgroupRoot": CGROUP_PARENT,
        # These machines boot cgroup v1.
        "failCgroupV1": False,
        "failSwapOn": False,
        # Pods get no DNS: they need only the `kubernetes` Service's IP, and nothing outside.
        "resolvConf": str(layout.resolv_conf),
        "clusterDomain": "cluster.local",
        "podLogsDir": str(layout.pod_logs),
        "volumePluginDir": str(layout.kubelet_root / "volume-plugins"),
        "podCIDR": POD_CIDR,
        "maxPods": 110,
        "serializeImagePulls": False,
        # A shared development machine: evict only when it is really out of room, and never
        # garbage-collect the images the stack imported (they cannot be pulled again).
        "evictionHard": {"memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%", "nodefs.inodesFree": "1%"},
        "imageGCHighThresholdPercent": 100,
        "imageGCLowThresholdPercent": 99,
        "shutdownGracePeriod": "0s",
        "logging": {"format": "text"},
    }
    _write(layout.resolv_conf, "")
    return _write(layout.kubelet_config, yaml.safe_dump(config, sort_keys=False))


def kube_proxy_yaml(layout: NodeLayout) -> Path:
    config = {
        "apiVersion": "kubeproxy.config.k8s.io/v1alpha1",
        "kind": "KubeProxyConfiguration",
        "clientConnection": {"kubeconfig": str(layout.kubeconfig("kube-proxy"))},
        "hostnameOverride": NODE_NAME,
        "mode": "iptables",
        "clusterCIDR": CLUSTER_CIDR,
        "healthzBindAddress": "127.0.0.1:10256",
        "metricsBindAddress": "127.0.0.1:10249",
        "nodePortAddresses": [f"{NODE_IP}/32"],
        # Change no machine-wide setting: conntrack table sizes and timeouts are left alone (0),
        # and no localhost NodePorts (they need route_localnet).
        "conntrack": {"maxPerCore": 0, "min": 0, "tcpEstablishedTimeout": "0s", "tcpCloseWaitTimeout": "0s"},
        "iptables": {"localhostNodePorts": False, "minSyncPeriod": "1s", "syncPeriod": "30s"},
        "logging": {"format": "text"},
    }
    return _write(layout.kube_proxy_config, yaml.safe_dump(config, sort_keys=False))


def egress_selector_yaml(layout: NodeLayout) -> Path:
    """The API server reaches kubelets and pods ("cluster") through the relay's unix socket."""
    config = {
        "apiVersion": "apiserver.k8s.io/v1beta1",
        "kind": "EgressSelectorConfiguration",
        "egressSelections": [
            {
                "name": "cluster",
                "connection": {"proxyProtocol": "HTTPConnect", "transport": {"uds": {"udsName": str(layout.egress_socket)}}},
            }
        ],
    }
    return _write(layout.egress_config, yaml.safe_dump(config, sort_keys=False))
