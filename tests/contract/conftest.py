"""Fixtures of the contract tests: a real API server where no controller runs (the shared stack
where the controller is absent, as on CI; else a private stack of this worker's), a fresh
namespace per test, and no step process outliving its test."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.contract.stage import Contract
from tests.faults.harness import Running
from tests.support.cluster import Cluster, PrivateStacks, create_namespace


@pytest.fixture(scope="session")
def controllerless(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    if not cluster.controller_running and cluster.stack is not None:
        yield cluster
        return
    stacks = PrivateStacks(tmp_path_factory)
    yield stacks.start(with_controller=False, s3=True)  # the samples' data step writes to S3
    stacks.down_all()


@pytest.fixture
def contract(controllerless: Cluster, request: pytest.FixtureRequest, tmp_path: Path) -> Contract:
    return Contract(controllerless, create_namespace(controllerless, request.node.name), tmp_path)


@pytest.fixture(autouse=True)
def _no_step_outlives_its_test() -> Iterator[None]:
    yield
    while Running.started:
        run = Running.started.pop()
        if run.proc.poll() is None:
            run.kill()
