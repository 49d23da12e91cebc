"""Deterministic, SageMaker-valid names and the labels that let `kubectl get -l` find a run's jobs."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from sagemaker_ack_kfp.identity import StepIdentity

LABEL_PREFIX = "sagemaker-ack-kfp.io"
RUN_LABEL = f"{LABEL_PREFIX}/run-id"
TASK_LABEL = f"{LABEL_PREFIX}/task"
SPEC_HASH_ANNOTATION = f"{LABEL_PREFIX}/spec-hash"
TASK_ANNOTATION = f"{LABEL_PREFIX}/task"

# SageMaker's name rule; the Kubernetes object name is the same string lowercased.
SAGEMAKER_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")


def sagemaker_name(max_length: int = 63) -> re.Pattern[str]:
    """SageMaker's name rule for a kind whose names may have up to `max_length` characters."""
    return SAGEMAKER_NAME if max_length == 63 else re.compile(rf"^[a-zA-Z0-9](-*[a-zA-Z0-9]){{0,{max_length - 1}}}$")
# Hyperparameter tuning job names are limited to 32 characters; keep every generated name within it.
GENERATED_NAME_MAX = 32
_LABEL_VALUE_MAX = 63


def spec_hash(spec: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(spec, sort_keys=True, separators=(",", ":")).encode()).hexdigest()[:16]


def _slug(text: str, limit: int) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:limit].strip("-")


def generated_name(*, prefix: str, identity: StepIdentity, spec: dict[str, Any]) -> str:
    """Same run + task -> same name. Without a KFP identity, same spec -> same name, so that
    running the same step twice reattaches instead of starting a second job."""
    seed = f"{identity.run_id}/{identity.task}" if identity.known else f"spec:{spec_hash(spec)}"
    digest = hashlib.sha256(seed.encode()).hexdigest()[:10]
    task_part = _slug(identity.task.rsplit(".", 1)[-1], GENERATED_NAME_MAX - len(prefix) - len(digest) - 2)
    parts = [prefix, task_part, digest] if task_part else [prefix, digest]
    return "-".join(parts)


def object_name(sagemaker_name: str) -> str:
    """The custom resource's metadata.name for a SageMaker name (Kubernetes names are lowercase)."""
    return sagemaker_name.lower()


def label_value(text: str) -> str:
    value = re.sub(r"[^A-Za-z0-9_.-]+", "-", text)[:_LABEL_VALUE_MAX]
    return value.strip("-_.")


def labels_for(identity: StepIdentity) -> dict[str, str]:
    labels = {}
    if identity.run_id:
        labels[RUN_LABEL] = label_value(identity.run_id)
    if identity.task:
        labels[TASK_LABEL] = label_value(identity.task.rsplit(".", 1)[-1])
    return labels
