"""The upstream v2 components' output names: generated from the CRDs' status schemas for the kinds
of codegen/config.yaml's `upstream_v2` table, compared with what upstream declared
(tests/support/upstream_v2.py), and written generically by the runtime."""

from __future__ import annotations

import copy
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from sagemaker_ack_kfp.codegen.ack_release import AckRelease
from sagemaker_ack_kfp.codegen.config import GeneratorConfig, load_config
from sagemaker_ack_kfp.codegen.crds import read_crd
from sagemaker_ack_kfp.codegen.generating import COMPONENTS_DIR, build_models
from sagemaker_ack_kfp.codegen.loading import ConfigError
from sagemaker_ack_kfp.codegen.model import build_model
from sagemaker_ack_kfp.codegen.overlays import Overlay, PortSpec
from sagemaker_ack_kfp.codegen.upstream import UpstreamComponent
from sagemaker_ack_kfp.kinds import load_kind
from sagemaker_ack_kfp.localrun.values import parse_text
from sagemaker_ack_kfp.outputs import generic_outputs, write_outputs
from sagemaker_ack_kfp.overlays import rules_for
from tests.support.upstream_v2 import UPSTREAM_INPUTS, UPSTREAM_OUTPUTS

S, O, A = "String", "JsonObject", "JsonArray"

UPSTREAM_FOLDERS = {kind: ("Modelv2" if kind == "Model" else kind) for kind in UPSTREAM_OUTPUTS}


def _component(kind: str) -> dict[str, Any]:
    return yaml.safe_load((COMPONENTS_DIR / kind / "component.yaml").read_text())


# --- generated component.yaml ---------------------------------------------------------------


def test_the_table_names_exactly_the_nine_upstream_components(generator_config: GeneratorConfig) -> None:
    assert {kind: entry.component for kind, entry in generator_config.upstream.items()} == UPSTREAM_FOLDERS
    assert [k for k, e in generator_config.upstream.items() if not e.resource_name_output] == ["TrainingJob"]


@pytest.mark.parametrize("kind", sorted(UPSTREAM_OUTPUTS))
def test_component_has_upstream_outputs_after_its_own(kind: str, overlays: tuple[Overlay, ...]) -> None:
    outputs = [(o["name"], o["type"]) for o in _component(kind)["outputs"]]
    ours = [(o.name, o.type) for o in next(o for o in overlays if o.kind == kind).outputs]
    assert outputs[: len(ours)] == ours
    assert dict(outputs[len(ours) :]) == UPSTREAM_OUTPUTS[kind]
    args = _component(kind)["implementation"]["container"]["args"]
    for name in UPSTREAM_OUTPUTS[kind]:
        assert args[args.index(f"--output-{name}") + 1] == {"outputPath": name}


@pytest.mark.parametrize("kind", sorted(UPSTREAM_INPUTS))
def test_every_upstream_input_exists_with_its_type(kind: str) -> None:
    inputs = {i["name"]: i["type"] for i in _component(kind)["inputs"]}
    assert {name: inputs.get(name) for name in UPSTREAM_INPUTS[kind]} == UPSTREAM_INPUTS[kind]
    assert inputs["region"] == S and all(i.get("optional") for i in _component(kind)["inputs"] if i["name"] == "region")


def test_kinds_without_an_upstream_v2_component_get_no_extra_outputs() -> None:
    for kind in ("HyperParameterTuningJob", "ProcessingJob", "TransformJob"):
        names = {o["name"] for o in _component(kind)["outputs"]}
        assert not names & {"ack_resource_metadata", "conditions", "sagemaker_resource_name"}, kind


def test_kind_json_tells_the_runtime_where_each_upstream_output_comes_from() -> None:
    document = json.loads((COMPONENTS_DIR / "Endpoint" / "kind.json").read_text())
    by_name = {o["name"]: o for o in document["outputs"]}
    assert by_name["endpoint_name"] == {"name": "endpoint_name", "type": S}
    assert by_name["production_variants"] == {"name": "production_variants", "type": A, "statusField": "productionVariants"}
    assert by_name["sagemaker_resource_name"] == {"name": "sagemaker_resource_name", "type": S, "resourceName": True}


