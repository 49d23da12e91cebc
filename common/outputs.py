"""Step outputs: plain values, written once at the end, each through a temp file and a rename.

Strings are written raw; objects and lists as JSON (sorted keys); numbers as their text. The paths
come from `{outputPath: x}`, which KFP 1.8 and 2.x both resolve to a file the step must write.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def serialize(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return json.dumps(value)
    if isinstance(value, (int, float)):
        return repr(value) if isinstance(value, float) else str(value)
    return json.dumps(value, sort_keys=True)


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
