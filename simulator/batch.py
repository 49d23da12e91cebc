"""TransformJob and ProcessingJob: InProgress for three phases, then Completed.

With an object store, a job that starts (one phase in) checks its S3 inputs (an empty prefix
fails it with SageMaker's reason) and a job that completes writes its outputs: a transform job
one `.out` object per input object, a processing job one object per S3 output.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from . import data, defaults, kinds
from .calls import Body, Call, Handler, echo, failed_step, new_resource, plain_timeline, stop_job, store
from .objects import NoSuchBucket, ObjectStore, S3Uri
from .resource import Resource
from .timeline import Effect, Step

TRANSFORM = kinds.TRANSFORM_JOB
PROCESSING = kinds.PROCESSING_JOB
JOB_PHASES = 3


def create_transform(call: Call, body: Body) -> Body:
    job = new_resource(call, TRANSFORM, body, [
        "TransformJobName", "ModelName", "TransformInput", "TransformOutput", "TransformResources"])
    model = call.state.get(kinds.MODEL, call.region, body["ModelName"])  # the model must exist
    # A transform job reads its input with the model's execution role.
    role = str(model.spec.get("ExecutionRoleArn") or "")
    _start(call, job, "TransformStartTime", "TransformEndTime", data.transform_sources, role,
           lambda objects: data.transform_outputs(objects, job.spec),
           str((job.spec.get("TransformOutput") or {}).get("S3OutputPath") or ""))
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
    outputs = [str((o.get("S3Output") or {}).get("S3Uri")) for o in
               (job.spec.get("ProcessingOutputConfig") or {}).get("Outputs") or [] if o.get("S3Output")]
    _start(call, job, "ProcessingStartTime", "ProcessingEndTime", data.processing_sources,
           str(job.spec.get("RoleArn") or ""), lambda objects: data.processing_outputs(job.name, job.spec),
           ", ".join(outputs))
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


def _start(call: Call, job: Resource, start_field: str, end_field: str,
           sources: Callable[[Mapping[str, Any]], list[data.Source]], role: str,
           outputs: Callable[[ObjectStore], Mapping[S3Uri, bytes]], location: str) -> None:
    """The job's timeline; with an object store, its input check at the start (read with `role`)
    and its outputs written at the end (to `location`, named in a failure)."""
    objects = call.state.objects
    job.timeline = plain_timeline(
        job.created, job.phase_seconds, JOB_PHASES, job.injection.fail_reason, start_field, end_field,
        on_start=_check_inputs(objects, job, end_field, sources, role) if objects else None,
        on_finish=_write_outputs(objects, end_field, outputs, location) if objects else None,
    )


def _check_inputs(objects: ObjectStore, job: Resource, end_field: str,
                  sources: Callable[[Mapping[str, Any]], list[data.Source]], role: str) -> Effect:
    def check(step: Step) -> list[Step] | None:
        empty = data.first_empty(objects, sources(job.spec))
        if empty is None:
            return None
        reason = "ClientError: " + data.no_objects_message(empty.uri, region=job.region, role=role)
        return [step, failed_step(step.at + job.phase_seconds, end_field, reason)]
    return check


def _write_outputs(objects: ObjectStore, end_field: str, outputs: Callable[[ObjectStore], Mapping[S3Uri, bytes]],
                   location: str) -> Effect:
    def write(step: Step) -> list[Step] | None:
        try:
            data.write_all(objects, outputs(objects), "text/plain")
        except NoSuchBucket as error:
            return [failed_step(step.at, end_field, data.upload_failed("Output", location, error))]
        return None
    return write


OPERATIONS: dict[str, Handler] = {
    "CreateTransformJob": create_transform,
    "DescribeTransformJob": describe_transform,
    "StopTransformJob": stop_transform,
    "CreateProcessingJob": create_processing,
    "DescribeProcessingJob": describe_processing,
    "StopProcessingJob": stop_processing,
}
