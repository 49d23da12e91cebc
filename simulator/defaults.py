"""Members SageMaker fills in when a Create request leaves them out.

Real Describe* responses report these with SageMaker's defaults (flags as
`false`, `CompressionType` as `GZIP` or `None`, an empty `KmsKeyId`, ...).  The
ACK controller late-initializes exactly these spec fields from Describe and,
while any of them is missing, keeps the resource `ACK.LateInitialized=False`
and `ACK.ResourceSynced=False` forever (see `incompleteLateInitialization` in
the controller's `pkg/resource/<kind>/manager.go`).

The defaults are added to the Describe output only; the stored request is left
as sent, so what the simulator does with it (metric names, children of a
tuning job) does not change.  A member the request did set is echoed as sent.
"""

from __future__ import annotations

import re
from typing import Any, Mapping

from . import sampling

Body = dict[str, Any]

# Flags SageMaker reports as false when they were not requested.
_TRAINING_FLAGS = ("EnableInterContainerTrafficEncryption", "EnableManagedSpotTraining", "EnableNetworkIsolation")
_NUMBER = r"([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?)"


def training_job(out: Body) -> Body:
    """DescribeTrainingJob."""
    _fill(out, {flag: False for flag in _TRAINING_FLAGS})
    _fill_member(out, "AlgorithmSpecification", {"EnableSageMakerMetricsTimeSeries": False})
    _fill_member(out, "OutputDataConfig", {"CompressionType": "GZIP", "KmsKeyId": ""})
    _fill_member(out, "ResourceConfig", {"InstanceCount": _instance_count(out.get("ResourceConfig"))})
    return out


def tuning_job(out: Body) -> Body:
    """DescribeHyperParameterTuningJob: every training job definition, single or listed."""
    config = out.get("HyperParameterTuningJobConfig") or {}
    objective = (config.get("HyperParameterTuningJobObjective") or {}).get("MetricName")
    if isinstance(out.get("TrainingJobDefinition"), dict):
        out["TrainingJobDefinition"] = _tuning_definition(out["TrainingJobDefinition"], objective)
    if isinstance(out.get("TrainingJobDefinitions"), list):
        out["TrainingJobDefinitions"] = [
            _tuning_definition(d, objective) if isinstance(d, dict) else d for d in out["TrainingJobDefinitions"]]
    return out


def model(out: Body) -> Body:
    """DescribeModel."""
    return _fill(out, {"EnableNetworkIsolation": False})


def endpoint_config(out: Body) -> Body:
    """DescribeEndpointConfig."""
    return _fill(out, {"EnableNetworkIsolation": False})


def model_package(out: Body) -> Body:
    """DescribeModelPackage: CertifyForMarketplace, which ACK late-initializes."""
    return _fill(out, {"CertifyForMarketplace": False})


def labeling_job(out: Body) -> Body:
    """DescribeLabelingJob: the four members ACK late-initializes. A task stays available for
    6 hours by default on the public (Mechanical Turk) workforce, 30 days on a private or vendor
    one (HumanTaskConfig.TaskAvailabilityLifetimeInSeconds); 1000 objects at once by default."""
    task = out.get("HumanTaskConfig")
    if isinstance(task, dict):
        public = "/public-crowd/" in str(task.get("WorkteamArn") or "")
        out["HumanTaskConfig"] = _fill(dict(task), {
            "MaxConcurrentTaskCount": 1000,
            "TaskAvailabilityLifetimeInSeconds": 21600 if public else 2592000,
        })
    _fill_member(out, "OutputConfig", {"KmsKeyId": ""})
    _fill_member(out, "LabelingJobAlgorithmsConfig", {"LabelingJobResourceConfig": {}})
    return out


def transform_job(out: Body) -> Body:
    """DescribeTransformJob."""
    _fill_member(out, "TransformInput", {"CompressionType": "None", "SplitType": "None"})
    return out


def metric_definitions(definition: Mapping[str, Any], objective: str | None) -> list[Body]:
    """What SageMaker reports for a built-in algorithm's metrics: one definition for every
    metric the simulated training jobs emit (see `sampling.metric_names`), the objective included."""
    names = sampling.metric_names(
        {"HyperParameters": definition.get("StaticHyperParameters") or {}}, objective)
    return [{"Name": name, "Regex": _regex(name)} for name in names]


def _tuning_definition(definition: Body, objective: str | None) -> Body:
    definition = dict(definition)
    _fill(definition, {flag: False for flag in _TRAINING_FLAGS})
    _fill_member(definition, "ResourceConfig", {"InstanceCount": _instance_count(definition.get("ResourceConfig"))})
    algorithm = definition.get("AlgorithmSpecification")
    if isinstance(algorithm, dict) and not algorithm.get("MetricDefinitions"):
        own = (definition.get("TuningObjective") or {}).get("MetricName") or objective
        definition["AlgorithmSpecification"] = {**algorithm, "MetricDefinitions": metric_definitions(definition, own)}
    return definition


def _instance_count(resource_config: Any) -> int:
    # With InstanceGroups (a heterogeneous cluster) the request carries no InstanceCount;
    # the controller only needs the member present, so report 0 rather than invent a size.
    if isinstance(resource_config, dict) and resource_config.get("InstanceGroups"):
        return 0
    return 1


def _regex(name: str) -> str:
    # Built-in algorithms log "<channel>-<metric>:<value>" (XGBoost) or "<channel> <metric> <loss>=<value>" (k-means).
    channel, _, metric = name.partition(":")
    if not metric:
        return re.escape(name) + r"\s*[=:]\s*" + _NUMBER
    return rf".*{re.escape(channel)}[-: ]{re.escape(metric)}[^=:]*[=:]\s*{_NUMBER}"


def _fill(body: Body, defaults: Mapping[str, Any]) -> Body:
    for key, value in defaults.items():
        if body.get(key) is None:
            body[key] = value
    return body


def _fill_member(body: Body, member: str, defaults: Mapping[str, Any]) -> None:
    """Fill a nested structure, if present, on a copy: Describe output shares it with the stored request."""
    value = body.get(member)
    if isinstance(value, dict):
        body[member] = _fill(dict(value), defaults)
