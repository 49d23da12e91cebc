"""Pipeline and PipelineExecution: SageMaker Pipelines.

A pipeline is Active as soon as it is created; its definition must be JSON, and
each create or update is a new version (1, 2, ...).  Delete is Deleting for one
phase.  An execution snapshots the pipeline's steps (the definition's "Steps")
and runs them one after the other, one phase each (at least one phase in all):
Executing, then Succeeded.  Tags act on a pipeline's executions, since
StartPipelineExecution takes no tags: with `sim/fail-reason` on the pipeline its
executions fail at their last step, with that text as the step's and the
execution's FailureReason; `sim/phase-seconds` sets their step length.  Stop
is Stopping for one phase, then Stopped.  Executions are addressed by ARN
(`pipeline/<pipeline>/execution/<id>`); a repeated ClientRequestToken returns
the execution it started; a parameter the definition does not declare is a ValidationException.
"""

from __future__ import annotations

import json
from typing import Any

from . import kinds, sampling
from .calls import Body, Call, Handler, new_resource, require_status, store, ts
from .errors import ApiError, validation
from .resource import Resource
from .timeline import GONE, Step, Timeline
from .validation import check_present

PIPELINE = kinds.PIPELINE
EXECUTION = kinds.PIPELINE_EXECUTION
_PIPELINE_FIELDS = ("PipelineDisplayName", "PipelineDefinition", "PipelineDescription", "RoleArn",
                    "ParallelismConfiguration")
_EXECUTION_FIELDS = ("PipelineExecutionDisplayName", "PipelineExecutionDescription", "ParallelismConfiguration",
                     "SelectiveExecutionConfig")


# Pipelines -------------------------------------------------------------------------

def create_pipeline(call: Call, body: Body) -> Body:
    _check_definition(body, creating=True)
    pipeline = new_resource(call, PIPELINE, body, ["PipelineName", "ClientRequestToken", "RoleArn"])
    pipeline.spec.pop("ClientRequestToken", None)
    pipeline.timeline = Timeline([Step(pipeline.created, "Active")])
    pipeline.extra.update(version=1, tokens={})
    return store(call, pipeline)


def describe_pipeline(call: Call, body: Body) -> Body:
    pipeline = _pipeline(call, body)
    out: Body = {
        "PipelineArn": pipeline.arn,
        "PipelineName": pipeline.name,
        **{field: pipeline.spec[field] for field in _PIPELINE_FIELDS if pipeline.spec.get(field) is not None},
        "PipelineStatus": pipeline.status(call.now),
        "CreationTime": ts(pipeline.created),
        "LastModifiedTime": ts(pipeline.modified),
    }
    last_run = max((e.created for e in _executions(call, pipeline)), default=None)
    if last_run is not None:
        out["LastRunTime"] = ts(last_run)
    return out


def update_pipeline(call: Call, body: Body) -> Body:
    pipeline = _pipeline(call, body)
    require_status(pipeline, call.now, ["Active"])
    _check_definition(body, creating=False)
    for field in _PIPELINE_FIELDS:
        if body.get(field) is not None:
            pipeline.spec[field] = body[field]
    pipeline.extra["version"] += 1
    pipeline.modified = call.now
    return {PIPELINE.arn_field: pipeline.arn, "PipelineVersionId": pipeline.extra["version"]}


def delete_pipeline(call: Call, body: Body) -> Body:
    check_present(body, ["PipelineName", "ClientRequestToken"])
    pipeline = _pipeline(call, body)
    assert pipeline.timeline is not None
    if pipeline.status(call.now) != "Deleting":
        gone = call.now + pipeline.phase_seconds
        pipeline.timeline.replace_future(call.now, [Step(call.now, "Deleting"), Step(gone, GONE)])
    return {PIPELINE.arn_field: pipeline.arn}


def list_pipelines(call: Call, body: Body) -> Body:
    prefix = str(body.get("PipelineNamePrefix") or "")
    summaries = [
        {"PipelineArn": p.arn, "PipelineName": p.name, "PipelineDisplayName": p.spec.get("PipelineDisplayName", p.name),
         "CreationTime": ts(p.created), "LastModifiedTime": ts(p.modified)}
        for p in sorted(call.state.resources(PIPELINE.kind), key=lambda p: (p.created, p.name))
        if p.region == call.region and p.name.startswith(prefix)
    ]
    return {"PipelineSummaries": summaries}


def _check_definition(body: Body, *, creating: bool) -> None:
    definition, location = body.get("PipelineDefinition"), body.get("PipelineDefinitionS3Location")
    if definition and location:
        raise validation("Both Pipeline Definition and Pipeline Definition S3 Location shouldn't be present")
    if location:
        raise validation("PipelineDefinitionS3Location is not simulated (there is no S3); pass PipelineDefinition.")
    if creating and not definition:
        raise validation("Either Pipeline Definition or Pipeline Definition S3 location should be provided")
    if definition:
        steps_of(str(definition))


