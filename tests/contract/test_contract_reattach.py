"""Contract tests: a step never starts a second job. The resource's name comes from the KFP run
and task, so a retried pod (same run, same task) reattaches to what its first attempt created,
or just writes the outputs when it already finished; two pods of the same task racing make one
resource. Counted on the real API server: its audit log holds every create and its answer."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from tests.contract.stage import Contract
from tests.faults.harness import Running
from tests.support.manifests import step_arguments

pytestmark = pytest.mark.integration

# What the kind's status says while it runs (the step prints it).
RUNNING = {"TrainingJob": "InProgress", "HyperParameterTuningJob": "InProgress", "ProcessingJob": "InProgress",
           "Endpoint": "Creating"}


def create_codes(contract: Contract, kind: str) -> list[int]:
    return [entry["responseStatus"]["code"] for entry in contract.requests(kind, "create")]


def no_outputs_yet(run: Running) -> None:
    assert run.proc.poll() is None, f"the step ended ({run.proc.returncode}) before its job did:\n{run.stdout}"
    assert not any(path.exists() for path in run.step.output_paths.values())


@pytest.mark.parametrize("kind", sorted(RUNNING))
def test_a_retried_pod_reattaches_and_writes_the_outputs_once_done(contract: Contract, kind: str) -> None:
    run_id, task = str(uuid.uuid4()), "my-pipeline-x7k2p.step"
    arguments: dict[str, Any] = step_arguments(kind, contract.namespace)
    replay = contract.replay(kind, "success")

    # Attempt 1 dies mid-wait without any chance to clean up (SIGKILL: node lost, OOM).
    first = contract.start(kind, arguments, run_id=run_id, task=task)
    replay.play(until=RUNNING[kind])
    first.wait_for_line(f": {RUNNING[kind]}")
    first.kill()
    [created] = contract.resources(kind)

    # Attempt 2: same run and task. It finds the resource, follows it, and writes the outputs
    # only once it is done.
    second = contract.start(kind, arguments, run_id=run_id, task=task)
    second.wait_for_line(f"reattached to the existing {kind} {contract.namespace}/{created['metadata']['name']}")
    second.wait_for_line(f": {RUNNING[kind]}")
    time.sleep(0.5)
    no_outputs_yet(second)
    replay.play()
    done = second.finish()
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout}\n{done.stderr}"
    assert len(done.outputs) == len(second.step.output_paths)
    [after] = contract.resources(kind)
    assert after["metadata"]["uid"] == created["metadata"]["uid"]

    # Attempt 3, after success (the pod died while its outputs were collected): outputs only.
    third = contract.start(kind, arguments, run_id=run_id, task=task).finish(timeout=60)
    assert third.returncode == 0, third.stderr
    assert "reattached to the existing" in third.stdout
    assert third.outputs == done.outputs
    assert [obj["metadata"]["uid"] for obj in contract.resources(kind)] == [created["metadata"]["uid"]]
    assert create_codes(contract, kind) == [201, 409, 409]  # one create; the retries were refused and reattached


def test_two_pods_of_the_same_task_racing_make_one_job(contract: Contract) -> None:
    run_id = str(uuid.uuid4())
    arguments = step_arguments("TrainingJob", contract.namespace)
    runs = [contract.start("TrainingJob", arguments, run_id=run_id, task="train") for _ in range(2)]
    contract.replay("TrainingJob", "success").play()
    results = [run.finish() for run in runs]
    assert [result.returncode for result in results] == [0, 0], [result.stderr for result in results]
    assert results[0].outputs == results[1].outputs
    said = sorted("created TrainingJob" in result.stdout for result in results)
    assert said == [False, True], "exactly one of the racing steps creates"
    assert all("reattached to the existing TrainingJob" in r.stdout for r in results if "created TrainingJob" not in r.stdout)
    assert len(contract.resources("TrainingJob")) == 1
    assert sorted(create_codes(contract, "TrainingJob")) == [201, 409]


def test_another_task_of_the_same_run_gets_its_own_job(contract: Contract) -> None:
    run_id = str(uuid.uuid4())
    arguments = step_arguments("TrainingJob", contract.namespace)
    with contract.replaying_controller() as controller:
        results = [contract.start("TrainingJob", arguments, run_id=run_id, task=task).finish() for task in ("train-a", "train-b")]
    controller.check()
    assert [result.returncode for result in results] == [0, 0], [result.stderr for result in results]
    names = {result.outputs["training_job_name"] for result in results}
    assert len(names) == 2
    assert create_codes(contract, "TrainingJob") == [201, 201]
