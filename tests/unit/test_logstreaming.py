"""Streaming a job's CloudWatch logs into the step's output: the follower's logic on a scripted
API (order, nothing twice or lost across failures, backoff, giving up, draining), the decision
to stream (stream_logs and the credentials in sight), botocore's errors as the follower sees
them, and the whole chain against the simulator's Logs endpoint."""

from __future__ import annotations

import io
import re
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from sagemaker_ack_kfp import logfollower, logstreaming
from sagemaker_ack_kfp.errors import InputError
from sagemaker_ack_kfp.logfollower import Event, Follower, LogsError, Page, Target
from sagemaker_ack_kfp.overlays import rules_for
from sagemaker_ack_kfp.progress import Progress
from sagemaker_ack_kfp.redacting import Redactor
from sagemaker_ack_kfp.simulator import SimulatorServer, running_simulator
from tests.unit.test_simulator import sim_post, training_request

GROUP = "/aws/sagemaker/TrainingJobs"
JOB = logstreaming.target_for(rules_for("TrainingJob"), "job")
assert JOB is not None


def throttled(operation: str = "GetLogEvents") -> LogsError:
    return LogsError("ThrottlingException", operation, GROUP, "Rate exceeded", retryable=True, throttled=True)


class ScriptedLogs:
    """Streams whose events grow when told to; any call can be made to fail first."""

    def __init__(self) -> None:
        self.streams: dict[str, list[Event]] = {}
        self.failures: list[tuple[str, LogsError]] = []  # (operation or stream name, error), in order
        self.page_size = 2
        self.empty_pages_first = 0  # GetLogEvents may answer empty pages before the end
        self.calls = 0

    def _fail(self, what: str) -> None:
        if self.failures and self.failures[0][0] == what:
            raise self.failures.pop(0)[1]

    def stream_names(self, group: str, prefix: str) -> list[str]:
        self.calls += 1
        self._fail("DescribeLogStreams")
        return [name for name in self.streams if name.startswith(prefix)]

    def events(self, group: str, stream: str, token: str | None) -> Page:
        self.calls += 1
        self._fail(stream)
        if stream not in self.streams:
            raise LogsError("ResourceNotFoundException", "GetLogEvents", stream, "The specified log stream does not exist.", retryable=False)
        position = int(token or 0)
        if self.empty_pages_first:
            self.empty_pages_first -= 1
            return Page([], str(position) + " " * (self.empty_pages_first + 1))  # a new token, no events yet
        page = self.streams[stream][position:position + self.page_size]
        return Page(page, str(position + len(page)) if page else (token or "0"))


def follower(api: ScriptedLogs, target: Target = JOB) -> tuple[Follower, list[str], list[str]]:
    lines: list[str] = []
    said: list[str] = []
    made = Follower(api, target, emit=lambda label, line: lines.append(f"[{label}] {line}"), say=said.append)
    return made, lines, said


def events(*pairs: tuple[int, str]) -> list[Event]:
    return [Event(at, message) for at, message in pairs]


# ----- the follower's logic --------------------------------------------------------------


def test_lines_are_merged_by_time_across_streams_and_kept_in_order_within_one() -> None:
    api = ScriptedLogs()
    api.streams["job/algo-1-1"] = events((1, "a1"), (5, "a2"), (3, "a3 (late timestamp, still after a2)"))
    api.streams["job/algo-2-1"] = events((2, "b1"), (4, "b2"))
    api.streams["job-2/algo-1-1"] = events((0, "another job"))
    made, lines, _ = follower(api)
    assert made.step(discover=True) == 5
    assert lines == ["[algo-1-1] a1", "[algo-2-1] b1", "[algo-2-1] b2", "[algo-1-1] a2", "[algo-1-1] a3 (late timestamp, still after a2)"]
    assert made.step(discover=True) == 0


