"""The simulator's memory: resources, call counters and pending throttles, and the object
store jobs read and write (None in the no-S3 mode).

Every SageMaker call runs entirely under `lock`, so concurrent controller
workers see one consistent world.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Iterator

from .config import SimulatorConfig
from .kinds import KindInfo
from .objects import ObjectStore
from .logs_faults import LogsControls
from .resource import Resource

_Key = tuple[str, str, str]


class SimulatorState:
    def __init__(self, config: SimulatorConfig | None = None) -> None:
        self.config = config or SimulatorConfig()
        # Where jobs read and write their data; None in the "no S3" mode.
        self.objects = ObjectStore(self.config.s3_endpoint_url, self.config.default_region) if self.config.s3_endpoint_url else None
        self.lock = threading.RLock()
        self._resources: dict[_Key, Resource] = {}
        self.calls: Counter[str] = Counter()
        self.throttled: Counter[str] = Counter()
        self._pending_throttles = 0
        self.logs = LogsControls()  # injected CloudWatch Logs faults (logs_faults.py)

    def now(self) -> float:
        return self.config.clock()

    def arn(self, info: KindInfo, region: str, name: str) -> str:
        return info.arn(region, self.config.account_id, name)

    # Names are unique per account, region and kind, ignoring case (ARNs are lower-cased).
    @staticmethod
    def _key(info: KindInfo, region: str, name: str) -> _Key:
        return (info.kind, region, name.lower())

    def find(self, info: KindInfo, region: str, name: str) -> Resource | None:
        return self._resources.get(self._key(info, region, name))

    def get(self, info: KindInfo, region: str, name: str) -> Resource:
        found = self.find(info, region, name)
        if found is None:
            raise info.not_found(name, self.arn(info, region, name))
        return found

    def insert(self, resource: Resource) -> None:
        key = self._key(resource.info, resource.region, resource.name)
        if key in self._resources:
            raise resource.info.already_exists(resource.name, resource.arn)
        self._resources[key] = resource

    def remove(self, resource: Resource) -> None:
        self._resources.pop(self._key(resource.info, resource.region, resource.name), None)

    def by_arn(self, arn: str) -> Resource | None:
        return next((r for r in self._resources.values() if r.arn == arn), None)

    def resources(self, kind: str | None = None) -> Iterator[Resource]:
        for resource in list(self._resources.values()):
            if kind is None or resource.kind == kind:
                yield resource

    def add_throttles(self, count: int) -> None:
        self._pending_throttles += count

    def take_throttle(self) -> bool:
        if self._pending_throttles <= 0:
            return False
        self._pending_throttles -= 1
        return True

    @property
    def pending_throttles(self) -> int:
        return self._pending_throttles

    def reset_calls(self) -> None:
        self.calls.clear()
        self.throttled.clear()

    def reset(self) -> None:
        self._resources.clear()
        self._pending_throttles = 0
        self.logs = LogsControls()
        self.reset_calls()
