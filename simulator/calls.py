"""What every operation handler shares: the call context and the create/echo steps."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from . import injection
from .errors import serialization, validation
from .kinds import KindInfo
from .resource import Resource
from .state import SimulatorState
from .timeline import Effect, Step, Timeline
from .validation import check_create, check_present

Body = dict[str, Any]


def parse_body(raw: bytes) -> Body:
    """A JSON 1.1 request body (SageMaker's and CloudWatch Logs' alike); empty means {}."""
    if not raw.strip():
        return {}
    try:
        parsed: Any = json.loads(raw)
    except ValueError as exc:
        raise serialization(str(exc)) from None
    if not isinstance(parsed, dict):
        raise serialization("expected a JSON object")
    return parsed
Handler = Callable[["Call", Body], Body]


@dataclass(frozen=True)
class Call:
    """One SageMaker request: where it was sent and the instant it is judged at."""

    state: SimulatorState
    region: str
    now: float

    def get(self, info: KindInfo, body: Body) -> Resource:
        """Look up the resource named in the request, or raise the kind's not-found error."""
        check_present(body, [info.name_field])
        return self.state.get(info, self.region, body[info.name_field])

    def phase(self, resource: Resource | None = None) -> float:
        return resource.phase_seconds if resource else self.state.config.phase_seconds


def ts(value: float) -> float:
    """Epoch seconds with millisecond precision, the JSON 1.1 timestamp format."""
    return round(value, 3)


def new_resource(call: Call, info: KindInfo, body: Body, required: Iterable[str],
                 *, created: float | None = None) -> Resource:
    """Validate a Create request and build the record; the caller adds a timeline and calls `store`."""
    check_create(body, info, required)
    tags = injection.tags_to_dict(body.get("Tags"))
    inject = injection.parse(tags)
    name = body[info.name_field]
    arn = call.state.arn(info, call.region, name)
    if call.state.find(info, call.region, name) is not None:
        raise info.already_exists(name, arn)
    if inject.validation_error:
        raise validation(inject.validation_error)
    when = call.now if created is None else created
    spec = {k: v for k, v in body.items() if k not in (info.name_field, "Tags")}
    return Resource(
        info=info, name=name, arn=arn, region=call.region, created=when, spec=spec, tags=tags,
        injection=inject, phase_seconds=inject.phase_seconds or call.phase(), modified=when,
    )


def store(call: Call, resource: Resource) -> Body:
    call.state.insert(resource)
    # Throttling starts only after the create itself has succeeded.
    call.state.add_throttles(resource.injection.throttle_next)
    return {resource.info.arn_field: resource.arn}


def echo(resource: Resource, now: float, *, with_modified: bool = True) -> Body:
    """The Describe skeleton: the request as sent, identity, and timestamps."""
    out: Body = {**resource.spec, **resource.identity(), "CreationTime": ts(resource.created)}
    if with_modified:
        out["LastModifiedTime"] = ts(resource.last_modified(now))
    if resource.timeline is not None:
        out.update(resource.timeline.fields(now))
    return out


def require_status(resource: Resource, now: float, allowed: Iterable[str]) -> str:
    status = resource.status(now) or ""
    if status not in allowed:
        raise validation(
            f"The request was rejected because the {resource.info.noun} is in status {status}."
        )
    return status


def stop_steps(now: float, phase: float, end_field: str | None,
               secondary: bool = False) -> list[Step]:
    """Stopping for one phase, then Stopped: the same for every job kind."""
    end = {end_field: ts(now + phase)} if end_field else {}
    return [
        Step(now, "Stopping", "Stopping" if secondary else None, "Stopping the job"),
        Step(now + phase, "Stopped", "Stopped" if secondary else None, "The job was stopped", end),
    ]


def stop_job(call: Call, resource: Resource, end_field: str | None, secondary: bool = False) -> None:
    require_status(resource, call.now, ["InProgress"])
    assert resource.timeline is not None
    resource.timeline.replace_future(
        call.now, stop_steps(call.now, call.phase(resource), end_field, secondary))


def plain_timeline(start: float, phase: float, phases: int, fail_reason: str | None,
                   start_field: str, end_field: str, *,
                   on_start: Effect | None = None, on_finish: Effect | None = None) -> Timeline:
    """InProgress for `phases` phases, then Completed or Failed (transform, processing). The
    effects run when the job starts (one phase in: inputs) and when it finishes (outputs)."""
    end = start + phases * phase
    finish = (
        failed_step(end, end_field, fail_reason)
        if fail_reason
        else Step(end, "Completed", changes={end_field: ts(end)}, effect=on_finish)
    )
    return Timeline([
        Step(start, "InProgress"),
        Step(start + phase, "InProgress", changes={start_field: ts(start + phase)}, effect=on_start),
        finish,
    ])


def failed_step(end: float, end_field: str, reason: str) -> Step:
    return Step(end, "Failed", changes={end_field: ts(end), "FailureReason": reason})
