"""Loading the generated kind.json files the runtime reads (sagemaker_ack_kfp.kinds)."""

from __future__ import annotations

import pytest

from sagemaker_ack_kfp.kinds import InputField, UnknownKind, known_kinds, load_kind


def test_known_kinds_are_the_generated_ones() -> None:
    kinds = known_kinds()
    assert len(kinds) == 18
    assert {"TrainingJob", "HyperParameterTuningJob", "Endpoint", "MonitoringSchedule"} <= set(kinds)


def test_training_job_kind_info() -> None:
    info = load_kind("TrainingJob")
    assert info.api_version == "sagemaker.services.k8s.aws/v1alpha1"
    assert info.plural == "trainingjobs"
    assert info.name_field == "trainingJobName"
    assert info.name_input == InputField("training_job_name", "trainingJobName", "String", True)
    assert info.input_name("roleARN") == "role_arn"
    assert info.input_name("notAField") == "notAField"
    assert info.input_for_field("hyperParameters").type == "JsonObject"
    assert [o.name for o in info.outputs][:6] == [
        "model_artifact_url",
        "training_job_name",
        "training_job_arn",
        "final_metrics",
        "rule_evaluations",
        "status",
    ]
    # Then the upstream v2 component's outputs, written generically from the status.
    upstream = {o.name: o.status_field for o in info.outputs[6:]}
    assert upstream["model_artifacts"] == "modelArtifacts"
    assert upstream["training_job_status"] == "trainingJobStatus"
    assert not any(o.resource_name for o in info.outputs)
    assert "resourceConfig" in info.spec_required
    assert info.spec_schema["properties"]["resourceConfig"]["type"] == "object"


def test_load_kind_is_cached_per_kind() -> None:
    assert load_kind("Model") is load_kind("Model")


@pytest.mark.parametrize("kind", ["trainingjob", "../TrainingJob", "NoSuchKind", ""])
def test_unknown_kinds_are_rejected_with_the_known_list(kind: str) -> None:
    with pytest.raises(UnknownKind, match="known kinds: DataQualityJobDefinition, Endpoint"):
        load_kind(kind)
