"""HyperParameterTuningJob: a tuning job that really launches training jobs.

Children run in waves of MaxParallelTrainingJobs, each a full TrainingJob
lifecycle visible through DescribeTrainingJob.  Their start times are planned
at create time and they come into existence lazily (`spawn_due`), so the
outcome depends only on the clock, not on how often anyone asks.
"""

from __future__ import annotations

from typing import Any

from . import defaults, injection, kinds, sampling, training
from .calls import Body, Call, Handler, echo, new_resource, require_status, stop_steps, store, ts
from .errors import ApiError, validation
from .resource import Resource
from .state import SimulatorState
from .timeline import Effect, Step, Timeline
from .validation import check_present

INFO = kinds.TUNING_JOB
REQUIRED = ("HyperParameterTuningJobName", "HyperParameterTuningJobConfig")
DEFINITION_REQUIRED = ("AlgorithmSpecification", "RoleArn", "OutputDataConfig", "StoppingCondition")
# Keeps a simulated search short; real limits are in the hundreds.
MAX_CHILDREN = 5
CHILD_PHASES = 5
FAILED_CHILD_PHASES = 4
# Definition members that describe the search rather than a training job.
_SEARCH_ONLY = ("StaticHyperParameters", "HyperParameterRanges", "TuningObjective", "DefinitionName")


