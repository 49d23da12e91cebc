"""Checking a spec against its CRD schema before anything is sent to the cluster.

The API server would accept much of what is wrong here and hide it: it prunes unknown
fields silently (a typo like `trainingImag` just disappears), and an integral float such
as 1.0 in an integer field passes its validation but breaks the controller's decoding.
So the schema is applied more strictly than the server does:

- every object schema that lists `properties` and does not allow other fields is closed
  (`additionalProperties: false`), so an unknown field is an error that says the likely fix: the
  field it is misplaced from (a valid field of an object beneath, or of the enclosing object), or
  the field it misspells (`InputMode` -> `inputMode`);
- `integer` means a JSON integer, not a float with an integral value. KFP 2.x turns the
  integers of a JsonObject input into floats (protobuf Struct), so `coerce_integers`
  restores them first, exactly where the schema says `integer`.

Every problem is reported, each with its path in input terms (`resource_config.instanceCount`)
and spec terms (`spec.resourceConfig.instanceCount`), in short messages without Python reprs.

The runtime's order of work:

    parsed = parse_inputs(kind_info, raw)
    spec = coerce_integers(kind_info.spec_schema, <parsed.spec with the name filled in>)
    problems = [*parsed.problems, *validate_spec(kind_info, spec, skip_inputs=parsed.failed_inputs)]
    if problems: print(format_problems(kind_info.kind, problems)); exit 2, create nothing
"""

from __future__ import annotations

import copy
import difflib
import json
import math
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from functools import cache
from typing import Any, Final

from jsonschema import Draft7Validator, ValidationError, validators

from .inputs import Problem
from .kinds import KindInfo

__all__ = ["Problem", "closed_schema", "coerce_integers", "format_problems", "validate_spec"]

_PRESERVE_UNKNOWN: Final = "x-kubernetes-preserve-unknown-fields"
_IDENTIFIER: Final = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_SHOW_LIMIT: Final = 40
_LIST_FIELDS_UP_TO: Final = 12
# How many object levels beneath an unknown field are searched for where it belongs.
_SEARCH_DEPTH: Final = 3
_SHOW_PLACES: Final = 3


def _is_json_integer(_checker: Any, instance: Any) -> bool:
    return isinstance(instance, int) and not isinstance(instance, bool)


_StrictValidator: type[Draft7Validator] = validators.extend(  # type: ignore[no-untyped-call]
    Draft7Validator,
    type_checker=Draft7Validator.TYPE_CHECKER.redefine("integer", _is_json_integer),
)


# --- schema preparation ---------------------------------------------------------------


