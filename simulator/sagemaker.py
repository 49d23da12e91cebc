"""The SageMaker JSON 1.1 endpoint: operation table, throttling, call counting."""

from __future__ import annotations

import logging
from typing import Any

from . import (
    batch,
    hosting,
    inference_components,
    labeling,
    monitoring,
    pipelines,
    registry,
    tagging,
    training,
    tuning,
)
from .calls import Body, Call, Handler, parse_body
from .errors import serialization, throttling, unknown_operation
from .objects import StoreUnavailable
from .state import SimulatorState
from .timeline import GONE

TARGET_PREFIX = "SageMaker."
log = logging.getLogger("sagemaker_ack_kfp.simulator")

OPERATIONS: dict[str, Handler] = {
    **training.OPERATIONS,
    **tuning.OPERATIONS,
    **hosting.OPERATIONS,
    **batch.OPERATIONS,
    **monitoring.OPERATIONS,
    **registry.OPERATIONS,
    **inference_components.OPERATIONS,
    **labeling.OPERATIONS,
    **pipelines.OPERATIONS,
    **tagging.OPERATIONS,
}


def advance(state: SimulatorState, now: float) -> None:
    """Apply what time alone changes: tuning jobs launch children, transitions reached since the
    last call do their S3 work (each once), deleted resources vanish."""
    tuning.spawn_due(state, now)
    for resource in state.resources():
        if resource.timeline is None:
            continue
        try:
            resource.timeline.settle(now)
        except StoreUnavailable as error:
            # The resource stays where it was; the next call retries the transition.
            log.warning("%s %s: object store unavailable, transition postponed: %s", resource.kind, resource.name, error)
        if resource.timeline.current(now).status == GONE:
            state.remove(resource)


def operation_name(target: str) -> str:
    return target[len(TARGET_PREFIX):] if target.startswith(TARGET_PREFIX) else target


def handle(state: SimulatorState, target: str, raw_body: bytes, region: str) -> Body:
    """Run one call and return its result; failures are raised as ApiError."""
    operation = operation_name(target)
    with state.lock:
        state.calls[operation] += 1
        if state.take_throttle():
            state.throttled[operation] += 1
            raise throttling()
        handler = OPERATIONS.get(operation) if target.startswith(TARGET_PREFIX) else None
        if handler is None:
            raise unknown_operation(target)
        body = parse_body(raw_body)
        now = state.now()
        advance(state, now)
        return handler(Call(state, region, now), body)

