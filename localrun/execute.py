"""Run a plan's steps, in DAG order, independent steps in parallel: as local processes
(launching.py) or as pods on the cluster's node (pods.py).

KFP's semantics, kept locally: a step starts once every step it depends on has succeeded; a
failed attempt runs again as often as the step's retry limit allows (as Argo retries a pod); a
failed step's dependents do not run (they are reported as skipped) while independent branches
carry on; the run fails if any step failed. Interrupting the runner (Ctrl-C, SIGTERM) stops the
running steps as Kubernetes does when a run is terminated (SIGTERM to a process; a pod is
deleted, which sends it SIGTERM), so they stop their SageMaker jobs, and waits for them.
"""

from __future__ import annotations

import queue
import shlex
import threading
import time
from dataclasses import dataclass, field

from sagemaker_ack_kfp.localrun.console import Console
from sagemaker_ack_kfp.localrun.launching import Attempt, Launcher, ProcessLauncher, failure_reason
from sagemaker_ack_kfp.localrun.plan import Invocation, Plan, ResolutionError, RunContext, topological_order

SUCCEEDED, FAILED, SKIPPED, NOT_RUN = "Succeeded", "Failed", "Skipped", "Not run"
# How long steps get to stop their jobs after SIGTERM before they are killed.
TERMINATION_GRACE_SECONDS = 90.0
__all__ = ["Executor", "RunResult", "StepResult", "failure_reason"]


@dataclass
class StepResult:
    name: str
    status: str = NOT_RUN
    exit_code: int | None = None
    duration: float | None = None
    reason: str = ""
    outputs: dict[str, str] = field(default_factory=dict)
    attempts: int = 0


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


class Executor:
    def __init__(
        self,
        plan: Plan,
        run: RunContext,
        *,
        console: Console,
        base_env: dict[str, str],
        max_parallel: int = 0,
        verbose: bool = False,
        launcher: Launcher | None = None,
    ) -> None:
        self.plan = plan
        self.run_context = run
        self.console = console
        self.launcher = launcher or ProcessLauncher(run, base_env)
        self.max_parallel = max_parallel or len(plan.steps) or 1
        self.verbose = verbose
        self.order = topological_order(plan.steps)
        self.results = {name: StepResult(name) for name in self.order}
        self._events: queue.Queue[tuple[str, int, str, float]] = queue.Queue()
        self._invocations: dict[str, Invocation] = {}
        self._interrupted = threading.Event()

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
                        self.launcher.interrupt(force=True)
                    continue
                running.discard(name)
                self._finish(name, code, reason, duration)
            except KeyboardInterrupt:
                if interrupted_at is None:
                    interrupted_at = time.monotonic()
                    how = "deleting their pods" if self.launcher.mode == "pod" else "SIGTERM"
                    self.console.say(f"interrupted: stopping {len(running)} running step(s) ({how}); Ctrl-C again to kill")
                    self._interrupted.set()
                    self.launcher.interrupt(force=False)
                else:
                    self.launcher.interrupt(force=True)
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
        shown = self.launcher.command_line(invocation)
        self.console.learn_argv(shown)
        self._invocations[name] = invocation
        waiting = ", ".join(self.plan.steps[name].depends_on)
        self.console.step(name, "started" + (f" (after {waiting})" if waiting else ""))
        if self.verbose:
            self.console.step(name, "command: " + shlex.join(self.console.shown_argv(shown)))
        threading.Thread(target=self._supervise, args=(name, invocation), name=f"step-{name}", daemon=True).start()
        return True

    def _supervise(self, name: str, invocation: Invocation) -> None:
        """Every attempt of one step, until one succeeds, the retries run out, or the run is interrupted."""
        started = time.monotonic()
        retries = self.plan.steps[name].retries
        attempt = Attempt(task=name, number=0, retries=retries)
        while True:
            self.results[name].attempts = attempt.number + 1
            try:
                outcome = self.launcher.run(attempt, invocation, lambda line: self.console.step(name, line))
            except Exception as exc:  # noqa: BLE001 - a launcher bug must fail the step, not hang the run
                outcome_code, outcome_reason = 70, f"internal error running the step: {exc}"
            else:
                outcome_code, outcome_reason = outcome.exit_code, outcome.reason
            if outcome_code == 0 or attempt.number >= retries or self._interrupted.is_set():
                break
            self.console.step(
                name, f"attempt {attempt.number + 1} failed (exit code {outcome_code}): "
                f"{self.console.redact(outcome_reason)}; retrying ({attempt.number + 1} of {retries})"
            )
            attempt = Attempt(task=name, number=attempt.number + 1, retries=retries)
        self._events.put((name, outcome_code, outcome_reason, time.monotonic() - started))

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