def test_a_failure_mid_pass_loses_nothing_and_repeats_nothing() -> None:
    api = ScriptedLogs()
    api.streams["job/algo-1-1"] = events(*[(i, f"a{i}") for i in range(5)])
    api.streams["job/algo-2-1"] = events((0, "b0"))
    made, lines, _ = follower(api)
    made.step(discover=True)
    api.streams["job/algo-1-1"] += events((9, "a9"), (10, "a10"))
    api.streams["job/algo-2-1"] += events((11, "b1"))
    api.failures = [("job/algo-2-1", throttled())]
    with pytest.raises(LogsError):
        made.step(discover=False)  # stream 1 was read before stream 2 was throttled
    assert lines[-2:] == ["[algo-1-1] a9", "[algo-1-1] a10"]
    made.step(discover=False)
    assert lines[-1] == "[algo-2-1] b1"
    texts = [line.split("] ", 1)[1] for line in lines]
    assert sorted(texts) == sorted({*texts}) and len(texts) == 9  # each once


def test_empty_pages_with_new_tokens_do_not_end_a_read() -> None:
    api = ScriptedLogs()
    api.streams["job/algo-1-1"] = events((1, "first"))
    api.empty_pages_first = 3
    made, lines, _ = follower(api)
    made.step(discover=True)
    assert lines == ["[algo-1-1] first"]


def test_missing_group_is_not_an_error_and_a_vanished_stream_is_dropped() -> None:
    api = ScriptedLogs()
    api.failures = [("DescribeLogStreams", LogsError("ResourceNotFoundException", "DescribeLogStreams", GROUP, "The specified log group does not exist.", retryable=False))]
    made, lines, said = follower(api)
    assert made.step(discover=True) == 0
    api.streams["job/algo-1-1"] = events((1, "x"))
    made.step(discover=True)
    del api.streams["job/algo-1-1"]
    assert made.step(discover=False) == 0 and made.tokens == {}
    assert lines == ["[algo-1-1] x"] and said == []


def test_multi_line_messages_keep_their_prefix_on_every_line() -> None:
    api = ScriptedLogs()
    api.streams["job/algo-1-1"] = events((1, "Traceback (most recent call last):\n  File \"train.py\"\nValueError: bad\n"))
    made, lines, _ = follower(api)
    made.step(discover=True)
    assert lines == ['[algo-1-1] Traceback (most recent call last):', '[algo-1-1]   File "train.py"', "[algo-1-1] ValueError: bad"]


def test_tuning_target_follows_only_its_training_jobs_labelled_by_name() -> None:
    target = logstreaming.target_for(rules_for("HyperParameterTuningJob"), "hpo")
    assert target is not None
    api = ScriptedLogs()
    api.streams["hpo-001-0a1b2c3d/algo-1-1"] = events((1, "child 1"))
    api.streams["hpo-002-deadbeef/algo-1-2"] = events((2, "child 2"))
    api.streams["hpo-other-001-0a1b2c3d/algo-1-1"] = events((0, "another tuning job"))
    made, lines, _ = follower(api, target)
    made.step(discover=True)
    assert lines == ["[hpo-001-0a1b2c3d/algo-1-1] child 1", "[hpo-002-deadbeef/algo-1-2] child 2"]


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.waits: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, event: threading.Event, seconds: float) -> bool:
        self.waits.append(seconds)
        self.now += seconds
        return event.is_set()


def run_scripted(api: ScriptedLogs, *, passes_before_end: int = 10_000) -> tuple[list[str], list[str], Clock]:
    made, lines, said = follower(api)
    clock = Clock()
    ending, stopping = threading.Event(), threading.Event()

    def sleep(event: threading.Event, seconds: float) -> bool:
        if len(clock.waits) >= passes_before_end:
            ending.set()
        return clock.sleep(event, seconds)

    made.sleep, made.monotonic = sleep, clock.monotonic
    made.run(ending, stopping, lambda: clock.now + 60)
    return lines, said, clock


def test_access_denied_is_one_line_and_the_end_of_following() -> None:
    api = ScriptedLogs()
    api.streams["job/algo-1-1"] = events((1, "x"))
    resource = f"arn:aws:logs:us-east-1:123456789012:log-group:{GROUP}:log-stream:job/algo-1-1"
    api.failures = [("job/algo-1-1", LogsError("AccessDeniedException", "GetLogEvents", resource, "User: arn:aws:sts::1:assumed-role/r/s is not authorized ...", retryable=False))]
    lines, said, _ = run_scripted(api)
    assert said == [f"logs unavailable: AccessDeniedException for logs:GetLogEvents on {resource}; showing console links only"]
    assert lines == []


