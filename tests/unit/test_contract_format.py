"""The contract tests' own machinery: normalising a recorded object into placeholders and back,
the merge patches a replay writes, and the shape that tells a changed controller from timing."""

from __future__ import annotations

import copy
from typing import Any

from tests.contract.recording import CONTROLLER, STEP, Bindings, Normaliser, RecordedEvent, Recording, shape_differences
from tests.contract.replay import merge_patch

NAME, NAMESPACE = "training-train-0123456789", "ns-recorded"
SPEC = {"trainingJobName": NAME, "outputDataConfig": {"s3OutputPath": "s3://bucket/output"},
        "tags": [{"key": "sim/fail-reason", "value": "AlgorithmError: boom"}]}


def raw(status: dict[str, Any]) -> dict[str, Any]:
    return {"metadata": {"name": NAME, "namespace": NAMESPACE, "uid": "u-1", "resourceVersion": "42",
                         "finalizers": ["f"], "managedFields": [{}]}, "spec": SPEC, "status": status}


STATUS = {
    "ackResourceMetadata": {"arn": f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{NAME}"},
    "failureReason": "AlgorithmError: boom",
    "modelArtifacts": {"s3ModelArtifacts": f"s3://bucket/output/{NAME}/output/model.tar.gz"},
    "conditions": [{"type": "ACK.ResourceSynced", "status": "False", "lastTransitionTime": "2026-12-02T10:00:00Z",
                    "message": "RequestID: 0f0e0d0c-0b0a-4908-8706-050403020100"}],
}


def recording(*statuses: dict[str, Any]) -> Recording:
    normaliser = Normaliser(name=NAME, namespace=NAMESPACE)
    events = [RecordedEvent("ADDED", STEP, normaliser.object(raw({}), spec=SPEC), "create")]
    events += [RecordedEvent("MODIFIED", CONTROLLER, normaliser.object(raw(status), spec=SPEC)) for status in statuses]
    return Recording("TrainingJob", "t", "", {"version": "v1.9.1"}, "2026-12-02", normaliser.placeholders, events)


def test_what_varies_becomes_a_placeholder_and_the_rest_is_kept() -> None:
    recorded = recording(STATUS).events[1].object
    assert set(recorded["metadata"]) == {"name", "namespace", "finalizers"}
    status = recorded["status"]
    assert status["ackResourceMetadata"]["arn"] == "arn:aws:sagemaker:us-east-1:123456789012:training-job/{{name}}"
    assert status["failureReason"] == "{{spec:tags.0.value}}"
    assert status["modelArtifacts"]["s3ModelArtifacts"] == "{{spec:outputDataConfig.s3OutputPath}}/{{name}}/output/model.tar.gz"
    assert status["conditions"][0]["lastTransitionTime"] == "{{time:0}}"
    assert status["conditions"][0]["message"] == "RequestID: {{uuid:0}}"


def test_a_replay_puts_the_live_values_in() -> None:
    spec = {**copy.deepcopy(SPEC), "trainingJobName": "other-name",
            "tags": [{"key": "sim/fail-reason", "value": "ClientError: elsewhere"}]}
    bindings = Bindings(recording(STATUS), name="other-name", namespace="ns-live", spec=spec, clock=lambda: "2030-01-01T00:00:00Z")
    status = bindings.apply(recording(STATUS).events[1].object)["status"]
    assert status["failureReason"] == "ClientError: elsewhere"
    assert status["modelArtifacts"]["s3ModelArtifacts"] == "s3://bucket/output/other-name/output/model.tar.gz"
    assert status["conditions"][0]["lastTransitionTime"] == "2030-01-01T00:00:00Z"
    assert "0f0e0d0c-0b0a-4908-8706-050403020100" not in status["conditions"][0]["message"]
    # A spec path the live resource lacks falls back to the recorded value.
    assert Bindings(recording(STATUS), name="n", namespace="n", spec={}).apply("{{spec:tags.0.value}}") == "AlgorithmError: boom"


def test_merge_patch_turns_old_into_new() -> None:
    old = {"a": 1, "b": {"c": 2, "d": 3}, "e": [1, 2]}
    new = {"a": 1, "b": {"c": 5}, "e": [1], "f": None}
    assert merge_patch(old, new) == {"b": {"c": 5, "d": None}, "e": [1], "f": None}


def test_the_shape_ignores_timing_and_names_but_not_a_changed_condition() -> None:
    base = recording(STATUS)
    later = copy.deepcopy(STATUS)
    later["conditions"][0]["lastTransitionTime"] = "2027-01-01T00:00:00Z"
    assert shape_differences(base, recording(later, later)) == []  # a status seen twice, another time
    renamed = copy.deepcopy(STATUS)
    renamed["conditions"][0]["type"] = "ACK.Synced"
    assert shape_differences(base, recording(renamed))
    retyped = copy.deepcopy(STATUS)
    retyped["modelArtifacts"] = {"s3ModelArtifacts": ["a list now"]}
    assert shape_differences(base, recording(retyped))


def deleting_recording(*statuses: tuple[bool, dict[str, Any]]) -> Recording:
    normaliser = Normaliser(name=NAME, namespace=NAMESPACE)
    events = [RecordedEvent("ADDED", STEP, normaliser.object(raw({}), spec=SPEC), "create")]
    for deleting, status in statuses:
        obj = raw(status)
        if deleting:
            obj["metadata"]["deletionTimestamp"] = "2026-12-02T10:01:00Z"
        events.append(RecordedEvent("MODIFIED", CONTROLLER, normaliser.object(obj, spec=SPEC)))
    return Recording("TrainingJob", "t", "", {"version": "v1.9.1"}, "2026-12-02", normaliser.placeholders, events)


def test_a_status_rewritten_during_deletion_is_timing_but_a_new_one_is_not() -> None:
    stopping = copy.deepcopy(STATUS)
    stopping["conditions"].append({"type": "ACK.Recoverable", "status": "True", "message": "stopping"})
    recorded = deleting_recording((False, STATUS), (True, stopping))
    # The controller wrote the pre-deletion status once more after the delete arrived.
    assert shape_differences(recorded, deleting_recording((False, STATUS), (True, STATUS), (True, stopping))) == []
    renamed = copy.deepcopy(STATUS)
    renamed["conditions"][0]["type"] = "ACK.Synced"
    assert shape_differences(recorded, deleting_recording((False, STATUS), (True, renamed), (True, stopping)))
