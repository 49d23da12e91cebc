"""MonitoringSchedule and the four monitoring job definitions.

A schedule is done once Scheduled (and can be updated in place: SageMaker has
UpdateMonitoringSchedule). Job definitions are done once synced; SageMaker cannot update a job
definition, so a different one under the same name is refused with a hint to use a new name.
"""

from __future__ import annotations

from typing import Any

from sagemaker_ack_kfp.completion import KindRules, arn_of


def _schedule_outputs(obj: dict[str, Any]) -> dict[str, Any]:
    return {"monitoring_schedule_name": obj["spec"]["monitoringScheduleName"], "monitoring_schedule_arn": arn_of(obj)}


def _definition_outputs(obj: dict[str, Any]) -> dict[str, Any]:
    return {"job_definition_name": obj["spec"]["jobDefinitionName"], "job_definition_arn": arn_of(obj)}


MONITORING_SCHEDULE = KindRules(
    kind="MonitoringSchedule",
    name_prefix="schedule",
    status_field="monitoringScheduleStatus",
    success=frozenset({"Scheduled"}),
    failure=frozenset({"Failed"}),
    stop_on_cancel=False,
    console_fragment="monitoring-schedules/{name}",
    outputs=_schedule_outputs,
    on_conflict="update",
)


def _definition(kind: str, prefix: str) -> KindRules:
    return KindRules(kind=kind, name_prefix=prefix, stop_on_cancel=False, outputs=_definition_outputs)


DATA_QUALITY = _definition("DataQualityJobDefinition", "data-quality")
MODEL_BIAS = _definition("ModelBiasJobDefinition", "model-bias")
MODEL_EXPLAINABILITY = _definition("ModelExplainabilityJobDefinition", "model-explainability")
MODEL_QUALITY = _definition("ModelQualityJobDefinition", "model-quality")
