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
            "How long, in seconds, the step waits for the resource to reach a final state. "
            "When it elapses, a job is stopped and the step fails (exit code 4). Not set: no limit."
        ),
    ),
    PortSpec(
        name="recoverable_grace_seconds",
        type="Integer",
        description=(
            "How long, in seconds, a persistent ACK.Recoverable condition (the controller retrying "
            "an error such as a ValidationException) is tolerated before the step fails with its "
            "message. Not set: 300."
        ),
    ),
    PortSpec(
        name="no_controller_seconds",
        type="Integer",
        description=(
            "How long, in seconds, the step waits for the ACK controller to write any status on "
            "the resource before it fails, saying that no controller is acting on it. Not set: 120."
        ),
    ),
)