def _check_parameters(given: list[Any], definition: str) -> None:
    """A parameter the definition does not declare is refused (retried by the controller)."""
    declared = {p.get("Name") for p in (json.loads(definition).get("Parameters") or []) if isinstance(p, dict)}
    unknown = sorted(str(p.get("Name")) for p in given if isinstance(p, dict) and p.get("Name") not in declared)
    if unknown:
        raise validation(f"Pipeline parameter(s) {unknown} are not defined in the pipeline definition.")


def steps_of(definition: str) -> list[Body]:
    """The definition's steps as {"Name", "Type"}; a definition that is not JSON is refused."""
    try:
        parsed: Any = json.loads(definition)
    except ValueError as exc:
        raise validation(f"Unable to parse pipeline definition. Invalid JSON: {exc}") from None
    steps = parsed.get("Steps") if isinstance(parsed, dict) else None
    if not isinstance(steps, list) or not all(isinstance(s, dict) and s.get("Name") for s in steps):
        raise validation("Unable to parse pipeline definition. Model Validation failed: 'Steps' must be a list of "
                         "steps, each with a 'Name'.")
    return [{"Name": str(s["Name"]), "Type": str(s.get("Type") or "")} for s in steps]


# Executions ------------------------------------------------------------------------

def start_execution(call: Call, body: Body) -> Body:
    check_present(body, ["PipelineName", "ClientRequestToken"])
    pipeline = _pipeline(call, body)
    require_status(pipeline, call.now, ["Active"])
    token = str(body["ClientRequestToken"])
    if token in pipeline.extra["tokens"]:
        return {EXECUTION.arn_field: pipeline.extra["tokens"][token]}
    execution_id = sampling.short_hash(pipeline.arn, token, call.now) + sampling.short_hash(token)[:4]
    name = f"{pipeline.name}/execution/{execution_id}"
    definition = str(pipeline.spec.get("PipelineDefinition") or '{"Steps": []}')
    _check_parameters(body.get("PipelineParameters") or [], definition)
    steps = steps_of(definition)
    selected = {s.get("StepName") for s in (body.get("SelectiveExecutionConfig") or {}).get("SelectedSteps") or []}
    if selected:
        steps = [s for s in steps if s["Name"] in selected]
    spec = {field: body[field] for field in (*_EXECUTION_FIELDS, "PipelineParameters") if body.get(field) is not None}
    spec.setdefault("PipelineExecutionDisplayName", f"execution-{int(call.now * 1000)}")
    execution = Resource(
        info=EXECUTION, name=name, arn=call.state.arn(EXECUTION, call.region, name), region=call.region,
        created=call.now, spec=spec, tags={}, injection=pipeline.injection, phase_seconds=pipeline.phase_seconds,
        modified=call.now,
    )
    execution.extra.update(pipeline=pipeline.name, pipeline_arn=pipeline.arn, steps=steps, id=execution_id,
                           version=int(body.get("PipelineVersionId") or pipeline.extra["version"]))
    end = call.now + max(1, len(steps)) * execution.phase_seconds
    reason = pipeline.injection.fail_reason
    finish = Step(end, "Failed", changes={"FailureReason": reason}) if reason else Step(end, "Succeeded")
    execution.timeline = Timeline([Step(call.now, "Executing"), finish])
    call.state.insert(execution)
    pipeline.extra["tokens"][token] = execution.arn
    return {EXECUTION.arn_field: execution.arn}


def describe_execution(call: Call, body: Body) -> Body:
    execution = _execution(call, body)
    assert execution.timeline is not None
    return {
        "PipelineArn": execution.extra["pipeline_arn"],
        "PipelineExecutionArn": execution.arn,
        **{field: execution.spec[field] for field in _EXECUTION_FIELDS if field in execution.spec},
        "PipelineExecutionStatus": execution.status(call.now),
        "PipelineExperimentConfig": {"ExperimentName": execution.extra["pipeline"], "TrialName": execution.extra["id"]},
        "CreationTime": ts(execution.created),
        "LastModifiedTime": ts(execution.last_modified(call.now)),
        "PipelineVersionId": execution.extra["version"],
        **execution.timeline.fields(call.now),
    }


