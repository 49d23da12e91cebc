"""One measured step process: ours (the generated TrainingJob component, with the argv KFP
builds from components/TrainingJob/component.yaml; without AWS credentials, so its job's logs
are not streamed), ours streaming its job's logs (the same, with the environment the stack gives
steps: fake credentials and the simulator as CloudWatch Logs), or the 30-second-poll baseline. Launching
records the wall-clock start, the first line of output, the exit, and the kernel's own figures
for the process (peak RSS and CPU time from wait4's rusage, exact and free of polling)."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from sagemaker_ack_kfp.codegen.ack_release import REPO_ROOT
from sagemaker_ack_kfp.naming import RUN_LABEL
from tests.support.component_command import COMPONENTS, resolve_args
from tests.support.manifests import training_arguments, training_spec

OURS, OURS_LOGS, BASELINE = "ours", "ours-logs", "baseline"
_TAIL_LINES = 20
_JOB_LOG_LINE = re.compile(r"^\[[^\]]+\] ")


@dataclass
class StepPlan:
    flavour: str  # OURS or BASELINE
    scenario: str  # "main", "long", "concurrent"
    phase_seconds: float
    argv: list[str]
    env: dict[str, str]
    workdir: Path
    user: str  # the audit log's username for this step's service account
    run_id: str
    name: str = ""  # known up front for the baseline; ours derives it (found by its run label)


@dataclass
class StepRun:
    plan: StepPlan
    started: float = 0.0
    first_output: float | None = None
    exited: float | None = None
    returncode: int | None = None
    max_rss_kb: int = 0
    cpu_seconds: float = 0.0
    killed: bool = False
    tail: list[str] = field(default_factory=list)
    log_lines: int = 0  # lines of the job's own log the step printed (`[algo-1-...] ...`)
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _pid: int = 0

    @property
    def ok(self) -> bool:
        return self.returncode == 0

    def join(self, timeout: float | None = None) -> None:
        assert self._thread is not None
        self._thread.join(timeout)

    def kill(self) -> None:
        """SIGKILL the step if it has not been reaped yet (never a pid that is no longer ours)."""
        with self._lock:
            if self._pid and self.returncode is None:
                self.killed = True
                os.kill(self._pid, signal.SIGKILL)


def _step_env(kubeconfig: Path, **extra: str) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "KUBECONFIG": str(kubeconfig),
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def ours(
    *, scenario: str, index: int, namespace: str, phase_seconds: float, kubeconfig: Path, user: str, workdir: Path,
    streaming_env: dict[str, str] | None = None,
) -> StepPlan:
    """The component exactly as KFP runs it: component.yaml's command and args, resolved.
    `streaming_env`: AWS credentials and endpoint, with which it streams its job's logs."""
    component = yaml.safe_load((COMPONENTS / "TrainingJob" / "component.yaml").read_text())
    arguments = training_arguments(namespace, spec=training_spec("unused", phase_seconds=f"{phase_seconds:g}"))
    run_id = str(uuid.uuid4())
    argv, _ = resolve_args(component, arguments, workdir / "outputs", run_id)
    if argv[0] == "python3":
        argv[0] = sys.executable
    env = _step_env(kubeconfig, SAGEMAKER_ACK_KFP_TASK=f"{scenario}{index}", **(streaming_env or {}))
    return StepPlan(OURS_LOGS if streaming_env else OURS, scenario, phase_seconds, argv, env, workdir, user, run_id)


def baseline(*, scenario: str, index: int, namespace: str, phase_seconds: float, kubeconfig: Path, user: str, workdir: Path) -> StepPlan:
    run_id = str(uuid.uuid4())
    name = f"base-{scenario}{index}-{run_id[:8]}"
    workdir.mkdir(parents=True, exist_ok=True)
    spec_file = workdir / "spec.json"
    spec_file.write_text(json.dumps(training_spec(name, phase_seconds=f"{phase_seconds:g}")))
    argv = [
        sys.executable, "-u", "-m", "benchmarks.baseline",
        "--namespace", namespace, "--name", name, "--spec", str(spec_file),
        "--label", f"{RUN_LABEL}={run_id}", "--output-dir", str(workdir / "outputs"),
    ]
    env = _step_env(kubeconfig, PYTHONPATH=str(REPO_ROOT))
    return StepPlan(BASELINE, scenario, phase_seconds, argv, env, workdir, user, run_id, name)


def launch(plan: StepPlan, *, timeout: float) -> StepRun:
    """Start the step; a thread follows its output and reaps it. Killed after `timeout`."""
    plan.workdir.mkdir(parents=True, exist_ok=True)
    run = StepRun(plan)
    run.started = time.time()
    proc = subprocess.Popen(
        plan.argv, env=plan.env, cwd=plan.workdir,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    run._pid = proc.pid
    killer = threading.Timer(timeout, run.kill)
    killer.daemon = True
    killer.start()

    def follow() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            if run.first_output is None:
                run.first_output = time.time()
            if _JOB_LOG_LINE.match(line):
                run.log_lines += 1
            run.tail = [*run.tail[-(_TAIL_LINES - 1):], line.rstrip("\n")]
        # Wait without reaping, then reap with wait4 (its rusage holds this very process's peak
        # RSS and CPU time) under the lock the timeout's kill takes, so it never hits a reused pid.
        os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
        exited = time.time()
        killer.cancel()
        with run._lock:
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = run.returncode = os.waitstatus_to_exitcode(status)
        run.max_rss_kb = int(usage.ru_maxrss)
        run.cpu_seconds = usage.ru_utime + usage.ru_stime
        proc.stdout.close()
        run.exited = exited  # last: a set `exited` means every figure above is in place

    run._thread = threading.Thread(target=follow, name=f"step-{plan.run_id[:8]}", daemon=True)
    run._thread.start()
    return run

