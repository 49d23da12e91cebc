"""The simulator's Ground Truth labeling jobs and SageMaker Pipelines, driven through boto3 on a
manual clock: every call the ACK controller makes for these kinds, the errors it matches,
lifecycles and failure injection."""

from __future__ import annotations

import json
from typing import Any

import pytest
from botocore.config import Config

from sagemaker_ack_kfp.simulator import SimulatorServer
from sagemaker_ack_kfp.simulator.labeling import dataset_size
from tests.support.simulator_client import ManualClock, client, error_of, sim_get, sim_tags

ROLE = "arn:aws:iam::123456789012:role/sagemaker"
ARN = "arn:aws:sagemaker:us-east-1:123456789012"
PRIVATE_TEAM = f"{ARN}:workteam/private-crowd/labelers"
PUBLIC_TEAM = "arn:aws:sagemaker:us-east-1:394669845002:workteam/public-crowd/default"


# Labeling jobs ------------------------------------------------------------------------


def labeling_request(name: str, *, team: str = PRIVATE_TEAM, **extra: Any) -> dict[str, Any]:
    return {
        "LabelingJobName": name,
        "LabelAttributeName": "category",
        "InputConfig": {"DataSource": {"S3DataSource": {"ManifestS3Uri": "s3://bucket/labeling/input.manifest"}}},
        "OutputConfig": {"S3OutputPath": "s3://bucket/labeling/output/"},
        "RoleArn": ROLE,
        "HumanTaskConfig": {
            "WorkteamArn": team,
            "UiConfig": {"UiTemplateS3Uri": "s3://bucket/labeling/template.liquid"},
            "PreHumanTaskLambdaArn": "arn:aws:lambda:us-east-1:432418664414:function:PRE-ImageMultiClass",
            "TaskTitle": "Classify", "TaskDescription": "Pick a class",
            "NumberOfHumanWorkersPerDataObject": 1, "TaskTimeLimitInSeconds": 300,
            "AnnotationConsolidationConfig": {
                "AnnotationConsolidationLambdaArn": "arn:aws:lambda:us-east-1:432418664414:function:ACS-ImageMultiClass"},
        },
        **extra,
    }


def test_labeling_job_labels_in_phases_and_completes(sm: Any, clock: ManualClock) -> None:
    arn = sm.create_labeling_job(**labeling_request("Label-1"))["LabelingJobArn"]
    assert arn == f"{ARN}:labeling-job/label-1"
    seen = []
    for _ in range(4):
        described = sm.describe_labeling_job(LabelingJobName="Label-1")
        seen.append((described["LabelingJobStatus"], described["LabelCounters"]["TotalLabeled"]))
        clock.advance(1)
    total = seen[-1][1]
    assert 10 <= total <= 100
    assert [status for status, _ in seen] == ["InProgress", "InProgress", "InProgress", "Completed"]
    assert [labeled for _, labeled in seen] == sorted(labeled for _, labeled in seen) and seen[0][1] == 0
    done = sm.describe_labeling_job(LabelingJobName="Label-1")
    assert done["LabelCounters"] == {"TotalLabeled": total, "HumanLabeled": total, "MachineLabeled": 0,
                                     "FailedNonRetryableError": 0, "Unlabeled": 0}
    assert done["LabelingJobOutput"] == {
        "OutputDatasetS3Uri": "s3://bucket/labeling/output/Label-1/manifests/output/output.manifest"}
    assert done["JobReferenceCode"] and done["LabelAttributeName"] == "category"
    [summary] = sm.list_labeling_jobs()["LabelingJobSummaryList"]
    assert summary["LabelingJobStatus"] == "Completed" and summary["LabelCounters"]["TotalLabeled"] == total


