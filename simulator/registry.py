"""ModelPackageGroup and ModelPackage: the model registry.

A group is InProgress for one phase, then Completed (or Failed).  A package is
Pending for one phase and InProgress (validating) for two, then Completed or,
with `sim/fail-reason`, Failed with that reason on its first validation
profile.  A package given a group is a version: SageMaker numbers it (1, 2, ...
per group, never reused), its ARN is `model-package/<group>/<version>`, clients
address it by that ARN, and it has no ModelPackageName of its own.  A group cannot be deleted while it holds versions.
"""

from __future__ import annotations

from typing import Any

from . import defaults, injection, kinds
from .calls import Body, Call, Handler, echo, new_resource, store, ts
from .errors import ApiError, validation
from .resource import Resource
from .timeline import GONE, Step, Timeline
from .validation import check_present, raise_if

GROUP = kinds.MODEL_PACKAGE_GROUP
PACKAGE = kinds.MODEL_PACKAGE
VALIDATING_PHASES = 2
# While a package is in one of these, SageMaker refuses to change or delete it.
_BUSY = ("Pending", "InProgress", "Deleting")


# Groups ----------------------------------------------------------------------------

def create_group(call: Call, body: Body) -> Body:
    group = new_resource(call, GROUP, body, ["ModelPackageGroupName"])
    ready = group.created + group.phase_seconds
    reason = group.injection.fail_reason
    group.timeline = Timeline([Step(group.created, "InProgress"), Step(ready, "Failed" if reason else "Completed")])
    group.extra["next_version"] = 1
    return store(call, group)


def describe_group(call: Call, body: Body) -> Body:
    group = call.get(GROUP, body)
    out = echo(group, call.now, with_modified=False)
    out["ModelPackageGroupStatus"] = group.status(call.now)
    return out


def delete_group(call: Call, body: Body) -> Body:
    group = call.get(GROUP, body)
    if any(p.extra.get("group") == group.name for p in call.state.resources(PACKAGE.kind)):
        raise ApiError("ConflictException",
                       f"Model Package Group {group.arn} contains model packages; delete them before the group.")
    assert group.timeline is not None
    if group.status(call.now) != "Deleting":
        group.timeline.replace_future(call.now, [Step(call.now, "Deleting"), Step(call.now + group.phase_seconds, GONE)])
    return {}


def list_groups(call: Call, body: Body) -> Body:
    groups = sorted(call.state.resources(GROUP.kind), key=lambda g: (g.created, g.name))
    summaries = [
        {"ModelPackageGroupName": g.name, "ModelPackageGroupArn": g.arn, "CreationTime": ts(g.created),
         "ModelPackageGroupStatus": g.status(call.now),
         **({"ModelPackageGroupDescription": g.spec["ModelPackageGroupDescription"]}
            if g.spec.get("ModelPackageGroupDescription") else {})}
        for g in groups if g.region == call.region
    ]
    return _page(summaries, body, "ModelPackageGroupSummaryList")


# Packages --------------------------------------------------------------------------

def create_package(call: Call, body: Body) -> Body:
    named, grouped = body.get("ModelPackageName"), body.get("ModelPackageGroupName")
    if named and grouped:
        raise validation("Both ModelPackageName and ModelPackageGroupName are provided in the input. "
                         "Cannot determine which one to use.")
    if not named and not grouped:
        raise validation("Missing ARN.")
    if named:
        package = new_resource(call, PACKAGE, body, ["ModelPackageName"])
    else:
        package = _new_version(call, body, _group(call, str(grouped)))
    package.timeline = Timeline(_steps(package))
    return store(call, package)


def _new_version(call: Call, body: Body, group: Resource) -> Resource:
    if group.status(call.now) not in ("InProgress", "Completed"):
        raise validation(f"Model Package Group {group.arn} is in {group.status(call.now)} status.")
    tags = injection.tags_to_dict(body.get("Tags"))
    inject = injection.parse(tags)
    if inject.validation_error:
        raise validation(inject.validation_error)
    version = int(group.extra["next_version"])
    group.extra["next_version"] = version + 1
    name = f"{group.name}/{version}"
    spec = {k: v for k, v in body.items() if k not in ("ModelPackageGroupName", "Tags")}
    package = Resource(
        info=PACKAGE, name=name, arn=call.state.arn(PACKAGE, call.region, name), region=call.region,
        created=call.now, spec=spec, tags=tags, injection=inject,
        phase_seconds=inject.phase_seconds or call.phase(), modified=call.now,
    )
    package.extra.update(group=group.name, version=version)
    return package


def _steps(package: Resource) -> list[Step]:
    start, phase = package.created, package.phase_seconds
    validating, done = start + phase, start + (1 + VALIDATING_PHASES) * phase
    reason = package.injection.fail_reason
    return [
        Step(start, "Pending", changes={"ModelPackageStatusDetails": _details(package, "NotStarted")}),
        Step(validating, "InProgress", changes={"ModelPackageStatusDetails": _details(package, "InProgress")}),
        Step(done, "Failed" if reason else "Completed",
             changes={"ModelPackageStatusDetails": _details(package, "Failed" if reason else "Completed", reason)}),
    ]


