"""Failure injection through reserved tags on the resource being created.

Tags travel unchanged from a Kubernetes manifest through the controller to the
Create call, so a pipeline author can script a failure without touching the
simulator.  Keys are documented in README.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from .errors import validation

FAIL_REASON = "sim/fail-reason"
VALIDATION_ERROR = "sim/validation-error"
THROTTLE_NEXT = "sim/throttle-next"
PHASE_SECONDS = "sim/phase-seconds"
RULE_SECONDS = "sim/rule-seconds"
RULE_ISSUES = "sim/rule-issues"
ALL_RULES = "*"

RESERVED = (FAIL_REASON, VALIDATION_ERROR, THROTTLE_NEXT, PHASE_SECONDS, RULE_SECONDS, RULE_ISSUES)


@dataclass(frozen=True)
class Injection:
    fail_reason: str | None = None
    validation_error: str | None = None
    throttle_next: int = 0
    phase_seconds: float | None = None
    # Debugger/Profiler rules: how long they evaluate after the job, and which find issues.
    rule_seconds: float | None = None
    rule_issues: frozenset[str] = frozenset()

    def finds_issues(self, rule: str | None) -> bool:
        return ALL_RULES in self.rule_issues or (rule or "") in self.rule_issues


def tags_to_dict(tags: Any) -> dict[str, str]:
    """Turn SageMaker's [{"Key": k, "Value": v}] list into a dict, rejecting malformed entries."""
    if tags is None:
        return {}
    if not isinstance(tags, list):
        raise validation("Tags must be a list of {Key, Value} objects.")
    result: dict[str, str] = {}
    for tag in tags:
        if not isinstance(tag, dict) or not isinstance(tag.get("Key"), str) or not tag["Key"]:
            raise validation("Every tag needs a non-empty string Key.")
        result[tag["Key"]] = str(tag.get("Value", ""))
    return result


def parse(tags: Mapping[str, str]) -> Injection:
    return Injection(
        fail_reason=tags.get(FAIL_REASON) or None,
        validation_error=tags.get(VALIDATION_ERROR) or None,
        throttle_next=_count(tags.get(THROTTLE_NEXT)),
        phase_seconds=_seconds(tags.get(PHASE_SECONDS), PHASE_SECONDS),
        rule_seconds=_seconds(tags.get(RULE_SECONDS), RULE_SECONDS, allow_zero=True),
        rule_issues=frozenset(name.strip() for name in (tags.get(RULE_ISSUES) or "").split(",") if name.strip()),
    )


def inherited(tags: Mapping[str, str]) -> dict[str, str]:
    """Tags a tuning job passes to its training jobs; throttling must not multiply per child."""
    return {k: v for k, v in tags.items() if k not in (THROTTLE_NEXT, VALIDATION_ERROR)}


def _count(raw: str | None) -> int:
    if raw is None:
        return 0
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise validation(f"Tag {THROTTLE_NEXT} must be a non-negative integer, got {raw!r}.")
    return value


def _seconds(raw: str | None, tag: str, *, allow_zero: bool = False) -> float | None:
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        expected = "a number of seconds (0 or more)" if allow_zero else "a positive number of seconds"
        raise validation(f"Tag {tag} must be {expected}, got {raw!r}.")
    return value
