"""Step outputs: plain values, written once at the end, each through a temp file and a rename.

Strings are written raw; objects and lists as JSON (sorted keys); numbers as their text. The paths
come from `{outputPath: x}`, which KFP 1.8 and 2.x both resolve to a file the step must write.

Most outputs come from the kind's overlay; the ones kind.json marks as a status field or the
resource name (the upstream v2 components' outputs) are written here, the same way for every kind.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from .kinds import KindInfo

# What an absent value is written as: KFP 2.x parses a JsonObject/JsonArray output file as JSON and
# fails the task on anything else, so an empty file is only right for strings.
_EMPTY: Final[Mapping[str, str]] = {"JsonObject": "{}", "JsonArray": "[]"}


def serialize(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return repr(value) if isinstance(value, float) else str(value)
    return json.dumps(value, sort_keys=True)


def generic_outputs(kind: KindInfo, obj: Mapping[str, Any]) -> dict[str, str]:
    """The values of the outputs kind.json derives from the final custom resource itself."""
    status = obj.get("status") or {}
    spec = obj.get("spec") or {}
    values: dict[str, str] = {}
    for output in kind.outputs:
        if output.resource_name:
            value = spec.get(kind.name_field)
        elif output.status_field:
            value = status.get(output.status_field)
        else:
            continue
        values[output.name] = _EMPTY.get(output.type, "") if value is None else serialize(value)
    return values


def write_outputs(values: dict[str, Any], paths: dict[str, str]) -> None:
    missing = sorted(set(paths) - set(values))
    if missing:
        raise KeyError(f"no value for outputs {missing}")
    for name, target in paths.items():
        path = Path(target)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(serialize(values[name]))
        os.replace(tmp, path)
