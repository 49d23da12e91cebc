"""InferenceComponent: a model deployed onto an existing endpoint. Like an Endpoint it is done
when InService and synced, it is updated in place (the way users roll out a new model or scale
the copy count), and a step never deletes it on cancel unless `delete_on_cancel` asks.

The ACK controller records the spec of each update it started (tags left out) in the annotation
`sagemaker.services.k8s.aws/last-spec-for-update` (pkg/resource/inference_component/hooks.go).
When SageMaker rolls a failed update back it reports a FailureReason, and the controller's next
sync refuses to retry that same spec: ACK.Terminal "InferenceComponentUpdateError" and
ACK.ResourceSynced False. So an update is done when that annotation holds the step's spec and a
Synced condition newer than the step's change says InService without a failure reason; it failed
when the annotation holds the step's spec and SageMaker reports it InService again with a
FailureReason. (Condition times have a resolution of one second: a rollout that ended in the very
second the step changed the spec could pass for the answer. A step is a pod of its own, started
seconds after the one before it.)

Only the specification and runtime_config can change: UpdateInferenceComponent takes nothing else,
so a different endpoint or variant is refused rather than left unapplied.
"""

from __future__ import annotations

import json
from typing import Any

from sagemaker_ack_kfp.completion import (
    SYNCED,
    TERMINAL,
    Expectation,
    KindRules,
    Phase,
    Verdict,
    arn_of,
    conditions,
    fresh,
    recoverable_message,
)

LAST_SPEC_ANNOTATION = "sagemaker.services.k8s.aws/last-spec-for-update"


def _outputs(obj: dict[str, Any]) -> dict[str, Any]:
    spec = obj["spec"]
    return {
        "inference_component_name": spec["inferenceComponentName"],
        "inference_component_arn": arn_of(obj),
        "endpoint_name": spec.get("endpointName") or (obj.get("status") or {}).get("endpointName", ""),
        "status": obj.get("status") or {},
    }


def _pruned(value: Any) -> Any:
    """JSON without nulls: the controller's Go structs omit empty fields when they serialize."""
    if isinstance(value, dict):
        return {key: _pruned(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_pruned(item) for item in value]
    return value


def last_update_spec(obj: dict[str, Any]) -> dict[str, Any] | None:
    """The spec the controller last sent to UpdateInferenceComponent, if it recorded one."""
    raw = ((obj.get("metadata") or {}).get("annotations") or {}).get(LAST_SPEC_ANNOTATION)
    if not raw:
        return None
    try:
        parsed = json.loads(raw)
    except ValueError:
        return None
    return _pruned(parsed) if isinstance(parsed, dict) else None


def _without_tags(spec: dict[str, Any]) -> dict[str, Any]:
    return _pruned({key: value for key, value in spec.items() if key != "tags"})


def judge_inference_component(obj: dict[str, Any], expectation: Expectation) -> Verdict | None:
    status = obj.get("status") or {}
    conds = conditions(obj)
    synced = conds.get(SYNCED) or {}
    terminal = conds.get(TERMINAL) or {}
    component_status = status.get("inferenceComponentStatus")
    reason = str(status.get("failureReason") or "")

    if not expectation.updated:
        if component_status == "Failed":
            return Verdict(Phase.FAILED, reason=f"inference component Failed: {reason or 'no reason given'}")
        return None  # the generic rules: InService, ACK.Terminal, a persistent ACK.Recoverable

    spec = obj.get("spec") or {}
    ours = _without_tags(expectation.spec)
    applied = all(spec.get(key) == value for key, value in ours.items())
    started = applied and last_update_spec(obj) == _without_tags(spec)
    if not started:
        if component_status == "Failed" and terminal.get("status") == "True":  # refused before it was sent
            return Verdict(Phase.FAILED, reason=f"inference component Failed, it cannot be updated: {reason or 'no reason given'}")
        return Verdict(Phase.WAITING, recoverable=recoverable_message(obj))
    # The controller writes the annotation and the status in two requests: a snapshot in between
    # pairs our annotation with the old status, so only a Synced condition newer than our change
    # answers it (like an endpoint's; ACK's Terminal condition carries no time at all).
    if not fresh(synced, expectation) or component_status in ("Updating", "Creating"):
        return Verdict(Phase.WAITING, recoverable=recoverable_message(obj))
    if component_status == "Failed":
        return Verdict(Phase.FAILED, reason=f"inference component Failed: {reason or 'no reason given'}")
    if component_status == "InService":
        if reason:  # SageMaker rolled the update back
            return Verdict(Phase.FAILED, reason=f"the update of the inference component failed: {reason}")
        if synced.get("status") == "True":
            return Verdict(Phase.SUCCEEDED)
    if terminal.get("status") == "True":
        return Verdict(Phase.FAILED, reason=f"ACK.Terminal: {terminal.get('message') or ''}".strip())
    return Verdict(Phase.WAITING, recoverable=recoverable_message(obj))


RULES = KindRules(
    kind="InferenceComponent",
    name_prefix="inference",
    status_field="inferenceComponentStatus",
    success=frozenset({"InService"}),
    failure=frozenset({"Failed"}),
    stop_on_cancel=False,
    delete_on_cancel_switch=True,
    outputs=_outputs,
    judge_extra=judge_inference_component,
    on_conflict="update",
    updatable_fields=frozenset({"specification", "runtimeConfig"}),
    required_fields={
        "variantName": (
            "SageMaker reports the variant it chose, and ACK v1.9.1 takes a spec without one for a change, "
            "updating the inference component on every sync; give the endpoint's variant (e.g. 'AllTraffic')"
        ),
    },
)
