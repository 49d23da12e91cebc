"""README's "Migrating from the upstream v2 components" stays true: its table names every
generated component and the upstream v2 component each replaces (as codegen/config.yaml says),
and the step errors it quotes are the ones the step prints."""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

import pytest

from sagemaker_ack_kfp.codegen.config import GeneratorConfig
from sagemaker_ack_kfp.kinds import known_kinds, load_kind
from sagemaker_ack_kfp.validating import validate_spec

README = Path(__file__).resolve().parents[2] / "README.md"
HEADING = "## Migrating from the upstream v2 components"
_ROW = re.compile(r"^\| `(?P<kind>[A-Za-z]+)`(?: \(coming\))? \|(?P<v2>[^|]*)\|(?P<v1>[^|]*)\|$", re.MULTILINE)


@pytest.fixture(scope="module")
def section() -> str:
    text = README.read_text()
    assert HEADING in text
    body = text.split(HEADING, 1)[1]
    return body.split("\n## ", 1)[0]


def test_the_table_names_every_component_and_its_upstream_v2_component(
    section: str, generator_config: GeneratorConfig
) -> None:
    rows = {m["kind"]: m["v2"].strip().strip("`") for m in _ROW.finditer(section)}
    assert set(known_kinds()) <= set(rows), f"components missing from the README table: {set(known_kinds()) - set(rows)}"
    assert {kind: v2 for kind, v2 in rows.items() if v2} == {
        kind: entry.component for kind, entry in generator_config.upstream.items()
    }


DATA_QUALITY: dict[str, Any] = {
    "jobDefinitionName": "dq-1",
    "roleARN": "arn:aws:iam::123456789012:role/SageMaker",
    "jobResources": {"clusterConfig": {"instanceCount": 1, "instanceType": "ml.m5.large", "volumeSizeInGB": 20}},
    "dataQualityAppSpecification": {"imageURI": "analyzer:1"},
    "dataQualityJobInput": {"endpointInput": {"endpointName": "ep", "localPath": "/opt/ml/processing/input"}},
    "dataQualityJobOutputConfig": {
        "monitoringOutputs": [{"s3Output": {"s3URI": "s3://b/r/", "localPath": "/o"}, "s3UploadMode": "Continuous"}]
    },
}
TRAINING: dict[str, Any] = {
    "trainingJobName": "job-1",
    "roleARN": "arn:aws:iam::123456789012:role/SageMaker",
    "algorithmSpecification": {"trainingImage": "img:1", "trainingInputMode": "File"},
    "outputDataConfig": {"s3OutputPath": "s3://bucket/output/"},
    "resourceConfig": {"instanceCount": 1, "instanceType": "ml.m5.xlarge", "volumeSizeInGB": 10},
    "stoppingCondition": {"maxRuntimeInSeconds": 3600},
    "inputDataConfig": [
        {"channelName": "train", "InputMode": "File",
         "dataSource": {"s3DataSource": {"s3DataType": "S3Prefix", "s3URI": "s3://b/t/"}}}
    ],
}


def test_the_quoted_step_errors_are_the_ones_the_step_prints(section: str) -> None:
    training = copy.deepcopy(TRAINING)
    training["resourceConfig"]["roleARN"] = training["roleARN"]
    printed = [str(p) for p in validate_spec(load_kind("TrainingJob"), training)]
    printed += [str(p) for p in validate_spec(load_kind("DataQualityJobDefinition"), DATA_QUALITY)]
    assert len(printed) == 3
    for line in printed:
        assert f"step exit 2: `{line}`" in section
