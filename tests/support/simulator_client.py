"""Talking to an in-process SageMaker simulator from unit tests: a manual clock, a boto3 client
without retries, and the /_sim/ control API."""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sagemaker_ack_kfp.simulator import SimulatorServer

NO_RETRIES = Config(retries={"total_max_attempts": 1})


class ManualClock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def client(server: SimulatorServer, service: str = "sagemaker", region: str = "us-east-1",
           config: Config = NO_RETRIES) -> Any:
    return boto3.client(service, endpoint_url=server.url, region_name=region,
                        aws_access_key_id="AKIDSIMULATOR", aws_secret_access_key="not-a-secret",
                        config=config)


def sim_get(server: SimulatorServer, path: str) -> Any:
    with urllib.request.urlopen(server.url + path, timeout=5) as response:
        return json.load(response)


def sim_post(server: SimulatorServer, path: str, payload: Any = None) -> Any:
    data = json.dumps(payload or {}).encode()
    request = urllib.request.Request(server.url + path, data=data, method="POST")
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)


def error_of(call: Callable[..., Any], **kwargs: Any) -> dict[str, str]:
    with pytest.raises(ClientError) as caught:
        call(**kwargs)
    return caught.value.response["Error"]


def sim_tags(**pairs: str) -> list[dict[str, str]]:
    """Reserved injection tags: sim_tags(fail_reason="x") -> [{"Key": "sim/fail-reason", ...}]."""
    return [{"Key": "sim/" + k.replace("_", "-"), "Value": v} for k, v in pairs.items()]
