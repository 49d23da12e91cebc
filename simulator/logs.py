"""The CloudWatch Logs endpoint (JSON 1.1, X-Amz-Target `Logs_20140328.<Operation>`), on the
simulator's one port: the two operations a log follower needs, over the streams SageMaker jobs
write (`logstreams.py`).

- DescribeLogStreams: logGroupName or logGroupIdentifier, logStreamNamePrefix, orderBy
  (LogStreamName, or LastEventTime without a prefix), descending, limit (<= 50), nextToken.
- GetLogEvents: logGroupName or logGroupIdentifier, logStreamName, startFromHead, nextToken
  (`f/...` forward, `b/...` backward; at the end of a stream the token passed in comes back),
  startTime, endTime, limit (<= 10000).

A log group "exists" once some job in the region has written to it, as in a fresh account.
Errors carry CloudWatch Logs' codes: ResourceNotFoundException, InvalidParameterException,
ThrottlingException, AccessDeniedException (see `logs_faults.py` for injecting the last two).
"""

from __future__ import annotations

import re
from typing import Any, Callable

from . import logs_faults, logstreams
from .calls import parse_body
from .errors import ApiError, throttling, unknown_operation
from .resource import Resource
from .sagemaker import advance
from .state import SimulatorState

TARGET_PREFIX = "Logs_20140328."
Body = dict[str, Any]

_GROUP_ARN = re.compile(r"^arn:aws[a-z-]*:logs:[^:]*:[^:]*:log-group:(?P<name>[^:]+)(:\*)?$")
_TOKEN = re.compile(r"^(?P<direction>[fb])/(?P<position>\d{1,56})$")
_PAGE = re.compile(r"^o/(?P<offset>\d{1,9})$")
_MAX_STREAMS_PAGE = 50
_MAX_EVENTS_PAGE = 10_000


class _Call:
    def __init__(self, state: SimulatorState, region: str, now: float, body: Body, operation: str) -> None:
        self.state, self.region, self.now, self.body, self.operation = state, region, now, body, operation

    def group(self) -> str:
        name = self.body.get("logGroupName")
        identifier = self.body.get("logGroupIdentifier")
        if name and identifier:
            raise _invalid("LogGroupName and LogGroupIdentifier are mutually exclusive.")
        if isinstance(identifier, str) and identifier:
            found = _GROUP_ARN.match(identifier)
            name = found.group("name") if found else identifier
        if not isinstance(name, str) or not name:
            raise _invalid("Either LogGroupName or LogGroupIdentifier is required.")
        return name

    def jobs(self, group: str) -> list[Resource]:
        kind = logstreams.KIND_OF_GROUP.get(group)
        if kind is None:
            return []
        return [job for job in self.state.resources(kind) if job.region == self.region]

    def group_arn(self, group: str) -> str:
        return f"arn:aws:logs:{self.region}:{self.state.config.account_id}:log-group:{group}"

    def guard(self, jobs: list[Resource], names: set[str], resource: str) -> None:
        """Injected faults, throttling first (it happens before authorization in AWS too)."""
        controls = self.state.logs
        if logs_faults.throttled(controls, jobs, names):
            self.state.throttled[self.operation] += 1
            raise throttling()
        if logs_faults.denied(controls, jobs, names, self.operation):
            raise logs_faults.access_denied(self.state.config.account_id, self.operation, resource)


def handle(state: SimulatorState, target: str, raw_body: bytes, region: str) -> Body:
    operation = target[len(TARGET_PREFIX):] if target.startswith(TARGET_PREFIX) else target
    with state.lock:
        state.calls[operation] += 1
        handler = OPERATIONS.get(operation) if target.startswith(TARGET_PREFIX) else None
        if handler is None:
            raise unknown_operation(target)
        now = state.now()
        advance(state, now)
        return handler(_Call(state, region, now, parse_body(raw_body), operation))


