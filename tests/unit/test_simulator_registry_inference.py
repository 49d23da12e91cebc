"""The simulator's model registry (ModelPackageGroup, ModelPackage) and inference components,
driven through boto3 on a manual clock: every call the ACK controller makes for these kinds, the
errors it matches, lifecycles and failure injection."""

from __future__ import annotations

from typing import Any

import pytest

from sagemaker_ack_kfp.simulator import SimulatorServer
from tests.support.simulator_client import ManualClock, error_of, sim_get, sim_tags

ROLE = "arn:aws:iam::123456789012:role/sagemaker"
IMAGE = "123456789012.dkr.ecr.us-east-1.amazonaws.com/xgboost:1.7-1"
ARN = "arn:aws:sagemaker:us-east-1:123456789012"
INFERENCE = {
    "Containers": [{"Image": IMAGE, "ModelDataUrl": "s3://bucket/model.tar.gz"}],
    "SupportedContentTypes": ["text/csv"],
    "SupportedResponseMIMETypes": ["text/csv"],
}


def completed_group(sm: Any, clock: ManualClock, name: str = "mnist") -> str:
    arn = sm.create_model_package_group(ModelPackageGroupName=name, ModelPackageGroupDescription="digits")[
        "ModelPackageGroupArn"]
    clock.advance(1)
    return str(arn)


# Model package groups -----------------------------------------------------------------


def test_group_lifecycle_describe_list_and_delete(sm: Any, clock: ManualClock) -> None:
    arn = sm.create_model_package_group(ModelPackageGroupName="Mnist", ModelPackageGroupDescription="digits")[
        "ModelPackageGroupArn"]
    assert arn == f"{ARN}:model-package-group/mnist"
    described = sm.describe_model_package_group(ModelPackageGroupName="Mnist")
    assert described["ModelPackageGroupStatus"] == "InProgress"
    assert (described["ModelPackageGroupName"], described["ModelPackageGroupDescription"]) == ("Mnist", "digits")
    clock.advance(1)
    assert sm.describe_model_package_group(ModelPackageGroupName="Mnist")["ModelPackageGroupStatus"] == "Completed"
    [summary] = sm.list_model_package_groups()["ModelPackageGroupSummaryList"]
    assert summary["ModelPackageGroupArn"] == arn
    sm.delete_model_package_group(ModelPackageGroupName="Mnist")
    assert sm.describe_model_package_group(ModelPackageGroupName="Mnist")["ModelPackageGroupStatus"] == "Deleting"
    clock.advance(1)
    error = error_of(sm.describe_model_package_group, ModelPackageGroupName="Mnist")
    assert error == {"Code": "ValidationException", "Message": f"ModelPackageGroup {arn} does not exist."}


def test_group_not_found_is_what_the_controller_matches(sm: Any) -> None:
    """sdkFind: ValidationException whose message ends in "does not exist."."""
    error = error_of(sm.describe_model_package_group, ModelPackageGroupName="missing")
    assert error["Code"] == "ValidationException" and error["Message"].endswith("does not exist.")
    assert error_of(sm.delete_model_package_group, ModelPackageGroupName="missing")["Code"] == "ValidationException"


def test_group_fail_reason_and_duplicate(sm: Any, clock: ManualClock) -> None:
    sm.create_model_package_group(ModelPackageGroupName="bad", Tags=sim_tags(fail_reason="quota"))
    clock.advance(1)
    assert sm.describe_model_package_group(ModelPackageGroupName="bad")["ModelPackageGroupStatus"] == "Failed"
    error = error_of(sm.create_model_package_group, ModelPackageGroupName="BAD")
    assert error == {"Code": "ValidationException",
                     "Message": f"Model Package Group already exists: {ARN}:model-package-group/bad"}


