"""The component image, as the stack built it from the Dockerfile and imported it into the node's
containerd, runs under Kubernetes' own check of the user: runAsNonRoot, with the user the
Dockerfile declares."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kubernetes import client

from sagemaker_ack_kfp.stack.images import component_image_name
from tests.support.cluster import Cluster, create_namespace, wait_for
from tests.support.step_pods import node_lock
from tests.unit.test_packaging import instructions

pytestmark = [pytest.mark.integration, pytest.mark.node]


@pytest.fixture(autouse=True)
def _node_in_use(cluster: Cluster) -> Iterator[None]:
    with node_lock(cluster):
        yield


def test_the_image_runs_as_the_non_root_user_the_dockerfile_declares(cluster: Cluster) -> None:
    user, group = [args.strip() for op, args in instructions() if op == "USER"][-1].split(":")
    workdir = [args.strip() for op, args in instructions() if op == "WORKDIR"][-1]
    assert int(user) != 0
    namespace = create_namespace(cluster, "image-user")
    core = client.CoreV1Api(cluster.admin())
    wait_for(lambda: core.list_namespaced_service_account(namespace).items, timeout=30, what="the default service account")
    probe = "import os, sagemaker_ack_kfp; print(os.getuid(), os.getgid(), os.getcwd(), sagemaker_ack_kfp.__file__)"
    core.create_namespaced_pod(namespace, {
        "metadata": {"name": "whoami"},
        "spec": {
            "restartPolicy": "Never",
            "automountServiceAccountToken": False,
            # kubelet refuses to start the container if the image's user is root (or not numeric).
            "securityContext": {"runAsNonRoot": True},
            "containers": [{"name": "main", "image": component_image_name(), "command": ["python3", "-c", probe]}],
        },
    })

    def finished() -> str | None:
        status = core.read_namespaced_pod("whoami", namespace).status
        return status.phase if status.phase in ("Succeeded", "Failed") else None

    phase = wait_for(finished, timeout=120, what="the pod to finish")
    log = core.read_namespaced_pod_log("whoami", namespace)
    assert phase == "Succeeded", log
    uid, gid, cwd, module = log.split()
    assert (uid, gid) == (user, group)
    assert cwd == workdir
    assert module.startswith("/opt/venv/lib/python3.11/site-packages/"), module  # installed, not mounted
