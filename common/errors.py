"""Every way a step can end badly, each with its documented exit code.

Exit codes (also in README.md, "Exit codes"):
  0  the resource reached its success state
  1  the SageMaker job/resource failed, stopped, or ACK reported it terminal (the reason is printed)
  2  bad input: nothing was created
  3  the cluster refused or cannot serve the step (RBAC 403, CRDs missing, no controller acting,
     API server unreachable after retries, a different resource already holds the name)
  4  timeout_seconds elapsed: the job was stopped
  143 the step was terminated (SIGTERM): the job was stopped
"""

from __future__ import annotations


class StepError(Exception):
    """A failure with a message meant for the pipeline author, and an exit code."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InputError(StepError):
    exit_code = 2


class ResourceFailed(StepError):
    """SageMaker or the controller reported failure; message carries the real reason."""

    exit_code = 1


class ClusterError(StepError):
    exit_code = 3


class Forbidden(ClusterError):
    pass


class CrdsMissing(ClusterError):
    pass


class NoController(ClusterError):
    pass


class NameConflict(ClusterError):
    pass


class TimedOut(StepError):
    exit_code = 4


class Cancelled(StepError):
    exit_code = 143
