"""Contract tests: how a step goes about its wait. It reads its one resource once and then
watches that one object from the version it read, instead of polling; it prints one line per
change (console links once, no resource dumps); it sends the region to the controller; and an
unexpected failure ends in exit code 70 with a one-line reason, not a traceback."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from sagemaker_ack_kfp.runner import REGION_ANNOTATION
from tests.contract.stage import Contract
from tests.support.manifests import step_arguments

pytestmark = pytest.mark.integration


def test_the_step_reads_once_then_watches_its_one_object_instead_of_polling(contract: Contract) -> None:
    run = contract.start("TrainingJob", step_arguments("TrainingJob", contract.namespace))
    replay = contract.replay("TrainingJob", "success")
    replay.play(until="InProgress")
    run.wait_for_line(": InProgress")
    time.sleep(3)  # a quiet stretch of the job: a poller would ask again and again
    replay.play()
    result = run.finish()
    assert result.returncode == 0, result.stderr
    name = result.outputs["training_job_name"]
    assert [entry["responseStatus"]["code"] for entry in contract.requests("TrainingJob", "create")] == [201]
    assert len(contract.requests("TrainingJob", "get")) == 1
    assert contract.requests("TrainingJob", "list") == []
    watches = [entry["requestURI"] for entry in contract.requests("TrainingJob", "watch")]
    assert len(watches) == 1, watches  # one watch saw the whole job through
    assert f"fieldSelector=metadata.name%3D{name}" in watches[0] and "resourceVersion=" in watches[0]


def test_progress_is_one_line_per_change_with_the_console_links_once(contract: Contract) -> None:
    run = contract.start("TrainingJob", step_arguments("TrainingJob", contract.namespace, region="eu-west-1"))
    contract.replay("TrainingJob", "success").play()
    result = run.finish()
    assert result.returncode == 0, result.stderr
    [job] = contract.resources("TrainingJob")
    assert job["metadata"]["annotations"][REGION_ANNOTATION] == "eu-west-1"
    name = result.outputs["training_job_name"]
    assert f"created TrainingJob {contract.namespace}/{name} in region eu-west-1" in result.stdout
    lines = [line.split(" ", 1)[1] for line in result.stdout.splitlines()]
    assert lines.count(f"SageMaker console: https://eu-west-1.console.aws.amazon.com/sagemaker/home?region=eu-west-1#/jobs/{name}") == 1
    assert sum(line.startswith("CloudWatch logs:") for line in lines) == 1
    statuses = [line for line in lines if line.startswith(f"TrainingJob {name}: ")]
    assert len(statuses) == len(set(statuses))  # a line per change, never the same one twice
    assert statuses[-1] == f"TrainingJob {name}: Completed (Completed) synced=True"
    assert "apiVersion" not in result.stdout and "ackResourceMetadata" not in result.stdout


def test_without_a_region_the_links_follow_the_region_the_controller_recorded(contract: Contract) -> None:
    run = contract.start("Endpoint", step_arguments("Endpoint", contract.namespace))
    contract.replay("Endpoint", "success").play()
    result = run.finish()
    assert result.returncode == 0, result.stderr
    [endpoint] = contract.resources("Endpoint")
    assert REGION_ANNOTATION not in endpoint["metadata"]["annotations"]
    assert "SageMaker console: https://us-east-1.console.aws.amazon.com/sagemaker/home?region=us-east-1#/endpoints/" in result.stdout


def test_an_unexpected_failure_exits_70_with_a_reason_and_no_traceback(contract: Contract) -> None:
    step = contract.step("Model", step_arguments("Model", contract.namespace))
    blocked = Path(step.output_paths["model_name"])
    blocked.mkdir(parents=True)  # where the output file must go, a directory: writing it fails
    proc = step.start()
    contract.replay("Model", "success").play()
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 70, f"exit {proc.returncode}\n{stdout}\n{stderr}"
    assert "internal error: IsADirectoryError" in stderr
    assert "set SAGEMAKER_ACK_KFP_DEBUG=1 for the traceback, and please report it" in stderr
    assert "Traceback" not in stderr
