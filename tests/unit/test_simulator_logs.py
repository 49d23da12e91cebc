"""The simulator's CloudWatch Logs endpoint, driven through the real AWS SDK on a manual clock:
SageMaker's group and stream names, lines that follow the job's timeline (and parse with its
metric definitions), GetLogEvents' token semantics, and injected throttling and AccessDenied."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from sagemaker_ack_kfp.simulator import SimulatorConfig, SimulatorServer, running_simulator
from sagemaker_ack_kfp.simulator.metric_lines import invert, metric_line, parses_to
from tests.unit.test_simulator import (
    ManualClock,
    client,
    create_model,
    error_of,
    processing_request,
    sim_get,
    sim_post,
    sim_tags,
    training_request,
    transform_request,
    tuning_request,
)

TRAINING = "/aws/sagemaker/TrainingJobs"
PHASE = 10.0  # seconds: a training job starts its container at 2 phases and completes at 5


@pytest.fixture
def sim(clock: ManualClock) -> Iterator[SimulatorServer]:
    with running_simulator(config=SimulatorConfig(phase_seconds=PHASE, clock=clock)) as server:
        yield server


@pytest.fixture
def logs(sim: SimulatorServer) -> Any:
    return client(sim, "logs")


def stream_names(logs: Any, group: str, prefix: str) -> list[str]:
    return [s["logStreamName"] for s in logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=prefix)["logStreams"]]


def read_all(logs: Any, group: str, stream: str) -> list[str]:
    """Every line of a stream, following forward tokens until the token comes back unchanged."""
    lines: list[str] = []
    token = None
    while True:
        kwargs = {"nextToken": token} if token else {}
        page = logs.get_log_events(logGroupName=group, logStreamName=stream, startFromHead=True, **kwargs)
        lines += [event["message"] for event in page["events"]]
        if page["nextForwardToken"] == token:
            return lines
        token = page["nextForwardToken"]


def test_training_job_streams_per_instance_appear_when_its_container_starts(
    sm: Any, logs: Any, clock: ManualClock
) -> None:
    resources = {"InstanceType": "ml.m5.large", "InstanceCount": 2, "VolumeSizeInGB": 5}
    sm.create_training_job(**training_request("two-hosts", ResourceConfig=resources))
    error = error_of(logs.describe_log_streams, logGroupName=TRAINING, logStreamNamePrefix="two-hosts/")
    assert error["Code"] == "ResourceNotFoundException"  # a fresh account: nothing has written the group yet
    clock.advance(2 * PHASE - 0.1)
    assert sm.describe_training_job(TrainingJobName="two-hosts")["SecondaryStatus"] == "Downloading"
    assert error_of(logs.describe_log_streams, logGroupName=TRAINING)["Code"] == "ResourceNotFoundException"
    clock.advance(0.1)
    started = int(clock.now)
    assert sm.describe_training_job(TrainingJobName="two-hosts")["SecondaryStatus"] == "Training"
    assert stream_names(logs, TRAINING, "two-hosts/") == [f"two-hosts/algo-1-{started}", f"two-hosts/algo-2-{started}"]
    stream = logs.describe_log_streams(logGroupName=TRAINING, logStreamNamePrefix="two-hosts/")["logStreams"][0]
    assert stream["arn"] == f"arn:aws:logs:us-east-1:123456789012:log-group:{TRAINING}:log-stream:two-hosts/algo-1-{started}"
    assert stream["creationTime"] == started * 1000
    assert read_all(logs, TRAINING, f"two-hosts/algo-1-{started}") == ["Docker entrypoint called with argument(s): train"]


def test_lines_follow_the_timeline_and_end_with_the_outcome(sm: Any, logs: Any, clock: ManualClock) -> None:
    sm.create_training_job(**training_request("lines"))
    clock.advance(3 * PHASE)
    stream = stream_names(logs, TRAINING, "lines/")[0]
    midway = read_all(logs, TRAINING, stream)
    assert midway[:3] == [
        "Docker entrypoint called with argument(s): train",
        "Running default environment configuration script",
        f"Training image: {training_request('x')['AlgorithmSpecification']['TrainingImage']}",
    ]
    assert 'Hyperparameters: {"eval_metric": "auc", "max_depth": "5"}' in midway
    assert "Reporting training SUCCESS" not in midway
    clock.advance(2 * PHASE)
    assert sm.describe_training_job(TrainingJobName="lines")["TrainingJobStatus"] == "Completed"
    done = read_all(logs, TRAINING, stream)
    assert done[: len(midway)] == midway  # lines written never change
    assert done[-2:] == ["Saving the model to /opt/ml/model", "Reporting training SUCCESS"]
    assert read_all(logs, TRAINING, stream) == done  # the same answer whenever asked


def test_metric_lines_parse_with_the_jobs_metric_definitions_and_end_on_the_final_value(
    sm: Any, logs: Any, clock: ManualClock
) -> None:
    definitions = [
        {"Name": "train:loss", "Regex": r"loss: ([0-9\.]+)"},
        {"Name": "validation:accuracy", "Regex": r"^.*val_acc=(\d+\.\d+)$"},
    ]
    algorithm = {"TrainingImage": "img", "TrainingInputMode": "File", "MetricDefinitions": definitions}
    sm.create_training_job(**training_request("metrics", AlgorithmSpecification=algorithm,
                                              HyperParameters={"epochs": "4"}))
    clock.advance(5 * PHASE)
    final = {m["MetricName"]: m["Value"] for m in sm.describe_training_job(TrainingJobName="metrics")["FinalMetricDataList"]}
    lines = read_all(logs, TRAINING, stream_names(logs, TRAINING, "metrics/")[0])
    for definition in definitions:
        values = [float(found.group(1)) for line in lines if (found := re.search(definition["Regex"], line))]
        assert len(values) == 5  # four epochs and the final line
        assert values[-1] == pytest.approx(final[definition["Name"]])
    losses = [float(m.group(1)) for line in lines if (m := re.search(r"loss: ([0-9\.]+)", line))]
    assert losses == sorted(losses, reverse=True)  # a loss goes down


def test_builtin_metric_lines_parse_with_the_definitions_a_tuning_job_reports(sm: Any, logs: Any, clock: ManualClock) -> None:
    sm.create_hyper_parameter_tuning_job(**tuning_request("hpo", total=2, parallel=2))
    clock.advance(5 * PHASE)
    described = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="hpo")
    [regex] = [d["Regex"] for d in described["TrainingJobDefinition"]["AlgorithmSpecification"]["MetricDefinitions"]
               if d["Name"] == "validation:auc"]
    best = described["BestTrainingJob"]
    streams = stream_names(logs, TRAINING, "hpo-")
    assert len(streams) == 2 and all(re.fullmatch(r"hpo-00[12]-[0-9a-f]{8}/algo-1-\d+", s) for s in streams)
    lines = read_all(logs, TRAINING, next(s for s in streams if s.startswith(best["TrainingJobName"] + "/")))
    values = [float(found.group(1)) for line in lines if (found := re.search(regex, line))]
    assert values[-1] == pytest.approx(best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"])


def test_failed_and_stopped_jobs_end_their_streams_accordingly(sm: Any, logs: Any, clock: ManualClock) -> None:
    sm.create_training_job(**training_request("fails", Tags=sim_tags(fail_reason="AlgorithmError: out of memory")))
    sm.create_training_job(**training_request("stopped"))
    clock.advance(2.5 * PHASE)
    before = read_all(logs, TRAINING, stream_names(logs, TRAINING, "stopped/")[0])
    sm.stop_training_job(TrainingJobName="stopped")
    clock.advance(5 * PHASE)
    failed = read_all(logs, TRAINING, stream_names(logs, TRAINING, "fails/")[0])
    assert failed[-2:] == ["ERROR: AlgorithmError: out of memory", "Reporting training FAILURE"]
    stopped = read_all(logs, TRAINING, stream_names(logs, TRAINING, "stopped/")[0])
    assert stopped[: len(before)] == before
    assert stopped[len(before):] == ["Received SIGTERM: the job was stopped; shutting down"]


def test_processing_and_transform_jobs_write_their_own_groups(sm: Any, logs: Any, clock: ManualClock) -> None:
    create_model(sm)
    sm.create_processing_job(**processing_request("prep"))
    sm.create_transform_job(**transform_request("batch"))
    clock.advance(3 * PHASE)
    [processing] = stream_names(logs, "/aws/sagemaker/ProcessingJobs", "prep/")
    assert re.fullmatch(r"prep/algo-1-\d+", processing)
    lines = read_all(logs, "/aws/sagemaker/ProcessingJobs", processing)
    assert lines[-2:] == ["Output out: /opt/ml/processing/out -> s3://bucket/processed", "Processing complete"]
    transform = stream_names(logs, "/aws/sagemaker/TransformJobs", "batch/")
    assert len(transform) == 2 and re.fullmatch(r"batch/i-[0-9a-f]{17}-\d+", transform[0])
    assert transform[1] == f"{transform[0]}/data-log"
    assert read_all(logs, "/aws/sagemaker/TransformJobs", transform[1])[-1] == "Batch transform complete"


def test_get_log_events_tokens(sm: Any, logs: Any, clock: ManualClock) -> None:
    sm.create_training_job(**training_request("tokens"))
    clock.advance(2.5 * PHASE)
    stream = stream_names(logs, TRAINING, "tokens/")[0]
    first = logs.get_log_events(logGroupName=TRAINING, logStreamName=stream, startFromHead=True, limit=2)
    assert len(first["events"]) == 2
    rest = logs.get_log_events(logGroupName=TRAINING, logStreamName=stream, nextToken=first["nextForwardToken"])
    at_end = logs.get_log_events(logGroupName=TRAINING, logStreamName=stream, nextToken=rest["nextForwardToken"])
    assert at_end["events"] == [] and at_end["nextForwardToken"] == rest["nextForwardToken"]
    clock.advance(2 * PHASE)
    later = logs.get_log_events(logGroupName=TRAINING, logStreamName=stream, nextToken=rest["nextForwardToken"])
    everything = [e["message"] for e in (first["events"] + rest["events"] + later["events"])]
    assert everything == read_all(logs, TRAINING, stream)  # nothing skipped, nothing twice
    back = logs.get_log_events(logGroupName=TRAINING, logStreamName=stream, nextToken=later["nextBackwardToken"], limit=3)
    assert [e["message"] for e in back["events"]] == everything[-len(later["events"]) - 3:-len(later["events"])]
    tail = logs.get_log_events(logGroupName=TRAINING, logStreamName=stream, limit=1)  # startFromHead defaults to false
    assert [e["message"] for e in tail["events"]] == everything[-1:]
    assert error_of(logs.get_log_events, logGroupName=TRAINING, logStreamName=stream, nextToken="nope")["Code"] == "InvalidParameterException"
    assert error_of(logs.get_log_events, logGroupName=TRAINING, logStreamName="tokens/algo-9-1")["Code"] == "ResourceNotFoundException"


def test_describe_log_streams_pages_and_orders(sm: Any, logs: Any, clock: ManualClock) -> None:
    resources = {"InstanceType": "ml.m5.large", "InstanceCount": 3, "VolumeSizeInGB": 5}
    sm.create_training_job(**training_request("paged", ResourceConfig=resources))
    clock.advance(2 * PHASE)
    first = logs.describe_log_streams(logGroupName=TRAINING, logStreamNamePrefix="paged/", limit=2)
    second = logs.describe_log_streams(logGroupName=TRAINING, logStreamNamePrefix="paged/", limit=2, nextToken=first["nextToken"])
    assert "nextToken" not in second
    names = [s["logStreamName"] for s in first["logStreams"] + second["logStreams"]]
    assert [n.split("/")[1].rsplit("-", 1)[0] for n in names] == ["algo-1", "algo-2", "algo-3"]
    descending = logs.describe_log_streams(logGroupIdentifier=f"arn:aws:logs:us-east-1:123456789012:log-group:{TRAINING}",
                                           logStreamNamePrefix="paged/", descending=True)
    assert [s["logStreamName"] for s in descending["logStreams"]] == names[::-1]
    error = error_of(logs.describe_log_streams, logGroupName=TRAINING, logStreamNamePrefix="paged/", orderBy="LastEventTime")
    assert error == {"Code": "InvalidParameterException", "Message": "Cannot order by LastEventTime with a logStreamNamePrefix."}


def test_throttling_by_tag_and_by_control_touches_only_logs_calls(
    sim: SimulatorServer, sm: Any, logs: Any, clock: ManualClock
) -> None:
    sm.create_training_job(**training_request("slow-logs", Tags=[{"Key": "sim/logs-throttle-next", "Value": "2"}]))
    sm.create_training_job(**training_request("other"))
    clock.advance(2 * PHASE)
    for _ in range(2):
        assert error_of(logs.describe_log_streams, logGroupName=TRAINING, logStreamNamePrefix="slow-logs/")["Code"] == "ThrottlingException"
    assert stream_names(logs, TRAINING, "other/")  # another job's logs are not throttled
    assert stream_names(logs, TRAINING, "slow-logs/")
    sm.describe_training_job(TrainingJobName="slow-logs")  # SageMaker calls never were

    stream, other = stream_names(logs, TRAINING, "slow-logs/")[0], stream_names(logs, TRAINING, "other/")[0]
    assert sim_post(sim, "/_sim/logs/throttle", {"count": 1, "job": "other"}) == {"job": "other", "pending_throttles": 1}
    assert read_all(logs, TRAINING, stream)
    assert error_of(logs.get_log_events, logGroupName=TRAINING, logStreamName=other)["Code"] == "ThrottlingException"
    assert read_all(logs, TRAINING, other)
    sim_post(sim, "/_sim/logs/throttle", {"count": 1})
    assert error_of(logs.get_log_events, logGroupName=TRAINING, logStreamName=stream)["Code"] == "ThrottlingException"
    sm.describe_training_job(TrainingJobName="other")
    sim_post(sim, "/_sim/throttle", {"count": 1})  # SageMaker throttling leaves Logs calls alone
    assert read_all(logs, TRAINING, stream)
    assert error_of(sm.describe_training_job, TrainingJobName="other")["Code"] == "ThrottlingException"
    calls = sim_get(sim, "/_sim/calls")
    assert calls["throttled"]["DescribeLogStreams"] == 2 and calls["throttled"]["GetLogEvents"] == 2


def test_access_denied_by_tag_and_by_control_names_action_and_resource(
    sim: SimulatorServer, sm: Any, logs: Any, clock: ManualClock
) -> None:
    sm.create_training_job(**training_request("secret-logs", Tags=[{"Key": "sim/logs-access-denied", "Value": "GetLogEvents"}]))
    clock.advance(2 * PHASE)
    [stream] = stream_names(logs, TRAINING, "secret-logs/")  # DescribeLogStreams is still allowed
    error = error_of(logs.get_log_events, logGroupName=TRAINING, logStreamName=stream, startFromHead=True)
    assert error["Code"] == "AccessDeniedException"
    assert error["Message"] == (
        "User: arn:aws:sts::123456789012:assumed-role/sagemaker-simulator/step is not authorized to perform: "
        f"logs:GetLogEvents on resource: arn:aws:logs:us-east-1:123456789012:log-group:{TRAINING}:log-stream:{stream} "
        "because no identity-based policy allows the logs:GetLogEvents action"
    )
    sim_post(sim, "/_sim/logs/deny", {"operations": ["DescribeLogStreams"]})
    assert error_of(logs.describe_log_streams, logGroupName=TRAINING)["Code"] == "AccessDeniedException"
    sim_post(sim, "/_sim/logs/deny", {"operations": []})
    assert stream_names(logs, TRAINING, "secret-logs/") == [stream]
    with pytest.raises(Exception, match="400"):
        sim_post(sim, "/_sim/logs/deny", {"operations": ["PutLogEvents"]})


def test_unknown_logs_operation_is_reported(logs: Any) -> None:
    error = error_of(logs.describe_log_groups)
    assert error["Code"] == "UnknownOperationException"


# ----- metric lines from regexes, without HTTP ---------------------------------------------


@pytest.mark.parametrize("regex", [
    r"train:loss=([0-9\.]+)",
    r"Validation-accuracy=(\d+\.\d+)",
    r".*\[\d+\]\s+validation-rmse:(\S+)",
    r"^epoch \d+ .*?acc: ([0-9.]+)$",
    r"loss (?P<v>[\d.e-]+)",
    r"[^a-z]+ acc=([0-9.]+)",
    r"(?:mse|mae)\s*[:=]\s*([-+]?[0-9]*\.?[0-9]+)",
])
def test_a_line_is_built_for_each_regex_and_reads_back_the_value(regex: str) -> None:
    line = metric_line({"Name": "m", "Regex": regex}, "m", 0.123456, host="algo-1", where="epoch=3")
    assert parses_to(regex, line, 0.123456), line


def test_a_regex_that_cannot_hold_the_value_falls_back_to_the_builtin_style() -> None:
    assert invert(r"count=(\d+)", "0.5") == "count=0.5"  # inverted, but it would not parse back
    line = metric_line({"Name": "train:count", "Regex": r"count=(\d+)"}, "train:count", 0.5, host="algo-1", where="epoch=1")
    assert line == "#quality_metric: host=algo-1, epoch=1, train count <score>=0.500000"
    assert invert(r"(a)\1=(\d)", "1") is None  # a back-reference cannot be inverted
