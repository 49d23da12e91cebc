"""Settings shared by every part of one simulator instance."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

DEFAULT_ACCOUNT_ID = "123456789012"
DEFAULT_REGION = "us-east-1"
DEFAULT_PHASE_SECONDS = 1.0


@dataclass(frozen=True)
class SimulatorConfig:
    account_id: str = DEFAULT_ACCOUNT_ID
    # Used only when a request carries no SigV4 credential scope to read it from.
    default_region: str = DEFAULT_REGION
    # Length of one lifecycle phase; a training job takes five of them.
    phase_seconds: float = DEFAULT_PHASE_SECONDS
    # Injectable so tests can drive lifecycles without sleeping.
    clock: Callable[[], float] = field(default=time.time)
