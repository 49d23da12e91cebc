"""An AWS SDK retry of a call the simulator already carried out gets the same answer, so the
controller never meets "already existing" for its own create (see simulator/retries.py)."""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from typing import Any, Iterator

import pytest

from sagemaker_ack_kfp.simulator import running_simulator
from sagemaker_ack_kfp.simulator.retries import AnsweredCalls, Answer, attempt_number
from sagemaker_ack_kfp.simulator.server import SimulatorServer
from tests.support.cluster import wait_for

MODEL = {"ModelName": "model-a", "ExecutionRoleArn": "arn:aws:iam::123456789012:role/sim",
         "PrimaryContainer": {"Image": "123456789012.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"}}


@pytest.fixture
def server() -> Iterator[SimulatorServer]:
    with running_simulator() as running:
        yield running


def call(server: SimulatorServer, operation: str, body: dict[str, Any], *, invocation: str,
         attempt: int) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(server.url, data=json.dumps(body).encode(), headers={
        "X-Amz-Target": f"SageMaker.{operation}", "Content-Type": "application/x-amz-json-1.1",
        "amz-sdk-invocation-id": invocation, "amz-sdk-request": f"attempt={attempt}; max=3"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def logged(caplog: pytest.LogCaptureFixture, text: str) -> str:
    """The first captured log line containing `text`, waiting a moment for it."""
    return wait_for(lambda: next((r.getMessage() for r in caplog.records if text in r.getMessage()), None),
                    timeout=5, interval=0.02, what=f"a log line with {text!r}")


def test_a_retried_create_gets_the_first_answer_and_creates_nothing_more(
        server: SimulatorServer, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="sagemaker_ack_kfp.simulator")
    first = call(server, "CreateModel", MODEL, invocation="inv-1", attempt=1)
    retried = call(server, "CreateModel", MODEL, invocation="inv-1", attempt=2)
    assert first[0] == 200 and "model/model-a" in first[1]["ModelArn"]
    assert retried == first
    assert server.state.calls["CreateModel"] == 1
    # The handler logs after it answered, so the line may come a moment after the answer.
    assert logged(caplog, "[attempt=2; max=3] (the earlier attempt's answer, again)")


def test_another_call_with_the_same_name_is_still_refused(server: SimulatorServer) -> None:
    assert call(server, "CreateModel", MODEL, invocation="inv-1", attempt=1)[0] == 200
    status, body = call(server, "CreateModel", MODEL, invocation="inv-2", attempt=1)
    assert status == 400 and "Cannot create already existing model" in body["message"]
    # A retry of that refused call is carried out again (refusals are not remembered).
    status, body = call(server, "CreateModel", MODEL, invocation="inv-2", attempt=2)
    assert status == 400 and server.state.calls["CreateModel"] == 3


def test_reads_are_answered_afresh_on_a_retry(server: SimulatorServer) -> None:
    assert call(server, "CreateModel", MODEL, invocation="inv-1", attempt=1)[0] == 200
    assert call(server, "DescribeModel", {"ModelName": "model-a"}, invocation="inv-3", attempt=1)[0] == 200
    assert call(server, "DeleteModel", {"ModelName": "model-a"}, invocation="inv-4", attempt=1)[0] == 200
    status, body = call(server, "DescribeModel", {"ModelName": "model-a"}, invocation="inv-3", attempt=2)
    assert status == 400 and "Could not find model" in body["message"], body


def test_the_memory_is_bounded() -> None:
    answered = AnsweredCalls(capacity=2)
    for n in range(3):
        answered.remember(f"inv-{n}", "SageMaker.CreateModel", Answer(200, b"{}"))
    assert answered.earlier_answer("inv-0", "SageMaker.CreateModel", 2) is None
    assert answered.earlier_answer("inv-2", "SageMaker.CreateModel", 2) == Answer(200, b"{}")
    assert answered.earlier_answer("inv-2", "SageMaker.CreateModel", 1) is None  # a first attempt is never a retry


@pytest.mark.parametrize("header, expected", [
    ("attempt=1; max=3", 1), ("attempt=2; max=3", 2), ("attempt=12;max=30", 12), (None, 1), ("junk", 1)])
def test_attempt_number(header: str | None, expected: int) -> None:
    assert attempt_number(header) == expected
