"""Model, EndpointConfig and Endpoint: real-time hosting.

Models and endpoint configurations exist as soon as they are created.  An
endpoint is Creating for two phases, then InService (or Failed).  A failed
update leaves the endpoint InService on its old configuration with
FailureReason set, which is how SageMaker reports it and what the controller's
"EndpointUpdateError" logic looks for.

With an object store, a deployment downloads each model's data when it
completes: a missing model.tar.gz fails a new endpoint, or rolls an update
back, with SageMaker's reason.
"""

from __future__ import annotations

from collections.abc import Callable

from . import data, defaults, kinds, sampling
from .calls import Body, Call, Handler, echo, new_resource, store, ts
from .errors import validation
from .resource import Resource
from .timeline import GONE, Effect, Step, Timeline

MODEL = kinds.MODEL
CONFIG = kinds.ENDPOINT_CONFIG
ENDPOINT = kinds.ENDPOINT
DEPLOY_PHASES = 2


# Model -----------------------------------------------------------------------------

def create_model(call: Call, body: Body) -> Body:
    return store(call, new_resource(call, MODEL, body, ["ModelName"]))


def describe_model(call: Call, body: Body) -> Body:
    return defaults.model(echo(call.get(MODEL, body), call.now, with_modified=False))


def delete_model(call: Call, body: Body) -> Body:
    call.state.remove(call.get(MODEL, body))
    return {}


# EndpointConfig --------------------------------------------------------------------

def create_config(call: Call, body: Body) -> Body:
    config = new_resource(call, CONFIG, body, ["EndpointConfigName", "ProductionVariants"])
    for variant in config.spec["ProductionVariants"]:
        if variant.get("ModelName"):
            _model(call, variant["ModelName"])  # SageMaker checks models exist up front
    return store(call, config)


def describe_config(call: Call, body: Body) -> Body:
    return defaults.endpoint_config(echo(call.get(CONFIG, body), call.now, with_modified=False))


def delete_config(call: Call, body: Body) -> Body:
    call.state.remove(call.get(CONFIG, body))
    return {}


# Endpoint --------------------------------------------------------------------------

def create_endpoint(call: Call, body: Body) -> Body:
    endpoint = new_resource(call, ENDPOINT, body, ["EndpointName", "EndpointConfigName"])
    config = _config(call, body["EndpointConfigName"])
    start, done = call.now, call.now + DEPLOY_PHASES * endpoint.phase_seconds
    reason = endpoint.injection.fail_reason or config.injection.fail_reason
    download = _download_models(call, config, lambda at, why: [Step(at, "Failed", changes={"FailureReason": why})])
    finish = (Step(done, "Failed", changes={"FailureReason": reason}) if reason
              else Step(done, "InService", changes={"ProductionVariants": _variants(call, config, done)}, effect=download))
    endpoint.timeline = Timeline([
        Step(start, "Creating", changes={"EndpointConfigName": config.name}),
        finish,
    ])
    return store(call, endpoint)


def describe_endpoint(call: Call, body: Body) -> Body:
    endpoint = call.get(ENDPOINT, body)
    out = echo(endpoint, call.now)
    out["EndpointStatus"] = endpoint.status(call.now)
    return out


def update_endpoint(call: Call, body: Body) -> Body:
    endpoint = call.get(ENDPOINT, body)
    status = endpoint.status(call.now)
    if status != "InService":
        state = "failed" if status == "Failed" else "in-progress"
        raise validation(f'Cannot update {state} endpoint "{endpoint.arn}".')
    config = _config(call, body.get("EndpointConfigName") or "")
    start, done = call.now, call.now + DEPLOY_PHASES * endpoint.phase_seconds
    pending = {"EndpointConfigName": config.name, "StartTime": ts(start)}
    if config.injection.fail_reason:
        # SageMaker rolls back: still InService, old config, FailureReason explains why.
        finish = Step(done, "InService", changes={"FailureReason": config.injection.fail_reason,
                                                  "PendingDeploymentSummary": None})
    else:
        # A model whose data cannot be downloaded rolls the update back, as a failed update does.
        finish = Step(done, "InService", changes={
            "EndpointConfigName": config.name, "ProductionVariants": _variants(call, config, done),
            "FailureReason": None, "PendingDeploymentSummary": None},
            effect=_download_models(call, config, lambda at, why: [
                Step(at, "InService", changes={"FailureReason": why, "PendingDeploymentSummary": None})]))
    assert endpoint.timeline is not None
    endpoint.timeline.replace_future(call.now, [
        Step(start, "Updating", changes={"PendingDeploymentSummary": pending}), finish])
    for field in ("DeploymentConfig", "RetainAllVariantProperties", "RetainDeploymentConfig"):
        if field in body:
            endpoint.spec[field] = body[field]
    endpoint.modified = call.now
    return {ENDPOINT.arn_field: endpoint.arn}


