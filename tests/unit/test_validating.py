"""Validation of specs against the real v1.9.1 TrainingJob and HyperParameterTuningJob schemas."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sagemaker_ack_kfp.inputs import Problem, parse_inputs
from sagemaker_ack_kfp.kinds import KindInfo, kind_info_from_document, load_kind
from sagemaker_ack_kfp.validating import closed_schema, coerce_integers, format_problems, validate_spec

TRAINING_SPEC: dict[str, Any] = {
    "trainingJobName": "job-1",
    "roleARN": "arn:aws:iam::123456789012:role/SageMaker",
    "algorithmSpecification": {"trainingImage": "img:1", "trainingInputMode": "File"},
    "outputDataConfig": {"s3OutputPath": "s3://bucket/output/"},
    "resourceConfig": {"instanceCount": 1, "instanceType": "ml.m5.xlarge", "volumeSizeInGB": 10},
    "stoppingCondition": {"maxRuntimeInSeconds": 3600},
    "hyperParameters": {"num_round": "50"},
    "inputDataConfig": [
        {"channelName": "train", "dataSource": {"s3DataSource": {"s3DataType": "S3Prefix", "s3URI": "s3://b/t/"}}}
    ],
    "tags": [{"key": "team", "value": "ml"}],
}

HPO_SPEC: dict[str, Any] = {
    "hyperParameterTuningJobName": "hpo-1",
    "hyperParameterTuningJobConfig": {
        "strategy": "Bayesian",
        "hyperParameterTuningJobObjective": {"type_": "Minimize", "metricName": "validation:rmse"},
        "resourceLimits": {"maxNumberOfTrainingJobs": 10, "maxParallelTrainingJobs": 2},
        "parameterRanges": {"integerParameterRanges": [{"name": "max_depth", "minValue": "2", "maxValue": "8"}]},
    },
    "trainingJobDefinition": {
        "roleARN": "arn:aws:iam::123456789012:role/SageMaker",
        "algorithmSpecification": {"trainingImage": "img:1", "trainingInputMode": "File"},
        "staticHyperParameters": {"num_round": "50"},
        "outputDataConfig": {"s3OutputPath": "s3://bucket/output/"},
        "resourceConfig": {"instanceCount": 1, "instanceType": "ml.m5.xlarge", "volumeSizeInGB": 10},
        "stoppingCondition": {"maxRuntimeInSeconds": 3600},
    },
}

Edit = Callable[[dict[str, Any]], None]


def _set(path: str, value: Any) -> Edit:
    """Edit that sets a dotted path (digits index lists), creating objects on the way."""

    def edit(spec: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = spec
        for part in parents:
            node = node[int(part)] if part.isdigit() else node.setdefault(part, {})
        if last.isdigit():
            node[int(last)] = value
        else:
            node[last] = value

    return edit


def _delete(*fields: str) -> Edit:
    def edit(spec: dict[str, Any]) -> None:
        for field in fields:
            del spec[field]

    return edit


def _both(*edits: Edit) -> Edit:
    def edit(spec: dict[str, Any]) -> None:
        for one in edits:
            one(spec)

    return edit


CASES: list[tuple[str, str, Edit, list[tuple[str, str]]]] = [
    # (id, kind, edit, [(path in input terms, message)])
    (
        "string-for-integer",
        "TrainingJob",
        _set("resourceConfig.instanceCount", "two"),
        [("resource_config.instanceCount", 'expected integer, got string "two"')],
    ),
    (
        "fraction-for-integer",
        "TrainingJob",
        _set("resourceConfig.volumeSizeInGB", 10.5),
        [("resource_config.volumeSizeInGB", "expected integer, got number 10.5")],
    ),
    (
        "boolean-for-integer",
        "TrainingJob",
        _set("stoppingCondition.maxRuntimeInSeconds", True),
        [("stopping_condition.maxRuntimeInSeconds", "expected integer, got boolean true")],
    ),
    (
        "null-for-integer",
        "TrainingJob",
        _set("resourceConfig.keepAlivePeriodInSeconds", None),
        [("resource_config.keepAlivePeriodInSeconds", "expected integer, got null")],
    ),
    (
        "typo-with-suggestion",
        "TrainingJob",
        _set("algorithmSpecification.trainingImag", "img"),
        [("algorithm_specification.trainingImag", "unknown field; did you mean 'trainingImage'?")],
    ),
    (
        "typo-deep-in-array",
        "TrainingJob",
        _set("inputDataConfig.0.dataSource.s3DataSource.s3Uri", "s3://x"),
        [("input_data_config[0].dataSource.s3DataSource.s3Uri", "unknown field; did you mean 's3URI'?")],
    ),
    (
        "unknown-field-without-close-match",
        "TrainingJob",
        _set("resourceConfig.gpus", 4),
        [
            (
                "resource_config.gpus",
                (
                    "unknown field; known fields: instanceCount, instanceGroups, instancePlacementConfig, "
                    "instanceType, keepAlivePeriodInSeconds, volumeKMSKeyID, volumeSizeInGB"
                ),
            )
        ],
    ),
    (
        "capitalised-tag-keys",
        "TrainingJob",
        _set("tags", [{"Key": "team", "Value": "ml"}]),
        [
            ("tags[0].Key", "unknown field; did you mean 'key'?"),
            ("tags[0].Value", "unknown field; did you mean 'value'?"),
        ],
    ),
    (
        "unknown-top-level-field",
        "TrainingJob",
        _set("trainingJobNam", "x"),
        [("trainingJobNam", "unknown field; did you mean 'trainingJobName'?")],
    ),
    ("missing-required-input", "TrainingJob", _delete("roleARN"), [("role_arn", "required input missing")]),
    (
        "missing-two-required-inputs",
        "TrainingJob",
        _delete("outputDataConfig", "stoppingCondition"),
        [("output_data_config", "required input missing"), ("stopping_condition", "required input missing")],
    ),
    (
        "number-in-string-map",
        "TrainingJob",
        _set("hyperParameters", {"max_depth": 5}),
        [("hyper_parameters.max_depth", 'expected string, got number 5 (quote it: "5")')],
    ),
    (
        "boolean-in-string-map",
        "TrainingJob",
        _set("hyperParameters", {"early_stopping": True}),
        [("hyper_parameters.early_stopping", 'expected string, got boolean true (quote it: "true")')],
    ),
    (
        "map-key-needing-brackets",
        "TrainingJob",
        _set("environment", {"SM.LOG-LEVEL": 20}),
        [('environment["SM.LOG-LEVEL"]', 'expected string, got number 20 (quote it: "20")')],
    ),
    (
        "string-for-object-in-array",
        "TrainingJob",
        _set("inputDataConfig.0", "train"),
        [("input_data_config[0]", 'expected object, got string "train"')],
    ),
    (
        "string-for-array",
        "TrainingJob",
        _set("vpcConfig", {"subnets": "subnet-1", "securityGroupIDs": ["sg-1"]}),
        [("vpc_config.subnets", 'expected array, got string "subnet-1"')],
    ),
    (
        "number-in-string-array",
        "TrainingJob",
        _set("vpcConfig", {"subnets": ["subnet-1"], "securityGroupIDs": [7]}),
        [("vpc_config.securityGroupIDs[0]", 'expected string, got number 7 (quote it: "7")')],
    ),
    (
        "object-for-array",
        "TrainingJob",
        _set("algorithmSpecification.metricDefinitions", {"name": "loss"}),
        [("algorithm_specification.metricDefinitions", "expected array, got an object")],
    ),
    (
        "string-for-boolean",
        "TrainingJob",
        _set("enableNetworkIsolation", "yes"),
        [("enable_network_isolation", 'expected boolean, got string "yes"')],
    ),
    (
        "nested-map-in-array",
        "TrainingJob",
        _set("debugRuleConfigurations", [{"ruleConfigurationName": "r", "ruleParameters": {"threshold": 0.5}}]),
        [
            (
                "debug_rule_configurations[0].ruleParameters.threshold",
                'expected string, got number 0.5 (quote it: "0.5")',
            )
        ],
    ),
    (
        "integer-in-instance-group",
        "TrainingJob",
        _set("resourceConfig.instanceGroups", [{"instanceGroupName": "g", "instanceCount": "2"}]),
        [("resource_config.instanceGroups[0].instanceCount", 'expected integer, got string "2"')],
    ),
    (
        "long-string-is-shortened",
        "TrainingJob",
        _set("resourceConfig.instanceCount", "x" * 500),
        [("resource_config.instanceCount", 'expected integer, got string "' + "x" * 39 + '…"')],
    ),
    (
        "hpo-string-for-integer",
        "HyperParameterTuningJob",
        _set("hyperParameterTuningJobConfig.resourceLimits.maxNumberOfTrainingJobs", "10"),
        [
            (
                "hyper_parameter_tuning_job_config.resourceLimits.maxNumberOfTrainingJobs",
                'expected integer, got string "10"',
            )
        ],
    ),
    (
        "hpo-type-field-is-type_",
        "HyperParameterTuningJob",
        _set(
            "hyperParameterTuningJobConfig.hyperParameterTuningJobObjective",
            {"type": "Minimize", "metricName": "validation:rmse"},
        ),
        [
            (
                "hyper_parameter_tuning_job_config.hyperParameterTuningJobObjective.type",
                "unknown field; did you mean 'type_'?",
            )
        ],
    ),
    (
        "hpo-number-in-static-hyperparameters",
        "HyperParameterTuningJob",
        _set("trainingJobDefinition.staticHyperParameters", {"num_round": 50}),
        [
            (
                "training_job_definition.staticHyperParameters.num_round",
                'expected string, got number 50 (quote it: "50")',
            )
        ],
    ),
    (
        "hpo-range-bounds-are-strings",
        "HyperParameterTuningJob",
        _set(
            "hyperParameterTuningJobConfig.parameterRanges.integerParameterRanges",
            [{"name": "max_depth", "minValue": 2, "maxValue": "8"}],
        ),
        [
            (
                "hyper_parameter_tuning_job_config.parameterRanges.integerParameterRanges[0].minValue",
                'expected string, got number 2 (quote it: "2")',
            )
        ],
    ),
    (
        "hpo-string-for-number",
        "HyperParameterTuningJob",
        _set("hyperParameterTuningJobConfig.tuningJobCompletionCriteria", {"targetObjectiveMetricValue": "0.9"}),
        [
            (
                "hyper_parameter_tuning_job_config.tuningJobCompletionCriteria.targetObjectiveMetricValue",
                'expected number, got string "0.9"',
            )
        ],
    ),
    (
        "hpo-typo-in-definitions-array",
        "HyperParameterTuningJob",
        _set("trainingJobDefinitions", [{"definitionName": "a"}, {"definitionName": "b", "roleArn": "arn"}]),
        [("training_job_definitions[1].roleArn", "unknown field; did you mean 'roleARN'?")],
    ),
    (
        "hpo-missing-config",
        "HyperParameterTuningJob",
        _delete("hyperParameterTuningJobConfig"),
        [("hyper_parameter_tuning_job_config", "required input missing")],
    ),
    (
        "hpo-array-for-string",
        "HyperParameterTuningJob",
        _set("autotune", {"mode": ["Enabled"]}),
        [("autotune.mode", "expected string, got an array")],
    ),
    (
        "hpo-warm-start-nested",
        "HyperParameterTuningJob",
        _set(
            "warmStartConfig",
            {
                "warmStartType": "TransferLearning",
                "parentHyperParameterTuningJobs": [{"hyperParameterTuningJobName": 3}],
            },
        ),
        [
            (
                "warm_start_config.parentHyperParameterTuningJobs[0].hyperParameterTuningJobName",
                'expected string, got number 3 (quote it: "3")',
            )
        ],
    ),
]

DATA_QUALITY_SPEC: dict[str, Any] = {
    "jobDefinitionName": "dq-1",
    "roleARN": "arn:aws:iam::123456789012:role/SageMaker",
    "jobResources": {"clusterConfig": {"instanceCount": 1, "instanceType": "ml.m5.large", "volumeSizeInGB": 20}},
    "dataQualityAppSpecification": {"imageURI": "analyzer:1"},
    "dataQualityJobInput": {"endpointInput": {"endpointName": "ep", "localPath": "/opt/ml/processing/input"}},
    "dataQualityJobOutputConfig": {
        "monitoringOutputs": [
            {"s3Output": {"s3URI": "s3://b/reports/", "localPath": "/opt/ml/processing/output", "s3UploadMode": "Continuous"}}
        ]
    },
}

# What pipelines written for the upstream v2 components pass, and the message that says the fix.
MIGRATION_CASES: list[tuple[str, str, Edit, list[tuple[str, str]]]] = [
    (
        "pascal-case-keys-in-a-channel",
        "TrainingJob",
        _both(_set("inputDataConfig.0.InputMode", "File"), _set("inputDataConfig.0.RecordWrapperType", "None")),
        [
            ("input_data_config[0].InputMode", "unknown field; did you mean 'inputMode'?"),
            ("input_data_config[0].RecordWrapperType", "unknown field; did you mean 'recordWrapperType'?"),
        ],
    ),
    (
        "field-one-level-too-high",
        "DataQualityJobDefinition",
        _both(
            _set("dataQualityJobOutputConfig.monitoringOutputs.0", {"s3Output": {"s3URI": "s3://b/r/", "localPath": "/o"}}),
            _set("dataQualityJobOutputConfig.monitoringOutputs.0.s3UploadMode", "Continuous"),
        ),
        [
            (
                "data_quality_job_output_config.monitoringOutputs[0].s3UploadMode",
                "unknown field; 's3UploadMode' belongs inside 's3Output'",
            )
        ],
    ),
    (
        "field-two-levels-too-high-through-an-array",
        "DataQualityJobDefinition",
        _set("dataQualityJobOutputConfig.s3UploadMode", "Continuous"),
        [
            (
                "data_quality_job_output_config.s3UploadMode",
                "unknown field; 's3UploadMode' belongs inside 'monitoringOutputs[].s3Output'",
            )
        ],
    ),
    (
        "misplaced-and-miscased",
        "DataQualityJobDefinition",
        _set("dataQualityJobOutputConfig.monitoringOutputs.0.S3UploadMode", "Continuous"),
        [
            (
                "data_quality_job_output_config.monitoringOutputs[0].S3UploadMode",
                "unknown field; did you mean 's3UploadMode'? It belongs inside 's3Output'",
            )
        ],
    ),
    (
        "s3-fields-beside-s3DataSource",
        "TrainingJob",
        _set("inputDataConfig.0.dataSource.s3URI", "s3://b/t/"),
        [("input_data_config[0].dataSource.s3URI", "unknown field; 's3URI' belongs inside 's3DataSource'")],
    ),
    (
        "field-one-level-too-deep",
        "TrainingJob",
        _set("inputDataConfig.0.dataSource.channelName", "train"),
        [
            (
                "input_data_config[0].dataSource.channelName",
                "unknown field; 'channelName' belongs one level up, beside 'dataSource'",
            )
        ],
    ),
    (
        "another-input-inside-an-object",
        "TrainingJob",
        _set("resourceConfig.roleARN", "arn:aws:iam::123456789012:role/SageMaker"),
        [
            (
                "resource_config.roleARN",
                "unknown field; 'roleARN' is not part of 'resource_config': it is the input 'role_arn'",
            )
        ],
    ),
]
CASES += MIGRATION_CASES

BASE_SPECS = {
    "TrainingJob": TRAINING_SPEC,
    "HyperParameterTuningJob": HPO_SPEC,
    "DataQualityJobDefinition": DATA_QUALITY_SPEC,
}


@pytest.mark.parametrize("kind", sorted(BASE_SPECS))
def test_base_specs_are_valid(kind: str) -> None:
    assert validate_spec(load_kind(kind), BASE_SPECS[kind]) == []


@pytest.mark.parametrize(("kind", "edit", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_matrix(kind: str, edit: Edit, expected: list[tuple[str, str]]) -> None:
    spec = copy.deepcopy(BASE_SPECS[kind])
    edit(spec)
    problems = validate_spec(load_kind(kind), spec)
    assert [(p.path, p.message) for p in problems] == expected


def test_problems_carry_spec_paths_too() -> None:
    spec = copy.deepcopy(TRAINING_SPEC)
    spec["resourceConfig"]["instanceCount"] = "two"
    del spec["roleARN"]
    problems = validate_spec(load_kind("TrainingJob"), spec)
    assert problems == [
        Problem(
            "resource_config.instanceCount", 'expected integer, got string "two"', "spec.resourceConfig.instanceCount"
        ),
        Problem("role_arn", "required input missing", "spec.roleARN"),
    ]
    assert [str(p) for p in problems] == [
        'resource_config.instanceCount: expected integer, got string "two"',
        "input 'role_arn': required input missing",
    ]


def test_every_problem_is_reported_at_once() -> None:
    spec = copy.deepcopy(TRAINING_SPEC)
    for case_id in ("string-for-integer", "typo-with-suggestion", "number-in-string-map", "typo-deep-in-array"):
        next(c for c in CASES if c[0] == case_id)[2](spec)
    del spec["stoppingCondition"]
    problems = validate_spec(load_kind("TrainingJob"), spec)
    assert [p.path for p in problems] == [
        "algorithm_specification.trainingImag",
        "hyper_parameters.max_depth",
        "input_data_config[0].dataSource.s3DataSource.s3Uri",
        "resource_config.instanceCount",
        "stopping_condition",
    ]


def test_skip_inputs_hides_problems_of_unparsable_inputs() -> None:
    info = load_kind("TrainingJob")
    parsed = parse_inputs(info, {"role_arn": "arn", "resource_config": "{broken"})
    problems = validate_spec(info, {**parsed.spec, "trainingJobName": "n"}, skip_inputs=parsed.failed_inputs)
    assert "resource_config" not in [p.path for p in problems]
    assert [p.path for p in problems] == ["algorithm_specification", "output_data_config", "stopping_condition"]


def test_format_problems_lists_every_path() -> None:
    problems = [
        Problem("hyper_parameters", "expected a JSON object, got a JSON array"),
        Problem("resource_config.instanceCount", 'expected integer, got string "two"'),
    ]
    assert format_problems("TrainingJob", problems) == (
        "The TrainingJob step's inputs have 2 problems; nothing was created:\n"
        "  - input 'hyper_parameters': expected a JSON object, got a JSON array\n"
        '  - resource_config.instanceCount: expected integer, got string "two"'
    )
    assert format_problems("Model", problems[:1]).startswith("The Model step's inputs have 1 problem;")


# --- closing schemas: rules the CRDs of v1.9.1 do not exercise, on small schemas ----------


def _kind_with_schema(schema: dict[str, Any]) -> KindInfo:
    return kind_info_from_document(
        {
            "kind": "Synthetic",
            "group": "g",
            "version": "v1",
            "plural": "synthetics",
            "nameField": "name",
            "inputs": [{"name": "config", "field": "config", "type": "JsonObject", "required": True}],
            "runtimeInputs": [],
            "outputs": [],
            "specSchema": schema,
            "specRequired": schema.get("required", []),
        }
    )


SYNTHETIC = {
    "type": "object",
    "required": ["config"],
    "properties": {
        "config": {
            "type": "object",
            "required": ["volumeSizeInGB"],
            "properties": {
                "trainingInputMode": {"type": "string", "enum": ["Pipe", "File", "FastFile"]},
                "volumeSizeInGB": {"type": "integer", "minimum": 1},
                "open": {
                    "type": "object",
                    "properties": {"a": {"type": "string"}},
                    "x-kubernetes-preserve-unknown-fields": True,
                },
                "labels": {"type": "object", "additionalProperties": {"type": "string"}},
            },
        }
    },
}


def test_enum_nested_required_and_bounds_messages() -> None:
    info = _kind_with_schema(SYNTHETIC)
    problems = validate_spec(info, {"config": {"trainingInputMode": "Fast"}})
    assert [(p.path, p.message) for p in problems] == [
        ("config.trainingInputMode", "'Fast' is not one of 'Pipe', 'File', 'FastFile'"),
        ("config.volumeSizeInGB", "required field missing"),
    ]
    problems = validate_spec(info, {"config": {"volumeSizeInGB": 0}})
    assert [(p.path, p.message) for p in problems] == [("config.volumeSizeInGB", "must be >= 1")]


def test_preserve_unknown_fields_and_maps_stay_open() -> None:
    info = _kind_with_schema(SYNTHETIC)
    spec = {"config": {"volumeSizeInGB": 1, "open": {"anything": 1}, "labels": {"x": "y"}}}
    assert validate_spec(info, spec) == []


def test_closed_schema_adds_additional_properties_false_only_where_needed() -> None:
    original = copy.deepcopy(SYNTHETIC)
    closed = closed_schema(SYNTHETIC)
    assert SYNTHETIC == original  # not modified
    assert closed["additionalProperties"] is False
    config = closed["properties"]["config"]
    assert config["additionalProperties"] is False
    assert "additionalProperties" not in config["properties"]["open"]
    assert config["properties"]["labels"]["additionalProperties"] == {"type": "string"}


def test_real_schema_is_closed_through_arrays_and_maps() -> None:
    closed = closed_schema(load_kind("TrainingJob").spec_schema)
    channel = closed["properties"]["inputDataConfig"]["items"]
    assert channel["additionalProperties"] is False
    assert channel["properties"]["dataSource"]["properties"]["s3DataSource"]["additionalProperties"] is False
    rule_params = closed["properties"]["debugHookConfig"]["properties"]["collectionConfigurations"]["items"]
    assert rule_params["properties"]["collectionParameters"]["additionalProperties"] == {"type": "string"}


# --- integer coercion ------------------------------------------------------------------


def test_coerce_integers_in_nested_objects_arrays_and_maps() -> None:
    info = load_kind("TrainingJob")
    spec = copy.deepcopy(TRAINING_SPEC)
    spec["resourceConfig"] = {
        "instanceCount": 2.0,
        "instanceType": "ml.m5.xlarge",
        "volumeSizeInGB": 30.0,
        "instanceGroups": [{"instanceGroupName": "g", "instanceCount": 4.0, "instanceType": "ml.m5.xlarge"}],
    }
    spec["stoppingCondition"] = {"maxRuntimeInSeconds": 3600.0}
    spec["debugRuleConfigurations"] = [{"ruleConfigurationName": "r", "volumeSizeInGB": 5.0}]
    spec["inputDataConfig"][0]["shuffleConfig"] = {"seed": 7.0}
    spec["hyperParameters"] = {"num_round": 50.0}
    before = copy.deepcopy(spec)

    coerced = coerce_integers(info.spec_schema, spec)

    assert spec == before  # the input is not modified
    assert coerced["resourceConfig"]["instanceCount"] == 2 and type(coerced["resourceConfig"]["instanceCount"]) is int
    assert type(coerced["resourceConfig"]["volumeSizeInGB"]) is int
    assert type(coerced["resourceConfig"]["instanceGroups"][0]["instanceCount"]) is int
    assert type(coerced["stoppingCondition"]["maxRuntimeInSeconds"]) is int
    assert type(coerced["debugRuleConfigurations"][0]["volumeSizeInGB"]) is int
    assert type(coerced["inputDataConfig"][0]["shuffleConfig"]["seed"]) is int
    # A string map keeps the float, and validation explains it.
    assert coerced["hyperParameters"] == {"num_round": 50.0}
    assert [(p.path, p.message) for p in validate_spec(info, coerced)] == [
        ("hyper_parameters.num_round", 'expected string, got number 50 (quote it: "50")')
    ]


def test_non_integral_floats_stay_and_are_reported() -> None:
    info = load_kind("HyperParameterTuningJob")
    spec = copy.deepcopy(HPO_SPEC)
    spec["hyperParameterTuningJobConfig"]["resourceLimits"] = {
        "maxNumberOfTrainingJobs": 10.0,
        "maxParallelTrainingJobs": 2.5,
    }
    spec["hyperParameterTuningJobConfig"]["tuningJobCompletionCriteria"] = {"targetObjectiveMetricValue": 1.0}
    coerced = coerce_integers(info.spec_schema, spec)
    limits = coerced["hyperParameterTuningJobConfig"]["resourceLimits"]
    assert type(limits["maxNumberOfTrainingJobs"]) is int and limits["maxParallelTrainingJobs"] == 2.5
    # `number` fields keep their float.
    assert (
        type(coerced["hyperParameterTuningJobConfig"]["tuningJobCompletionCriteria"]["targetObjectiveMetricValue"])
        is float
    )
    assert [(p.path, p.message) for p in validate_spec(info, coerced)] == [
        ("hyper_parameter_tuning_job_config.resourceLimits.maxParallelTrainingJobs", "expected integer, got number 2.5")
    ]


def test_coerce_integers_through_maps_and_nested_arrays() -> None:
    schema = {
        "type": "object",
        "properties": {
            "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
            "grid": {"type": "array", "items": {"type": "array", "items": {"type": "integer"}}},
            "flag": {"type": "boolean"},
            "name": {"type": "string"},
        },
    }
    value = {"counts": {"a": 1.0, "b": 2.5}, "grid": [[1.0, 2.0], [3.5]], "flag": True, "name": "1.0", "other": 4.0}
    assert coerce_integers(schema, value) == {
        "counts": {"a": 1, "b": 2.5},
        "grid": [[1, 2], [3.5]],
        "flag": True,
        "name": "1.0",
        "other": 4.0,
    }
    coerced = coerce_integers(schema, value)
    assert type(coerced["counts"]["a"]) is int and type(coerced["grid"][0][1]) is int
    assert type(coerced["other"]) is float  # not in the schema: left alone
    assert coerced["flag"] is True


@given(
    count=st.integers(min_value=1, max_value=10_000),
    volume=st.integers(min_value=1, max_value=16_384),
    seconds=st.integers(min_value=1, max_value=2_419_200),
)
def test_struct_floats_validate_after_coercion(count: int, volume: int, seconds: int) -> None:
    """What KFP 2.x delivers (every integer as a float) is valid once coerced."""
    info = load_kind("TrainingJob")
    spec = copy.deepcopy(TRAINING_SPEC)
    spec["resourceConfig"] = {
        "instanceCount": float(count),
        "instanceType": "ml.m5.xlarge",
        "volumeSizeInGB": float(volume),
    }
    spec["stoppingCondition"] = {"maxRuntimeInSeconds": float(seconds)}
    assert validate_spec(info, spec) != []  # floats are not integers
    coerced = coerce_integers(info.spec_schema, spec)
    assert validate_spec(info, coerced) == []
    assert coerced["resourceConfig"]["instanceCount"] == count


def test_an_upstream_style_channel_is_refused_with_the_fix_and_nothing_is_created() -> None:
    """Strictness stays the default: the fields the API server used to drop are errors (exit 2)."""
    from sagemaker_ack_kfp.errors import InputError
    from sagemaker_ack_kfp.runner import prepare_spec

    channel = {
        "channelName": "train",
        "dataSource": {"s3DataSource": {"s3DataType": "S3Prefix", "s3URI": "s3://b/train",
                                        "s3DataDistributionType": "FullyReplicated"}},
        "compressionType": "None",
        "RecordWrapperType": "None",
        "InputMode": "File",
    }
    raw = {
        "role_arn": TRAINING_SPEC["roleARN"],
        "algorithm_specification": '{"trainingImage": "img:1", "trainingInputMode": "File"}',
        "input_data_config": json.dumps([channel]),
        "output_data_config": '{"s3OutputPath": "s3://b/out"}',
        "resource_config": '{"instanceCount": 1, "instanceType": "ml.m5.large", "volumeSizeInGB": 5}',
        "stopping_condition": '{"maxRuntimeInSeconds": 3600}',
    }
    with pytest.raises(InputError) as error:
        prepare_spec(load_kind("TrainingJob"), raw)
    assert error.value.exit_code == 2
    assert error.value.message == (
        "The TrainingJob step's inputs have 2 problems; nothing was created:\n"
        "  - input_data_config[0].InputMode: unknown field; did you mean 'inputMode'?\n"
        "  - input_data_config[0].RecordWrapperType: unknown field; did you mean 'recordWrapperType'?"
    )
    fixed = {**channel, "recordWrapperType": "None", "inputMode": "File"}
    del fixed["RecordWrapperType"], fixed["InputMode"]
    assert prepare_spec(load_kind("TrainingJob"), {**raw, "input_data_config": json.dumps([fixed])})
