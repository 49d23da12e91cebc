"""Pipeline and PipelineExecution: SageMaker Pipelines.

A pipeline is defined or updated: one that already exists in SageMaker (defined by another
namespace, Studio or the SageMaker SDK) is adopted by the controller and brought to the step's
definition (the controller's next sync, right after the adoption, sends the update: the resource
shows no trace of it, so a step that adopted a pipeline is done on the adoption itself). It is
done once Active and synced; it is updated in place (UpdatePipeline takes its
definition, description, display name, parallelism and role; SageMaker keeps earlier versions).
Tags are not compared by the controller, so a change of tags alone is refused rather than
waited for. Deleting a pipeline is never what a cancelled step means.

An execution is done when it Succeeded; Failed and Stopped fail the step with SageMaker's
failureReason. It has no name of its own (SageMaker identifies it by ARN; its display name need
not be unique), so the custom resource is always named after the run and task: every run starts
its own execution and a retried pod reattaches. Cancelling the step deletes the resource, and the
controller calls StopPipelineExecution.
"""

from __future__ import annotations

from typing import Any

from sagemaker_ack_kfp.completion import KindRules, arn_of


def _pipeline_outputs(obj: dict[str, Any]) -> dict[str, Any]:
    return {"pipeline_name": obj["spec"]["pipelineName"], "pipeline_arn": arn_of(obj)}


def _execution_outputs(obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj["spec"]
    return {
        "pipeline_execution_arn": arn_of(obj),
        "pipeline_name": spec["pipelineName"],
        "pipeline_execution_display_name": spec.get("pipelineExecutionDisplayName") or "",
        "status": obj.get("status") or {},
    }


PIPELINE = KindRules(
    kind="Pipeline",
    name_prefix="pipeline",
    status_field="pipelineStatus",
    success=frozenset({"Active"}),
    failure=frozenset(),
    stop_on_cancel=False,
    outputs=_pipeline_outputs,
    on_conflict="update",
    updatable_fields=frozenset(
        {"pipelineDefinition", "pipelineDescription", "pipelineDisplayName", "parallelismConfiguration", "roleARN"}
    ),
    adopt_existing=True,
    # SageMaker allows 256; the custom resource's name, the same string lowercased, at most 253.
    max_name_length=253,
)

PIPELINE_EXECUTION = KindRules(
    kind="PipelineExecution",
    name_prefix="execution",
    status_field="pipelineExecutionStatus",
    success=frozenset({"Succeeded"}),
    failure=frozenset({"Failed", "Stopped"}),
    outputs=_execution_outputs,
    unique_name=False,
    max_name_length=82,  # PipelineExecutionDisplayName; the resource is named after the step
)
