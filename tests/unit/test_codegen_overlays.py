"""Strict loading of the generator's hand-written files, names and type mapping."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from sagemaker_ack_kfp.codegen.config import load_config, project_version
from sagemaker_ack_kfp.codegen.crds import summarize
from sagemaker_ack_kfp.codegen.kfptypes import UnsupportedSchema, kfp_default, kfp_type
from sagemaker_ack_kfp.codegen.loading import ConfigError
from sagemaker_ack_kfp.codegen.naming import snake_case
from sagemaker_ack_kfp.codegen.overlays import KINDS_DIR, load_overlay, load_overlays

VALID_OVERLAY = """\
kind: TrainingJob
plural: trainingjobs
name_field: trainingJobName
description: >-
  Trains
  a model.
outputs:
  - name: model_artifact_url
    type: String
    description: Where the model is.
extra_inputs:
  - name: delete_on_cancel
    type: Bool
    default: false
    description: Delete it.
example: |
  job = sagemaker_training_job(role_arn="r")
"""


def _write(tmp_path: Path, text: str, name: str = "training_job.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def test_valid_overlay_loads(tmp_path: Path) -> None:
    overlay = load_overlay(_write(tmp_path, VALID_OVERLAY))
    assert overlay.kind == "TrainingJob"
    assert overlay.snake_kind == "training_job"
    assert overlay.description == "Trains a model."
    assert [(o.name, o.type) for o in overlay.outputs] == [("model_artifact_url", "String")]
    assert overlay.extra_inputs[0].default == "False"
    assert overlay.example == 'job = sagemaker_training_job(role_arn="r")\n'


def test_unknown_top_level_key_names_key_and_file(tmp_path: Path) -> None:
    path = _write(tmp_path, VALID_OVERLAY + "output_types: {}\n")
    with pytest.raises(ConfigError) as error:
        load_overlay(path)
    assert "'output_types'" in str(error.value)
    assert str(path) in str(error.value)


def test_unknown_key_inside_an_output_names_its_position(tmp_path: Path) -> None:
    path = _write(tmp_path, VALID_OVERLAY.replace("    type: String\n", "    type: String\n    optional: true\n"))
    with pytest.raises(ConfigError, match=r"outputs\[0\]: unknown key 'optional'"):
        load_overlay(path)


def test_outputs_cannot_have_defaults(tmp_path: Path) -> None:
    path = _write(tmp_path, VALID_OVERLAY.replace("    type: String\n", "    type: String\n    default: x\n"))
    with pytest.raises(ConfigError, match=r"outputs\[0\]: unknown key 'default'"):
        load_overlay(path)


def test_missing_key_is_an_error(tmp_path: Path) -> None:
    path = _write(tmp_path, VALID_OVERLAY.replace("name_field: trainingJobName\n", ""))
    with pytest.raises(ConfigError, match="missing key 'name_field'"):
        load_overlay(path)


def test_file_name_must_be_the_snake_case_kind(tmp_path: Path) -> None:
    path = _write(tmp_path, VALID_OVERLAY, name="trainingjob.yaml")
    with pytest.raises(ConfigError, match="must be named training_job.yaml"):
        load_overlay(path)


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("type: String", "type: Str", "type 'Str' is not one of"),
        ("name: model_artifact_url", "name: modelArtifactUrl", "is not snake_case"),
        ("default: false", "default: 'no'", "is not a boolean"),
    ],
)
def test_bad_port_values(tmp_path: Path, old: str, new: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_overlay(_write(tmp_path, VALID_OVERLAY.replace(old, new)))


def test_duplicate_output_names(tmp_path: Path) -> None:
    doubled = VALID_OVERLAY.replace(
        "extra_inputs:",
        "  - name: model_artifact_url\n    type: String\n    description: again\nextra_inputs:",
    )
    with pytest.raises(ConfigError, match="duplicate name model_artifact_url"):
        load_overlay(_write(tmp_path, doubled))


def test_not_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="expected a mapping"):
        load_overlay(_write(tmp_path, "- just\n- a list\n"))


def test_every_shipped_overlay_loads() -> None:
    kinds = [o.kind for o in load_overlays(KINDS_DIR)]
    assert kinds == sorted(kinds)
    assert {"TrainingJob", "HyperParameterTuningJob", "Endpoint", "ModelQualityJobDefinition"} <= set(kinds)
    assert len(kinds) == 18


def test_config_is_strict_and_tags_the_image_with_the_project_version(tmp_path: Path) -> None:
    good = tmp_path / "config.yaml"
    good.write_text("image: example.com/team/components\n")
    assert load_config(good, version="9.9.9").image_ref == "example.com/team/components:9.9.9"
    assert load_config(good).tag == project_version()

    unknown = tmp_path / "unknown.yaml"
    unknown.write_text("image: example.com/x\ntag: latest\n")
    with pytest.raises(ConfigError, match=r"unknown key 'tag'"):
        load_config(unknown)
    tagged = tmp_path / "tagged.yaml"
    tagged.write_text("image: example.com/x:latest\n")
    with pytest.raises(ConfigError, match="must not carry a tag"):
        load_config(tagged)


@pytest.mark.parametrize(
    ("camel", "snake"),
    [
        ("trainingJobName", "training_job_name"),
        ("hyperParameterTuningJobConfig", "hyper_parameter_tuning_job_config"),
        ("roleARN", "role_arn"),
        ("executionRoleARN", "execution_role_arn"),
        ("kmsKeyID", "kms_key_id"),
        ("maxPayloadInMB", "max_payload_in_mb"),
        ("s3URI", "s3_uri"),
        ("tags", "tags"),
        ("HyperParameterTuningJob", "hyper_parameter_tuning_job"),
        ("ModelQualityJobDefinition", "model_quality_job_definition"),
    ],
)
def test_snake_case(camel: str, snake: str) -> None:
    assert snake_case(camel) == snake


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({"type": "object", "properties": {"a": {"type": "string"}}}, "JsonObject"),
        ({"type": "object", "additionalProperties": {"type": "string"}}, "JsonObject"),
        ({"type": "array", "items": {"type": "object"}}, "JsonArray"),
        ({"type": "string"}, "String"),
        ({"type": "integer", "format": "int64"}, "Integer"),
        ({"type": "number"}, "Float"),
        ({"type": "boolean"}, "Bool"),
    ],
)
def test_kfp_type_mapping(schema: dict[str, object], expected: str) -> None:
    assert kfp_type(schema, field="x") == expected


def test_kfp_type_rejects_untyped_schema() -> None:
    with pytest.raises(UnsupportedSchema, match=r"spec\.odd: schema type None"):
        kfp_type({"x-kubernetes-int-or-string": True}, field="odd")


def test_kfp_defaults_are_the_strings_kfp_passes() -> None:
    assert kfp_default(True, kfp_type_name="Bool") == "True"
    assert kfp_default(7, kfp_type_name="Integer") == "7"
    with pytest.raises(ValueError):
        kfp_default(True, kfp_type_name="Integer")
    with pytest.raises(ValueError):
        kfp_default("{}", kfp_type_name="JsonObject")


def test_summarize_keeps_the_first_paragraph_on_one_line() -> None:
    text = "First line\nwraps here.\n\nSecond paragraph."
    assert summarize(text) == "First line wraps here."
    listing = "Associates a job. Specified when you call the\nfollowing APIs:\n\n   * CreateTrainingJob"
    assert summarize(listing) == "Associates a job."
    long = " ".join([f"Sentence number {i} is here." for i in range(60)])
    short = summarize(long, limit=100)
    assert short.endswith(".") and len(short) <= 100


def test_name_note_is_optional_and_folded(tmp_path: Path) -> None:
    assert load_overlay(_write(tmp_path, VALID_OVERLAY)).name_note is None
    overlay = load_overlay(_write(tmp_path, VALID_OVERLAY + "name_note: >-\n  Named\n  by SageMaker.\n"))
    assert overlay.name_note == "Named by SageMaker."
