"""The simulator reads and writes S3 as SageMaker does, against a real store (the local stack's
object store server, started by the `object_store` fixture), driven through boto3 on a manual
clock: empty inputs fail jobs with SageMaker's reasons, completed jobs leave real objects, and
each transition does its S3 work once, when it is first observed."""

from __future__ import annotations

import gzip
import io
import json
import subprocess
import tarfile
import time
import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config

from sagemaker_ack_kfp.simulator import SimulatorConfig, SimulatorServer, running_simulator
from sagemaker_ack_kfp.stack.object_store import argv, healthy, process_env, url
from sagemaker_ack_kfp.stack.processes import free_port
from tests.unit.test_simulator import (
    IMAGE, ROLE, ManualClock, client, processing_request, sim_tags, training_request, transform_request,
)

REGION = "us-east-1"
MODEL_ROLE = "arn:aws:iam::123456789012:role/model-role"


def s3_client(endpoint: str) -> Any:
    return boto3.client("s3", endpoint_url=endpoint, region_name=REGION, aws_access_key_id="AKIDTEST",
                        aws_secret_access_key="not-a-secret", config=Config(retries={"total_max_attempts": 1}))


@pytest.fixture
def s3(object_store: str) -> Any:
    return s3_client(object_store)


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"sim-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name)
    return name


@pytest.fixture
def sim(object_store: str, clock: ManualClock) -> Iterator[SimulatorServer]:
    config = SimulatorConfig(phase_seconds=1.0, rule_seconds=3.0, s3_endpoint_url=object_store, clock=clock)
    with running_simulator(config=config) as server:
        yield server


def channel(uri: str) -> dict[str, Any]:
    return {"ChannelName": "train", "DataSource": {"S3DataSource": {
        "S3DataType": "S3Prefix", "S3Uri": uri, "S3DataDistributionType": "FullyReplicated"}}}


def training(name: str, bucket: str, **extra: Any) -> dict[str, Any]:
    request = {"InputDataConfig": [channel(f"s3://{bucket}/data/train/")],
               "OutputDataConfig": {"S3OutputPath": f"s3://{bucket}/models/"}, **extra}
    return training_request(name, **request)


def keys(s3: Any, bucket: str, prefix: str = "") -> list[str]:
    return sorted(item["Key"] for item in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []))


def no_objects(uri: str, bucket: str, role: str = ROLE) -> str:
    """SageMaker's message for an input prefix with no object under it."""
    return (f'No S3 objects found under S3 URL "{uri}" given in input data source. Please ensure that the bucket '
            f"exists in the selected region ({REGION}), that objects exist under that S3 prefix, and that the role "
            f'"{role}" has "s3:ListBucket" permissions on bucket "{bucket}".')


# Training ------------------------------------------------------------------------------

def test_training_job_with_an_empty_input_prefix_fails_while_downloading(sm: Any, s3: Any, bucket: str, clock: ManualClock) -> None:
    s3.put_object(Bucket=bucket, Key="data/other/x.csv", Body=b"1\n")  # data elsewhere does not count
    sm.create_training_job(**training("starved", bucket))
    clock.advance(1.0)
    job = sm.describe_training_job(TrainingJobName="starved")
    assert (job["TrainingJobStatus"], job["SecondaryStatus"]) == ("InProgress", "Downloading")
    clock.advance(1.0)
    job = sm.describe_training_job(TrainingJobName="starved")
    assert (job["TrainingJobStatus"], job["SecondaryStatus"]) == ("Failed", "Failed")
    assert job["FailureReason"] == "ClientError: Data download failed:" + no_objects(f"s3://{bucket}/data/train/", bucket)
    assert [t["Status"] for t in job["SecondaryStatusTransitions"]] == ["Starting", "Downloading", "Failed"]
    assert "ModelArtifacts" not in job
    clock.advance(10.0)
    assert sm.describe_training_job(TrainingJobName="starved")["TrainingJobStatus"] == "Failed"
    assert keys(s3, bucket, "models/") == []


