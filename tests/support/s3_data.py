"""What the integration tests' SageMaker jobs read from the stack's object store, put there once
per session, as a user would before running them: with the store on, the simulator fails a job
whose input prefix is empty and an endpoint whose model data is missing, as SageMaker does.

Samples bring their own data (their first step writes it); these are the fixed locations that
tests/support/manifests.py and the tests' hand-written specs use.
"""

from __future__ import annotations

import gzip
import io
import tarfile
from typing import Any

import boto3
from botocore.config import Config

from sagemaker_ack_kfp.stack.object_store import FAKE_CREDENTIALS

BUCKET = "demo-bucket"
# Inputs: training channels and the transform input of manifests.py.
INPUTS = ("mnist/train/part-0.csv", "mnist/batch-in/part-0.csv")
# Model data that Model/Endpoint tests deploy without training it first.
MODELS = ("mnist/output/job/output/model.tar.gz", "other/model.tar.gz")


def s3_client(endpoint: str) -> Any:
    return boto3.client(
        "s3", endpoint_url=endpoint, region_name="us-east-1",
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        config=Config(retries={"mode": "standard", "total_max_attempts": 3}),
    )


def model_archive() -> bytes:
    payload = b'{"note": "a test model"}\n'
    info = tarfile.TarInfo("model.json")
    info.size = len(payload)
    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w") as archive:
        archive.addfile(info, io.BytesIO(payload))
    return gzip.compress(tar.getvalue(), mtime=0)


def seed(endpoint: str) -> None:
    """Idempotent: every xdist worker calls it when it connects."""
    s3 = s3_client(endpoint)
    if BUCKET not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
        try:
            s3.create_bucket(Bucket=BUCKET)
        except s3.exceptions.BucketAlreadyOwnedByYou:
            pass  # another worker was first
    for key in INPUTS:
        s3.put_object(Bucket=BUCKET, Key=key, Body=b"0.1,0.2,0.3\n0.4,0.5,0.6\n", ContentType="text/csv")
    for key in MODELS:
        s3.put_object(Bucket=BUCKET, Key=key, Body=model_archive(), ContentType="application/x-tar")
