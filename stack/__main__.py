"""`python -m sagemaker_ack_kfp.stack up|down|status|env|node-support|images`: the local control plane's CLI."""

from __future__ import annotations

import argparse
import json
import sys

from sagemaker_ack_kfp.simulator.config import PROFILES
from sagemaker_ack_kfp.stack.control_plane import Stack, versions_summary
from sagemaker_ack_kfp.stack.processes import StartFailed

_NODE_MODES = {"auto": "auto", "1": "required", "on": "required", "required": "required", "0": "off", "off": "off"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sagemaker-ack-kfp stack", description=f"Local control plane ({versions_summary()})")
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start (or reuse) the stack")
    up.add_argument(
        "--allow-missing-controller",
        action="store_true",
        help="start without the ACK controller when it cannot be built (tests that need it are skipped)",
    )
    up.add_argument("--no-s3", action="store_true",
                    help="no object store: the simulator neither checks job inputs nor writes outputs (the old mode)")
    up.add_argument("--profile", choices=sorted(PROFILES), default="fast",
                    help="the simulator's timing: " + "; ".join(f"{n}: {p.description}" for n, p in PROFILES.items()))
    up.add_argument("--phase-seconds", type=_positive, help="simulated length of each job phase (overrides the profile)")
    up.add_argument("--rule-seconds", type=_seconds,
                    help="how long Debugger/Profiler rules evaluate after a training job ends (overrides the profile)")
    up.add_argument(
        "--node", choices=sorted(_NODE_MODES), default="off",
        help="a real node (kubelet, containerd, kube-proxy, kube-controller-manager, kube-scheduler): "
        "auto = where this machine can run one, 1 = required, 0 = none (default: 0)",
    )
    sub.add_parser("down", help="stop what `up` started")
    sub.add_parser("status", help="print the stack's state as JSON")
    sub.add_parser("env", help="print shell exports for the running stack")
    sub.add_parser("node-support", help="exit 0 if this machine can run the node, else print why not and exit 1")
    sub.add_parser("images", help="build (or reuse) the images the node runs, without any registry")
    args = parser.parse_args(argv)

    if args.command == "node-support":
        from sagemaker_ack_kfp.stack.node import machine_support

        reason = machine_support()
        print(reason or "yes")
        return 1 if reason else 0
    if args.command == "images":
        from sagemaker_ack_kfp.stack.images import ImageBuildError, build_all

        try:
            build_all()
        except ImageBuildError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        return 0

    stack = Stack()
    if args.command == "up":
        try:
            stack.up(require_controller=not args.allow_missing_controller, phase_seconds=args.phase_seconds,
                     s3=not args.no_s3, profile=args.profile, rule_seconds=args.rule_seconds,
                     node=_NODE_MODES[args.node])
        except StartFailed as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1
        print(f"\nsource {stack.layout.env_file}   # KUBECONFIG, SAGEMAKER_SIMULATOR_URL, AWS_ENDPOINT_URL_S3, ...")
        return 0
    if args.command == "down":
        stack.down()
        return 0
    if args.command == "status":
        print(json.dumps(stack.status(), indent=2))
        return 0
    if stack.running() is None:
        print("error: the local stack is not up; run `make stack-up`", file=sys.stderr)
        return 1
    print(stack.layout.env_file.read_text(), end="")
    return 0


def _seconds(text: str) -> float:
    value = float(text)
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError("must be a number of seconds, zero or more")
    return value


def _positive(text: str) -> float:
    value = _seconds(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be a number of seconds greater than zero")
    return value


if __name__ == "__main__":
    sys.exit(main())
