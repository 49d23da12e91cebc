"""Strict YAML loading for the generator's hand-written files (config and overlays).

A typo in a hand-written file must fail the generation loudly, naming the key and the
file, instead of silently producing a component without the intended setting (the same
reason ACK's generator loads generator.yaml with UnmarshalStrict).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any

import yaml


class ConfigError(ValueError):
    """A hand-written generator input is malformed."""


def read_yaml_mapping(path: Path) -> dict[str, Any]:
    """The top-level mapping of a YAML file; anything else is a ConfigError."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return data


def check_keys(
    data: Mapping[str, Any],
    *,
    where: str,
    required: Collection[str],
    optional: Collection[str] = (),
) -> None:
    """Reject unknown and missing keys; `where` names the file (and position) in the error."""
    allowed = set(required) | set(optional)
    unknown = sorted(str(key) for key in data if key not in allowed)
    if unknown:
        raise ConfigError(
            f"{where}: unknown key {', '.join(repr(k) for k in unknown)} (allowed: {', '.join(sorted(allowed))})"
        )
    missing = sorted(key for key in required if key not in data)
    if missing:
        raise ConfigError(f"{where}: missing key {', '.join(repr(k) for k in missing)}")


def expect_str(data: Mapping[str, Any], key: str, *, where: str) -> str:
    """A non-empty string value."""
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where}: {key!r} must be a non-empty string")
    return value


def expect_list(data: Mapping[str, Any], key: str, *, where: str) -> list[Any]:
    """A list value; an absent key is an empty list."""
    value = data.get(key, [])
    if not isinstance(value, list):
        raise ConfigError(f"{where}: {key!r} must be a list")
    return value
