"""TransformJob and ProcessingJob: batch jobs, done on their status field. Their ACK status does
not carry output locations, so the outputs come from the spec the job ran with."""

from __future__ import annotations

from typing import Any

from sagemaker_ack_kfp.completion import KindRules, arn_of


def _transform_outputs(obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj["spec"]
    return {
        "output_location": (spec.get("transformOutput") or {}).get("s3OutputPath", ""),
        "transform_job_name": spec["transformJobName"],
        "transform_job_arn": arn_of(obj),
        "status": obj.get("status") or {},
    }


def _processing_outputs(obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj["spec"]
    outputs = ((spec.get("processingOutputConfig") or {}).get("outputs")) or []
    return {
        "processing_job_name": spec["processingJobName"],
        "processing_job_arn": arn_of(obj),
        "outputs": {
            item.get("outputName", ""): (item.get("s3Output") or {}).get("s3URI", "")
            for item in outputs
            if item.get("s3Output")
        },
        "status": obj.get("status") or {},
    }


TRANSFORM_JOB = KindRules(
    kind="TransformJob",
    name_prefix="transform",
    status_field="transformJobStatus",
    success=frozenset({"Completed"}),
    console_fragment="transform-jobs/{name}",
    log_group="/aws/sagemaker/TransformJobs",
    log_streams="job",
    outputs=_transform_outputs,
)

PROCESSING_JOB = KindRules(
    kind="ProcessingJob",
    name_prefix="processing",
    status_field="processingJobStatus",
    success=frozenset({"Completed"}),
    console_fragment="processing-jobs/{name}",
    log_group="/aws/sagemaker/ProcessingJobs",
    log_streams="job",
    outputs=_processing_outputs,
)
