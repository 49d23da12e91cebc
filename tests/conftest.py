"""Fixtures for the local stack: one stack per session (started once, reused if already up), a
fresh namespace per test (namespaces are never finalized without kube-controller-manager, so
names are unique), and clients for the admin, any user or any service account."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kubernetes import client

from tests.support.cluster import Cluster, PrivateStacks, connect, unique_namespace


@pytest.fixture(scope="session")
def cluster() -> Cluster:
    return connect()


@pytest.fixture(autouse=True)
def _requirements(request: pytest.FixtureRequest) -> None:
    """`controller` tests need the ACK controller; `simulator` tests need the simulator's controls;
    `node` tests need the local stack's node."""
    if request.node.get_closest_marker("node"):
        node_cluster: Cluster = request.getfixturevalue("cluster")
        if not node_cluster.node_running:
            pytest.skip(f"the local stack's node is not running: {node_cluster.node_absent_reason}")
    if request.node.get_closest_marker("controller") or request.node.get_closest_marker("simulator"):
        cluster: Cluster = request.getfixturevalue("cluster")
        if request.node.get_closest_marker("controller") and not cluster.controller_running:
            pytest.skip(f"ACK controller not running in the local stack: {cluster.controller_absent_reason}")
        if request.node.get_closest_marker("simulator") and not cluster.simulator_url:
            pytest.skip("needs the SageMaker simulator's controls (not available on an external cluster)")


@pytest.fixture
def admin(cluster: Cluster) -> client.ApiClient:
    return cluster.admin()


@pytest.fixture
def namespace(cluster: Cluster, request: pytest.FixtureRequest) -> Iterator[str]:
    name = unique_namespace(request.node.name)
    client.CoreV1Api(cluster.admin()).create_namespace({"metadata": {"name": name}})
    yield name


@pytest.fixture(scope="module")
def private_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PrivateStacks]:
    """Extra stacks of the test's own (for restarts, a missing controller, missing CRDs),
    so disruptive tests never disturb the shared one."""
    stacks = PrivateStacks(tmp_path_factory)
    yield stacks
    stacks.down_all()
