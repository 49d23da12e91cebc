"""API errors as SageMaker reports them: an error code plus a message.

The code is what clients branch on (the ACK controller compares it, and for
some kinds a message prefix, to tell "not found" from other failures), so the
codes and message openings here are part of the wire contract.
"""

from __future__ import annotations


class ApiError(Exception):
    """An error returned to the client instead of a result."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


def validation(message: str) -> ApiError:
    return ApiError("ValidationException", message)


def throttling() -> ApiError:
    return ApiError("ThrottlingException", "Rate exceeded")


def unknown_operation(target: str) -> ApiError:
    return ApiError("UnknownOperationException", f"Operation {target!r} is not supported by the simulator.")


def serialization(detail: str) -> ApiError:
    return ApiError("SerializationException", f"Request body is not valid JSON: {detail}")
