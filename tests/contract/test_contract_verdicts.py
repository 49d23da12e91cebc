"""Contract tests: what a step of every kind makes of the statuses the real ACK controller v1.9.1
writes (replayed from recordings, no controller running): the outputs of a successful status,
SageMaker's reason on failure, a controller that keeps retrying, and ACK.Terminal."""

from __future__ import annotations

import re
from typing import Any

import pytest

from sagemaker_ack_kfp.kinds import known_kinds, load_kind
from tests.contract.recording import scenarios
from tests.contract.scenarios import (
    COMPONENT_FAIL_REASON,
    ENDPOINT_FAIL_REASON,
    EXECUTION_FAIL_REASON,
    FAIL_REASON,
    MODEL_PACKAGE_FAIL_REASON,
    UNDECLARED_PARAMETER,
    VALIDATION_ERROR,
)
from tests.contract.stage import Contract
from tests.support.component_command import StepResult
from tests.support.manifests import step_arguments

pytestmark = pytest.mark.integration

ACCOUNT_ARN = "arn:aws:sagemaker:us-east-1:123456789012"
# The resource type in each kind's ARN.
ARN_TYPES = {
    "TrainingJob": "training-job",
    "HyperParameterTuningJob": "hyper-parameter-tuning-job",
    "Model": "model",
    "EndpointConfig": "endpoint-config",
    "Endpoint": "endpoint",
    "TransformJob": "transform-job",
    "ProcessingJob": "processing-job",
    "MonitoringSchedule": "monitoring-schedule",
    "DataQualityJobDefinition": "data-quality-job-definition",
    "ModelBiasJobDefinition": "model-bias-job-definition",
    "ModelExplainabilityJobDefinition": "model-explainability-job-definition",
    "ModelQualityJobDefinition": "model-quality-job-definition",
    "ModelPackageGroup": "model-package-group",
    "ModelPackage": "model-package",
    "InferenceComponent": "inference-component",
    "LabelingJob": "labeling-job",
    "Pipeline": "pipeline",
    "PipelineExecution": "pipeline",
}
# The names step_arguments gives the resources a step of these kinds refers to.
GROUP, ENDPOINT, PIPELINE = "group-for-contract", "endpoint-for-contract", "pipeline-for-contract"
LABEL_COUNTERS = ("totalLabeled", "humanLabeled", "machineLabeled", "failedNonRetryableError", "unlabeled")


