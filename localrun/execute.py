"""Run a plan's steps as local processes, in DAG order, independent steps in parallel.

KFP's semantics, kept locally: a step starts once every step it depends on has succeeded; a
failed step's dependents do not run (they are reported as skipped) while independent branches
carry on; the run fails if any step failed. Interrupting the runner (Ctrl-C, SIGTERM) sends
SIGTERM to the running steps, as Kubernetes does when a run is terminated, so they stop their
SageMaker jobs, and waits for them.
"""

from __future__ import annotations

import queue
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import IO

from sagemaker_ack_kfp.localrun.console import Console
from sagemaker_ack_kfp.localrun.plan import Invocation, Plan, ResolutionError, RunContext, topological_order

SUCCEEDED, FAILED, SKIPPED, NOT_RUN = "Succeeded", "Failed", "Skipped", "Not run"
RUN_ID_ENV, TASK_ENV = "SAGEMAKER_ACK_KFP_RUN_ID", "SAGEMAKER_ACK_KFP_TASK"
# How long steps get to stop their jobs after SIGTERM before they are killed.
TERMINATION_GRACE_SECONDS = 90.0
_PYTHONS = ("python3", "python")


@dataclass
class StepResult:
    name: str
    status: str = NOT_RUN
    exit_code: int | None = None
    duration: float | None = None
    reason: str = ""
    outputs: dict[str, str] = field(default_factory=dict)


@dataclass
class RunResult:
    run_id: str
    steps: dict[str, StepResult]
    interrupted: bool = False

    @property
    def succeeded(self) -> bool:
        return not self.interrupted and all(step.status == SUCCEEDED for step in self.steps.values())

    @property
    def failures(self) -> list[StepResult]:
        return [step for step in self.steps.values() if step.status == FAILED]


def failure_reason(stderr_tail: list[str], exit_code: int) -> str:
    """The step's own one-line reason (components print `error: ...`), else its last words."""
    lines = [line.strip() for line in stderr_tail if line.strip()]
    for line in reversed(lines):
        if line.startswith(("error:", "internal error:")):
            return line
    return lines[-1] if lines else f"exit code {exit_code}"


