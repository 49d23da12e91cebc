"""Bad inputs, fuzzed from the real CRD schema and listed by hand: the step says what is wrong
(the input, the path inside it, what was expected), exits 2, and creates nothing. Never a
traceback, never another exit code.

The in-process fuzz runs many examples through the step's input preparation; a smaller sample
and the hand-written matrix run the real component command against the real API server.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from sagemaker_ack_kfp.errors import InputError
from sagemaker_ack_kfp.inputs import Problem
from sagemaker_ack_kfp.runner import prepare_spec
from sagemaker_ack_kfp.validating import validate_spec
from tests.faults.harness import Running, component, custom_resources, new_run_id
from tests.faults.mutations import KIND, Case, bad_inputs, base_spec, render
from tests.support.cluster import Cluster
from tests.support.component_command import StepResult
from tests.support.manifests import tags, training_arguments, training_spec

HEADER = "The TrainingJob step's inputs have "


def test_the_fuzzing_base_is_valid() -> None:
    assert validate_spec(KIND, base_spec()) == []
    assert prepare_spec(KIND, render(base_spec()))["trainingJobName"] == "fuzz-base"


@given(case=bad_inputs())
@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_fuzzed_inputs_fail_only_as_input_errors_naming_the_input(case: Case) -> None:
    raw = {**case.raw, **case.unknown_inputs}
    try:
        spec = prepare_spec(KIND, raw)
    except InputError as exc:
        assert exc.exit_code == 2
        assert exc.message.startswith(HEADER), exc.message
        for name in case.broken:
            assert name in exc.message, f"the report does not name {name!r}:\n{exc.message}"
    else:
        assert not case.broken, f"accepted inputs that are certainly invalid: {sorted(case.broken)}"
        assert validate_spec(KIND, {**spec, KIND.name_field: spec.get(KIND.name_field) or "generated"}) == []


def _run(cluster: Cluster, workdir: Path, arguments: dict[str, Any], extra_argv: list[str]) -> StepResult:
    step = component(cluster, workdir, arguments, run_id=new_run_id())
    step.argv += extra_argv
    return Running(step).finish(timeout=120)


def _assert_rejected(result: StepResult, cluster: Cluster, namespace: str) -> None:
    assert result.returncode == 2, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: "), result.stderr
    assert "created" not in result.stdout
    assert result.outputs == {}
    assert custom_resources(cluster, namespace) == []


@pytest.mark.integration
@given(case=bad_inputs().filter(lambda case: bool(case.broken)))
@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_fuzzed_bad_inputs_exit_2_through_the_real_command(
    cluster: Cluster, namespace: str, tmp_path_factory: pytest.TempPathFactory, case: Case
) -> None:
    extra = [part for name, value in case.unknown_inputs.items() for part in (f"--{name}", value)]
    # KFP refuses to start a step without its required inputs; what reaches the container is "".
    arguments = {**case.raw, **{name: "" for name in case.deleted}, "namespace": namespace}
    result = _run(cluster, tmp_path_factory.mktemp("fuzz"), arguments, extra)
    _assert_rejected(result, cluster, namespace)


# ----- the explicit matrix ----------------------------------------------------------------------

# A required input left empty: KFP will not start a step without it, but passes "" along.
EMPTY = ""
VALID = training_spec("unused")


def problem(path: str, message: str) -> str:
    """A problem line exactly as the step prints it."""
    return str(Problem(path, message))


UNQUOTED_NAME = "Expecting property name enclosed in double quotes"
REQUIRED = ("algorithm_specification", "output_data_config", "resource_config", "role_arn", "stopping_condition")
S3_TYPO = {"s3DataSource": {"s3DataType": "S3Prefix", "s3Url": "s3://b/t"}}


def with_resource(**changes: Any) -> dict[str, Any]:
    return {**VALID["resourceConfig"], **changes}


MATRIX: list[tuple[str, dict[str, Any], list[str], list[str]]] = [
    # (id, edits to the valid arguments (raw strings pass through as KFP would), extra argv, expected in stderr)
    ("object-not-json", {"resource_config": "{instanceCount: 1}"}, [],
     [problem("resource_config", f"not valid JSON: {UNQUOTED_NAME} at line 1 column 2")]),
    ("array-truncated", {"input_data_config": '[{"channelName": "train"'}, [],
     [problem("input_data_config", "not valid JSON: Expecting ',' delimiter at line 1 column 25")]),
    ("array-for-object", {"hyper_parameters": '["k", "10"]'}, [],
     [problem("hyper_parameters", "expected a JSON object, got a JSON array")]),
    ("object-for-array", {"input_data_config": '{"channelName": "train"}'}, [],
     [problem("input_data_config", "expected a JSON array, got a JSON object")]),
    ("string-for-object", {"stopping_condition": '"3600"'}, [],
     [problem("stopping_condition", "expected a JSON object, got a JSON string")]),
    ("null-for-object", {"output_data_config": "null"}, [],
     [problem("output_data_config", "expected a JSON object, got JSON null")]),
    ("duplicate-key", {"hyper_parameters": '{"k": "10", "k": "12"}'}, [],
     [problem("hyper_parameters", "not valid JSON: duplicate key 'k'")]),
    ("nan-is-not-json", {"resource_config": '{"instanceCount": NaN}'}, [],
     [problem("resource_config", "not valid JSON: NaN is not a JSON number")]),
    ("bool-not-true-or-false", {"enable_network_isolation": "yes please"}, [],
     [problem("enable_network_isolation", "expected true or false, got 'yes please'")]),
    ("kfp2-fractional-integer", {"resource_config": with_resource(volumeSizeInGB=5.5)}, [],
     [problem("resource_config.volumeSizeInGB", "expected integer, got number 5.5")]),
    ("required-input-missing", {"role_arn": EMPTY}, [],
     [problem("role_arn", "required input missing")]),
    ("every-required-input-missing",
     {name: EMPTY for name in REQUIRED},
     [], [HEADER + "5 problems", problem("stopping_condition", "required input missing")]),
    ("name-with-bad-characters", {"training_job_name": "my_job!"}, [],
     [problem("training_job_name", "'my_job!' is not a valid SageMaker name")]),
    ("name-too-long", {"training_job_name": "a" * 64}, [],
     [problem("training_job_name", f"'{'a' * 64}' is not a valid SageMaker name")]),
    ("unknown-field-deep-in-array",
     {"input_data_config": [{"channelName": "train", "dataSource": S3_TYPO}]},
     [], [problem("input_data_config[0].dataSource.s3DataSource.s3Url", "unknown field; did you mean 's3URI'?")]),
    ("number-in-tag-value", {"tags": [{"key": "team", "value": 7}]}, [],
     [problem("tags[0].value", 'expected string, got number 7 (quote it: "7")')]),
    ("string-for-tag-object", {"tags": ["team=ml"]}, [],
     [problem("tags[0]", 'expected object, got string "team=ml"')]),
    ("object-in-environment", {"environment": {"CONFIG": {"level": 1}}}, [],
     [problem("environment.CONFIG", "expected string, got an object")]),
    ("timeout-not-a-number", {"timeout_seconds": "ten"}, [],
     ["input 'timeout_seconds': expected a number of seconds, got 'ten'"]),
    ("negative-no-controller-seconds", {"no_controller_seconds": "-5"}, [],
     ["input 'no_controller_seconds': must not be negative, got -5"]),
    ("unknown-argument", {}, ["--instance_type", "ml.m5.large"],
     ["bad arguments: unrecognized arguments: --instance_type"]),
    ("argument-without-value", {}, ["--role_arn"],
     ["bad arguments: argument --role_arn: expected one argument"]),
    ("problems-in-three-inputs-at-once",
     {"resource_config": with_resource(instanceCount="two"), "hyper_parameters": {"k": 10}, "stopping_condition": "{"},
     [], [HEADER + "3 problems",
          problem("resource_config.instanceCount", 'expected integer, got string "two"'),
          problem("hyper_parameters.k", 'expected string, got number 10 (quote it: "10")'),
          problem("stopping_condition", f"not valid JSON: {UNQUOTED_NAME} at line 1 column 2")]),
    ("deeply-nested-json", {"hyper_parameters": "[" * 5000 + "]" * 5000}, [],
     [problem("hyper_parameters", "not valid JSON")]),
    ("integer-with-5000-digits", {"resource_config": '{"instanceCount": ' + "1" * 5000 + "}"}, [],
     [problem("resource_config", "not valid JSON")]),
    # Bounded even if accepted: without a controller the step gives up after 1s, with one the job never starts.
    ("timeout-nan", {"timeout_seconds": "nan", "no_controller_seconds": "1", "recoverable_grace_seconds": "1",
                     "tags": tags(validation_error="rejected by the test")}, [],
     ["input 'timeout_seconds': expected a finite number of seconds, got 'nan'"]),
]


@pytest.mark.integration
@pytest.mark.parametrize(("case_id", "edits", "extra_argv", "expected"), MATRIX, ids=[case[0] for case in MATRIX])
def test_bad_input_matrix_through_the_real_command(
    cluster: Cluster,
    namespace: str,
    tmp_path: Path,
    case_id: str,
    edits: dict[str, Any],
    extra_argv: list[str],
    expected: list[str],
) -> None:
    arguments = training_arguments(namespace)
    arguments.update(edits)
    result = _run(cluster, tmp_path, arguments, list(extra_argv))
    _assert_rejected(result, cluster, namespace)
    for text in expected:
        assert text in result.stderr, f"{case_id}: expected {text!r} in:\n{result.stderr}"


def test_the_matrix_is_big_enough() -> None:
    assert len(MATRIX) >= 20
    assert len({case[0] for case in MATRIX}) == len(MATRIX)