def test_throttling_backs_off_and_never_gives_up_while_transient_failures_do() -> None:
    api = ScriptedLogs()
    api.streams["job/algo-1-1"] = events((1, "x"))
    api.failures = [("DescribeLogStreams", throttled("DescribeLogStreams"))] * 12
    lines, said, clock = run_scripted(api, passes_before_end=14)
    backoffs = clock.waits[:12]
    assert backoffs[0] < 1.3 and max(backoffs) <= logfollower.MAX_BACKOFF_SECONDS * 1.2
    assert backoffs[5] > backoffs[0] * 8  # doubling
    assert lines == ["[algo-1-1] x"] and said == []

    api = ScriptedLogs()
    down = LogsError("EndpointConnectionError", "DescribeLogStreams", GROUP, "Could not connect", retryable=True)
    api.failures = [("DescribeLogStreams", down)] * 100
    lines, said, clock = run_scripted(api)
    assert len(said) == 1 and said[0].startswith("logs unavailable: EndpointConnectionError for logs:DescribeLogStreams")
    assert said[0].endswith("; showing console links only")
    assert logfollower.GIVE_UP_AFTER_SECONDS < clock.now < logfollower.GIVE_UP_AFTER_SECONDS + 2 * logfollower.MAX_BACKOFF_SECONDS


def test_draining_reads_what_is_left_and_stops_when_a_pass_finds_nothing() -> None:
    api = ScriptedLogs()
    made, lines, said = follower(api)
    ending, stopping = threading.Event(), threading.Event()
    api.streams["job/algo-1-1"] = events(*[(i, f"line {i}") for i in range(7)])
    ending.set()  # the job ended before the follower's first pass
    made.run(ending, stopping, lambda: time.monotonic() + 5)
    assert lines == [f"[algo-1-1] line {i}" for i in range(7)] and said == []

    api = ScriptedLogs()
    made, lines, said = follower(api)
    api.streams["job/algo-1-1"] = events((1, "x"))
    made.drain(lambda: time.monotonic() - 1)  # no time left at all
    assert said == ["logs: stopped reading the job's log streams (time is up); the rest is in CloudWatch"]


# ----- whether a step streams --------------------------------------------------------------


def test_stream_logs_values() -> None:
    assert [logstreaming.parse_mode(v) for v in (None, "", "auto", "ON", " off ")] == ["auto", "auto", "auto", "on", "off"]
    with pytest.raises(InputError, match="input 'stream_logs': expected one of auto, on, off, got 'yes'"):
        logstreaming.parse_mode("yes")


@pytest.mark.parametrize(("environ", "source"), [
    ({"AWS_ACCESS_KEY_ID": "AKIA...", "AWS_SECRET_ACCESS_KEY": "x"}, "environment variables"),
    ({"AWS_ROLE_ARN": "arn:aws:iam::1:role/r", "AWS_WEB_IDENTITY_TOKEN_FILE": "/var/run/secrets/eks.amazonaws.com/serviceaccount/token"}, "web identity token (IRSA)"),
    ({"AWS_CONTAINER_CREDENTIALS_FULL_URI": "http://169.254.170.23/v1/credentials"}, "container credentials (EKS Pod Identity)"),
    ({"AWS_PROFILE": "dev"}, "profile"),
    ({}, ""),
])
def test_credential_source_from_the_environment(environ: dict[str, str], source: str, tmp_path: Path) -> None:
    assert logstreaming.credential_source({**environ, "HOME": str(tmp_path)}) == source


def test_shared_config_files_count_as_credentials(tmp_path: Path) -> None:
    (tmp_path / ".aws").mkdir()
    (tmp_path / ".aws" / "config").write_text("[default]\nregion = us-east-1\n")
    assert logstreaming.credential_source({"HOME": str(tmp_path)}) == "shared config files"


def start(mode: str, environ: dict[str, str], connect: Any, kind: str = "TrainingJob") -> tuple[Any, io.StringIO, Redactor]:
    out, redactor = io.StringIO(), Redactor()
    progress = Progress(redactor=redactor, stream=out)
    streaming = logstreaming.start(mode, rules_for(kind), name="job", region="us-east-1", progress=progress,
                                   redactor=redactor, environ=environ, connect=connect)
    return streaming, out, redactor


def never(region: str) -> Any:
    raise AssertionError("must not connect")


