"""Reading what the generator needs from one ACK CustomResourceDefinition.

Only the served storage version is used: that is the version the runtime applies
(`apiVersion: <group>/<version>`) and whose schema the API server validates against.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class CrdError(ValueError):
    """A CRD file does not have the shape the generator relies on."""


@dataclass(frozen=True)
class CrdInfo:
    path: Path
    kind: str
    group: str
    version: str
    plural: str
    spec_schema: dict[str, Any]  # openAPIV3Schema.properties.spec, untouched
    status_schema: dict[str, Any]  # openAPIV3Schema.properties.status ({} if the CRD has none)

    @property
    def status_properties(self) -> dict[str, dict[str, Any]]:
        return dict(self.status_schema.get("properties", {}))

    @property
    def spec_properties(self) -> dict[str, dict[str, Any]]:
        return dict(self.spec_schema.get("properties", {}))

    @property
    def spec_required(self) -> tuple[str, ...]:
        return tuple(self.spec_schema.get("required", ()))


def read_crd(path: Path) -> CrdInfo:
    """Kind, group, served storage version, plural, spec and status schemas of a CRD file."""
    document = yaml.safe_load(path.read_text(encoding="utf-8"))
    try:
        spec = document["spec"]
        storage = [v for v in spec["versions"] if v.get("served") and v.get("storage")]
        if len(storage) != 1:
            raise CrdError(f"{path}: expected exactly one served storage version, found {len(storage)}")
        version = storage[0]
        properties = version["schema"]["openAPIV3Schema"]["properties"]
        spec_schema = properties["spec"]
        return CrdInfo(
            path=path,
            kind=spec["names"]["kind"],
            group=spec["group"],
            version=version["name"],
            plural=spec["names"]["plural"],
            spec_schema=spec_schema,
            status_schema=dict(properties.get("status") or {}),
        )
    except (KeyError, TypeError) as exc:
        raise CrdError(f"{path}: not a CRD with a spec schema ({exc!r} missing)") from exc


_SENTENCE_END = re.compile(r"[.!?](?=\s)")


def summarize(description: str, *, limit: int = 600) -> str:
    """The first paragraph of a CRD description on one line, cut at a sentence end if long.

    ACK copies the AWS API reference into the CRDs: hard-wrapped text, several paragraphs,
    lists of related APIs. A component's input description wants the opening paragraph.
    """
    paragraphs = [p for p in re.split(r"\n\s*\n", description.strip()) if p.strip()]
    if not paragraphs:
        return ""
    text = " ".join(paragraphs[0].split())
    if text.endswith(":"):
        # "... Specified when you call the following APIs:" introduces a list that is cut off.
        ends = [match.end() for match in _SENTENCE_END.finditer(text)]
        if ends:
            text = text[: ends[-1]]
    if len(text) <= limit:
        return text
    ends = [match.end() for match in _SENTENCE_END.finditer(text, 0, limit)]
    if ends:
        return text[: ends[-1]]
    return text[:limit].rsplit(" ", 1)[0] + " …"


def property_description(schema: dict[str, Any]) -> str:
    """A property's own description, or its items' description for an undescribed array."""
    description = schema.get("description")
    if not description and isinstance(schema.get("items"), dict):
        description = schema["items"].get("description")
    return str(description or "")