def test_readme_documents_the_upstream_outputs() -> None:
    text = (COMPONENTS_DIR / "Model" / "README.md").read_text()
    assert "replaces the upstream `Modelv2` component" in text
    assert "read them with `json.loads`, not `ast.literal_eval`" in text
    assert "| `sagemaker_resource_name` | String | Upstream `Modelv2` output: the SageMaker name of the resource (spec.modelName). |" in text
    index = (COMPONENTS_DIR / "README.md").read_text()
    assert "`model_name`, `model_arn`; and the 3 outputs of upstream `Modelv2`" in index


# --- derived from the CRD: a new controller release regenerates the list --------------------------


def _upstream(kind: str, *, resource_name: bool = True) -> UpstreamComponent:
    return UpstreamComponent(kind=kind, component=f"Up{kind}", resource_name_output=resource_name)


def test_a_new_status_field_becomes_an_output(ack_release: AckRelease, overlays: tuple[Overlay, ...]) -> None:
    overlay = next(o for o in overlays if o.kind == "Model")
    crd = read_crd(ack_release.crd("models"))
    status = copy.deepcopy(crd.status_schema)
    status["properties"]["modelCard"] = {"type": "object", "description": "The card.\n\nMore."}
    status["properties"]["inferenceSpecificationName"] = {"type": "string", "description": "A name."}
    status["properties"]["replicaCount"] = {"type": "integer", "description": "How many."}
    model = build_model(dataclasses.replace(crd, status_schema=status), overlay, _upstream("Model"))
    derived = {o.name: (o.type, o.status_field, o.resource_name) for o in model.upstream_outputs}
    assert derived == {
        "ack_resource_metadata": (O, "ackResourceMetadata", False),
        "conditions": (A, "conditions", False),
        "inference_specification_name": (S, "inferenceSpecificationName", False),
        "model_card": (O, "modelCard", False),
        # Numbers have no empty value a KFP 2 backend accepts: declared String.
        "replica_count": (S, "replicaCount", False),
        "sagemaker_resource_name": (S, None, True),
    }
    card = next(o for o in model.upstream_outputs if o.name == "model_card")
    assert card.description == "Upstream `UpModel` output: status.modelCard when the step ended (`{}` if absent). The card."


def test_an_overlay_output_that_clashes_with_a_status_output_is_refused(
    ack_release: AckRelease, overlays: tuple[Overlay, ...]
) -> None:
    overlay = next(o for o in overlays if o.kind == "Model")
    clashing = dataclasses.replace(overlay, outputs=(*overlay.outputs, PortSpec("conditions", A, "ours")))
    with pytest.raises(ConfigError, match=r"output name\(s\) conditions also derived from the CRD status"):
        build_model(read_crd(ack_release.crd("models")), clashing, _upstream("Model"))


