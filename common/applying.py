"""Create the custom resource, reattach to the one this step created before a retry, or, for
kinds that are updated in place (endpoints, schedules), roll the step's spec out to it.

Create first (one request on the happy path). On 409 AlreadyExists, read the existing object:
- its spec-hash annotation matches ours: it is this step's own resource from an earlier attempt
  (or an identical one): reattach;
- it differs and the kind is updated in place: merge-patch the fields that differ, record the
  new hash and when we changed it; if a differing field is one the kind's update cannot change
  (a model package's inference specification, an inference component's endpoint), refuse;
- it differs otherwise: refuse, never touching it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from kubernetes.client.rest import ApiException

from sagemaker_ack_kfp.errors import NameConflict
from sagemaker_ack_kfp.kube import Kube, ResourceRef
from sagemaker_ack_kfp.naming import LABEL_PREFIX, SPEC_HASH_ANNOTATION

# When a step last changed an existing resource: a retry of that step keeps waiting for the change.
UPDATED_AT_ANNOTATION = f"{LABEL_PREFIX}/updated-at"


@dataclass(frozen=True)
class Applied:
    obj: dict[str, Any]
    outcome: str  # "created", "reattached" or "updated"
    updated_at: str = ""  # RFC 3339, when this step (or its earlier attempt) changed the resource


def apply(
    kube: Kube,
    ref: ResourceRef,
    body: dict[str, Any],
    *,
    update_on_conflict: bool = False,
    updatable: frozenset[str] | None = None,
) -> Applied:
    ours = body["metadata"]["annotations"][SPEC_HASH_ANNOTATION]
    for _ in range(3):
        try:
            return Applied(kube.create(ref, body), "created")
        except ApiException as exc:
            if exc.status != 409:
                raise
        existing = kube.get(ref)
        if existing is None:
            continue  # deleted between our create and get: try again
        metadata = existing.get("metadata") or {}
        annotations = metadata.get("annotations") or {}
        if metadata.get("deletionTimestamp"):
            raise NameConflict(f"{ref.describe()} is being deleted; run the step again once it is gone")
        theirs = annotations.get(SPEC_HASH_ANNOTATION)
        if theirs == ours:
            return Applied(existing, "reattached", updated_at=annotations.get(UPDATED_AT_ANNOTATION, ""))
        if not update_on_conflict:
            raise NameConflict(
                f"a different {ref.kind} named '{ref.name}' already exists in namespace '{ref.namespace}' "
                f"(spec hash {theirs or 'none'}, this step's is {ours}); give this step another name, "
                f"or delete the existing one if it is no longer needed"
            )
        return _update(kube, ref, existing, body, updatable)
    raise NameConflict(f"could not create {ref.describe()}: it kept appearing and disappearing")


def _update(
    kube: Kube, ref: ResourceRef, existing: dict[str, Any], body: dict[str, Any], updatable: frozenset[str] | None
) -> Applied:
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    current = existing.get("spec") or {}
    # Only what differs: fields the controller late-initialized stay as they are.
    changed = {key: value for key, value in body["spec"].items() if current.get(key) != value}
    fixed = sorted(set(changed) - updatable) if updatable is not None else []
    if fixed:
        raise NameConflict(
            f"a different {ref.kind} named '{ref.name}' already exists in namespace '{ref.namespace}', and its "
            f"{', '.join(f'spec.{key}' for key in fixed)} cannot be changed in place (a {ref.kind} update changes only "
            f"{', '.join(f'spec.{key}' for key in sorted(updatable or ()))}); give this step another name, or delete "
            f"the existing one if it is no longer needed"
        )
    patch = {
        "metadata": {
            "labels": body["metadata"].get("labels") or {},
            "annotations": {**body["metadata"]["annotations"], UPDATED_AT_ANNOTATION: now},
        },
        "spec": changed,
    }
    return Applied(kube.patch(ref, patch), "updated", updated_at=now)
