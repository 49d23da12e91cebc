"""Parsing a step's raw command-line strings into the spec and runtime settings."""

from __future__ import annotations

import json

import pytest

from sagemaker_ack_kfp.inputs import InvalidValue, Problem, parse_inputs, parse_value
from sagemaker_ack_kfp.kinds import KindInfo, load_kind


@pytest.fixture(scope="module")
def training() -> KindInfo:
    return load_kind("TrainingJob")


@pytest.mark.parametrize(
    ("raw", "kfp_type", "expected"),
    [
        ("ml.m5.xlarge", "String", "ml.m5.xlarge"),
        ("  keeps spaces ", "String", "  keeps spaces "),
        ("5", "Integer", 5),
        ("5.0", "Integer", 5),
        ("-3", "Integer", -3),
        (" 7 ", "Integer", 7),
        ("1e3", "Integer", 1000),
        ("0.25", "Float", 0.25),
        ("3", "Float", 3.0),
        ("true", "Bool", True),
        ("True", "Bool", True),
        ("1", "Bool", True),
        ("false", "Bool", False),
        ("False", "Bool", False),
        ("0", "Bool", False),
        ('{"a": {"b": [1, 2]}}', "JsonObject", {"a": {"b": [1, 2]}}),
        ('[{"key": "k", "value": "v"}]', "JsonArray", [{"key": "k", "value": "v"}]),
        ("[]", "JsonArray", []),
    ],
)
def test_parse_value_accepts(raw: str, kfp_type: str, expected: object) -> None:
    value = parse_value(raw, kfp_type)
    assert value == expected
    assert type(value) is type(expected)


@pytest.mark.parametrize(
    ("raw", "kfp_type", "message"),
    [
        ("two", "Integer", "expected an integer, got 'two'"),
        ("5.5", "Integer", "expected an integer, got '5.5'"),
        ("inf", "Integer", "expected an integer, got 'inf'"),
        ("fast", "Float", "expected a number, got 'fast'"),
        ("nan", "Float", "expected a finite number, got 'nan'"),
        ("yes", "Bool", "expected true or false, got 'yes'"),
        ("[1]", "JsonObject", "expected a JSON object, got a JSON array"),
        ('{"a": 1}', "JsonArray", "expected a JSON array, got a JSON object"),
        ('"text"', "JsonObject", "expected a JSON object, got a JSON string"),
        ("null", "JsonObject", "expected a JSON object, got JSON null"),
        ('{"instanceCount" 1}', "JsonObject", "not valid JSON: Expecting ':' delimiter at line 1 column 18"),
        ('{"a": 1 "b": 2}', "JsonObject", "not valid JSON: Expecting ',' delimiter at line 1 column 9"),
        ('{"a": 1, "a": 2}', "JsonObject", "not valid JSON: duplicate key 'a'"),
        ('{"a": NaN}', "JsonObject", "not valid JSON: NaN is not a JSON number"),
        ("x" * 100, "Integer", "expected an integer, got '" + "x" * 39 + "…'"),
    ],
)
def test_parse_value_rejects(raw: str, kfp_type: str, message: str) -> None:
    with pytest.raises(InvalidValue) as error:
        parse_value(raw, kfp_type)
    assert str(error.value) == message


def test_builds_camel_case_spec_in_input_order(training: KindInfo) -> None:
    parsed = parse_inputs(
        training,
        {
            "training_job_name": "job-1",
            "role_arn": "arn:aws:iam::1:role/r",
            "resource_config": '{"instanceCount": 1, "instanceType": "ml.m5.xlarge", "volumeSizeInGB": 5}',
            "enable_network_isolation": "True",
        },
    )
    assert parsed.problems == ()
    assert parsed.spec == {
        "resourceConfig": {"instanceCount": 1, "instanceType": "ml.m5.xlarge", "volumeSizeInGB": 5},
        "roleARN": "arn:aws:iam::1:role/r",
        "trainingJobName": "job-1",
        "enableNetworkIsolation": True,
    }
    assert list(parsed.spec) == ["resourceConfig", "roleARN", "trainingJobName", "enableNetworkIsolation"]


def test_empty_string_means_not_given(training: KindInfo) -> None:
    parsed = parse_inputs(training, {"tags": "", "training_job_name": "", "timeout_seconds": ""})
    assert parsed.spec == {}
    assert parsed.problems == ()
    assert "timeout_seconds" not in parsed.runtime


def test_every_problem_is_collected(training: KindInfo) -> None:
    parsed = parse_inputs(
        training,
        {
            "hyper_parameters": "[1, 2]",
            "resource_config": '{"instanceCount": 1 "instanceType": "x"}',
            "enable_managed_spot_training": "maybe",
            "timeout_seconds": "soon",
            "role_arm": "arn",
            "tags": "[]",
        },
    )
    assert [str(p) for p in parsed.problems] == [
        "input 'hyper_parameters': expected a JSON object, got a JSON array",
        "input 'resource_config': not valid JSON: Expecting ',' delimiter at line 1 column 21",
        "input 'enable_managed_spot_training': expected true or false, got 'maybe'",
        "input 'timeout_seconds': expected an integer, got 'soon'",
        "input 'role_arm': unknown input; did you mean 'role_arn'?",
    ]
    assert parsed.problems[0] == Problem(
        "hyper_parameters", "expected a JSON object, got a JSON array", "spec.hyperParameters"
    )
    assert parsed.spec == {"tags": []}
    assert parsed.failed_inputs == {
        "hyper_parameters",
        "resource_config",
        "enable_managed_spot_training",
        "timeout_seconds",
        "role_arm",
    }


def test_runtime_inputs_are_typed_and_defaulted() -> None:
    endpoint = load_kind("Endpoint")
    parsed = parse_inputs(endpoint, {"region": "eu-west-1", "timeout_seconds": "600.0", "endpoint_config_name": "c"})
    assert parsed.runtime == {"region": "eu-west-1", "timeout_seconds": 600, "delete_on_cancel": False}
    assert parsed.spec == {"endpointConfigName": "c"}
    parsed = parse_inputs(endpoint, {"delete_on_cancel": "true"})
    assert parsed.runtime == {"delete_on_cancel": True}


def test_problem_paths_inside_an_input_are_not_quoted() -> None:
    assert str(Problem("resource_config.instanceCount", "expected integer")) == (
        "resource_config.instanceCount: expected integer"
    )
    assert Problem("input_data_config[0].channelName", "x").input == "input_data_config"
    assert str(Problem("role_arn", "required input missing")) == "input 'role_arn': required input missing"


def test_json_strings_produced_by_kfp_sdks_parse(training: KindInfo) -> None:
    """KFP 1.8 passes json.dumps output; KFP 2.x passes Struct JSON with floats for integers."""
    value = {"instanceCount": 1.0, "instanceType": "ml.m5.xlarge"}
    parsed = parse_inputs(training, {"resource_config": json.dumps(value, indent=2)})
    assert parsed.spec["resourceConfig"] == value
