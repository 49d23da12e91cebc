"""Per-kind overlays: the few things a kind does differently (done rules, outputs, links).

Each module defines RULES; everything else about a kind comes from its generated kind.json.
"""

from __future__ import annotations

from sagemaker_ack_kfp.completion import KindRules
from sagemaker_ack_kfp.overlays import hyperparameter_tuning_job, training_job

_ALL: dict[str, KindRules] = {module.RULES.kind: module.RULES for module in (training_job, hyperparameter_tuning_job)}


def rules_for(kind: str) -> KindRules:
    try:
        return _ALL[kind]
    except KeyError:
        raise KeyError(f"no overlay for kind {kind!r}; supported: {', '.join(sorted(_ALL))}") from None


def supported_kinds() -> list[str]:
    return sorted(_ALL)
