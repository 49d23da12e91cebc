"""LabelingJob: a Ground Truth job that labels a dataset over three phases.

The dataset holds 10-100 objects, a number that depends only on the input
manifest's URI.  A third of them is labeled in each phase; with
LabelingJobAlgorithmsConfig (automated data labeling) 40% are machine labeled.
StoppingConditions cap human labels and the labeled share; what is left counts
as Unlabeled.  The job then is Completed with an output manifest at
`<S3OutputPath>/<job name>/manifests/output/output.manifest` (Ground Truth's
layout).  `sim/fail-reason` fails it after two phases; Stop is Stopping for one
phase, then Stopped with the counters where they were.
"""

from __future__ import annotations

from . import defaults, kinds, sampling
from .calls import Body, Call, Handler, echo, new_resource, stop_job, store, ts
from .resource import Resource
from .timeline import Step, Timeline
from .validation import check_present

INFO = kinds.LABELING_JOB
REQUIRED = ("LabelingJobName", "LabelAttributeName", "InputConfig", "OutputConfig", "RoleArn", "HumanTaskConfig")
TASK_REQUIRED = ("WorkteamArn", "UiConfig", "TaskTitle", "TaskDescription", "NumberOfHumanWorkersPerDataObject",
                 "TaskTimeLimitInSeconds")
PHASES = 3
MACHINE_SHARE = 0.4


def create(call: Call, body: Body) -> Body:
    job = new_resource(call, INFO, body, REQUIRED)
    check_present(body["HumanTaskConfig"], TASK_REQUIRED, "humanTaskConfig")
    check_present(body["InputConfig"], ["DataSource"], "inputConfig")
    check_present(body["OutputConfig"], ["S3OutputPath"], "outputConfig")
    job.timeline = Timeline(_steps(job))
    return store(call, job)


def dataset_size(job: Resource) -> int:
    source = ((job.spec.get("InputConfig") or {}).get("DataSource") or {})
    manifest = (source.get("S3DataSource") or {}).get("ManifestS3Uri") or source.get("SnsDataSource") or job.name
    return 10 + int(sampling.short_hash("manifest", manifest), 16) % 91


def counters(job: Resource, fraction: float) -> Body:
    """LabelCounters once `fraction` of the work is done."""
    total = dataset_size(job)
    limits = job.spec.get("StoppingConditions") or {}
    share = limits.get("MaxPercentageOfInputDatasetLabeled")
    labelable = min(total, total * int(share) // 100) if share is not None else total
    labeled = int(labelable * fraction)
    machine = int(labeled * MACHINE_SHARE) if job.spec.get("LabelingJobAlgorithmsConfig") else 0
    human = labeled - machine
    cap = limits.get("MaxHumanLabeledObjectCount")
    if cap is not None and human > int(cap):
        human = int(cap)
    return {"TotalLabeled": human + machine, "HumanLabeled": human, "MachineLabeled": machine,
            "FailedNonRetryableError": 0, "Unlabeled": total - human - machine}


def _steps(job: Resource) -> list[Step]:
    start, phase = job.created, job.phase_seconds
    steps = [Step(start + i * phase, "InProgress", changes={"LabelCounters": counters(job, i / PHASES)}) for i in range(PHASES)]
    reason = job.injection.fail_reason
    if reason:
        return steps[:2] + [Step(start + 2 * phase, "Failed", changes={"FailureReason": reason})]
    end = start + PHASES * phase
    output: Body = {"OutputDatasetS3Uri": output_manifest(job)}
    if job.spec.get("LabelingJobAlgorithmsConfig"):
        account_prefix = job.arn.split(f":{INFO.arn_type}/")[0]
        output["FinalActiveLearningModelArn"] = f"{account_prefix}:model/{job.name.lower()}-final-model"
    return steps + [Step(end, "Completed", changes={"LabelCounters": counters(job, 1.0), "LabelingJobOutput": output})]


def output_manifest(job: Resource) -> str:
    output = str((job.spec.get("OutputConfig") or {}).get("S3OutputPath") or "").rstrip("/")
    return f"{output}/{job.name}/manifests/output/output.manifest"


def describe(call: Call, body: Body) -> Body:
    job = call.get(INFO, body)
    out = defaults.labeling_job(echo(job, call.now))
    out["LabelingJobStatus"] = job.status(call.now)
    out["JobReferenceCode"] = sampling.short_hash("reference", job.arn).upper()
    if job.tags:
        out["Tags"] = [{"Key": k, "Value": v} for k, v in job.tags.items()]
    return out


def stop(call: Call, body: Body) -> Body:
    stop_job(call, call.get(INFO, body), None)
    return {}


def list_jobs(call: Call, body: Body) -> Body:
    jobs = sorted(call.state.resources(INFO.kind), key=lambda j: (j.created, j.name))
    summaries = [
        {"LabelingJobName": j.name, "LabelingJobArn": j.arn, "CreationTime": ts(j.created),
         "LastModifiedTime": ts(j.last_modified(call.now)), "LabelingJobStatus": j.status(call.now),
         "LabelCounters": describe(call, {"LabelingJobName": j.name})["LabelCounters"],
         "WorkteamArn": j.spec["HumanTaskConfig"].get("WorkteamArn")}
        for j in jobs if j.region == call.region
    ]
    return {"LabelingJobSummaryList": summaries}


OPERATIONS: dict[str, Handler] = {
    "CreateLabelingJob": create,
    "DescribeLabelingJob": describe,
    "StopLabelingJob": stop,
    "ListLabelingJobs": list_jobs,
}
