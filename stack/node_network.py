"""The addresses of the local node. They exist only inside network namespaces the stack creates
(the node's, and each pod's), never on this machine's own interfaces, so nothing here can clash
with, or reach, a real network: the node's namespace has no route out."""

from __future__ import annotations

# The node's own namespace: kubelet, containerd, kube-proxy, the CNI bridge and the pods' veths.
NETNS = "sagemaker-ack-kfp-node"
NODE_NAME = "sagemaker-ack-kfp-node"
# On the namespace's loopback device: kubelet rejects a 127.x node IP, and the `kubernetes`
# Service's endpoint (the API server's --advertise-address) must not be loopback either.
NODE_IP = "10.200.0.2"
POD_CIDR = "10.244.0.0/24"
CLUSTER_CIDR = "10.244.0.0/16"
SERVICE_CIDR = "10.96.0.0/16"  # the API server's --service-cluster-ip-range
API_SERVICE_IP = "10.96.0.1"  # the `kubernetes` Service: pods' KUBERNETES_SERVICE_HOST
CNI_BRIDGE = "cni0"
KUBELET_PORT = 10250
