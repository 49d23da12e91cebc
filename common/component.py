"""The container entrypoint of every generated component:

    python3 -u -m sagemaker_ack_kfp.component --kind TrainingJob --<input> <value> ... \\
        --kfp-run-id {{workflow.uid}} --output-<name> <path> ...

It only parses arguments (built from the kind's generated kind.json) and hands them to the shared
runner; every failure leaves as a one-line reason and a documented exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import traceback

from sagemaker_ack_kfp.errors import InputError, StepError
from sagemaker_ack_kfp.kinds import KindInfo, UnknownKind, known_kinds, load_kind
from sagemaker_ack_kfp.kube import Kube
from sagemaker_ack_kfp.logstreaming import parse_mode
from sagemaker_ack_kfp.progress import Progress
from sagemaker_ack_kfp.redacting import Redactor
from sagemaker_ack_kfp.runner import StepRequest, run_step

# Runtime inputs the runner itself understands; any other runtime input is a kind-specific switch.
_RUNNER_INPUTS = {
    "region", "namespace", "timeout_seconds", "recoverable_grace_seconds", "no_controller_seconds", "stream_logs",
}
EXIT_INTERNAL = 70


class _ArgumentParser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # argparse echoes the unrecognized arguments' values, which may be secrets: name the options only.
        if message.startswith("unrecognized arguments:"):
            options = [token for token in message.split(":", 1)[1].split() if token.startswith("--")]
            message = f"unrecognized arguments: {' '.join(options) or '(values without an option)'} (values not shown)"
        raise InputError(f"bad arguments: {message}")


def _parser(kind: KindInfo) -> argparse.ArgumentParser:
    parser = _ArgumentParser(prog=f"sagemaker_ack_kfp.component --kind {kind.kind}", allow_abbrev=False)
    parser.add_argument("--kind", required=True)
    for item in kind.inputs:
        parser.add_argument(f"--{item.name}", dest=f"in:{item.name}")
    for runtime in kind.runtime_inputs:
        parser.add_argument(f"--{runtime.name}", dest=f"rt:{runtime.name}", default=runtime.default)
    parser.add_argument("--kfp-run-id", dest="run_id", default="")
    for output in kind.outputs:
        parser.add_argument(f"--output-{output.name}", dest=f"out:{output.name}")
    return parser


def _number(name: str, raw: str | None, default: float) -> float:
    if raw in (None, ""):
        return default
    try:
        value = float(raw)
    except ValueError:
        raise InputError(f"input '{name}': expected a number of seconds, got {raw!r}") from None
    if not math.isfinite(value):
        raise InputError(f"input '{name}': expected a finite number of seconds, got {raw!r}")
    if value < 0:
        raise InputError(f"input '{name}': must not be negative, got {raw}")
    return value


def parse_request(argv: list[str]) -> StepRequest:
    kind_parser = _ArgumentParser(add_help=False)
    kind_parser.add_argument("--kind", required=True)
    kind_name = kind_parser.parse_known_args(argv)[0].kind
    try:
        kind = load_kind(kind_name)
    except UnknownKind:
        raise InputError(f"unknown kind {kind_name!r}; known: {', '.join(known_kinds())}") from None
    args = vars(_parser(kind).parse_args(argv))
    runtime = {key[3:]: value for key, value in args.items() if key.startswith("rt:")}
    return StepRequest(
        kind=kind.kind,
        raw_inputs={key[3:]: value for key, value in args.items() if key.startswith("in:") and value not in (None, "")},
        output_paths={key[4:]: value for key, value in args.items() if key.startswith("out:") and value},
        region=runtime.get("region") or "",
        namespace=runtime.get("namespace") or "",
        timeout_seconds=_number("timeout_seconds", runtime.get("timeout_seconds"), 0),
        recoverable_grace_seconds=_number("recoverable_grace_seconds", runtime.get("recoverable_grace_seconds"), 300),
        no_controller_seconds=_number("no_controller_seconds", runtime.get("no_controller_seconds"), 120),
        stream_logs=parse_mode(runtime.get("stream_logs")),
        run_id_arg=args.get("run_id") or "",
        switches={key: value for key, value in runtime.items() if key not in _RUNNER_INPUTS and value is not None},
    )


def main(argv: list[str] | None = None) -> int:
    redactor = Redactor()
    progress = Progress(redactor=redactor)
    try:
        request = parse_request(sys.argv[1:] if argv is None else argv)
        run_step(request, connect=Kube.connect, progress=progress, redactor=redactor)
    except StepError as exc:
        print(f"error: {redactor.text(exc.message)}", file=sys.stderr, flush=True)
        return exc.exit_code
    except Exception as exc:  # noqa: BLE001 - the last line of defence: a reason, not a traceback
        print(f"internal error: {type(exc).__name__}: {redactor.text(str(exc))}", file=sys.stderr, flush=True)
        if os.environ.get("SAGEMAKER_ACK_KFP_DEBUG"):
            traceback.print_exc()
        else:
            print("set SAGEMAKER_ACK_KFP_DEBUG=1 for the traceback, and please report it", file=sys.stderr)
        return EXIT_INTERNAL
    return 0


if __name__ == "__main__":
    sys.exit(main())
