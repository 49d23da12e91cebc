"""Formatting a ComponentModel into the files of components/<Kind>/ and the index files.

Each document is first built as plain data (the dict a KFP SDK or the runtime will read),
then laid out through a template. The component.yaml text is parsed back and compared
with its data before it is accepted, so a template change cannot produce a file that
means something else than the model.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import yaml

from .config import GeneratorConfig
from .identity import IDENTITY_ARGS
from .model import ComponentModel, InputModel
from .overlays import PortSpec
from .templating import GENERATED_MARKER, TemplateError, indent, render
from .yamlfmt import block, flow

COMMAND: Final[tuple[str, ...]] = ("python3", "-u", "-m", "sagemaker_ack_kfp.component")


@dataclass(frozen=True)
class Provenance:
    """Where the inputs of a generation came from, as shown in the generated files."""

    ack_version: str
    crd_file: str  # file name of the kind's CRD
    overlay_file: str  # repository-relative path of the overlay


def component_name(model: ComponentModel) -> str:
    return f"SageMaker {model.kind}"


def op_name(model: ComponentModel) -> str:
    """The variable the README example binds the loaded component to."""
    return f"sagemaker_{model.overlay.snake_kind}"


def output_flag(name: str) -> str:
    return f"--output-{name}"


# --- component.yaml -------------------------------------------------------------------


def _input_spec(item: InputModel) -> dict[str, Any]:
    spec: dict[str, Any] = {"name": item.name, "type": item.type}
    if item.default is not None:
        spec["default"] = item.default
    if item.optional:
        spec["optional"] = True
    spec["description"] = item.description
    return spec


def _input_args(item: InputModel) -> list[Any]:
    """`--x <value>` for a required input; an isPresent guard so an unset optional one is omitted."""
    pair: list[Any] = [f"--{item.name}", {"inputValue": item.name}]
    if not item.optional:
        return pair
    return [{"if": {"cond": {"isPresent": item.name}, "then": pair}}]


def component_args(model: ComponentModel) -> list[Any]:
    args: list[Any] = ["--kind", model.kind]
    for item in model.inputs:
        args.extend(_input_args(item))
    args.extend(IDENTITY_ARGS)
    for output in model.outputs:
        args.extend([output_flag(output.name), {"outputPath": output.name}])
    return args


def component_document(model: ComponentModel, config: GeneratorConfig) -> dict[str, Any]:
    """The component.yaml content as data (KFP v1 component spec)."""
    return {
        "name": component_name(model),
        "description": model.overlay.description,
        "inputs": [_input_spec(item) for item in model.inputs],
        "outputs": [{"name": o.name, "type": o.type, "description": o.description} for o in model.outputs],
        "implementation": {
            "container": {
                "image": config.image_ref,
                "command": list(COMMAND),
                "args": component_args(model),
            }
        },
    }


def render_component_yaml(model: ComponentModel, config: GeneratorConfig, provenance: Provenance) -> str:
    document = component_document(model, config)
    container = document["implementation"]["container"]
    text = render(
        "kind.component.yaml.tmpl",
        marker=GENERATED_MARKER,
        ack_version=provenance.ack_version,
        crd_file=provenance.crd_file,
        overlay_file=provenance.overlay_file,
        header=block({"name": document["name"], "description": document["description"]}).rstrip("\n"),
        inputs=block(document["inputs"]).rstrip("\n"),
        outputs=block(document["outputs"]).rstrip("\n"),
        image=flow(container["image"]),
        command=flow(container["command"]),
        args="\n".join(f"    - {flow(arg)}" for arg in container["args"]),
    )
    if yaml.safe_load(text) != document:
        raise TemplateError(f"kind.component.yaml.tmpl: rendered {model.kind} component.yaml does not parse back")
    return text


# --- kind.json ------------------------------------------------------------------------


def kind_document(model: ComponentModel) -> dict[str, Any]:
    """What the runtime reads at run time (sagemaker_ack_kfp.kinds.load_kind)."""
    runtime_inputs = []
    for item in model.runtime_inputs:
        entry: dict[str, Any] = {"name": item.name, "type": item.type}
        if item.default is not None:
            entry["default"] = item.default
        runtime_inputs.append(entry)
    return {
        "$comment": GENERATED_MARKER,
        "kind": model.kind,
        "group": model.crd.group,
        "version": model.crd.version,
        "plural": model.crd.plural,
        "nameField": model.overlay.name_field,
        "inputs": [
            {"name": i.name, "field": i.field, "type": i.type, "required": i.required_by_schema}
            for i in model.spec_inputs
        ],
        "runtimeInputs": runtime_inputs,
        "outputs": [_output_entry(o) for o in model.outputs],
        "specSchema": model.crd.spec_schema,
        "specRequired": sorted(model.crd.spec_required),
    }


def _output_entry(output: PortSpec) -> dict[str, Any]:
    """An output as kind.json lists it; the runtime writes the generic ones itself."""
    entry: dict[str, Any] = {"name": output.name, "type": output.type}
    if output.status_field:
        entry["statusField"] = output.status_field
    if output.resource_name:
        entry["resourceName"] = True
    return entry


def render_json(document: Any) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# --- README.md ------------------------------------------------------------------------


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _required_cell(model: ComponentModel, item: InputModel) -> str:
    if item.field == model.overlay.name_field:
        return "no (generated if absent)"
    return "no" if item.optional else "yes"


def _table(rows: Sequence[Sequence[str]]) -> str:
    return "\n".join("| " + " | ".join(row) + " |" for row in rows)


def _nested_field_example(model: ComponentModel) -> str:
    """E.g. `resource_config={"instanceCount": ...}`: a JSON input with the first of its nested
    fields; for a kind whose only JSON inputs are lists (ModelPackageGroup), `tags=[{"key": ...}]`."""
    properties = model.crd.spec_properties
    objects = [
        (i.optional, i.name, next(iter(properties[i.field]["properties"])))
        for i in model.spec_inputs
        if i.type == "JsonObject" and i.field is not None and properties[i.field].get("properties")
    ]
    if objects:
        _, name, first = min(objects)
        return f'{name}={{"{first}": ...}}'
    lists = [
        (i.optional, i.name, next(iter(properties[i.field]["items"]["properties"])))
        for i in model.spec_inputs
        if i.type == "JsonArray" and i.field is not None and (properties[i.field].get("items") or {}).get("properties")
    ]
    if not lists:
        raise TemplateError(f"{model.kind}: no JSON input to show in the README")
    _, name, first = min(lists)
    return f'{name}=[{{"{first}": ...}}]'


def _upstream_note(model: ComponentModel) -> str:
    """The paragraph above the outputs table of a kind that replaces an upstream v2 component."""
    if model.upstream is None:
        return ""
    names = ", ".join(f"`{o.name}`" for o in model.upstream_outputs)
    return (
        f"This component replaces the upstream `{model.upstream.component}` component (kubeflow/pipelines "
        f"`components/aws/sagemaker/{model.upstream.component}`, removed in 2026) and also writes its outputs, "
        f"under the same names and types: {names}. Objects and lists are JSON (read them with `json.loads`, "
        "not `ast.literal_eval`); a status field that is absent is written as `\"\"`, `{}` or `[]`, never "
        '`None`. See "Migrating from the upstream v2 components" in the project README.\n\n'
    )


def render_kind_readme(model: ComponentModel, config: GeneratorConfig, provenance: Provenance) -> str:
    example_field = _nested_field_example(model)
    return render(
        "kind.README.md.tmpl",
        marker=GENERATED_MARKER,
        ack_version=provenance.ack_version,
        crd_file=provenance.crd_file,
        overlay_file=provenance.overlay_file,
        title=component_name(model),
        description=model.overlay.description,
        kind=model.kind,
        api_version=f"{model.crd.group}/{model.crd.version}",
        example_field=example_field,
        image=config.image_ref,
        spec_inputs_table=_table(
            [
                (f"`{i.name}`", i.type, _required_cell(model, i), f"`{i.field}`", _cell(i.description))
                for i in model.spec_inputs
            ]
        ),
        runtime_inputs_table=_table(
            [
                (f"`{i.name}`", i.type, f"`{i.default}`" if i.default is not None else "not set", _cell(i.description))
                for i in model.runtime_inputs
            ]
        ),
        outputs_table=_table([(f"`{o.name}`", o.type, _cell(o.description)) for o in model.outputs]),
        upstream_note=_upstream_note(model),
        op_name=op_name(model),
        pipeline_name=f"{model.overlay.snake_kind.replace('_', '-')}-example",
        example_body=indent(model.overlay.example, "    ").rstrip("\n"),
    )


def _index_outputs(model: ComponentModel) -> str:
    ours = ", ".join(f"`{o.name}`" for o in model.overlay.outputs)
    if model.upstream is None:
        return ours
    return f"{ours}; and the {len(model.upstream_outputs)} outputs of upstream `{model.upstream.component}`"


def render_index_readme(models: Sequence[ComponentModel], config: GeneratorConfig, *, ack_version: str) -> str:
    rows = [
        (
            m.kind,
            f"[`{m.kind}/component.yaml`]({m.kind}/component.yaml) ([docs]({m.kind}/README.md))",
            _cell(m.overlay.description),
            _index_outputs(m),
        )
        for m in models
    ]
    return render(
        "README.md.tmpl",
        marker=GENERATED_MARKER,
        ack_version=ack_version,
        image=config.image_ref,
        kinds_table=_table(rows),
    )


# --- generation-metadata.yaml ---------------------------------------------------------


def render_metadata(document: dict[str, Any]) -> str:
    return render("generation-metadata.yaml.tmpl", marker=GENERATED_MARKER, body=block(document).rstrip("\n"))
