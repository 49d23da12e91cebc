"""The runtime's rules for the model registry, inference components, Ground Truth and SageMaker
Pipelines: verdicts, outputs, naming and the controller's waits that are not errors."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from sagemaker_ack_kfp.completion import Expectation, Phase, judge, recoverable_message
from sagemaker_ack_kfp.errors import InputError
from sagemaker_ack_kfp.kinds import load_kind
from sagemaker_ack_kfp.overlays import rules_for
from sagemaker_ack_kfp.overlays.inference_component import LAST_SPEC_ANNOTATION
from sagemaker_ack_kfp.overlays.registry import package_version
from sagemaker_ack_kfp.progress import console_links
from sagemaker_ack_kfp.identity import StepIdentity
from sagemaker_ack_kfp.runner import ADOPTION_POLICY_ANNOTATION, check_kind_rules, render, with_kind_defaults, with_service_defaults

ARN = "arn:aws:sagemaker:us-east-1:123456789012"


def cr(status: dict[str, Any], *, spec: dict[str, Any] | None = None, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    return {"metadata": {"name": "x", "annotations": annotations or {}}, "spec": spec or {}, "status": status}


def condition(kind: str, status: str, *, message: str = "", at: str = "2026-01-01T00:00:00Z") -> dict[str, str]:
    return {"type": kind, "status": status, "message": message, "lastTransitionTime": at}


# ----- the controller waiting for SageMaker is not an error --------------------------------


def test_waiting_to_modify_is_not_counted_as_retrying() -> None:
    """RequeueIfModifying's message while a versioned package is validated: the controller waits."""
    waiting = cr({"modelPackageStatus": "InProgress", "conditions": [
        condition("ACK.Recoverable", "True", message="ModelPackage in InProgress state cannot be modified or deleted.")]})
    verdict = judge(waiting, rules_for("ModelPackage"))
    assert (verdict.phase, verdict.recoverable) == (Phase.WAITING, "")
    error = cr({"conditions": [condition("ACK.Recoverable", "True", message="ValidationException: Model Package Group x does not exist.")]})
    assert recoverable_message(error) == "ValidationException: Model Package Group x does not exist."


# ----- model registry ----------------------------------------------------------------------


def test_model_package_version_comes_from_its_arn() -> None:
    assert package_version(f"{ARN}:model-package/mnist-models/12", "MNIST-models") == "12"
    assert package_version(f"{ARN}:model-package/unversioned", "") == ""
    assert package_version(f"{ARN}:model-package/other-group/3", "mnist-models") == ""


def test_model_package_outputs_for_a_version_and_an_unversioned_package() -> None:
    rules = rules_for("ModelPackage")
    version = cr({"modelPackageStatus": "Completed", "ackResourceMetadata": {"arn": f"{ARN}:model-package/mnist/4"}},
                 spec={"modelPackageGroupName": "mnist", "modelApprovalStatus": "PendingManualApproval"})
    assert judge(version, rules).phase is Phase.SUCCEEDED
    outputs = rules.outputs(version)
    assert outputs["model_package_arn"] == f"{ARN}:model-package/mnist/4"
    assert (outputs["model_package_version"], outputs["model_package_group_name"], outputs["model_package_name"]) == ("4", "mnist", "")
    assert outputs["model_approval_status"] == "PendingManualApproval"
    unversioned = cr({"ackResourceMetadata": {"arn": f"{ARN}:model-package/solo"}}, spec={"modelPackageName": "solo"})
    outputs = rules.outputs(unversioned)
    assert (outputs["model_package_version"], outputs["model_package_name"], outputs["model_approval_status"]) == ("", "solo", "")


