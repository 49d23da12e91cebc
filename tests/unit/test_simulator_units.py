"""Unit tests of the simulator's building blocks, without HTTP."""

from __future__ import annotations

import json
import math
import urllib.error
import urllib.request
from typing import Any

import pytest

from sagemaker_ack_kfp.simulator import SimulatorConfig, SimulatorState, running_simulator
from sagemaker_ack_kfp.simulator import injection, kinds, sagemaker, sampling
from sagemaker_ack_kfp.simulator.cli import format_table
from sagemaker_ack_kfp.simulator.errors import ApiError
from sagemaker_ack_kfp.simulator.redact import MASK, redact
from sagemaker_ack_kfp.simulator.server import _subject
from sagemaker_ack_kfp.simulator.sts import action
from sagemaker_ack_kfp.simulator.timeline import Step, Timeline
from sagemaker_ack_kfp.simulator.validation import check_create
from tests.support.cluster import wait_for


class Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def call(state: SimulatorState, operation: str, **body: Any) -> dict[str, Any]:
    return sagemaker.handle(state, f"SageMaker.{operation}", json.dumps(body).encode(), "us-east-1")


# Timeline ----------------------------------------------------------------------------

def test_timeline_folds_reached_changes_and_removes_none() -> None:
    timeline = Timeline([
        Step(0, "Creating", changes={"A": 1, "B": 2}),
        Step(10, "InService", changes={"B": None, "C": 3}),
    ])
    assert timeline.current(5).status == "Creating"
    assert timeline.fields(5) == {"A": 1, "B": 2}
    assert timeline.current(10).status == "InService"
    assert timeline.fields(10) == {"A": 1, "C": 3}


def test_timeline_replace_future_keeps_only_the_past() -> None:
    timeline = Timeline([Step(0, "InProgress"), Step(10, "Completed")])
    timeline.replace_future(4, [Step(4, "Stopping"), Step(5, "Stopped")])
    assert [s.status for s in timeline.steps] == ["InProgress", "Stopping", "Stopped"]
    assert timeline.current(4.5).status == "Stopping"
    assert timeline.current(99).status == "Stopped"


def test_timeline_effect_runs_once_when_its_step_is_first_observed() -> None:
    ran: list[float] = []

    def effect(step: Step) -> None:
        ran.append(step.at)

    timeline = Timeline([Step(0, "InProgress"), Step(10, "InProgress", "Uploading", effect=effect), Step(20, "Completed")])
    timeline.settle(5)
    assert ran == [] and timeline.current(5).status == "InProgress"
    timeline.settle(25)  # first observed long after both steps: the effect still runs first, once
    timeline.settle(30)
    assert ran == [10]
    assert timeline.current(30).status == "Completed"


def test_timeline_effect_can_rewrite_the_future() -> None:
    def fail(step: Step) -> list[Step]:
        return [step, Step(step.at + 1, "Failed", changes={"FailureReason": "no data"})]

    timeline = Timeline([Step(0, "InProgress"), Step(10, "InProgress", "Downloading", effect=fail), Step(50, "Completed")])
    timeline.settle(100)
    assert [s.status for s in timeline.steps] == ["InProgress", "InProgress", "Failed"]
    assert timeline.current(100).status == "Failed" and timeline.fields(100) == {"FailureReason": "no data"}
    assert timeline.settled == 3 and all(s.effect is None for s in timeline.steps)


def test_timeline_step_with_a_failed_effect_is_not_reported_until_it_succeeds() -> None:
    attempts = []

    def flaky(step: Step) -> None:
        attempts.append(step.at)
        if len(attempts) == 1:
            raise ConnectionError("store down")

    timeline = Timeline([Step(0, "InProgress"), Step(10, "Completed", effect=flaky)])
    with pytest.raises(ConnectionError):
        timeline.settle(15)
    assert timeline.current(15).status == "InProgress"  # the transition waits for its effect
    timeline.settle(16)
    assert timeline.current(16).status == "Completed" and attempts == [10, 10]


def test_timeline_replace_future_drops_effects_not_yet_reached() -> None:
    ran = []
    timeline = Timeline([Step(0, "InProgress"), Step(10, "Completed", effect=lambda step: ran.append(step))])
    timeline.settle(4)
    timeline.replace_future(4, [Step(4, "Stopping"), Step(5, "Stopped")])
    timeline.settle(99)
    assert ran == [] and timeline.current(99).status == "Stopped"


# Request log -------------------------------------------------------------------------