def test_group_with_versions_cannot_be_deleted(sm: Any, clock: ManualClock) -> None:
    completed_group(sm, clock)
    sm.create_model_package(ModelPackageGroupName="mnist", InferenceSpecification=INFERENCE)
    assert error_of(sm.delete_model_package_group, ModelPackageGroupName="mnist")["Code"] == "ConflictException"


# Model packages -----------------------------------------------------------------------


def test_versions_are_numbered_per_group_and_described_by_arn(sm: Any, clock: ManualClock) -> None:
    group_arn = completed_group(sm, clock)
    first = sm.create_model_package(ModelPackageGroupName="mnist", InferenceSpecification=INFERENCE)["ModelPackageArn"]
    second = sm.create_model_package(ModelPackageGroupName=group_arn, InferenceSpecification=INFERENCE,
                                     ModelApprovalStatus="Approved")["ModelPackageArn"]
    assert (first, second) == (f"{ARN}:model-package/mnist/1", f"{ARN}:model-package/mnist/2")
    described = sm.describe_model_package(ModelPackageName=first)
    # A version has no name of its own: ACK copies a described ModelPackageName into the spec,
    # and a name the spec lacks would be a difference on every sync.
    assert "ModelPackageName" not in described
    assert (described["ModelPackageGroupName"], described["ModelPackageVersion"]) == ("mnist", 1)
    assert described["ModelApprovalStatus"] == "PendingManualApproval"  # SageMaker's default for a version
    assert described["CertifyForMarketplace"] is False  # late-initialized by the controller
    assert described["InferenceSpecification"] == INFERENCE
    assert sm.describe_model_package(ModelPackageName=second)["ModelApprovalStatus"] == "Approved"
    assert error_of(sm.delete_model_package, ModelPackageName=first)["Code"] == "ConflictException"  # still Pending
    clock.advance(3)
    sm.delete_model_package(ModelPackageName=first)
    third = sm.create_model_package(ModelPackageGroupName="mnist", InferenceSpecification=INFERENCE)["ModelPackageArn"]
    assert third.endswith("/mnist/3")  # numbers are never reused


def test_package_lifecycle_pending_inprogress_completed(sm: Any, clock: ManualClock) -> None:
    completed_group(sm, clock)
    arn = sm.create_model_package(
        ModelPackageGroupName="mnist", InferenceSpecification=INFERENCE,
        ValidationSpecification={"ValidationRole": ROLE, "ValidationProfiles": [
            {"ProfileName": "csv", "TransformJobDefinition": {
                "TransformInput": {"DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://b/in"}}},
                "TransformOutput": {"S3OutputPath": "s3://b/out"},
                "TransformResources": {"InstanceType": "ml.m5.large", "InstanceCount": 1}}}]})["ModelPackageArn"]
    seen = []
    for _ in range(4):
        described = sm.describe_model_package(ModelPackageName=arn)
        seen.append((described["ModelPackageStatus"], described["ModelPackageStatusDetails"]["ValidationStatuses"][0]["Status"]))
        clock.advance(1)
    assert seen == [("Pending", "NotStarted"), ("InProgress", "InProgress"), ("InProgress", "InProgress"),
                    ("Completed", "Completed")]


def test_package_fail_reason_lands_on_its_validation(sm: Any, clock: ManualClock) -> None:
    completed_group(sm, clock)
    arn = sm.create_model_package(ModelPackageGroupName="mnist", InferenceSpecification=INFERENCE,
                                  Tags=sim_tags(fail_reason="Transform job failed: ClientError"))["ModelPackageArn"]
    clock.advance(3)
    described = sm.describe_model_package(ModelPackageName=arn)
    assert described["ModelPackageStatus"] == "Failed"
    assert described["ModelPackageStatusDetails"]["ValidationStatuses"] == [
        {"Name": "mnist/1", "Status": "Failed", "FailureReason": "Transform job failed: ClientError"}]


