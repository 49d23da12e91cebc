"""The runtime's pure rules: identity, names, redaction, completion verdicts, outputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from sagemaker_ack_kfp.completion import Expectation, Phase, judge
from sagemaker_ack_kfp.identity import StepIdentity, resolve, task_from_node_name
from sagemaker_ack_kfp.kinds import load_kind
from sagemaker_ack_kfp.naming import SAGEMAKER_NAME, generated_name, labels_for
from sagemaker_ack_kfp.outputs import serialize, write_outputs
from sagemaker_ack_kfp.overlays import rules_for
from sagemaker_ack_kfp.overlays.hosting import LAST_UPDATE_ANNOTATION
from sagemaker_ack_kfp.redacting import MASK, Redactor
from sagemaker_ack_kfp.runner import with_service_defaults

# ----- identity ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("node_name", "task"),
    [
        ("my-pipeline-x7k2p.train-model(0)", "my-pipeline-x7k2p.train-model"),
        ("my-pipeline-x7k2p.train-model(12)", "my-pipeline-x7k2p.train-model"),
        ("run.for-loop(1:a).train(0)", "run.for-loop(1:a).train"),
        ("run.train", "run.train"),
    ],
)
def test_retry_suffix_is_removed_from_the_node_name(node_name: str, task: str) -> None:
    assert task_from_node_name(node_name) == task


def test_unsubstituted_placeholder_is_not_a_run_id(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SAGEMAKER_ACK_KFP_RUN_ID", raising=False)
    monkeypatch.delenv("SAGEMAKER_ACK_KFP_TASK", raising=False)
    identity = resolve(run_id_arg="{{workflow.uid}}", namespace="ns", read_pod=None)
    assert identity.run_id == "" and not identity.known


def test_local_runner_environment_gives_the_task(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SAGEMAKER_ACK_KFP_TASK", "train")
    monkeypatch.setenv("SAGEMAKER_ACK_KFP_RUN_ID", "env-run")
    assert resolve(run_id_arg="arg-run", namespace="ns", read_pod=None) == StepIdentity(
        run_id="arg-run", task="train", source="environment (local runner)"
    )


# ----- names -------------------------------------------------------------------------------


def test_generated_name_is_deterministic_valid_and_short() -> None:
    identity = StepIdentity(run_id="3f1c-run", task="mnist-pipeline-abc12.sagemaker-training-job-2", source="test")
    first = generated_name(prefix="training", identity=identity, spec={"a": 1})
    assert first == generated_name(prefix="training", identity=identity, spec={"b": 2})  # spec does not matter
    assert SAGEMAKER_NAME.match(first) and len(first) <= 32
    other_task = StepIdentity(run_id="3f1c-run", task="mnist-pipeline-abc12.sagemaker-training-job-3", source="test")
    other_run = StepIdentity(run_id="9e9e-run", task=identity.task, source="test")
    assert first != generated_name(prefix="training", identity=other_task, spec={})
    assert first != generated_name(prefix="training", identity=other_run, spec={})


def test_without_identity_the_name_follows_the_spec() -> None:
    none = StepIdentity(run_id="", task="", source="none")
    assert generated_name(prefix="hpo", identity=none, spec={"x": 1}) == generated_name(prefix="hpo", identity=none, spec={"x": 1})
    assert generated_name(prefix="hpo", identity=none, spec={"x": 1}) != generated_name(prefix="hpo", identity=none, spec={"x": 2})


def test_labels_are_valid_label_values() -> None:
    labels = labels_for(StepIdentity(run_id="a" * 80, task="p.train model(x)", source="test"))
    assert all(len(value) <= 63 and value[0].isalnum() and value[-1].isalnum() for value in labels.values())


# ----- redaction ---------------------------------------------------------------------------


def test_environment_values_and_secret_keys_are_masked_and_scrubbed_from_text() -> None:
    redactor = Redactor()
    shown = redactor.structure(
        {"environment": {"DB_PASSWORD": "hunter2-secret", "MODE": "fast"}, "hyperParameters": {"api_key": "k-123456"}, "k": "10"}
    )
    assert shown == {"environment": {"DB_PASSWORD": MASK, "MODE": MASK}, "hyperParameters": {"api_key": MASK}, "k": "10"}
    text = redactor.text("failed: could not connect with hunter2-secret using k-123456 (key AKIAABCDEFGHIJKLMNOP)")
    assert "hunter2-secret" not in text and "k-123456" not in text and "AKIAABCDEFGHIJKLMNOP" not in text
    assert redactor.text("password=abc123 token: xyz") == f"password={MASK} token: {MASK}"


# ----- completion --------------------------------------------------------------------------


def cr(status: dict[str, Any], *, spec: dict[str, Any] | None = None, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    return {"metadata": {"name": "x", "annotations": annotations or {}}, "spec": spec or {}, "status": status}


def condition(kind: str, status: str, *, message: str = "", at: str = "2026-01-01T00:00:00Z") -> dict[str, str]:
    return {"type": kind, "status": status, "message": message, "lastTransitionTime": at}


def test_training_job_verdicts() -> None:
    rules = rules_for("TrainingJob")
    assert judge(cr({"trainingJobStatus": "InProgress"}), rules).phase is Phase.WAITING
    assert judge(cr({"trainingJobStatus": "Completed"}), rules).phase is Phase.SUCCEEDED
    failed = judge(cr({"trainingJobStatus": "Failed", "failureReason": "AlgorithmError: boom"}), rules)
    assert (failed.phase, failed.reason) == (Phase.FAILED, "Failed: AlgorithmError: boom")
    assert judge(cr({"trainingJobStatus": "Stopped"}), rules).phase is Phase.FAILED
    terminal = judge(cr({"conditions": [condition("ACK.Terminal", "True", message="ResourceInUse: name taken")]}), rules)
    assert (terminal.phase, terminal.reason) == (Phase.FAILED, "ACK.Terminal: ResourceInUse: name taken")
    retrying = judge(cr({"conditions": [condition("ACK.Recoverable", "True", message="ValidationException: bad")]}), rules)
    assert (retrying.phase, retrying.recoverable) == (Phase.WAITING, "ValidationException: bad")


def rule(name: str, status: str, details: str = "") -> dict[str, str]:
    entry = {"ruleConfigurationName": name, "ruleEvaluationStatus": status}
    return {**entry, "statusDetails": details} if details else entry


def test_a_completed_training_job_waits_for_its_rule_evaluations_as_the_controller_does() -> None:
    rules = rules_for("TrainingJob")
    completed = {"trainingJobStatus": "Completed"}
    for evaluating in ("InProgress", "Stopping"):
        waiting = cr({**completed, "debugRuleEvaluationStatuses": [rule("LossNotDecreasing", evaluating)]})
        assert judge(waiting, rules).phase is Phase.WAITING
    done = cr({**completed, "debugRuleEvaluationStatuses": [rule("LossNotDecreasing", "IssuesFound")]})
    assert judge(done, rules).phase is Phase.SUCCEEDED
    # Profiler rules count only while profiling is reported and not Disabled (the controller's customSetOutput).
    profiler = {**completed, "profilerRuleEvaluationStatuses": [rule("ProfilerReport", "InProgress")]}
    assert judge(cr(profiler), rules).phase is Phase.SUCCEEDED
    assert judge(cr({**profiler, "profilingStatus": "Disabled"}), rules).phase is Phase.SUCCEEDED
    assert judge(cr({**profiler, "profilingStatus": "Enabled"}), rules).phase is Phase.WAITING
    # A failed job fails at once, and ACK giving up (Terminal) is not waited on.
    failed = {"trainingJobStatus": "Failed", "failureReason": "x", "debugRuleEvaluationStatuses": [rule("R", "InProgress")]}
    assert judge(cr(failed), rules).phase is Phase.FAILED
    terminal = {**completed, "debugRuleEvaluationStatuses": [rule("R", "InProgress")],
                "conditions": [condition("ACK.Terminal", "True", message="gave up")]}
    assert judge(cr(terminal), rules).phase is Phase.FAILED


def test_training_job_progress_names_the_rules_waited_for_and_their_findings() -> None:
    note = rules_for("TrainingJob").progress_note
    assert note is not None
    running = {"trainingJobStatus": "InProgress", "debugRuleEvaluationStatuses": [rule("LossNotDecreasing", "InProgress")]}
    assert note(cr(running)) == ""
    assert note(cr({"trainingJobStatus": "Completed"})) == ""
    waiting = {"trainingJobStatus": "Completed", "profilingStatus": "Enabled",
               "debugRuleEvaluationStatuses": [rule("LossNotDecreasing", "InProgress")],
               "profilerRuleEvaluationStatuses": [rule("ProfilerReport", "NoIssuesFound")]}
    assert note(cr(waiting)) == ("the job is Completed; waiting for its rule evaluations, as the controller does: "
                                 "LossNotDecreasing (Debugger) InProgress")
    found = {**waiting, "debugRuleEvaluationStatuses": [rule("LossNotDecreasing", "IssuesFound", "RuleEvaluationConditionMet: at step 5\n")]}
    assert note(cr(found)) == ("rule evaluations finished: LossNotDecreasing IssuesFound (RuleEvaluationConditionMet: at step 5), "
                               "ProfilerReport NoIssuesFound")


def test_training_job_outputs_report_each_rules_evaluation() -> None:
    outputs = rules_for("TrainingJob").outputs
    status = {"trainingJobStatus": "Completed",
              "debugRuleEvaluationStatuses": [rule("LossNotDecreasing", "NoIssuesFound")],
              "profilerRuleEvaluationStatuses": [rule("ProfilerReport", "IssuesFound", "details")]}
    values = outputs(cr(status, spec={"trainingJobName": "j"}))
    assert values["rule_evaluations"] == {"LossNotDecreasing": "NoIssuesFound", "ProfilerReport": "IssuesFound"}
    assert outputs(cr({"trainingJobStatus": "Completed"}, spec={"trainingJobName": "j"}))["rule_evaluations"] == {}
    own = {o.name for o in load_kind("TrainingJob").outputs if not (o.status_field or o.resource_name)}
    assert set(values) == own


def test_model_is_done_when_synced_with_an_arn() -> None:
    rules = rules_for("Model")
    synced = [condition("ACK.ResourceSynced", "True")]
    assert judge(cr({"conditions": synced}), rules).phase is Phase.WAITING
    assert judge(cr({"conditions": synced, "ackResourceMetadata": {"arn": "arn:x"}}), rules).phase is Phase.SUCCEEDED


def endpoint(status: str, synced: str, *, config: str, last_update: str | None, at: str = "2026-01-01T00:00:05Z", reason: str = "") -> dict[str, Any]:
    annotations = {LAST_UPDATE_ANNOTATION: last_update} if last_update else {}
    body: dict[str, Any] = {"endpointStatus": status, "conditions": [condition("ACK.ResourceSynced", synced, at=at)]}
    if reason:
        body["failureReason"] = reason
    return cr(body, spec={"endpointConfigName": config}, annotations=annotations)


def test_endpoint_update_is_not_done_on_a_stale_status() -> None:
    rules = rules_for("Endpoint")
    updated = Expectation(spec={"endpointConfigName": "new"}, updated=True, updated_at="2026-01-01T00:01:00Z")
    # Our patch is in, the controller has not started the update: old annotation, old status.
    assert judge(endpoint("InService", "True", config="new", last_update=None), rules, updated).phase is Phase.WAITING
    # ... even if the old config's sync just ended (a fresh Synced): without the controller's
    # annotation naming our config, nothing is the answer to our update.
    old_sync = endpoint("InService", "True", config="new", last_update="old", at="2026-01-01T00:01:30Z")
    assert judge(old_sync, rules, updated).phase is Phase.WAITING
    # The controller wrote the annotation but not yet the status (two separate requests).
    between = endpoint("InService", "True", config="new", last_update="new", at="2026-01-01T00:00:05Z")
    assert judge(between, rules, updated).phase is Phase.WAITING
    assert judge(endpoint("Updating", "False", config="new", last_update="new", at="2026-01-01T00:01:01Z"), rules, updated).phase is Phase.WAITING
    done = endpoint("InService", "True", config="new", last_update="new", at="2026-01-01T00:01:30Z")
    assert judge(done, rules, updated).phase is Phase.SUCCEEDED


def test_rolled_back_endpoint_update_fails_with_sagemakers_reason() -> None:
    rules = rules_for("Endpoint")
    updated = Expectation(spec={"endpointConfigName": "new"}, updated=True, updated_at="2026-01-01T00:01:00Z")
    # As ACK v1.9.1 answers a rolled-back update (tests/contract/recordings/Endpoint/update-failure.json):
    # InService, SageMaker's reason, Synced False since after the update, Terminal.
    obj = endpoint("InService", "False", config="new", last_update="new", reason="Image pull failed", at="2026-01-01T00:01:30Z")
    obj["status"]["conditions"].append(
        condition("ACK.Terminal", "True", message="unable to update endpoint. check FailureReason. latest EndpointConfigName is old")
    )
    verdict = judge(obj, rules, updated)
    assert verdict.phase is Phase.FAILED
    assert verdict.reason == "the update to endpoint config new failed: Image pull failed; the endpoint still serves endpoint config old"
    # The same from before this update (a rolled-back one before it): not this update's answer.
    stale = endpoint("InService", "False", config="new", last_update="new", reason="Image pull failed", at="2026-01-01T00:00:30Z")
    stale["status"]["conditions"].append(condition("ACK.Terminal", "True", message="latest EndpointConfigName is old"))
    assert judge(stale, rules, updated).phase is Phase.WAITING
    # Updating, with the old reason still there: in progress, not refused.
    assert judge(endpoint("Updating", "False", config="new", last_update="new", reason="Image pull failed",
                          at="2026-01-01T00:01:30Z"), rules, updated).phase is Phase.WAITING


def test_new_endpoint_is_done_when_in_service_and_synced() -> None:
    rules = rules_for("Endpoint")
    created = Expectation(spec={"endpointConfigName": "c1"})
    assert judge(endpoint("Creating", "False", config="c1", last_update=None), rules, created).phase is Phase.WAITING
    assert judge(endpoint("InService", "True", config="c1", last_update=None), rules, created).phase is Phase.SUCCEEDED
    failed = judge(endpoint("Failed", "False", config="c1", last_update=None, reason="capacity"), rules, created)
    assert (failed.phase, failed.reason) == (Phase.FAILED, "endpoint Failed: capacity")


# ----- outputs -----------------------------------------------------------------------------


def test_outputs_are_plain_values(tmp_path: Path) -> None:
    assert serialize("s3://b/k") == "s3://b/k"
    assert serialize({"b": 1, "a": [1, 2]}) == '{"a": [1, 2], "b": 1}'
    assert serialize(0.25) == "0.25" and serialize(3) == "3" and serialize(True) == "true"
    paths = {"name": str(tmp_path / "out" / "name" / "data"), "status": str(tmp_path / "status")}
    write_outputs({"name": "job-1", "status": {"s": "Completed"}}, paths)
    assert Path(paths["name"]).read_text() == "job-1"
    assert json.loads(Path(paths["status"]).read_text()) == {"s": "Completed"}
    assert not list(tmp_path.rglob(".*.tmp"))
    with pytest.raises(KeyError):
        write_outputs({}, {"missing": str(tmp_path / "m")})


# ----- SageMaker's defaults in the rendered spec ------------------------------------------


def test_service_defaults_fill_only_what_the_user_left_out() -> None:
    spec = {
        "enableNetworkIsolation": True,
        "algorithmSpecification": {"trainingImage": "img"},
        "outputDataConfig": {"s3OutputPath": "s3://b/o", "kmsKeyID": "alias/mine"},
    }
    filled = with_service_defaults(spec, rules_for("TrainingJob").service_defaults)
    assert filled["enableNetworkIsolation"] is True  # the user's choice stands
    assert filled["enableManagedSpotTraining"] is False and filled["enableInterContainerTrafficEncryption"] is False
    # Not guessed: SageMaker may report it as true for a built-in algorithm.
    assert filled["algorithmSpecification"] == {"trainingImage": "img"}
    assert filled["outputDataConfig"] == {"s3OutputPath": "s3://b/o", "kmsKeyID": "alias/mine", "compressionType": "GZIP"}
    assert "compressionType" not in spec["outputDataConfig"] and "enableManagedSpotTraining" not in spec  # input untouched


def test_service_defaults_never_create_a_parent_object() -> None:
    filled = with_service_defaults({"roleARN": "r"}, {"outputDataConfig.compressionType": "GZIP", "flag": False})
    assert filled == {"roleARN": "r", "flag": False}


@pytest.mark.parametrize("kind", ["TrainingJob", "HyperParameterTuningJob"])
def test_service_defaults_are_fields_of_the_crd_with_valid_values(kind: str) -> None:
    """A new controller release that renames one of these fields fails here, not in production."""
    schema = load_kind(kind).spec_schema
    for path, value in rules_for(kind).service_defaults.items():
        node = schema
        for part in path.split("."):
            assert part in node.get("properties", {}), f"{kind} spec has no field {path}"
            node = node["properties"][part]
        jsonschema.validate(value, node)


def test_a_spurious_terminal_update_is_explained() -> None:
    rules = rules_for("TrainingJob")
    obj = cr({"trainingJobStatus": "InProgress", "conditions": [
        {"type": "ACK.Terminal", "status": "True", "message": "only Warm Pool or Profiler can be updated"}]})
    verdict = judge(obj, rules)
    assert verdict.phase is Phase.FAILED
    assert verdict.reason.startswith("ACK.Terminal: only Warm Pool or Profiler can be updated. This step changed nothing:")
    assert "enableSageMakerMetricsTimeSeries" in verdict.reason


def test_other_terminal_messages_are_reported_as_they_are() -> None:
    obj = cr({"conditions": [{"type": "ACK.Terminal", "status": "True", "message": "InvalidParameterValue: bad"}]})
    assert judge(obj, rules_for("TrainingJob")).reason == "ACK.Terminal: InvalidParameterValue: bad"
