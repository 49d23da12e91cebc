"""The hand-written part of each component: codegen/kinds/<snake_kind>.yaml.

An overlay says only what the CRD cannot: which kind and plural, the spec field holding
the SageMaker name, a description, the outputs the runtime writes, kind-specific runtime
inputs, whether the kind is a job whose CloudWatch logs a step can stream (`job_logs`), the
README example and, for a kind that names its resources differently, the note on its name
input. Every spec input, its type, required-ness and description
comes from the CRD. Adding a kind is adding one overlay file. Overlays are strict: an
unknown key is an error naming the key and file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .kfptypes import KFP_TYPES, kfp_default
from .loading import ConfigError, check_keys, expect_list, expect_str, read_yaml_mapping
from .naming import is_snake_case, snake_case

KINDS_DIR = Path(__file__).resolve().parent / "kinds"

_OVERLAY_REQUIRED = {"kind", "plural", "name_field", "description", "outputs", "example"}
_OVERLAY_OPTIONAL = {"extra_inputs", "job_logs", "name_note"}
_PORT_REQUIRED = {"name", "type", "description"}


@dataclass(frozen=True)
class PortSpec:
    """One output, or one kind-specific runtime input (then `default` may be set)."""

    name: str
    type: str
    description: str
    default: str | None = None  # as a component.yaml default string
    # Outputs the runtime writes generically (codegen/upstream.py), not by the kind's overlay:
    status_field: str | None = None  # the value of this top-level status field
    resource_name: bool = False  # the SageMaker name (the spec's name field)


@dataclass(frozen=True)
class Overlay:
    path: Path
    kind: str
    plural: str
    name_field: str
    description: str
    outputs: tuple[PortSpec, ...]
    extra_inputs: tuple[PortSpec, ...]
    example: str
    job_logs: bool = False  # a job writing CloudWatch logs: its component gets JOB_LOG_INPUTS
    # Replaces the generic note on the name input where a kind names things differently.
    name_note: str | None = None

    @property
    def snake_kind(self) -> str:
        return snake_case(self.kind)


def _load_port(item: Any, *, where: str, allow_default: bool) -> PortSpec:
    if not isinstance(item, dict):
        raise ConfigError(f"{where}: expected a mapping")
    check_keys(item, where=where, required=_PORT_REQUIRED, optional={"default"} if allow_default else ())
    name = expect_str(item, "name", where=where)
    if not is_snake_case(name):
        raise ConfigError(f"{where}: name {name!r} is not snake_case")
    port_type = expect_str(item, "type", where=where)
    if port_type not in KFP_TYPES:
        raise ConfigError(f"{where}: type {port_type!r} is not one of {', '.join(sorted(KFP_TYPES))}")
    default = None
    if "default" in item:
        try:
            default = kfp_default(item["default"], kfp_type_name=port_type)
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}") from exc
    description = " ".join(expect_str(item, "description", where=where).split())
    return PortSpec(name=name, type=port_type, description=description, default=default)


def _load_ports(data: dict[str, Any], key: str, *, path: Path, allow_default: bool) -> tuple[PortSpec, ...]:
    ports = tuple(
        _load_port(item, where=f"{path}: {key}[{index}]", allow_default=allow_default)
        for index, item in enumerate(expect_list(data, key, where=str(path)))
    )
    names = [port.name for port in ports]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ConfigError(f"{path}: {key}: duplicate name {', '.join(duplicates)}")
    return ports


def load_overlay(path: Path) -> Overlay:
    """Load and check one overlay file; the file name must be the kind in snake_case."""
    data = read_yaml_mapping(path)
    check_keys(data, where=str(path), required=_OVERLAY_REQUIRED, optional=_OVERLAY_OPTIONAL)
    kind = expect_str(data, "kind", where=str(path))
    if path.stem != snake_case(kind):
        raise ConfigError(f"{path}: the overlay of kind {kind!r} must be named {snake_case(kind)}.yaml")
    outputs = _load_ports(data, "outputs", path=path, allow_default=False)
    if not outputs:
        raise ConfigError(f"{path}: 'outputs' must list at least one output")
    example = expect_str(data, "example", where=str(path))
    job_logs = data.get("job_logs", False)
    if not isinstance(job_logs, bool):
        raise ConfigError(f"{path}: 'job_logs' must be true or false")
    return Overlay(
        path=path,
        kind=kind,
        plural=expect_str(data, "plural", where=str(path)),
        name_field=expect_str(data, "name_field", where=str(path)),
        description=" ".join(expect_str(data, "description", where=str(path)).split()),
        outputs=outputs,
        extra_inputs=_load_ports(data, "extra_inputs", path=path, allow_default=True),
        example=example.rstrip("\n") + "\n",
        job_logs=job_logs,
        name_note=" ".join(expect_str(data, "name_note", where=str(path)).split()) if "name_note" in data else None,
    )


def load_overlays(kinds_dir: Path = KINDS_DIR) -> tuple[Overlay, ...]:
    """Every overlay, sorted by kind."""
    overlays = tuple(load_overlay(path) for path in sorted(kinds_dir.glob("*.yaml")))
    if not overlays:
        raise ConfigError(f"{kinds_dir}: no overlay files")
    return tuple(sorted(overlays, key=lambda overlay: overlay.kind))
