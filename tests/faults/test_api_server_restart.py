"""The Kubernetes API server goes away while steps wait for their jobs: every step reconnects
from the last resourceVersion it saw, says so, and completes with the right outputs; no job is
lost and none is created twice."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.faults.harness import assert_completed, created_jobs, custom_resources, start
from tests.support.cluster import Cluster, create_namespace
from tests.support.manifests import tags, training_arguments

pytestmark = [pytest.mark.integration, pytest.mark.controller, pytest.mark.slow]

# Long enough that the jobs are still running when the API server is back.
PHASE_SECONDS = "6"


def test_steps_waiting_through_an_api_server_outage_all_complete(controller_stack: Cluster, tmp_path: Path) -> None:
    cluster = controller_stack
    assert cluster.stack is not None
    namespace = create_namespace(cluster, "apiserver-outage")
    creates_before = created_jobs(cluster)
    arguments = training_arguments(namespace, tags=tags(phase_seconds=PHASE_SECONDS))
    runs = [start(cluster, tmp_path / f"step{i}", arguments) for i in range(3)]
    for run in runs:
        run.wait_for_line("InProgress")  # the controller started its job: the step is mid-wait

    cluster.stack.kill("kube-apiserver")
    time.sleep(3)  # down long enough that every watch fails and backs off
    cluster.stack.start_again("kube-apiserver")

    results = [run.finish(timeout=300) for run in runs]
    names = {assert_completed(cluster, namespace, result) for result in results}
    assert len(names) == 3
    for result in results:
        assert "watch interrupted" in result.stdout, result.stdout
        assert "reconnecting" in result.stdout
    assert len(custom_resources(cluster, namespace)) == 3
    assert created_jobs(cluster) - creates_before == 3


def test_api_server_restarted_mid_wait_and_the_step_still_completes(controller_stack: Cluster, tmp_path: Path) -> None:
    """Issue 4's case: a plain restart (stop, start on the same port) in the middle of the wait."""
    cluster = controller_stack
    assert cluster.stack is not None
    namespace = create_namespace(cluster, "apiserver-restart")
    creates_before = created_jobs(cluster)
    run = start(cluster, tmp_path, training_arguments(namespace, tags=tags(phase_seconds=PHASE_SECONDS)))
    run.wait_for_line("InProgress")

    cluster.stack.restart("kube-apiserver")

    result = run.finish(timeout=300)
    assert_completed(cluster, namespace, result)
    assert "watch interrupted" in result.stdout, result.stdout
    assert "reattached" not in result.stdout  # the step kept its own resource; it never re-created it
    assert len(custom_resources(cluster, namespace)) == 1
    assert created_jobs(cluster) - creates_before == 1
