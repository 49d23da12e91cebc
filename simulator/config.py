"""Settings shared by every part of one simulator instance."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

DEFAULT_ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"


@dataclass(frozen=True)
class Profile:
    """How long simulated work takes: one lifecycle phase, and the Debugger/Profiler rule
    evaluations that go on after a training job has ended."""

    phase_seconds: float
    rule_seconds: float
    description: str


PROFILES: dict[str, Profile] = {
    # Fast enough for a test suite: a training job takes 5 s, its rules 3 s more.
    "fast": Profile(1.0, 3.0, "1 s phases: training 5 s, transform/processing 3 s, endpoint 2 s; rules 3 s after the job"),
    # Long enough to watch a job run, check it is still running after 10-15 s, or stop it after a
    # minute: training 150 s, transform/processing 90 s, endpoint 60 s; rules 2 min after the job.
    "realistic": Profile(30.0, 120.0, "30 s phases: training 150 s, transform/processing 90 s, endpoint 60 s; rules 120 s after the job"),
}
DEFAULT_PROFILE = "fast"
DEFAULT_PHASE_SECONDS = PROFILES[DEFAULT_PROFILE].phase_seconds
DEFAULT_RULE_SECONDS = PROFILES[DEFAULT_PROFILE].rule_seconds


@dataclass(frozen=True)
class SimulatorConfig:
    account_id: str = DEFAULT_ACCOUNT_ID
    # Used only when a request carries no SigV4 credential scope to read it from.
    default_region: str = DEFAULT_REGION
    # Length of one lifecycle phase; a training job takes five of them.
    phase_seconds: float = DEFAULT_PHASE_SECONDS
    # How long Debugger and Profiler rule evaluations stay InProgress after a job has ended.
    rule_seconds: float = DEFAULT_RULE_SECONDS
    # The S3 endpoint jobs read their inputs from and write their outputs to; None is the
    # "no S3" mode, where nothing is read or written and no input is checked.
    s3_endpoint_url: str | None = None
    # Injectable so tests can drive lifecycles without sleeping.
    clock: Callable[[], float] = field(default=time.time)
