"""The samples' data step: its program writes the generated data set to a real S3 store (the
`object_store` fixture) as the step runs in a pipeline, and its component.yaml is exactly what
build.py makes of the program."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import boto3
import pytest
import yaml

from sagemaker_ack_kfp.codegen.ack_release import REPO_ROOT

HERE = REPO_ROOT / "samples" / "components" / "sample_data"
PROGRAM = HERE / "sample_data.py"


def run_step(tmp_path: Path, endpoint: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """The step as KFP runs it: `python3 -u -c <program> <args>`, boto3 configured from the environment."""
    environment = env if env is not None else {
        "PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "AWS_ENDPOINT_URL_S3": endpoint,
        "AWS_ACCESS_KEY_ID": "AKIDTEST", "AWS_SECRET_ACCESS_KEY": "not-a-secret", "AWS_EC2_METADATA_DISABLED": "true",
    }
    return subprocess.run([sys.executable, "-u", "-c", PROGRAM.read_text(), *args], env=environment, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120, check=False)


def s3(endpoint: str) -> Any:
    return boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")


def test_the_step_creates_the_bucket_and_writes_the_data_set(object_store: str, tmp_path: Path) -> None:
    bucket = f"data-{uuid.uuid4().hex[:10]}"
    outputs = {name: tmp_path / "outputs" / name / "data" for name in ("train_uri", "test_uri", "batch_input_uri")}
    result = run_step(tmp_path, object_store, "--bucket", bucket, "--prefix", "mnist-kmeans", "--region", "us-east-1",
                      "--train-uri-output", str(outputs["train_uri"]), "--test-uri-output", str(outputs["test_uri"]),
                      "--batch-input-uri-output", str(outputs["batch_input_uri"]))
    assert result.returncode == 0, result.stderr
    assert f"created bucket {bucket}" in result.stdout and f"(S3 endpoint {object_store})" in result.stdout
    client = s3(object_store)
    listed = {o["Key"]: o["Size"] for o in client.list_objects_v2(Bucket=bucket)["Contents"]}
    assert set(listed) == {"mnist-kmeans/train/train.csv", "mnist-kmeans/test/test.csv",
                           "mnist-kmeans/batch-input/part-0.csv", "mnist-kmeans/batch-input/part-1.csv"}
    rows = client.get_object(Bucket=bucket, Key="mnist-kmeans/train/train.csv")["Body"].read().decode().splitlines()
    assert len(rows) == 100
    pixels = [float(v) for v in rows[0].split(",")]
    assert len(pixels) == 784 and all(0 <= v <= 1 for v in pixels) and 40 < sum(v > 0 for v in pixels) < 200
    assert {name: path.read_text() for name, path in outputs.items()} == {
        "train_uri": f"s3://{bucket}/mnist-kmeans/train/", "test_uri": f"s3://{bucket}/mnist-kmeans/test/",
        "batch_input_uri": f"s3://{bucket}/mnist-kmeans/batch-input/"}
    # Run again: the bucket exists, the same bytes are written.
    before = client.get_object(Bucket=bucket, Key="mnist-kmeans/test/test.csv")["Body"].read()
    again = run_step(tmp_path, object_store, "--bucket", bucket)
    assert again.returncode == 0 and "created bucket" not in again.stdout
    assert client.get_object(Bucket=bucket, Key="mnist-kmeans/test/test.csv")["Body"].read() == before


def test_without_a_reachable_store_the_step_says_what_to_do(tmp_path: Path) -> None:
    result = run_step(tmp_path, "http://127.0.0.1:9", "--bucket", "some-bucket")
    assert result.returncode == 1
    assert result.stderr.startswith("error: cannot write the sample data to s3://some-bucket/mnist-kmeans/")
    assert "source .stack/env" in result.stderr and "Traceback" not in result.stderr


def test_component_yaml_embeds_the_program_as_build_writes_it() -> None:
    check = subprocess.run([sys.executable, str(HERE / "build.py"), "--check"], capture_output=True, text=True, timeout=60, check=False)
    assert check.returncode == 0, check.stderr
    spec = yaml.safe_load((HERE / "component.yaml").read_text())
    container = spec["implementation"]["container"]
    assert container["command"][:3] == ["python3", "-u", "-c"] and container["command"][3] == PROGRAM.read_text()
    assert {o["name"] for o in spec["outputs"]} == {"train_uri", "test_uri", "batch_input_uri"}


@pytest.mark.parametrize("bad", ["", "a/b"])
def test_a_bad_bucket_is_refused_before_any_call(tmp_path: Path, bad: str) -> None:
    result = run_step(tmp_path, "http://127.0.0.1:9", "--bucket", bad)
    assert result.returncode == 2 and "--bucket must be a bucket name" in result.stderr
