"""One simulated SageMaker resource as stored by the simulator."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .injection import Injection
from .kinds import KindInfo
from .timeline import Timeline


@dataclass
class Resource:
    info: KindInfo
    name: str
    arn: str
    region: str
    created: float
    # The Create request minus name and tags; Describe echoes it, as SageMaker does.
    spec: dict[str, Any]
    tags: dict[str, str]
    injection: Injection
    phase_seconds: float
    modified: float
    timeline: Timeline | None = None
    # Name of the tuning job that launched this training job, if any.
    parent: str | None = None
    # Kind-specific bookkeeping that is not part of the API shape.
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        return self.info.kind

    def status(self, now: float) -> str | None:
        return self.timeline.current(now).status if self.timeline else None

    def last_modified(self, now: float) -> float:
        if self.timeline is None:
            return self.modified
        return max(self.modified, self.timeline.current(now).at)

    def identity(self) -> dict[str, Any]:
        return {self.info.name_field: self.name, self.info.arn_field: self.arn}