def test_a_version_is_rendered_with_sagemakers_default_approval() -> None:
    """SageMaker reports a version's approval even when the create left it out; ACK compares it
    with the spec, so without it every sync would update the package and rewrite its old status."""
    rules = rules_for("ModelPackage")
    assert with_kind_defaults({"modelPackageGroupName": "g"}, rules)["modelApprovalStatus"] == "PendingManualApproval"
    assert with_kind_defaults({"modelPackageGroupName": "g", "modelApprovalStatus": "Approved"}, rules)["modelApprovalStatus"] == "Approved"
    assert "modelApprovalStatus" not in with_kind_defaults({"modelPackageName": "solo"}, rules)  # not for unversioned


def test_failed_model_package_reports_the_failed_checks() -> None:
    obj = cr({
        "modelPackageStatus": "Failed",
        "modelPackageStatusDetails": {
            "validationStatuses": [
                {"name": "profile-a", "status": "Completed"},
                {"name": "profile-b", "status": "Failed", "failureReason": "Transform job failed: ClientError"},
            ],
            "imageScanStatuses": [{"name": "image", "status": "Failed", "failureReason": "scan found a CVE"}],
        },
        "conditions": [condition("ACK.Terminal", "True", message="ModelPackage status reached terminal state: Failed. Check the FailureReason.")],
    })
    verdict = judge(obj, rules_for("ModelPackage"))
    assert verdict.phase is Phase.FAILED
    assert verdict.reason == "model package Failed: validation profile-b: Transform job failed: ClientError; image scan image: scan found a CVE"


def test_model_package_group_is_done_when_completed() -> None:
    rules = rules_for("ModelPackageGroup")
    assert judge(cr({"modelPackageGroupStatus": "Pending"}), rules).phase is Phase.WAITING
    assert judge(cr({"modelPackageGroupStatus": "InProgress"}), rules).phase is Phase.WAITING
    assert judge(cr({"modelPackageGroupStatus": "Completed"}), rules).phase is Phase.SUCCEEDED
    assert judge(cr({"modelPackageGroupStatus": "Failed"}), rules).phase is Phase.FAILED


def test_a_version_takes_a_group_or_a_name_not_both() -> None:
    kind, rules = load_kind("ModelPackage"), rules_for("ModelPackage")
    check_kind_rules(kind, rules, {"modelPackageGroupName": "g"})
    check_kind_rules(kind, rules, {"modelPackageName": "solo"})
    with pytest.raises(InputError) as caught:
        check_kind_rules(kind, rules, {"modelPackageGroupName": "g", "modelPackageName": "solo"})
    assert "model_package_name" in caught.value.message and "model_package_group_name" in caught.value.message
    assert "nothing was created" in caught.value.message


def test_an_inference_component_needs_its_variant() -> None:
    kind, rules = load_kind("InferenceComponent"), rules_for("InferenceComponent")
    check_kind_rules(kind, rules, {"variantName": "AllTraffic"})
    with pytest.raises(InputError) as caught:
        check_kind_rules(kind, rules, {"endpointName": "ep"})
    assert "input 'variant_name': is required here: SageMaker reports the variant it chose" in caught.value.message


# ----- inference components ----------------------------------------------------------------

IC_SPEC = {
    "inferenceComponentName": "ic",
    "endpointName": "ep",
    "variantName": "AllTraffic",
    "specification": {"modelName": "m2", "computeResourceRequirements": {"numberOfCPUCoresRequired": 1, "minMemoryRequiredInMb": 1024}},
    "runtimeConfig": {"copyCount": 1},
}
UPDATED = Expectation(spec={**IC_SPEC, "tags": [{"key": "k", "value": "v"}]}, updated=True, updated_at="2026-01-01T00:01:00Z")


def component(status: str, synced: str, *, last: dict[str, Any] | None, at: str = "2026-01-01T00:01:05Z",
              reason: str = "", terminal: str = "") -> dict[str, Any]:
    # The controller serializes its Go struct: floats of whole numbers print as integers.
    annotations = {LAST_SPEC_ANNOTATION: json.dumps(last)} if last is not None else {}
    conditions = [condition("ACK.ResourceSynced", synced, at=at)]
    if terminal:
        conditions.append(condition("ACK.Terminal", "True", message=terminal, at=at))
    body: dict[str, Any] = {"inferenceComponentStatus": status, "conditions": conditions}
    if reason:
        body["failureReason"] = reason
    return cr(body, spec={**IC_SPEC, "tags": [{"key": "k", "value": "v"}]}, annotations=annotations)


