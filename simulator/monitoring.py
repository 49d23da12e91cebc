"""MonitoringSchedule and the four monitoring job definitions.

Job definitions exist as soon as they are created.  A schedule is Pending for
one phase after each create or update, then Scheduled (or Failed); the
controller refuses to modify or delete it while Pending.
"""

from __future__ import annotations

from typing import Any

from . import kinds
from .calls import Body, Call, Handler, echo, new_resource, store
from .errors import validation
from .kinds import KindInfo
from .resource import Resource
from .timeline import Step, Timeline
from .validation import check_present

SCHEDULE = kinds.MONITORING_SCHEDULE
# MonitoringType -> job definition kind; member names in the API derive from the prefix.
DEFINITIONS: dict[str, KindInfo] = {
    "DataQuality": kinds.DATA_QUALITY_JOB_DEFINITION,
    "ModelBias": kinds.MODEL_BIAS_JOB_DEFINITION,
    "ModelExplainability": kinds.MODEL_EXPLAINABILITY_JOB_DEFINITION,
    "ModelQuality": kinds.MODEL_QUALITY_JOB_DEFINITION,
}


# Job definitions -------------------------------------------------------------------

def _definition_operations(prefix: str, info: KindInfo) -> dict[str, Handler]:
    required = ["JobDefinitionName", f"{prefix}AppSpecification", f"{prefix}JobInput",
                f"{prefix}JobOutputConfig", "JobResources", "RoleArn"]

    def create(call: Call, body: Body) -> Body:
        return store(call, new_resource(call, info, body, required))

    def describe(call: Call, body: Body) -> Body:
        return echo(call.get(info, body), call.now, with_modified=False)

    def delete(call: Call, body: Body) -> Body:
        call.state.remove(call.get(info, body))
        return {}

    return {f"Create{info.kind}": create, f"Describe{info.kind}": describe, f"Delete{info.kind}": delete}


# Schedules -------------------------------------------------------------------------

def create_schedule(call: Call, body: Body) -> Body:
    schedule = new_resource(call, SCHEDULE, body, ["MonitoringScheduleName", "MonitoringScheduleConfig"])
    schedule.timeline = Timeline(_pending_then_scheduled(schedule, call.now))
    return store(call, schedule)


def describe_schedule(call: Call, body: Body) -> Body:
    schedule = call.get(SCHEDULE, body)
    out = echo(schedule, call.now)
    monitoring_type = _monitoring_type(schedule)
    out.update(MonitoringScheduleStatus=schedule.status(call.now), MonitoringType=monitoring_type)
    endpoint = _endpoint_name(call, schedule, monitoring_type)
    if endpoint:
        out["EndpointName"] = endpoint
    return out


def update_schedule(call: Call, body: Body) -> Body:
    schedule = call.get(SCHEDULE, body)
    if schedule.status(call.now) == "Pending":
        raise validation(f"Monitoring schedule {schedule.name} is in Pending state and cannot be updated.")
    check_present(body, ["MonitoringScheduleConfig"])
    schedule.spec["MonitoringScheduleConfig"] = body["MonitoringScheduleConfig"]
    schedule.modified = call.now
    assert schedule.timeline is not None
    schedule.timeline.replace_future(call.now, _pending_then_scheduled(schedule, call.now))
    return {SCHEDULE.arn_field: schedule.arn}


def delete_schedule(call: Call, body: Body) -> Body:
    call.state.remove(call.get(SCHEDULE, body))
    return {}


def _pending_then_scheduled(schedule: Resource, start: float) -> list[Step]:
    ready = start + schedule.phase_seconds
    reason = schedule.injection.fail_reason
    last = (Step(ready, "Failed", changes={"FailureReason": reason}) if reason
            else Step(ready, "Scheduled", changes={"FailureReason": None}))
    return [Step(start, "Pending"), last]


def _monitoring_type(schedule: Resource) -> str:
    return (schedule.spec.get("MonitoringScheduleConfig") or {}).get("MonitoringType") or "DataQuality"


def _endpoint_name(call: Call, schedule: Resource, monitoring_type: str) -> str | None:
    """The monitored endpoint, from an inline job definition or the named one."""
    config: dict[str, Any] = schedule.spec.get("MonitoringScheduleConfig") or {}
    inline = config.get("MonitoringJobDefinition") or {}
    for monitoring_input in inline.get("MonitoringInputs") or []:
        name = (monitoring_input.get("EndpointInput") or {}).get("EndpointName")
        if name:
            return str(name)
    info = DEFINITIONS.get(monitoring_type)
    definition_name = config.get("MonitoringJobDefinitionName")
    if info is None or not definition_name:
        return None
    definition = call.state.find(info, call.region, definition_name)
    if definition is None:
        return None
    job_input = definition.spec.get(f"{monitoring_type}JobInput") or {}
    name = (job_input.get("EndpointInput") or {}).get("EndpointName")
    return str(name) if name else None


OPERATIONS: dict[str, Handler] = {
    "CreateMonitoringSchedule": create_schedule,
    "DescribeMonitoringSchedule": describe_schedule,
    "UpdateMonitoringSchedule": update_schedule,
    "DeleteMonitoringSchedule": delete_schedule,
}
for _prefix, _info in DEFINITIONS.items():
    OPERATIONS.update(_definition_operations(_prefix, _info))