def test_labeling_job_reports_the_defaults_the_controller_late_initializes(sm: Any) -> None:
    sm.create_labeling_job(**labeling_request("private"))
    sm.create_labeling_job(**labeling_request(
        "public", team=PUBLIC_TEAM,
        LabelingJobAlgorithmsConfig={"LabelingJobAlgorithmSpecificationArn": f"{ARN}:labeling-job-algorithm-specification/image-classification"}))
    private = sm.describe_labeling_job(LabelingJobName="private")
    assert private["HumanTaskConfig"]["MaxConcurrentTaskCount"] == 1000
    assert private["HumanTaskConfig"]["TaskAvailabilityLifetimeInSeconds"] == 2592000  # 30 days
    assert private["OutputConfig"]["KmsKeyId"] == ""
    assert "LabelingJobAlgorithmsConfig" not in private
    public = sm.describe_labeling_job(LabelingJobName="public")
    assert public["HumanTaskConfig"]["TaskAvailabilityLifetimeInSeconds"] == 21600  # 6 hours on Mechanical Turk
    assert public["LabelingJobAlgorithmsConfig"]["LabelingJobResourceConfig"] == {}
    request = labeling_request("set")  # a value that was set is echoed
    request["HumanTaskConfig"]["MaxConcurrentTaskCount"] = 10
    sm.create_labeling_job(**request)
    assert sm.describe_labeling_job(LabelingJobName="set")["HumanTaskConfig"]["MaxConcurrentTaskCount"] == 10


def test_automated_labeling_and_stopping_conditions(sm: Any, clock: ManualClock) -> None:
    request = labeling_request(
        "auto", LabelingJobAlgorithmsConfig={"LabelingJobAlgorithmSpecificationArn": f"{ARN}:labeling-job-algorithm-specification/image-classification"},
        StoppingConditions={"MaxPercentageOfInputDatasetLabeled": 50})
    sm.create_labeling_job(**request)
    clock.advance(3)
    done = sm.describe_labeling_job(LabelingJobName="auto")
    counters = done["LabelCounters"]
    assert counters["MachineLabeled"] > 0 and counters["HumanLabeled"] > counters["MachineLabeled"]
    assert counters["TotalLabeled"] + counters["Unlabeled"] >= 10 and counters["Unlabeled"] > 0
    assert done["LabelingJobOutput"]["FinalActiveLearningModelArn"] == f"{ARN}:model/auto-final-model"


def test_dataset_size_depends_only_on_the_manifest() -> None:
    from sagemaker_ack_kfp.simulator import kinds
    from sagemaker_ack_kfp.simulator.injection import Injection
    from sagemaker_ack_kfp.simulator.resource import Resource

    def job(manifest: str, name: str) -> Resource:
        spec = {"InputConfig": {"DataSource": {"S3DataSource": {"ManifestS3Uri": manifest}}}}
        return Resource(kinds.LABELING_JOB, name, "arn", "us-east-1", 0.0, spec, {}, Injection(), 1.0, 0.0)

    assert dataset_size(job("s3://b/a.manifest", "x")) == dataset_size(job("s3://b/a.manifest", "y"))
    sizes = {dataset_size(job(f"s3://b/{i}.manifest", "x")) for i in range(20)}
    assert len(sizes) > 5 and all(10 <= size <= 100 for size in sizes)


def test_labeling_job_fail_stop_and_errors(sim: SimulatorServer, sm: Any, clock: ManualClock) -> None:
    sm.create_labeling_job(**labeling_request("bad", Tags=sim_tags(fail_reason="ClientError: manifest not found")))
    sm.create_labeling_job(**labeling_request("stopped"))
    clock.advance(1)
    sm.stop_labeling_job(LabelingJobName="stopped")
    labeled = sm.describe_labeling_job(LabelingJobName="stopped")["LabelCounters"]["TotalLabeled"]
    assert sm.describe_labeling_job(LabelingJobName="stopped")["LabelingJobStatus"] == "Stopping"
    clock.advance(2)
    stopped = sm.describe_labeling_job(LabelingJobName="stopped")
    assert stopped["LabelingJobStatus"] == "Stopped" and stopped["LabelCounters"]["TotalLabeled"] == labeled
    assert "LabelingJobOutput" not in stopped
    failed = sm.describe_labeling_job(LabelingJobName="bad")
    assert (failed["LabelingJobStatus"], failed["FailureReason"]) == ("Failed", "ClientError: manifest not found")
    assert error_of(sm.stop_labeling_job, LabelingJobName="bad")["Code"] == "ValidationException"
    # ACK treats any ValidationException from DescribeLabelingJob as not found (ResourceNotFound is Terminal).
    error = error_of(sm.describe_labeling_job, LabelingJobName="missing")
    assert error == {"Code": "ValidationException", "Message": "Could not find requested job with name missing"}
    assert error_of(sm.create_labeling_job, **labeling_request("bad"))["Code"] == "ResourceInUse"
    incomplete = labeling_request("incomplete")
    del incomplete["HumanTaskConfig"]["UiConfig"]
    unchecked = client(sim, config=Config(retries={"total_max_attempts": 1}, parameter_validation=False))
    assert error_of(unchecked.create_labeling_job, **incomplete)["Message"] == (
        "1 validation error detected: Value null at 'humanTaskConfig.uiConfig' failed to satisfy constraint: "
        "Member must not be null")
    assert error_of(sm.describe_labeling_job, LabelingJobName="incomplete")["Code"] == "ValidationException"