def _details(package: Resource, status: str, reason: str | None = None) -> Body:
    """One validation status per validation profile; a failure lands on the first one."""
    profiles = [p.get("ProfileName") for p in (package.spec.get("ValidationSpecification") or {}).get("ValidationProfiles") or []]
    if reason and not profiles:
        profiles = [package.name]
    statuses = []
    for index, profile in enumerate(profiles):
        item: Body = {"Name": profile, "Status": status}
        if reason and status == "Failed":
            if index == 0:
                item["FailureReason"] = reason
            else:
                item["Status"] = "Completed"
        statuses.append(item)
    return {"ValidationStatuses": statuses}


def describe_package(call: Call, body: Body) -> Body:
    package = _package(call, body, "ModelPackageName")
    out = defaults.model_package(echo(package, call.now))
    out["ModelPackageStatus"] = package.status(call.now)
    if package.extra.get("group"):
        # A version has no name of its own (SageMaker lists versions without one, and ACK's
        # controller, which copies ModelPackageName into the spec, relies on that): its identity
        # is the ARN, within its group.
        out.pop("ModelPackageName", None)
        out.update(ModelPackageGroupName=package.extra["group"], ModelPackageVersion=package.extra["version"])
        out.setdefault("ModelApprovalStatus", "PendingManualApproval")
    return out


def update_package(call: Call, body: Body) -> Body:
    check_present(body, ["ModelPackageArn"])
    package = _package(call, body, "ModelPackageArn")
    status = package.status(call.now)
    if status in _BUSY:
        raise ApiError("ConflictException", f"Model package {package.arn} is in {status} status and cannot be updated.")
    if body.get("ModelApprovalStatus") not in (None, "Approved", "Rejected", "PendingManualApproval"):
        raise_if([f"Value '{body['ModelApprovalStatus']}' at 'modelApprovalStatus' failed to satisfy constraint: "
                  "Member must satisfy enum value set: [Approved, Rejected, PendingManualApproval]"])
    for field in ("ModelApprovalStatus", "ApprovalDescription", "InferenceSpecification", "SourceUri"):
        if body.get(field) is not None:
            package.spec[field] = body[field]
    metadata = {**(package.spec.get("CustomerMetadataProperties") or {}), **(body.get("CustomerMetadataProperties") or {})}
    for key in body.get("CustomerMetadataPropertiesToRemove") or []:
        metadata.pop(key, None)
    if metadata or "CustomerMetadataProperties" in package.spec:
        package.spec["CustomerMetadataProperties"] = metadata
    package.modified = call.now
    return {PACKAGE.arn_field: package.arn}


def delete_package(call: Call, body: Body) -> Body:
    package = _package(call, body, "ModelPackageName")
    status = package.status(call.now)
    if status in _BUSY:
        raise ApiError("ConflictException", f"Model package {package.arn} is in {status} status and cannot be deleted.")
    call.state.remove(package)
    return {}


def list_packages(call: Call, body: Body) -> Body:
    wanted_group = body.get("ModelPackageGroupName")
    package_type = body.get("ModelPackageType") or "Both"
    summaries = []
    for package in sorted(call.state.resources(PACKAGE.kind), key=lambda p: (p.created, p.name)):
        group = package.extra.get("group")
        if package.region != call.region or (wanted_group and group != _group_name(str(wanted_group))):
            continue
        if (package_type == "Versioned" and not group) or (package_type == "Unversioned" and group):
            continue
        described = describe_package(call, {"ModelPackageName": package.arn})
        summaries.append({key: described[key] for key in (
            "ModelPackageName", "ModelPackageGroupName", "ModelPackageVersion", "ModelPackageArn",
            "ModelPackageDescription", "CreationTime", "ModelPackageStatus", "ModelApprovalStatus") if key in described})
    if body.get("SortOrder") == "Descending":
        summaries.reverse()
    return _page(summaries, body, "ModelPackageSummaryList")


# Helpers ---------------------------------------------------------------------------

def _group_name(name_or_arn: str) -> str:
    return name_or_arn.rpartition("/")[2] if name_or_arn.startswith("arn:") else name_or_arn


def _group(call: Call, name_or_arn: str) -> Resource:
    return call.state.get(GROUP, call.region, _group_name(name_or_arn))


def _package(call: Call, body: Body, member: str) -> Resource:
    """A package by name (unversioned) or by ARN (any), or the controller's not-found error."""
    check_present(body, [member])
    key = str(body[member])
    if key.startswith("arn:"):
        found = call.state.by_arn(key)
        if found is None or found.kind != PACKAGE.kind:
            raise PACKAGE.not_found(key, key)
        return found
    return call.state.get(PACKAGE, call.region, key)


def _page(items: list[Any], body: Body, key: str) -> Body:
    start = int(body.get("NextToken") or 0)
    size = int(body.get("MaxResults") or 100)
    page: Body = {key: items[start:start + size]}
    if start + size < len(items):
        page["NextToken"] = str(start + size)
    return page


OPERATIONS: dict[str, Handler] = {
    "CreateModelPackageGroup": create_group,
    "DescribeModelPackageGroup": describe_group,
    "DeleteModelPackageGroup": delete_group,
    "ListModelPackageGroups": list_groups,
    "CreateModelPackage": create_package,
    "DescribeModelPackage": describe_package,
    "UpdateModelPackage": update_package,
    "DeleteModelPackage": delete_package,
    "ListModelPackages": list_packages,
}