def test_unversioned_package_and_naming_rules(sm: Any, clock: ManualClock) -> None:
    arn = sm.create_model_package(ModelPackageName="solo", InferenceSpecification=INFERENCE)["ModelPackageArn"]
    assert arn == f"{ARN}:model-package/solo"
    described = sm.describe_model_package(ModelPackageName="solo")
    assert described["ModelPackageName"] == "solo" and "ModelPackageGroupName" not in described
    assert "ModelApprovalStatus" not in described
    both = error_of(sm.create_model_package, ModelPackageName="x", ModelPackageGroupName="mnist")
    assert both == {"Code": "ValidationException", "Message": "Both ModelPackageName and ModelPackageGroupName are "
                    "provided in the input. Cannot determine which one to use."}
    assert error_of(sm.create_model_package, InferenceSpecification=INFERENCE)["Message"] == "Missing ARN."
    missing_group = error_of(sm.create_model_package, ModelPackageGroupName="nope", InferenceSpecification=INFERENCE)
    assert missing_group["Message"] == f"ModelPackageGroup {ARN}:model-package-group/nope does not exist."
    duplicate = error_of(sm.create_model_package, ModelPackageName="Solo", InferenceSpecification=INFERENCE)
    assert duplicate["Code"] == "ValidationException"


def test_package_not_found_is_what_the_controller_matches(sm: Any) -> None:
    for name in ("missing", f"{ARN}:model-package/mnist/7"):
        error = error_of(sm.describe_model_package, ModelPackageName=name)
        assert error["Code"] == "ValidationException" and error["Message"].endswith("does not exist.")
    assert error_of(sm.delete_model_package, ModelPackageName="missing")["Code"] == "ValidationException"


def test_update_changes_the_approval_once_completed(sm: Any, clock: ManualClock) -> None:
    completed_group(sm, clock)
    arn = sm.create_model_package(ModelPackageGroupName="mnist", InferenceSpecification=INFERENCE,
                                  CustomerMetadataProperties={"team": "a", "stage": "dev"})["ModelPackageArn"]
    busy = error_of(sm.update_model_package, ModelPackageArn=arn, ModelApprovalStatus="Approved")
    assert busy["Code"] == "ConflictException"
    clock.advance(3)
    sm.update_model_package(ModelPackageArn=arn, ModelApprovalStatus="Approved", ApprovalDescription="looks good",
                            CustomerMetadataProperties={"stage": "prod"}, CustomerMetadataPropertiesToRemove=["team"])
    described = sm.describe_model_package(ModelPackageName=arn)
    assert (described["ModelApprovalStatus"], described["ApprovalDescription"]) == ("Approved", "looks good")
    assert described["CustomerMetadataProperties"] == {"stage": "prod"}
    assert described["LastModifiedTime"].timestamp() == pytest.approx(clock.now)
    assert error_of(sm.update_model_package, ModelPackageArn=f"{ARN}:model-package/mnist/9")["Code"] == "ValidationException"


def test_list_packages_of_a_group(sm: Any, clock: ManualClock) -> None:
    completed_group(sm, clock)
    completed_group(sm, clock, "other")
    for group in ("mnist", "other", "mnist"):
        sm.create_model_package(ModelPackageGroupName=group, InferenceSpecification=INFERENCE)
    sm.create_model_package(ModelPackageName="solo", InferenceSpecification=INFERENCE)
    listed = sm.list_model_packages(ModelPackageGroupName="mnist")["ModelPackageSummaryList"]
    assert [p["ModelPackageArn"].rsplit(":", 1)[1] for p in listed] == ["model-package/mnist/1", "model-package/mnist/2"]
    assert [p["ModelPackageName"] for p in sm.list_model_packages(ModelPackageType="Unversioned")["ModelPackageSummaryList"]] == ["solo"]
    assert all("ModelPackageName" not in p for p in listed)


