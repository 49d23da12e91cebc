"""TrainingJob: Create, Describe, Stop and Update.

A training job walks SageMaker's secondary statuses (Starting, Downloading,
Training for two phases, Uploading) before Completed, i.e. five phases.
With an object store, the Downloading transition checks every S3 input (an
empty prefix fails the job, as SageMaker does) and the Uploading transition
writes `<S3OutputPath>/<job name>/output/model.tar.gz`. Debugger and Profiler
rules keep evaluating for `rule_seconds` after the job has ended.
"""

from __future__ import annotations

import math
from typing import Any

from . import data, defaults, kinds, sampling
from .calls import Body, Call, Handler, echo, new_resource, require_status, stop_job, store, ts
from .objects import NoSuchBucket, ObjectStore, S3Uri
from .resource import Resource
from .timeline import Effect, Step, Timeline

INFO = kinds.TRAINING_JOB
REQUIRED = ("TrainingJobName", "RoleArn", "OutputDataConfig")
RULE_FIELDS = {
    "DebugRuleConfigurations": "DebugRuleEvaluationStatuses",
    "ProfilerRuleConfigurations": "ProfilerRuleEvaluationStatuses",
}


def steps(start: float, phase: float, fail_reason: str | None, *,
          download: Effect | None = None, upload: Effect | None = None) -> list[Step]:
    running = [
        Step(start, "InProgress", "Starting", "Preparing the instances for training"),
        Step(start + phase, "InProgress", "Downloading", "Downloading input data",
             {"TrainingStartTime": ts(start + phase)}, effect=download),
        Step(start + 2 * phase, "InProgress", "Training", "Training image download completed. Training in progress."),
    ]
    if fail_reason:
        return running + [_failed(start + 4 * phase, fail_reason)]
    end = start + 5 * phase
    return running + [
        Step(start + 4 * phase, "InProgress", "Uploading", "Uploading generated training model", effect=upload),
        Step(end, "Completed", "Completed", "Training job completed", {"TrainingEndTime": ts(end)}),
    ]


def _failed(end: float, reason: str) -> Step:
    return Step(end, "Failed", "Failed", "Training job failed", {"TrainingEndTime": ts(end), "FailureReason": reason})


def launch(call: Call, body: Body, *, created: float | None = None,
           parent: Resource | None = None, objective: str | None = None) -> Resource:
    """Create and store a training job, either requested directly or by a tuning job."""
    job = new_resource(call, INFO, body, REQUIRED, created=created)
    objects = call.state.objects
    job.timeline = Timeline(steps(
        job.created, job.phase_seconds, job.injection.fail_reason,
        download=_check_inputs(objects, job) if objects else None,
        upload=_upload_model(objects, job) if objects else None,
    ))
    if parent is not None:
        job.parent = parent.name
        job.spec["TuningJobArn"] = parent.arn
    job.extra["objective"] = objective
    job.extra["rule_seconds"] = (job.injection.rule_seconds if job.injection.rule_seconds is not None
                                 else call.state.config.rule_seconds)
    store(call, job)
    return job


def _check_inputs(objects: ObjectStore, job: Resource) -> Effect:
    def check(step: Step) -> list[Step] | None:
        empty = data.first_empty(objects, data.training_sources(job.spec))
        if empty is None:
            return None
        reason = "ClientError: Data download failed:" + data.no_objects_message(
            empty.uri, region=job.region, role=str(job.spec.get("RoleArn") or ""))
        return [step, _failed(step.at + job.phase_seconds, reason)]
    return check


def _upload_model(objects: ObjectStore, job: Resource) -> Effect:
    def upload(step: Step) -> list[Step] | None:
        target = S3Uri.parse(model_artifacts(job))
        if target is None:
            return None
        completed = step.at + job.phase_seconds
        archive = data.model_archive(job.name, hyperparameters(job), final_metrics(job, completed), completed)
        try:
            objects.write(target, archive, "application/x-tar")
        except NoSuchBucket as error:
            return [step, _failed(completed, data.upload_failed("Artifact", str(target), error))]
        return None
    return upload


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
    out.update(_rule_statuses(job, current, now))
    profiling = _profiling_status(job)
    if profiling:
        out["ProfilingStatus"] = profiling
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


def _rule_statuses(job: Resource, current: Step, now: float) -> Body:
    out: Body = {}
    for config_field, status_field in RULE_FIELDS.items():
        rules = job.spec.get(config_field) or []
        if rules:
            out[status_field] = [_rule_status(job, str(r.get("RuleConfigurationName") or ""), current, now)
                                 for r in rules]
    return out


def _rule_status(job: Resource, rule: str, current: Step, now: float) -> Body:
    """Rules evaluate while the job runs and for `rule_seconds` after it ended (Completed or
    Failed), then report their finding; a stopped job stops them."""
    ends = current.at + job.extra.get("rule_seconds", 0.0)
    if current.status in ("InProgress", "Stopping") or (current.status != "Stopped" and now < ends):
        status, changed = "InProgress", job.created
    elif current.status == "Stopped":
        status, changed = "Stopped", current.at
    else:
        status, changed = ("IssuesFound" if job.injection.finds_issues(rule) else "NoIssuesFound"), ends
    item: Body = {"RuleConfigurationName": rule, "RuleEvaluationJobArn": _rule_job_arn(job, rule),
                  "RuleEvaluationStatus": status, "LastModifiedTime": ts(changed)}
    if status == "IssuesFound":
        at_step = int(sampling.short_hash(job.arn, rule), 16) % 20 * 100
        item["StatusDetails"] = (f"RuleEvaluationConditionMet: Evaluation of the rule {rule} at step {at_step} "
                                 "resulted in the condition being met\n")
    return item


def _rule_job_arn(job: Resource, rule: str) -> str:
    """Each rule runs as a processing job named after the training job and the rule."""
    prefix = job.arn.rsplit(":", 1)[0]
    name = f"{job.name[:26]}-{rule[:26]}".lower().strip("-")
    return f"{prefix}:processing-job/{name}-{sampling.short_hash(job.arn, rule)}"


def _profiling_status(job: Resource) -> str | None:
    """Reported for jobs that configure the profiler; the controller waits for profiler rules
    only while it is not Disabled."""
    config = job.spec.get("ProfilerConfig")
    if not config and not job.spec.get("ProfilerRuleConfigurations"):
        return None
    return "Disabled" if (config or {}).get("DisableProfiler") else "Enabled"


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
