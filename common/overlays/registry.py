"""ModelPackageGroup and ModelPackage: the model registry.

A group is what pipelines register into, run after run, so one that already exists in SageMaker
(created by another namespace's pipeline, the console or an SDK) is adopted, not refused; it must
have the step's description, since ACK cannot update a group.

Both are done when SageMaker reports them Completed (the controller keeps ACK.ResourceSynced False
while they are Pending or InProgress). ACK cannot update a group (its update is "not
implemented"), so a different group under the same name is refused. A model package can change
only what UpdateModelPackage takes from the controller: its approval, the approval's description
and its customer metadata; any other difference is refused, since the controller would call the
update on every sync without ever applying it.

A versioned package (one given a group) has no name of its own: SageMaker numbers it within the
group and the controller follows it by its ARN, so the step names only the custom resource.
Neither is deleted when a step is cancelled: a registry entry outlives the run that made it.
"""

from __future__ import annotations

from typing import Any

from sagemaker_ack_kfp.completion import Expectation, KindRules, Phase, Verdict, arn_of

# SageMaker's approval for a version registered without one (not for an unversioned package).
DEFAULT_VERSION_APPROVAL = "PendingManualApproval"


def _group_outputs(obj: dict[str, Any]) -> dict[str, Any]:
    return {"model_package_group_name": obj["spec"]["modelPackageGroupName"], "model_package_group_arn": arn_of(obj)}


def package_version(arn: str, group: str) -> str:
    """A version's number: the last part of arn:...:model-package/<group>/<version>."""
    if not group:
        return ""
    head, _, version = arn.rpartition("/")
    return version if head.endswith(f"/{group.lower()}") and version.isdigit() else ""


def _package_outputs(obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj["spec"]
    group = str(spec.get("modelPackageGroupName") or "")
    arn = arn_of(obj)
    approval = str(spec.get("modelApprovalStatus") or "")
    return {
        "model_package_arn": arn,
        "model_package_version": package_version(arn, group),
        "model_package_group_name": group,
        "model_package_name": "" if group else str(spec.get("modelPackageName") or ""),
        "model_approval_status": approval,
        "status": obj.get("status") or {},
    }


def failure_details(status: dict[str, Any]) -> str:
    """The reasons in modelPackageStatusDetails (validation, image scan) of the checks that failed."""
    details = status.get("modelPackageStatusDetails") or {}
    reasons = []
    for key, what in (("validationStatuses", "validation"), ("imageScanStatuses", "image scan")):
        for item in details.get(key) or []:
            if item.get("status") == "Failed":
                label = " ".join(part for part in (what, str(item.get("name") or "")) if part)
                reasons.append(f"{label}: {item.get('failureReason') or 'no reason given'}")
    return "; ".join(reasons)


def judge_model_package(obj: dict[str, Any], expectation: Expectation) -> Verdict | None:
    """A Failed package's reasons are in its status details, not in ACK's Terminal message
    ("ModelPackage status reached terminal state: Failed. Check the FailureReason.")."""
    status = obj.get("status") or {}
    if status.get("modelPackageStatus") == "Failed":
        return Verdict(Phase.FAILED, reason=f"model package Failed: {failure_details(status) or 'no reason given'}")
    return None


MODEL_PACKAGE_GROUP = KindRules(
    kind="ModelPackageGroup",
    name_prefix="model-group",
    status_field="modelPackageGroupStatus",
    success=frozenset({"Completed"}),
    failure=frozenset({"Failed"}),
    stop_on_cancel=False,
    outputs=_group_outputs,
    adopt_existing=True,
    terminal_hints={
        "not implemented": (
            "A model package group of that name already exists in SageMaker with another description, and ACK "
            "cannot update a group: give the step the group's description, or another group name."
        ),
    },
)

MODEL_PACKAGE = KindRules(
    kind="ModelPackage",
    name_prefix="model-package",
    status_field="modelPackageStatus",
    success=frozenset({"Completed"}),
    failure=frozenset({"Failed"}),
    stop_on_cancel=False,
    outputs=_package_outputs,
    judge_extra=judge_model_package,
    on_conflict="update",
    updatable_fields=frozenset({"modelApprovalStatus", "approvalDescription", "customerMetadataProperties"}),
    unnamed_with="modelPackageGroupName",
    # SageMaker reports a version's approval even when the create left it out, and the controller
    # compares it with the spec: without it, every sync would call UpdateModelPackage, and the
    # update would write the resource's previous status back, so it never shows Completed.
    unnamed_defaults={"modelApprovalStatus": DEFAULT_VERSION_APPROVAL},
)
