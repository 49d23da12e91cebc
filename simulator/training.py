"""TrainingJob: Create, Describe, Stop and Update.

A training job walks SageMaker's secondary statuses (Starting, Downloading,
Training for two phases, Uploading) before Completed, i.e. five phases.
"""

from __future__ import annotations

import math
from typing import Any

from . import defaults, kinds, sampling
from .calls import Body, Call, Handler, echo, new_resource, require_status, stop_job, store, ts
from .resource import Resource
from .timeline import Step, Timeline

INFO = kinds.TRAINING_JOB
REQUIRED = ("TrainingJobName", "RoleArn", "OutputDataConfig")
RULE_FIELDS = {
    "DebugRuleConfigurations": "DebugRuleEvaluationStatuses",
    "ProfilerRuleConfigurations": "ProfilerRuleEvaluationStatuses",
}


def steps(start: float, phase: float, fail_reason: str | None) -> list[Step]:
    running = [
        Step(start, "InProgress", "Starting", "Preparing the instances for training"),
        Step(start + phase, "InProgress", "Downloading", "Downloading input data",
             {"TrainingStartTime": ts(start + phase)}),
        Step(start + 2 * phase, "InProgress", "Training", "Training image download completed. Training in progress."),
    ]
    if fail_reason:
        end = start + 4 * phase
        return running + [Step(end, "Failed", "Failed", "Training job failed",
                               {"TrainingEndTime": ts(end), "FailureReason": fail_reason})]
    end = start + 5 * phase
    return running + [
        Step(start + 4 * phase, "InProgress", "Uploading", "Uploading generated training model"),
        Step(end, "Completed", "Completed", "Training job completed", {"TrainingEndTime": ts(end)}),
    ]


def launch(call: Call, body: Body, *, created: float | None = None,
           parent: Resource | None = None, objective: str | None = None) -> Resource:
    """Create and store a training job, either requested directly or by a tuning job."""
    job = new_resource(call, INFO, body, REQUIRED, created=created)
    job.timeline = Timeline(steps(job.created, job.phase_seconds, job.injection.fail_reason))
    if parent is not None:
        job.parent = parent.name
        job.spec["TuningJobArn"] = parent.arn
    job.extra["objective"] = objective
    store(call, job)
    return job


def create(call: Call, body: Body) -> Body:
    return {INFO.arn_field: launch(call, body).arn}


def describe(call: Call, body: Body) -> Body:
    return view(call.get(INFO, body), call.now)


def view(job: Resource, now: float) -> Body:
    assert job.timeline is not None
    current = job.timeline.current(now)
    out = defaults.training_job(echo(job, now))
    out.update(TrainingJobStatus=current.status, SecondaryStatus=current.secondary,
               SecondaryStatusTransitions=_transitions(job, now))
    out.update(_rule_statuses(job, current.status, now))
    if current.status in ("Completed", "Failed", "Stopped") and "TrainingStartTime" in out:
        seconds = max(1, math.ceil(current.at - out["TrainingStartTime"]))
        out.update(TrainingTimeInSeconds=seconds, BillableTimeInSeconds=seconds)
    if current.status == "Completed":
        out["ModelArtifacts"] = {"S3ModelArtifacts": model_artifacts(job)}
        out["FinalMetricDataList"] = final_metrics(job, current.at)
        warm_pool = _warm_pool(job, current.at, now)
        if warm_pool:
            out["WarmPoolStatus"] = warm_pool
    return out


def model_artifacts(job: Resource) -> str:
    output = (job.spec.get("OutputDataConfig") or {}).get("S3OutputPath", "").rstrip("/")
    return f"{output}/{job.name}/output/model.tar.gz"


def hyperparameters(job: Resource) -> dict[str, str]:
    return dict(job.spec.get("HyperParameters") or {})


def final_metrics(job: Resource, at: float) -> list[dict[str, Any]]:
    params = hyperparameters(job)
    return [
        {"MetricName": name, "Value": sampling.metric_value(name, params), "Timestamp": ts(at)}
        for name in sampling.metric_names(job.spec, job.extra.get("objective"))
    ]


def stop(call: Call, body: Body) -> Body:
    stop_job(call, call.get(INFO, body), "TrainingEndTime", secondary=True)
    return {}


def update(call: Call, body: Body) -> Body:
    """Profiler and warm-pool changes, the only updates SageMaker allows on a training job."""
    job = call.get(INFO, body)
    require_status(job, call.now, ["InProgress", "Completed"])
    for field in ("ProfilerConfig", "RemoteDebugConfig"):
        if body.get(field) is not None:
            job.spec[field] = {**(job.spec.get(field) or {}), **body[field]}
    if body.get("ProfilerRuleConfigurations"):
        job.spec["ProfilerRuleConfigurations"] = [
            *(job.spec.get("ProfilerRuleConfigurations") or []), *body["ProfilerRuleConfigurations"]]
    if (body.get("ResourceConfig") or {}).get("KeepAlivePeriodInSeconds") is not None:
        job.spec.setdefault("ResourceConfig", {})["KeepAlivePeriodInSeconds"] = \
            body["ResourceConfig"]["KeepAlivePeriodInSeconds"]
    job.modified = call.now
    return {INFO.arn_field: job.arn}


def _transitions(job: Resource, now: float) -> list[Body]:
    assert job.timeline is not None
    reached = [s for s in job.timeline.reached(now) if s.secondary]
    # Consecutive steps with the same secondary status are one transition.
    merged = [s for i, s in enumerate(reached) if i == 0 or reached[i - 1].secondary != s.secondary]
    out = []
    for i, step in enumerate(merged):
        item: Body = {"Status": step.secondary, "StartTime": ts(step.at), "StatusMessage": step.message}
        if i + 1 < len(merged):
            item["EndTime"] = ts(merged[i + 1].at)
        elif step.status in ("Completed", "Failed", "Stopped"):
            item["EndTime"] = ts(step.at)
        out.append(item)
    return out


def _rule_statuses(job: Resource, status: str, now: float) -> Body:
    # Rules finish with the job; while it runs they are evaluating.
    running = status in ("InProgress", "Stopping")
    out: Body = {}
    for config_field, status_field in RULE_FIELDS.items():
        rules = job.spec.get(config_field) or []
        if rules:
            out[status_field] = [
                {"RuleConfigurationName": r.get("RuleConfigurationName"),
                 "RuleEvaluationStatus": "InProgress" if running else "NoIssuesFound",
                 "LastModifiedTime": ts(job.last_modified(now))}
                for r in rules
            ]
    return out


def _warm_pool(job: Resource, completed_at: float, now: float) -> Body | None:
    keep_alive = (job.spec.get("ResourceConfig") or {}).get("KeepAlivePeriodInSeconds") or 0
    if keep_alive <= 0:
        return None
    alive = now < completed_at + keep_alive
    return {"Status": "Available" if alive else "Terminated", "ResourceRetainedBillableTimeInSeconds": 0}


OPERATIONS: dict[str, Handler] = {
    "CreateTrainingJob": create,
    "DescribeTrainingJob": describe,
    "StopTrainingJob": stop,
    "UpdateTrainingJob": update,
}
