"""TrainingJob: done on trainingJobStatus once its Debugger and Profiler rule evaluations have
finished; outputs the model artifact, identifiers and the rules' findings.

SageMaker keeps a job's rule evaluations going after the job itself is Completed, and the ACK
controller keeps the resource ACK.ResourceSynced False while any of them is InProgress or
Stopping (customSetOutput in the controller's pkg/resource/training_job/hooks.go): debug rules
always, profiler rules only while profilingStatus is reported and not Disabled. The step waits
for the same rules, so its outputs carry their final findings.
"""

from __future__ import annotations

from typing import Any

from sagemaker_ack_kfp.completion import TERMINAL, Expectation, KindRules, Phase, Verdict, arn_of, conditions
from sagemaker_ack_kfp.overlays.late_initialization import skipped_late_initialization_hint

# The rule evaluation statuses the controller treats as still changing.
EVALUATING = frozenset({"InProgress", "Stopping"})


def rule_evaluations(obj: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """("Debugger" | "Profiler", status entry) for every rule the controller waits on."""
    status = obj.get("status") or {}
    rules = [("Debugger", r) for r in status.get("debugRuleEvaluationStatuses") or []]
    profiling = status.get("profilingStatus")
    if profiling and profiling != "Disabled":
        rules += [("Profiler", r) for r in status.get("profilerRuleEvaluationStatuses") or []]
    return rules


def _evaluating(obj: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    return [(kind, r) for kind, r in rule_evaluations(obj) if r.get("ruleEvaluationStatus") in EVALUATING]


def _judge(obj: dict[str, Any], expectation: Expectation) -> Verdict | None:
    """Completed with rules still evaluating is not done yet (unless ACK gave up: Terminal)."""
    completed = (obj.get("status") or {}).get("trainingJobStatus") == "Completed"
    terminal = (conditions(obj).get(TERMINAL) or {}).get("status") == "True"
    if completed and not terminal and _evaluating(obj):
        return Verdict(Phase.WAITING)
    return None


def _note(obj: dict[str, Any]) -> str:
    status = obj.get("status") or {}
    if status.get("trainingJobStatus") != "Completed" or not rule_evaluations(obj):
        return ""
    evaluating = _evaluating(obj)
    if evaluating:
        names = ", ".join(f"{r.get('ruleConfigurationName')} ({kind}) {r.get('ruleEvaluationStatus')}" for kind, r in evaluating)
        return f"the job is Completed; waiting for its rule evaluations, as the controller does: {names}"
    findings = ", ".join(
        f"{r.get('ruleConfigurationName')} {r.get('ruleEvaluationStatus')}"
        + (f" ({str(r['statusDetails']).strip()})" if r.get("statusDetails") else "")
        for _, r in rule_evaluations(obj)
    )
    return f"rule evaluations finished: {findings}"


def _outputs(obj: dict[str, Any]) -> dict[str, Any]:
    status = obj.get("status") or {}
    return {
        "model_artifact_url": (status.get("modelArtifacts") or {}).get("s3ModelArtifacts", ""),
        "training_job_name": obj["spec"]["trainingJobName"],
        "training_job_arn": arn_of(obj),
        # ACK v1.9.1's TrainingJob status does not carry FinalMetricDataList; the debugger and
        # profiler rule results are the metrics-like data it does expose.
        "final_metrics": {
            "debugRuleEvaluationStatuses": status.get("debugRuleEvaluationStatuses") or [],
            "profilerRuleEvaluationStatuses": status.get("profilerRuleEvaluationStatuses") or [],
        },
        # Each rule's final evaluation status, e.g. {"LossNotDecreasing": "NoIssuesFound"}.
        "rule_evaluations": {
            str(r.get("ruleConfigurationName")): r.get("ruleEvaluationStatus")
            for r in (status.get("debugRuleEvaluationStatuses") or []) + (status.get("profilerRuleEvaluationStatuses") or [])
        },
        "status": status,
    }


RULES = KindRules(
    kind="TrainingJob",
    name_prefix="training",
    status_field="trainingJobStatus",
    success=frozenset({"Completed"}),
    secondary_field="secondaryStatus",
    console_fragment="jobs/{name}",
    log_group="/aws/sagemaker/TrainingJobs",
    log_streams="job",
    outputs=_outputs,
    judge_extra=_judge,
    progress_note=_note,
    # The fields ACK v1.9.1 late-initializes on a TrainingJob (its generator.yaml) whose value
    # DescribeTrainingJob is known to report when CreateTrainingJob left them out: the flags as
    # false and KmsKeyId as "" (seen in real responses), CompressionType as its documented GZIP.
    # Without them, a throttled Describe right after create makes the controller's next sync see
    # a spec change, call its update hook and mark the resource ACK.Terminal "only Warm Pool or
    # Profiler can be updated", while the SageMaker job runs on untracked. Left out on purpose:
    # resourceConfig.instanceCount (the user gives it) and
    # algorithmSpecification.enableSageMakerMetricsTimeSeries, which SageMaker may report as true
    # for built-in algorithms that meter anyway; a wrong guess here would make every job's spec
    # differ from SageMaker's, so the README asks users to set it for full protection.
    service_defaults={
        "enableInterContainerTrafficEncryption": False,
        "enableManagedSpotTraining": False,
        "enableNetworkIsolation": False,
        "outputDataConfig.compressionType": "GZIP",
        "outputDataConfig.kmsKeyID": "",
    },
    terminal_hints={
        "only Warm Pool or Profiler can be updated": skipped_late_initialization_hint(
            "training job", avoid="set algorithm_specification's enableSageMakerMetricsTimeSeries explicitly"
        ),
    },
)