def test_off_without_credentials_and_kinds_without_job_logs_do_not_stream(tmp_path: Path) -> None:
    keys = {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "k", "HOME": str(tmp_path)}
    assert start("off", keys, never)[0] is None
    assert start("auto", {"HOME": str(tmp_path)}, never)[0] is None
    assert start("on", keys, never, kind="Endpoint")[0] is None


def test_on_without_credentials_says_so_in_one_line(tmp_path: Path) -> None:
    streaming, out, _ = start("on", {"HOME": str(tmp_path)}, lambda region: None)
    assert streaming is not None
    streaming.finish(drain=True)
    [line] = out.getvalue().splitlines()
    assert line.endswith("logs not streamed: stream_logs=on, but the AWS credential chain found no credentials "
                         "(environment, web identity, container or instance metadata, shared config); showing console links only")


def test_a_bug_in_the_logs_is_one_line_not_a_failed_step(tmp_path: Path) -> None:
    def broken(region: str) -> Any:
        raise KeyError("surprise")

    streaming, out, _ = start("auto", {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "HOME": str(tmp_path)}, broken)
    streaming.finish(drain=True)
    assert out.getvalue().rstrip().endswith("logs unavailable: KeyError: 'surprise'; showing console links only")


def test_nothing_is_printed_once_finish_has_returned(tmp_path: Path) -> None:
    """A cancelled step exits while its follower may still be mid-request: from then on the
    follower must not write (a daemon thread printing during interpreter shutdown can abort it)."""
    release = threading.Event()
    api = ScriptedLogs()
    api.streams["job/algo-1-1"] = events((1, "too late"))

    def slow(region: str) -> Any:
        release.wait(10)
        return api

    streaming, out, _ = start("auto", {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "HOME": str(tmp_path)}, slow)
    streaming.finish(drain=False)  # gives up waiting after a moment
    release.set()
    streaming._thread.join(5)
    assert out.getvalue() == ""


def test_the_steps_own_aws_secrets_are_scrubbed_from_streamed_lines(tmp_path: Path) -> None:
    api = ScriptedLogs()
    api.streams["job/algo-1-1"] = events((1, "env: AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG and token FwoGZXIvYXdzEBYaDH"))
    environ = {"AWS_ACCESS_KEY_ID": "AKIAEXAMPLE", "AWS_SECRET_ACCESS_KEY": "wJalrXUtnFEMI/K7MDENG",
               "AWS_SESSION_TOKEN": "FwoGZXIvYXdzEBYaDH", "HOME": str(tmp_path)}
    streaming, out, _ = start("auto", environ, lambda region: api)
    streaming.finish(drain=True)
    assert "[algo-1-1] env: AWS_SECRET_ACCESS_KEY=*** and token ***" in out.getvalue()
    assert "wJalr" not in out.getvalue() and "FwoG" not in out.getvalue()


# ----- botocore, against the simulator's Logs endpoint ---------------------------------------


@pytest.fixture
def live() -> Iterator[SimulatorServer]:
    with running_simulator(phase_seconds=0.3) as server:
        yield server


