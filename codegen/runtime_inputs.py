"""Inputs every component has besides the spec: where and how long the runtime works.

They are not part of the custom resource's spec, so they are declared here once rather
than derived from a CRD: COMMON_RUNTIME_INPUTS in every component, JOB_LOG_INPUTS in the
components of jobs that write CloudWatch logs (overlay key `job_logs: true`); other
kind-specific ones come from the overlays' `extra_inputs`.
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

JOB_LOG_INPUTS: Final[tuple[PortSpec, ...]] = (
    PortSpec(
        name="stream_logs",
        type="String",
        description=(
            "Print the SageMaker job's CloudWatch log lines in the step's log while it waits "
            "(each prefixed with its log stream): `auto` streams when the step has AWS "
            "credentials (environment, IRSA web identity, EKS Pod Identity or container "
            "credentials, shared config files), `on` also tries the instance metadata service "
            "and says so when it finds none, `off` never streams. Needs logs:DescribeLogStreams "
            "and logs:GetLogEvents on the job's log group; without them the step says so in one "
            "line and carries on. Not set: auto."
        ),
    ),
)
