"""Lifecycles as precomputed, timestamped steps.

A resource's future is written down when something happens to it (create,
stop, update, delete); reading it is just "which steps have been reached by
now".  That keeps state advancement lazy and deterministic: no background
threads, and the same wall-clock time always yields the same answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

# Status of the step after which a resource no longer exists.
GONE = "__gone__"


@dataclass(frozen=True)
class Step:
    at: float
    status: str
    secondary: str | None = None
    message: str = ""
    # Describe fields that take effect when the step is reached; None removes a field.
    changes: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class Timeline:
    steps: list[Step]

    def reached(self, now: float) -> list[Step]:
        return [s for s in self.steps if s.at <= now]

    def current(self, now: float) -> Step:
        reached = self.reached(now)
        return reached[-1] if reached else self.steps[0]

    def fields(self, now: float) -> dict[str, Any]:
        """Fold the changes of every reached step, later steps winning."""
        merged: dict[str, Any] = {}
        for step in self.reached(now) or self.steps[:1]:
            for key, value in step.changes.items():
                if value is None:
                    merged.pop(key, None)
                else:
                    merged[key] = value
        return merged

    def replace_future(self, now: float, steps: list[Step]) -> None:
        """Drop the steps not yet reached and append new ones (stop, update, delete)."""
        self.steps = self.reached(now) + steps
