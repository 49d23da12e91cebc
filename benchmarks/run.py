"""`python -m benchmarks.run`: one full benchmark on a private stack of its own (etcd,
kube-apiserver with an audit log, the simulator, the real ACK controller), all figures from the
same run, written to benchmarks/results/<date>.json, printed as a table, and copied into
benchmarks/README.md. Exits 2 at once, with the reason, when the ACK controller is missing.

Order (defaults): 5 + 5 long jobs and 20 + 20 + 20 short jobs, ours, ours streaming its job's
logs and the baseline interleaved, started 0.75 s apart; when all have ended, 50 of ours at once.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import signal
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from types import FrameType
from typing import Any

from kubernetes import config

from benchmarks import access, audit, environment, figures, report, steps
from benchmarks.observer import Observer
from sagemaker_ack_kfp.naming import RUN_LABEL
from sagemaker_ack_kfp.stack.control_plane import Stack, StackState, step_environment
from sagemaker_ack_kfp.stack.layout import StackLayout, binary_paths

HERE = Path(__file__).resolve().parent
EXIT_NO_CONTROLLER = 2


def _say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=20, help="short-job steps of each flavour (>= 20 for p95)")
    parser.add_argument("--long-steps", type=int, default=5, help="ten-times-longer-job steps of each flavour")
    parser.add_argument("--logs-steps", type=int, default=20, help="short-job steps of ours streaming the job's logs")
    parser.add_argument("--concurrent", type=int, default=50, help="steps of ours started at once")
    parser.add_argument("--short-phase", type=float, default=3.0, help="sim/phase-seconds of the short job")
    parser.add_argument("--long-factor", type=float, default=10.0, help="the long job's phase, as a multiple")
    parser.add_argument("--stagger", type=float, default=0.75, help="seconds between step starts (not the concurrent batch)")
    parser.add_argument("--poll-seconds", type=float, default=30.0, help="the baseline's polling interval")
    parser.add_argument("--step-timeout", type=float, default=900.0, help="kill a step after this many seconds")
    parser.add_argument("--results-dir", type=Path, default=HERE / "results")
    parser.add_argument("--no-readme", action="store_true", help="do not update benchmarks/README.md")
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it (stack logs, audit log, step output)")
    return parser


def controller_missing() -> str:
    """Why the benchmark cannot run, or '' when the controller binary is there."""
    binary = binary_paths()["controller"]
    if binary.exists():
        return ""
    return (
        f"the benchmark needs the ACK sagemaker-controller, and its binary is missing ({binary}).\n"
        "It measures how fast a step notices the status the controller writes, so without the controller\n"
        "there is nothing to measure. The binary is built by `hack/build-binaries.sh controller`, which fails\n"
        "on machines whose Go module proxy refuses the controller's Go module (HTTP 403); there, point\n"
        "ACK_CONTROLLER_BIN at a build of the pinned controller version and run the benchmark again."
    )


class Session:
    """Everything one benchmark run starts, so that it can all be stopped."""

    def __init__(self, root: Path, args: argparse.Namespace) -> None:
        self.root = root
        self.args = args
        self.stack = Stack(StackLayout(root / "stack"))
        self.runs: list[steps.StepRun] = []

    def plan(self, flavour: str, scenario: str, index: int, phase: float, namespace: str) -> steps.StepPlan:
        admin = self.admin
        workdir = self.root / "steps" / f"{flavour}-{scenario}-{index:02d}"
        account = f"{flavour}-{scenario}-{index:02d}"
        user = access.step_kubeconfig(
            admin, admin_kubeconfig=self.stack.layout.kubeconfig, namespace=namespace, account=account,
            path=workdir / "kubeconfig",
        )
        if flavour == steps.BASELINE:
            return steps.baseline(
                scenario=scenario, index=index, namespace=namespace, phase_seconds=phase,
                kubeconfig=workdir / "kubeconfig", user=user, workdir=workdir,
            )
        # The logs flavour gets what the stack gives steps: credentials and the Logs endpoint.
        return steps.ours(
            scenario=scenario, index=index, namespace=namespace, phase_seconds=phase,
            kubeconfig=workdir / "kubeconfig", user=user, workdir=workdir,
            streaming_env=step_environment(self.state) if flavour == steps.OURS_LOGS else None,
        )

    def launch(self, plans: list[steps.StepPlan], *, stagger: float) -> list[steps.StepRun]:
        launched = []
        for position, plan in enumerate(plans):
            if position and stagger:
                time.sleep(stagger)
            run = steps.launch(plan, timeout=self.args.step_timeout)
            self.runs.append(run)
            launched.append(run)
        return launched

    def wait(self, runs: list[steps.StepRun], what: str) -> None:
        pending = list(runs)
        while pending:
            pending[0].join(30)
            done = [run for run in pending if run.exited is not None]
            pending = [run for run in pending if run.exited is None]
            if done or pending:
                _say(f"{what}: {len(runs) - len(pending)}/{len(runs)} steps ended")

    def logs_calls(self) -> int:
        """CloudWatch Logs requests the simulator answered (or throttled) in this run."""
        with urllib.request.urlopen(f"{self.state.simulator_url}/_sim/calls", timeout=10) as response:
            counters = json.loads(response.read())
        return sum(int(counters["calls"].get(op, 0)) for op in ("DescribeLogStreams", "GetLogEvents"))

    def kill_leftovers(self) -> None:
        for run in self.runs:
            run.kill()

    def run(self) -> dict[str, Any]:
        args = self.args
        began = time.time()
        _say("starting a private stack with the ACK controller")
        # No object store: the benchmark measures a step's overhead, not data; its jobs read no
        # S3 input (the no-S3 mode the earlier results were measured in).
        self.state: StackState = self.stack.up(require_controller=True, s3=False)
        self.admin = config.new_client_from_config(config_file=str(self.stack.layout.kubeconfig))
        namespace = access.create_namespace(self.admin)
        observer = Observer(config.new_client_from_config(config_file=str(self.stack.layout.kubeconfig)), namespace)
        observer.start()

        long_phase = args.short_phase * args.long_factor
        total = 2 * (args.steps + args.long_steps) + args.logs_steps + args.concurrent
        _say(f"namespace {namespace}: one service account per step; planning {total} steps")
        paired: list[steps.StepPlan] = []
        for index in range(args.long_steps):
            paired += [self.plan(flavour, "long", index, long_phase, namespace) for flavour in (steps.OURS, steps.BASELINE)]
        for index in range(max(args.steps, args.logs_steps)):
            flavours = [steps.OURS] * (index < args.steps) + [steps.OURS_LOGS] * (index < args.logs_steps)
            flavours += [steps.BASELINE] * (index < args.steps)
            paired += [self.plan(flavour, "main", index, args.short_phase, namespace) for flavour in flavours]
        crowd = [self.plan(steps.OURS, "concurrent", index, args.short_phase, namespace) for index in range(args.concurrent)]

        _say(f"{len(paired)} steps (ours, ours streaming logs and the baseline interleaved), {args.stagger:g} s apart")
        first = self.launch(paired, stagger=args.stagger)
        self.wait(first, "short and long jobs")
        _say(f"{len(crowd)} steps of ours at once")
        crowd_began = time.time()
        crowd_runs = self.launch(crowd, stagger=0)
        self.wait(crowd_runs, f"{len(crowd)} at once")
        crowd_wall = max((run.exited or crowd_began for run in crowd_runs), default=crowd_began) - crowd_began
        time.sleep(1)  # let the API server log the last watches' ResponseComplete
        observer.stop()

        users = {run.plan.user for run in self.runs}
        with self.stack.layout.audit_log.open() as handle:
            requests = audit.requests_by_user(audit.parse_lines(handle), users)
        per_step = []
        for run in self.runs:
            name = run.plan.name or observer.name_with_label(RUN_LABEL, run.plan.run_id) or ""
            per_step.append(
                figures.step_figures(
                    run, name, observer.sighting(name), requests.get(run.plan.user),
                    watch_interruptions=observer.interruptions,
                )
            )

        ours = [f for f in per_step if f.flavour == steps.OURS and f.scenario != "concurrent"]
        base = [f for f in per_step if f.flavour == steps.BASELINE]
        logs = [f for f in per_step if f.flavour == steps.OURS_LOGS]
        metrics = {
            "ours": figures.flavour_metrics(ours, main="main", long="long"),
            "baseline": figures.flavour_metrics(base, main="main", long="long"),
            "concurrent": figures.concurrent_metrics([f for f in per_step if f.scenario == "concurrent"], crowd_wall),
            "ours_logs": figures.flavour_metrics(logs, main="main", long="long"),
        }
        # Only the logs flavour calls CloudWatch Logs, and the stack is the benchmark's own.
        logs_calls = self.logs_calls()
        metrics["ours_logs"]["logs_requests"] = logs_calls
        metrics["ours_logs"]["logs_requests_per_step"] = round(logs_calls / len(logs), 1) if logs else None
        results: dict[str, Any] = {
            "date": dt.date.today().isoformat(),
            "started_at": dt.datetime.fromtimestamp(began, dt.timezone.utc).isoformat(timespec="seconds"),
            "duration_seconds": round(time.time() - began, 1),
            **environment.describe(),
            "config": {
                "steps": args.steps,
                "long_steps": args.long_steps,
                "logs_steps": args.logs_steps,
                "concurrent": args.concurrent,
                "short_phase_seconds": args.short_phase,
                "long_phase_seconds": long_phase,
                "stagger_seconds": args.stagger,
                "baseline_poll_seconds": args.poll_seconds,
                "watch_interruptions": observer.errors,
            },
            "metrics": metrics,
            "targets": report.evaluate(metrics),
            "failures": [
                {"flavour": f.flavour, "scenario": f.scenario, "name": f.name, "problem": f.problem}
                for f in per_step if not f.ok
            ],
            "steps": [figures.as_dict(f) for f in per_step],
        }
        return results


def _write(results: dict[str, Any], args: argparse.Namespace) -> Path:
    args.results_dir.mkdir(parents=True, exist_ok=True)
    path = args.results_dir / f"{results['date']}.json"
    path.write_text(json.dumps(results, indent=2) + "\n")
    if not args.no_readme:
        readme = HERE / "README.md"
        try:
            shown = path.resolve().relative_to(HERE.parent)
        except ValueError:
            shown = path
        text = readme.read_text() if readme.exists() else ""
        readme.write_text(report.replace_section(text, report.readme_section(results, str(shown))))
    return path


def _terminate(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"received {signal.Signals(signum).name}")


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    missing = controller_missing()
    if missing:
        print(f"error: {missing}", file=sys.stderr)
        return EXIT_NO_CONTROLLER
    signal.signal(signal.SIGTERM, _terminate)
    meter = environment.CpuMeter()
    with tempfile.TemporaryDirectory(prefix="sagemaker-ack-kfp-bench-") as tmp:
        session = Session(args.keep.resolve() if args.keep else Path(tmp), args)
        try:
            results = session.run()
        finally:
            session.kill_leftovers()
            _say("stopping the private stack")
            session.stack.down(quiet=True)
    results["machine_load"] = meter.other()
    path = _write(results, args)
    print()
    print(report.context_line(results))
    print(report.markdown(results))
    print("\n".join(report.details(results)))
    print()
    print(report.logs_markdown(results))
    _say(f"results: {path}")
    return 0 if not results["failures"] else 1


if __name__ == "__main__":
    sys.exit(main())
