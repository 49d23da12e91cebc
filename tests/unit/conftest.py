"""Shared fixtures: the pinned ACK release, the generator inputs of this checkout, a real S3 store,
and the SageMaker simulator on a manual clock with its boto3 client (a module needing another
simulator configuration overrides `sim`)."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from sagemaker_ack_kfp.codegen.ack_release import AckRelease, ReleaseNotFound, locate
from sagemaker_ack_kfp.codegen.config import CONFIG_FILE, GeneratorConfig, load_config
from sagemaker_ack_kfp.codegen.overlays import KINDS_DIR, Overlay, load_overlays
from sagemaker_ack_kfp.stack.object_store import argv, healthy, process_env, url
from sagemaker_ack_kfp.simulator import SimulatorConfig, SimulatorServer, running_simulator
from sagemaker_ack_kfp.stack.processes import free_port
from tests.support.simulator_client import ManualClock, client


@pytest.fixture(scope="session")
def ack_release() -> AckRelease:
    try:
        return locate()
    except ReleaseNotFound as exc:  # a missing dependency is a failure, not a skip
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def generator_config() -> GeneratorConfig:
    return load_config(CONFIG_FILE)


@pytest.fixture(scope="session")
def overlays() -> tuple[Overlay, ...]:
    return load_overlays(KINDS_DIR)


@pytest.fixture(scope="session")
def object_store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real S3 store for the simulator's S3 tests: the local stack's own object store server
    (moto's S3 backend), started as a process on a free loopback port. Tests use their own buckets."""
    port = free_port()
    log = tmp_path_factory.mktemp("object-store") / "object-store.log"
    env = process_env(log.parent)
    with log.open("wb") as out:
        server = subprocess.Popen(argv(port), stdout=out, stderr=subprocess.STDOUT, env=env)
    endpoint = url(port)
    deadline = time.monotonic() + 30
    while not healthy(endpoint):
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            pytest.fail(f"the object store did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.1)
    yield endpoint
    server.terminate()
    server.wait(timeout=10)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sim(clock: ManualClock) -> Iterator[SimulatorServer]:
    with running_simulator(config=SimulatorConfig(phase_seconds=1.0, clock=clock)) as server:
        yield server


@pytest.fixture
def sm(sim: SimulatorServer) -> Any:
    return client(sim)
