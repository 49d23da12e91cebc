"""Request validation phrased the way SageMaker's front end phrases it.

SageMaker reports schema violations as one ValidationException listing every
problem, naming members in lowerCamelCase ("Value null at 'roleArn' ...").
"""

from __future__ import annotations

from typing import Any, Iterable

from .errors import validation
from .kinds import KindInfo


def _member(name: str) -> str:
    return name[:1].lower() + name[1:]


def check_create(body: dict[str, Any], kind: KindInfo, required: Iterable[str]) -> None:
    """Raise ValidationException if required members are missing or the name is malformed."""
    problems = _missing(body, required)
    name = body.get(kind.name_field)
    if isinstance(name, str) and name:
        problems.extend(_name_problems(name, kind))
    raise_if(problems)


def check_present(body: dict[str, Any], required: Iterable[str], path: str = "") -> None:
    """`path` names the enclosing member for nested shapes, e.g. "trainingJobDefinition"."""
    raise_if(_missing(body, required, path))


def raise_if(problems: list[str]) -> None:
    if not problems:
        return
    noun = "error" if len(problems) == 1 else "errors"
    raise validation(f"{len(problems)} validation {noun} detected: " + "; ".join(problems))


def _missing(body: dict[str, Any], required: Iterable[str], path: str = "") -> list[str]:
    prefix = f"{path}." if path else ""
    return [
        f"Value null at '{prefix}{_member(field)}' failed to satisfy constraint: Member must not be null"
        for field in required
        if body.get(field) in (None, "")
    ]


def _name_problems(name: str, kind: KindInfo) -> list[str]:
    where = f"Value '{name}' at '{_member(kind.name_field)}' failed to satisfy constraint: "
    problems = []
    if len(name) > kind.max_name_length:
        problems.append(where + f"Member must have length less than or equal to {kind.max_name_length}")
    if not kind.matches_name(name):
        problems.append(where + f"Member must satisfy regular expression pattern: ^{kind.name_pattern}")
    return problems
