"""Inputs every component has besides the spec: where and how long the runtime works.

They are not part of the custom resource's spec, so they are declared here once rather
than derived from a CRD; kind-specific ones come from the overlays' `extra_inputs`.
All are optional and passed only when set: the runtime owns their defaults.
"""

from __future__ import annotations

from typing import Final

from .overlays import PortSpec

COMMON_RUNTIME_INPUTS: Final[tuple[PortSpec, ...]] = (
    PortSpec(
        name="region",
        type="String",
        description=(
            "AWS region to create the SageMaker resource in. "
            "Not set: the ACK controller's default region."
        ),
    ),
    PortSpec(
        name="namespace",
        type="String",
        description=(
            "Kubernetes namespace to create the custom resource in. "
            "Not set: the namespace the step runs in."
        ),
    ),
    PortSpec(
        name="timeout_seconds",
        type="Integer",
        description=(
            "How long, in seconds, the step waits for the resource to reach a final state "
            "before it fails. Not set: the component's default."
        ),
    ),
    PortSpec(
        name="recoverable_grace_seconds",
        type="Integer",
        description=(
            "How long, in seconds, a persistent ACK.Recoverable condition on the resource is "
            "tolerated before the step fails. Not set: the component's default."
        ),
    ),
)