def create(call: Call, body: Body) -> Body:
    job = new_resource(call, INFO, body, REQUIRED)
    definition = _definition(job)
    limits = (job.spec["HyperParameterTuningJobConfig"].get("ResourceLimits") or {})
    total = min(max(int(limits.get("MaxNumberOfTrainingJobs") or 1), 1), MAX_CHILDREN)
    parallel = min(max(int(limits.get("MaxParallelTrainingJobs") or 1), 1), total)
    if job.injection.fail_reason:
        total = parallel  # the first wave fails and the search gives up
    phase, start = job.phase_seconds, job.created
    job.extra["plan"] = [
        {"name": f"{job.name}-{i + 1:03d}-{sampling.short_hash(job.arn, job.created, i)}",
         "start": start + (i // parallel) * CHILD_PHASES * phase, "spawned": False}
        for i in range(total)
    ]
    waves = (total + parallel - 1) // parallel
    if job.injection.fail_reason:
        end = start + FAILED_CHILD_PHASES * phase
        last = Step(end, "Failed", changes={"HyperParameterTuningEndTime": ts(end),
                                            "FailureReason": job.injection.fail_reason})
    else:
        end = start + waves * CHILD_PHASES * phase
        # With S3, children can fail on their data; a search where none succeeded fails.
        last = Step(end, "Completed", changes={"HyperParameterTuningEndTime": ts(end)},
                    effect=_fail_unless_one_succeeded(call.state, job) if call.state.objects else None)
    job.timeline = Timeline([Step(start, "InProgress"), last])
    job.extra["definition"] = definition
    return store(call, job)


def _fail_unless_one_succeeded(state: SimulatorState, job: Resource) -> Effect:
    def conclude(step: Step) -> list[Step] | None:
        children = [c for c in (state.find(training.INFO, job.region, p["name"]) for p in job.extra["plan"] if p["spawned"])
                    if c is not None and c.timeline is not None]
        for child in children:  # their own transitions first (their input checks)
            assert child.timeline is not None
            child.timeline.settle(step.at)
        if any(child.status(step.at) == "Completed" for child in children):
            return None
        return [Step(step.at, "Failed", changes={
            "HyperParameterTuningEndTime": ts(step.at),
            "FailureReason": f"No training job succeeded after {len(children)} attempts. Please take a look at the "
                             "training job failures to get more details."})]
    return conclude


def spawn_due(state: SimulatorState, now: float) -> None:
    """Bring into existence every planned training job whose start time has come."""
    for job in state.resources(INFO.kind):
        stopped_at = job.extra.get("stopped_at")
        for index, child in enumerate(job.extra["plan"]):
            if child["spawned"] or child["start"] > now or (stopped_at is not None and child["start"] >= stopped_at):
                continue
            child["spawned"] = True
            try:
                _launch_child(Call(state, job.region, now), job, index, child)
            except ApiError:
                # Name taken by an unrelated training job: SageMaker would count it as a
                # failed launch; here it is simply skipped so other callers are unaffected.
                continue


def _launch_child(call: Call, job: Resource, index: int, child: dict[str, Any]) -> None:
    definition = job.extra["definition"]
    tuned = sampling.tuned_hyperparameters(
        definition.get("HyperParameterRanges") or job.spec["HyperParameterTuningJobConfig"].get("ParameterRanges") or {},
        job.arn, index)
    body = {k: v for k, v in definition.items() if k not in _SEARCH_ONLY}
    body.update(
        TrainingJobName=child["name"],
        HyperParameters={**(definition.get("StaticHyperParameters") or {}), **tuned},
        Tags=[{"Key": k, "Value": v} for k, v in injection.inherited(job.tags).items()],
    )
    objective = _objective(job).get("MetricName")
    launched = training.launch(call, body, created=child["start"], parent=job, objective=objective)
    launched.extra["tuned"] = tuned


def describe(call: Call, body: Body) -> Body:
    job = call.get(INFO, body)
    views = [training.view(c, call.now) for c in _children(call, job)]
    out = defaults.tuning_job(echo(job, call.now))
    out["HyperParameterTuningJobStatus"] = job.status(call.now)
    out["TrainingJobStatusCounters"] = _status_counters(views)
    out["ObjectiveStatusCounters"] = _objective_counters(views)
    best = _best(job, _summaries(call, job))
    if best:
        out["BestTrainingJob"] = best
    return out


def stop(call: Call, body: Body) -> Body:
    job = call.get(INFO, body)
    require_status(job, call.now, ["InProgress"])
    job.extra["stopped_at"] = call.now
    assert job.timeline is not None
    job.timeline.replace_future(call.now, stop_steps(call.now, job.phase_seconds, "HyperParameterTuningEndTime"))
    for child in _children(call, job):
        if child.status(call.now) == "InProgress" and child.timeline is not None:
            child.timeline.replace_future(
                call.now, stop_steps(call.now, child.phase_seconds, "TrainingEndTime", secondary=True))
    return {}


def list_training_jobs(call: Call, body: Body) -> Body:
    job = call.get(INFO, body)
    summaries = _summaries(call, job)
    if body.get("StatusEquals"):
        summaries = [s for s in summaries if s["TrainingJobStatus"] == body["StatusEquals"]]
    summaries.sort(key=_sort_key(body.get("SortBy") or "CreationTime"),
                   reverse=(body.get("SortOrder") or "Descending") == "Descending")
    start = int(body.get("NextToken") or 0)
    size = int(body.get("MaxResults") or 100)
    page: Body = {"TrainingJobSummaries": summaries[start:start + size]}
    if start + size < len(summaries):
        page["NextToken"] = str(start + size)
    return page


def _definition(job: Resource) -> Body:
    definition = job.spec.get("TrainingJobDefinition") or (job.spec.get("TrainingJobDefinitions") or [None])[0]
    if not isinstance(definition, dict):
        raise validation("Either TrainingJobDefinition or TrainingJobDefinitions must be provided.")
    check_present(definition, DEFINITION_REQUIRED, "trainingJobDefinition")
    return definition


def _objective(job: Resource) -> Body:
    return (job.extra["definition"].get("TuningObjective")
            or job.spec["HyperParameterTuningJobConfig"].get("HyperParameterTuningJobObjective") or {})


def _children(call: Call, job: Resource) -> list[Resource]:
    found = (call.state.find(training.INFO, job.region, c["name"]) for c in job.extra["plan"] if c["spawned"])
    return [c for c in found if c is not None]


def _status_counters(children: list[Body]) -> Body:
    def count(*statuses: str) -> int:
        return sum(1 for c in children if c["TrainingJobStatus"] in statuses)
    return {"Completed": count("Completed"), "InProgress": count("InProgress", "Stopping"),
            "RetryableError": 0, "NonRetryableError": count("Failed"), "Stopped": count("Stopped")}


def _objective_counters(children: list[Body]) -> Body:
    succeeded = sum(1 for c in children if c["TrainingJobStatus"] == "Completed")
    pending = sum(1 for c in children if c["TrainingJobStatus"] in ("InProgress", "Stopping"))
    return {"Succeeded": succeeded, "Pending": pending, "Failed": len(children) - succeeded - pending}


def _summaries(call: Call, job: Resource) -> list[Body]:
    return [_summary(job, c, training.view(c, call.now)) for c in _children(call, job)]


def _summary(job: Resource, resource: Resource, child: Body) -> Body:
    status = child["TrainingJobStatus"]
    summary: Body = {
        "TrainingJobName": child["TrainingJobName"],
        "TrainingJobArn": child["TrainingJobArn"],
        "TuningJobName": job.name,
        "CreationTime": child["CreationTime"],
        "TrainingJobStatus": status,
        "TunedHyperParameters": resource.extra.get("tuned", {}),
        "ObjectiveStatus": {"Completed": "Succeeded", "InProgress": "Pending", "Stopping": "Pending"}.get(status, "Failed"),
    }
    for field in ("TrainingStartTime", "TrainingEndTime", "FailureReason"):
        if field in child:
            summary[field] = child[field]
    objective = _objective(job)
    metric = next((m for m in child.get("FinalMetricDataList", []) if m["MetricName"] == objective.get("MetricName")), None)
    if metric is not None:
        summary["FinalHyperParameterTuningJobObjectiveMetric"] = {
            "Type": objective.get("Type", "Maximize"), "MetricName": metric["MetricName"], "Value": metric["Value"]}
    return summary


def _best(job: Resource, summaries: list[Body]) -> Body | None:
    scored = [s for s in summaries if "FinalHyperParameterTuningJobObjectiveMetric" in s]
    if not scored:
        return None
    pick = min if _objective(job).get("Type") == "Minimize" else max
    return pick(scored, key=lambda s: s["FinalHyperParameterTuningJobObjectiveMetric"]["Value"])


def _sort_key(sort_by: str) -> Any:
    if sort_by == "Name":
        return lambda s: s["TrainingJobName"]
    if sort_by == "Status":
        return lambda s: s["TrainingJobStatus"]
    if sort_by == "FinalObjectiveMetricValue":
        return lambda s: s.get("FinalHyperParameterTuningJobObjectiveMetric", {}).get("Value", float("-inf"))
    return lambda s: s["CreationTime"]


OPERATIONS: dict[str, Handler] = {
    "CreateHyperParameterTuningJob": create,
    "DescribeHyperParameterTuningJob": describe,
    "StopHyperParameterTuningJob": stop,
    "ListTrainingJobsForHyperParameterTuningJob": list_training_jobs,
}
