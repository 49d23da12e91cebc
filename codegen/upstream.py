"""The outputs of the upstream v2 components, derived from each kind's CRD status schema.

The ACK-based SageMaker components that kubeflow/pipelines shipped under
components/aws/sagemaker/ ("v2", removed in 2026) wrote one output per top-level field of their
CRD's `status`, named in snake_case, and all but TrainingJob also wrote `sagemaker_resource_name`.
Pipelines written against them read those names. The `upstream_v2` table of codegen/config.yaml
says which kinds had such a component (and its folder name); everything else comes from the
pinned CRD, so a new controller release regenerates the list.

Types follow the status schema as upstream declared them (object -> JsonObject, array ->
JsonArray, string -> String), so a pipeline that compiled against upstream's component.yaml
compiles against ours. A status field that is absent when the step ends is written as the empty
value of its type ("", {} or []): KFP 2.x parses a JsonObject/JsonArray output file as JSON and
fails the task on an empty file. Numbers and booleans have no empty value, so such fields
(none in ACK v1.9.1) are declared String.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from .crds import CrdInfo, property_description, summarize
from .kfptypes import kfp_type
from .loading import ConfigError, check_keys, expect_str
from .naming import snake_case
from .overlays import PortSpec

RESOURCE_NAME_OUTPUT: Final[str] = "sagemaker_resource_name"
_ENTRY_KEYS: Final = {"component", "sagemaker_resource_name"}
# Types whose absent value is representable in every SDK; the rest are declared String.
_TYPES_WITH_EMPTY_VALUE: Final = frozenset({"String", "JsonObject", "JsonArray"})


@dataclass(frozen=True)
class UpstreamComponent:
    """One row of the `upstream_v2` table: the upstream component a kind's component replaces."""

    kind: str
    component: str  # its folder under kubeflow/pipelines components/aws/sagemaker/, e.g. "Modelv2"
    resource_name_output: bool  # it wrote `sagemaker_resource_name`


def load_upstream_table(data: Any, *, where: str) -> dict[str, UpstreamComponent]:
    """The `upstream_v2` section: {Kind: {component: str, sagemaker_resource_name: bool}}."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping of kind to its upstream component")
    table: dict[str, UpstreamComponent] = {}
    for kind, entry in data.items():
        at = f"{where}.{kind}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{at}: expected a mapping with keys {', '.join(sorted(_ENTRY_KEYS))}")
        check_keys(entry, where=at, required=_ENTRY_KEYS)
        flag = entry["sagemaker_resource_name"]
        if not isinstance(flag, bool):
            raise ConfigError(f"{at}: 'sagemaker_resource_name' must be true or false")
        table[str(kind)] = UpstreamComponent(
            kind=str(kind), component=expect_str(entry, "component", where=at), resource_name_output=flag
        )
    return table


def upstream_outputs(crd: CrdInfo, upstream: UpstreamComponent, *, name_field: str) -> tuple[PortSpec, ...]:
    """The upstream outputs of one kind: every top-level status field, plus the resource name."""
    outputs: list[PortSpec] = []
    for field, schema in crd.status_properties.items():
        output_type = kfp_type(schema, field=field, section="status")
        if output_type not in _TYPES_WITH_EMPTY_VALUE:
            output_type = "String"
        summary = summarize(property_description(schema), limit=300)
        outputs.append(
            PortSpec(
                name=snake_case(field),
                type=output_type,
                description=f"Upstream `{upstream.component}` output: status.{field} when the step ended "
                f"({_absent_value(output_type)} if absent). {summary}".strip(),
                status_field=field,
            )
        )
    if upstream.resource_name_output:
        outputs.append(
            PortSpec(
                name=RESOURCE_NAME_OUTPUT,
                type="String",
                description=f"Upstream `{upstream.component}` output: the SageMaker name of the resource "
                f"(spec.{name_field}).",
                resource_name=True,
            )
        )
    return tuple(sorted(outputs, key=lambda port: port.name))


def _absent_value(output_type: str) -> str:
    return {"JsonObject": "`{}`", "JsonArray": "`[]`"}.get(output_type, "empty")


def check_table(table: Mapping[str, UpstreamComponent], kinds: set[str], *, where: str) -> None:
    """Every kind of the table must have an overlay (a typo would silently add nothing)."""
    unknown = sorted(set(table) - kinds)
    if unknown:
        raise ConfigError(f"{where}: upstream_v2 names kinds without an overlay: {', '.join(unknown)}")
