"""HyperParameterTuningJob: done on hyperParameterTuningJobStatus; outputs the best job."""

from __future__ import annotations

from typing import Any

from sagemaker_ack_kfp.completion import KindRules, arn_of
from sagemaker_ack_kfp.overlays.late_initialization import skipped_late_initialization_hint


def best_model_artifact_url(spec: dict[str, Any], best_job_name: str) -> str:
    """SageMaker writes a training job's model to <S3OutputPath>/<job name>/output/model.tar.gz;
    the tuning job's status names the best job but not its artifact."""
    definition = spec.get("trainingJobDefinition") or {}
    output_path = str((definition.get("outputDataConfig") or {}).get("s3OutputPath") or "")
    if not output_path or not best_job_name:
        return ""
    return f"{output_path.rstrip('/')}/{best_job_name}/output/model.tar.gz"


def _outputs(obj: dict[str, Any]) -> dict[str, Any]:
    spec, status = obj["spec"], obj.get("status") or {}
    best = status.get("bestTrainingJob") or {}
    objective = best.get("finalHyperParameterTuningJobObjectiveMetric") or {}
    best_name = str(best.get("trainingJobName") or "")
    return {
        "best_training_job_name": best_name,
        "best_hyperparameters": best.get("tunedHyperParameters") or {},
        "best_objective_value": objective.get("value", ""),
        "model_artifact_url": best_model_artifact_url(spec, best_name),
        "hpo_job_name": spec["hyperParameterTuningJobName"],
        "hpo_job_arn": arn_of(obj),
        "status": status,
    }


RULES = KindRules(
    kind="HyperParameterTuningJob",
    name_prefix="hpo",
    status_field="hyperParameterTuningJobStatus",
    success=frozenset({"Completed"}),
    console_fragment="hyper-tuning-jobs/{name}",
    log_group="/aws/sagemaker/TrainingJobs",
    log_streams="tuning",
    outputs=_outputs,
    # The fields ACK v1.9.1 late-initializes in a tuning job's trainingJobDefinition, with the
    # values SageMaker reports when the create left them out (see the TrainingJob overlay for why).
    # ACK's update of a tuning job is "not implemented" (ACK.Terminal), so a spurious spec change
    # ends it the same way. Not covered: resourceConfig.instanceCount, which the user gives, and
    # algorithmSpecification.metricDefinitions, which SageMaker fills in from a built-in algorithm
    # and the step cannot know; give them (custom images must) for full protection.
    service_defaults={
        "trainingJobDefinition.enableInterContainerTrafficEncryption": False,
        "trainingJobDefinition.enableManagedSpotTraining": False,
        "trainingJobDefinition.enableNetworkIsolation": False,
    },
    terminal_hints={
        "not implemented": skipped_late_initialization_hint(
            "tuning job",
            cause="ACK cannot update a tuning job, and ",
            avoid="give training_job_definition's algorithmSpecification.metricDefinitions explicitly",
        ),
    },
)
