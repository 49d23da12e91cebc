"""Create the custom resource, or reattach to the one this step created before a retry.

Create first (one request on the happy path). On 409 AlreadyExists, read the existing object:
if its spec-hash annotation matches ours, it is this step's own resource from an earlier attempt
and we reattach; otherwise a different resource holds the name and we refuse, never touching it.
"""

from __future__ import annotations

from typing import Any

from kubernetes.client.rest import ApiException

from sagemaker_ack_kfp.errors import NameConflict
from sagemaker_ack_kfp.kube import Kube, ResourceRef
from sagemaker_ack_kfp.naming import SPEC_HASH_ANNOTATION


def create_or_reattach(kube: Kube, ref: ResourceRef, body: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Returns (object, created)."""
    ours = body["metadata"]["annotations"][SPEC_HASH_ANNOTATION]
    for _ in range(3):
        try:
            return kube.create(ref, body), True
        except ApiException as exc:
            if exc.status != 409:
                raise
        existing = kube.get(ref)
        if existing is None:
            continue  # deleted between our create and get: try again
        metadata = existing.get("metadata") or {}
        theirs = (metadata.get("annotations") or {}).get(SPEC_HASH_ANNOTATION)
        if theirs != ours:
            raise NameConflict(
                f"a different {ref.kind} named '{ref.name}' already exists in namespace '{ref.namespace}' "
                f"(spec hash {theirs or 'none'}, this step's is {ours}); give this step another name, "
                f"or delete the existing one if it is no longer needed"
            )
        if metadata.get("deletionTimestamp"):
            raise NameConflict(f"{ref.describe()} is being deleted; run the step again once it is gone")
        return existing, False
    raise NameConflict(f"could not create {ref.describe()}: it kept appearing and disappearing")
