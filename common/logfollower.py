"""Follow a job's CloudWatch log streams the way `aws logs tail --follow` and the SageMaker SDK
do: DescribeLogStreams with the job's stream-name prefix finds its streams (one per instance,
more as a tuning job launches training jobs), GetLogEvents reads each from its head and then on
from the forward token it returned, until the token comes back unchanged.

Nothing is printed twice and nothing is skipped: a stream's token moves on only once the events
read with it have been handed out, so a failed or retried request (throttling, a lost
connection) reads the same events again from the same token. Each pass hands out its new events
ordered by time across streams, in order within a stream.

This module is the logic only; `cloudwatch_logs.py` is the API (botocore), and `logstreaming.py`
runs it in a thread beside the step's watch.
"""

from __future__ import annotations

import heapq
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

POLL_SECONDS = 2.0
# Streams appear when instances start: look for new ones on every pass until the first is
# found, then every few passes (a tuning job launches training jobs over its whole run).
DISCOVER_EVERY = 5
FIRST_BACKOFF_SECONDS = 1.0
MAX_BACKOFF_SECONDS = 30.0
# A transient failure (connection, 5xx) this long without a single answer ends the following.
GIVE_UP_AFTER_SECONDS = 300.0
# GetLogEvents may return empty pages before the end of a stream; a pass reads at most this
# many pages of one stream, the next pass goes on from there.
MAX_PAGES_PER_STREAM = 50


@dataclass(frozen=True)
class Event:
    timestamp: int  # milliseconds since the epoch
    message: str


@dataclass(frozen=True)
class Page:
    events: list[Event]
    next_token: str


class LogsError(Exception):
    """A Logs call failed. `retryable`: throttling, 5xx, a lost connection."""

    def __init__(self, code: str, operation: str, resource: str, message: str, *, retryable: bool, throttled: bool = False) -> None:
        super().__init__(f"{code}: {message}")
        self.code, self.operation, self.resource, self.message = code, operation, resource, message
        self.retryable, self.throttled = retryable, throttled

    @property
    def not_found(self) -> bool:
        return self.code == "ResourceNotFoundException"

    def describe(self) -> str:
        """One line: the error, the action and what it was about (AccessDenied's long message,
        which names the caller's role, is left out: the action and resource say what is missing)."""
        text = f"{self.code} for logs:{self.operation} on {self.resource}"
        if self.code != "AccessDeniedException" and self.message:
            text += f": {self.message}"
        return text


class LogsApi(Protocol):
    def stream_names(self, group: str, prefix: str) -> list[str]:
        """Every stream of `group` whose name starts with `prefix` (all pages)."""

    def events(self, group: str, stream: str, token: str | None) -> Page:
        """One GetLogEvents page from the head (token None) or from `token`."""


@dataclass(frozen=True)
class Target:
    """Which streams to follow and how to label their lines."""

    group: str
    prefix: str
    keep: re.Pattern[str]  # full stream names to follow
    strip: str  # removed from a stream's name to make its label

    def label(self, stream: str) -> str:
        return stream[len(self.strip):] if stream.startswith(self.strip) else stream


Emit = Callable[[str, str], None]  # (label, one line of a message)
Say = Callable[[str], None]