def test_sim_resources_lists_the_registry(sim: SimulatorServer, sm: Any, clock: ManualClock) -> None:
    completed_group(sm, clock)
    sm.create_model_package(ModelPackageGroupName="mnist", InferenceSpecification=INFERENCE, Tags=[{"Key": "k", "Value": "v"}])
    listed = sim_get(sim, "/_sim/resources?kind=ModelPackage")["ModelPackage"]
    assert [(p["name"], p["status"], p["tags"]) for p in listed] == [("mnist/1", "Pending", {"k": "v"})]
    tags = sm.list_tags(ResourceArn=f"{ARN}:model-package/mnist/1")["Tags"]
    assert tags == [{"Key": "k", "Value": "v"}]


# Inference components -----------------------------------------------------------------


def inference_endpoint(sm: Any, clock: ManualClock, *, model_tags: list[dict[str, str]] | None = None) -> None:
    """An inference-component endpoint (its variant has instances, no model) and a model to deploy."""
    sm.create_model(ModelName="m1", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE})
    sm.create_model(ModelName="m2", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE}, Tags=model_tags or [])
    sm.create_endpoint_config(EndpointConfigName="ic-config", ExecutionRoleArn=ROLE, ProductionVariants=[
        {"VariantName": "variant-1", "InitialInstanceCount": 2, "InstanceType": "ml.m5.large"}])
    sm.create_endpoint(EndpointName="shared", EndpointConfigName="ic-config")
    clock.advance(2)


def component_request(name: str = "ic", model: str = "m1", copies: int = 1, **extra: Any) -> dict[str, Any]:
    return {
        "InferenceComponentName": name, "EndpointName": "shared", "VariantName": "variant-1",
        "Specification": {"ModelName": model, "ComputeResourceRequirements": {
            "NumberOfCpuCoresRequired": 1, "MinMemoryRequiredInMb": 1024}},
        "RuntimeConfig": {"CopyCount": copies}, **extra,
    }


def test_inference_component_create_update_delete(sm: Any, clock: ManualClock) -> None:
    inference_endpoint(sm, clock)
    arn = sm.create_inference_component(**component_request())["InferenceComponentArn"]
    assert arn == f"{ARN}:inference-component/ic"
    creating = sm.describe_inference_component(InferenceComponentName="ic")
    assert creating["InferenceComponentStatus"] == "Creating"
    assert creating["RuntimeConfig"] == {"DesiredCopyCount": 1, "CurrentCopyCount": 0}
    assert (creating["EndpointName"], creating["EndpointArn"], creating["VariantName"]) == (
        "shared", f"{ARN}:endpoint/shared", "variant-1")
    clock.advance(2)
    ready = sm.describe_inference_component(InferenceComponentName="ic")
    assert ready["InferenceComponentStatus"] == "InService"
    assert ready["Specification"]["ModelName"] == "m1"
    assert ready["RuntimeConfig"] == {"DesiredCopyCount": 1, "CurrentCopyCount": 1}

    sm.update_inference_component(InferenceComponentName="ic", Specification=component_request(model="m2")["Specification"],
                                  RuntimeConfig={"CopyCount": 3})
    updating = sm.describe_inference_component(InferenceComponentName="ic")
    assert updating["InferenceComponentStatus"] == "Updating"
    assert updating["RuntimeConfig"] == {"DesiredCopyCount": 3, "CurrentCopyCount": 1}
    assert error_of(sm.update_inference_component, InferenceComponentName="ic", RuntimeConfig={"CopyCount": 1})["Code"] == "ValidationException"
    clock.advance(2)
    updated = sm.describe_inference_component(InferenceComponentName="ic")
    assert (updated["InferenceComponentStatus"], updated["Specification"]["ModelName"]) == ("InService", "m2")
    assert updated["RuntimeConfig"] == {"DesiredCopyCount": 3, "CurrentCopyCount": 3}
    assert [c["InferenceComponentName"] for c in sm.list_inference_components(EndpointNameEquals="shared")["InferenceComponents"]] == ["ic"]

    sm.delete_inference_component(InferenceComponentName="ic")
    assert sm.describe_inference_component(InferenceComponentName="ic")["InferenceComponentStatus"] == "Deleting"
    clock.advance(1)
    error = error_of(sm.describe_inference_component, InferenceComponentName="ic")
    # sdkFind: ValidationException starting "Could not find inference component".
    assert error == {"Code": "ValidationException", "Message": f'Could not find inference component "{arn}".'}