def expected_outputs(kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    """Every output of a step that saw `obj` succeed, as each component's README documents it:
    the kind's own, then the upstream v2 component's (status fields as they are, the absent
    ones empty: `{}`, `[]` or "")."""
    upstream: dict[str, Any] = {}
    for output in load_kind(kind).outputs:
        if output.resource_name:
            upstream[output.name] = obj["spec"][load_kind(kind).name_field]
        elif output.status_field:
            empty = {"JsonObject": {}, "JsonArray": []}.get(output.type, "")
            upstream[output.name] = obj["status"].get(output.status_field, empty)
    return {**upstream, **own_outputs(kind, obj)}


def own_outputs(kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    spec, status = obj["spec"], obj["status"]
    name = spec.get(load_kind(kind).name_field, "")  # a model version in a group has none: SageMaker numbers it
    arn = f"{ACCOUNT_ARN}:{ARN_TYPES[kind]}/{name}"
    if kind == "TrainingJob":
        return {"model_artifact_url": f"s3://demo-bucket/mnist/output/{name}/output/model.tar.gz",
                "training_job_name": name, "training_job_arn": arn, "status": status,
                "final_metrics": {"debugRuleEvaluationStatuses": [], "profilerRuleEvaluationStatuses": []},
                "rule_evaluations": {}}
    if kind == "HyperParameterTuningJob":
        best = status["bestTrainingJob"]
        return {"best_training_job_name": best["trainingJobName"], "best_hyperparameters": best["tunedHyperParameters"],
                "best_objective_value": best["finalHyperParameterTuningJobObjectiveMetric"]["value"],
                "model_artifact_url": f"s3://demo-bucket/mnist/output/{best['trainingJobName']}/output/model.tar.gz",
                "hpo_job_name": name, "hpo_job_arn": arn, "status": status}
    if kind == "Model":
        return {"model_name": name, "model_arn": arn}
    if kind == "EndpointConfig":
        return {"endpoint_config_name": name, "endpoint_config_arn": arn}
    if kind == "Endpoint":
        return {"endpoint_name": name, "endpoint_arn": arn, "endpoint_config_name": "endpoint-config-for-contract",
                "status": status}
    if kind == "TransformJob":
        return {"output_location": "s3://demo-bucket/mnist/batch-out", "transform_job_name": name,
                "transform_job_arn": arn, "status": status}
    if kind == "ProcessingJob":
        return {"processing_job_name": name, "processing_job_arn": arn, "status": status,
                "outputs": {"train": "s3://demo-bucket/prep/train", "test": "s3://demo-bucket/prep/test"}}
    if kind == "MonitoringSchedule":
        return {"monitoring_schedule_name": name, "monitoring_schedule_arn": arn}
    if kind == "ModelPackageGroup":
        return {"model_package_group_name": name, "model_package_group_arn": arn}
    if kind == "ModelPackage":
        # The group's first version; registered without an approval, SageMaker's default one.
        return {"model_package_arn": f"{ACCOUNT_ARN}:model-package/{GROUP}/1", "model_package_version": "1",
                "model_package_group_name": GROUP, "model_package_name": "",
                "model_approval_status": "PendingManualApproval", "status": status}
    if kind == "InferenceComponent":
        return {"inference_component_name": name, "inference_component_arn": arn, "endpoint_name": ENDPOINT, "status": status}
    if kind == "LabelingJob":
        counters = status["labelCounters"]
        return {"output_manifest_uri": f"s3://demo-bucket/labeling/output/{name}/manifests/output/output.manifest",
                "label_counters": {counter: counters.get(counter, 0) for counter in LABEL_COUNTERS},
                "labeling_job_name": name, "labeling_job_arn": arn, "final_active_learning_model_arn": "", "status": status}
    if kind == "Pipeline":
        return {"pipeline_name": name, "pipeline_arn": arn}
    if kind == "PipelineExecution":
        # SageMaker gives the execution an id under its pipeline's ARN.
        execution_arn = status["ackResourceMetadata"]["arn"]
        assert re.fullmatch(rf"{re.escape(ACCOUNT_ARN)}:pipeline/{PIPELINE}/execution/[a-z0-9]+", execution_arn), execution_arn
        return {"pipeline_execution_arn": execution_arn, "pipeline_name": PIPELINE,
                "pipeline_execution_display_name": name, "status": status}
    return {"job_definition_name": name, "job_definition_arn": arn}


def outputs_as_values(result: StepResult, expected: dict[str, Any]) -> dict[str, Any]:
    """The output files, JSON ones parsed, numbers as numbers, for comparing with `expected`."""
    values: dict[str, Any] = {}
    for name, text in result.outputs.items():
        if isinstance(expected.get(name), (dict, list)):
            values[name] = result.output_json(name)
        elif isinstance(expected.get(name), float):
            values[name] = float(text)
        else:
            values[name] = text
    return values


def run_replayed(contract: Contract, kind: str, scenario: str, **extra: Any) -> tuple[StepResult, dict[str, Any] | None]:
    run = contract.start(kind, step_arguments(kind, contract.namespace, **extra))
    replay = contract.replay(kind, scenario)
    live = replay.play()
    return run.finish(timeout=120), live


def failed_with(result: StepResult, *fragments: str) -> None:
    assert result.returncode == 1, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert result.outputs == {}  # outputs are written on success only


def test_every_kind_with_a_component_has_recordings() -> None:
    for kind in known_kinds():
        assert {"success", "recoverable"} <= set(scenarios(kind)), kind
    assert set(ARN_TYPES) == set(known_kinds())


@pytest.mark.parametrize("kind", sorted(ARN_TYPES))
def test_outputs_of_a_successful_status(contract: Contract, kind: str) -> None:
    result, live = run_replayed(contract, kind, "success")
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert live is not None
    expected = expected_outputs(kind, live)
    assert outputs_as_values(result, expected) == expected
    assert f"{kind} done; outputs written: {', '.join(sorted(expected))}" in result.stdout
    [resource] = contract.resources(kind)
    assert resource["metadata"]["uid"] == live["metadata"]["uid"]


@pytest.mark.parametrize(
    "kind", ["TrainingJob", "HyperParameterTuningJob", "TransformJob", "ProcessingJob", "MonitoringSchedule", "LabelingJob"])
def test_a_failed_job_exits_1_with_sagemakers_reason(contract: Contract, kind: str) -> None:
    """The failureReason comes from the resource's own sim/fail-reason tag, as with the simulator."""
    reason = f"ClientError: contract failure of {kind}"
    result, _ = run_replayed(contract, kind, "failure", tags=[{"key": "sim/fail-reason", "value": reason}])
    failed_with(result, f"{kind} {contract.namespace}/", f" failed: Failed: {reason}")
    assert FAIL_REASON not in result.stderr


def test_a_failed_endpoint_exits_1_with_sagemakers_reason(contract: Contract) -> None:
    result, _ = run_replayed(contract, "Endpoint", "failure")
    failed_with(result, f"failed: endpoint Failed: {ENDPOINT_FAIL_REASON}")


def test_a_failed_model_version_exits_1_with_sagemakers_validation_reason(contract: Contract) -> None:
    """A Failed package's reason is in its validation statuses, not in ACK's Terminal message."""
    reason = "Transform job failed: ClientError: contract failure of the validation"
    result, _ = run_replayed(contract, "ModelPackage", "failure", tags=[{"key": "sim/fail-reason", "value": reason}])
    failed_with(result, f"failed: model package Failed: validation {GROUP}/1: {reason}")
    assert MODEL_PACKAGE_FAIL_REASON not in result.stderr


def test_an_inference_component_of_a_failing_model_exits_1_with_sagemakers_reason(contract: Contract) -> None:
    """The reason is the model's (its sim/fail-reason tag when recorded), not in the step's spec."""
    result, _ = run_replayed(contract, "InferenceComponent", "failure")
    failed_with(result, f"failed: inference component Failed: {COMPONENT_FAIL_REASON}")


def test_a_failed_pipeline_execution_exits_1_with_sagemakers_reason(contract: Contract) -> None:
    """The reason is the failed pipeline step's (its pipeline's sim/fail-reason tag when recorded)."""
    result, _ = run_replayed(contract, "PipelineExecution", "failure")
    failed_with(result, f"PipelineExecution {contract.namespace}/", f" failed: Failed: {EXECUTION_FAIL_REASON}")


def rejected(kind: str) -> tuple[dict[str, Any], str, str]:
    """Inputs SageMaker rejects with a ValidationException, the message, and the recorded one. An
    execution takes no tags: its rejection is a parameter the pipeline does not declare."""
    if kind == "PipelineExecution":
        parameter = "ContractOnlyParameter"
        return ({"pipeline_parameters": [{"name": parameter, "value": "3"}]},
                f"Pipeline parameter(s) ['{parameter}'] are not defined in the pipeline definition.", UNDECLARED_PARAMETER)
    message = f"Invalid ResourceConfig: contract rejection of {kind}"
    return {"tags": [{"key": "sim/validation-error", "value": message}]}, message, VALIDATION_ERROR


@pytest.mark.parametrize("kind", sorted(ARN_TYPES))
def test_a_controller_that_keeps_retrying_fails_the_step_with_its_message(contract: Contract, kind: str) -> None:
    inputs, message, recorded = rejected(kind)
    result, _ = run_replayed(contract, kind, "recoverable", **inputs, recoverable_grace_seconds=2)
    failed_with(result, "the controller kept retrying for 2s (ACK.Recoverable)", message)
    assert recorded not in result.stderr
    assert f"the controller is retrying: api error ValidationException: {message}" in result.stdout


@pytest.mark.parametrize(
    ("kind", "explained"),
    [("TrainingJob", "ACK.Terminal: only Warm Pool or Profiler can be updated. This step changed nothing"),
     ("HyperParameterTuningJob", "This step changed nothing: ACK cannot update a tuning job")],
)
def test_a_terminal_resource_fails_the_step_with_the_explanation(contract: Contract, kind: str, explained: str) -> None:
    result, _ = run_replayed(contract, kind, "terminal")
    failed_with(result, explained, "keeps running, but the resource no longer follows it")
