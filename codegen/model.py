"""One component's full description, assembled from its CRD, overlay and the runtime inputs.

This is the single place where the rules live: one input per top-level spec property,
named in snake_case; optional unless the schema requires it, and always optional for the
name field (the runtime then derives a deterministic name); runtime inputs after them.
Outputs: the overlay's, then, for a kind that replaces an upstream v2 component, that
component's (codegen/upstream.py). The renderers only format this model.
"""

from __future__ import annotations

from dataclasses import dataclass

from .crds import CrdInfo, property_description, summarize
from .kfptypes import kfp_type
from .loading import ConfigError
from .naming import snake_case
from .overlays import Overlay, PortSpec
from .runtime_inputs import COMMON_RUNTIME_INPUTS, JOB_LOG_INPUTS
from .upstream import UpstreamComponent, upstream_outputs

NAME_FIELD_NOTE = (
    "Optional here: when it is not given, the component derives a deterministic name "
    "from the KFP run and task, so a retried step finds the resource it already created."
)


@dataclass(frozen=True)
class InputModel:
    name: str  # snake_case input name and CLI flag
    type: str  # KFP type
    optional: bool
    description: str
    field: str | None = None  # camelCase spec field; None for runtime inputs
    required_by_schema: bool = False
    default: str | None = None


@dataclass(frozen=True)
class ComponentModel:
    overlay: Overlay
    crd: CrdInfo
    spec_inputs: tuple[InputModel, ...]
    runtime_inputs: tuple[InputModel, ...]
    upstream: UpstreamComponent | None = None
    upstream_outputs: tuple[PortSpec, ...] = ()

    @property
    def kind(self) -> str:
        return self.crd.kind

    @property
    def inputs(self) -> tuple[InputModel, ...]:
        return self.spec_inputs + self.runtime_inputs

    @property
    def outputs(self) -> tuple[PortSpec, ...]:
        return self.overlay.outputs + self.upstream_outputs

    @property
    def name_input(self) -> InputModel:
        return next(i for i in self.spec_inputs if i.field == self.overlay.name_field)


def _spec_inputs(crd: CrdInfo, overlay: Overlay) -> tuple[InputModel, ...]:
    required = set(crd.spec_required)
    inputs: list[InputModel] = []
    for field, schema in crd.spec_properties.items():
        is_name = field == overlay.name_field
        description = summarize(property_description(schema))
        if is_name:
            description = f"{description} {overlay.name_note or NAME_FIELD_NOTE}".strip()
        inputs.append(
            InputModel(
                name=snake_case(field),
                type=kfp_type(schema, field=field),
                optional=is_name or field not in required,
                description=description or f"The resource's spec.{field}.",
                field=field,
                required_by_schema=field in required,
            )
        )
    # Required first (what a user must fill in), then the name, then the rest; by name within.
    return tuple(sorted(inputs, key=lambda i: (i.optional, i.field != overlay.name_field, i.name)))


def _runtime_inputs(overlay: Overlay) -> tuple[InputModel, ...]:
    return tuple(
        InputModel(name=p.name, type=p.type, optional=True, description=p.description, default=p.default)
        for p in COMMON_RUNTIME_INPUTS + (JOB_LOG_INPUTS if overlay.job_logs else ()) + overlay.extra_inputs
    )


def build_model(crd: CrdInfo, overlay: Overlay, upstream: UpstreamComponent | None = None) -> ComponentModel:
    """Combine a CRD, its overlay and its upstream component (if any), checking they agree and
    that no two names collide."""
    where = str(overlay.path)
    if crd.kind != overlay.kind or crd.plural != overlay.plural:
        raise ConfigError(
            f"{where}: kind/plural {overlay.kind}/{overlay.plural} do not match the CRD's {crd.kind}/{crd.plural}"
        )
    if overlay.name_field not in crd.spec_properties:
        raise ConfigError(f"{where}: name_field {overlay.name_field!r} is not a spec field of {crd.kind}")
    if crd.spec_properties[overlay.name_field].get("type") != "string":
        raise ConfigError(f"{where}: name_field {overlay.name_field!r} is not a string field")
    model = ComponentModel(
        overlay=overlay,
        crd=crd,
        spec_inputs=_spec_inputs(crd, overlay),
        runtime_inputs=_runtime_inputs(overlay),
        upstream=upstream,
        upstream_outputs=upstream_outputs(crd, upstream, name_field=overlay.name_field) if upstream else (),
    )
    names = [i.name for i in model.inputs]
    clashes = sorted({n for n in names if names.count(n) > 1})
    if clashes:
        raise ConfigError(f"{where}: input name(s) used twice (spec field vs runtime input): {', '.join(clashes)}")
    ours = {o.name for o in overlay.outputs}
    doubled = sorted(ours & {o.name for o in model.upstream_outputs})
    if doubled:
        raise ConfigError(
            f"{where}: output name(s) {', '.join(doubled)} also derived from the CRD status for the upstream "
            "component (codegen/config.yaml upstream_v2); rename the overlay's output"
        )
    return model
