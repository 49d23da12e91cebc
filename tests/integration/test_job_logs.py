"""A TrainingJob step streams its SageMaker job's CloudWatch log lines when it has AWS
credentials: every line of the simulated job, in order per stream, once, also across an API
server restart and a Logs throttling burst; with AccessDenied one line and success; without
credentials (or with stream_logs=off) nothing changes and botocore is never imported.

These run where CI runs, without the ACK controller: a private stack without it, and the test
plays the controller's part (tests/support/standin_controller.py). The last test does the same
end to end with the real controller."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from sagemaker_ack_kfp.stack.control_plane import step_environment
from tests.faults.harness import Running, component, job_name, new_run_id
from tests.support.cluster import Cluster, PrivateStacks, create_namespace
from tests.support.component_command import StepResult
from tests.support.manifests import tags, training_arguments, training_spec
from tests.support.standin_controller import StandInController

pytestmark = [pytest.mark.integration, pytest.mark.simulator]

GROUP = "/aws/sagemaker/TrainingJobs"
SECRET = "s3cr3t-hyperparameter-value"
LOG_LINE = re.compile(r"^\[(algo-\d+-\d+)\] (.*)$")


@pytest.fixture(scope="module")
def stack(private_stack: PrivateStacks) -> Cluster:
    """A stack of this module's own without the controller (the tests play its part), which one
    test restarts."""
    return private_stack.start(with_controller=False)


@pytest.fixture(autouse=True)
def _no_step_outlives_its_test() -> Iterator[None]:
    yield
    while Running.started:
        run = Running.started.pop()
        if run.proc.poll() is None:
            run.kill()


def arguments(namespace: str, *, instances: int = 1, **injections: str) -> dict[str, Any]:
    spec = training_spec("unused", **injections)
    spec["hyperParameters"] = {**spec["hyperParameters"], "epochs": "4", "api_token": SECRET}
    spec["resourceConfig"] = {**spec["resourceConfig"], "instanceCount": instances}
    return training_arguments(namespace, spec=spec)


def start(cluster: Cluster, tmp_path: Path, args: dict[str, Any], *, credentials: bool = True,
          importtime: bool = False) -> Running:
    step = component(cluster, tmp_path, args, run_id=new_run_id())
    if credentials:
        assert cluster.state is not None
        step.env.update(step_environment(cluster.state))
    if importtime:
        step.argv[1:1] = ["-X", "importtime"]
    return Running(step)


def logs_client(cluster: Cluster) -> Any:
    return boto3.client("logs", endpoint_url=cluster.simulator_url, region_name="us-east-1",
                        aws_access_key_id="x", aws_secret_access_key="x")


def stream_names(cluster: Cluster, job: str) -> list[str]:
    listed = logs_client(cluster).describe_log_streams(logGroupName=GROUP, logStreamNamePrefix=f"{job}/")
    return [stream["logStreamName"] for stream in listed["logStreams"]]


def simulator_lines(cluster: Cluster, job: str) -> dict[str, list[str]]:
    """Every line the simulator holds for the job, per stream label, in order."""
    lines: dict[str, list[str]] = {}
    for name in stream_names(cluster, job):
        events = logs_client(cluster).get_log_events(logGroupName=GROUP, logStreamName=name, startFromHead=True)["events"]
        lines[name.split("/", 1)[1]] = [event["message"] for event in events]
    return lines


def printed_lines(stdout: str) -> dict[str, list[str]]:
    lines: dict[str, list[str]] = {}
    for line in stdout.splitlines():
        if found := LOG_LINE.match(line):
            lines.setdefault(found.group(1), []).append(found.group(2))
    return lines


def expected(cluster: Cluster, job: str) -> dict[str, list[str]]:
    """What the step must print: the simulator's lines, with the step's secrets masked."""
    return {label: [line.replace(SECRET, "***") for line in lines] for label, lines in simulator_lines(cluster, job).items()}


def finish_with_standin(cluster: Cluster, run: Running, namespace: str, timeout: float = 180) -> tuple[StepResult, StandInController]:
    with StandInController(cluster, namespace) as controller:
        result = run.finish(timeout=timeout)
    return result, controller


def assert_succeeded(result: StepResult) -> str:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr
    assert result.output_json("status")["trainingJobStatus"] == "Completed"
    return result.outputs["training_job_name"]


# ----- with credentials -------------------------------------------------------------------


def test_every_line_of_every_instance_once_in_order_with_secrets_masked(stack: Cluster, tmp_path: Path) -> None:
    namespace = create_namespace(stack, "logs-lines")
    run = start(stack, tmp_path, arguments(namespace, instances=2))
    result, controller = finish_with_standin(stack, run, namespace)
    name = assert_succeeded(result)
    assert controller.written[-1]["trainingJobStatus"] == "Completed"
    want = expected(stack, name)
    assert len(want) == 2 and all(label.startswith(("algo-1-", "algo-2-")) for label in want)
    assert printed_lines(result.stdout) == want  # every line, once, in order per stream
    assert want[min(want)][-1] == "Reporting training SUCCESS"
    assert SECRET not in result.stdout and '"api_token": "***"' in result.stdout
    assert f"following the job's CloudWatch logs: {GROUP}, streams {name}/*" in result.stdout
    # The job's lines come before the step's last word, which the watch decided.
    assert result.stdout.rindex("Reporting training SUCCESS") < result.stdout.index("TrainingJob done; outputs written")


def test_lines_once_each_across_an_api_server_restart(stack: Cluster, tmp_path: Path) -> None:
    assert stack.stack is not None
    namespace = create_namespace(stack, "logs-restart")
    # Long enough that lines are still being written when the API server is back (its graceful
    # shutdown alone takes seconds).
    run = start(stack, tmp_path, arguments(namespace, phase_seconds="6"))
    with StandInController(stack, namespace) as controller:
        run.wait_for_line("] Docker entrypoint called")  # streaming, mid-job
        stack.stack.restart("kube-apiserver")
        result = run.finish(timeout=240)
    name = assert_succeeded(result)
    assert "watch interrupted" in result.stdout, result.stdout  # the watch did see the outage
    assert printed_lines(result.stdout) == expected(stack, name)
    # Lines before the outage and after it: the follower went on across the restart.
    before, after = result.stdout.split("watch interrupted", 1)
    assert printed_lines(before) and printed_lines(after), result.stdout
    assert controller.written[-1]["trainingJobStatus"] == "Completed"


def test_lines_once_each_through_a_logs_throttling_burst(stack: Cluster, tmp_path: Path) -> None:
    namespace = create_namespace(stack, "logs-throttle")
    run = start(stack, tmp_path, arguments(namespace, phase_seconds="3"))
    with StandInController(stack, namespace):
        first = run.wait_for_line("] Docker entrypoint called")
        before = stack.sim("/_sim/calls")["throttled"]
        name = job_name(run.stdout)
        stack.sim("/_sim/logs/throttle", {"count": 4, "job": name})
        result = run.finish(timeout=240)
    assert_succeeded(result)
    after = stack.sim("/_sim/calls")["throttled"]
    throttled = sum(after.get(op, 0) - before.get(op, 0) for op in ("DescribeLogStreams", "GetLogEvents"))
    assert throttled == 4  # the burst hit the step's follower, which backed off and went on
    assert printed_lines(result.stdout) == expected(stack, name)
    assert "logs unavailable" not in result.stdout and first


def test_access_denied_is_one_line_and_the_step_succeeds(stack: Cluster, tmp_path: Path) -> None:
    namespace = create_namespace(stack, "logs-denied")
    args = arguments(namespace)
    args["tags"] = [{"key": "sim/logs-access-denied", "value": "GetLogEvents"}]
    result, _ = finish_with_standin(stack, start(stack, tmp_path, args), namespace)
    name = assert_succeeded(result)
    [stream] = stream_names(stack, name)
    denied = [line for line in result.stdout.splitlines() if "logs unavailable" in line]
    assert [line.split("Z ", 1)[1] for line in denied] == [
        "logs unavailable: AccessDeniedException for logs:GetLogEvents on "
        f"arn:aws:logs:us-east-1:123456789012:log-group:{GROUP}:log-stream:{stream}; showing console links only"
    ]
    assert printed_lines(result.stdout) == {}
    assert "CloudWatch logs:   https://us-east-1.console.aws.amazon.com/cloudwatch/home" in result.stdout


def test_a_step_cancelled_while_streaming_exits_143_cleanly(stack: Cluster, tmp_path: Path) -> None:
    namespace = create_namespace(stack, "logs-cancel")
    run = start(stack, tmp_path, arguments(namespace, phase_seconds="5"))
    with StandInController(stack, namespace):
        run.wait_for_line("] Docker entrypoint called")
        run.terminate()
        result = run.finish(timeout=120)
    assert result.returncode == 143, f"{result.stdout}\n{result.stderr}"
    assert "received SIGTERM" in result.stderr
    assert "Traceback" not in result.stderr and "Fatal Python error" not in result.stderr
    assert f"deleted TrainingJob {namespace}/" in result.stdout


# ----- without credentials, or switched off: nothing changes ---------------------------------


def imported_botocore(stderr: str) -> bool:
    """-X importtime writes one `import time: ... | <module>` line per import to stderr."""
    return any(line.startswith("import time:") and re.search(r"\|\s+botocore\b", line) for line in stderr.splitlines())


@pytest.mark.parametrize("setting", ["no credentials", "stream_logs=off"])
def test_no_streaming_and_no_botocore_import(stack: Cluster, tmp_path: Path, setting: str) -> None:
    namespace = create_namespace(stack, "logs-none")
    args = arguments(namespace)
    if setting == "stream_logs=off":
        args["stream_logs"] = "off"
    run = start(stack, tmp_path, args, credentials=setting != "no credentials", importtime=True)
    result, _ = finish_with_standin(stack, run, namespace)
    assert_succeeded(result)
    assert "import time:" in result.stderr  # the probe works: imports are listed
    assert re.search(r"\|\s+kubernetes\b", result.stderr)
    assert not imported_botocore(result.stderr)
    assert printed_lines(result.stdout) == {}
    assert not re.search(r"following the job's CloudWatch logs|logs unavailable|logs not streamed", result.stdout)
    assert "CloudWatch logs:   https://" in result.stdout  # the console link, as before


def test_on_without_credentials_says_so_once_and_succeeds(stack: Cluster, tmp_path: Path) -> None:
    namespace = create_namespace(stack, "logs-on")
    args = {**arguments(namespace), "stream_logs": "on"}
    run = start(stack, tmp_path, args, credentials=False)
    run.step.env.update(AWS_EC2_METADATA_DISABLED="true", AWS_CONFIG_FILE=str(tmp_path / "none"),
                        AWS_SHARED_CREDENTIALS_FILE=str(tmp_path / "none"))
    result, _ = finish_with_standin(stack, run, namespace)
    assert_succeeded(result)
    said = [line for line in result.stdout.splitlines() if "logs not streamed" in line]
    assert len(said) == 1 and "stream_logs=on, but the AWS credential chain found no credentials" in said[0]


def test_bad_stream_logs_value_is_an_input_error(stack: Cluster, tmp_path: Path) -> None:
    namespace = create_namespace(stack, "logs-bad")
    result = start(stack, tmp_path, {**arguments(namespace), "stream_logs": "yes"}).finish(timeout=60)
    assert result.returncode == 2
    assert "input 'stream_logs': expected one of auto, on, off, got 'yes'" in result.stderr


# ----- end to end, with the real controller -------------------------------------------------


@pytest.mark.controller
def test_with_the_real_controller_the_step_prints_the_jobs_lines(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    result = start(cluster, tmp_path, arguments(namespace, instances=2)).finish(timeout=300)
    name = assert_succeeded(result)
    want = expected(cluster, name)
    assert len(want) == 2
    assert printed_lines(result.stdout) == want


@pytest.mark.controller
def test_with_the_real_controller_a_tuning_step_prints_every_training_jobs_lines(
    cluster: Cluster, namespace: str, tmp_path: Path
) -> None:
    from tests.support.manifests import tuning_arguments

    step = component(cluster, tmp_path, tuning_arguments(namespace), run_id=new_run_id(), kind="HyperParameterTuningJob")
    assert cluster.state is not None
    step.env.update(step_environment(cluster.state))
    result = Running(step).finish(timeout=400)
    assert result.returncode == 0, f"{result.stdout}\n{result.stderr}"
    tuning = result.outputs["hpo_job_name"]
    children = [child["name"] for child in cluster.sim_resources("TrainingJob", name_prefix=f"{tuning}-") if child["parent"] == tuning]
    assert len(children) == 3
    printed: dict[str, list[str]] = {}
    for line in result.stdout.splitlines():
        if found := re.match(r"^\[([^\]/]+/algo-\d+-\d+)\] (.*)$", line):
            printed.setdefault(found.group(1), []).append(found.group(2))
    want = {f"{child}/{label}": lines for child in children for label, lines in simulator_lines(cluster, child).items()}
    assert printed == want  # every training job's streams, labelled with its name, each line once