def describe_log_streams(call: _Call) -> Body:
    group = call.group()
    prefix = _optional_str(call.body, "logStreamNamePrefix")
    order = call.body.get("orderBy") or "LogStreamName"
    if order not in ("LogStreamName", "LastEventTime"):
        raise _invalid(f"1 validation error detected: Value '{order}' at 'orderBy' failed to satisfy constraint: "
                       "Member must satisfy enum value set: [LastEventTime, LogStreamName]")
    if order == "LastEventTime" and prefix:
        raise _invalid("Cannot order by LastEventTime with a logStreamNamePrefix.")
    limit = _limit(call.body, _MAX_STREAMS_PAGE)
    jobs = [job for job in call.jobs(group) if _may_match(job.name, prefix)]
    call.guard(jobs, {job.name for job in jobs}, f"{call.group_arn(group)}:log-stream:")
    every = [stream for job in call.jobs(group) for stream in logstreams.streams(job, call.now)]
    if not every:
        raise _not_found("The specified log group does not exist.")
    listed = [stream for stream in every if stream.name.startswith(prefix)]
    if order == "LastEventTime":
        listed.sort(key=lambda s: (s.events[-1].timestamp_ms, s.name))
    else:
        listed.sort(key=lambda s: s.name)
    if call.body.get("descending"):
        listed.reverse()
    offset = _page_offset(call.body.get("nextToken"))
    page = listed[offset:offset + limit]
    out: Body = {"logStreams": [_stream_view(call, group, stream) for stream in page]}
    if offset + limit < len(listed):
        out["nextToken"] = f"o/{offset + limit}"
    return out


def get_log_events(call: _Call) -> Body:
    group = call.group()
    name = call.body.get("logStreamName")
    if not isinstance(name, str) or not name:
        raise _invalid("1 validation error detected: Value null at 'logStreamName' failed to satisfy constraint: "
                       "Member must not be null")
    job_name = name.split("/", 1)[0]
    jobs = [job for job in call.jobs(group) if job.name == job_name]
    call.guard(jobs, {job_name}, f"{call.group_arn(group)}:log-stream:{name}")
    if not any(logstreams.streams(job, call.now) for job in call.jobs(group)):
        raise _not_found("The specified log group does not exist.")
    stream = next((s for job in jobs for s in logstreams.streams(job, call.now) if s.name == name), None)
    if stream is None:
        raise _not_found("The specified log stream does not exist.")
    events = [e for e in stream.events if _in_range(e.timestamp_ms, call.body)]
    limit = _limit(call.body, _MAX_EVENTS_PAGE)
    token = call.body.get("nextToken")
    if token is not None:
        direction, position = _parse_token(token)
        position = min(position, len(events))
    else:
        direction, position = ("f", 0) if call.body.get("startFromHead") else ("b", len(events))
    if direction == "f":
        page = events[position:position + limit]
        forward = f"f/{position + len(page):056d}" if page or token is None else str(token)
        backward = f"b/{position:056d}"
    else:
        start = max(0, position - limit)
        page = events[start:position]
        forward, backward = f"f/{position:056d}", f"b/{start:056d}"
    return {
        "events": [{"timestamp": e.timestamp_ms, "message": e.message, "ingestionTime": e.timestamp_ms} for e in page],
        "nextForwardToken": forward,
        "nextBackwardToken": backward,
    }


def _stream_view(call: _Call, group: str, stream: logstreams.LogStream) -> Body:
    first, last = stream.events[0].timestamp_ms, stream.events[-1].timestamp_ms
    return {
        "logStreamName": stream.name,
        "creationTime": first,
        "firstEventTimestamp": first,
        "lastEventTimestamp": last,
        "lastIngestionTime": last,
        "arn": f"{call.group_arn(group)}:log-stream:{stream.name}",
        "storedBytes": 0,
    }


def _may_match(job: str, prefix: str) -> bool:
    """Can a stream of `job` (named `<job>/...`) start with `prefix`?"""
    return f"{job}/".startswith(prefix) or prefix.startswith(f"{job}/")


def _in_range(timestamp: int, body: Body) -> bool:
    start, end = body.get("startTime"), body.get("endTime")
    return (start is None or timestamp >= int(start)) and (end is None or timestamp < int(end))


def _limit(body: Body, maximum: int) -> int:
    limit = body.get("limit", maximum)
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= maximum:
        raise _invalid(f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy constraint: "
                       f"Member must have value between 1 and {maximum}")
    return limit


def _parse_token(token: Any) -> tuple[str, int]:
    found = _TOKEN.match(token) if isinstance(token, str) else None
    if not found:
        raise _invalid("The specified nextToken is invalid.")
    return found.group("direction"), int(found.group("position"))


def _page_offset(token: Any) -> int:
    if token is None:
        return 0
    found = _PAGE.match(token) if isinstance(token, str) else None
    if not found:
        raise _invalid("The specified nextToken is invalid.")
    return int(found.group("offset"))


def _optional_str(body: Body, key: str) -> str:
    value = body.get(key)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _invalid(f"{key} must be a string.")
    return value


def _invalid(message: str) -> ApiError:
    return ApiError("InvalidParameterException", message)


def _not_found(message: str) -> ApiError:
    return ApiError("ResourceNotFoundException", message)



OPERATIONS: dict[str, Callable[[_Call], Body]] = {
    "DescribeLogStreams": describe_log_streams,
    "GetLogEvents": get_log_events,
}
