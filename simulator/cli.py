"""Command line: `serve` runs the simulator, `list` shows what it holds."""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
import urllib.error
import urllib.request
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Sequence

from .config import DEFAULT_ACCOUNT_ID, DEFAULT_PROFILE, DEFAULT_REGION, PROFILES, SimulatorConfig
from .server import start_server

DEFAULT_URL = os.environ.get("SAGEMAKER_SIMULATOR_URL", "http://127.0.0.1:8000")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return int(args.run(args))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sagemaker_ack_kfp.simulator",
                                     description="SageMaker API simulator for offline pipelines.")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the simulator until interrupted")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000, help="0 picks a free port")
    serve.add_argument("--port-file", type=Path, help="write the port actually bound here")
    serve.add_argument("--profile", choices=sorted(PROFILES), default=DEFAULT_PROFILE,
                       help="timing preset: " + "; ".join(f"{name}: {p.description}" for name, p in PROFILES.items()))
    serve.add_argument("--phase-seconds", type=_positive,
                       help="length of one lifecycle phase (a training job takes five); overrides the profile")
    serve.add_argument("--rule-seconds", type=_not_negative,
                       help="how long Debugger/Profiler rule evaluations stay InProgress after a training job ends; "
                            "overrides the profile")
    serve.add_argument("--s3-endpoint-url", metavar="URL",
                       help="S3 endpoint (the local stack's object store) that jobs read inputs from and write "
                            "outputs to; without it the simulator runs in the no-S3 mode (no data checked or written)")
    serve.add_argument("--account-id", default=DEFAULT_ACCOUNT_ID)
    serve.add_argument("--region", default=DEFAULT_REGION, help="used when a request is not SigV4-signed")
    serve.add_argument("--verbose", action="store_true", help="also log request bodies (secrets redacted)")
    serve.set_defaults(run=_serve)

    listing = commands.add_parser("list", help="print the simulated resources as a table")
    listing.add_argument("--url", default=DEFAULT_URL)
    listing.add_argument("--kind", help="only this kind, e.g. TrainingJob")
    listing.set_defaults(run=_list)
    return parser


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError("must be a number of seconds greater than zero")
    return value


def _not_negative(text: str) -> float:
    value = float(text)
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError("must be a number of seconds, zero or more")
    return value


def _serve(args: argparse.Namespace) -> int:
    logging.basicConfig(stream=sys.stderr, level=logging.DEBUG if args.verbose else logging.INFO,
                        format="%(asctime)s %(message)s")
    config = serve_config(args)
    server, thread = start_server(args.host, args.port, config=config)
    port = server.server_address[1]
    if args.port_file:
        # Write then rename, so a watcher never reads a half-written port.
        partial = args.port_file.with_name(args.port_file.name + ".tmp")
        partial.write_text(f"{port}\n")
        partial.replace(args.port_file)
    logger = logging.getLogger("sagemaker_ack_kfp.simulator")
    logger.info("listening on %s (phase %gs, rules %gs after a job, %s)", server.url, config.phase_seconds,
                config.rule_seconds, f"S3 at {config.s3_endpoint_url}" if config.s3_endpoint_url else "no S3")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    server.shutdown()
    server.server_close()
    thread.join()
    return 0


def serve_config(args: argparse.Namespace) -> SimulatorConfig:
    """The profile's timings, each overridden by its own flag if given."""
    profile = PROFILES[args.profile]
    return SimulatorConfig(
        account_id=args.account_id, default_region=args.region,
        phase_seconds=args.phase_seconds if args.phase_seconds is not None else profile.phase_seconds,
        rule_seconds=args.rule_seconds if args.rule_seconds is not None else profile.rule_seconds,
        s3_endpoint_url=args.s3_endpoint_url,
    )


def parse(argv: Sequence[str]) -> argparse.Namespace:
    return _parser().parse_args(argv)


def _list(args: argparse.Namespace) -> int:
    url = args.url.rstrip("/") + "/_sim/resources"
    if args.kind:
        url += f"?kind={args.kind}"
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            listing: dict[str, list[dict[str, Any]]] = json.load(response)
    except urllib.error.HTTPError as error:
        print(f"error: {error.read().decode(errors='replace')}", file=sys.stderr)
        return 1
    except OSError as error:
        print(f"error: cannot reach simulator at {args.url}: {error}", file=sys.stderr)
        return 1
    print(format_table(listing))
    return 0


def format_table(listing: dict[str, list[dict[str, Any]]]) -> str:
    header = ("KIND", "NAME", "STATUS", "PARENT", "CREATED")
    rows = [
        (kind, item["name"], item.get("status") or "-", item.get("parent") or "-",
         datetime.fromtimestamp(item["created"], timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))
        for kind, items in listing.items() for item in items
    ]
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    return "\n".join("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths)).rstrip()
                     for row in [header, *rows])
