"""The same step more than once: KFP retrying a pod that died mid-wait or after success, and two
pods of the same task racing. Each finds the one resource the task owns; there is never a second
SageMaker job."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.faults.harness import assert_completed, custom_resources, job_name, new_run_id, sim_jobs, start
from tests.support.cluster import Cluster
from tests.support.manifests import tags, training_arguments

pytestmark = [pytest.mark.integration, pytest.mark.controller, pytest.mark.simulator]


def test_pod_retries_reattach_to_the_one_job(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    run_id = new_run_id()
    arguments = training_arguments(namespace, tags=tags(phase_seconds="3"))

    # Attempt 1 dies mid-wait without any chance to clean up (SIGKILL: node lost, OOM).
    first = start(cluster, tmp_path / "attempt1", arguments, run_id=run_id, task="pipeline.train")
    first.wait_for_line("InProgress")
    first.kill()
    name = job_name(first.stdout)
    [cr] = custom_resources(cluster, namespace)
    assert cr["metadata"]["name"] == name  # left in place, the job still running
    [job] = sim_jobs(cluster, name)

    # Attempt 2: same run, same task (Argo's retry suffix is not part of the identity).
    second = start(cluster, tmp_path / "attempt2", arguments, run_id=run_id, task="pipeline.train").finish()
    assert_completed(cluster, namespace, second)
    assert "reattached to the existing TrainingJob" in second.stdout
    assert second.outputs["training_job_name"] == name
    [cr_after] = custom_resources(cluster, namespace)
    assert cr_after["metadata"]["uid"] == cr["metadata"]["uid"]
    assert [j["created"] for j in sim_jobs(cluster, name)] == [job["created"]]

    # Attempt 3, after success (e.g. the pod died while uploading its outputs): outputs only.
    third = start(cluster, tmp_path / "attempt3", arguments, run_id=run_id, task="pipeline.train").finish()
    assert_completed(cluster, namespace, third)
    assert "reattached to the existing TrainingJob" in third.stdout
    assert third.outputs == second.outputs
    assert [c["metadata"]["uid"] for c in custom_resources(cluster, namespace)] == [cr["metadata"]["uid"]]
    assert [j["created"] for j in sim_jobs(cluster, name)] == [job["created"]]


def test_the_same_step_started_twice_at_once_makes_one_job(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    run_id = new_run_id()
    arguments = training_arguments(namespace, tags=tags(phase_seconds="2"))
    runs = [start(cluster, tmp_path / f"pod{i}", arguments, run_id=run_id, task="train") for i in range(2)]
    results = [run.finish(timeout=300) for run in runs]

    names = {assert_completed(cluster, namespace, result) for result in results}
    assert len(names) == 1
    assert results[0].outputs == results[1].outputs
    said = sorted("created TrainingJob" in r.stdout for r in results)
    assert said == [False, True], "exactly one of the racing steps creates, the other reattaches"
    assert all("reattached" in r.stdout for r in results if "created TrainingJob" not in r.stdout)
    assert len(custom_resources(cluster, namespace)) == 1
    assert len(sim_jobs(cluster, names.pop())) == 1
