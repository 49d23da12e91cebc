"""Failure injection for the CloudWatch Logs endpoint: throttling and AccessDenied.

Either on the job itself, with reserved tags on its Create request (a tuning job's training jobs
inherit them):

  sim/logs-throttle-next=N            the first N Logs calls about this job's streams are throttled
  sim/logs-access-denied=OPS          Logs calls about this job are denied: OPS is `*` or a
                                      comma-separated list of DescribeLogStreams, GetLogEvents

or at any moment through the control API (`job` optional: without it, everyone's calls):

  POST /_sim/logs/throttle {"count": N, "job": NAME}
  POST /_sim/logs/deny {"operations": ["GetLogEvents"], "job": NAME}   (an empty list clears)

SageMaker's own throttling (`sim/throttle-next`, /_sim/throttle) never touches Logs calls, and
these never touch SageMaker calls: the controller and a step's log follower are throttled apart.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from .errors import ApiError
from .resource import Resource

THROTTLE_TAG = "sim/logs-throttle-next"
DENY_TAG = "sim/logs-access-denied"
OPERATIONS = ("DescribeLogStreams", "GetLogEvents")
_ALL = "*"
_TAG_CONSUMED = "logs_throttled"  # Resource.extra key: tag throttles already served

Reply = tuple[int, Any]


@dataclass
class LogsControls:
    """Injected Logs faults set through the control API (tags live on the jobs themselves)."""

    throttle_anyone: int = 0
    throttle_jobs: dict[str, int] = field(default_factory=dict)
    deny_anyone: set[str] = field(default_factory=set)
    deny_jobs: dict[str, set[str]] = field(default_factory=dict)


def throttled(controls: LogsControls, jobs: Iterable[Resource], names: Iterable[str]) -> bool:
    """Consume one pending throttle that applies to a call about `jobs` (or job `names`)."""
    if controls.throttle_anyone > 0:
        controls.throttle_anyone -= 1
        return True
    for name in names:
        if controls.throttle_jobs.get(name, 0) > 0:
            controls.throttle_jobs[name] -= 1
            return True
    for job in jobs:
        budget = _count(job.tags.get(THROTTLE_TAG))
        if job.extra.get(_TAG_CONSUMED, 0) < budget:
            job.extra[_TAG_CONSUMED] = job.extra.get(_TAG_CONSUMED, 0) + 1
            return True
    return False


def denied(controls: LogsControls, jobs: Iterable[Resource], names: Iterable[str], operation: str) -> bool:
    if _covers(controls.deny_anyone, operation):
        return True
    if any(_covers(controls.deny_jobs.get(name, set()), operation) for name in names):
        return True
    return any(_covers(_operations(job.tags.get(DENY_TAG)), operation) for job in jobs)


def access_denied(account: str, operation: str, resource: str) -> ApiError:
    """IAM's wording, naming the action and the resource, as a real denial does."""
    return ApiError(
        "AccessDeniedException",
        f"User: arn:aws:sts::{account}:assumed-role/sagemaker-simulator/step is not authorized to perform: "
        f"logs:{operation} on resource: {resource} because no identity-based policy allows the "
        f"logs:{operation} action",
    )


def _covers(operations: set[str], operation: str) -> bool:
    return _ALL in operations or operation in operations


def _operations(raw: str | None) -> set[str]:
    if not raw:
        return set()
    return {part.strip() for part in raw.split(",") if part.strip()}


def _count(raw: str | None) -> int:
    try:
        return max(0, int(raw or 0))
    except ValueError:
        return 0


# ----- /_sim/logs/ -----------------------------------------------------------------------


def _throttle(state: Any, query: dict[str, list[str]], payload: Any) -> Reply:
    count = payload.get("count") if isinstance(payload, dict) else None
    job = payload.get("job") if isinstance(payload, dict) else None
    if not isinstance(count, int) or isinstance(count, bool) or count < 0 or (job is not None and not isinstance(job, str)):
        return 400, {"error": 'expected {"count": <non-negative integer>, "job": <optional job name>}'}
    with state.lock:
        controls: LogsControls = state.logs
        if job:
            controls.throttle_jobs[job] = controls.throttle_jobs.get(job, 0) + count
            return 200, {"job": job, "pending_throttles": controls.throttle_jobs[job]}
        controls.throttle_anyone += count
        return 200, {"pending_throttles": controls.throttle_anyone}


def _deny(state: Any, query: dict[str, list[str]], payload: Any) -> Reply:
    operations = payload.get("operations") if isinstance(payload, dict) else None
    job = payload.get("job") if isinstance(payload, dict) else None
    valid = (*OPERATIONS, _ALL)
    if (
        not isinstance(operations, list)
        or not all(isinstance(op, str) and op in valid for op in operations)
        or (job is not None and not isinstance(job, str))
    ):
        return 400, {"error": f'expected {{"operations": [any of {json.dumps(valid)}], "job": <optional job name>}}'}
    with state.lock:
        controls: LogsControls = state.logs
        if job:
            controls.deny_jobs[job] = set(operations)
        else:
            controls.deny_anyone = set(operations)
    return 200, {"denied": sorted(operations), "job": job}


ROUTES: dict[str, tuple[str, Callable[[Any, dict[str, list[str]], Any], Reply]]] = {
    "logs/throttle": ("POST", _throttle),
    "logs/deny": ("POST", _deny),
}
