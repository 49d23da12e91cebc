"""The component model and the documents rendered from it, against the real v1.9.1 CRDs."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from sagemaker_ack_kfp.codegen.ack_release import AckRelease
from sagemaker_ack_kfp.codegen.config import GeneratorConfig
from sagemaker_ack_kfp.codegen.crds import read_crd
from sagemaker_ack_kfp.codegen.identity import IDENTITY_ARGS
from sagemaker_ack_kfp.codegen.loading import ConfigError
from sagemaker_ack_kfp.codegen.model import ComponentModel, build_model
from sagemaker_ack_kfp.codegen.overlays import Overlay, PortSpec
from sagemaker_ack_kfp.codegen.rendering import (
    Provenance,
    component_document,
    kind_document,
    render_component_yaml,
    render_json,
)
from sagemaker_ack_kfp.codegen.templating import GENERATED_MARKER, TemplateError, render


def _overlay(overlays: tuple[Overlay, ...], kind: str) -> Overlay:
    return next(o for o in overlays if o.kind == kind)


def _model(release: AckRelease, overlays: tuple[Overlay, ...], kind: str) -> ComponentModel:
    overlay = _overlay(overlays, kind)
    return build_model(read_crd(release.crd(overlay.plural)), overlay)


@pytest.fixture(scope="module")
def training(ack_release: AckRelease, overlays: tuple[Overlay, ...]) -> ComponentModel:
    return _model(ack_release, overlays, "TrainingJob")


def test_training_job_inputs_follow_the_crd(training: ComponentModel) -> None:
    by_name = {i.name: i for i in training.spec_inputs}
    assert len(by_name) == 24
    assert [i.name for i in training.spec_inputs if not i.optional] == [
        "algorithm_specification",
        "output_data_config",
        "resource_config",
        "role_arn",
        "stopping_condition",
    ]
    assert by_name["role_arn"].field == "roleARN"
    assert by_name["hyper_parameters"].type == "JsonObject"
    assert by_name["input_data_config"].type == "JsonArray"
    assert by_name["enable_network_isolation"].type == "Bool"
    assert by_name["resource_config"].description.startswith("The resources, including the ML compute instances")
    name = training.name_input
    assert (name.name, name.optional, name.required_by_schema) == ("training_job_name", True, True)
    assert "deterministic name" in name.description


def test_runtime_inputs_come_after_the_spec_inputs(
    ack_release: AckRelease, overlays: tuple[Overlay, ...], training: ComponentModel
) -> None:
    assert [i.name for i in training.runtime_inputs] == [
        "region",
        "namespace",
        "timeout_seconds",
        "recoverable_grace_seconds",
        "no_controller_seconds",
        "stream_logs",
    ]
    assert all(i.optional and i.field is None for i in training.runtime_inputs)
    endpoint = _model(ack_release, overlays, "Endpoint")
    extra = endpoint.runtime_inputs[-1]
    assert (extra.name, extra.type, extra.default) == ("delete_on_cancel", "Bool", "False")


def test_stream_logs_is_an_input_of_exactly_the_jobs_whose_logs_a_step_streams(
    ack_release: AckRelease, overlays: tuple[Overlay, ...]
) -> None:
    from sagemaker_ack_kfp.overlays import rules_for

    with_input = {o.kind for o in overlays if "stream_logs" in [i.name for i in _model(ack_release, overlays, o.kind).runtime_inputs]}
    assert with_input == {"TrainingJob", "HyperParameterTuningJob", "ProcessingJob", "TransformJob"}
    # The runtime follows the logs of the same kinds (codegen and runtime agree).
    assert {o.kind for o in overlays if rules_for(o.kind).log_streams} == with_input


def test_hpo_inputs(ack_release: AckRelease, overlays: tuple[Overlay, ...]) -> None:
    hpo = _model(ack_release, overlays, "HyperParameterTuningJob")
    assert {i.name: (i.type, i.optional) for i in hpo.spec_inputs} == {
        "hyper_parameter_tuning_job_config": ("JsonObject", False),
        "hyper_parameter_tuning_job_name": ("String", True),
        "autotune": ("JsonObject", True),
        "tags": ("JsonArray", True),
        "training_job_definition": ("JsonObject", True),
        "training_job_definitions": ("JsonArray", True),
        "warm_start_config": ("JsonObject", True),
    }
    assert [o.name for o in hpo.outputs] == [
        "best_training_job_name",
        "best_hyperparameters",
        "best_objective_value",
        "model_artifact_url",
        "hpo_job_name",
        "hpo_job_arn",
        "status",
    ]
    assert {o.name: o.type for o in hpo.outputs}["best_objective_value"] == "Float"


def test_overlay_must_match_its_crd(ack_release: AckRelease, overlays: tuple[Overlay, ...]) -> None:
    overlay = _overlay(overlays, "TrainingJob")
    crd = read_crd(ack_release.crd("trainingjobs"))
    with pytest.raises(ConfigError, match="name_field 'trainingJobNam' is not a spec field"):
        build_model(crd, dataclasses.replace(overlay, name_field="trainingJobNam"))
    with pytest.raises(ConfigError, match="do not match the CRD"):
        build_model(read_crd(ack_release.crd("models")), overlay)


def test_runtime_input_clashing_with_a_spec_input_is_rejected(
    ack_release: AckRelease, overlays: tuple[Overlay, ...]
) -> None:
    overlay = dataclasses.replace(
        _overlay(overlays, "TrainingJob"),
        extra_inputs=(PortSpec(name="tags", type="String", description="clash"),),
    )
    with pytest.raises(ConfigError, match="used twice.*tags"):
        build_model(read_crd(ack_release.crd("trainingjobs")), overlay)


def test_component_args_layout(training: ComponentModel, generator_config: GeneratorConfig) -> None:
    args = component_document(training, generator_config)["implementation"]["container"]["args"]
    assert args[:4] == ["--kind", "TrainingJob", "--algorithm_specification", {"inputValue": "algorithm_specification"}]
    assert {
        "if": {
            "cond": {"isPresent": "training_job_name"},
            "then": ["--training_job_name", {"inputValue": "training_job_name"}],
        }
    } in args
    assert {"if": {"cond": {"isPresent": "region"}, "then": ["--region", {"inputValue": "region"}]}} in args
    identity_at = args.index(IDENTITY_ARGS[0])
    assert args[identity_at : identity_at + len(IDENTITY_ARGS)] == list(IDENTITY_ARGS)
    assert args[identity_at + len(IDENTITY_ARGS) :] == [
        "--output-model_artifact_url",
        {"outputPath": "model_artifact_url"},
        "--output-training_job_name",
        {"outputPath": "training_job_name"},
        "--output-training_job_arn",
        {"outputPath": "training_job_arn"},
        "--output-final_metrics",
        {"outputPath": "final_metrics"},
        "--output-rule_evaluations",
        {"outputPath": "rule_evaluations"},
        "--output-status",
        {"outputPath": "status"},
    ]


def test_component_yaml_text(training: ComponentModel, generator_config: GeneratorConfig) -> None:
    provenance = Provenance(ack_version="v1.9.1", crd_file="x.yaml", overlay_file="codegen/kinds/training_job.yaml")
    text = render_component_yaml(training, generator_config, provenance)
    assert text.splitlines()[0] == f"# {GENERATED_MARKER}"
    document = yaml.safe_load(text)
    assert document["name"] == "SageMaker TrainingJob"
    assert document["implementation"]["container"]["image"] == generator_config.image_ref
    assert document["implementation"]["container"]["command"] == ["python3", "-u", "-m", "sagemaker_ack_kfp.component"]
    inputs = {i["name"]: i for i in document["inputs"]}
    assert "optional" not in inputs["role_arn"]
    assert inputs["training_job_name"]["optional"] is True
    assert inputs["timeout_seconds"] == {
        "name": "timeout_seconds",
        "type": "Integer",
        "optional": True,
        "description": inputs["timeout_seconds"]["description"],
    }
    assert {o["name"]: o["type"] for o in document["outputs"]}["final_metrics"] == "JsonObject"


def test_kind_json_document(training: ComponentModel) -> None:
    document = json.loads(render_json(kind_document(training)))
    assert document["$comment"] == GENERATED_MARKER
    assert (document["kind"], document["group"], document["version"], document["plural"]) == (
        "TrainingJob",
        "sagemaker.services.k8s.aws",
        "v1alpha1",
        "trainingjobs",
    )
    assert document["nameField"] == "trainingJobName"
    assert {"name": "role_arn", "field": "roleARN", "type": "String", "required": True} in document["inputs"]
    assert {"name": "tags", "field": "tags", "type": "JsonArray", "required": False} in document["inputs"]
    assert document["runtimeInputs"][0] == {"name": "region", "type": "String"}
    assert document["specRequired"] == sorted(document["specRequired"])
    assert "trainingJobName" in document["specRequired"]
    assert document["specSchema"]["properties"]["resourceConfig"]["properties"]["instanceCount"]["type"] == "integer"
    assert render_json(kind_document(training)).endswith("}\n")


def test_templates_are_strict(tmp_path: Path) -> None:
    (tmp_path / "t.tmpl").write_text("a ${x} b\n")
    assert render("t.tmpl", templates_dir=tmp_path, x="1") == "a 1 b\n"
    with pytest.raises(TemplateError, match=r"missing values \['x'\]"):
        render("t.tmpl", templates_dir=tmp_path)
    with pytest.raises(TemplateError, match=r"unused values \['y'\]"):
        render("t.tmpl", templates_dir=tmp_path, x="1", y="2")


def _record_example(overlay: Overlay) -> dict[str, Any]:
    calls: dict[str, Any] = {}

    def component(**kwargs: Any) -> Any:
        calls.update(kwargs)
        return None

    exec(compile(overlay.example, str(overlay.path), "exec"), {f"sagemaker_{overlay.snake_kind}": component})
    return calls


def test_readme_examples_are_valid_inputs(overlays: tuple[Overlay, ...]) -> None:
    """Every overlay example, passed through the runtime's parsing and validation, is clean."""
    from sagemaker_ack_kfp.inputs import parse_inputs
    from sagemaker_ack_kfp.kinds import load_kind
    from sagemaker_ack_kfp.validating import coerce_integers, validate_spec

    for overlay in overlays:
        kwargs = _record_example(overlay)
        assert kwargs, overlay.kind
        raw = {k: v if isinstance(v, str) else json.dumps(v) for k, v in kwargs.items()}
        info = load_kind(overlay.kind)
        parsed = parse_inputs(info, raw)
        spec = {**parsed.spec, info.name_field: "example-name"}
        problems = [*parsed.problems, *validate_spec(info, coerce_integers(info.spec_schema, spec))]
        assert problems == [], f"{overlay.kind}: {[str(p) for p in problems]}"


def test_a_name_note_replaces_the_generic_one(ack_release: AckRelease, overlays: tuple[Overlay, ...]) -> None:
    package = _model(ack_release, overlays, "ModelPackage")
    name = package.name_input.description
    assert "Leave it out when model_package_group_name is given" in name
    assert "Optional here: when it is not given" not in name
    training = _model(ack_release, overlays, "TrainingJob")
    assert "Optional here: when it is not given" in training.name_input.description


def test_readme_of_a_kind_without_json_objects_shows_a_list(ack_release: AckRelease, overlays: tuple[Overlay, ...],
                                                            generator_config: GeneratorConfig) -> None:
    from sagemaker_ack_kfp.codegen.rendering import render_kind_readme

    group = _model(ack_release, overlays, "ModelPackageGroup")
    provenance = Provenance(ack_version="v1.9.1", crd_file="x.yaml", overlay_file="codegen/kinds/model_package_group.yaml")
    assert '(for example `tags=[{"key": ...}]`)' in render_kind_readme(group, generator_config, provenance)
