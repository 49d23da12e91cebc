"""Wire-level tests of the SageMaker simulator, driven through the real AWS SDK (boto3).

Most tests run the server on a manual clock, so lifecycles are checked phase by
phase without sleeping; a few run in real time with short phases to prove the
wall-clock path.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from sagemaker_ack_kfp.simulator import SimulatorConfig, SimulatorServer, kinds, running_simulator
from tests.support.simulator_client import NO_RETRIES, ManualClock, client, error_of, sim_get, sim_post, sim_tags

ROLE = "arn:aws:iam::123456789012:role/sagemaker"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/xgboost:1.7-1"


def wait_for(read: Callable[[], Any], done: Callable[[Any], bool], timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if done(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.01)


@pytest.fixture
def live() -> Iterator[SimulatorServer]:
    with running_simulator(phase_seconds=0.05) as server:
        yield server


# Request builders ------------------------------------------------------------------

def training_request(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "TrainingJobName": name,
        "RoleArn": ROLE,
        "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
        "OutputDataConfig": {"S3OutputPath": "s3://bucket/output"},
        "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
        "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        "HyperParameters": {"max_depth": "5", "eval_metric": "auc"},
        **extra,
    }


def tuning_request(name: str, total: int, parallel: int, objective_type: str = "Maximize",
                   **extra: Any) -> dict[str, Any]:
    return {
        "HyperParameterTuningJobName": name,
        "HyperParameterTuningJobConfig": {
            "Strategy": "Bayesian",
            "HyperParameterTuningJobObjective": {"Type": objective_type, "MetricName": "validation:auc"},
            "ResourceLimits": {"MaxNumberOfTrainingJobs": total, "MaxParallelTrainingJobs": parallel},
            "ParameterRanges": {
                "IntegerParameterRanges": [{"Name": "max_depth", "MinValue": "2", "MaxValue": "9"}],
                "ContinuousParameterRanges": [
                    {"Name": "eta", "MinValue": "0.01", "MaxValue": "0.5", "ScalingType": "Logarithmic"}],
                "CategoricalParameterRanges": [{"Name": "booster", "Values": ["gbtree", "dart"]}],
            },
        },
        "TrainingJobDefinition": {
            "StaticHyperParameters": {"objective": "binary:logistic"},
            "AlgorithmSpecification": {"TrainingImage": IMAGE, "TrainingInputMode": "File"},
            "RoleArn": ROLE,
            "OutputDataConfig": {"S3OutputPath": "s3://bucket/tuning"},
            "ResourceConfig": {"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 5},
            "StoppingCondition": {"MaxRuntimeInSeconds": 3600},
        },
        **extra,
    }


def create_model(sm: Any, name: str = "model-a") -> None:
    sm.create_model(ModelName=name, ExecutionRoleArn=ROLE,
                    PrimaryContainer={"Image": IMAGE, "ModelDataUrl": "s3://bucket/model.tar.gz"})


def create_config(sm: Any, name: str, model: str = "model-a", **extra: Any) -> None:
    sm.create_endpoint_config(EndpointConfigName=name, ProductionVariants=[{
        "VariantName": "AllTraffic", "ModelName": model, "InitialInstanceCount": 2,
        "InstanceType": "ml.m5.large", "InitialVariantWeight": 1.0}], **extra)


def transform_request(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "TransformJobName": name, "ModelName": "model-a",
        "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://bucket/in"}}},
        "TransformOutput": {"S3OutputPath": "s3://bucket/transformed"},
        "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1},
        **extra,
    }


def processing_request(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "ProcessingJobName": name, "RoleArn": ROLE,
        "AppSpecification": {"ImageUri": IMAGE},
        "ProcessingResources": {"ClusterConfig": {
            "InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 5}},
        "ProcessingOutputConfig": {"Outputs": [{"OutputName": "out", "S3Output": {
            "S3Uri": "s3://bucket/processed", "LocalPath": "/opt/ml/processing/out", "S3UploadMode": "EndOfJob"}}]},
        **extra,
    }


def schedule_request(name: str, definition: str = "dq-def", **extra: Any) -> dict[str, Any]:
    return {
        "MonitoringScheduleName": name,
        "MonitoringScheduleConfig": {
            "ScheduleConfig": {"ScheduleExpression": "cron(0 * ? * * *)"},
            "MonitoringJobDefinitionName": definition, "MonitoringType": "DataQuality"},
        **extra,
    }


def job_definition_request(prefix: str, name: str) -> dict[str, Any]:
    job_input: dict[str, Any] = {"EndpointInput": {"EndpointName": "ep", "LocalPath": "/opt/ml/processing/input"}}
    if prefix in ("ModelBias", "ModelQuality"):
        job_input["GroundTruthS3Input"] = {"S3Uri": "s3://bucket/truth"}
    app = {"ImageUri": IMAGE}
    if prefix == "ModelBias" or prefix == "ModelExplainability":
        app["ConfigUri"] = "s3://bucket/analysis.json"
    if prefix == "ModelQuality":
        app["ProblemType"] = "BinaryClassification"
    return {
        "JobDefinitionName": name,
        f"{prefix}AppSpecification": app,
        f"{prefix}JobInput": job_input,
        f"{prefix}JobOutputConfig": {"MonitoringOutputs": [{"S3Output": {
            "S3Uri": "s3://bucket/monitoring", "LocalPath": "/opt/ml/processing/output"}}]},
        "JobResources": {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.large", "VolumeSizeInGB": 5}},
        "RoleArn": ROLE,
    }


# STS ------------------------------------------------------------------------------

def test_sts_get_caller_identity_returns_the_account(sim: SimulatorServer) -> None:
    identity = client(sim, "sts").get_caller_identity()
    assert identity["Account"] == "123456789012"
    assert identity["Arn"].startswith("arn:aws:iam::123456789012:")
    assert sim_get(sim, "/_sim/calls")["calls"] == {"GetCallerIdentity": 1}


def test_sts_account_is_configurable() -> None:
    with running_simulator(config=SimulatorConfig(account_id="000011112222")) as server:
        assert client(server, "sts").get_caller_identity()["Account"] == "000011112222"
        arn = client(server).create_model(ModelName="m")["ModelArn"]
        assert arn == "arn:aws:sagemaker:us-east-1:000011112222:model/m"


# Training jobs --------------------------------------------------------------------

def test_training_job_completes_in_real_time(live: SimulatorServer) -> None:
    sm = client(live)
    arn = sm.create_training_job(**training_request("Live-Job"))["TrainingJobArn"]
    assert arn == "arn:aws:sagemaker:us-east-1:123456789012:training-job/live-job"
    seen = set()

    def read() -> dict[str, Any]:
        job = sm.describe_training_job(TrainingJobName="Live-Job")
        seen.add(job["SecondaryStatus"])
        return job

    job = wait_for(read, lambda j: j["TrainingJobStatus"] != "InProgress")
    assert job["TrainingJobStatus"] == "Completed"
    assert [t["Status"] for t in job["SecondaryStatusTransitions"]] == [
        "Starting", "Downloading", "Training", "Uploading", "Completed"]
    assert "Completed" in seen and len(seen) >= 2
    assert job["ModelArtifacts"]["S3ModelArtifacts"] == "s3://bucket/output/Live-Job/output/model.tar.gz"
    assert job["TrainingStartTime"] < job["TrainingEndTime"]
    assert job["BillableTimeInSeconds"] >= 1


def test_training_job_walks_secondary_statuses_phase_by_phase(sm: Any, clock: ManualClock) -> None:
    sm.create_training_job(**training_request("tj"))
    observed = []
    for _ in range(6):
        job = sm.describe_training_job(TrainingJobName="tj")
        observed.append((job["TrainingJobStatus"], job["SecondaryStatus"]))
        clock.advance(1.0)
    assert observed == [
        ("InProgress", "Starting"), ("InProgress", "Downloading"), ("InProgress", "Training"),
        ("InProgress", "Training"), ("InProgress", "Uploading"), ("Completed", "Completed")]
    transitions = job["SecondaryStatusTransitions"]
    assert all(t["StatusMessage"] for t in transitions)
    assert transitions[0]["EndTime"] == transitions[1]["StartTime"]
    assert job["LastModifiedTime"].timestamp() == pytest.approx(clock.now - 1.0)
    assert job["CreationTime"].timestamp() == pytest.approx(clock.now - 6.0)
    metrics = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    assert set(metrics) == {"train:auc", "validation:auc"}
    assert all(0.70 <= v <= 0.99 for v in metrics.values())


def test_training_job_echoes_request_and_reports_declared_metrics(sm: Any, clock: ManualClock) -> None:
    definitions = [{"Name": "valid:loss", "Regex": "loss=(.*)"}, {"Name": "valid:acc", "Regex": "acc=(.*)"}]
    request = training_request("echo", Environment={"TOKEN": "s3cr3t"})
    request["AlgorithmSpecification"]["MetricDefinitions"] = definitions
    sm.create_training_job(**request)
    clock.advance(5.0)
    job = sm.describe_training_job(TrainingJobName="echo")
    assert job["Environment"] == {"TOKEN": "s3cr3t"}
    assert job["ResourceConfig"] == request["ResourceConfig"]
    metrics = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
    assert set(metrics) == {"valid:loss", "valid:acc"}
    assert 0.05 <= metrics["valid:loss"] <= 0.5


def test_stop_training_job(sm: Any, clock: ManualClock) -> None:
    sm.create_training_job(**training_request("stoppable"))
    clock.advance(2.5)
    sm.stop_training_job(TrainingJobName="stoppable")
    job = sm.describe_training_job(TrainingJobName="stoppable")
    assert (job["TrainingJobStatus"], job["SecondaryStatus"]) == ("Stopping", "Stopping")
    clock.advance(1.0)
    job = sm.describe_training_job(TrainingJobName="stoppable")
    assert (job["TrainingJobStatus"], job["SecondaryStatus"]) == ("Stopped", "Stopped")
    assert [t["Status"] for t in job["SecondaryStatusTransitions"]][-2:] == ["Stopping", "Stopped"]
    assert "ModelArtifacts" not in job
    error = error_of(sm.stop_training_job, TrainingJobName="stoppable")
    assert error["Code"] == "ValidationException"
    assert error["Message"] == "The request was rejected because the training job is in status Stopped."


def test_fail_reason_tag_fails_training_job(sm: Any, clock: ManualClock) -> None:
    sm.create_training_job(**training_request("doomed", Tags=sim_tags(fail_reason="AlgorithmError: boom")))
    clock.advance(3.9)
    assert sm.describe_training_job(TrainingJobName="doomed")["TrainingJobStatus"] == "InProgress"
    clock.advance(0.2)
    job = sm.describe_training_job(TrainingJobName="doomed")
    assert (job["TrainingJobStatus"], job["SecondaryStatus"]) == ("Failed", "Failed")
    assert job["FailureReason"] == "AlgorithmError: boom"
    assert "FinalMetricDataList" not in job


def rules_request(name: str, **extra: Any) -> dict[str, Any]:
    """A job with one Debugger rule and one Profiler rule, as the SageMaker SDK configures them."""
    evaluator = "503895931360.dkr.ecr.us-east-1.amazonaws.com/sagemaker-debugger-rules:latest"
    return training_request(
        name,
        DebugRuleConfigurations=[{"RuleConfigurationName": "LossNotDecreasing", "RuleEvaluatorImage": evaluator,
                                  "RuleParameters": {"rule_to_invoke": "LossNotDecreasing"}}],
        ProfilerConfig={"S3OutputPath": "s3://bucket/profiler", "ProfilingIntervalInMilliseconds": 500},
        ProfilerRuleConfigurations=[{"RuleConfigurationName": "ProfilerReport", "RuleEvaluatorImage": evaluator,
                                     "RuleParameters": {"rule_to_invoke": "ProfilerReport"}}],
        **extra,
    )


def rule_states(job: dict[str, Any]) -> dict[str, str]:
    return {r["RuleConfigurationName"]: r["RuleEvaluationStatus"]
            for field in ("DebugRuleEvaluationStatuses", "ProfilerRuleEvaluationStatuses") for r in job.get(field, [])}


def test_rule_evaluations_go_on_after_the_job_completes(sm: Any, clock: ManualClock) -> None:
    sm.create_training_job(**rules_request("ruled"))
    job = sm.describe_training_job(TrainingJobName="ruled")
    assert rule_states(job) == {"LossNotDecreasing": "InProgress", "ProfilerReport": "InProgress"}
    assert job["ProfilingStatus"] == "Enabled"
    clock.advance(5.0)  # the job completes; its rules evaluate for rule_seconds (3 s) more
    job = sm.describe_training_job(TrainingJobName="ruled")
    assert job["TrainingJobStatus"] == "Completed"
    assert rule_states(job) == {"LossNotDecreasing": "InProgress", "ProfilerReport": "InProgress"}
    clock.advance(2.9)
    assert set(rule_states(sm.describe_training_job(TrainingJobName="ruled")).values()) == {"InProgress"}
    clock.advance(0.1)
    job = sm.describe_training_job(TrainingJobName="ruled")
    assert rule_states(job) == {"LossNotDecreasing": "NoIssuesFound", "ProfilerReport": "NoIssuesFound"}
    [debug] = job["DebugRuleEvaluationStatuses"]
    assert debug["LastModifiedTime"].timestamp() == pytest.approx(clock.now)
    assert re.fullmatch(r"arn:aws:sagemaker:us-east-1:123456789012:processing-job/ruled-lossnotdecreasing-[0-9a-f]{8}",
                        debug["RuleEvaluationJobArn"])
    assert "StatusDetails" not in debug


def test_rule_issues_tag_makes_named_rules_find_issues(sm: Any, clock: ManualClock) -> None:
    sm.create_training_job(**rules_request("flagged", Tags=sim_tags(rule_issues="LossNotDecreasing")))
    sm.create_training_job(**rules_request("all-flagged", Tags=sim_tags(rule_issues="*", rule_seconds="0")))
    clock.advance(5.0)
    # sim/rule-seconds=0: the rules end with the job.
    assert rule_states(sm.describe_training_job(TrainingJobName="all-flagged")) == {
        "LossNotDecreasing": "IssuesFound", "ProfilerReport": "IssuesFound"}
    clock.advance(3.0)
    job = sm.describe_training_job(TrainingJobName="flagged")
    assert rule_states(job) == {"LossNotDecreasing": "IssuesFound", "ProfilerReport": "NoIssuesFound"}
    assert re.fullmatch(r"RuleEvaluationConditionMet: Evaluation of the rule LossNotDecreasing at step \d+ "
                        r"resulted in the condition being met\n", job["DebugRuleEvaluationStatuses"][0]["StatusDetails"])


def test_rules_of_a_stopped_job_stop_and_jobs_without_profiler_report_none(sm: Any, clock: ManualClock) -> None:
    sm.create_training_job(**rules_request("halted"))
    sm.create_training_job(**training_request("plain"))
    clock.advance(2.0)
    sm.stop_training_job(TrainingJobName="halted")
    assert set(rule_states(sm.describe_training_job(TrainingJobName="halted")).values()) == {"InProgress"}
    clock.advance(1.0)
    assert set(rule_states(sm.describe_training_job(TrainingJobName="halted")).values()) == {"Stopped"}
    plain = sm.describe_training_job(TrainingJobName="plain")
    assert "ProfilingStatus" not in plain and "DebugRuleEvaluationStatuses" not in plain


def test_profiles_set_the_timings_and_flags_override_them() -> None:
    from sagemaker_ack_kfp.simulator.cli import parse, serve_config

    fast = serve_config(parse(["serve"]))
    assert (fast.phase_seconds, fast.rule_seconds, fast.s3_endpoint_url) == (1.0, 3.0, None)
    realistic = serve_config(parse(["serve", "--profile", "realistic"]))
    assert (realistic.phase_seconds, realistic.rule_seconds) == (30.0, 120.0)
    mixed = serve_config(parse(["serve", "--profile", "realistic", "--phase-seconds", "2", "--rule-seconds", "0",
                                "--s3-endpoint-url", "http://127.0.0.1:9"]))
    assert (mixed.phase_seconds, mixed.rule_seconds, mixed.s3_endpoint_url) == (2.0, 0.0, "http://127.0.0.1:9")
    for bad in (["--phase-seconds", "0"], ["--phase-seconds", "nan"], ["--rule-seconds", "-1"], ["--profile", "slow"]):
        with pytest.raises(SystemExit):
            parse(["serve", *bad])


def test_realistic_profile_keeps_jobs_running_long_enough_to_watch_and_stop() -> None:
    clock = ManualClock()
    with running_simulator(config=SimulatorConfig(phase_seconds=30.0, rule_seconds=120.0, clock=clock)) as server:
        sm = client(server)
        sm.create_training_job(**training_request("slow-train"))
        sm.create_model(ModelName="m", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE})
        sm.create_transform_job(**transform_request("slow-batch", ModelName="m"))
        clock.advance(15.0)
        assert sm.describe_training_job(TrainingJobName="slow-train")["TrainingJobStatus"] == "InProgress"
        clock.advance(50.0)  # a test that stops its job after a minute still finds it running
        assert sm.describe_transform_job(TransformJobName="slow-batch")["TransformJobStatus"] == "InProgress"
        sm.stop_training_job(TrainingJobName="slow-train")
        sm.stop_transform_job(TransformJobName="slow-batch")
        clock.advance(30.0)
        assert sm.describe_training_job(TrainingJobName="slow-train")["TrainingJobStatus"] == "Stopped"


def test_update_training_job_merges_profiler_config(sm: Any) -> None:
    sm.create_training_job(**training_request("prof"))
    arn = sm.update_training_job(TrainingJobName="prof",
                                 ProfilerConfig={"ProfilingIntervalInMilliseconds": 500})["TrainingJobArn"]
    assert arn.endswith("training-job/prof")
    job = sm.describe_training_job(TrainingJobName="prof")
    assert job["ProfilerConfig"]["ProfilingIntervalInMilliseconds"] == 500


def test_phase_seconds_tag_slows_one_job(sm: Any, clock: ManualClock) -> None:
    sm.create_training_job(**training_request("fast"))
    sm.create_training_job(**training_request("slow", Tags=sim_tags(phase_seconds="10")))
    clock.advance(5.0)
    assert sm.describe_training_job(TrainingJobName="fast")["TrainingJobStatus"] == "Completed"
    assert sm.describe_training_job(TrainingJobName="slow")["SecondaryStatus"] == "Starting"
    clock.advance(45.0)
    assert sm.describe_training_job(TrainingJobName="slow")["TrainingJobStatus"] == "Completed"


# Errors the controller branches on -------------------------------------------------

# (describe method, name member, code, message prefix) as matched by each kind's sdkFind.
NOT_FOUND = {
    "TrainingJob": ("describe_training_job", "TrainingJobName", "ValidationException",
                    "Requested resource not found"),
    "HyperParameterTuningJob": ("describe_hyper_parameter_tuning_job", "HyperParameterTuningJobName",
                                "ResourceNotFound", ""),
    "Model": ("describe_model", "ModelName", "ValidationException", "Could not find model"),
    "EndpointConfig": ("describe_endpoint_config", "EndpointConfigName", "ValidationException",
                       "Could not find endpoint configuration"),
    "Endpoint": ("describe_endpoint", "EndpointName", "ValidationException", "Could not find endpoint"),
    "TransformJob": ("describe_transform_job", "TransformJobName", "ValidationException",
                     "Could not find requested job with name"),
    "ProcessingJob": ("describe_processing_job", "ProcessingJobName", "ValidationException",
                      "Could not find requested job"),
    "MonitoringSchedule": ("describe_monitoring_schedule", "MonitoringScheduleName", "ResourceNotFound", ""),
    "DataQualityJobDefinition": ("describe_data_quality_job_definition", "JobDefinitionName",
                                 "ResourceNotFound", ""),
    "ModelBiasJobDefinition": ("describe_model_bias_job_definition", "JobDefinitionName",
                               "ResourceNotFound", ""),
    "ModelExplainabilityJobDefinition": ("describe_model_explainability_job_definition", "JobDefinitionName",
                                         "ResourceNotFound", ""),
    "ModelQualityJobDefinition": ("describe_model_quality_job_definition", "JobDefinitionName",
                                  "ResourceNotFound", ""),
}


@pytest.mark.parametrize("kind", sorted(NOT_FOUND))
def test_not_found_uses_the_code_and_message_the_controller_matches(sm: Any, kind: str) -> None:
    method, member, code, prefix = NOT_FOUND[kind]
    error = error_of(getattr(sm, method), **{member: "missing-thing"})
    assert error["Code"] == code
    assert error["Message"].startswith(prefix)
    assert error["Message"]


def test_not_found_message_names_the_arn(sm: Any) -> None:
    error = error_of(sm.describe_endpoint, EndpointName="Gone-EP")
    assert error["Message"] == 'Could not find endpoint "arn:aws:sagemaker:us-east-1:123456789012:endpoint/gone-ep".'


def test_error_wire_format(sim: SimulatorServer) -> None:
    request = urllib.request.Request(
        sim.url + "/", data=json.dumps({"TrainingJobName": "nope"}).encode(), method="POST",
        headers={"X-Amz-Target": "SageMaker.DescribeTrainingJob", "Content-Type": "application/x-amz-json-1.1"})
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(request, timeout=5)
    assert caught.value.code == 400
    assert caught.value.headers["X-Amzn-ErrorType"] == "ValidationException"
    assert caught.value.headers["Content-Type"] == "application/x-amz-json-1.1"
    assert json.loads(caught.value.read()) == {
        "__type": "ValidationException", "message": "Requested resource not found."}


@pytest.mark.parametrize("kind, create, code, message", [
    ("TrainingJob", lambda sm: sm.create_training_job(**training_request("dup")), "ResourceInUse",
     "Training job names must be unique within an AWS account and region, and a training job with this name "
     "already exists (arn:aws:sagemaker:us-east-1:123456789012:training-job/dup)"),
    ("HyperParameterTuningJob", lambda sm: sm.create_hyper_parameter_tuning_job(**tuning_request("dup", 1, 1)),
     "ResourceInUse", None),
    ("Model", lambda sm: create_model(sm, "dup"), "ValidationException",
     'Cannot create already existing model "arn:aws:sagemaker:us-east-1:123456789012:model/dup".'),
    ("TransformJob", lambda sm: sm.create_transform_job(**transform_request("dup")), "ResourceInUse", None),
    ("ProcessingJob", lambda sm: sm.create_processing_job(**processing_request("dup")), "ResourceInUse", None),
    ("MonitoringSchedule", lambda sm: sm.create_monitoring_schedule(**schedule_request("dup")),
     "ResourceInUse", None),
])
def test_already_exists(sm: Any, kind: str, create: Callable[[Any], Any], code: str, message: str | None) -> None:
    create_model(sm)
    create(sm)
    with pytest.raises(ClientError) as caught:
        create(sm)
    error = caught.value.response["Error"]
    assert error["Code"] == code
    if message:
        assert error["Message"] == message
    listed = sim_get_kind(sm, kind)
    assert [r["name"] for r in listed if r["name"] == "dup"] == ["dup"]


def sim_get_kind(sm: Any, kind: str) -> list[dict[str, Any]]:
    with urllib.request.urlopen(f"{sm.meta.endpoint_url}/_sim/resources?kind={kind}", timeout=5) as response:
        return json.load(response)[kind]


def test_names_are_unique_ignoring_case_but_per_region(sim: SimulatorServer) -> None:
    east, west = client(sim), client(sim, region="eu-west-1")
    east.create_training_job(**training_request("Same"))
    assert error_of(east.create_training_job, **training_request("SAME"))["Code"] == "ResourceInUse"
    arn = west.create_training_job(**training_request("Same"))["TrainingJobArn"]
    assert arn == "arn:aws:sagemaker:eu-west-1:123456789012:training-job/same"
    assert error_of(west.describe_model, ModelName="x")["Message"].startswith(
        'Could not find model "arn:aws:sagemaker:eu-west-1:')


def test_missing_required_member_is_named(sim: SimulatorServer) -> None:
    raw = client(sim, config=Config(retries={"total_max_attempts": 1}, parameter_validation=False))
    request = training_request("no-role")
    del request["RoleArn"]
    error = error_of(raw.create_training_job, **request)
    assert error["Code"] == "ValidationException"
    assert error["Message"] == ("1 validation error detected: Value null at 'roleArn' failed to satisfy "
                                "constraint: Member must not be null")
    error = error_of(raw.create_transform_job, TransformJobName="t")
    assert error["Message"].startswith("4 validation errors detected: Value null at 'modelName'")


def test_malformed_name_is_rejected(sm: Any) -> None:
    error = error_of(sm.create_training_job, **training_request("bad_name"))
    assert error["Code"] == "ValidationException"
    assert "Value 'bad_name' at 'trainingJobName' failed to satisfy constraint" in error["Message"]
    error = error_of(sm.create_hyper_parameter_tuning_job, **tuning_request("x" * 33, 1, 1))
    assert "Member must have length less than or equal to 32" in error["Message"]


def test_unknown_operation(sm: Any) -> None:
    error = error_of(sm.list_training_jobs)
    assert error["Code"] == "UnknownOperationException"


# Tuning jobs ----------------------------------------------------------------------

def test_tuning_job_runs_children_in_waves_and_picks_the_best(sim: SimulatorServer, sm: Any,
                                                             clock: ManualClock) -> None:
    sm.create_hyper_parameter_tuning_job(**tuning_request("hpo", total=4, parallel=2))
    job = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="hpo")
    assert job["HyperParameterTuningJobStatus"] == "InProgress"
    assert job["TrainingJobStatusCounters"]["InProgress"] == 2
    assert "BestTrainingJob" not in job

    clock.advance(5.0)  # first wave done, second wave starts
    job = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="hpo")
    assert job["TrainingJobStatusCounters"] == {
        "Completed": 2, "InProgress": 2, "RetryableError": 0, "NonRetryableError": 0, "Stopped": 0}
    assert job["ObjectiveStatusCounters"] == {"Succeeded": 2, "Pending": 2, "Failed": 0}
    assert "BestTrainingJob" in job

    clock.advance(5.0)
    job = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="hpo")
    assert job["HyperParameterTuningJobStatus"] == "Completed"
    assert job["TrainingJobStatusCounters"]["Completed"] == 4
    assert job["HyperParameterTuningEndTime"].timestamp() == pytest.approx(clock.now)

    children = sm.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="hpo", SortBy="Name", SortOrder="Ascending")["TrainingJobSummaries"]
    names = [c["TrainingJobName"] for c in children]
    assert len(names) == 4 and all(re.fullmatch(r"hpo-00[1-4]-[0-9a-f]{8}", n) for n in names)
    assert names == sorted(names)

    objective = {}
    for name in names:
        child = sm.describe_training_job(TrainingJobName=name)
        assert child["TuningJobArn"] == job["HyperParameterTuningJobArn"]
        assert child["HyperParameters"]["objective"] == "binary:logistic"
        assert 2 <= int(child["HyperParameters"]["max_depth"]) <= 9
        assert 0.01 <= float(child["HyperParameters"]["eta"]) <= 0.5
        assert child["HyperParameters"]["booster"] in ("gbtree", "dart")
        objective[name] = next(m["Value"] for m in child["FinalMetricDataList"]
                               if m["MetricName"] == "validation:auc")

    best = job["BestTrainingJob"]
    assert best["TrainingJobName"] == max(objective, key=objective.get)
    assert best["TrainingJobArn"].endswith("training-job/" + best["TrainingJobName"])
    assert best["FinalHyperParameterTuningJobObjectiveMetric"] == {
        "Type": "Maximize", "MetricName": "validation:auc", "Value": pytest.approx(objective[best["TrainingJobName"]])}
    assert set(best["TunedHyperParameters"]) == {"max_depth", "eta", "booster"}

    listed = sim_get(sim, "/_sim/resources?kind=TrainingJob")["TrainingJob"]
    assert sorted(r["name"] for r in listed) == names
    assert {r["parent"] for r in listed} == {"hpo"}


def test_tuning_job_minimize_picks_the_lowest(sm: Any, clock: ManualClock) -> None:
    sm.create_hyper_parameter_tuning_job(**tuning_request("low", total=3, parallel=3, objective_type="Minimize"))
    clock.advance(5.0)
    job = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="low")
    values = [c["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for c in
              sm.list_training_jobs_for_hyper_parameter_tuning_job(
                  HyperParameterTuningJobName="low")["TrainingJobSummaries"]]
    assert len(values) == 3
    assert job["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == pytest.approx(min(values))


def test_tuning_job_is_deterministic(clock: ManualClock) -> None:
    def best_of_a_fresh_run() -> tuple[str, dict[str, str]]:
        with running_simulator(config=SimulatorConfig(phase_seconds=1.0, clock=clock)) as server:
            sm = client(server)
            sm.create_hyper_parameter_tuning_job(**tuning_request("again", total=3, parallel=3))
            clock.advance(5.0)
            best = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="again")["BestTrainingJob"]
            return best["TrainingJobName"], best["TunedHyperParameters"]

    start = clock.now
    first = best_of_a_fresh_run()
    clock.now = start
    assert best_of_a_fresh_run() == first


def test_tuning_job_children_are_capped_at_five(sim: SimulatorServer, sm: Any, clock: ManualClock) -> None:
    sm.create_hyper_parameter_tuning_job(**tuning_request("many", total=50, parallel=10))
    clock.advance(5.0)
    job = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="many")
    assert job["HyperParameterTuningJobStatus"] == "Completed"
    assert job["TrainingJobStatusCounters"]["Completed"] == 5
    assert len(sim_get(sim, "/_sim/resources?kind=TrainingJob")["TrainingJob"]) == 5


def test_stop_tuning_job_stops_running_children(sim: SimulatorServer, sm: Any, clock: ManualClock) -> None:
    sm.create_hyper_parameter_tuning_job(**tuning_request("halt", total=4, parallel=2))
    clock.advance(2.0)
    sm.stop_hyper_parameter_tuning_job(HyperParameterTuningJobName="halt")
    assert sm.describe_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="halt")["HyperParameterTuningJobStatus"] == "Stopping"
    clock.advance(20.0)
    job = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="halt")
    assert job["HyperParameterTuningJobStatus"] == "Stopped"
    assert job["TrainingJobStatusCounters"]["Stopped"] == 2
    assert len(sim_get(sim, "/_sim/resources?kind=TrainingJob")["TrainingJob"]) == 2  # 2nd wave never ran
    assert error_of(sm.stop_hyper_parameter_tuning_job, HyperParameterTuningJobName="halt")["Code"] == \
        "ValidationException"


def test_fail_reason_tag_fails_tuning_job(sm: Any, clock: ManualClock) -> None:
    sm.create_hyper_parameter_tuning_job(**tuning_request(
        "bad", total=4, parallel=2, Tags=sim_tags(fail_reason="All training jobs failed")))
    clock.advance(4.0)
    job = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="bad")
    assert job["HyperParameterTuningJobStatus"] == "Failed"
    assert job["FailureReason"] == "All training jobs failed"
    assert job["TrainingJobStatusCounters"]["NonRetryableError"] == 2
    assert job["ObjectiveStatusCounters"]["Failed"] == 2
    assert "BestTrainingJob" not in job


# Hosting --------------------------------------------------------------------------

def test_model_and_endpoint_config_describe_and_delete(sm: Any) -> None:
    create_model(sm)
    create_config(sm, "cfg")
    model = sm.describe_model(ModelName="model-a")
    assert model["ModelArn"] == "arn:aws:sagemaker:us-east-1:123456789012:model/model-a"
    assert model["PrimaryContainer"]["Image"] == IMAGE
    config = sm.describe_endpoint_config(EndpointConfigName="cfg")
    assert config["ProductionVariants"][0]["ModelName"] == "model-a"
    sm.delete_endpoint_config(EndpointConfigName="cfg")
    sm.delete_model(ModelName="model-a")
    assert error_of(sm.describe_model, ModelName="model-a")["Message"].startswith("Could not find model")
    assert error_of(sm.delete_model, ModelName="model-a")["Code"] == "ValidationException"


def test_endpoint_config_requires_existing_model(sm: Any) -> None:
    error = error_of(create_config, sm=sm, name="cfg", model="ghost")
    assert error["Message"] == 'Could not find model "arn:aws:sagemaker:us-east-1:123456789012:model/ghost".'


def test_endpoint_create_update_delete(sm: Any, clock: ManualClock) -> None:
    create_model(sm)
    create_config(sm, "cfg-1")
    create_config(sm, "cfg-2")
    error = error_of(sm.create_endpoint, EndpointName="ep", EndpointConfigName="cfg-9")
    assert error["Message"].startswith('Could not find endpoint configuration "')

    sm.create_endpoint(EndpointName="ep", EndpointConfigName="cfg-1")
    endpoint = sm.describe_endpoint(EndpointName="ep")
    assert endpoint["EndpointStatus"] == "Creating"
    assert "ProductionVariants" not in endpoint
    assert error_of(sm.update_endpoint, EndpointName="ep", EndpointConfigName="cfg-2")["Message"].startswith(
        "Cannot update in-progress endpoint")

    clock.advance(2.0)
    endpoint = sm.describe_endpoint(EndpointName="ep")
    assert endpoint["EndpointStatus"] == "InService"
    variant = endpoint["ProductionVariants"][0]
    assert (variant["VariantName"], variant["CurrentInstanceCount"], variant["CurrentWeight"]) == ("AllTraffic", 2, 1.0)
    assert variant["DeployedImages"][0]["SpecifiedImage"] == IMAGE

    sm.update_endpoint(EndpointName="ep", EndpointConfigName="cfg-2")
    endpoint = sm.describe_endpoint(EndpointName="ep")
    assert endpoint["EndpointStatus"] == "Updating"
    assert endpoint["EndpointConfigName"] == "cfg-1"
    assert endpoint["PendingDeploymentSummary"]["EndpointConfigName"] == "cfg-2"
    clock.advance(2.0)
    endpoint = sm.describe_endpoint(EndpointName="ep")
    assert (endpoint["EndpointStatus"], endpoint["EndpointConfigName"]) == ("InService", "cfg-2")
    assert "PendingDeploymentSummary" not in endpoint and "FailureReason" not in endpoint

    sm.delete_endpoint(EndpointName="ep")
    assert sm.describe_endpoint(EndpointName="ep")["EndpointStatus"] == "Deleting"
    clock.advance(1.0)
    assert error_of(sm.describe_endpoint, EndpointName="ep")["Message"].startswith("Could not find endpoint")
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="cfg-1")  # the name is free again


def test_failed_endpoint_update_rolls_back_with_failure_reason(sm: Any, clock: ManualClock) -> None:
    create_model(sm)
    create_config(sm, "good")
    create_config(sm, "bad", Tags=sim_tags(fail_reason="Insufficient capacity for ml.m5.large"))
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="good")
    clock.advance(2.0)
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="bad")
    clock.advance(2.0)
    endpoint = sm.describe_endpoint(EndpointName="ep")
    assert endpoint["EndpointStatus"] == "InService"
    assert endpoint["EndpointConfigName"] == "good"
    assert endpoint["FailureReason"] == "Insufficient capacity for ml.m5.large"
    # A later successful update clears the failure.
    create_config(sm, "better")
    sm.update_endpoint(EndpointName="ep", EndpointConfigName="better")
    clock.advance(2.0)
    endpoint = sm.describe_endpoint(EndpointName="ep")
    assert (endpoint["EndpointConfigName"], "FailureReason" in endpoint) == ("better", False)


def test_endpoint_fails_when_created_from_a_failing_config(sm: Any, clock: ManualClock) -> None:
    create_model(sm)
    create_config(sm, "bad", Tags=sim_tags(fail_reason="Image pull failed"))
    create_config(sm, "good")
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="bad")
    sm.create_endpoint(EndpointName="ep-2", EndpointConfigName="good", Tags=sim_tags(fail_reason="own reason"))
    clock.advance(2.0)
    endpoint = sm.describe_endpoint(EndpointName="ep")
    assert (endpoint["EndpointStatus"], endpoint["FailureReason"]) == ("Failed", "Image pull failed")
    assert sm.describe_endpoint(EndpointName="ep-2")["FailureReason"] == "own reason"
    assert error_of(sm.update_endpoint, EndpointName="ep", EndpointConfigName="good")["Message"].startswith(
        "Cannot update failed endpoint")
    sm.delete_endpoint(EndpointName="ep")
    clock.advance(1.0)
    assert error_of(sm.describe_endpoint, EndpointName="ep")["Code"] == "ValidationException"


def test_endpoint_lifecycle_in_real_time(live: SimulatorServer) -> None:
    sm = client(live)
    create_model(sm)
    create_config(sm, "cfg")
    sm.create_endpoint(EndpointName="ep", EndpointConfigName="cfg")
    endpoint = wait_for(lambda: sm.describe_endpoint(EndpointName="ep"), lambda e: e["EndpointStatus"] != "Creating")
    assert endpoint["EndpointStatus"] == "InService"


# Batch and processing ---------------------------------------------------------------

def test_transform_job_lifecycle_and_stop(sm: Any, clock: ManualClock) -> None:
    assert error_of(sm.create_transform_job, **transform_request("t0"))["Message"].startswith(
        "Could not find model")
    create_model(sm)
    sm.create_transform_job(**transform_request("t1"))
    sm.create_transform_job(**transform_request("t2"))
    assert sm.describe_transform_job(TransformJobName="t1")["TransformJobStatus"] == "InProgress"
    clock.advance(1.0)
    sm.stop_transform_job(TransformJobName="t2")
    assert sm.describe_transform_job(TransformJobName="t2")["TransformJobStatus"] == "Stopping"
    clock.advance(2.0)
    job = sm.describe_transform_job(TransformJobName="t1")
    assert job["TransformJobStatus"] == "Completed"
    assert job["TransformOutput"]["S3OutputPath"] == "s3://bucket/transformed"
    assert job["TransformJobArn"] == "arn:aws:sagemaker:us-east-1:123456789012:transform-job/t1"
    assert job["TransformStartTime"] < job["TransformEndTime"]
    assert sm.describe_transform_job(TransformJobName="t2")["TransformJobStatus"] == "Stopped"


def test_processing_job_lifecycle_failure_and_stop(sm: Any, clock: ManualClock) -> None:
    sm.create_processing_job(**processing_request("ok"))
    sm.create_processing_job(**processing_request("broken", Tags=sim_tags(fail_reason="ClientError: exit 1")))
    sm.create_processing_job(**processing_request("halt"))
    sm.stop_processing_job(ProcessingJobName="halt")
    clock.advance(3.0)
    job = sm.describe_processing_job(ProcessingJobName="ok")
    assert job["ProcessingJobStatus"] == "Completed"
    assert job["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"] == "s3://bucket/processed"
    broken = sm.describe_processing_job(ProcessingJobName="broken")
    assert (broken["ProcessingJobStatus"], broken["FailureReason"]) == ("Failed", "ClientError: exit 1")
    assert sm.describe_processing_job(ProcessingJobName="halt")["ProcessingJobStatus"] == "Stopped"


# Defaults the controller late-initializes ---------------------------------------------
#
# The ACK controller keeps a resource ACK.LateInitialized=False / ACK.ResourceSynced=False
# until Describe reports every field in its manager.go incompleteLateInitialization, so
# Describe must fill them with SageMaker's defaults when the Create request left them out.

def test_training_job_describe_reports_sagemaker_defaults(sim: SimulatorServer, sm: Any) -> None:
    request = training_request("defaults")
    del request["ResourceConfig"]["InstanceCount"]
    sm.create_training_job(**request)
    job = sm.describe_training_job(TrainingJobName="defaults")
    assert job["EnableInterContainerTrafficEncryption"] is False
    assert job["EnableManagedSpotTraining"] is False
    assert job["EnableNetworkIsolation"] is False
    assert job["AlgorithmSpecification"]["EnableSageMakerMetricsTimeSeries"] is False
    assert job["OutputDataConfig"] == {"S3OutputPath": "s3://bucket/output", "CompressionType": "GZIP", "KmsKeyId": ""}
    assert job["ResourceConfig"]["InstanceCount"] == 1
    # Only the Describe output carries them: the stored request is as sent.
    stored = sim.state.find(kinds.TRAINING_JOB, "us-east-1", "defaults")
    assert stored is not None and "KmsKeyId" not in stored.spec["OutputDataConfig"]
    assert "EnableNetworkIsolation" not in stored.spec


def test_training_job_describe_echoes_values_that_were_set(sm: Any) -> None:
    request = training_request(
        "explicit", EnableInterContainerTrafficEncryption=True, EnableManagedSpotTraining=True,
        EnableNetworkIsolation=True, OutputDataConfig={
            "S3OutputPath": "s3://bucket/output", "CompressionType": "NONE", "KmsKeyId": "alias/key"})
    request["AlgorithmSpecification"]["EnableSageMakerMetricsTimeSeries"] = True
    request["ResourceConfig"]["InstanceCount"] = 3
    sm.create_training_job(**request)
    job = sm.describe_training_job(TrainingJobName="explicit")
    assert (job["EnableInterContainerTrafficEncryption"], job["EnableManagedSpotTraining"],
            job["EnableNetworkIsolation"]) == (True, True, True)
    assert job["AlgorithmSpecification"]["EnableSageMakerMetricsTimeSeries"] is True
    assert job["OutputDataConfig"] == request["OutputDataConfig"]
    assert job["ResourceConfig"]["InstanceCount"] == 3


def test_training_job_with_instance_groups_reports_an_instance_count(sm: Any) -> None:
    groups = [{"InstanceGroupName": "g1", "InstanceType": "ml.m5.large", "InstanceCount": 2}]
    sm.create_training_job(**training_request("hetero", ResourceConfig={"InstanceGroups": groups, "VolumeSizeInGB": 5}))
    job = sm.describe_training_job(TrainingJobName="hetero")
    assert job["ResourceConfig"] == {"InstanceGroups": groups, "VolumeSizeInGB": 5, "InstanceCount": 0}


def test_tuning_job_describe_reports_sagemaker_defaults(sm: Any, clock: ManualClock) -> None:
    request = tuning_request("hpo-defaults", total=1, parallel=1)
    del request["TrainingJobDefinition"]["ResourceConfig"]["InstanceCount"]
    sm.create_hyper_parameter_tuning_job(**request)
    definition = sm.describe_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="hpo-defaults")["TrainingJobDefinition"]
    assert definition["EnableInterContainerTrafficEncryption"] is False
    assert definition["EnableManagedSpotTraining"] is False
    assert definition["EnableNetworkIsolation"] is False
    assert definition["ResourceConfig"]["InstanceCount"] == 1
    # A built-in algorithm's metric definitions: one per metric its jobs report, the objective included.
    metrics = definition["AlgorithmSpecification"]["MetricDefinitions"]
    assert [m["Name"] for m in metrics] == ["train:loss", "validation:auc"]
    assert re.search(metrics[1]["Regex"], "[3]#011train-auc:0.91#011validation-auc:0.875").group(1) == "0.875"
    # The children still report what they reported before.
    clock.advance(5.0)
    child = sm.list_training_jobs_for_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="hpo-defaults")["TrainingJobSummaries"][0]["TrainingJobName"]
    job = sm.describe_training_job(TrainingJobName=child)
    assert "MetricDefinitions" not in job["AlgorithmSpecification"]
    assert {m["MetricName"] for m in job["FinalMetricDataList"]} == {"train:loss", "validation:auc"}


def test_tuning_job_describe_keeps_declared_metrics_and_fills_listed_definitions(sm: Any) -> None:
    declared = [{"Name": "validation:auc", "Regex": "auc=(.*)"}]
    request = tuning_request("hpo-declared", total=1, parallel=1)
    request["TrainingJobDefinition"]["AlgorithmSpecification"]["MetricDefinitions"] = declared
    request["TrainingJobDefinition"]["EnableNetworkIsolation"] = True
    sm.create_hyper_parameter_tuning_job(**request)
    definition = sm.describe_hyper_parameter_tuning_job(
        HyperParameterTuningJobName="hpo-declared")["TrainingJobDefinition"]
    assert definition["AlgorithmSpecification"]["MetricDefinitions"] == declared
    assert definition["EnableNetworkIsolation"] is True

    listed = tuning_request("hpo-listed", total=1, parallel=1)
    single = listed.pop("TrainingJobDefinition")
    single.update(DefinitionName="d1", TuningObjective={"Type": "Minimize", "MetricName": "validation:rmse"},
                  HyperParameterRanges=listed["HyperParameterTuningJobConfig"].pop("ParameterRanges"))
    sm.create_hyper_parameter_tuning_job(**listed, TrainingJobDefinitions=[single])
    described = sm.describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="hpo-listed")
    [definition] = described["TrainingJobDefinitions"]
    assert definition["EnableManagedSpotTraining"] is False
    assert "validation:rmse" in [m["Name"] for m in definition["AlgorithmSpecification"]["MetricDefinitions"]]


def test_model_and_endpoint_config_report_network_isolation(sm: Any) -> None:
    create_model(sm)
    sm.create_model(ModelName="isolated", ExecutionRoleArn=ROLE, EnableNetworkIsolation=True,
                    PrimaryContainer={"Image": IMAGE})
    create_config(sm, "cfg-plain")
    create_config(sm, "cfg-isolated", EnableNetworkIsolation=True)
    assert sm.describe_model(ModelName="model-a")["EnableNetworkIsolation"] is False
    assert sm.describe_model(ModelName="isolated")["EnableNetworkIsolation"] is True
    assert sm.describe_endpoint_config(EndpointConfigName="cfg-plain")["EnableNetworkIsolation"] is False
    assert sm.describe_endpoint_config(EndpointConfigName="cfg-isolated")["EnableNetworkIsolation"] is True


def test_transform_job_reports_input_defaults(sm: Any) -> None:
    create_model(sm)
    sm.create_transform_job(**transform_request("plain"))
    request = transform_request("split")
    request["TransformInput"].update(SplitType="Line", CompressionType="Gzip")
    sm.create_transform_job(**request)
    plain = sm.describe_transform_job(TransformJobName="plain")["TransformInput"]
    assert (plain["CompressionType"], plain["SplitType"]) == ("None", "None")
    split = sm.describe_transform_job(TransformJobName="split")["TransformInput"]
    assert (split["CompressionType"], split["SplitType"]) == ("Gzip", "Line")


# Monitoring -------------------------------------------------------------------------

@pytest.mark.parametrize("prefix", ["DataQuality", "ModelBias", "ModelExplainability", "ModelQuality"])
def test_job_definitions(sm: Any, prefix: str) -> None:
    snake = re.sub(r"(?<!^)([A-Z])", r"_\1", prefix).lower()
    create = getattr(sm, f"create_{snake}_job_definition")
    describe = getattr(sm, f"describe_{snake}_job_definition")
    delete = getattr(sm, f"delete_{snake}_job_definition")
    arn = create(**job_definition_request(prefix, "def-1"))["JobDefinitionArn"]
    kebab = snake.replace("_", "-")
    assert arn == f"arn:aws:sagemaker:us-east-1:123456789012:{kebab}-job-definition/def-1"
    described = describe(JobDefinitionName="def-1")
    assert described["JobDefinitionArn"] == arn
    assert described[f"{prefix}JobInput"]["EndpointInput"]["EndpointName"] == "ep"
    assert error_of(create, **job_definition_request(prefix, "def-1"))["Code"] == "ResourceInUse"
    delete(JobDefinitionName="def-1")
    assert error_of(describe, JobDefinitionName="def-1")["Code"] == "ResourceNotFound"


def test_monitoring_schedule_lifecycle(sm: Any, clock: ManualClock) -> None:
    sm.create_data_quality_job_definition(**job_definition_request("DataQuality", "dq-def"))
    sm.create_monitoring_schedule(**schedule_request("sched"))
    schedule = sm.describe_monitoring_schedule(MonitoringScheduleName="sched")
    assert schedule["MonitoringScheduleStatus"] == "Pending"
    assert (schedule["MonitoringType"], schedule["EndpointName"]) == ("DataQuality", "ep")
    new_config = schedule_request("sched")["MonitoringScheduleConfig"]
    new_config["ScheduleConfig"]["ScheduleExpression"] = "cron(0 0 ? * * *)"
    assert error_of(sm.update_monitoring_schedule, MonitoringScheduleName="sched",
                    MonitoringScheduleConfig=new_config)["Code"] == "ValidationException"
    clock.advance(1.0)
    assert sm.describe_monitoring_schedule(MonitoringScheduleName="sched")["MonitoringScheduleStatus"] == "Scheduled"
    sm.update_monitoring_schedule(MonitoringScheduleName="sched", MonitoringScheduleConfig=new_config)
    assert sm.describe_monitoring_schedule(MonitoringScheduleName="sched")["MonitoringScheduleStatus"] == "Pending"
    clock.advance(1.0)
    schedule = sm.describe_monitoring_schedule(MonitoringScheduleName="sched")
    assert schedule["MonitoringScheduleStatus"] == "Scheduled"
    assert schedule["MonitoringScheduleConfig"]["ScheduleConfig"]["ScheduleExpression"] == "cron(0 0 ? * * *)"
    sm.delete_monitoring_schedule(MonitoringScheduleName="sched")
    assert error_of(sm.describe_monitoring_schedule, MonitoringScheduleName="sched")["Code"] == "ResourceNotFound"


def test_monitoring_schedule_fail_reason(sm: Any, clock: ManualClock) -> None:
    sm.create_monitoring_schedule(**schedule_request("sched", Tags=sim_tags(fail_reason="no baseline")))
    clock.advance(1.0)
    schedule = sm.describe_monitoring_schedule(MonitoringScheduleName="sched")
    assert (schedule["MonitoringScheduleStatus"], schedule["FailureReason"]) == ("Failed", "no baseline")


# Tags and injection ------------------------------------------------------------------

def test_tag_operations(sm: Any) -> None:
    arn = sm.create_training_job(**training_request("tagged", Tags=[{"Key": "team", "Value": "ml"}]))["TrainingJobArn"]
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "ml"}]
    sm.add_tags(ResourceArn=arn, Tags=[{"Key": "stage", "Value": "dev"}])
    sm.delete_tags(ResourceArn=arn, TagKeys=["team"])
    assert sm.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "stage", "Value": "dev"}]
    error = error_of(sm.list_tags, ResourceArn=arn.replace("tagged", "ghost"))
    assert (error["Code"], error["Message"]) == ("ValidationException", "Requested resource not found.")


def test_validation_error_tag_rejects_the_create(sim: SimulatorServer, sm: Any) -> None:
    request = training_request("refused", Tags=sim_tags(validation_error="Instance type not supported"))
    for _ in range(2):  # stays refused, as the controller keeps retrying
        error = error_of(sm.create_training_job, **request)
        assert (error["Code"], error["Message"]) == ("ValidationException", "Instance type not supported")
    assert sim_get(sim, "/_sim/resources?kind=TrainingJob") == {"TrainingJob": []}


def test_throttle_next_tag_throttles_following_calls(sim: SimulatorServer, sm: Any) -> None:
    sm.create_training_job(**training_request("noisy", Tags=sim_tags(throttle_next="2")))
    for _ in range(2):
        error = error_of(sm.describe_training_job, TrainingJobName="noisy")
        assert (error["Code"], error["Message"]) == ("ThrottlingException", "Rate exceeded")
    assert sm.describe_training_job(TrainingJobName="noisy")["TrainingJobName"] == "noisy"
    counts = sim_get(sim, "/_sim/calls")
    assert counts["calls"] == {"CreateTrainingJob": 1, "DescribeTrainingJob": 3}
    assert counts["throttled"] == {"DescribeTrainingJob": 2}


def test_sdk_retries_through_throttling(sim: SimulatorServer) -> None:
    sm = client(sim, config=Config(retries={"mode": "standard", "total_max_attempts": 2}))
    sim_post(sim, "/_sim/throttle", {"count": 1})
    assert error_of(sm.describe_model, ModelName="m")["Code"] == "ValidationException"
    assert sim_get(sim, "/_sim/calls")["throttled"] == {"DescribeModel": 1}


def test_invalid_injection_values_are_rejected(sm: Any) -> None:
    error = error_of(sm.create_training_job, **training_request("x", Tags=sim_tags(phase_seconds="fast")))
    assert "sim/phase-seconds" in error["Message"]
    error = error_of(sm.create_training_job, **training_request("x", Tags=sim_tags(throttle_next="-1")))
    assert "sim/throttle-next" in error["Message"]


# Control API --------------------------------------------------------------------------

def test_control_api(sim: SimulatorServer, sm: Any) -> None:
    assert sim_get(sim, "/_sim/health") == {"ok": True}
    create_model(sm)
    sm.create_training_job(**training_request("tj", Tags=[{"Key": "owner", "Value": "me"}]))
    everything = sim_get(sim, "/_sim/resources")
    assert len(everything) == 18 and everything["Endpoint"] == []
    (job,) = everything["TrainingJob"]
    assert job["name"] == "tj" and job["status"] == "InProgress" and job["tags"] == {"owner": "me"}
    assert job["arn"].endswith(":training-job/tj") and job["parent"] is None
    assert isinstance(job["created"], float)
    assert list(sim_get(sim, "/_sim/resources?kind=Model")) == ["Model"]
    with pytest.raises(urllib.error.HTTPError) as caught:
        sim_get(sim, "/_sim/resources?kind=Nope")
    assert caught.value.code == 400

    assert sim_get(sim, "/_sim/calls")["calls"] == {"CreateModel": 1, "CreateTrainingJob": 1}
    sim_post(sim, "/_sim/calls/reset")
    assert sim_get(sim, "/_sim/calls")["calls"] == {}

    assert sim_post(sim, "/_sim/throttle", {"count": 1}) == {"pending_throttles": 1}
    assert error_of(sm.describe_model, ModelName="model-a")["Code"] == "ThrottlingException"
    sim_post(sim, "/_sim/reset")
    assert sim_get(sim, "/_sim/resources")["TrainingJob"] == []
    assert sim_get(sim, "/_sim/calls") == {"calls": {}, "throttled": {}, "pending_throttles": 0}
    for bad in ({"count": -1}, {"count": "2"}, {}):
        with pytest.raises(urllib.error.HTTPError) as caught:
            sim_post(sim, "/_sim/throttle", bad)
        assert caught.value.code == 400
    with pytest.raises(urllib.error.HTTPError) as caught:
        sim_get(sim, "/_sim/nothing")
    assert caught.value.code == 404


def test_concurrent_clients(sim: SimulatorServer) -> None:
    sm = client(sim)
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            for j in range(5):
                name = f"job-{index}-{j}"
                sm.create_training_job(**training_request(name))
                sm.describe_training_job(TrainingJobName=name)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(sim_get(sim, "/_sim/resources?kind=TrainingJob")["TrainingJob"]) == 40
    assert sim_get(sim, "/_sim/calls")["calls"] == {"CreateTrainingJob": 40, "DescribeTrainingJob": 40}


# Command line -------------------------------------------------------------------------

def test_cli_serve_list_and_log_redaction(tmp_path: Path) -> None:
    port_file = tmp_path / "port"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    server = subprocess.Popen(
        [sys.executable, "-m", "sagemaker_ack_kfp.simulator", "serve", "--port", "0",
         "--port-file", str(port_file), "--phase-seconds", "600", "--verbose"],
        stderr=subprocess.PIPE, text=True, env=env)
    try:
        port = wait_for(lambda: port_file.read_text().strip() if port_file.exists() else "", bool)
        assert port.isdigit()
        url = f"http://127.0.0.1:{port}"
        sm = boto3.client("sagemaker", endpoint_url=url, region_name="us-east-1",
                          aws_access_key_id="x", aws_secret_access_key="x", config=NO_RETRIES)
        sm.create_training_job(**training_request("cli-job", Environment={"API_KEY": "hunter2-secret"}))
        listing = subprocess.run(
            [sys.executable, "-m", "sagemaker_ack_kfp.simulator", "list", "--url", url, "--kind", "TrainingJob"],
            capture_output=True, text=True, timeout=20, env=env)
        assert listing.returncode == 0, listing.stderr
        header, row = listing.stdout.strip().splitlines()
        assert header.split() == ["KIND", "NAME", "STATUS", "PARENT", "CREATED"]
        assert row.split()[:4] == ["TrainingJob", "cli-job", "InProgress", "-"]
    finally:
        server.send_signal(signal.SIGTERM)
        _, stderr = server.communicate(timeout=10)
    assert server.returncode == 0
    assert "SageMaker.CreateTrainingJob cli-job -> 200" in stderr
    assert "<redacted>" in stderr
    assert "hunter2-secret" not in stderr


def test_cli_list_reports_unreachable_simulator() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "sagemaker_ack_kfp.simulator", "list", "--url", "http://127.0.0.1:9"],
        capture_output=True, text=True, timeout=20)
    assert result.returncode == 1
    assert "cannot reach simulator" in result.stderr