def test_inference_component_update_waits_for_the_controller_to_send_it() -> None:
    rules = rules_for("InferenceComponent")
    old = {**IC_SPEC, "specification": {"modelName": "m1"}}
    assert judge(component("InService", "True", last=old), rules, UPDATED).phase is Phase.WAITING
    assert judge(component("InService", "True", last=None), rules, UPDATED).phase is Phase.WAITING
    # The annotation is written before the status: a snapshot with the old, stale Synced.
    stale = component("InService", "True", last=IC_SPEC, at="2026-01-01T00:00:30Z")
    assert judge(stale, rules, UPDATED).phase is Phase.WAITING
    assert judge(component("Updating", "False", last=IC_SPEC), rules, UPDATED).phase is Phase.WAITING
    # A failure reason of an earlier rollout is no verdict while this one is Updating.
    assert judge(component("Updating", "False", last=IC_SPEC, reason="an earlier failure"), rules, UPDATED).phase is Phase.WAITING
    assert judge(component("InService", "True", last={**IC_SPEC, "variantName": "AllTraffic", "endpointName": "ep"}), rules, UPDATED).phase is Phase.SUCCEEDED


def test_rolled_back_inference_component_update_fails_with_the_reason() -> None:
    rules = rules_for("InferenceComponent")
    refused = component("InService", "False", last=IC_SPEC, reason="Model m2 failed its health check",
                        terminal="InferenceComponentUpdateError: Unable to update inference component. Check FailureReason.")
    verdict = judge(refused, rules, UPDATED)
    assert (verdict.phase, verdict.reason) == (Phase.FAILED, "the update of the inference component failed: Model m2 failed its health check")
    # Before the controller's next sync marks it: InService again, with SageMaker's reason.
    assert judge(component("InService", "True", last=IC_SPEC, reason="health check"), rules, UPDATED).phase is Phase.FAILED


def test_inference_component_update_refused_before_it_was_sent() -> None:
    """A Failed component: the controller refuses the update before sending it (no annotation)."""
    verdict = judge(component("Failed", "False", last=None, reason="capacity", terminal="InferenceComponentUpdateError: x"),
                    rules_for("InferenceComponent"), UPDATED)
    assert (verdict.phase, verdict.reason) == (Phase.FAILED, "inference component Failed, it cannot be updated: capacity")


def test_new_inference_component_verdicts() -> None:
    rules, created = rules_for("InferenceComponent"), Expectation(spec=IC_SPEC)
    assert judge(component("Creating", "False", last=None), rules, created).phase is Phase.WAITING
    assert judge(component("InService", "True", last=None), rules, created).phase is Phase.SUCCEEDED
    failed = judge(component("Failed", "True", last=None, reason="no capacity",
                             terminal="InferenceComponent status reached terminal state: Failed. Check the FailureReason."), rules, created)
    assert (failed.phase, failed.reason) == (Phase.FAILED, "inference component Failed: no capacity")


# ----- Ground Truth ------------------------------------------------------------------------