def closed_schema(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `schema` in which every object with `properties` rejects other fields,
    unless it already says what to do with them (additionalProperties or
    x-kubernetes-preserve-unknown-fields)."""
    result = copy.deepcopy(dict(schema))
    _close_in_place(result)
    return result


def _close_in_place(schema: dict[str, Any]) -> None:
    if "properties" in schema and "additionalProperties" not in schema and not schema.get(_PRESERVE_UNKNOWN):
        schema["additionalProperties"] = False
    for child in _subschemas(schema):
        _close_in_place(child)


def _subschemas(schema: Mapping[str, Any]) -> Iterable[dict[str, Any]]:
    for sub in (schema.get("properties") or {}).values():
        if isinstance(sub, dict):
            yield sub
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            yield schema[key]
    for key in ("allOf", "anyOf", "oneOf"):
        for sub in schema.get(key) or ():
            if isinstance(sub, dict):
                yield sub


@cache
def _validator(kind_info: KindInfo) -> Draft7Validator:
    """The closed-schema validator of a kind, built once per process."""
    validator = _StrictValidator(closed_schema(kind_info.spec_schema))
    return validator


# --- integer coercion -----------------------------------------------------------------


def coerce_integers(schema: Mapping[str, Any], value: Any) -> Any:
    """A copy of `value` where each float with an integral value becomes an int, wherever
    `schema` says `type: integer` (through properties, items and additionalProperties maps).
    Non-integral floats stay as they are, for validation to report."""
    schema_type = schema.get("type")
    if schema_type == "integer":
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            return int(value)
        return value
    if schema_type == "object" and isinstance(value, dict):
        properties = schema.get("properties") or {}
        extra = schema.get("additionalProperties")
        result: dict[str, Any] = {}
        for key, item in value.items():
            sub = properties.get(key, extra)
            result[key] = coerce_integers(sub, item) if isinstance(sub, Mapping) else item
        return result
    if schema_type == "array" and isinstance(value, list):
        items = schema.get("items")
        if isinstance(items, Mapping):
            return [coerce_integers(items, item) for item in value]
        return list(value)
    return value


# --- validation -----------------------------------------------------------------------


def validate_spec(kind_info: KindInfo, spec: Mapping[str, Any], *, skip_inputs: Collection[str] = ()) -> list[Problem]:
    """Every way `spec` breaks the kind's (closed) schema; empty when it is valid.

    `skip_inputs` names inputs already reported as unparsable (ParsedInputs.failed_inputs),
    so they are not reported a second time as missing.
    """
    problems: dict[Problem, None] = {}
    for error in _validator(kind_info).iter_errors(dict(spec)):
        for problem in _problems_of(kind_info, error):
            if problem.input not in skip_inputs:
                problems[problem] = None
    return sorted(problems, key=lambda p: (p.path, p.message))


def _problems_of(kind_info: KindInfo, error: ValidationError) -> list[Problem]:
    parts = list(error.absolute_path)
    schema = error.schema if isinstance(error.schema, Mapping) else {}
    expected: Any = error.validator_value
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = sorted((schema.get("properties") or {}).keys())
        place = _Place(kind_info, _validator(kind_info).schema, schema, parts)
        return [
            _problem(kind_info, [*parts, key], _unknown_field_message(str(key), allowed, place))
            for key in error.instance
            if key not in allowed
        ]
    if error.validator == "required" and isinstance(error.instance, dict):
        top = not parts
        return [
            _problem(kind_info, [*parts, key], "required input missing" if top else "required field missing")
            for key in expected
            if key not in error.instance
        ]
    return [_problem(kind_info, parts, _message(error))]


def _problem(kind_info: KindInfo, parts: Sequence[Any], message: str) -> Problem:
    if not parts:
        return Problem("spec", message, "spec")
    field, rest = str(parts[0]), "".join(_segment(part) for part in parts[1:])
    return Problem(f"{kind_info.input_name(field)}{rest}", message, f"spec.{field}{rest}")


def _segment(part: Any) -> str:
    if isinstance(part, int):
        return f"[{part}]"
    text = str(part)
    return f".{text}" if _IDENTIFIER.match(text) else f"[{json.dumps(text)}]"


# --- messages -------------------------------------------------------------------------


class _Place:
    """Where an unknown field was found: its object's schema and the schemas around it."""

    def __init__(
        self, kind_info: KindInfo, root: Mapping[str, Any], schema: Mapping[str, Any], parts: Sequence[Any]
    ) -> None:
        self.kind_info = kind_info
        self.schema = schema
        # The enclosing object: strip the array indexes, then the property holding this object.
        names = list(parts)
        while names and isinstance(names[-1], int):
            names.pop()
        self.name = str(names.pop()) if names else ""
        self.parent = _schema_at(root, names) if self.name else None
        self.parent_is_spec = not names

    def below(self, key: str, *, fold_case: bool = False) -> list[tuple[str, str]]:
        """(path, field) of the shallowest objects beneath this one that have the field."""
        return _fields_below(self.schema, key, fold_case=fold_case)

    def above(self, key: str, *, fold_case: bool = False) -> str:
        """The field of the enclosing object that `key` names, or ''."""
        if not self.parent:
            return ""
        return _find_field(self.parent, key, fold_case=fold_case)


def _schema_at(root: Mapping[str, Any], parts: Sequence[Any]) -> Mapping[str, Any] | None:
    schema: Any = root
    for part in parts:
        if not isinstance(schema, Mapping):
            return None
        if isinstance(part, int):
            schema = schema.get("items")
        else:
            schema = (schema.get("properties") or {}).get(part, schema.get("additionalProperties"))
    return schema if isinstance(schema, Mapping) else None


def _find_field(schema: Mapping[str, Any], key: str, *, fold_case: bool) -> str:
    for name in schema.get("properties") or {}:
        if name == key or (fold_case and name.lower() == key.lower()):
            return str(name)
    return ""


def _fields_below(schema: Mapping[str, Any], key: str, *, fold_case: bool) -> list[tuple[str, str]]:
    level: list[tuple[str, Mapping[str, Any]]] = [("", schema)]
    for _ in range(_SEARCH_DEPTH):
        found: list[tuple[str, str]] = []
        deeper: list[tuple[str, Mapping[str, Any]]] = []
        for path, node in level:
            for name, sub in (node.get("properties") or {}).items():
                while isinstance(sub, Mapping) and sub.get("type") == "array" and isinstance(sub.get("items"), Mapping):
                    sub, name = sub["items"], f"{name}[]"
                if not isinstance(sub, Mapping):
                    continue
                where = f"{path}.{name}" if path else str(name)
                field = _find_field(sub, key, fold_case=fold_case)
                if field:
                    found.append((where, field))
                deeper.append((where, sub))
        if found:
            return sorted(found)
        level = deeper
    return []


def _unknown_field_message(key: str, allowed: list[str], place: _Place | None = None) -> str:
    if place is not None:
        exact = _misplaced(key, place, exact=True)
        if exact:
            return f"unknown field; {exact}"
    close = difflib.get_close_matches(key, allowed, n=1)
    if close:
        return f"unknown field; did you mean '{close[0]}'?"
    if place is not None:
        hint = _misplaced(key, place, exact=False)
        if hint:
            return f"unknown field; {hint}"
    if allowed and len(allowed) <= _LIST_FIELDS_UP_TO:
        return f"unknown field; known fields: {', '.join(allowed)}"
    return "unknown field"


def _misplaced(key: str, place: _Place, *, exact: bool) -> str:
    """Where a field that is valid elsewhere belongs: beneath this object, else beside it."""
    below = place.below(key, fold_case=not exact)
    if below:
        where = " or ".join(f"'{path}'" for path, _ in below[:_SHOW_PLACES])
        return f"{_spelled(key, below[0][1])} belongs inside {where}"
    field = place.above(key, fold_case=not exact)
    if not field:
        return ""
    if place.parent_is_spec:
        # The enclosing object is the spec itself: the field is another input of the step.
        names = place.kind_info
        return f"{_spelled(key, field)} is not part of '{names.input_name(place.name)}': it is the input '{names.input_name(field)}'"
    return f"{_spelled(key, field)} belongs one level up, beside '{place.name}'"


def _spelled(key: str, field: str) -> str:
    return f"'{field}'" if key == field else f"did you mean '{field}'? It"


def _number(value: int | float) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return json.dumps(value)


def _describe(value: Any) -> str:
    """`string "two"`, `number 2.5`, `boolean true`, `null`, `an object`, `an array`."""
    if isinstance(value, str):
        text = value if len(value) <= _SHOW_LIMIT else value[: _SHOW_LIMIT - 1] + "…"
        return f"string {json.dumps(text, ensure_ascii=False)}"
    if isinstance(value, bool):
        return f"boolean {json.dumps(value)}"
    if isinstance(value, (int, float)):
        return f"number {_number(value)}"
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__


def _literal(value: Any) -> str:
    """A schema literal for a message: strings in single quotes, the rest as JSON."""
    if isinstance(value, str):
        shown = value if len(value) <= _SHOW_LIMIT else value[: _SHOW_LIMIT - 1] + "…"
        return f"'{shown}'"
    if isinstance(value, (dict, list)):
        return "an object" if isinstance(value, dict) else "an array"
    return json.dumps(value)


def _type_message(expected: Any, value: Any) -> str:
    names = expected if isinstance(expected, list) else [expected]
    message = f"expected {' or '.join(str(n) for n in names)}, got {_describe(value)}"
    if "string" in names and isinstance(value, (bool, int, float)) and value is not None:
        shown = json.dumps(value) if isinstance(value, bool) else _number(value)
        message += f' (quote it: "{shown}")'
    return message


_BOUNDS: Final[Mapping[str, str]] = {
    "minimum": "must be >= {}",
    "maximum": "must be <= {}",
    "exclusiveMinimum": "must be > {}",
    "exclusiveMaximum": "must be < {}",
    "minLength": "must be at least {} characters long",
    "maxLength": "must be at most {} characters long",
    "minItems": "must have at least {} items",
    "maxItems": "must have at most {} items",
    "minProperties": "must have at least {} fields",
    "maxProperties": "must have at most {} fields",
    "pattern": "must match the pattern {}",
    "format": "is not a valid {}",
    "multipleOf": "must be a multiple of {}",
}


def _message(error: ValidationError) -> str:
    validator, value = error.validator, error.instance
    expected: Any = error.validator_value
    if validator == "type":
        return _type_message(expected, value)
    if validator == "enum":
        return f"{_literal(value)} is not one of {', '.join(_literal(v) for v in expected)}"
    if validator == "const":
        return f"must be {_literal(expected)}, got {_literal(value)}"
    if validator == "uniqueItems":
        return "items must be unique"
    if validator in _BOUNDS:
        return _BOUNDS[str(validator)].format(expected)
    return f"does not satisfy the schema's '{validator}' rule"


def format_problems(kind: str, problems: Sequence[Problem]) -> str:
    """One message listing every problem, ready to print before the step exits."""
    count = len(problems)
    noun = "problem" if count == 1 else "problems"
    lines = [f"The {kind} step's inputs have {count} {noun}; nothing was created:"]
    lines += [f"  - {problem}" for problem in problems]
    return "\n".join(lines)
