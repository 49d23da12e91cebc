"""The baseline: a TrainingJob step written the way the earlier upstream components were —
create the custom resource with the kubernetes client, then GET it every 30 seconds until its
status is terminal, then write the outputs. Run as its own process, like a step:

    python -u -m benchmarks.baseline --namespace NS --name NAME --spec SPEC.json --output-dir DIR
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from kubernetes import client, config

from benchmarks.observer import GROUP, PLURAL, VERSION, terminal_status


def _say(message: str) -> None:
    print(f"{time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime())} {message}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="benchmarks.baseline")
    parser.add_argument("--namespace", required=True)
    parser.add_argument("--name", required=True)
    parser.add_argument("--spec", required=True, type=Path, help="the TrainingJob spec, as JSON")
    parser.add_argument("--label", action="append", default=[], help="key=value, repeatable")
    parser.add_argument("--output-dir", required=True, type=Path)
    parser.add_argument("--poll-seconds", type=float, default=30.0)
    args = parser.parse_args(argv)

    _say(f"creating TrainingJob {args.namespace}/{args.name}")
    config.load_kube_config()
    api = client.CustomObjectsApi()
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "TrainingJob",
        "metadata": {"name": args.name, "namespace": args.namespace, "labels": dict(x.split("=", 1) for x in args.label)},
        "spec": json.loads(args.spec.read_text()),
    }
    api.create_namespaced_custom_object(GROUP, VERSION, args.namespace, PLURAL, body)
    while True:
        obj = api.get_namespaced_custom_object(GROUP, VERSION, args.namespace, PLURAL, args.name)
        final = terminal_status(obj)
        _say(f"TrainingJob {args.name}: {(obj.get('status') or {}).get('trainingJobStatus') or 'no status yet'}")
        if final:
            break
        time.sleep(args.poll_seconds)

    status = obj.get("status") or {}
    outputs = {
        "training_job_name": args.name,
        "training_job_arn": str((status.get("ackResourceMetadata") or {}).get("arn", "")),
        "model_artifact_url": str((status.get("modelArtifacts") or {}).get("s3ModelArtifacts", "")),
        "status": json.dumps(status, sort_keys=True),
    }
    args.output_dir.mkdir(parents=True, exist_ok=True)
    for key, value in outputs.items():
        (args.output_dir / key).write_text(value)
    _say(f"TrainingJob {args.name} ended {final}")
    return 0 if final == "Completed" else 1


if __name__ == "__main__":
    sys.exit(main())
