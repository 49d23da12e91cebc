"""The model registry (ModelPackageGroup, ModelPackage) and InferenceComponent components, run as
KFP runs them: against the real controller where marked, and against the API server alone for
what a step decides before any controller acts (names, refusals, bad input)."""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.support.cluster import Cluster, wait_for
from tests.support.manifests import (
    inference_component_arguments,
    inference_endpoint_config_arguments,
    model_arguments,
    model_package_arguments,
    model_package_group_arguments,
    tags,
)
from tests.support.steps import component, items, ok, run, sagemaker

pytestmark = pytest.mark.integration


def group_name() -> str:
    return f"mnist-{uuid.uuid4().hex[:8]}"


# ----- model registry: with the controller ---------------------------------------------------


@pytest.mark.controller
def test_register_two_versions_of_a_trained_model(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    group = ok(run(cluster, tmp_path, "ModelPackageGroup", model_package_group_arguments(namespace, group_name())))
    name = group.outputs["model_package_group_name"]
    assert group.outputs["model_package_group_arn"].endswith(f":model-package-group/{name}")
    [group_cr] = items(cluster, namespace, "modelpackagegroups")
    assert group_cr["status"]["modelPackageGroupStatus"] == "Completed"

    first = ok(run(cluster, tmp_path, "ModelPackage", model_package_arguments(namespace, name), task="register"))
    second = ok(run(cluster, tmp_path, "ModelPackage",
                    model_package_arguments(namespace, name, model_approval_status="Approved"), task="register"))
    assert (first.outputs["model_package_version"], second.outputs["model_package_version"]) == ("1", "2")
    assert first.outputs["model_package_arn"].endswith(f":model-package/{name}/1")
    assert (first.outputs["model_package_group_name"], first.outputs["model_package_name"]) == (name, "")
    assert (first.outputs["model_approval_status"], second.outputs["model_approval_status"]) == ("PendingManualApproval", "Approved")
    assert first.output_json("status")["modelPackageStatus"] == "Completed"
    # Each version's resource is named after its run and task; neither carries a SageMaker name.
    packages = items(cluster, namespace, "modelpackages")
    assert len(packages) == 2 and all("modelPackageName" not in p["spec"] for p in packages)
    if cluster.simulator_url:
        described = sagemaker(cluster).describe_model_package(ModelPackageName=second.outputs["model_package_arn"])
        assert (described["ModelApprovalStatus"], described["ModelPackageVersion"]) == ("Approved", 2)


@pytest.mark.controller
def test_a_retried_registration_with_a_new_approval_updates_the_version(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    name = ok(run(cluster, tmp_path, "ModelPackageGroup", model_package_group_arguments(namespace, group_name()))).outputs[
        "model_package_group_name"]
    run_id = str(uuid.uuid4())
    first = ok(run(cluster, tmp_path, "ModelPackage", model_package_arguments(namespace, name), run_id=run_id, task="register"))
    approved = ok(run(cluster, tmp_path, "ModelPackage",
                      model_package_arguments(namespace, name, model_approval_status="Approved", approval_description="metrics ok"),
                      run_id=run_id, task="register"))
    assert "updated the existing ModelPackage" in approved.stdout
    assert approved.outputs["model_package_arn"] == first.outputs["model_package_arn"]  # the same version, not a new one
    assert approved.outputs["model_approval_status"] == "Approved"
    if cluster.simulator_url:
        described = wait_for(
            lambda: (d := sagemaker(cluster).describe_model_package(ModelPackageName=first.outputs["model_package_arn"]))
            ["ModelApprovalStatus"] == "Approved" and d, timeout=30, what="the approval in SageMaker")
        assert described["ApprovalDescription"] == "metrics ok"


@pytest.mark.controller
@pytest.mark.simulator
def test_a_failed_validation_fails_the_step_with_sagemakers_reason(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    name = ok(run(cluster, tmp_path, "ModelPackageGroup", model_package_group_arguments(namespace, group_name()))).outputs[
        "model_package_group_name"]
    result = run(cluster, tmp_path, "ModelPackage", model_package_arguments(
        namespace, name, tags=tags(fail_reason="Transform job failed: ClientError: no rows")))
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"model package Failed: validation {name}/1: Transform job failed: ClientError: no rows" in result.stderr


@pytest.mark.controller
def test_a_group_is_reused_by_the_next_run_and_a_different_one_refused(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    arguments = model_package_group_arguments(namespace, group_name())
    first = ok(run(cluster, tmp_path, "ModelPackageGroup", arguments))
    again = ok(run(cluster, tmp_path, "ModelPackageGroup", arguments))  # another run of the same pipeline
    assert "reattached to the existing ModelPackageGroup" in again.stdout
    assert again.outputs == first.outputs
    refused = run(cluster, tmp_path, "ModelPackageGroup", {**arguments, "model_package_group_description": "other"})
    assert refused.returncode == 3
    assert "a different ModelPackageGroup named" in refused.stderr


@pytest.mark.controller
@pytest.mark.simulator
def test_a_group_that_already_exists_in_sagemaker_is_adopted(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    """Made by another namespace's pipeline, the console or an SDK: registered into, not refused."""
    name = group_name()
    arn = sagemaker(cluster).create_model_package_group(
        ModelPackageGroupName=name, ModelPackageGroupDescription="k-means models of the MNIST digits")["ModelPackageGroupArn"]
    adopted = ok(run(cluster, tmp_path, "ModelPackageGroup", model_package_group_arguments(namespace, name)))
    assert adopted.outputs["model_package_group_arn"] == arn
    [group] = items(cluster, namespace, "modelpackagegroups")
    assert group["metadata"]["annotations"]["services.k8s.aws/adopted"] == "true"
    assert [g["arn"] for g in cluster.sim_resources("ModelPackageGroup", name_prefix=name)] == [arn]
    ok(run(cluster, tmp_path, "ModelPackage", model_package_arguments(namespace, name)))


# ----- model registry: decided before any controller acts (CI) -------------------------------


def test_a_version_is_named_after_its_step_and_has_no_sagemaker_name(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    run_id = str(uuid.uuid4())
    arguments = {k: v for k, v in model_package_arguments(namespace, "mnist").items() if k != "model_approval_status"}
    # The group does not exist: without a controller nothing acts (exit 3), with one SageMaker refuses (exit 1).
    step = run(cluster, tmp_path, "ModelPackage", {**arguments, "no_controller_seconds": 2, "recoverable_grace_seconds": 1},
               run_id=run_id, task="register-model")
    assert step.returncode in (1, 3), step.stderr
    [package] = items(cluster, namespace, "modelpackages")
    assert package["metadata"]["name"].startswith("model-package-registe-")  # prefix, task, hash: 32 characters at most
    assert package["metadata"]["labels"]["sagemaker-ack-kfp.io/run-id"] == run_id
    assert "modelPackageName" not in package["spec"]
    # SageMaker's default approval is rendered, so the controller finds no difference to update.
    assert package["spec"]["modelApprovalStatus"] == "PendingManualApproval"
    assert "SageMaker names the ModelPackage itself (model_package_group_name=mnist)" in step.stdout


def test_a_name_and_a_group_together_are_refused_before_anything_is_created(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    result = run(cluster, tmp_path, "ModelPackage", {**model_package_arguments(namespace, "mnist"), "model_package_name": "solo"})
    assert result.returncode == 2, result.stderr
    assert "give 'model_package_name' or 'model_package_group_name', not both" in result.stderr
    assert items(cluster, namespace, "modelpackages") == []


def test_only_approval_and_metadata_can_change_in_place(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    unversioned = {k: v for k, v in model_package_arguments(namespace, "unused").items()
                   if k not in ("model_package_group_name", "model_approval_status")}
    unversioned["model_package_name"] = f"solo-{uuid.uuid4().hex[:6]}"
    run(cluster, tmp_path, "ModelPackage", {**unversioned, "no_controller_seconds": 2})
    changed = {**unversioned, "inference_specification": {**unversioned["inference_specification"], "supportedContentTypes": ["application/json"]}}
    refused = run(cluster, tmp_path, "ModelPackage", {**changed, "no_controller_seconds": 2})
    assert refused.returncode == 3, refused.stderr
    assert "its spec.inferenceSpecification cannot be changed in place" in refused.stderr
    assert "spec.approvalDescription, spec.customerMetadataProperties, spec.modelApprovalStatus" in refused.stderr
    [package] = items(cluster, namespace, "modelpackages")
    assert package["spec"]["inferenceSpecification"]["supportedContentTypes"] == ["text/csv"]


# ----- inference components ------------------------------------------------------------------


def inference_endpoint(cluster: Cluster, namespace: str, tmp_path: Path, **endpoint_extra: Any) -> str:
    config = ok(run(cluster, tmp_path, "EndpointConfig", inference_endpoint_config_arguments(namespace)))
    endpoint = ok(run(cluster, tmp_path, "Endpoint", {"namespace": namespace, **endpoint_extra,
                                                      "endpoint_config_name": config.outputs["endpoint_config_name"]}))
    return endpoint.outputs["endpoint_name"]


def model(cluster: Cluster, namespace: str, tmp_path: Path, **extra: Any) -> str:
    return ok(run(cluster, tmp_path, "Model", model_arguments(namespace, **extra))).outputs["model_name"]


@pytest.mark.controller
@pytest.mark.simulator
def test_inference_component_create_scale_and_failed_rollout(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    endpoint = inference_endpoint(cluster, namespace, tmp_path)
    first, broken = model(cluster, namespace, tmp_path), model(
        cluster, namespace, tmp_path, tags=tags(fail_reason="Model failed its container health check"))
    name = f"ic-{uuid.uuid4().hex[:8]}"
    created = ok(run(cluster, tmp_path, "InferenceComponent",
                     inference_component_arguments(namespace, endpoint, first, inference_component_name=name)))
    assert "created InferenceComponent" in created.stdout
    assert created.outputs["endpoint_name"] == endpoint
    assert created.output_json("status")["inferenceComponentStatus"] == "InService"

    # Scale out: the same component, three copies. A KFP step is a pod of its own, started seconds
    # after the one before: not in the second of the creation's last sync (the step could not tell
    # that sync's condition from the answer to its update; condition times have whole seconds).
    time.sleep(1.1)
    scaled = ok(run(cluster, tmp_path, "InferenceComponent",
                    inference_component_arguments(namespace, endpoint, first, inference_component_name=name, copies=3)))
    assert "updated the existing InferenceComponent" in scaled.stdout
    described = sagemaker(cluster).describe_inference_component(InferenceComponentName=name)
    # Done only once SageMaker runs the new copy count, not on the status of the previous rollout.
    assert described["RuntimeConfig"] == {"DesiredCopyCount": 3, "CurrentCopyCount": 3}
    assert cluster.sim("/_sim/calls")["calls"].get("UpdateInferenceComponent", 0) >= 1

    # A new model whose rollout SageMaker rolls back: the step fails with the reason.
    time.sleep(1.1)
    failed = run(cluster, tmp_path, "InferenceComponent",
                 inference_component_arguments(namespace, endpoint, broken, inference_component_name=name, copies=3))
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "the update of the inference component failed: Model failed its container health check" in failed.stderr
    described = sagemaker(cluster).describe_inference_component(InferenceComponentName=name)
    assert (described["InferenceComponentStatus"], described["Specification"]["ModelName"]) == ("InService", first)
    assert len(items(cluster, namespace, "inferencecomponents")) == 1


@pytest.mark.controller
@pytest.mark.simulator
def test_cancelled_inference_component_is_left_unless_asked(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    endpoint = inference_endpoint(cluster, namespace, tmp_path)
    deployed = model(cluster, namespace, tmp_path)
    for delete_on_cancel in (False, True):
        name = f"ic-{uuid.uuid4().hex[:8]}"
        arguments = inference_component_arguments(namespace, endpoint, deployed, inference_component_name=name,
                                                  delete_on_cancel=delete_on_cancel, tags=tags(phase_seconds="30"))
        step = component(cluster, tmp_path, "InferenceComponent", arguments)
        proc = step.start()
        step.terminate_when(proc, lambda: bool(cluster.sim_resources("InferenceComponent", name_prefix=name)), timeout=120)
        result = step.finish(proc, timeout=60)
        assert result.returncode == 143, result.stderr
        if delete_on_cancel:
            assert "as delete_on_cancel asked" in result.stdout
            # The controller deletes it once SageMaker allows (not while Creating).
            wait_for(lambda: [c["status"] for c in cluster.sim_resources("InferenceComponent", name_prefix=name)] in ([], ["Deleting"]),
                     timeout=240, interval=2, what="DeleteInferenceComponent")
        else:
            assert "leaving InferenceComponent" in result.stdout
            [left] = [c for c in items(cluster, namespace, "inferencecomponents") if c["metadata"]["name"] == name]
            assert left["metadata"].get("deletionTimestamp") is None


def test_moving_an_inference_component_to_another_endpoint_is_refused(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    name = f"ic-{uuid.uuid4().hex[:8]}"
    run(cluster, tmp_path, "InferenceComponent",
        inference_component_arguments(namespace, "endpoint-a", "m", inference_component_name=name, no_controller_seconds=2))
    refused = run(cluster, tmp_path, "InferenceComponent",
                  inference_component_arguments(namespace, "endpoint-b", "m", inference_component_name=name, no_controller_seconds=2))
    assert refused.returncode == 3, refused.stderr
    assert "its spec.endpointName cannot be changed in place" in refused.stderr
    [kept] = items(cluster, namespace, "inferencecomponents")
    assert kept["spec"]["endpointName"] == "endpoint-a"
