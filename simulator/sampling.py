"""Deterministic stand-ins for what real training produces: metric values and
tuned hyperparameters.  Same inputs, same numbers, on every run and machine."""

from __future__ import annotations

import hashlib
import math
import random
from typing import Any, Mapping

DEFAULT_METRIC = "train:loss"

# Metric names that read as "lower is better", so their simulated values look like losses.
_LOSS_WORDS = ("loss", "error", "rmse", "mse", "mae", "logloss")


def _seed(*parts: object) -> int:
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big")


def short_hash(*parts: object) -> str:
    return f"{_seed(*parts) & 0xFFFFFFFF:08x}"


def metric_value(metric: str, hyperparameters: Mapping[str, str]) -> float:
    """A plausible value for `metric` that depends only on the metric and the hyperparameters."""
    unit = random.Random(_seed(metric, sorted(hyperparameters.items()))).random()
    if any(word in metric.lower() for word in _LOSS_WORDS):
        return round(0.05 + 0.45 * unit, 6)
    return round(0.70 + 0.29 * unit, 6)


def metric_names(spec: Mapping[str, Any], objective: str | None = None) -> list[str]:
    """Metrics a job reports: its declared metric definitions, else a built-in style name."""
    algorithm = spec.get("AlgorithmSpecification") or {}
    names = [m["Name"] for m in algorithm.get("MetricDefinitions") or [] if m.get("Name")]
    if not names:
        eval_metric = (spec.get("HyperParameters") or {}).get("eval_metric")
        names = [f"train:{eval_metric}", f"validation:{eval_metric}"] if eval_metric else [DEFAULT_METRIC]
    if objective and objective not in names:
        names.append(objective)
    return names


def tuned_hyperparameters(ranges: Mapping[str, Any], *seed: object) -> dict[str, str]:
    """Pick one value from every parameter range, reproducibly for a given seed."""
    rng = random.Random(_seed(*seed))
    picked: dict[str, str] = {}
    for r in ranges.get("IntegerParameterRanges") or []:
        value = _between(rng, int(r["MinValue"]), int(r["MaxValue"]), r.get("ScalingType"))
        picked[r["Name"]] = str(round(value))
    for r in ranges.get("ContinuousParameterRanges") or []:
        value = _between(rng, float(r["MinValue"]), float(r["MaxValue"]), r.get("ScalingType"))
        picked[r["Name"]] = f"{value:.6g}"
    for r in ranges.get("CategoricalParameterRanges") or []:
        if r.get("Values"):
            picked[r["Name"]] = str(rng.choice(r["Values"]))
    return picked


def _between(rng: random.Random, low: float, high: float, scaling: str | None) -> float:
    if high < low:
        low, high = high, low
    if scaling in ("Logarithmic", "ReverseLogarithmic") and low > 0:
        return math.exp(rng.uniform(math.log(low), math.log(high)))
    return rng.uniform(low, high)
