"""`python -m sagemaker_ack_kfp.localrun PIPELINE.yaml --param NAME=VALUE ...`
(also `sagemaker-ack-kfp run-local ...`): run a compiled KFP pipeline, step by step, against the
cluster in $KUBECONFIG.

PIPELINE is what KFP SDK 1.8 (an Argo Workflow) or KFP SDK 2.x (the pipeline IR) compiled.
--mode process (default): each step runs its container command with this Python instead of
pulling the image, with the run and task identity a KFP pod would have. --mode pod: each step is
a Pod on the cluster's node, built as KFP 1.8's Argo executor builds it (pods.py). Exit codes: 0
every step succeeded, 1 a step failed, 2 the pipeline or its parameters cannot be run (nothing
was started), 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
import uuid
from pathlib import Path

from sagemaker_ack_kfp.localrun.console import Console
from sagemaker_ack_kfp.localrun.envfile import read_env_file
from sagemaker_ack_kfp.localrun.execute import Executor, RunResult
from sagemaker_ack_kfp.localrun.kubeconfig import current_namespace, source_kubeconfig, with_namespace
from sagemaker_ack_kfp.localrun.launching import Launcher, ProcessLauncher
from sagemaker_ack_kfp.localrun.loader import load_plan
from sagemaker_ack_kfp.localrun.plan import PipelineError, Plan, RunContext
from sagemaker_ack_kfp.localrun.pods import PodLauncher, kept_pods_hint
from sagemaker_ack_kfp.rbac.manifests import default_service_account
from sagemaker_ack_kfp.localrun.report import abbreviate, as_json, summary_lines, write_json

EXIT_STEP_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 1, 2, 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sagemaker_ack_kfp.localrun",
        description="Run a compiled KFP pipeline (KFP SDK 1.8 Argo Workflow or 2.x IR) locally, step by step, "
        "against the cluster in $KUBECONFIG.",
    )
    parser.add_argument("pipeline", type=Path, help="the compiled pipeline (.yaml)")
    parser.add_argument("--param", action="append", default=[], metavar="NAME=VALUE",
                        help="a pipeline parameter (repeat); STRUCT/LIST parameters of a 2.x pipeline take JSON")
    parser.add_argument("--namespace", help="namespace the steps create their resources in "
                        "(default: the kubeconfig context's namespace)")
    parser.add_argument("--run-id", help="the run id (default: a new UUID). Reusing an interrupted run's id "
                        "makes its steps reattach to the resources they created")
    parser.add_argument("--workdir", type=Path, help="keep the steps' folders and output files here "
                        "(default: a temporary folder, removed afterwards)")
    parser.add_argument("--env-file", action="append", default=[], type=Path, metavar="FILE",
                        help="variables every step gets, NAME=VALUE per line as for `docker run --env-file` "
                        "(repeat; later files win), e.g. the local stack's .stack/step.env")
    parser.add_argument("--max-parallel", type=int, default=0, metavar="N", help="at most N steps at once (default: no limit)")
    parser.add_argument("--report", type=Path, metavar="FILE", help="also write the run's result as JSON")
    parser.add_argument("-v", "--verbose", action="store_true", help="print each step's command line (secrets masked)")
    parser.add_argument("--mode", choices=("process", "pod"), default="process",
                        help="process: each step a local process (default); pod: each step a Pod on the cluster's "
                        "node, as KFP runs it (needs a node and the component image on it)")
    parser.add_argument("--service-account", metavar="NAME", help="pod mode: the pipeline's service account (default, "
                        "as in KFP: pipeline-runner in namespace kubeflow, default-editor elsewhere)")
    parser.add_argument("--pod-start-timeout", type=float, default=300.0, metavar="SECONDS",
                        help="pod mode: fail a step whose pod has not started after this long (default: 300)")
    return parser


def _parameters(raw: list[str]) -> dict[str, str]:
    params: dict[str, str] = {}
    for item in raw:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise PipelineError(f"--param {item!r}: expected NAME=VALUE")
        params[name] = value
    return params


def _header(console: Console, plan: Plan, run: RunContext, warnings: list[str]) -> None:
    console.say(f"run {run.run_id}: pipeline {plan.name} ({plan.form}), {len(plan.steps)} step(s), namespace {run.namespace}")
    shown = console.redact_structure(run.params)
    for name in sorted(shown):
        console.say(f"  parameter {name} = {abbreviate(str(shown[name]), 100)}")
    for warning in warnings:
        console.say(f"warning: {warning}")


def _footer(console: Console, result: RunResult) -> None:
    console.say()
    for line in summary_lines(result):
        console.say(line)
    console.say()
    if result.succeeded:
        console.say(f"run {result.run_id} succeeded")
    elif result.interrupted:
        console.say(f"run {result.run_id} was interrupted")
    else:
        for step in result.failures:
            console.say(f"run {result.run_id} failed: step {step.name}: {step.reason}")


def _launcher(args: argparse.Namespace, plan: Plan, run: RunContext, env: dict[str, str],
              step_env: dict[str, str]) -> Launcher:
    if args.mode == "process":
        return ProcessLauncher(run, env, step_env)
    # As the KFP API server does: the run's account, else its default for the namespace (the
    # compiler's own `serviceAccountName: pipeline-runner` is always replaced).
    account = args.service_account or default_service_account(run.namespace)
    kubeconfig = env.get("KUBECONFIG") or str(source_kubeconfig())
    launcher = PodLauncher(run, service_account=account, kubeconfig=kubeconfig, start_timeout=args.pod_start_timeout,
                           step_env=step_env)
    launcher.check()
    return launcher


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    console = Console()
    private = Path(tempfile.mkdtemp(prefix="kfp-localrun-"))  # kubeconfig copy; always removed
    workdir = args.workdir.resolve() if args.workdir else private / "steps"
    try:
        try:
            plan, warnings = load_plan(args.pipeline)
            params = plan.resolve_parameters(_parameters(args.param))
            env = dict(os.environ)
            step_env: dict[str, str] = {}
            for env_file in args.env_file:
                step_env.update(read_env_file(env_file, os.environ))
            namespace = args.namespace or current_namespace()
            if args.namespace:
                env["KUBECONFIG"] = str(with_namespace(args.namespace, target_dir=private))
        except PipelineError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        console.learn(params)
        console.learn(step_env)  # a secret-looking variable's value is never printed
        workdir.mkdir(parents=True, exist_ok=True)
        run = RunContext(
            run_id=args.run_id or str(uuid.uuid4()), workdir=workdir, namespace=namespace,
            pipeline_name=plan.name, params=params,
        )
        try:
            launcher = _launcher(args, plan, run, env, step_env)
        except PipelineError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        if launcher.mode == "pod":
            warnings = [w for w in warnings if "(valueFrom)" not in w]  # a pod resolves those itself
        _header(console, plan, run, warnings)
        if isinstance(launcher, PodLauncher):
            console.say(f"pod mode: every step a Pod in namespace {namespace} as service account "
                        f"{launcher.service_account}; pods are kept: {kept_pods_hint(run)}")
        # SIGTERM (a CI job cancelled, `kill`) is handled like Ctrl-C: the steps are stopped.
        previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
        try:
            result = Executor(plan, run, console=console, base_env=env, max_parallel=args.max_parallel,
                              verbose=args.verbose, launcher=launcher).run()
        finally:
            signal.signal(signal.SIGTERM, previous)
        _footer(console, result)
        if args.report:
            write_json(args.report, as_json(result, pipeline=plan.name, form=plan.form, namespace=namespace))
        if args.workdir:
            console.say(f"step folders and output files: {workdir}")
        if result.interrupted:
            return EXIT_INTERRUPTED
        return 0 if result.succeeded else EXIT_STEP_FAILED
    finally:
        shutil.rmtree(private, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
