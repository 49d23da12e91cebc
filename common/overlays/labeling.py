"""LabelingJob: a Ground Truth job, done on labelingJobStatus; outputs the output manifest and the
label counters. Cancelling stops it (the controller calls StopLabelingJob when the resource is
deleted while the job is InProgress).

ACK v1.9.1 late-initializes four of its spec fields and cannot update a labeling job (ACK.Terminal
"not implemented"), so, as for a training job, a throttled read right after the create turns into
a spurious spec change and ends the resource while the job runs on. The step renders Ground
Truth's documented default for maxConcurrentTaskCount; taskAvailabilityLifetimeInSeconds (its
default depends on the workforce) and kmsKeyID are for the user to give.
"""

from __future__ import annotations

from typing import Any

from sagemaker_ack_kfp.completion import KindRules, arn_of
from sagemaker_ack_kfp.overlays.late_initialization import skipped_late_initialization_hint

COUNTERS = ("totalLabeled", "humanLabeled", "machineLabeled", "failedNonRetryableError", "unlabeled")


def _outputs(obj: dict[str, Any]) -> dict[str, Any]:
    status = obj.get("status") or {}
    output = status.get("labelingJobOutput") or {}
    counters = status.get("labelCounters") or {}
    return {
        "output_manifest_uri": output.get("outputDatasetS3URI") or "",
        "label_counters": {name: int(counters.get(name) or 0) for name in COUNTERS},
        "labeling_job_name": obj["spec"]["labelingJobName"],
        "labeling_job_arn": arn_of(obj),
        "final_active_learning_model_arn": output.get("finalActiveLearningModelARN") or "",
        "status": status,
    }


RULES = KindRules(
    kind="LabelingJob",
    name_prefix="labeling",
    status_field="labelingJobStatus",
    success=frozenset({"Completed"}),
    console_page="groundtruth",
    console_fragment="labeling-jobs/details/{name}",
    log_group="/aws/sagemaker/LabelingJobs",
    outputs=_outputs,
    # "The default value is 1000 objects" (HumanTaskConfig.MaxConcurrentTaskCount, API reference).
    service_defaults={"humanTaskConfig.maxConcurrentTaskCount": 1000},
    terminal_hints={
        "not implemented": skipped_late_initialization_hint(
            "labeling job",
            cause="ACK cannot update a labeling job, and ",
            avoid="give human_task_config's taskAvailabilityLifetimeInSeconds and output_config's kmsKeyID explicitly",
        ),
    },
)