@dataclass
class Follower:
    api: LogsApi
    target: Target
    emit: Emit
    say: Say
    poll_seconds: float | None = None  # None: POLL_SECONDS
    sleep: Callable[[threading.Event, float], bool] = lambda event, seconds: event.wait(seconds)
    monotonic: Callable[[], float] = time.monotonic
    tokens: dict[str, str | None] = field(default_factory=dict)  # stream -> next forward token
    printed: int = 0

    def run(self, ending: threading.Event, stopping: threading.Event, drain_until: Callable[[], float]) -> None:
        """Follow until `ending` (the job ended: drain what is left, until `drain_until()`) or
        `stopping` (the step is cancelled: stop now). Returns; never raises a LogsError."""
        passes = 0
        delay = FIRST_BACKOFF_SECONDS
        failing_since: float | None = None
        while not (ending.is_set() or stopping.is_set()):
            try:
                self.step(discover=not self.tokens or passes % DISCOVER_EVERY == 0)
                passes += 1
                delay, failing_since = FIRST_BACKOFF_SECONDS, None
                self.sleep(ending, self.poll_seconds or POLL_SECONDS)
            except LogsError as error:
                if not error.retryable:
                    self.say(f"logs unavailable: {error.describe()}; showing console links only")
                    return
                now = self.monotonic()
                failing_since = failing_since if failing_since is not None else now
                if not error.throttled and now - failing_since > GIVE_UP_AFTER_SECONDS:
                    self.say(f"logs unavailable: {error.describe()} for {now - failing_since:.0f}s; "
                             "showing console links only")
                    return
                self.sleep(ending, _jittered(delay))
                delay = min(delay * 2, MAX_BACKOFF_SECONDS)
        if ending.is_set() and not stopping.is_set():
            self.drain(drain_until)

    def drain(self, until: Callable[[], float]) -> None:
        """After the job ended: read until a full pass (streams looked up again) finds nothing
        new, retrying throttling, or until the time is up."""
        delay = FIRST_BACKOFF_SECONDS
        while self.monotonic() < until():
            try:
                if self.step(discover=True) == 0:
                    return
                delay = FIRST_BACKOFF_SECONDS
            except LogsError as error:
                if not error.retryable:
                    self.say(f"logs unavailable: {error.describe()}; showing console links only")
                    return
                time.sleep(min(_jittered(delay), max(0.0, until() - self.monotonic())))
                delay = min(delay * 2, MAX_BACKOFF_SECONDS)
        self.say("logs: stopped reading the job's log streams (time is up); the rest is in CloudWatch")

    def step(self, *, discover: bool) -> int:
        """One pass over the streams; the number of lines handed out."""
        if discover:
            self._discover()
        read: list[tuple[str, str | None, list[Event]]] = []
        try:
            for stream in list(self.tokens):
                self._read(stream, read)
        finally:
            # Whatever was read is handed out and its tokens kept, even if a later call failed.
            self._hand_out(read)
        return sum(len(events) for _, _, events in read)

    def _discover(self) -> None:
        try:
            names = self.api.stream_names(self.target.group, self.target.prefix)
        except LogsError as error:
            if error.not_found:
                return  # the log group does not exist yet: nothing has been written
            raise
        for name in sorted(names):
            if self.target.keep.fullmatch(name) and name not in self.tokens:
                self.tokens[name] = None

    def _read(self, stream: str, into: list[tuple[str, str | None, list[Event]]]) -> None:
        token = self.tokens[stream]
        for _ in range(MAX_PAGES_PER_STREAM):
            try:
                page = self.api.events(self.target.group, stream, token)
            except LogsError as error:
                if error.not_found:
                    self.tokens.pop(stream, None)  # expired or deleted: stop following it
                    return
                raise
            into.append((stream, page.next_token, page.events))
            if page.next_token == token:
                return
            token = page.next_token

    def _hand_out(self, read: list[tuple[str, str | None, list[Event]]]) -> None:
        per_stream: dict[str, list[tuple[str, Event]]] = {}
        for stream, token, events in read:
            if stream in self.tokens:
                self.tokens[stream] = token
            per_stream.setdefault(stream, []).extend((stream, event) for event in events)
        # By time across streams; merge never reorders one stream's own events.
        for stream, event in heapq.merge(*per_stream.values(), key=lambda item: item[1].timestamp):
            label = self.target.label(stream)
            for line in event.message.rstrip("\r\n").splitlines() or [""]:
                self.emit(label, line)
            self.printed += 1


def _jittered(seconds: float) -> float:
    # Steps started together must not retry together.
    return seconds * random.uniform(0.8, 1.2)