def stop_execution(call: Call, body: Body) -> Body:
    check_present(body, ["PipelineExecutionArn", "ClientRequestToken"])
    execution = _execution(call, body)
    status = execution.status(call.now)
    if status != "Executing":
        raise ApiError("ConflictException", f"Pipeline execution {execution.arn} is {status}; only an Executing execution can be stopped.")
    assert execution.timeline is not None
    execution.extra["stopped_at"] = call.now
    execution.timeline.replace_future(call.now, [
        Step(call.now, "Stopping"), Step(call.now + execution.phase_seconds, "Stopped")])
    return {EXECUTION.arn_field: execution.arn}


def update_execution(call: Call, body: Body) -> Body:
    execution = _execution(call, body)
    for field in ("PipelineExecutionDisplayName", "PipelineExecutionDescription", "ParallelismConfiguration"):
        if body.get(field) is not None:
            execution.spec[field] = body[field]
    execution.modified = call.now
    return {EXECUTION.arn_field: execution.arn}


def list_execution_steps(call: Call, body: Body) -> Body:
    execution = _execution(call, body)
    records = step_records(execution, call.now)
    if body.get("SortOrder") != "Ascending":
        records.reverse()  # SageMaker lists the latest step first by default
    return {"PipelineExecutionSteps": records}


def step_records(execution: Resource, now: float) -> list[Body]:
    """The steps that have started by `now`, as ListPipelineExecutionSteps reports them."""
    phase, start = execution.phase_seconds, execution.created
    stopped_at = execution.extra.get("stopped_at")
    status = execution.status(now)
    steps = execution.extra["steps"]
    records = []
    for index, step in enumerate(steps):
        began, ends = start + index * phase, start + (index + 1) * phase
        if began > now or (stopped_at is not None and began > stopped_at):
            break
        record: Body = {"StepName": step["Name"], "StartTime": ts(began), "AttemptCount": 1, "Metadata": {}}
        last = index == len(steps) - 1
        if stopped_at is not None and ends > stopped_at:
            record["StepStatus"] = "Stopped" if status == "Stopped" else "Stopping"
        elif ends > now:
            record["StepStatus"] = "Executing"
        elif last and execution.injection.fail_reason:
            record.update(StepStatus="Failed", EndTime=ts(ends), FailureReason=execution.injection.fail_reason)
        else:
            record.update(StepStatus="Succeeded", EndTime=ts(ends))
        records.append(record)
    return records


def list_executions(call: Call, body: Body) -> Body:
    pipeline = _pipeline(call, body)
    summaries = []
    for execution in sorted(_executions(call, pipeline), key=lambda e: e.created, reverse=True):
        described = describe_execution(call, {"PipelineExecutionArn": execution.arn})
        summaries.append({"PipelineExecutionArn": execution.arn, "StartTime": ts(execution.created),
                          "PipelineExecutionStatus": described["PipelineExecutionStatus"],
                          **{k: described[k] for k in ("PipelineExecutionDisplayName", "PipelineExecutionDescription")
                             if k in described},
                          **({"PipelineExecutionFailureReason": described["FailureReason"]}
                             if "FailureReason" in described else {})})
    return {"PipelineExecutionSummaries": summaries}


def list_parameters(call: Call, body: Body) -> Body:
    execution = _execution(call, body)
    return {"PipelineParameters": list(execution.spec.get("PipelineParameters") or [])}


# Helpers ---------------------------------------------------------------------------

def _pipeline(call: Call, body: Body) -> Resource:
    check_present(body, ["PipelineName"])
    name = str(body["PipelineName"])
    if name.startswith("arn:"):
        found = call.state.by_arn(name)
        if found is None or found.kind != PIPELINE.kind:
            raise PIPELINE.not_found(name, name)
        return found
    return call.state.get(PIPELINE, call.region, name)


def _execution(call: Call, body: Body) -> Resource:
    check_present(body, ["PipelineExecutionArn"])
    arn = str(body["PipelineExecutionArn"])
    found = call.state.by_arn(arn)
    if found is None or found.kind != EXECUTION.kind:
        raise EXECUTION.not_found(arn, arn)
    return found


def _executions(call: Call, pipeline: Resource) -> list[Resource]:
    return [e for e in call.state.resources(EXECUTION.kind) if e.extra["pipeline_arn"] == pipeline.arn]


OPERATIONS: dict[str, Handler] = {
    "CreatePipeline": create_pipeline,
    "DescribePipeline": describe_pipeline,
    "UpdatePipeline": update_pipeline,
    "DeletePipeline": delete_pipeline,
    "ListPipelines": list_pipelines,
    "StartPipelineExecution": start_execution,
    "DescribePipelineExecution": describe_execution,
    "StopPipelineExecution": stop_execution,
    "UpdatePipelineExecution": update_execution,
    "ListPipelineExecutionSteps": list_execution_steps,
    "ListPipelineExecutions": list_executions,
    "ListPipelineParametersForExecution": list_parameters,
}