@pytest.mark.parametrize("target, body, expected", [
    # The operation's own kind names the subject, even when another kind's name comes first.
    ("SageMaker.CreateTransformJob", {"ModelName": "the-model", "TransformJobName": "the-job"}, " the-job"),
    ("SageMaker.CreateEndpoint", {"EndpointConfigName": "cfg", "EndpointName": "ep"}, " ep"),
    ("SageMaker.DescribeEndpointConfig", {"EndpointConfigName": "cfg"}, " cfg"),
    ("SageMaker.CreateEndpointConfig", {"ProductionVariants": [{"ModelName": "m"}], "EndpointConfigName": "cfg"}, " cfg"),
    ("SageMaker.ListTrainingJobsForHyperParameterTuningJob", {"HyperParameterTuningJobName": "hpo"}, " hpo"),
    ("SageMaker.CreateDataQualityJobDefinition", {"JobDefinitionName": "dq"}, " dq"),
    ("SageMaker.AddTags", {"ResourceArn": "arn:x", "Tags": []}, " arn:x"),
    ("SageMaker.CreateTrainingJob", {"RoleArn": "r"}, ""),
    ("", b"not json", ""),
])
def test_request_log_names_the_operations_own_resource(target: str, body: Any, expected: str) -> None:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    assert _subject(target, raw) == expected


def both_lines(caplog: pytest.LogCaptureFixture) -> list[str] | None:
    lines = [record.getMessage() for record in caplog.records if "DescribeModel" in record.getMessage()]
    return lines if len(lines) >= 2 else None


def test_request_log_names_the_connection_and_marks_sdk_retries(caplog: pytest.LogCaptureFixture) -> None:
    """A retry after an answered attempt (a Create sent twice) must be visible in the log."""
    def describe(sim_url: str, attempt: str) -> None:
        request = urllib.request.Request(sim_url, data=json.dumps({"ModelName": "m"}).encode(), headers={
            "X-Amz-Target": "SageMaker.DescribeModel", "Content-Type": "application/x-amz-json-1.1",
            "amz-sdk-request": attempt})
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(request, timeout=10)

    caplog.set_level("INFO", logger="sagemaker_ack_kfp.simulator")
    with running_simulator() as server:
        describe(server.url, "attempt=1; max=3")
        describe(server.url, "attempt=2; max=3")
        # The handler logs after it answered, so its line may come a moment after the answer.
        lines = wait_for(lambda: both_lines(caplog), timeout=5, interval=0.02, what="two DescribeModel log lines")
    first, retry = lines
    assert first.startswith("127.0.0.1:") and first.split()[0].split(":")[1].isdigit(), first
    assert first.endswith("-> 400 (" + first.rsplit("(", 1)[1]) and "attempt" not in first, first
    assert retry.endswith("ms) [attempt=2; max=3]"), retry


# Deterministic outputs ------------------------------------------------------------------

def test_tuned_hyperparameters_are_reproducible_and_in_range() -> None:
    ranges = {
        "IntegerParameterRanges": [{"Name": "depth", "MinValue": "3", "MaxValue": "7"}],
        "ContinuousParameterRanges": [
            {"Name": "lr", "MinValue": "0.0001", "MaxValue": "0.1", "ScalingType": "Logarithmic"}],
        "CategoricalParameterRanges": [{"Name": "opt", "Values": ["adam", "sgd"]}],
    }
    samples = [sampling.tuned_hyperparameters(ranges, "arn", i) for i in range(50)]
    assert samples == [sampling.tuned_hyperparameters(ranges, "arn", i) for i in range(50)]
    assert all(3 <= int(s["depth"]) <= 7 for s in samples)
    assert all(0.0001 <= float(s["lr"]) <= 0.1 for s in samples)
    assert {s["opt"] for s in samples} == {"adam", "sgd"}
    # Log scaling puts about as many samples below 0.00316 (the geometric midpoint) as above.
    below = sum(float(s["lr"]) < math.sqrt(0.0001 * 0.1) for s in samples)
    assert 10 <= below <= 40


def test_metric_values_depend_only_on_name_and_hyperparameters() -> None:
    a = sampling.metric_value("validation:auc", {"x": "1"})
    assert a == sampling.metric_value("validation:auc", {"x": "1"})
    assert a != sampling.metric_value("validation:auc", {"x": "2"})
    assert 0.70 <= a <= 0.99
    assert 0.05 <= sampling.metric_value("validation:rmse", {"x": "1"}) <= 0.5


def test_metric_names() -> None:
    assert sampling.metric_names({}) == ["train:loss"]
    assert sampling.metric_names({"HyperParameters": {"eval_metric": "rmse"}}, "validation:rmse") == [
        "train:rmse", "validation:rmse"]
    spec = {"AlgorithmSpecification": {"MetricDefinitions": [{"Name": "acc", "Regex": "."}]}}
    assert sampling.metric_names(spec, "f1") == ["acc", "f1"]


# Injection, validation, identity ----------------------------------------------------------