def test_labeling_job_outputs_and_verdicts() -> None:
    rules = rules_for("LabelingJob")
    assert judge(cr({"labelingJobStatus": "InProgress"}), rules).phase is Phase.WAITING
    failed = judge(cr({"labelingJobStatus": "Failed", "failureReason": "ClientError: manifest not found"}), rules)
    assert (failed.phase, failed.reason) == (Phase.FAILED, "Failed: ClientError: manifest not found")
    assert judge(cr({"labelingJobStatus": "Stopped"}), rules).phase is Phase.FAILED
    done = cr({
        "labelingJobStatus": "Completed",
        "labelCounters": {"totalLabeled": 40, "humanLabeled": 40},
        "labelingJobOutput": {"outputDatasetS3URI": "s3://b/out/job/manifests/output/output.manifest"},
        "ackResourceMetadata": {"arn": f"{ARN}:labeling-job/job"},
    }, spec={"labelingJobName": "job"})
    assert judge(done, rules).phase is Phase.SUCCEEDED
    outputs = rules.outputs(done)
    assert outputs["output_manifest_uri"] == "s3://b/out/job/manifests/output/output.manifest"
    assert outputs["label_counters"] == {"totalLabeled": 40, "humanLabeled": 40, "machineLabeled": 0,
                                         "failedNonRetryableError": 0, "unlabeled": 0}
    assert outputs["final_active_learning_model_arn"] == ""


def test_labeling_job_links_to_ground_truth() -> None:
    links = console_links(rules_for("LabelingJob"), name="job-1", region="eu-west-1")
    assert links[0] == ("SageMaker console: https://eu-west-1.console.aws.amazon.com/sagemaker/groundtruth"
                        "?region=eu-west-1#/labeling-jobs/details/job-1")
    assert "log-group/$252Faws$252Fsagemaker$252FLabelingJobs/" in links[1]


@pytest.mark.parametrize("kind", ["LabelingJob"])
def test_new_service_defaults_are_fields_of_the_crd_with_valid_values(kind: str) -> None:
    schema = load_kind(kind).spec_schema
    for path, value in rules_for(kind).service_defaults.items():
        node = schema
        for part in path.split("."):
            assert part in node.get("properties", {}), f"{kind} spec has no field {path}"
            node = node["properties"][part]
        jsonschema.validate(value, node)
    filled = with_service_defaults({"humanTaskConfig": {"maxConcurrentTaskCount": 10}}, rules_for(kind).service_defaults)
    assert filled["humanTaskConfig"]["maxConcurrentTaskCount"] == 10


def test_labeling_job_spurious_terminal_is_explained() -> None:
    verdict = judge(cr({"labelingJobStatus": "InProgress", "conditions": [
        condition("ACK.Terminal", "True", message="not implemented")]}), rules_for("LabelingJob"))
    assert verdict.phase is Phase.FAILED and "taskAvailabilityLifetimeInSeconds" in verdict.reason


# ----- SageMaker Pipelines -----------------------------------------------------------------


def test_pipeline_update_is_done_only_on_a_fresh_sync() -> None:
    rules = rules_for("Pipeline")
    updated = Expectation(spec={"pipelineName": "p"}, updated=True, updated_at="2026-01-01T00:01:00Z")
    stale = cr({"pipelineStatus": "Active", "conditions": [condition("ACK.ResourceSynced", "True", at="2026-01-01T00:00:10Z")]})
    assert judge(stale, rules, updated).phase is Phase.WAITING
    fresh = cr({"pipelineStatus": "Active", "conditions": [condition("ACK.ResourceSynced", "True", at="2026-01-01T00:01:00Z")]})
    assert judge(fresh, rules, updated).phase is Phase.SUCCEEDED


def test_pipeline_execution_verdicts_and_outputs() -> None:
    rules = rules_for("PipelineExecution")
    assert judge(cr({"pipelineExecutionStatus": "Executing"}), rules).phase is Phase.WAITING
    failed = judge(cr({"pipelineExecutionStatus": "Failed", "failureReason": "Step failure: One or multiple steps failed."}), rules)
    assert (failed.phase, failed.reason) == (Phase.FAILED, "Failed: Step failure: One or multiple steps failed.")
    assert judge(cr({"pipelineExecutionStatus": "Stopped"}), rules).phase is Phase.FAILED
    done = cr({"pipelineExecutionStatus": "Succeeded", "ackResourceMetadata": {"arn": f"{ARN}:pipeline/p/execution/abc"}},
              spec={"pipelineName": "p", "pipelineExecutionDisplayName": "nightly"})
    assert judge(done, rules).phase is Phase.SUCCEEDED
    assert rules.outputs(done)["pipeline_execution_arn"] == f"{ARN}:pipeline/p/execution/abc"
    assert rules.outputs(done)["pipeline_execution_display_name"] == "nightly"