def test_training_job_input_in_a_missing_bucket_names_the_bucket(sm: Any, clock: ManualClock) -> None:
    sm.create_training_job(**training("no-bucket", "bucket-that-does-not-exist"))
    clock.advance(5.0)
    job = sm.describe_training_job(TrainingJobName="no-bucket")
    assert job["TrainingJobStatus"] == "Failed"
    assert 'on bucket "bucket-that-does-not-exist"' in job["FailureReason"]


def test_completed_training_job_leaves_a_real_model_archive(sm: Any, s3: Any, bucket: str, clock: ManualClock) -> None:
    s3.put_object(Bucket=bucket, Key="data/train/part-0.csv", Body=b"0.1,0.2\n0.3,0.4\n")
    sm.create_training_job(**training("trained", bucket))
    clock.advance(3.5)
    assert keys(s3, bucket, "models/") == []  # not before the Uploading transition
    # First observed long after the job ended: the upload still happens, before Completed is reported.
    clock.advance(30.0)
    job = sm.describe_training_job(TrainingJobName="trained")
    assert job["TrainingJobStatus"] == "Completed"
    artifact = job["ModelArtifacts"]["S3ModelArtifacts"]
    assert artifact == f"s3://{bucket}/models/trained/output/model.tar.gz"
    assert keys(s3, bucket, "models/") == ["models/trained/output/model.tar.gz"]
    body = s3.get_object(Bucket=bucket, Key="models/trained/output/model.tar.gz")["Body"].read()
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(body))) as archive:
        [member] = archive.getmembers()
        document = json.load(archive.extractfile(member))  # type: ignore[arg-type]
    assert member.name == "model.json"
    assert document["trainingJobName"] == "trained"
    assert document["hyperParameters"] == {"eval_metric": "auc", "max_depth": "5"}
    assert set(document["finalMetrics"]) == {m["MetricName"] for m in job["FinalMetricDataList"]}


def test_each_transition_writes_once(sm: Any, s3: Any, bucket: str, clock: ManualClock) -> None:
    s3.put_object(Bucket=bucket, Key="data/train/part-0.csv", Body=b"1\n")
    sm.create_training_job(**training("once", bucket))
    clock.advance(5.0)
    assert sm.describe_training_job(TrainingJobName="once")["TrainingJobStatus"] == "Completed"
    s3.delete_object(Bucket=bucket, Key="models/once/output/model.tar.gz")
    for _ in range(3):  # later reads observe no new transition: nothing is written again
        clock.advance(1.0)
        sm.describe_training_job(TrainingJobName="once")
    assert keys(s3, bucket, "models/") == []


def test_the_model_archive_is_deterministic(object_store: str, s3: Any, bucket: str) -> None:
    s3.put_object(Bucket=bucket, Key="data/train/part-0.csv", Body=b"1\n")
    archives = []
    for folder in ("a", "b"):
        clock = ManualClock()
        config = SimulatorConfig(phase_seconds=1.0, s3_endpoint_url=object_store, clock=clock)
        with running_simulator(config=config) as server:
            request = training("same-job", bucket, OutputDataConfig={"S3OutputPath": f"s3://{bucket}/{folder}"})
            client(server).create_training_job(**request)
            clock.advance(5.0)
            client(server).describe_training_job(TrainingJobName="same-job")
        archives.append(s3.get_object(Bucket=bucket, Key=f"{folder}/same-job/output/model.tar.gz")["Body"].read())
    assert archives[0] == archives[1]


def test_training_job_whose_output_bucket_is_missing_fails_uploading(sm: Any, s3: Any, bucket: str, clock: ManualClock) -> None:
    s3.put_object(Bucket=bucket, Key="data/train/part-0.csv", Body=b"1\n")
    sm.create_training_job(**training("lost", bucket, OutputDataConfig={"S3OutputPath": "s3://no-such-output-bucket/m"}))
    clock.advance(5.0)
    job = sm.describe_training_job(TrainingJobName="lost")
    assert (job["TrainingJobStatus"], [t["Status"] for t in job["SecondaryStatusTransitions"]][-2:]) == ("Failed", ["Uploading", "Failed"])
    assert job["FailureReason"].startswith("ClientError: Artifact upload failed:Unable to upload to "
                                           "s3://no-such-output-bucket/m/lost/output/model.tar.gz")
    assert "no-such-output-bucket" in job["FailureReason"]