def delete_endpoint(call: Call, body: Body) -> Body:
    endpoint = call.get(ENDPOINT, body)
    assert endpoint.timeline is not None
    if endpoint.status(call.now) != "Deleting":
        gone = call.now + endpoint.phase_seconds
        endpoint.timeline.replace_future(call.now, [Step(call.now, "Deleting"), Step(gone, GONE)])
    return {}


def _download_models(call: Call, config: Resource, fail: Callable[[float, str], list[Step]]) -> Effect | None:
    """The deployment's last step: every variant's model data must be in S3."""
    objects = call.state.objects
    if objects is None:
        return None
    models = [call.state.find(MODEL, call.region, v.get("ModelName") or "") for v in config.spec.get("ProductionVariants") or []]

    def download(step: Step) -> list[Step] | None:
        for model in models:
            missing = data.missing_model_data(objects, model.spec) if model is not None else None
            if missing:
                return fail(step.at, data.model_data_message(*missing))
        return None
    return download


def _model(call: Call, name: str) -> Resource:
    return call.state.get(MODEL, call.region, name)


def _config(call: Call, name: str) -> Resource:
    return call.state.get(CONFIG, call.region, name)


def _variants(call: Call, config: Resource, at: float) -> list[Body]:
    """ProductionVariantSummary entries as they look once a deployment has finished."""
    summaries = []
    for variant in config.spec.get("ProductionVariants") or []:
        weight = float(variant.get("InitialVariantWeight", 1.0))
        summary: Body = {"VariantName": variant.get("VariantName"), "CurrentWeight": weight, "DesiredWeight": weight}
        if "InitialInstanceCount" in variant:
            summary["CurrentInstanceCount"] = summary["DesiredInstanceCount"] = variant["InitialInstanceCount"]
        if "ServerlessConfig" in variant:
            summary["CurrentServerlessConfig"] = summary["DesiredServerlessConfig"] = variant["ServerlessConfig"]
        image = _image(call, variant.get("ModelName"))
        if image:
            summary["DeployedImages"] = [{"SpecifiedImage": image, "ResolutionTime": ts(at),
                                          "ResolvedImage": resolved_image(image)}]
        summaries.append(summary)
    return summaries


def _image(call: Call, model_name: str | None) -> str | None:
    model = call.state.find(MODEL, call.region, model_name) if model_name else None
    if model is None:
        return None
    container = model.spec.get("PrimaryContainer") or (model.spec.get("Containers") or [{}])[0]
    image = container.get("Image")
    return str(image) if image else None


def resolved_image(image: str) -> str:
    """Pin an image reference to a (fake, stable) digest, as SageMaker reports it."""
    repository, _, tag = image.rpartition(":")
    if not repository or "/" in tag:  # no tag, or the colon belonged to a registry port
        repository = image
    return f"{repository}@sha256:{sampling.short_hash(image) * 8}"


OPERATIONS: dict[str, Handler] = {
    "CreateModel": create_model,
    "DescribeModel": describe_model,
    "DeleteModel": delete_model,
    "CreateEndpointConfig": create_config,
    "DescribeEndpointConfig": describe_config,
    "DeleteEndpointConfig": delete_config,
    "CreateEndpoint": create_endpoint,
    "DescribeEndpoint": describe_endpoint,
    "UpdateEndpoint": update_endpoint,
    "DeleteEndpoint": delete_endpoint,
}
