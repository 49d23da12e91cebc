"""The local stack's S3-compatible object store: how `stack up` starts it, probes it, and what
a shell, a pipeline step and the simulator get to reach it.

Why moto (from PyPI, `moto[s3]`): it is pure Python, so it installs with the project's virtualenv
in seconds and starts in about a second on a 2-core machine with nothing to build; it is actively
maintained alongside botocore's S3 model, so boto3 and the AWS CLI work against it unchanged
(path-style addressing, multipart uploads, ListObjectsV2, ranged GETs). A real S3 server written
in Go (MinIO, versitygw) would add a several-minute module build to every fresh CI machine, and
MinIO's AGPL licence to the stack. The cost: objects live in the server's memory (large bodies
spill to files under .stack/object-store/) and are gone after `make stack-down`.
"""

from __future__ import annotations

import os
import sys
import urllib.request
from pathlib import Path

PIECE = "object-store"
# Fake credentials, as the controller's: nothing behind the local endpoints checks them, and no
# real AWS account is reachable with them.
FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "AKIASIMULATOR0000000",
    "AWS_SECRET_ACCESS_KEY": "simulator-secret-not-a-real-key",
}


def url(port: int) -> str:
    return f"http://127.0.0.1:{port}"


def argv(port: int) -> list[str]:
    return [sys.executable, "-u", "-m", "sagemaker_ack_kfp.stack.s3_server", "--host=127.0.0.1", f"--port={port}"]


def process_env(state_dir: Path) -> dict[str, str]:
    """The server's environment: large bodies spill to the stack's own folder, not /tmp."""
    state_dir.mkdir(parents=True, exist_ok=True)
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/tmp"),
        "TMPDIR": str(state_dir),
    }


def client_env(endpoint: str) -> dict[str, str]:
    """What a shell or a pipeline step needs to use the store with boto3 (>= 1.28) or the AWS CLI
    (v2.13+, v1.29+): the S3-only endpoint variable leaves every other service on its default."""
    return {"AWS_ENDPOINT_URL_S3": endpoint, **FAKE_CREDENTIALS}


def simulator_env(endpoint: str) -> dict[str, str]:
    """The simulator's environment: the caller's, without any AWS settings of the caller's own
    (real credentials, profiles) and with the fake credentials for the local store."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("AWS_")}
    return {**env, **client_env(endpoint), "AWS_EC2_METADATA_DISABLED": "true"}


def healthy(endpoint: str) -> bool:
    """The store answers an S3 ListBuckets (unsigned; moto does not check signatures)."""
    try:
        with urllib.request.urlopen(f"{endpoint}/", timeout=2) as response:
            return bool(response.status == 200 and b"ListAllMyBucketsResult" in response.read())
    except OSError:
        return False
