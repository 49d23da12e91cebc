"""Model, EndpointConfig and Endpoint: hosting resources. They are done when ACK has synced
them, and a step never deletes them on cancel (an evicted pod must not take a live endpoint down)
unless the user asks with `delete_on_cancel`.

An Endpoint that already exists is updated to the step's endpoint config: the way users roll out
a new model. The ACK controller records the config of each update it started in the annotation
`sagemaker.services.k8s.aws/last-endpoint-config-for-update` (pkg/resource/endpoint/hooks.go), and
when SageMaker rolls a failed update back it keeps ACK.ResourceSynced False with an
"EndpointUpdateError" message naming the config still in service. So an update is done when that
annotation names the new config, the endpoint is InService and ACK says it is synced; it failed
when the same annotation is there and SageMaker reported a failureReason.
"""

from __future__ import annotations

import re
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

LAST_UPDATE_ANNOTATION = "sagemaker.services.k8s.aws/last-endpoint-config-for-update"
_LATEST_CONFIG = re.compile(r"latest EndpointConfigName is (\S+)")


def _model_outputs(obj: dict[str, Any]) -> dict[str, Any]:
    return {"model_name": obj["spec"]["modelName"], "model_arn": arn_of(obj)}


def _endpoint_config_outputs(obj: dict[str, Any]) -> dict[str, Any]:
    return {"endpoint_config_name": obj["spec"]["endpointConfigName"], "endpoint_config_arn": arn_of(obj)}


def _endpoint_outputs(obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "endpoint_name": obj["spec"]["endpointName"],
        "endpoint_arn": arn_of(obj),
        "endpoint_config_name": obj["spec"]["endpointConfigName"],
        "status": obj.get("status") or {},
    }


def judge_endpoint(obj: dict[str, Any], expectation: Expectation) -> Verdict | None:
    """Judges an endpoint completely, ACK.Terminal included: the controller marks a rolled-back
    update terminal ("EndpointUpdateError"), and its reason is SageMaker's failureReason."""
    status = obj.get("status") or {}
    conds = conditions(obj)
    synced = conds.get(SYNCED) or {}
    terminal = conds.get(TERMINAL) or {}
    wanted = expectation.spec.get("endpointConfigName")
    annotations = (obj.get("metadata") or {}).get("annotations") or {}
    last_update = annotations.get(LAST_UPDATE_ANNOTATION)
    endpoint_status = status.get("endpointStatus")
    reason = status.get("failureReason") or ""

    if endpoint_status == "Failed":
        return Verdict(Phase.FAILED, reason=f"endpoint Failed: {reason or 'no reason given'}")
    # Waiting, but a controller that keeps retrying (ACK.Recoverable) is timed by the runner.
    waiting = Verdict(Phase.WAITING, recoverable=recoverable_message(obj))
    if expectation.updated and last_update != wanted:
        return waiting  # the controller has not started our update yet
    # The controller writes the annotation and the status in two requests: a snapshot in between
    # pairs our annotation with the old status, so after an update only a Synced condition that
    # changed since then counts, for success and failure alike (after an update that SageMaker
    # rolled back, the old failureReason and ACK.Terminal stay until the controller takes the
    # next update on). ACK's Terminal condition carries no time of its own.
    answered = fresh(synced, expectation)
    # Rolled back: InService again (not Updating) on the old config, with SageMaker's reason.
    update_refused = endpoint_status == "InService" and (synced.get("status") == "False" or terminal.get("status") == "True")
    if last_update == wanted and reason and update_refused and answered:
        still = _LATEST_CONFIG.search(f"{synced.get('message') or ''} {terminal.get('message') or ''}")
        serving = f"; the endpoint still serves endpoint config {still.group(1)}" if still else ""
        return Verdict(Phase.FAILED, reason=f"the update to endpoint config {wanted} failed: {reason}{serving}")
    if (
        endpoint_status == "InService"
        and synced.get("status") == "True"
        and answered
        and obj["spec"].get("endpointConfigName") == wanted
    ):
        return Verdict(Phase.SUCCEEDED)
    if terminal.get("status") == "True" and answered:
        return Verdict(Phase.FAILED, reason=f"ACK.Terminal: {terminal.get('message') or reason}")
    return waiting


MODEL = KindRules(
    kind="Model",
    name_prefix="model",
    stop_on_cancel=False,
    console_fragment="models/{name}",
    outputs=_model_outputs,
)

ENDPOINT_CONFIG = KindRules(
    kind="EndpointConfig",
    name_prefix="endpoint-config",
    stop_on_cancel=False,
    console_fragment="endpointConfig/{name}",
    outputs=_endpoint_config_outputs,
)

ENDPOINT = KindRules(
    kind="Endpoint",
    name_prefix="endpoint",
    status_field="endpointStatus",
    success=frozenset({"InService"}),
    stop_on_cancel=False,
    delete_on_cancel_switch=True,
    console_fragment="endpoints/{name}",
    log_group="/aws/sagemaker/Endpoints",
    outputs=_endpoint_outputs,
    judge_extra=judge_endpoint,
    on_conflict="update",
)