@pytest.mark.parametrize("kind", ["ModelPackage", "InferenceComponent", "Pipeline"])
def test_updatable_fields_are_spec_fields(kind: str) -> None:
    """A controller release that renames a field fails here, not when a user updates."""
    fields = rules_for(kind).updatable_fields
    assert fields and fields <= set(load_kind(kind).spec_schema["properties"])


@pytest.mark.parametrize(("kind", "adopted"), [("ModelPackageGroup", True), ("Pipeline", True), ("ModelPackage", False),
                                               ("InferenceComponent", False), ("Endpoint", False)])
def test_kinds_a_pipeline_ensures_ask_the_controller_to_adopt_an_existing_resource(kind: str, adopted: bool) -> None:
    """ACK's adopt-or-create: a group or pipeline made outside the cluster is adopted, not refused."""
    body = render(load_kind(kind), {"x": 1}, namespace="ns", region="", name="n",
                  identity=StepIdentity(run_id="r", task="t", source="test"),
                  adopt_existing=rules_for(kind).adopt_existing)
    assert body["metadata"]["annotations"].get(ADOPTION_POLICY_ANNOTATION) == ("adopt-or-create" if adopted else None)


def test_resource_names_per_kind() -> None:
    from sagemaker_ack_kfp.runner import resolve_names

    identity = StepIdentity(run_id="run-1", task="p.reg", source="test")
    version = {"modelPackageGroupName": "g"}
    naming = resolve_names(load_kind("ModelPackage"), rules_for("ModelPackage"), version, identity)
    assert naming.named_by_sagemaker and naming.resource_name.startswith("model-package-reg-")
    assert "modelPackageName" not in version  # SageMaker names a version
    display = {"pipelineName": "p", "pipelineExecutionDisplayName": "Nightly"}
    naming = resolve_names(load_kind("PipelineExecution"), rules_for("PipelineExecution"), display, identity)
    # A display name is only a label: the resource is named after the run and task.
    assert (naming.name, naming.derived) == ("Nightly", False) and naming.resource_name.startswith("execution-reg-")
    named = {"pipelineName": "Nightly-Pipe"}
    assert resolve_names(load_kind("Pipeline"), rules_for("Pipeline"), named, identity).resource_name == "nightly-pipe"
    empty: dict[str, Any] = {}
    naming = resolve_names(load_kind("LabelingJob"), rules_for("LabelingJob"), empty, identity)
    assert naming.derived and empty["labelingJobName"] == naming.name == naming.resource_name


def test_name_length_follows_sagemakers_limit_per_kind() -> None:
    from sagemaker_ack_kfp.runner import prepare_spec

    long_name = "p" + "-x" * 100  # 201 characters: a valid pipeline name, too long for most kinds
    pipeline = prepare_spec(load_kind("Pipeline"), {"pipeline_name": long_name, "role_arn": "arn:aws:iam::1:role/r"},
                            max_name_length=rules_for("Pipeline").max_name_length)
    assert pipeline["pipelineName"] == long_name
    with pytest.raises(InputError, match="at most 63 letters"):
        prepare_spec(load_kind("ModelPackageGroup"), {"model_package_group_name": "g" * 64},
                     max_name_length=rules_for("ModelPackageGroup").max_name_length)
    display = prepare_spec(load_kind("PipelineExecution"), {"pipeline_name": "p", "pipeline_execution_display_name": "d" * 82},
                           max_name_length=rules_for("PipelineExecution").max_name_length)
    assert len(display["pipelineExecutionDisplayName"]) == 82