def test_failed_inference_component_update_rolls_back_with_a_reason(sm: Any, clock: ManualClock) -> None:
    inference_endpoint(sm, clock, model_tags=sim_tags(fail_reason="Model m2 failed its health check"))
    sm.create_inference_component(**component_request())
    clock.advance(2)
    sm.update_inference_component(InferenceComponentName="ic", Specification=component_request(model="m2")["Specification"])
    clock.advance(2)
    rolled_back = sm.describe_inference_component(InferenceComponentName="ic")
    assert rolled_back["InferenceComponentStatus"] == "InService"
    assert rolled_back["Specification"]["ModelName"] == "m1"
    assert rolled_back["FailureReason"] == "Model m2 failed its health check"
    # A later good update clears the reason.
    sm.update_inference_component(InferenceComponentName="ic", RuntimeConfig={"CopyCount": 2})
    clock.advance(2)
    assert "FailureReason" not in sm.describe_inference_component(InferenceComponentName="ic")


def test_inference_component_failures(sm: Any, clock: ManualClock) -> None:
    inference_endpoint(sm, clock, model_tags=sim_tags(fail_reason="no capacity"))
    sm.create_inference_component(**component_request(name="bad", model="m2"))
    clock.advance(2)
    failed = sm.describe_inference_component(InferenceComponentName="bad")
    assert (failed["InferenceComponentStatus"], failed["FailureReason"]) == ("Failed", "no capacity")
    assert "Could not find model" in error_of(sm.create_inference_component, **component_request(name="x", model="nope"))["Message"]
    assert "Variant" in error_of(sm.create_inference_component, **component_request(name="x", VariantName="v9"))["Message"]
    assert error_of(sm.create_inference_component, **component_request(name="bad"))["Message"].startswith(
        "Cannot create already existing inference component")
    assert error_of(sm.describe_inference_component, InferenceComponentName="x")["Message"].startswith(
        "Could not find inference component")


def test_inference_component_needs_an_in_service_endpoint(sm: Any, clock: ManualClock) -> None:
    sm.create_model(ModelName="m1", ExecutionRoleArn=ROLE, PrimaryContainer={"Image": IMAGE})
    sm.create_endpoint_config(EndpointConfigName="ic-config", ExecutionRoleArn=ROLE, ProductionVariants=[
        {"VariantName": "variant-1", "InitialInstanceCount": 1, "InstanceType": "ml.m5.large"}])
    assert error_of(sm.create_inference_component, **component_request())["Message"].startswith("Could not find endpoint")
    sm.create_endpoint(EndpointName="shared", EndpointConfigName="ic-config")
    assert "InService" in error_of(sm.create_inference_component, **component_request())["Message"]
    clock.advance(2)
    sm.create_inference_component(**component_request())


def test_inference_component_container_is_reported_as_deployed_image(sm: Any, clock: ManualClock) -> None:
    inference_endpoint(sm, clock)
    request = component_request()
    request["Specification"] = {"Container": {"Image": IMAGE, "ArtifactUrl": "s3://b/m.tar.gz"},
                                "ComputeResourceRequirements": {"MinMemoryRequiredInMb": 512}}
    sm.create_inference_component(**request)
    clock.advance(2)
    container = sm.describe_inference_component(InferenceComponentName="ic")["Specification"]["Container"]
    assert "Image" not in container and container["ArtifactUrl"] == "s3://b/m.tar.gz"
    assert container["DeployedImage"]["SpecifiedImage"] == IMAGE
    assert container["DeployedImage"]["ResolvedImage"].startswith(IMAGE.rsplit(":", 1)[0] + "@sha256:")
