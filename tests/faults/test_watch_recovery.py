"""How `follow` times an outage of the API server, on a scripted clock (no cluster): it gives up
only after one continuous outage longer than the retry policy allows, however long the wait, and
it never reopens a watch in a tight loop."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, cast

import pytest

from sagemaker_ack_kfp import watching
from sagemaker_ack_kfp.errors import ClusterError
from sagemaker_ack_kfp.kube import Kube, ResourceRef, RetryPolicy

REF = ResourceRef("sagemaker.services.k8s.aws", "v1alpha1", "trainingjobs", "TrainingJob", "ns", "job")
DONE = {"metadata": {"name": "job", "resourceVersion": "9"}, "status": {"trainingJobStatus": "Completed"}}


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


Watch = Callable[[Clock, int], Iterator[dict[str, Any]]]


def refused(clock: Clock, timeout: int) -> Iterator[dict[str, Any]]:
    clock.now += 0.1
    raise ConnectionRefusedError("connection refused")
    yield {}  # pragma: no cover - makes this a generator


def quiet(clock: Clock, timeout: int) -> Iterator[dict[str, Any]]:
    clock.now += timeout  # a whole window without news
    return
    yield {}  # pragma: no cover


def closed_at_once(clock: Clock, timeout: int) -> Iterator[dict[str, Any]]:
    return
    yield {}  # pragma: no cover


def done(clock: Clock, timeout: int) -> Iterator[dict[str, Any]]:
    yield {"type": "MODIFIED", "raw_object": DONE}


class ScriptedKube:
    def __init__(self, clock: Clock, script: list[Watch]) -> None:
        self.clock, self.script = clock, list(script)
        self.retry = RetryPolicy(first_delay=1.0, max_delay=4.0, give_up_after=60.0)

    def get(self, ref: ResourceRef) -> dict[str, Any]:
        return {"metadata": {"name": ref.name, "resourceVersion": "1"}}

    def watch(self, ref: ResourceRef, *, resource_version: str, timeout_seconds: int) -> Iterator[dict[str, Any]]:
        return self.script.pop(0)(self.clock, timeout_seconds)


def _follow_until_done(monkeypatch: pytest.MonkeyPatch, script: list[Watch], said: list[str]) -> Clock:
    clock = Clock()
    monkeypatch.setattr(watching, "time", clock)
    kube = cast(Kube, ScriptedKube(clock, script))
    for obj in watching.follow(kube, REF, window=lambda: 900.0, on_reconnect=said.append):
        if obj is DONE:
            return clock
    raise AssertionError("follow ended")  # pragma: no cover


def test_outages_hours_apart_are_timed_separately(monkeypatch: pytest.MonkeyPatch) -> None:
    said: list[str] = []
    # A short outage, then an hour of quiet windows, then another short outage: neither is long.
    script: list[Watch] = [refused, refused, *[quiet] * 4, refused, done]
    _follow_until_done(monkeypatch, script, said)
    assert sum("watch interrupted (ConnectionRefusedError)" in line for line in said) == 3
    assert any(line.startswith("watch resumed after") for line in said)


def test_one_long_outage_gives_up_with_the_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    reason = r"lost the Kubernetes API server for \d+s while waiting for TrainingJob ns/job"
    with pytest.raises(ClusterError, match=reason):
        _follow_until_done(monkeypatch, [refused] * 40, [])


def test_the_backoff_restarts_after_the_server_answered(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = _follow_until_done(monkeypatch, [refused, refused, refused, quiet, refused, done], [])
    assert clock.slept == [1.0, 2.0, 4.0, 1.0]


def test_a_watch_closed_at_once_is_not_reopened_in_a_tight_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = _follow_until_done(monkeypatch, [*[closed_at_once] * 5, done], [])
    assert clock.slept == [1.0, 2.0, 4.0, 4.0, 4.0]
