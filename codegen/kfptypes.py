"""How CRD schema types become KFP v1 component types.

The names are the KFP v1 type names both SDKs understand when loading a component.yaml:
KFP 1.8 serialises them as-is, KFP 2.x maps them to its parameter types (String -> STRING,
Integer -> NUMBER_INTEGER, Float -> NUMBER_DOUBLE, Bool -> BOOLEAN, JsonObject -> STRUCT,
JsonArray -> LIST).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

KFP_TYPES: Final[frozenset[str]] = frozenset({"String", "Integer", "Float", "Bool", "JsonObject", "JsonArray"})

_BY_SCHEMA_TYPE: Final[Mapping[str, str]] = {
    "object": "JsonObject",
    "array": "JsonArray",
    "string": "String",
    "integer": "Integer",
    "number": "Float",
    "boolean": "Bool",
}


class UnsupportedSchema(ValueError):
    """A CRD property whose schema type has no KFP counterpart."""


def kfp_type(schema: Mapping[str, Any], *, field: str, section: str = "spec") -> str:
    """The KFP type of one spec (or status) property's schema."""
    schema_type = schema.get("type")
    if not isinstance(schema_type, str) or schema_type not in _BY_SCHEMA_TYPE:
        raise UnsupportedSchema(f"{section}.{field}: schema type {schema_type!r} has no KFP type")
    return _BY_SCHEMA_TYPE[schema_type]


def kfp_default(value: bool | int | float | str, *, kfp_type_name: str) -> str:
    """A default as the string a v1 component.yaml carries (KFP serialises Bool as True/False)."""
    if kfp_type_name == "Bool":
        if not isinstance(value, bool):
            raise ValueError(f"default {value!r} is not a boolean")
        return "True" if value else "False"
    if kfp_type_name == "Integer" and (isinstance(value, bool) or not isinstance(value, int)):
        raise ValueError(f"default {value!r} is not an integer")
    if kfp_type_name == "Float" and (isinstance(value, bool) or not isinstance(value, (int, float))):
        raise ValueError(f"default {value!r} is not a number")
    if kfp_type_name == "String" and not isinstance(value, str):
        raise ValueError(f"default {value!r} is not a string")
    if kfp_type_name in ("JsonObject", "JsonArray"):
        raise ValueError(f"{kfp_type_name} inputs cannot have a default")
    return str(value)
