"""TransformJob and ProcessingJob: InProgress for three phases, then Completed."""

from __future__ import annotations

from . import defaults, kinds
from .calls import Body, Call, Handler, echo, new_resource, plain_timeline, stop_job, store
from .resource import Resource

TRANSFORM = kinds.TRANSFORM_JOB
PROCESSING = kinds.PROCESSING_JOB
JOB_PHASES = 3


def create_transform(call: Call, body: Body) -> Body:
    job = new_resource(call, TRANSFORM, body, [
        "TransformJobName", "ModelName", "TransformInput", "TransformOutput", "TransformResources"])
    call.state.get(kinds.MODEL, call.region, body["ModelName"])  # the model must exist
    _start(job, "TransformStartTime", "TransformEndTime")
    return store(call, job)


def describe_transform(call: Call, body: Body) -> Body:
    job = call.get(TRANSFORM, body)
    out = defaults.transform_job(echo(job, call.now))
    out["TransformJobStatus"] = job.status(call.now)
    return out


def stop_transform(call: Call, body: Body) -> Body:
    stop_job(call, call.get(TRANSFORM, body), "TransformEndTime")
    return {}


def create_processing(call: Call, body: Body) -> Body:
    job = new_resource(call, PROCESSING, body, [
        "ProcessingJobName", "ProcessingResources", "AppSpecification", "RoleArn"])
    _start(job, "ProcessingStartTime", "ProcessingEndTime")
    return store(call, job)


def describe_processing(call: Call, body: Body) -> Body:
    job = call.get(PROCESSING, body)
    out = echo(job, call.now)
    out["ProcessingJobStatus"] = job.status(call.now)
    if out["ProcessingJobStatus"] == "Failed":
        out["ExitMessage"] = out.get("FailureReason", "")
    return out


def stop_processing(call: Call, body: Body) -> Body:
    stop_job(call, call.get(PROCESSING, body), "ProcessingEndTime")
    return {}


def _start(job: Resource, start_field: str, end_field: str) -> None:
    job.timeline = plain_timeline(job.created, job.phase_seconds, JOB_PHASES,
                                  job.injection.fail_reason, start_field, end_field)


OPERATIONS: dict[str, Handler] = {
    "CreateTransformJob": create_transform,
    "DescribeTransformJob": describe_transform,
    "StopTransformJob": stop_transform,
    "CreateProcessingJob": create_processing,
    "DescribeProcessingJob": describe_processing,
    "StopProcessingJob": stop_processing,
}