class Executor:
    def __init__(
        self,
        plan: Plan,
        run: RunContext,
        *,
        console: Console,
        base_env: dict[str, str],
        step_env: dict[str, str] | None = None,
        max_parallel: int = 0,
        verbose: bool = False,
    ) -> None:
        self.plan = plan
        self.run_context = run
        self.console = console
        self.base_env = base_env  # what a local process inherits (the runner's environment)
        self.step_env = step_env or {}  # what every step gets however it runs (--env-file)
        self.max_parallel = max_parallel or len(plan.steps) or 1
        self.verbose = verbose
        self.order = topological_order(plan.steps)
        self.results = {name: StepResult(name) for name in self.order}
        self._events: queue.Queue[tuple[str, int, str, float]] = queue.Queue()
        self._processes: dict[str, subprocess.Popen[str]] = {}
        self._invocations: dict[str, Invocation] = {}
        self._lock = threading.Lock()
        self._stop_signal: int | None = None  # set once the run is interrupted

    # ----- the schedule ------------------------------------------------------------------
    def run(self) -> RunResult:
        pending = list(self.order)
        running: set[str] = set()
        interrupted_at: float | None = None
        while pending or running:
            try:
                if interrupted_at is None:
                    pending = self._start_ready(pending, running)
                if not running:
                    break
                try:
                    name, code, reason, duration = self._events.get(timeout=1.0)
                except queue.Empty:
                    if interrupted_at is not None and time.monotonic() - interrupted_at > TERMINATION_GRACE_SECONDS:
                        self._signal_all(signal.SIGKILL)
                    continue
                running.discard(name)
                self._finish(name, code, reason, duration)
            except KeyboardInterrupt:
                if interrupted_at is None:
                    interrupted_at = time.monotonic()
                    self.console.say(f"interrupted: stopping {len(running)} running step(s) (SIGTERM); Ctrl-C again to kill")
                    self._signal_all(signal.SIGTERM)
                else:
                    self._signal_all(signal.SIGKILL)
        for name in pending:
            self.results[name].reason = "the run was interrupted"
        return RunResult(self.run_context.run_id, self.results, interrupted=interrupted_at is not None)

    def _start_ready(self, pending: list[str], running: set[str]) -> list[str]:
        """Skip what can no longer run, start what can; repeat while that changes anything."""
        changed = True
        while changed:
            changed = False
            still: list[str] = []
            for name in pending:
                step = self.plan.steps[name]
                blocked = [dep for dep in step.depends_on if self.results[dep].status in (FAILED, SKIPPED)]
                if blocked:
                    result = self.results[name]
                    result.status = SKIPPED
                    result.reason = f"upstream step {blocked[0]} {self.results[blocked[0]].status.lower()}"
                    self.console.step(name, f"skipped: {result.reason}")
                    changed = True
                elif all(self.results[dep].status == SUCCEEDED for dep in step.depends_on) and len(running) < self.max_parallel:
                    if self._start(name):
                        running.add(name)
                    else:
                        changed = True  # it failed before starting: its dependents are now blocked
                else:
                    still.append(name)
            pending = still
        return pending

    # ----- one step ----------------------------------------------------------------------
    def _start(self, name: str) -> bool:
        """Resolve the step's command and start it; False if it failed before starting."""
        run = self.run_context
        try:
            invocation = self.plan.steps[name].invocation(run)
        except ResolutionError as exc:
            self._finish(name, -1, f"cannot resolve the step's inputs: {exc}", 0.0)
            return False
        argv = list(invocation.argv)
        if argv and argv[0] in _PYTHONS:
            argv[0] = sys.executable  # the image is not pulled: the project's own Python runs the step
        invocation.argv = argv
        self.console.learn_argv(argv)
        env = {**self.base_env, **self.step_env, **invocation.env, RUN_ID_ENV: run.run_id, TASK_ENV: name, "PYTHONUNBUFFERED": "1"}
        self._invocations[name] = invocation
        waiting = ", ".join(self.plan.steps[name].depends_on)
        self.console.step(name, "started" + (f" (after {waiting})" if waiting else ""))
        if self.verbose:
            self.console.step(name, "command: " + shlex.join(self.console.shown_argv(argv)))
        cwd = run.task_dir(name)
        cwd.mkdir(parents=True, exist_ok=True)
        threading.Thread(target=self._supervise, args=(name, argv, env, str(cwd)), name=f"step-{name}", daemon=True).start()
        return True

    def _supervise(self, name: str, argv: list[str], env: dict[str, str], cwd: str) -> None:
        started = time.monotonic()
        try:
            process = subprocess.Popen(
                argv, env=env, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                text=True, bufsize=1, start_new_session=True,  # Ctrl-C reaches the runner only; it forwards SIGTERM
            )
        except OSError as exc:
            self._events.put((name, 127, f"cannot start {argv[0]}: {exc.strerror}", time.monotonic() - started))
            return
        with self._lock:
            self._processes[name] = process
            late = self._stop_signal  # interrupted while this step was starting
        if late is not None:
            process.send_signal(late)
        tail: deque[str] = deque(maxlen=30)
        assert process.stdout is not None and process.stderr is not None
        err = threading.Thread(target=self._pump, args=(name, process.stderr, tail), daemon=True)
        err.start()
        self._pump(name, process.stdout, None)
        err.join()
        code = process.wait()
        with self._lock:
            self._processes.pop(name, None)
        self._events.put((name, code, failure_reason(list(tail), code) if code else "", time.monotonic() - started))

    def _pump(self, name: str, stream: IO[str], tail: deque[str] | None) -> None:
        for line in stream:
            line = line.rstrip("\n")
            if tail is not None:
                tail.append(line)
            self.console.step(name, line)

    def _finish(self, name: str, code: int, reason: str, duration: float) -> None:
        result = self.results[name]
        result.exit_code, result.duration = code, duration
        if code == 0:
            try:
                collected = self.plan.steps[name].collect(self._invocations[name])
            except ResolutionError as exc:
                code, reason = 1, str(exc)
            else:
                self.run_context.outputs[name] = collected.values
                result.outputs = {key: self.console.redact(text) for key, text in collected.display.items()}
                result.status = SUCCEEDED
                self.console.step(name, f"succeeded in {duration:.1f}s")
                return
        result.status, result.reason = FAILED, self.console.redact(reason)
        shown = f" (exit code {code})" if code >= 0 else ""
        self.console.step(name, f"FAILED{shown} after {duration:.1f}s: {result.reason}")

    def _signal_all(self, signum: int) -> None:
        with self._lock:
            self._stop_signal = signum
            processes = list(self._processes.values())
        for process in processes:
            try:
                process.send_signal(signum)
            except ProcessLookupError:
                pass
