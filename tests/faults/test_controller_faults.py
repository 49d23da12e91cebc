"""The ACK controller dies, or SageMaker throttles it, while steps wait: the steps keep waiting
and complete, each with exactly one SageMaker job."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from tests.faults.harness import (
    Running,
    assert_completed,
    component,
    created_jobs,
    custom_resources,
    job_name,
    new_run_id,
    start,
    throttled_calls,
)
from tests.support.cluster import Cluster, create_namespace
from tests.support.manifests import tags, training_arguments, tuning_arguments

pytestmark = [pytest.mark.integration, pytest.mark.controller, pytest.mark.slow]

PHASE_SECONDS = "4"


def _complete_all(cluster: Cluster, namespace: str, runs: list[Running], creates_before: int) -> None:
    results = [run.finish(timeout=300) for run in runs]
    names = {assert_completed(cluster, namespace, result) for result in results}
    assert len(names) == len(runs)
    assert len(custom_resources(cluster, namespace)) == len(runs)
    assert created_jobs(cluster) - creates_before == len(runs)


def test_controller_killed_and_restarted_mid_wait(controller_stack: Cluster, tmp_path: Path) -> None:
    cluster = controller_stack
    assert cluster.stack is not None
    namespace = create_namespace(cluster, "controller-restart")
    creates_before = created_jobs(cluster)
    arguments = training_arguments(namespace, tags=tags(phase_seconds=PHASE_SECONDS))
    runs = [start(cluster, tmp_path / f"step{i}", arguments) for i in range(2)]
    for run in runs:
        run.wait_for_line("InProgress")

    cluster.stack.kill("controller")
    time.sleep(3)  # nobody reconciles for a while
    cluster.stack.start_again("controller")

    _complete_all(cluster, namespace, runs, creates_before)


def test_throttling_burst_while_steps_wait(controller_stack: Cluster, tmp_path: Path) -> None:
    cluster = controller_stack
    namespace = create_namespace(cluster, "throttle-mid-wait")
    creates_before, throttled_before = created_jobs(cluster), throttled_calls(cluster)
    arguments = training_arguments(namespace, tags=tags(phase_seconds=PHASE_SECONDS))
    runs = [start(cluster, tmp_path / f"step{i}", arguments) for i in range(2)]
    for run in runs:
        run.wait_for_line("InProgress")

    cluster.sim("/_sim/throttle", {"count": 8})

    _complete_all(cluster, namespace, runs, creates_before)
    assert throttled_calls(cluster) - throttled_before == 8  # the burst really hit the controller


def test_throttling_burst_before_the_jobs_are_created(controller_stack: Cluster, tmp_path: Path) -> None:
    cluster = controller_stack
    namespace = create_namespace(cluster, "throttle-before-create")
    creates_before, throttled_before = created_jobs(cluster), throttled_calls(cluster)
    cluster.sim("/_sim/throttle", {"count": 7})
    arguments = training_arguments(namespace, tags=tags(phase_seconds="2"))
    runs = [start(cluster, tmp_path / f"step{i}", arguments) for i in range(2)]

    _complete_all(cluster, namespace, runs, creates_before)
    assert throttled_calls(cluster) - throttled_before == 7


def test_throttling_right_after_create(controller_stack: Cluster, tmp_path: Path) -> None:
    """`sim/throttle-next`: the calls right after a successful Create are throttled, so ACK's
    late-initialization read fails. The step rendered SageMaker's defaults into the spec and the
    user set enableSageMakerMetricsTimeSeries (as the component's README advises), so the next
    sync sees no spec change and the job completes (otherwise ACK v1.9.1 calls its update hook
    and marks the resource ACK.Terminal while the job runs on)."""
    cluster = controller_stack
    namespace = create_namespace(cluster, "throttle-after-create")
    creates_before, throttled_before = created_jobs(cluster), throttled_calls(cluster)
    arguments = training_arguments(namespace, tags=tags(throttle_next="5", phase_seconds="2"))
    arguments["algorithm_specification"] = {**arguments["algorithm_specification"], "enableSageMakerMetricsTimeSeries": False}
    run = start(cluster, tmp_path, arguments)

    _complete_all(cluster, namespace, [run], creates_before)
    assert throttled_calls(cluster) - throttled_before == 5


def test_throttling_right_after_a_tuning_job_is_created(controller_stack: Cluster, tmp_path: Path) -> None:
    """The same throttled late-initialization read for a tuning job (whose update ACK answers
    with ACK.Terminal "not implemented"), with the metric definitions given as a custom image
    must: SageMaker's defaults in the spec leave no spurious change, and the job completes."""
    cluster = controller_stack
    namespace = create_namespace(cluster, "throttle-after-tuning-create")
    throttled_before = throttled_calls(cluster)
    arguments = tuning_arguments(namespace, tags=tags(throttle_next="4", phase_seconds="1"))
    arguments["training_job_definition"]["algorithmSpecification"]["metricDefinitions"] = [
        {"name": "test:msd", "regex": "test:msd=([0-9.]+)"}]
    result = component(cluster, tmp_path, arguments, run_id=new_run_id(), task="tune", kind="HyperParameterTuningJob").run(
        timeout=300)

    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert result.output_json("status")["hyperParameterTuningJobStatus"] == "Completed"
    assert throttled_calls(cluster) - throttled_before == 4
    [job] = cluster.sim_resources("HyperParameterTuningJob", name_prefix=result.outputs["hpo_job_name"])
    assert job["status"] == "Completed"


def test_throttling_right_after_create_without_the_metrics_flag_is_explained(
    controller_stack: Cluster, tmp_path: Path
) -> None:
    """What is left of ACK v1.9.1's throttled late initialization: enableSageMakerMetricsTimeSeries
    is not guessed, so without it the controller ends the resource ACK.Terminal. The step fails
    saying that it changed nothing and that the job runs on; the one job is not stopped."""
    cluster = controller_stack
    namespace = create_namespace(cluster, "throttle-no-metrics-flag")
    creates_before = created_jobs(cluster)
    run = start(cluster, tmp_path, training_arguments(namespace, tags=tags(throttle_next="5", phase_seconds="30")))
    result = run.finish(timeout=300)

    assert result.returncode == 1, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "only Warm Pool or Profiler can be updated. This step changed nothing" in result.stderr
    assert "set algorithm_specification's enableSageMakerMetricsTimeSeries explicitly" in result.stderr
    assert "Traceback" not in result.stderr
    assert created_jobs(cluster) - creates_before == 1
    [job] = cluster.sim_resources("TrainingJob", name_prefix=job_name(result.stdout))
    assert job["status"] == "InProgress"  # a failed step does not stop a job it no longer tracks
