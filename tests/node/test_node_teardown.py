"""Stopping the node (what `make stack-down` does before it stops the control plane) leaves this
machine as the node found it: no process, mount, network namespace, iptables rule or changed
sysctl, compared with what the stack recorded before the node started (node_host.py). The node
is stopped with a pod still running in it, then started again for the rest of the suite."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
from kubernetes import client

from sagemaker_ack_kfp.stack import node_host
from sagemaker_ack_kfp.stack.images import component_image_name
from sagemaker_ack_kfp.stack.node_config import CGROUP_PARENT
from sagemaker_ack_kfp.stack.node_network import NETNS, NODE_NAME
from tests.support.cluster import Cluster, create_namespace, wait_for
from tests.support.step_pods import node_lock

pytestmark = [pytest.mark.integration, pytest.mark.node, pytest.mark.slow]


def running_pod(cluster: Cluster) -> str:
    """A pod that ignores SIGTERM, so that the stop has a live container to take down."""
    namespace = create_namespace(cluster, "teardown")
    core = client.CoreV1Api(cluster.admin())
    wait_for(lambda: core.list_namespaced_service_account(namespace).items, timeout=30, what="the default service account")
    name = f"stubborn-{uuid.uuid4().hex[:6]}"
    core.create_namespaced_pod(namespace, {
        "metadata": {"name": name},
        "spec": {"restartPolicy": "Never", "containers": [{
            "name": "main", "image": component_image_name(),
            "command": ["python3", "-c", "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(3600)"],
        }]},
    })
    wait_for(lambda: core.read_namespaced_pod(name, namespace).status.phase == "Running", timeout=120, what="the pod to run")
    return namespace


def test_stopping_the_node_leaves_nothing_behind_and_it_starts_again(cluster: Cluster) -> None:
    assert cluster.stack is not None
    node_dir = cluster.stack.layout.root / "node"
    with node_lock(cluster, exclusive=True):
        running_pod(cluster)
        assert node_host.mounts_below(node_dir), "a running pod has mounts below the node's folder"
        assert NETNS in node_host.netns_names()
        assert node_host.processes_mentioning(str(node_dir))
        baseline = node_host.read_baseline()
        assert baseline, f"the node recorded no baseline in {node_host.BASELINE_FILE}"
        # While it runs, kubelet's sysctls differ from this machine's (else the restore proves nothing).
        changed = {name for name, value in baseline["kubelet_sysctls"].items() if node_host.read_sysctl(name) != value}
        assert changed, "kubelet changed none of the sysctls it is known to set"

        cluster.stack.stop_node()
        try:
            state = json.loads(Path(cluster.stack.layout.state_file).read_text())
            control_plane = set(state["pids"].values())  # etcd, the API server, ...: still running
            differences = node_host.differences(baseline, node_dir=node_dir, cgroup_parent=CGROUP_PARENT, keep_pids=control_plane)
            assert differences == [], "\n".join(differences)
            for name, value in baseline["kubelet_sysctls"].items():
                assert node_host.read_sysctl(name) == value, name
            assert not {"kubelet", "containerd", "kube-proxy", "relay", "kube-controller-manager", "kube-scheduler"} & set(state["pids"])
            assert node_host.read_claim() is None
        finally:
            cluster.stack.start_node()
        node = client.CoreV1Api(cluster.admin()).read_node(NODE_NAME)
        assert any(c.type == "Ready" and c.status == "True" for c in node.status.conditions)
