"""InferenceComponent: a model deployed onto a variant of an in-service endpoint.

Creating for two phases, then InService (or Failed).  An update is Updating for
two phases, then InService on the new specification; if the new model carries
`sim/fail-reason`, SageMaker rolls the update back: InService on the old
specification with FailureReason set, which is what the controller's
"InferenceComponentUpdateError" logic looks for.  Delete is Deleting for one
phase.  Describe reports SageMaker's summary shapes, not the request: the
specification's container as a DeployedImage, and the runtime config as
desired and current copy counts.
"""

from __future__ import annotations

from typing import Any

from . import kinds
from .calls import Body, Call, Handler, new_resource, store, ts
from .errors import validation
from .hosting import resolved_image
from .resource import Resource
from .timeline import GONE, Step, Timeline
from .validation import check_present

INFO = kinds.INFERENCE_COMPONENT
DEPLOY_PHASES = 2


def create(call: Call, body: Body) -> Body:
    component = new_resource(call, INFO, body, ["InferenceComponentName", "EndpointName", "Specification"])
    endpoint = _endpoint(call, str(body["EndpointName"]))
    variant = body.get("VariantName") or _variants(call, endpoint)[0]
    if variant not in _variants(call, endpoint):
        raise validation(f"Variant {variant} does not exist on endpoint {endpoint.arn}.")
    reason = _check_specification(call, body["Specification"]) or component.injection.fail_reason
    component.spec["VariantName"] = variant
    component.extra["endpoint_arn"] = endpoint.arn
    start, done = call.now, call.now + DEPLOY_PHASES * component.phase_seconds
    deployed = _summary(body["Specification"], body.get("RuntimeConfig"), current=0, at=start)
    finish = (Step(done, "Failed", changes={"FailureReason": reason}) if reason
              else Step(done, "InService", changes=_summary(body["Specification"], body.get("RuntimeConfig"), at=done)))
    component.timeline = Timeline([Step(start, "Creating", changes=deployed), finish])
    return store(call, component)


def describe(call: Call, body: Body) -> Body:
    component = call.get(INFO, body)
    assert component.timeline is not None
    return {
        "InferenceComponentName": component.name,
        "InferenceComponentArn": component.arn,
        "EndpointName": component.spec["EndpointName"],
        "EndpointArn": component.extra["endpoint_arn"],
        "VariantName": component.spec["VariantName"],
        "CreationTime": ts(component.created),
        "LastModifiedTime": ts(component.last_modified(call.now)),
        "InferenceComponentStatus": component.status(call.now),
        **component.timeline.fields(call.now),
    }


def update(call: Call, body: Body) -> Body:
    component = call.get(INFO, body)
    status = component.status(call.now)
    if status != "InService":
        raise validation(f'Cannot update inference component "{component.arn}" while it is {status}.')
    specification = body.get("Specification") or component.spec["Specification"]
    runtime = body.get("RuntimeConfig") or component.spec.get("RuntimeConfig")
    reason = _check_specification(call, specification)
    assert component.timeline is not None
    current = component.timeline.fields(call.now)
    old_count = (current.get("RuntimeConfig") or {}).get("CurrentCopyCount", 0)
    start, done = call.now, call.now + DEPLOY_PHASES * component.phase_seconds
    updating = {"RuntimeConfig": {"DesiredCopyCount": _copies(runtime), "CurrentCopyCount": old_count}}
    if reason:
        # SageMaker rolls back: InService on the old specification, FailureReason says why.
        finish = Step(done, "InService", changes={"FailureReason": reason, "RuntimeConfig": current.get("RuntimeConfig")})
    else:
        finish = Step(done, "InService", changes={**_summary(specification, runtime, at=done), "FailureReason": None})
        component.spec.update(Specification=specification, RuntimeConfig=runtime)
    component.timeline.replace_future(call.now, [Step(start, "Updating", changes=updating), finish])
    component.modified = call.now
    return {INFO.arn_field: component.arn}


def delete(call: Call, body: Body) -> Body:
    component = call.get(INFO, body)
    assert component.timeline is not None
    if component.status(call.now) != "Deleting":
        gone = call.now + component.phase_seconds
        component.timeline.replace_future(call.now, [Step(call.now, "Deleting"), Step(gone, GONE)])
    return {}


def list_components(call: Call, body: Body) -> Body:
    endpoint = body.get("EndpointNameEquals")
    summaries = [
        {"InferenceComponentName": c.name, "InferenceComponentArn": c.arn, "EndpointName": c.spec["EndpointName"],
         "EndpointArn": c.extra["endpoint_arn"], "VariantName": c.spec["VariantName"],
         "InferenceComponentStatus": c.status(call.now), "CreationTime": ts(c.created),
         "LastModifiedTime": ts(c.last_modified(call.now))}
        for c in sorted(call.state.resources(INFO.kind), key=lambda c: (c.created, c.name))
        if c.region == call.region and (not endpoint or c.spec["EndpointName"] == endpoint)
    ]
    return {"InferenceComponents": summaries}


def _endpoint(call: Call, name: str) -> Resource:
    endpoint = call.state.get(kinds.ENDPOINT, call.region, name)
    status = endpoint.status(call.now)
    if status != "InService":
        raise validation(f'Endpoint "{endpoint.arn}" is in {status} status; inference components need an InService endpoint.')
    return endpoint


def _variants(call: Call, endpoint: Resource) -> list[str]:
    config = call.state.find(kinds.ENDPOINT_CONFIG, call.region, str(endpoint.spec.get("EndpointConfigName") or ""))
    variants = (config.spec.get("ProductionVariants") if config else None) or []
    return [str(v.get("VariantName")) for v in variants] or ["AllTraffic"]


def _check_specification(call: Call, specification: Any) -> str | None:
    """Validate a specification; return the failure its model was tagged to cause, if any."""
    if not isinstance(specification, dict):
        raise validation("Specification must be a structure.")
    model_name = specification.get("ModelName")
    if not model_name and not (specification.get("Container") or {}).get("Image"):
        raise validation("Specification must name a ModelName or give a Container with an Image.")
    if specification.get("ComputeResourceRequirements"):
        check_present(specification["ComputeResourceRequirements"], ["MinMemoryRequiredInMb"],
                      "specification.computeResourceRequirements")
    if not model_name:
        return None
    return call.state.get(kinds.MODEL, call.region, str(model_name)).injection.fail_reason


def _copies(runtime: Any) -> int:
    return int((runtime or {}).get("CopyCount") or 1)


def _summary(specification: Body, runtime: Any, *, at: float, current: int | None = None) -> Body:
    """Describe's InferenceComponentSpecificationSummary and RuntimeConfigSummary."""
    summary = {k: v for k, v in specification.items() if k != "Container"}
    container = specification.get("Container")
    if container:
        shown: Body = {k: v for k, v in container.items() if k in ("ArtifactUrl", "Environment")}
        if container.get("Image"):
            shown["DeployedImage"] = {"SpecifiedImage": container["Image"], "ResolvedImage": resolved_image(container["Image"]),
                                      "ResolutionTime": ts(at)}
        summary["Container"] = shown
    copies = _copies(runtime)
    return {"Specification": summary,
            "RuntimeConfig": {"DesiredCopyCount": copies, "CurrentCopyCount": copies if current is None else current}}


OPERATIONS: dict[str, Handler] = {
    "CreateInferenceComponent": create,
    "DescribeInferenceComponent": describe,
    "UpdateInferenceComponent": update,
    "DeleteInferenceComponent": delete,
    "ListInferenceComponents": list_components,
}