def test_labeling_job_tags_are_described(sm: Any) -> None:
    sm.create_labeling_job(**labeling_request("tagged", Tags=[{"Key": "team", "Value": "vision"}]))
    assert sm.describe_labeling_job(LabelingJobName="tagged")["Tags"] == [{"Key": "team", "Value": "vision"}]


# Pipelines ----------------------------------------------------------------------------

DEFINITION = json.dumps({
    "Version": "2020-12-01",
    "Parameters": [{"Name": "InputData", "Type": "String", "DefaultValue": "s3://bucket/in"}],
    "Steps": [{"Name": "Prepare", "Type": "Processing", "Arguments": {}},
              {"Name": "Train", "Type": "Training", "Arguments": {}},
              {"Name": "Register", "Type": "RegisterModel", "Arguments": {}}],
})


def create_pipeline(sm: Any, name: str = "nightly", **extra: Any) -> str:
    return str(sm.create_pipeline(PipelineName=name, RoleArn=ROLE, PipelineDefinition=DEFINITION, **extra)["PipelineArn"])


def test_pipeline_create_describe_update_delete(sm: Any, clock: ManualClock) -> None:
    arn = create_pipeline(sm, ParallelismConfiguration={"MaxParallelExecutionSteps": 2}, PipelineDisplayName="Nightly")
    assert arn == f"{ARN}:pipeline/nightly"
    described = sm.describe_pipeline(PipelineName="nightly")
    assert described["PipelineStatus"] == "Active" and described["PipelineDefinition"] == DEFINITION
    assert described["ParallelismConfiguration"] == {"MaxParallelExecutionSteps": 2}
    assert (described["RoleArn"], described["PipelineDisplayName"]) == (ROLE, "Nightly")
    assert "PipelineDescription" not in described  # only what was set: the controller compares it
    clock.advance(5)
    updated = sm.update_pipeline(PipelineName="nightly", PipelineDescription="v2", PipelineDefinition=DEFINITION)
    assert updated["PipelineVersionId"] == 2
    described = sm.describe_pipeline(PipelineName=arn)
    assert described["PipelineDescription"] == "v2"
    assert described["LastModifiedTime"].timestamp() == pytest.approx(clock.now)
    assert [p["PipelineName"] for p in sm.list_pipelines()["PipelineSummaries"]] == ["nightly"]
    sm.delete_pipeline(PipelineName="nightly")
    assert sm.describe_pipeline(PipelineName="nightly")["PipelineStatus"] == "Deleting"
    clock.advance(1)
    error = error_of(sm.describe_pipeline, PipelineName="nightly")
    # sdkFind: ResourceNotFound whose message ends in "does not exist.".
    assert error == {"Code": "ResourceNotFound", "Message": f"Pipeline '{arn}' does not exist."}


def test_pipeline_definition_and_name_errors(sm: Any) -> None:
    create_pipeline(sm)
    duplicate = error_of(sm.create_pipeline, PipelineName="nightly", RoleArn=ROLE, PipelineDefinition=DEFINITION)
    assert duplicate["Code"] == "ValidationException" and "Pipeline with name (nightly) already exists" in duplicate["Message"]
    bad = error_of(sm.create_pipeline, PipelineName="bad", RoleArn=ROLE, PipelineDefinition="{not json")
    assert bad["Message"].startswith("Unable to parse pipeline definition.")
    none = error_of(sm.create_pipeline, PipelineName="none", RoleArn=ROLE)
    assert none["Message"] == "Either Pipeline Definition or Pipeline Definition S3 location should be provided"
    assert error_of(sm.update_pipeline, PipelineName="missing")["Code"] == "ResourceNotFound"
    invalid = error_of(sm.create_pipeline, PipelineName="bad", RoleArn=ROLE, PipelineDefinition="{}",
                       Tags=sim_tags(validation_error="Role cannot be assumed"))
    assert invalid["Message"].startswith("Unable to parse pipeline definition.")
    rejected = error_of(sm.create_pipeline, PipelineName="bad", RoleArn=ROLE, PipelineDefinition=DEFINITION,
                        Tags=sim_tags(validation_error="Role cannot be assumed"))
    assert rejected == {"Code": "ValidationException", "Message": "Role cannot be assumed"}