def test_tuning_jobs_children_read_and_write_s3(sm: Any, s3: Any, bucket: str, clock: ManualClock) -> None:
    from tests.unit.test_simulator import tuning_request

    request = tuning_request("hpo-s3", total=2, parallel=2)
    request["TrainingJobDefinition"].update(InputDataConfig=[channel(f"s3://{bucket}/data/train/")],
                                            OutputDataConfig={"S3OutputPath": f"s3://{bucket}/tuning"})
    sm.create_hyper_parameter_tuning_job(**request)
    clock.advance(0.5)
    children = [s["TrainingJobName"] for s in sm.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="hpo-s3")["TrainingJobSummaries"]]
    assert len(children) == 2
    clock.advance(5.0)
    reasons = {c: sm.describe_training_job(TrainingJobName=c).get("FailureReason", "") for c in children}
    assert all(r.startswith("ClientError: Data download failed:No S3 objects found") for r in reasons.values()), reasons
    tuning = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="hpo-s3")
    assert tuning["HyperParameterTuningJobStatus"] == "Failed"
    assert tuning["FailureReason"] == ("No training job succeeded after 2 attempts. Please take a look at the training "
                                       "job failures to get more details.")
    assert tuning["TrainingJobStatusCounters"]["NonRetryableError"] == 2


def test_a_tuning_job_with_data_completes_with_its_best_model_in_s3(sm: Any, s3: Any, bucket: str, clock: ManualClock) -> None:
    from tests.unit.test_simulator import tuning_request

    s3.put_object(Bucket=bucket, Key="data/train/part-0.csv", Body=b"1\n")
    request = tuning_request("hpo-data", total=2, parallel=1)
    request["TrainingJobDefinition"].update(InputDataConfig=[channel(f"s3://{bucket}/data/train/")],
                                            OutputDataConfig={"S3OutputPath": f"s3://{bucket}/tuning"})
    sm.create_hyper_parameter_tuning_job(**request)
    clock.advance(20.0)  # two waves of five phases, observed only at the end
    tuning = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="hpo-data")
    assert tuning["HyperParameterTuningJobStatus"] == "Completed"
    best = tuning["BestTrainingJob"]["TrainingJobName"]
    assert f"tuning/{best}/output/model.tar.gz" in keys(s3, bucket, "tuning/")


# Batch transform ---------------------------------------------------------------------------

def create_model(sm: Any, model_data: str = "s3://bucket/model.tar.gz", name: str = "model-a") -> None:
    sm.create_model(ModelName=name, ExecutionRoleArn=MODEL_ROLE,
                    PrimaryContainer={"Image": IMAGE, "ModelDataUrl": model_data})


def transform(name: str, bucket: str, input_prefix: str = "batch/in/", **extra: Any) -> dict[str, Any]:
    request = transform_request(name, **extra)
    request["TransformInput"] = {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix",
                                                                 "S3Uri": f"s3://{bucket}/{input_prefix}"}},
                                 "ContentType": "text/csv", "SplitType": "Line"}
    request["TransformOutput"] = {"S3OutputPath": f"s3://{bucket}/batch/out/", "AssembleWith": "Line"}
    return request


def test_transform_job_with_an_empty_input_fails_with_sagemakers_reason(sm: Any, bucket: str, clock: ManualClock) -> None:
    create_model(sm)
    sm.create_transform_job(**transform("no-input", bucket))
    clock.advance(1.0)
    assert sm.describe_transform_job(TransformJobName="no-input")["TransformJobStatus"] == "InProgress"
    clock.advance(1.0)
    job = sm.describe_transform_job(TransformJobName="no-input")
    assert job["TransformJobStatus"] == "Failed"
    # The input is read with the model's execution role.
    assert job["FailureReason"] == "ClientError: " + no_objects(f"s3://{bucket}/batch/in/", bucket, MODEL_ROLE)


