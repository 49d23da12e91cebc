"""Typed parameter values of the KFP 2.x IR, and how they become command-line text.

KFP 2.x carries every parameter as a protobuf Value, so a number inside a STRUCT or LIST is a
double by the time a step sees it: `{"volumeSizeInGB": 10}` arrives as `{"volumeSizeInGB": 10.0}`.
The runner renders structs and lists that way on purpose (the worst case), so a local run
exercises the coercion the component runtime must do on a real KFP 2 backend.
KFP 1.8 (Argo) parameters are plain strings and need none of this.
"""

from __future__ import annotations

import json
import math
from typing import Any

STRING, INTEGER, DOUBLE, BOOLEAN, STRUCT, LIST = (
    "STRING",
    "NUMBER_INTEGER",
    "NUMBER_DOUBLE",
    "BOOLEAN",
    "STRUCT",
    "LIST",
)
PARAMETER_TYPES = frozenset({STRING, INTEGER, DOUBLE, BOOLEAN, STRUCT, LIST})


class BadValue(ValueError):
    """A value that does not fit its declared parameter type."""


def as_protobuf_numbers(value: Any) -> Any:
    """Every number inside becomes a float, as protobuf Struct/ListValue hold them (bools stay)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, dict):
        return {key: as_protobuf_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_protobuf_numbers(item) for item in value]
    return value


def to_text(value: Any) -> str:
    """How a resolved value is written into a command-line argument."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    return json.dumps(as_protobuf_numbers(value))


def coerce(value: Any, parameter_type: str, *, what: str) -> Any:
    """A value checked against (and normalized to) its IR parameter type."""
    if parameter_type == STRING:
        return value if isinstance(value, str) else to_text(value)
    if parameter_type == INTEGER:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise BadValue(f"{what}: expected an integer, got {value!r}")
        if isinstance(value, float) and not (math.isfinite(value) and value.is_integer()):
            raise BadValue(f"{what}: expected an integer, got {value!r}")
        return int(value)
    if parameter_type == DOUBLE:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise BadValue(f"{what}: expected a number, got {value!r}")
        return float(value)
    if parameter_type == BOOLEAN:
        if not isinstance(value, bool):
            raise BadValue(f"{what}: expected true or false, got {value!r}")
        return value
    if parameter_type == STRUCT:
        if not isinstance(value, dict):
            raise BadValue(f"{what}: expected a JSON object, got {value!r}")
        return value
    if parameter_type == LIST:
        if not isinstance(value, list):
            raise BadValue(f"{what}: expected a JSON array, got {value!r}")
        return value
    raise BadValue(f"{what}: unsupported parameter type {parameter_type!r}")


def parse_text(text: str, parameter_type: str, *, what: str) -> Any:
    """A value given as text (a --param on the command line, an output file) -> its typed value."""
    if parameter_type == STRING:
        return text
    if parameter_type == BOOLEAN:
        lowered = text.strip().lower()
        if lowered in ("true", "1", "yes"):
            return True
        if lowered in ("false", "0", "no"):
            return False
        raise BadValue(f"{what}: expected true or false, got {text!r}")
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadValue(f"{what}: not valid {parameter_type} text ({exc.msg}): {text[:80]!r}") from None
    return coerce(parsed, parameter_type, what=what)
