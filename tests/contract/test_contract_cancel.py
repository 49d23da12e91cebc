"""Contract tests: a step stops what it started. SIGTERM (KFP terminating a run) and
timeout_seconds, in each phase of a step, each phase reached through the step's own progress
output; the controller's part is replayed from recordings of the real controller.

Jobs are stopped: their resource is deleted (the controller then stops the SageMaker job and
removes its finalizer). Hosting and monitoring resources are left in place (an evicted pod must
not take a live endpoint down), unless an Endpoint step was given delete_on_cancel=true.
(The stages before the controller acts, which need no replay, are in tests/faults/test_termination.py.)
"""

from __future__ import annotations

import time

import pytest

from tests.contract.stage import Contract
from tests.support.component_command import StepResult
from tests.support.manifests import DEFINITION_PREFIXES, step_arguments

pytestmark = pytest.mark.integration

# Each job kind with the status it runs in.
JOBS = {"TrainingJob": "InProgress", "HyperParameterTuningJob": "InProgress", "TransformJob": "InProgress",
        "ProcessingJob": "InProgress", "LabelingJob": "InProgress", "PipelineExecution": "Executing"}
KEPT = ["Model", "EndpointConfig", "Endpoint", "MonitoringSchedule", *DEFINITION_PREFIXES,
        "ModelPackageGroup", "ModelPackage", "InferenceComponent", "Pipeline"]
# Kinds a step may delete on cancel when asked (delete_on_cancel=true).
SWITCHABLE = {"Endpoint", "InferenceComponent"}


def cancelled(result: StepResult) -> StepResult:
    assert result.returncode == 143, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "received SIGTERM: the run was terminated" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.outputs == {}
    return result


def resource_name(kind: str, stdout: str) -> str:
    """The custom resource's name, from the step's own progress line about its create."""
    marker = f"created {kind} "
    assert marker in stdout, stdout
    return stdout.split(marker, 1)[1].split()[0].split("/", 1)[1]


def delete_codes(contract: Contract, kind: str) -> list[int]:
    return [entry["responseStatus"]["code"] for entry in contract.requests(kind, "delete")]


def one_graceful_delete(codes: list[int]) -> None:
    """The step's conditional delete went through once (after any conflicts it re-read and retried)."""
    assert codes and codes[-1] == 200 and all(code == 409 for code in codes[:-1]), codes


@pytest.mark.parametrize(("kind", "running"), JOBS.items())
def test_sigterm_while_the_job_runs_stops_it(contract: Contract, kind: str, running: str) -> None:
    run = contract.start(kind, step_arguments(kind, contract.namespace))
    replay = contract.replay(kind, "stop")
    replay.play(until=running)
    run.wait_for_line(f": {running}")
    run.terminate()
    replay.play()  # waits for the step's delete; the controller stops the job, removes its finalizer
    result = cancelled(run.finish())
    name = resource_name(kind, result.stdout)
    assert f"deleted {kind} {contract.namespace}/{name}; the controller stops the SageMaker job" in result.stdout
    assert replay.gone and contract.resources(kind) == []
    one_graceful_delete(delete_codes(contract, kind))


def test_sigterm_while_the_controller_retries_deletes_the_resource(contract: Contract) -> None:
    run = contract.start("TrainingJob", step_arguments("TrainingJob", contract.namespace))
    replay = contract.replay("TrainingJob", "recoverable")
    replay.play(until=lambda obj: any(c["type"] == "ACK.Recoverable" for c in (obj.get("status") or {}).get("conditions", [])))
    run.wait_for_line("the controller is retrying")
    run.terminate()
    result = cancelled(run.finish())
    assert "deleted TrainingJob" in result.stdout
    one_graceful_delete(delete_codes(contract, "TrainingJob"))
    # Held by the controller's finalizer until it lets go, or gone already.
    assert all(obj["metadata"].get("deletionTimestamp") for obj in contract.resources("TrainingJob"))


@pytest.mark.parametrize("kind", KEPT)
def test_sigterm_leaves_hosting_and_monitoring_resources_in_place(contract: Contract, kind: str) -> None:
    run = contract.start(kind, step_arguments(kind, contract.namespace))
    replay = contract.replay(kind, "success")
    replay.play(until=lambda obj: bool(obj["metadata"].get("finalizers")))  # the controller took it on
    run.wait_for_line(": no status yet")  # the step is waiting for its resource
    run.terminate()
    result = cancelled(run.finish())
    name = resource_name(kind, result.stdout)
    assert f"leaving {kind} {contract.namespace}/{name} in place ({kind} resources are not deleted on cancel" in result.stdout
    assert ("unless delete_on_cancel is true" in result.stdout) == (kind in SWITCHABLE)
    assert contract.requests(kind, "delete") == []
    [resource] = contract.resources(kind)
    assert resource["metadata"]["name"] == name and not resource["metadata"].get("deletionTimestamp")


def test_sigterm_with_delete_on_cancel_deletes_the_endpoint(contract: Contract) -> None:
    run = contract.start("Endpoint", step_arguments("Endpoint", contract.namespace, delete_on_cancel=True))
    replay = contract.replay("Endpoint", "delete")
    replay.play(until="Creating")
    run.wait_for_line(": Creating")
    run.terminate()
    replay.play()  # waits for the step's delete; the controller deletes the endpoint and lets go
    result = cancelled(run.finish())
    name = resource_name("Endpoint", result.stdout)
    assert f"deleted Endpoint {contract.namespace}/{name}; as delete_on_cancel asked" in result.stdout
    assert replay.gone and contract.resources("Endpoint") == []
    one_graceful_delete(delete_codes(contract, "Endpoint"))


def test_timeout_seconds_exits_4_and_stops_the_job(contract: Contract) -> None:
    started = time.monotonic()
    run = contract.start("TrainingJob", step_arguments("TrainingJob", contract.namespace, timeout_seconds=3))
    replay = contract.replay("TrainingJob", "stop")
    replay.play(until="InProgress")
    replay.play()  # the job stays InProgress: at 3 s the step deletes it, and the controller stops it
    result = run.finish()
    assert result.returncode == 4, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert time.monotonic() - started >= 3
    name = resource_name("TrainingJob", result.stdout)
    assert f"error: TrainingJob {contract.namespace}/{name} did not finish within timeout_seconds=3" in result.stderr
    assert f"deleted TrainingJob {contract.namespace}/{name}; the controller stops the SageMaker job" in result.stdout
    assert result.outputs == {} and "Traceback" not in result.stderr
    assert replay.gone and contract.resources("TrainingJob") == []
    one_graceful_delete(delete_codes(contract, "TrainingJob"))


def test_timeout_seconds_leaves_an_endpoint_in_place(contract: Contract) -> None:
    run = contract.start("Endpoint", step_arguments("Endpoint", contract.namespace, timeout_seconds=2))
    contract.replay("Endpoint", "success").play(until="Creating")
    result = run.finish()
    assert result.returncode == 4, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "did not finish within timeout_seconds=2" in result.stderr
    assert "leaving Endpoint" in result.stdout
    assert contract.requests("Endpoint", "delete") == []
    [endpoint] = contract.resources("Endpoint")
    assert not endpoint["metadata"].get("deletionTimestamp")