def test_transform_job_writes_one_out_object_per_input_object(sm: Any, s3: Any, bucket: str, clock: ManualClock) -> None:
    create_model(sm)
    s3.put_object(Bucket=bucket, Key="batch/in/part-0.csv", Body=b"1,2\n3,4\n5,6\n")
    s3.put_object(Bucket=bucket, Key="batch/in/nested/part-1.csv", Body=b"7,8\n")
    sm.create_transform_job(**transform("scored", bucket))
    clock.advance(2.0)
    assert keys(s3, bucket, "batch/out/") == []  # written when the job completes
    clock.advance(1.0)
    assert sm.describe_transform_job(TransformJobName="scored")["TransformJobStatus"] == "Completed"
    assert keys(s3, bucket, "batch/out/") == ["batch/out/nested/part-1.csv.out", "batch/out/part-0.csv.out"]
    lines = s3.get_object(Bucket=bucket, Key="batch/out/part-0.csv.out")["Body"].read().decode().splitlines()
    assert len(lines) == 3 and all(0 < float(line) < 1 for line in lines)


def test_transform_output_keeps_the_input_folder_when_the_prefix_is_not_a_folder(sm: Any, s3: Any, bucket: str, clock: ManualClock) -> None:
    create_model(sm)
    s3.put_object(Bucket=bucket, Key="batch/in/part-0.csv", Body=b"1\n")
    sm.create_transform_job(**transform("partial-prefix", bucket, input_prefix="batch/in"))
    clock.advance(3.0)
    assert sm.describe_transform_job(TransformJobName="partial-prefix")["TransformJobStatus"] == "Completed"
    assert keys(s3, bucket, "batch/out/") == ["batch/out/in/part-0.csv.out"]


# Processing ---------------------------------------------------------------------------------

def processing(name: str, bucket: str, with_input: bool = True) -> dict[str, Any]:
    request = processing_request(name)
    request["ProcessingOutputConfig"] = {"Outputs": [
        {"OutputName": out, "S3Output": {"S3Uri": f"s3://{bucket}/prep/{out}", "LocalPath": f"/opt/ml/processing/{out}",
                                         "S3UploadMode": "EndOfJob"}} for out in ("train", "test")]}
    if with_input:
        request["ProcessingInputs"] = [{"InputName": "raw", "S3Input": {
            "S3Uri": f"s3://{bucket}/raw/", "LocalPath": "/opt/ml/processing/input", "S3DataType": "S3Prefix",
            "S3InputMode": "File"}}]
    return request


def test_processing_job_with_an_empty_input_fails(sm: Any, bucket: str, clock: ManualClock) -> None:
    sm.create_processing_job(**processing("no-raw", bucket))
    clock.advance(3.0)
    job = sm.describe_processing_job(ProcessingJobName="no-raw")
    assert job["ProcessingJobStatus"] == "Failed"
    assert job["FailureReason"] == "ClientError: " + no_objects(f"s3://{bucket}/raw/", bucket)
    assert job["ExitMessage"] == job["FailureReason"]


def test_processing_job_uploads_each_output(sm: Any, s3: Any, bucket: str, clock: ManualClock) -> None:
    s3.put_object(Bucket=bucket, Key="raw/data.csv", Body=b"1\n")
    sm.create_processing_job(**processing("prep", bucket))
    clock.advance(3.0)
    assert sm.describe_processing_job(ProcessingJobName="prep")["ProcessingJobStatus"] == "Completed"
    assert keys(s3, bucket, "prep/") == ["prep/test/test.csv", "prep/train/train.csv"]
    rows = s3.get_object(Bucket=bucket, Key="prep/train/train.csv")["Body"].read().decode().splitlines()
    assert rows[0] == "index,value" and len(rows) == 6


# Hosting ------------------------------------------------------------------------------------

def endpoint_config(sm: Any, name: str, model: str) -> None:
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": model, "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])


