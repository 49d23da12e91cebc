"""When is a resource done? ACK's rules, applied to one snapshot of the custom resource.

- ACK.Terminal True: failed, with the condition's message (the controller will not retry).
- The kind's status field (e.g. trainingJobStatus) in its success set: succeeded; in its failure
  set (Failed, Stopped): failed, with status.failureReason.
- Kinds without a status field (Model, EndpointConfig...): succeeded once ACK.ResourceSynced is
  True and the resource has an ARN.
- ACK.Recoverable True: still waiting, but the runner fails the step if it persists past a grace
  period (the controller retries a ValidationException forever). Not when its message is the
  controller's own "<Kind> in <status> state cannot be modified or deleted.": that is the
  controller waiting for SageMaker to leave a transitional status before it updates, not an error.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

TERMINAL = "ACK.Terminal"
RECOVERABLE = "ACK.Recoverable"
SYNCED = "ACK.ResourceSynced"
# The requeue message of the controller's RequeueIfModifying (pkg/common/custom_requeue.go).
_WAITING_TO_MODIFY = re.compile(r"^\w+ in \w+ state cannot be modified or deleted\.$")


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
    console_page: str = "home"  # the console page the fragment belongs to ("groundtruth" for labeling jobs)
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
    # With on_conflict "update": the spec fields the kind's update can change (None: any). A
    # difference elsewhere is refused, since the controller would leave it unapplied.
    updatable_fields: frozenset[str] | None = None
    # A spec field whose presence means SageMaker names the resource itself (a model version in
    # a group): the name field stays unset and the custom resource is named after the step.
    unnamed_with: str | None = None
    # SageMaker's defaults for such a resource, rendered like service_defaults but only when
    # `unnamed_with` is set (a model version's approval status, which an unversioned package lacks).
    unnamed_defaults: Mapping[str, Any] = field(default_factory=dict)
    # False when the name field is only a label SageMaker does not keep unique (a pipeline
    # execution's display name): the custom resource is then always named after the step.
    unique_name: bool = True
    # SageMaker's limit on the name field's length (a Kubernetes object name has at most 253).
    max_name_length: int = 63
    # Spec fields the CRD leaves optional but this kind needs with ACK v1.9.1: field -> why.
    required_fields: Mapping[str, str] = field(default_factory=dict)
    # Kinds a pipeline "ensures" rather than creates (a registry group, a pipeline definition): a
    # resource of that name that already exists in SageMaker (made by another namespace, the
    # console, an SDK) is adopted by the controller instead of refused as "Resource already exists".
    adopt_existing: bool = False
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
    """The message of a True ACK.Recoverable condition that is an error the controller retries
    ('' if there is none): its wait for SageMaker to leave a transitional status does not count."""
    recoverable = conditions(obj).get(RECOVERABLE) or {}
    if recoverable.get("status") != "True":
        return ""
    message = str(recoverable.get("message") or recoverable.get("reason") or "ACK.Recoverable")
    return "" if waiting_to_modify(message) else message


def waiting_to_modify(message: str) -> bool:
    """Whether a Recoverable message is the controller waiting for SageMaker, not an error."""
    return _WAITING_TO_MODIFY.match(message) is not None


def fresh(condition: dict[str, Any], expectation: Expectation | None, *, strictly: bool = False) -> bool:
    """After an update, only a condition that changed since then answers it. Both times have a
    resolution of one second: `strictly` leaves out a condition of that same second, for kinds
    whose update always takes longer than that (it may be the answer to the previous spec)."""
    if not expectation or not expectation.updated or not expectation.updated_at:
        return True
    changed = str(condition.get("lastTransitionTime") or "")
    return changed > expectation.updated_at if strictly else changed >= expectation.updated_at


def arn_of(obj: dict[str, Any]) -> str:
    return str(((obj.get("status") or {}).get("ackResourceMetadata") or {}).get("arn") or "")
