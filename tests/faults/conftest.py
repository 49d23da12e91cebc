"""A private stack with the ACK controller, one per test module: the fault tests kill and
restart its pieces and throttle its simulator, which must never disturb the shared stack."""

from __future__ import annotations

import pytest

from sagemaker_ack_kfp.stack.layout import binary_paths
from tests.support.cluster import Cluster, PrivateStacks


@pytest.fixture(scope="module")
def controller_stack(private_stack: PrivateStacks) -> Cluster:
    # Checked before starting anything: where the controller cannot be built, skip cheaply.
    binary = binary_paths()["controller"]
    if not binary.exists():
        pytest.skip(f"ACK controller not built ({binary} missing); see hack/build-binaries.sh controller")
    cluster = private_stack.start()
    if not cluster.controller_running:
        pytest.skip(f"ACK controller not running in the private stack: {cluster.controller_absent_reason}")
    return cluster