def test_endpoint_whose_model_data_is_missing_fails(sm: Any, bucket: str, clock: ManualClock) -> None:
    url_ = f"s3://{bucket}/models/nothing-here/output/model.tar.gz"
    create_model(sm, url_)
    endpoint_config(sm, "cfg", "model-a")
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="cfg")
    clock.advance(2.0)
    endpoint = sm.describe_endpoint(EndpointName="ep")
    assert endpoint["EndpointStatus"] == "Failed"
    assert endpoint["FailureReason"] == (
        f'Failed to download model data for container "container_1" from URL: "{url_}". Please ensure that there is '
        "an object located at the URL and that the role passed to CreateModel has permissions to download the object.")


def test_endpoint_with_model_data_goes_in_service_and_a_bad_update_rolls_back(sm: Any, s3: Any, bucket: str, clock: ManualClock) -> None:
    s3.put_object(Bucket=bucket, Key="m/good.tar.gz", Body=b"x")
    create_model(sm, f"s3://{bucket}/m/good.tar.gz", "good")
    sm.create_model(ModelName="pair", ExecutionRoleArn=MODEL_ROLE, Containers=[
        {"Image": IMAGE, "ModelDataUrl": f"s3://{bucket}/m/good.tar.gz"},
        {"Image": IMAGE, "ModelDataUrl": f"s3://{bucket}/m/missing.tar.gz"}])
    endpoint_config(sm, "cfg-good", "good")
    endpoint_config(sm, "cfg-pair", "pair")
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="cfg-good")
    clock.advance(2.0)
    assert sm.describe_endpoint(EndpointName="ep")["EndpointStatus"] == "InService"
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="cfg-pair")
    clock.advance(2.0)
    endpoint = sm.describe_endpoint(EndpointName="ep")
    assert (endpoint["EndpointStatus"], endpoint["EndpointConfigName"]) == ("InService", "cfg-good")
    assert endpoint["FailureReason"].startswith('Failed to download model data for container "container_2" from URL: '
                                                f'"s3://{bucket}/m/missing.tar.gz".')


# The store itself -----------------------------------------------------------------------------

def test_a_transition_waits_while_the_store_does_not_answer(s3: Any, bucket: str, tmp_path: Any) -> None:
    """Nothing listens on the store's port at first: the job stays before its Downloading
    transition; once a store answers there, the transition happens (and checks the input)."""
    port = free_port()
    clock = ManualClock()
    config = SimulatorConfig(phase_seconds=1.0, s3_endpoint_url=url(port), clock=clock)
    with running_simulator(config=config) as server:
        sm = client(server)
        sm.create_training_job(**training("patient", bucket))
        clock.advance(3.0)
        job = sm.describe_training_job(TrainingJobName="patient")
        assert (job["TrainingJobStatus"], job["SecondaryStatus"]) == ("InProgress", "Starting")
        with (tmp_path / "store.log").open("wb") as out:
            store = subprocess.Popen(argv(port), stdout=out, stderr=subprocess.STDOUT, env=process_env(tmp_path))
        try:
            deadline = time.monotonic() + 30
            while not healthy(url(port)) and time.monotonic() < deadline:
                time.sleep(0.1)
            job = sm.describe_training_job(TrainingJobName="patient")
            # The new store is empty, so the input check now fails the job, one phase after Downloading.
            assert job["TrainingJobStatus"] == "Failed"
            assert [t["Status"] for t in job["SecondaryStatusTransitions"]] == ["Starting", "Downloading", "Failed"]
        finally:
            store.terminate()
            store.wait(timeout=10)


def test_the_store_serves_s3_only(object_store: str) -> None:
    sagemaker = boto3.client("sagemaker", endpoint_url=object_store, region_name=REGION, aws_access_key_id="AKIDTEST",
                             aws_secret_access_key="x", config=Config(retries={"total_max_attempts": 1}))
    with pytest.raises(Exception) as caught:
        sagemaker.list_training_jobs()
    assert "S3 object store" in str(caught.value) or "400" in str(caught.value)
