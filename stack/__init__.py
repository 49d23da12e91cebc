"""The local control plane: etcd, kube-apiserver, the ACK controller and the simulator on loopback."""