def test_execution_runs_its_steps_one_by_one_and_succeeds(sm: Any, clock: ManualClock) -> None:
    create_pipeline(sm)
    execution = sm.start_pipeline_execution(PipelineName="nightly", PipelineExecutionDisplayName="run-1",
                                            PipelineParameters=[{"Name": "InputData", "Value": "s3://bucket/day"}])["PipelineExecutionArn"]
    assert execution.startswith(f"{ARN}:pipeline/nightly/execution/")
    assert len(execution.rsplit("/", 1)[1]) == 12
    described = sm.describe_pipeline_execution(PipelineExecutionArn=execution)
    assert (described["PipelineExecutionStatus"], described["PipelineExecutionDisplayName"]) == ("Executing", "run-1")
    assert described["PipelineArn"] == f"{ARN}:pipeline/nightly" and described["PipelineVersionId"] == 1
    clock.advance(1.5)
    steps = sm.list_pipeline_execution_steps(PipelineExecutionArn=execution)["PipelineExecutionSteps"]
    assert [(s["StepName"], s["StepStatus"]) for s in steps] == [("Train", "Executing"), ("Prepare", "Succeeded")]
    clock.advance(1.5)
    assert sm.describe_pipeline_execution(PipelineExecutionArn=execution)["PipelineExecutionStatus"] == "Succeeded"
    steps = sm.list_pipeline_execution_steps(PipelineExecutionArn=execution, SortOrder="Ascending")["PipelineExecutionSteps"]
    assert [(s["StepName"], s["StepStatus"]) for s in steps] == [
        ("Prepare", "Succeeded"), ("Train", "Succeeded"), ("Register", "Succeeded")]
    assert sm.list_pipeline_parameters_for_execution(PipelineExecutionArn=execution)["PipelineParameters"] == [
        {"Name": "InputData", "Value": "s3://bucket/day"}]
    [summary] = sm.list_pipeline_executions(PipelineName="nightly")["PipelineExecutionSummaries"]
    assert summary["PipelineExecutionStatus"] == "Succeeded"
    assert sm.describe_pipeline(PipelineName="nightly")["LastRunTime"]


def test_fail_reason_on_the_pipeline_fails_its_executions_at_the_last_step(sm: Any, clock: ManualClock) -> None:
    create_pipeline(sm, "flaky", Tags=sim_tags(fail_reason="ClientError: Failed to invoke the training job"))
    execution = sm.start_pipeline_execution(PipelineName="flaky")["PipelineExecutionArn"]
    clock.advance(3)
    described = sm.describe_pipeline_execution(PipelineExecutionArn=execution)
    assert (described["PipelineExecutionStatus"], described["FailureReason"]) == (
        "Failed", "ClientError: Failed to invoke the training job")
    assert described["PipelineExecutionDisplayName"].startswith("execution-")
    last = sm.list_pipeline_execution_steps(PipelineExecutionArn=execution)["PipelineExecutionSteps"][0]
    assert (last["StepName"], last["StepStatus"], last["FailureReason"]) == (
        "Register", "Failed", "ClientError: Failed to invoke the training job")


