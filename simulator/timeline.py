"""Lifecycles as precomputed, timestamped steps.

A resource's future is written down when something happens to it (create,
stop, update, delete); reading it is just "which steps have been reached by
now".  That keeps state advancement lazy and deterministic: no background
threads, and the same wall-clock time always yields the same answer.

A step may carry an effect: work SageMaker does at that transition against
S3 (check a job's input, upload its model).  Effects run when the simulator
first observes the step reached (`settle`, before any request is answered),
exactly once, and may rewrite the future from that step on, e.g. a job whose
input prefix is empty fails instead of training.  A step whose effect has not
run yet (the object store did not answer) is not reported: the resource stays
where it was until the effect succeeds on a later request.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping, Optional

# Status of the step after which a resource no longer exists.
GONE = "__gone__"

# Runs at the step's transition; returns the steps that replace this one and everything after
# it (the first of them in this step's place, without an effect), or None to keep the plan.
Effect = Callable[["Step"], Optional[list["Step"]]]


@dataclass(frozen=True)
class Step:
    at: float
    status: str
    secondary: str | None = None
    message: str = ""
    # Describe fields that take effect when the step is reached; None removes a field.
    changes: Mapping[str, Any] = field(default_factory=dict)
    effect: Effect | None = field(default=None, compare=False)

    def done(self) -> Step:
        """This step with its effect consumed, to begin a replacement plan."""
        return replace(self, effect=None)


@dataclass
class Timeline:
    steps: list[Step]
    # How many leading steps are settled: their effects, if any, have run.
    settled: int = 0

    def reached(self, now: float) -> list[Step]:
        reached = []
        for index, step in enumerate(self.steps):
            if step.at > now or (step.effect is not None and index >= self.settled):
                break
            reached.append(step)
        return reached

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

    def settle(self, now: float) -> None:
        """Run the effects of every step reached by `now`, in order, each once. An effect that
        raises leaves its step unsettled (and unreported) for the next call to retry."""
        index = self.settled
        while index < len(self.steps) and self.steps[index].at <= now:
            step = self.steps[index]
            if step.effect is not None:
                replacement = step.effect(step)
                if replacement is not None:
                    # Its first step stands where this one stood; its effect has just run.
                    self.steps = self.steps[:index] + [s.done() if i == 0 else s for i, s in enumerate(replacement)]
                    continue
            index += 1
            self.settled = index

    def replace_future(self, now: float, steps: list[Step]) -> None:
        """Drop the steps not yet reached and append new ones (stop, update, delete)."""
        kept = self.reached(now)
        self.steps = kept + steps
        self.settled = min(self.settled, len(kept))
