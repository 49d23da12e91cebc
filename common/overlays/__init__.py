"""Per-kind overlays: the few things a kind does differently (done rules, outputs, links).

Each module defines RULES; everything else about a kind comes from its generated kind.json.
"""

from __future__ import annotations

from sagemaker_ack_kfp.completion import KindRules
from sagemaker_ack_kfp.overlays import (
    batch,
    hosting,
    hyperparameter_tuning_job,
    inference_component,
    labeling,
    monitoring,
    pipelines,
    registry,
    training_job,
)

_ALL: dict[str, KindRules] = {
    rules.kind: rules
    for rules in (
        training_job.RULES,
        hyperparameter_tuning_job.RULES,
        hosting.MODEL,
        hosting.ENDPOINT_CONFIG,
        hosting.ENDPOINT,
        batch.TRANSFORM_JOB,
        batch.PROCESSING_JOB,
        monitoring.MONITORING_SCHEDULE,
        monitoring.DATA_QUALITY,
        monitoring.MODEL_BIAS,
        monitoring.MODEL_EXPLAINABILITY,
        monitoring.MODEL_QUALITY,
        registry.MODEL_PACKAGE_GROUP,
        registry.MODEL_PACKAGE,
        inference_component.RULES,
        labeling.RULES,
        pipelines.PIPELINE,
        pipelines.PIPELINE_EXECUTION,
    )
}


def rules_for(kind: str) -> KindRules:
    try:
        return _ALL[kind]
    except KeyError:
        raise KeyError(f"no overlay for kind {kind!r}; supported: {', '.join(sorted(_ALL))}") from None


def supported_kinds() -> list[str]:
    return sorted(_ALL)