@pytest.fixture
def aws_env(live: SimulatorServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, str]:
    """What the local stack gives a step: fake keys and the standard Logs endpoint variable."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    environ = {
        "AWS_ACCESS_KEY_ID": "AKIASIMULATOR0000000", "AWS_SECRET_ACCESS_KEY": "simulator-secret-not-a-real-key",
        "AWS_ENDPOINT_URL_CLOUDWATCH_LOGS": live.url, "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_CONFIG_FILE": str(tmp_path / "none"), "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "none"),
        "HOME": str(tmp_path),
    }
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    return environ


def expected_lines(live: SimulatorServer, job: str) -> list[str]:
    logs = boto3.client("logs", endpoint_url=live.url, region_name="us-east-1")
    lines = []
    for stream in logs.describe_log_streams(logGroupName=GROUP, logStreamNamePrefix=f"{job}/")["logStreams"]:
        page = logs.get_log_events(logGroupName=GROUP, logStreamName=stream["logStreamName"], startFromHead=True)
        label = stream["logStreamName"].split("/", 1)[1]
        lines += [f"[{label}] {event['message']}" for event in page["events"]]
    return lines


def test_a_job_followed_through_botocore_prints_every_line_once_in_order_through_a_throttling_burst(
    live: SimulatorServer, aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(logfollower, "POLL_SECONDS", 0.2)
    monkeypatch.setattr(logfollower, "FIRST_BACKOFF_SECONDS", 0.1)
    sagemaker = boto3.client("sagemaker", endpoint_url=live.url, region_name="us-east-1")
    resources = {"InstanceType": "ml.m5.large", "InstanceCount": 2, "VolumeSizeInGB": 5}
    sagemaker.create_training_job(**training_request("followed", ResourceConfig=resources, HyperParameters={"epochs": "8"}))
    out = io.StringIO()
    redactor = Redactor()
    streaming = logstreaming.start("auto", rules_for("TrainingJob"), name="followed", region="us-east-1",
                                   progress=Progress(redactor=redactor, stream=out), redactor=redactor)
    assert streaming is not None
    deadline = time.monotonic() + 30
    while "[algo-1-" not in out.getvalue() and time.monotonic() < deadline:
        time.sleep(0.05)
    sim_post(live, "/_sim/logs/throttle", {"count": 4, "job": "followed"})  # a burst, mid-stream
    while sagemaker.describe_training_job(TrainingJobName="followed")["TrainingJobStatus"] == "InProgress":
        time.sleep(0.05)
    streaming.finish(drain=True)
    printed = [line for line in out.getvalue().splitlines() if line.startswith("[")]
    expected = expected_lines(live, "followed")
    assert sorted(printed) == sorted(expected) and len(printed) == len(set(printed)) == 2 * 18
    for host in ("algo-1-", "algo-2-"):
        assert [line for line in printed if line.startswith(f"[{host}")] == [line for line in expected if line.startswith(f"[{host}")]
    calls = sim_post_get(live)
    assert calls["throttled"].get("GetLogEvents", 0) + calls["throttled"].get("DescribeLogStreams", 0) == 4


def sim_post_get(live: SimulatorServer) -> Any:
    from tests.unit.test_simulator import sim_get

    return sim_get(live, "/_sim/calls")


def test_botocore_errors_as_the_follower_sees_them(live: SimulatorServer, aws_env: dict[str, str]) -> None:
    from sagemaker_ack_kfp import cloudwatch_logs

    api = cloudwatch_logs.connect("us-east-1")
    assert api is not None and api.endpoint == live.url
    with pytest.raises(LogsError) as missing:
        api.stream_names(GROUP, "nothing/")
    assert missing.value.not_found and not missing.value.retryable
    sagemaker = boto3.client("sagemaker", endpoint_url=live.url, region_name="us-east-1")
    sagemaker.create_training_job(**training_request("denied", Tags=[{"Key": "sim/logs-access-denied", "Value": "GetLogEvents"}]))
    deadline = time.monotonic() + 10
    while not (streams := _streams_or_none(api, "denied/")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert streams
    with pytest.raises(LogsError) as denied:
        api.events(GROUP, streams[0], None)
    assert not denied.value.retryable
    assert denied.value.describe() == (
        f"AccessDeniedException for logs:GetLogEvents on arn:aws:logs:us-east-1:123456789012:log-group:{GROUP}:log-stream:{streams[0]}"
    )
    sim_post(live, "/_sim/logs/throttle", {"count": 1})
    with pytest.raises(LogsError) as slow:
        api.stream_names(GROUP, "denied/")
    assert slow.value.retryable and slow.value.throttled


def _streams_or_none(api: Any, prefix: str) -> list[str]:
    try:
        return list(api.stream_names(GROUP, prefix))
    except LogsError:
        return []


def test_a_lost_endpoint_is_retryable_and_no_credentials_is_no_client(aws_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    from sagemaker_ack_kfp import cloudwatch_logs

    monkeypatch.setenv("AWS_ENDPOINT_URL_CLOUDWATCH_LOGS", "http://127.0.0.1:9")  # nothing listens there
    api = cloudwatch_logs.connect("us-east-1")
    assert api is not None
    with pytest.raises(LogsError) as lost:
        api.stream_names(GROUP, "x/")
    assert lost.value.retryable and not lost.value.throttled and re.search(r"Connect", lost.value.code)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    assert cloudwatch_logs.connect("us-east-1") is None