def test_stop_update_and_idempotent_start(sm: Any, clock: ManualClock) -> None:
    create_pipeline(sm)
    first = sm.start_pipeline_execution(PipelineName="nightly", ClientRequestToken="token-1".ljust(32, "0"))["PipelineExecutionArn"]
    again = sm.start_pipeline_execution(PipelineName="nightly", ClientRequestToken="token-1".ljust(32, "0"))["PipelineExecutionArn"]
    other = sm.start_pipeline_execution(PipelineName="nightly", ClientRequestToken="token-2".ljust(32, "0"))["PipelineExecutionArn"]
    assert first == again != other
    clock.advance(1.5)
    sm.update_pipeline_execution(PipelineExecutionArn=first, PipelineExecutionDescription="manual stop")
    sm.stop_pipeline_execution(PipelineExecutionArn=first)
    stopping = sm.describe_pipeline_execution(PipelineExecutionArn=first)
    assert (stopping["PipelineExecutionStatus"], stopping["PipelineExecutionDescription"]) == ("Stopping", "manual stop")
    clock.advance(1)
    assert sm.describe_pipeline_execution(PipelineExecutionArn=first)["PipelineExecutionStatus"] == "Stopped"
    steps = sm.list_pipeline_execution_steps(PipelineExecutionArn=first)["PipelineExecutionSteps"]
    assert [(s["StepName"], s["StepStatus"]) for s in steps] == [("Train", "Stopped"), ("Prepare", "Succeeded")]
    assert error_of(sm.stop_pipeline_execution, PipelineExecutionArn=first)["Code"] == "ConflictException"


def test_execution_errors_are_what_the_controller_matches(sm: Any) -> None:
    missing = f"{ARN}:pipeline/nightly/execution/000000000000"
    error = error_of(sm.describe_pipeline_execution, PipelineExecutionArn=missing)
    # sdkFind: ResourceNotFound whose message ends in "does not exist" (no full stop).
    assert error == {"Code": "ResourceNotFound", "Message": f"Pipeline execution {missing} does not exist"}
    # Starting an execution of a missing pipeline: ResourceNotFound, which ACK treats as Terminal.
    error = error_of(sm.start_pipeline_execution, PipelineName="nightly")
    assert error == {"Code": "ResourceNotFound", "Message": f"Pipeline '{ARN}:pipeline/nightly' does not exist."}


def test_selective_execution_runs_only_the_selected_steps(sm: Any, clock: ManualClock) -> None:
    create_pipeline(sm)
    first = sm.start_pipeline_execution(PipelineName="nightly")["PipelineExecutionArn"]
    clock.advance(3)
    execution = sm.start_pipeline_execution(PipelineName="nightly", SelectiveExecutionConfig={
        "SourcePipelineExecutionArn": first, "SelectedSteps": [{"StepName": "Register"}]})["PipelineExecutionArn"]
    clock.advance(1)
    assert sm.describe_pipeline_execution(PipelineExecutionArn=execution)["PipelineExecutionStatus"] == "Succeeded"
    steps = sm.list_pipeline_execution_steps(PipelineExecutionArn=execution)["PipelineExecutionSteps"]
    assert [s["StepName"] for s in steps] == ["Register"]


def test_sim_resources_lists_pipelines_and_executions(sim: SimulatorServer, sm: Any) -> None:
    create_pipeline(sm)
    execution = sm.start_pipeline_execution(PipelineName="nightly")["PipelineExecutionArn"]
    listed = sim_get(sim, "/_sim/resources")
    assert [p["name"] for p in listed["Pipeline"]] == ["nightly"]
    assert [(e["arn"], e["status"]) for e in listed["PipelineExecution"]] == [(execution, "Executing")]


def test_tags_of_a_missing_execution_are_reported_as_its_own_not_found(sm: Any) -> None:
    missing = f"{ARN}:pipeline/nightly/execution/000000000000"
    assert error_of(sm.list_tags, ResourceArn=missing) == {
        "Code": "ResourceNotFound", "Message": f"Pipeline execution {missing} does not exist"}
    assert error_of(sm.list_tags, ResourceArn=f"{ARN}:pipeline/gone")["Message"] == f"Pipeline '{ARN}:pipeline/gone' does not exist."


def test_an_undeclared_parameter_is_refused(sm: Any) -> None:
    create_pipeline(sm)
    error = error_of(sm.start_pipeline_execution, PipelineName="nightly",
                     PipelineParameters=[{"Name": "InputData", "Value": "s3://b"}, {"Name": "Epochs", "Value": "3"}])
    assert error == {"Code": "ValidationException",
                     "Message": "Pipeline parameter(s) ['Epochs'] are not defined in the pipeline definition."}
    assert sm.list_pipeline_executions(PipelineName="nightly")["PipelineExecutionSummaries"] == []