def test_the_table_must_name_kinds_with_an_overlay(ack_release: AckRelease, overlays: tuple[Overlay, ...]) -> None:
    config = GeneratorConfig(image="x", tag="1", upstream={"Modle": _upstream("Modle")})
    with pytest.raises(ConfigError, match="upstream_v2 names kinds without an overlay: Modle"):
        build_models(ack_release, overlays, config)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("{component: Modelv2}", "missing key 'sagemaker_resource_name'"),
        ("{component: Modelv2, sagemaker_resource_name: true, outputs: []}", "unknown key 'outputs'"),
        ("{component: Modelv2, sagemaker_resource_name: 'yes'}", "must be true or false"),
        ("Modelv2", "expected a mapping"),
    ],
)
def test_the_table_is_strict(tmp_path: Path, entry: str, message: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(f"image: example.com/x\nupstream_v2:\n  Model: {entry}\n")
    with pytest.raises(ConfigError, match=message) as error:
        load_config(path)
    assert f"{path}: upstream_v2.Model: " in str(error.value)


# --- the runtime writes them generically -----------------------------------------------------------

TRAINING_FINAL: dict[str, Any] = {
    "spec": {"trainingJobName": "training-abc"},
    "status": {
        "ackResourceMetadata": {"arn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/training-abc",
                                "ownerAccountID": "123456789012", "region": "us-east-1"},
        "conditions": [{"type": "ACK.ResourceSynced", "status": "True", "lastTransitionTime": "2026-12-02T10:00:00Z"}],
        "creationTime": "2026-12-02T09:58:00Z",
        "modelArtifacts": {"s3ModelArtifacts": "s3://bucket/out/training-abc/output/model.tar.gz"},
        "secondaryStatus": "Completed",
        "trainingJobStatus": "Completed",
        "warmPoolStatus": {"status": "Available", "resourceRetainedBillableTimeInSeconds": 60},
        "debugRuleEvaluationStatuses": [],
        "failureReason": None,
    },
}


def test_status_fields_are_json_or_raw_and_absent_ones_empty_never_none() -> None:
    values = generic_outputs(load_kind("TrainingJob"), TRAINING_FINAL)
    assert values == {
        "ack_resource_metadata": '{"arn": "arn:aws:sagemaker:us-east-1:123456789012:training-job/training-abc", '
        '"ownerAccountID": "123456789012", "region": "us-east-1"}',
        "conditions": '[{"lastTransitionTime": "2026-12-02T10:00:00Z", "status": "True", "type": "ACK.ResourceSynced"}]',
        "creation_time": "2026-12-02T09:58:00Z",
        "debug_rule_evaluation_statuses": "[]",
        "failure_reason": "",  # null in the status
        "last_modified_time": "",  # absent
        "model_artifacts": '{"s3ModelArtifacts": "s3://bucket/out/training-abc/output/model.tar.gz"}',
        "profiler_rule_evaluation_statuses": "[]",
        "profiling_status": "",
        "secondary_status": "Completed",
        "training_job_status": "Completed",
        "warm_pool_status": '{"resourceRetainedBillableTimeInSeconds": 60, "status": "Available"}',
    }
    assert json.loads(values["model_artifacts"])["s3ModelArtifacts"].endswith("/model.tar.gz")


def test_resource_name_comes_from_the_spec_and_absent_objects_are_empty_json() -> None:
    final = {"spec": {"endpointName": "endpoint-x", "endpointConfigName": "config-y"}, "status": {"endpointStatus": "InService"}}
    values = generic_outputs(load_kind("Endpoint"), final)
    assert values["sagemaker_resource_name"] == "endpoint-x"
    assert values["endpoint_status"] == "InService"
    assert (values["pending_deployment_summary"], values["production_variants"], values["ack_resource_metadata"]) == (
        "{}", "[]", "{}")
    assert generic_outputs(load_kind("Model"), {"spec": {"modelName": "m"}}) == {
        "ack_resource_metadata": "{}", "conditions": "[]", "sagemaker_resource_name": "m"}


_IR_TYPES = {"String": "STRING", "Integer": "NUMBER_INTEGER", "Float": "NUMBER_DOUBLE", "Bool": "BOOLEAN",
             "JsonObject": "STRUCT", "JsonArray": "LIST"}


@pytest.mark.parametrize("kind", sorted(UPSTREAM_OUTPUTS))
def test_every_output_is_written_and_parses_as_kfp_2_reads_it(kind: str, tmp_path: Path) -> None:
    """A step with a bare final status still writes every declared output, each parseable by its
    type the way the KFP 2 launcher (and run-local) parse output files."""
    info = load_kind(kind)
    final = {"spec": {"endpointConfigName": "cfg-1", info.name_field: "res-1"},
             "status": {"ackResourceMetadata": {"arn": "arn:aws:sagemaker:us-east-1:1:x/res-1"}}}
    values = {**generic_outputs(info, final), **rules_for(kind).outputs(final)}
    paths = {o.name: str(tmp_path / o.name / "data") for o in info.outputs}
    write_outputs(values, paths)
    for output in info.outputs:
        text = Path(paths[output.name]).read_text()
        assert text != "None" and "None" not in text.split('"')[::2], (output.name, text)
        parse_text(text, _IR_TYPES[output.type], what=output.name)
    assert Path(paths["sagemaker_resource_name" if kind != "TrainingJob" else "training_job_name"]).read_text() == "res-1"