def test_injection_tags() -> None:
    tags = injection.tags_to_dict([
        {"Key": "sim/fail-reason", "Value": "boom"}, {"Key": "sim/throttle-next", "Value": "3"},
        {"Key": "sim/phase-seconds", "Value": "0.5"}, {"Key": "team", "Value": "a"}])
    parsed = injection.parse(tags)
    assert (parsed.fail_reason, parsed.throttle_next, parsed.phase_seconds, parsed.validation_error) == (
        "boom", 3, 0.5, None)
    assert injection.inherited(tags) == {"sim/fail-reason": "boom", "sim/phase-seconds": "0.5", "team": "a"}
    for bad in ({"sim/phase-seconds": "0"}, {"sim/phase-seconds": "inf"}, {"sim/throttle-next": "x"}):
        with pytest.raises(ApiError) as caught:
            injection.parse(bad)
        assert caught.value.code == "ValidationException"
    with pytest.raises(ApiError):
        injection.tags_to_dict([{"Value": "no key"}])


def test_validation_lists_every_problem() -> None:
    with pytest.raises(ApiError) as caught:
        check_create({"TrainingJobName": "-bad"}, kinds.TRAINING_JOB, ["TrainingJobName", "RoleArn"])
    assert caught.value.message == (
        "2 validation errors detected: Value null at 'roleArn' failed to satisfy constraint: Member must not be "
        "null; Value '-bad' at 'trainingJobName' failed to satisfy constraint: Member must satisfy regular "
        "expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}")


def test_kind_identity() -> None:
    assert kinds.ENDPOINT_CONFIG.arn("eu-west-1", "1", "My-Cfg") == "arn:aws:sagemaker:eu-west-1:1:endpoint-config/my-cfg"
    assert kinds.MODEL.matches_name("a-b") and not kinds.MODEL.matches_name("a_b")
    assert not kinds.TUNING_JOB.matches_name("x" * 33)
    assert len(kinds.ALL_KINDS) == len(kinds.BY_KIND) == 18


def test_redact_hides_environment_and_secret_keys_at_any_depth() -> None:
    body = {"Environment": {"K": "v"}, "Containers": [{"Environment": {"K": "v"}, "Image": "img"}],
            "HyperParameters": {"db_password": "p", "depth": "3"}}
    assert redact(body) == {"Environment": MASK, "Containers": [{"Environment": MASK, "Image": "img"}],
                            "HyperParameters": {"db_password": MASK, "depth": "3"}}


def test_sts_action_parsing() -> None:
    assert action(b"Action=GetCallerIdentity&Version=2011-06-15") == "GetCallerIdentity"
    assert action(b'{"TrainingJobName": "x"}') is None


# Dispatcher, with a manual clock ---------------------------------------------------------

def test_deleted_endpoint_disappears_once_its_time_has_come() -> None:
    clock = Clock()
    state = SimulatorState(SimulatorConfig(phase_seconds=2.0, clock=clock))
    call(state, "CreateModel", ModelName="m")
    call(state, "CreateEndpointConfig", EndpointConfigName="c",
         ProductionVariants=[{"VariantName": "v", "ModelName": "m"}])
    call(state, "CreateEndpoint", EndpointName="e", EndpointConfigName="c")
    clock.now += 4.0
    call(state, "DeleteEndpoint", EndpointName="e")
    call(state, "DeleteEndpoint", EndpointName="e")  # repeating a delete is harmless
    clock.now += 1.9
    assert call(state, "DescribeEndpoint", EndpointName="e")["EndpointStatus"] == "Deleting"
    clock.now += 0.2
    with pytest.raises(ApiError) as caught:
        call(state, "DescribeEndpoint", EndpointName="e")
    assert caught.value.message.startswith("Could not find endpoint")
    assert list(state.resources("Endpoint")) == []


def test_dispatcher_rejects_bad_requests() -> None:
    state = SimulatorState()
    with pytest.raises(ApiError) as caught:
        sagemaker.handle(state, "SageMaker.DescribeModel", b"{not json", "us-east-1")
    assert caught.value.code == "SerializationException"
    with pytest.raises(ApiError) as caught:
        sagemaker.handle(state, "Kinesis_20131202.ListStreams", b"{}", "us-east-1")
    assert caught.value.code == "UnknownOperationException"
    assert state.calls == {"DescribeModel": 1, "Kinesis_20131202.ListStreams": 1}


def test_internal_errors_become_500(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(call: Any, body: Any) -> Any:
        raise RuntimeError("bug")

    monkeypatch.setitem(sagemaker.OPERATIONS, "DescribeModel", broken)
    with running_simulator() as server:
        request = urllib.request.Request(server.url, data=b"{}", method="POST",
                                         headers={"X-Amz-Target": "SageMaker.DescribeModel"})
        with pytest.raises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(request, timeout=5)
    assert caught.value.code == 500
    assert json.loads(caught.value.read())["__type"] == "InternalFailure"


def test_format_table() -> None:
    table = format_table({
        "TrainingJob": [{"name": "job-1", "status": "Completed", "parent": "hpo", "created": 0}],
        "Model": [{"name": "m", "status": None, "parent": None, "created": 86400}],
    })
    assert table.splitlines() == [
        "KIND         NAME   STATUS     PARENT  CREATED",
        "TrainingJob  job-1  Completed  hpo     1970-01-01T00:00:00Z",
        "Model        m      -          -       1970-01-02T00:00:00Z",
    ]
