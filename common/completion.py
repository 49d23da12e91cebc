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
from collections.abc import Callable
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
    outputs: Callable[[dict[str, Any]], dict[str, Any]] = lambda obj: {}
    # Optional extra check on success (Endpoint: the new config is the one in service).
    judge_extra: Callable[[dict[str, Any]], Verdict | None] | None = field(default=None)


def conditions(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    status = obj.get("status") or {}
    return {c.get("type", ""): c for c in status.get("conditions") or []}


def controller_has_acted(obj: dict[str, Any]) -> bool:
    status = obj.get("status") or {}
    return bool(status.get("conditions") or status.get("ackResourceMetadata"))


def judge(obj: dict[str, Any], rules: KindRules) -> Verdict:
    status = obj.get("status") or {}
    conds = conditions(obj)
    terminal = conds.get(TERMINAL)
    if terminal and terminal.get("status") == "True":
        return Verdict(Phase.FAILED, reason=f"ACK.Terminal: {terminal.get('message') or terminal.get('reason') or ''}".strip())
    recoverable = conds.get(RECOVERABLE)
    recoverable_message = ""
    if recoverable and recoverable.get("status") == "True":
        recoverable_message = str(recoverable.get("message") or recoverable.get("reason") or "ACK.Recoverable")

    if rules.judge_extra:
        extra = rules.judge_extra(obj)
        if extra is not None:
            return extra
    if rules.status_field:
        value = status.get(rules.status_field)
        if value in rules.success:
            return Verdict(Phase.SUCCEEDED)
        if value in rules.failure:
            reason = status.get("failureReason") or f"{rules.kind} ended {value}"
            return Verdict(Phase.FAILED, reason=f"{value}: {reason}" if status.get("failureReason") else reason)
    else:
        synced = conds.get(SYNCED)
        arn = (status.get("ackResourceMetadata") or {}).get("arn")
        if synced and synced.get("status") == "True" and arn:
            return Verdict(Phase.SUCCEEDED)
    return Verdict(Phase.WAITING, recoverable=recoverable_message)


def arn_of(obj: dict[str, Any]) -> str:
    return str(((obj.get("status") or {}).get("ackResourceMetadata") or {}).get("arn") or "")
