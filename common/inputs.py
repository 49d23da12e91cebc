"""Turning a step's command-line strings into the custom resource's `spec` (and runtime settings).

KFP hands every input to the container as a string: JSON text for JsonObject/JsonArray,
"True"/"true" for Bool (KFP 1.8 and 2.x differ), "5" or "5.0" for Integer (KFP 2.x may
render integers as floats). Each string is parsed by the type its kind.json declares and
put under its camelCase spec field. Parsing never stops at the first bad input: every
problem is collected so a user fixes them all in one round.
"""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from .kinds import KindInfo

_BARE_INPUT: Final = re.compile(r"^[a-z][a-z0-9_]*$")
_LEADING_INPUT: Final = re.compile(r"^[a-z][a-z0-9_]*")
_INTEGER: Final = re.compile(r"^[+-]?[0-9]+$")
_TRUE: Final = frozenset({"true", "1"})
_FALSE: Final = frozenset({"false", "0"})
_SHOW_LIMIT: Final = 40


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a step's inputs, located in input terms and in spec terms.

    `path` is what the user wrote: an input name (`hyper_parameters`) or a position inside
    one (`resource_config.instanceCount`, `input_data_config[0].channelName`); `spec_path`
    is the same place in the custom resource (`spec.resourceConfig.instanceCount`).
    """

    path: str
    message: str
    spec_path: str = ""  # empty for inputs that are not part of the spec (region, ...)

    @property
    def input(self) -> str:
        """The input the problem is in (the leading name of `path`)."""
        match = _LEADING_INPUT.match(self.path)
        return match.group(0) if match else self.path

    def __str__(self) -> str:
        where = f"input '{self.path}'" if _BARE_INPUT.match(self.path) else self.path
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class ParsedInputs:
    spec: dict[str, Any]  # camelCase spec fields, only those given
    runtime: dict[str, Any]  # runtime inputs by snake_case name, defaults applied
    problems: tuple[Problem, ...] = field(default=())

    @property
    def failed_inputs(self) -> frozenset[str]:
        """Inputs that could not be parsed (and so are missing from `spec`)."""
        return frozenset(problem.input for problem in self.problems)


class InvalidValue(ValueError):
    """A raw string does not parse as the declared KFP type (the message says why)."""


def show(value: str) -> str:
    """A raw value quoted for a message, shortened so a huge input cannot flood the log."""
    if len(value) > _SHOW_LIMIT:
        value = value[: _SHOW_LIMIT - 1] + "…"
    return "'" + value.replace("'", "\\'") + "'"


def _parse_string(raw: str) -> str:
    return raw


def _parse_integer(raw: str) -> int:
    text = raw.strip()
    if _INTEGER.match(text):
        return int(text)
    try:
        number = float(text)
    except ValueError:
        raise InvalidValue(f"expected an integer, got {show(raw)}") from None
    if not math.isfinite(number) or not number.is_integer():
        raise InvalidValue(f"expected an integer, got {show(raw)}")
    return int(number)


def _parse_float(raw: str) -> float:
    try:
        number = float(raw.strip())
    except ValueError:
        raise InvalidValue(f"expected a number, got {show(raw)}") from None
    if not math.isfinite(number):
        raise InvalidValue(f"expected a finite number, got {show(raw)}")
    return number


def _parse_bool(raw: str) -> bool:
    text = raw.strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise InvalidValue(f"expected true or false, got {show(raw)}")


class _DuplicateKey(ValueError):
    pass


def _object_without_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _reject_constant(name: str) -> Any:
    raise InvalidValue(f"not valid JSON: {name} is not a JSON number")


def json_type_name(value: Any) -> str:
    """'a JSON object', 'a JSON array', ... for messages."""
    if isinstance(value, dict):
        return "a JSON object"
    if isinstance(value, list):
        return "a JSON array"
    if isinstance(value, str):
        return "a JSON string"
    if isinstance(value, bool):
        return "a JSON boolean"
    if isinstance(value, (int, float)):
        return "a JSON number"
    return "JSON null"


def _parse_json(raw: str, expected: type[dict[str, Any]] | type[list[Any]]) -> Any:
    try:
        value = json.loads(raw, object_pairs_hook=_object_without_duplicates, parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise InvalidValue(f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except _DuplicateKey as exc:
        raise InvalidValue(f"not valid JSON: duplicate key '{exc.args[0]}'") from None
    except InvalidValue:
        raise
    except RecursionError:
        raise InvalidValue("not valid JSON for this input: nested too deeply") from None
    except ValueError as exc:  # e.g. an integer longer than Python's digit limit
        raise InvalidValue(f"not valid JSON for this input: {str(exc).split(';')[0]}") from None
    if not isinstance(value, expected):
        wanted = "a JSON object" if expected is dict else "a JSON array"
        raise InvalidValue(f"expected {wanted}, got {json_type_name(value)}")
    return value


_PARSERS: Final[Mapping[str, Callable[[str], Any]]] = {
    "String": _parse_string,
    "Integer": _parse_integer,
    "Float": _parse_float,
    "Bool": _parse_bool,
    "JsonObject": lambda raw: _parse_json(raw, dict),
    "JsonArray": lambda raw: _parse_json(raw, list),
}


def parse_value(raw: str, kfp_type: str) -> Any:
    """Parse one raw string as a KFP type; InvalidValue says what is wrong."""
    try:
        parser = _PARSERS[kfp_type]
    except KeyError:
        raise ValueError(f"unsupported input type {kfp_type!r}") from None
    return parser(raw)


def parse_inputs(kind_info: KindInfo, raw: Mapping[str, str]) -> ParsedInputs:
    """Build the spec and runtime settings from the given raw inputs (snake_case name -> string).

    Only inputs that were passed appear in `raw`; an empty string counts as not given.
    Runtime inputs that are not given get their kind.json default, if any.
    """
    by_name = {item.name: item for item in kind_info.inputs}
    runtime_by_name = {item.name: item for item in kind_info.runtime_inputs}
    spec: dict[str, Any] = {}
    runtime: dict[str, Any] = {}
    problems: list[Problem] = []

    for name, value in raw.items():
        if value == "":
            continue
        if name in by_name:
            item = by_name[name]
            try:
                spec[item.field] = parse_value(value, item.type)
            except InvalidValue as exc:
                problems.append(Problem(name, str(exc), f"spec.{item.field}"))
        elif name in runtime_by_name:
            try:
                runtime[name] = parse_value(value, runtime_by_name[name].type)
            except InvalidValue as exc:
                problems.append(Problem(name, str(exc)))
        else:
            problems.append(Problem(name, _unknown_input_message(name, [*by_name, *runtime_by_name])))

    for runtime_input in kind_info.runtime_inputs:
        if runtime_input.name not in runtime and runtime_input.default is not None:
            runtime[runtime_input.name] = parse_value(runtime_input.default, runtime_input.type)

    ordered_fields = [item.field for item in kind_info.inputs if item.field in spec]
    return ParsedInputs(
        spec={f: spec[f] for f in ordered_fields},
        runtime=runtime,
        problems=tuple(problems),
    )


def _unknown_input_message(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"unknown input{hint}"
