"""How one attempt of a step runs: the interface the executor uses, and process mode, where the
step's container command runs as a local process with this project's Python (pods.py is pod mode).

In process mode a step learns its identity from SAGEMAKER_ACK_KFP_RUN_ID and SAGEMAKER_ACK_KFP_TASK
(common/identity.py), which stand in for the pod a KFP step would read it from.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, Protocol

from sagemaker_ack_kfp.localrun.plan import Invocation, RunContext

RUN_ID_ENV, TASK_ENV = "SAGEMAKER_ACK_KFP_RUN_ID", "SAGEMAKER_ACK_KFP_TASK"
_PYTHONS = ("python3", "python")
Emit = Callable[[str], None]


@dataclass(frozen=True)
class Attempt:
    task: str
    number: int  # 0 for the first run, then 1, 2, ... for retries
    retries: int  # how many retries the step allows (0: none)


@dataclass(frozen=True)
class Outcome:
    exit_code: int
    reason: str = ""  # why it failed, one line ("" on success)


def failure_reason(tail: list[str], exit_code: int) -> str:
    """The step's own one-line reason (components print `error: ...`), else its last words."""
    lines = [line.strip() for line in tail if line.strip()]
    for line in reversed(lines):
        if line.startswith(("error:", "internal error:")):
            return line
    return lines[-1] if lines else f"exit code {exit_code}"


class Launcher(Protocol):
    mode: str

    def command_line(self, invocation: Invocation) -> list[str]:
        """What runs, for `-v` (the console masks secrets in it)."""
        ...

    def run(self, attempt: Attempt, invocation: Invocation, emit: Emit) -> Outcome:
        """Run one attempt to its end, emitting its log lines; blocks."""
        ...

    def interrupt(self, *, force: bool) -> None:
        """Stop every running attempt: gracefully (SIGTERM and a grace period), or at once."""
        ...


class ProcessLauncher:
    mode = "process"

    def __init__(self, run: RunContext, base_env: dict[str, str], step_env: dict[str, str] | None = None) -> None:
        self.run_context = run
        self.base_env = base_env  # what a local process inherits (the runner's environment)
        self.step_env = step_env or {}  # what every step gets however it runs (--env-file)
        self._processes: dict[str, subprocess.Popen[str]] = {}
        self._lock = threading.Lock()
        self._stop_signal: int | None = None  # set once the run is interrupted

    def command_line(self, invocation: Invocation) -> list[str]:
        argv = list(invocation.argv)
        if argv and argv[0] in _PYTHONS:
            argv[0] = sys.executable  # the image is not pulled: the project's own Python runs the step
        return argv

    def run(self, attempt: Attempt, invocation: Invocation, emit: Emit) -> Outcome:
        argv = self.command_line(invocation)
        env = {**self.base_env, **self.step_env, **invocation.env, RUN_ID_ENV: self.run_context.run_id, TASK_ENV: attempt.task,
               "PYTHONUNBUFFERED": "1"}
        cwd = self.run_context.task_dir(attempt.task)
        cwd.mkdir(parents=True, exist_ok=True)
        try:
            process = subprocess.Popen(
                argv, env=env, cwd=str(cwd), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                text=True, bufsize=1, start_new_session=True,  # Ctrl-C reaches the runner only; it forwards SIGTERM
            )
        except OSError as exc:
            return Outcome(127, f"cannot start {argv[0]}: {exc.strerror}")
        with self._lock:
            self._processes[attempt.task] = process
            late = self._stop_signal  # interrupted while this step was starting
        if late is not None:
            process.send_signal(late)
        tail: deque[str] = deque(maxlen=30)
        assert process.stdout is not None and process.stderr is not None
        err = threading.Thread(target=_pump, args=(process.stderr, emit, tail), daemon=True)
        err.start()
        _pump(process.stdout, emit, None)
        err.join()
        code = process.wait()
        with self._lock:
            self._processes.pop(attempt.task, None)
        return Outcome(code, failure_reason(list(tail), code) if code else "")

    def interrupt(self, *, force: bool) -> None:
        signum = signal.SIGKILL if force else signal.SIGTERM
        with self._lock:
            self._stop_signal = signum
            processes = list(self._processes.values())
        for process in processes:
            try:
                process.send_signal(signum)
            except ProcessLookupError:
                pass


def _pump(stream: IO[str], emit: Emit, tail: deque[str] | None) -> None:
    for line in stream:
        line = line.rstrip("\n")
        if tail is not None:
            tail.append(line)
        emit(line)
