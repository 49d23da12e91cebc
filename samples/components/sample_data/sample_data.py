"""Upload a small generated MNIST-like data set to S3: the first step of the sample pipelines.

As the workshop's pipeline puts its training data into a bucket before training, this step writes,
under s3://<bucket>/<prefix>/:

    train/train.csv            images to train k-means on (CSV, one image per row, no label)
    test/test.csv              images the tuning sample's training jobs evaluate on
    batch-input/part-N.csv     images for the batch transform, one object per part

Each image is 28 x 28 = 784 pixel values in [0, 1], most of them 0, drawn around ten fixed
"digit" stroke patterns; the same --seed gives the same bytes. Nothing is downloaded.

S3 is reached with boto3's usual configuration, so the same step writes to the local stack's
object store (AWS_ENDPOINT_URL_S3 and the fake credentials from .stack/env) and to real S3 (the
pod's role). A missing bucket is created. This file is the step's program: build.py embeds it
in component.yaml, so it must stay standard-library only apart from boto3 or botocore.
"""

from __future__ import annotations

import argparse
import io
import random
import subprocess
import sys
from pathlib import Path
from typing import Any

PIXELS = 28 * 28
DIGITS = 10
STROKE_PIXELS = 90  # lit pixels per pattern, about as many as an MNIST digit


def patterns(seed: int) -> list[list[int]]:
    """Ten stroke patterns: the lit pixel indices of each "digit"."""
    rng = random.Random(seed)
    return [sorted(rng.sample(range(PIXELS), STROKE_PIXELS)) for _ in range(DIGITS)]


def images(count: int, seed: int, shapes: list[list[int]]) -> str:
    """`count` images as CSV rows; pixel values near their pattern's, zero elsewhere."""
    rng = random.Random(seed)
    out = io.StringIO()
    for _ in range(count):
        lit = {pixel: min(1.0, max(0.05, rng.gauss(0.8, 0.15))) for pixel in rng.choice(shapes) if rng.random() > 0.1}
        out.write(",".join(f"{lit[p]:.3f}" if p in lit else "0" for p in range(PIXELS)) + "\n")
    return out.getvalue()


def data_set(seed: int, *, train: int, test: int, batch_parts: int, batch_rows: int) -> dict[str, str]:
    """{key under the prefix: CSV text}."""
    shapes = patterns(seed)
    files = {"train/train.csv": images(train, seed + 1, shapes), "test/test.csv": images(test, seed + 2, shapes)}
    for part in range(batch_parts):
        files[f"batch-input/part-{part}.csv"] = images(batch_rows, seed + 3 + part, shapes)
    return files


def s3_client(region: str) -> Any:
    """boto3's S3 client, else botocore's (the components' image has botocore only: the same
    operations, the same configuration), else boto3 installed first, as KFP's lightweight
    components do in a plain Python image."""
    try:
        import boto3

        return boto3.client("s3", region_name=region)
    except ModuleNotFoundError:
        pass
    try:
        import botocore.session

        return botocore.session.get_session().create_client("s3", region_name=region)
    except ModuleNotFoundError:
        subprocess.check_call([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                               "boto3>=1.28,<2"])
        import boto3

        return boto3.client("s3", region_name=region)


def ensure_bucket(s3: Any, bucket: str, region: str) -> bool:
    """True if the bucket had to be created."""
    from botocore.exceptions import ClientError

    try:
        s3.head_bucket(Bucket=bucket)
        return False
    except ClientError as error:
        if error.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket"):
            raise
    location = {} if region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": region}}
    s3.create_bucket(Bucket=bucket, **location)
    return True


def write_output(path: str | None, value: str) -> None:
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sample_data", description="Upload a small generated MNIST-like data set to S3.")
    parser.add_argument("--bucket", required=True)
    parser.add_argument("--prefix", default="mnist-kmeans", help="key prefix of the data set, without slashes")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--train-rows", type=int, default=100)
    parser.add_argument("--test-rows", type=int, default=20)
    parser.add_argument("--batch-parts", type=int, default=2)
    parser.add_argument("--batch-rows", type=int, default=10)
    for output in ("train-uri", "test-uri", "batch-input-uri"):
        parser.add_argument(f"--{output}-output", metavar="PATH", help=f"write the {output.replace('-', ' ')} here")
    args = parser.parse_args(argv)
    prefix = args.prefix.strip("/")
    if not args.bucket or "/" in args.bucket:
        print(f"error: --bucket must be a bucket name, got {args.bucket!r}", file=sys.stderr)
        return 2

    from botocore.exceptions import BotoCoreError, ClientError

    s3 = s3_client(args.region)
    root = f"s3://{args.bucket}/{prefix}"
    print(f"writing the sample data set to {root}/ (S3 endpoint {s3.meta.endpoint_url})", flush=True)
    try:
        if ensure_bucket(s3, args.bucket, args.region):
            print(f"created bucket {args.bucket} in {args.region}", flush=True)
        files = data_set(args.seed, train=args.train_rows, test=args.test_rows,
                         batch_parts=args.batch_parts, batch_rows=args.batch_rows)
        for key, text in files.items():
            s3.put_object(Bucket=args.bucket, Key=f"{prefix}/{key}", Body=text.encode(), ContentType="text/csv")
            print(f"  {root}/{key}: {text.count(chr(10))} images, {len(text)} bytes", flush=True)
    except (BotoCoreError, ClientError) as error:
        print(f"error: cannot write the sample data to {root}/: {error}. Locally, `source .stack/env` first "
              "(it sets AWS_ENDPOINT_URL_S3 and credentials for the stack's object store); on AWS, the step's "
              "role needs s3:PutObject (and s3:CreateBucket if the bucket does not exist yet).", file=sys.stderr)
        return 1
    write_output(args.train_uri_output, f"{root}/train/")
    write_output(args.test_uri_output, f"{root}/test/")
    write_output(args.batch_input_uri_output, f"{root}/batch-input/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
