"""Start, probe and stop the stack's processes. Each runs in its own session so that it
outlives `stack up`, logs to its own file, and is stopped by the pid recorded at start."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def spawn(argv: Sequence[str], *, log: Path, env: Mapping[str, str] | None = None) -> int:
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        proc = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            start_new_session=True,
        )
    return proc.pid


def is_alive(pid: int) -> bool:
    try:
        # A zombie child still "exists"; reap it so a dead child reads as dead.
        waited, _ = os.waitpid(pid, os.WNOHANG)
        if waited == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stop(pid: int, *, grace_seconds: float = 10.0, sig: int = signal.SIGTERM) -> None:
    """Signal one process (and its session, in case it forked) and wait until it is gone."""
    if not is_alive(pid):
        return
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
    deadline = time.monotonic() + grace_seconds
    while time.monotonic() < deadline:
        if not is_alive(pid):
            return
        time.sleep(0.05)
    try:
        os.killpg(pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    while is_alive(pid):
        time.sleep(0.05)


def stop_all(pids: Sequence[int], *, grace_seconds: float = 10.0) -> None:
    """Signal every process first, then wait for each: independent pieces stop in parallel."""
    for pid in pids:
        if is_alive(pid):
            try:
                os.killpg(pid, signal.SIGTERM)
            except (ProcessLookupError, PermissionError):
                pass
    for pid in pids:
        stop(pid, grace_seconds=grace_seconds)


class StartFailed(RuntimeError):
    """One piece of the stack did not become ready."""

    def __init__(self, piece: str, reason: str, log: Path) -> None:
        tail = ""
        if log.exists():
            lines = log.read_text(errors="replace").splitlines()[-15:]
            tail = "\n    " + "\n    ".join(lines)
        super().__init__(f"{piece} failed to start: {reason}\n  log: {log}{tail}")
        self.piece = piece


def wait_ready(
    piece: str, pid: int, probe: Callable[[], bool], *, log: Path, timeout: float = 60.0
) -> None:
    """Poll `probe` until it returns True; fail early if the process died."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not is_alive(pid):
            raise StartFailed(piece, "the process exited", log)
        try:
            if probe():
                return
        except Exception:  # noqa: BLE001 - any probe error means "not ready yet"
            pass
        time.sleep(0.2)
    raise StartFailed(piece, f"not ready after {timeout:.0f}s", log)
