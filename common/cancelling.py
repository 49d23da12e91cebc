"""SIGTERM (KFP terminating the run) and SIGINT: interrupt whatever the step is doing — create
or wait — by raising Cancelled in the main thread; the runner then stops the job and exits."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from sagemaker_ack_kfp.errors import Cancelled


@contextmanager
def cancellable() -> Iterator[None]:
    def _raise(signum: int, _frame: FrameType | None) -> None:
        raise Cancelled(f"received {signal.Signals(signum).name}: the run was terminated")

    previous = {sig: signal.signal(sig, _raise) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@contextmanager
def shielded() -> Iterator[None]:
    """Ignore further termination signals while cleaning up, so the stop request is sent."""
    previous = {sig: signal.signal(sig, signal.SIG_IGN) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
