"""When is a resource done? ACK's rules, applied to one snapshot of the custom resource.

- ACK.Terminal True: failed, with the condition's message (the controller will not retry).
- The kind's status field (e.g. trainingJobStatus) in its success set: succeeded; in its failure
  set (Failed, Stopped): failed, with status.failureReason.
- Kinds without a status field (Model, EndpointConfig...): succeeded once ACK.ResourceSynced is
  True and the resource has an ARN.
- ACK.Recoverable True: still waiting, but the runner fails the step if it persists past a grace
  period (the controller retries a ValidationException forever).
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

TERMINAL = "ACK.Terminal"
RECOVERABLE = "ACK.Recoverable"
SYNCED = "ACK.ResourceSynced"


class Phase(enum.Enum):
    WAITING = "waiting"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class Verdict:
    phase: Phase
    reason: str = ""
    recoverable: str = ""  # the message of a True ACK.Recoverable condition, if any


@dataclass(frozen=True)
class KindRules:
    """What differs between kinds; one instance per kind in overlays/."""

    kind: str
    name_prefix: str
    status_field: str | None = None
    success: frozenset[str] = frozenset()
    failure: frozenset[str] = frozenset({"Failed", "Stopped"})
    secondary_field: str | None = None
    # Jobs are stopped (CR deleted) on SIGTERM/timeout; hosting resources are never deleted.
    stop_on_cancel: bool = True
    console_fragment: str | None = None  # SageMaker console path, with {name}
    log_group: str | None = None  # CloudWatch log group of the job's logs
    # Which streams of log_group a step streams (logstreaming.py): "job" (`<name>/...`),
    # "tuning" (those of the training jobs a tuning job launches), None (not streamed).
    log_streams: str | None = None
    outputs: Callable[[dict[str, Any]], dict[str, Any]] = lambda obj: {}
    # Kind-specific judgement that replaces the generic one when it returns a Verdict
    # (Endpoint: the new config is the one in service).
    judge_extra: Callable[[dict[str, Any], "Expectation"], Verdict | None] | None = field(default=None)
    # What a step does when a different resource already holds the name: "refuse" (jobs,
    # models: never touch it) or "update" (endpoints, schedules: roll out the new spec).
    on_conflict: str = "refuse"
    # Hosting kinds can be deleted on cancel only if the user asks (the `delete_on_cancel` input).
    delete_on_cancel_switch: bool = False
    # Spec fields that SageMaker fills in when a create leaves them out and that ACK then
    # late-initializes from Describe: dotted path under spec -> SageMaker's value. Rendering
    # them up front leaves late initialization nothing to do, so a throttled read right after
    # create cannot turn into a spurious spec change on the next sync.
    service_defaults: Mapping[str, Any] = field(default_factory=dict)
    # ACK.Terminal messages that mean something else than they say for this kind: a fragment
    # of the message -> what happened and what to do, appended to the step's failure reason.
    terminal_hints: Mapping[str, str] = field(default_factory=dict)
    # A line for people watching about what the step waits for beyond the status (a training
    # job's rule evaluations), printed whenever it changes; "" prints nothing.
    progress_note: Callable[[dict[str, Any]], str] | None = None


@dataclass(frozen=True)
class Expectation:
    """What this step asked for, so a judge can tell a stale status from the answer to it."""

    spec: dict[str, Any]
    updated: bool = False  # the step changed an existing resource's spec
    updated_at: str = ""  # RFC 3339 time of that change, for kinds judged by condition times


def conditions(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    status = obj.get("status") or {}
    return {c.get("type", ""): c for c in status.get("conditions") or []}


def controller_has_acted(obj: dict[str, Any]) -> bool:
    status = obj.get("status") or {}
    return bool(status.get("conditions") or status.get("ackResourceMetadata"))


def judge(obj: dict[str, Any], rules: KindRules, expectation: Expectation | None = None) -> Verdict:
    status = obj.get("status") or {}
    conds = conditions(obj)
    if rules.judge_extra:
        extra = rules.judge_extra(obj, expectation or Expectation(spec=obj.get("spec") or {}))
        if extra is not None:
            return extra
    failed_value = status.get(rules.status_field) if rules.status_field else None
    if failed_value in rules.failure:
        # Before ACK.Terminal: ACK marks some failed kinds terminal ("Check the FailureReason", for a
        # MonitoringSchedule), and SageMaker's reason is the one the user needs.
        reason = status.get("failureReason")
        return Verdict(Phase.FAILED, reason=f"{failed_value}: {reason}" if reason else f"{rules.kind} ended {failed_value}")
    terminal = conds.get(TERMINAL)
    if terminal and terminal.get("status") == "True":
        message = str(terminal.get("message") or terminal.get("reason") or "")
        hints = [hint for fragment, hint in rules.terminal_hints.items() if fragment in message]
        reason = f"ACK.Terminal: {message}".strip()
        if hints:
            reason = f"{reason.rstrip('.')}. {' '.join(hints)}"
        return Verdict(Phase.FAILED, reason=reason)
    if rules.status_field:
        value = status.get(rules.status_field)
        if value in rules.success:
            synced = conds.get(SYNCED) or {}
            if not (expectation and expectation.updated) or (synced.get("status") == "True" and fresh(synced, expectation)):
                return Verdict(Phase.SUCCEEDED)
    else:
        synced = conds.get(SYNCED)
        arn = (status.get("ackResourceMetadata") or {}).get("arn")
        if synced and synced.get("status") == "True" and arn and fresh(synced, expectation):
            return Verdict(Phase.SUCCEEDED)
    return Verdict(Phase.WAITING, recoverable=recoverable_message(obj))


def recoverable_message(obj: dict[str, Any]) -> str:
    """The message of a True ACK.Recoverable condition ('' if there is none)."""
    recoverable = conditions(obj).get(RECOVERABLE) or {}
    if recoverable.get("status") != "True":
        return ""
    return str(recoverable.get("message") or recoverable.get("reason") or "ACK.Recoverable")


def fresh(condition: dict[str, Any], expectation: Expectation | None) -> bool:
    """After an update, only a condition that changed since then answers it."""
    if not expectation or not expectation.updated or not expectation.updated_at:
        return True
    return str(condition.get("lastTransitionTime") or "") >= expectation.updated_at


def arn_of(obj: dict[str, Any]) -> str:
    return str(((obj.get("status") or {}).get("ackResourceMetadata") or {}).get("arn") or "")
