"""What the runtime knows about one ACK kind, read from the generated components/<Kind>/kind.json.

The file is generated from the CRD at build time and shipped as package data, so a step
needs neither the CRDs, Go, nor network access to know its inputs and spec schema. It is
read once per process (load_kind caches), and every KindInfo is then shared: it has
identity semantics so the validators can key their caches on it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

_COMPONENTS_PACKAGE = "sagemaker_ack_kfp.components"
_KIND_NAME = re.compile(r"^[A-Z][A-Za-z0-9]*$")


class UnknownKind(LookupError):
    """No generated component exists for the requested kind."""


@dataclass(frozen=True)
class InputField:
    """One component input that carries a top-level spec field."""

    name: str  # snake_case input name, e.g. "resource_config"
    field: str  # camelCase spec field, e.g. "resourceConfig"
    type: str  # KFP type: String, Integer, Float, Bool, JsonObject, JsonArray
    required: bool  # required by the CRD schema


@dataclass(frozen=True)
class RuntimeInput:
    """An input that configures the step itself (region, namespace, timeouts...)."""

    name: str
    type: str
    default: str | None = None  # as the string KFP would pass


@dataclass(frozen=True)
class OutputPort:
    name: str
    type: str
    # Set for the outputs the runtime writes generically (the upstream v2 components' names):
    status_field: str = ""  # the value of this top-level status field
    resource_name: bool = False  # the SageMaker name (the spec's name field)


@dataclass(frozen=True, eq=False)
class KindInfo:
    kind: str
    group: str
    version: str
    plural: str
    name_field: str
    inputs: tuple[InputField, ...]
    runtime_inputs: tuple[RuntimeInput, ...]
    outputs: tuple[OutputPort, ...]
    spec_schema: Mapping[str, Any]
    spec_required: tuple[str, ...]

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}"

    @property
    def name_input(self) -> InputField:
        """The input carrying the SageMaker name (filled in by the runtime when absent)."""
        return self.input_for_field(self.name_field)

    def input_for_field(self, field: str) -> InputField:
        for item in self.inputs:
            if item.field == field:
                return item
        raise KeyError(field)

    def input_name(self, field: str) -> str:
        """The snake_case input name of a top-level spec field (the field itself if unknown)."""
        for item in self.inputs:
            if item.field == field:
                return item.name
        return field


def kind_info_from_document(document: Mapping[str, Any]) -> KindInfo:
    """Build a KindInfo from a parsed kind.json document."""
    return KindInfo(
        kind=document["kind"],
        group=document["group"],
        version=document["version"],
        plural=document["plural"],
        name_field=document["nameField"],
        inputs=tuple(
            InputField(name=i["name"], field=i["field"], type=i["type"], required=bool(i["required"]))
            for i in document["inputs"]
        ),
        runtime_inputs=tuple(
            RuntimeInput(name=i["name"], type=i["type"], default=i.get("default")) for i in document["runtimeInputs"]
        ),
        outputs=tuple(
            OutputPort(
                name=o["name"],
                type=o["type"],
                status_field=o.get("statusField", ""),
                resource_name=bool(o.get("resourceName", False)),
            )
            for o in document["outputs"]
        ),
        spec_schema=document["specSchema"],
        spec_required=tuple(document["specRequired"]),
    )


def known_kinds() -> tuple[str, ...]:
    """Every kind with a generated component, sorted."""
    root = resources.files(_COMPONENTS_PACKAGE)
    return tuple(
        sorted(entry.name for entry in root.iterdir() if entry.is_dir() and entry.joinpath("kind.json").is_file())
    )


@cache
def load_kind(kind: str) -> KindInfo:
    """The KindInfo of `kind` (e.g. "TrainingJob"); UnknownKind if no component exists."""
    resource = resources.files(_COMPONENTS_PACKAGE)
    if _KIND_NAME.match(kind):
        resource = resource.joinpath(kind, "kind.json")
    if not _KIND_NAME.match(kind) or not resource.is_file():
        raise UnknownKind(f"unknown kind {kind!r}; known kinds: {', '.join(known_kinds())}")
    return kind_info_from_document(json.loads(resource.read_text(encoding="utf-8")))
