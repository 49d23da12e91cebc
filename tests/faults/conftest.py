"""Fixtures of the fault suite: a private stack with the ACK controller for each module that
kills and restarts its pieces or throttles its simulator (the shared stack is never disturbed),
and no step process outliving the test that started it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from sagemaker_ack_kfp.stack.layout import binary_paths
from tests.faults.harness import Running
from tests.support.cluster import Cluster, PrivateStacks


@pytest.fixture(autouse=True)
def _no_step_outlives_its_test() -> Iterator[None]:
    yield
    while Running.started:
        run = Running.started.pop()
        if run.proc.poll() is None:
            run.kill()


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
