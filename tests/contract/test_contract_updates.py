"""Contract tests: rolling out a change to an Endpoint, a MonitoringSchedule, an InferenceComponent
or a model version that already exists. The step patches the new spec in, then waits for the
controller's answer to its own change (for an Endpoint: the controller's
last-endpoint-config-for-update annotation naming the new config and a fresh ACK.ResourceSynced;
for an InferenceComponent: its last-spec-for-update annotation holding the step's spec and a fresh
ACK.ResourceSynced), never taking the status from before the update for it. The controller's part
is replayed from recordings of the real controller."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from sagemaker_ack_kfp.applying import UPDATED_AT_ANNOTATION
from sagemaker_ack_kfp.kinds import load_kind
from sagemaker_ack_kfp.naming import SPEC_HASH_ANNOTATION
from sagemaker_ack_kfp.overlays.hosting import LAST_UPDATE_ANNOTATION
from sagemaker_ack_kfp.overlays.inference_component import LAST_SPEC_ANNOTATION
from tests.contract.replay import Replayer
from tests.contract.scenarios import COMPONENT_FAIL_REASON, ENDPOINT_FAIL_REASON
from tests.contract.stage import Contract
from tests.support.component_command import StepResult
from tests.support.manifests import inference_component_arguments, model_package_arguments, schedule_arguments

pytestmark = pytest.mark.integration

# Condition times have a resolution of one second, and a real update comes long after the
# resource's last sync: the update starts in a later second than the creation's last write.
NEXT_SECOND = 1.1


def ok(result: StepResult) -> StepResult:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def created_endpoint(contract: Contract, scenario: str) -> tuple[Replayer, str, StepResult]:
    """A first step created the endpoint on config-a and the replay brought it InService."""
    name = f"ep-{uuid.uuid4().hex[:8]}"
    replay = contract.replay("Endpoint", scenario, name=name)
    run = contract.start("Endpoint", {"endpoint_name": name, "endpoint_config_name": "config-a"})
    replay.play_to_step_action()
    first = ok(run.finish())
    assert "created Endpoint" in first.stdout and first.outputs["endpoint_config_name"] == "config-a"
    time.sleep(NEXT_SECOND)
    return replay, name, first


def annotated(obj: dict[str, Any]) -> bool:
    return LAST_UPDATE_ANNOTATION in ((obj.get("metadata") or {}).get("annotations") or {})


def synced(obj: dict[str, Any]) -> str:
    return next((c["status"] for c in (obj.get("status") or {}).get("conditions", []) if c["type"] == "ACK.ResourceSynced"), "")


def still_waiting(run: Any, seconds: float = 1.0) -> None:
    time.sleep(seconds)
    assert run.proc.poll() is None, f"the step ended early ({run.proc.returncode}):\n{run.stdout}"
    assert not any(path.exists() for path in run.step.output_paths.values())


def test_an_endpoint_update_rolls_out_the_new_config(contract: Contract) -> None:
    replay, name, first = created_endpoint(contract, "update")
    created = contract.resources("Endpoint")[0]
    run = contract.start("Endpoint", {"endpoint_name": name, "endpoint_config_name": "config-b"})
    replay.play(until=annotated)  # the controller took the update on; the status is still the old one
    run.wait_for_line("updated the existing Endpoint")
    [(action, patched)] = replay.step_actions
    assert action == "update" and patched is not None
    assert patched["spec"]["endpointConfigName"] == "config-b"
    assert patched["metadata"]["annotations"][SPEC_HASH_ANNOTATION] != created["metadata"]["annotations"][SPEC_HASH_ANNOTATION]
    assert patched["metadata"]["annotations"][UPDATED_AT_ANNOTATION]
    assert patched["metadata"]["uid"] == created["metadata"]["uid"]
    still_waiting(run)  # InService and synced, but from before the update: not the answer
    replay.play(until="Updating")
    still_waiting(run, 0.5)
    replay.play()  # InService again, with a fresh ACK.ResourceSynced
    result = ok(run.finish())
    assert result.outputs["endpoint_config_name"] == "config-b"
    assert result.outputs["endpoint_arn"] == first.outputs["endpoint_arn"]
    assert result.output_json("status")["endpointStatus"] == "InService"
    [endpoint] = contract.resources("Endpoint")
    assert endpoint["metadata"]["annotations"][LAST_UPDATE_ANNOTATION] == "config-b"


def test_a_rolled_back_endpoint_update_exits_1_with_sagemakers_reason(contract: Contract) -> None:
    replay, name, _ = created_endpoint(contract, "update-failure")
    run = contract.start("Endpoint", {"endpoint_name": name, "endpoint_config_name": "config-bad"})
    replay.play()
    result = run.finish()
    assert result.returncode == 1, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert (f"the update to endpoint config config-bad failed: {ENDPOINT_FAIL_REASON}; the endpoint still serves "
            "endpoint config config-a") in result.stderr
    assert result.outputs == {} and "Traceback" not in result.stderr
    [endpoint] = contract.resources("Endpoint")
    assert not endpoint["metadata"].get("deletionTimestamp")


def test_sigterm_during_an_endpoint_update_leaves_the_endpoint(contract: Contract) -> None:
    replay, name, _ = created_endpoint(contract, "update")
    run = contract.start("Endpoint", {"endpoint_name": name, "endpoint_config_name": "config-b"})
    replay.play(until="Updating")
    run.wait_for_line(": Updating")
    run.terminate()
    result = run.finish()
    assert result.returncode == 143, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert f"leaving Endpoint {contract.namespace}/{name} in place" in result.stdout
    assert contract.requests("Endpoint", "delete") == []
    [endpoint] = contract.resources("Endpoint")
    assert not endpoint["metadata"].get("deletionTimestamp") and endpoint["spec"]["endpointConfigName"] == "config-b"


def test_a_retried_update_step_waits_for_the_update_its_first_attempt_started(contract: Contract) -> None:
    """The pod that updated the endpoint died; its retry finds its own spec already there
    (reattach) and still waits for the answer to that update, not the status from before it."""
    replay, name, _ = created_endpoint(contract, "update")
    run_id = str(uuid.uuid4())
    dying = contract.start("Endpoint", {"endpoint_name": name, "endpoint_config_name": "config-b"}, run_id=run_id)
    dying.wait_for_line("updated the existing Endpoint")
    dying.kill()
    replay.play(until=annotated)
    retry = contract.start("Endpoint", {"endpoint_name": name, "endpoint_config_name": "config-b"}, run_id=run_id)
    retry.wait_for_line("reattached to the existing Endpoint")
    still_waiting(retry)
    replay.play()
    result = ok(retry.finish())
    assert result.outputs["endpoint_config_name"] == "config-b"


def test_a_monitoring_schedule_update_waits_for_the_new_schedule(contract: Contract) -> None:
    name = f"schedule-{uuid.uuid4().hex[:8]}"
    replay = contract.replay("MonitoringSchedule", "update", name=name)
    arguments = schedule_arguments(contract.namespace, "definition-a", monitoring_schedule_name=name)
    first = contract.start("MonitoringSchedule", arguments)
    replay.play_to_step_action()
    created = ok(first.finish())
    time.sleep(NEXT_SECOND)
    hourly = arguments["monitoring_schedule_config"]
    daily = {**hourly, "scheduleConfig": {"scheduleExpression": "cron(0 0 ? * * *)"}}
    run = contract.start("MonitoringSchedule", {**arguments, "monitoring_schedule_config": daily})
    # ACK v1.9.1 keeps the status Scheduled through an update; only ACK.ResourceSynced says it is not done.
    replay.play(until=lambda obj: synced(obj) == "False")
    run.wait_for_line("updated the existing MonitoringSchedule")
    [(action, patched)] = replay.step_actions
    assert action == "update" and patched is not None
    assert patched["spec"]["monitoringScheduleConfig"]["scheduleConfig"] == daily["scheduleConfig"]
    still_waiting(run)
    replay.play()
    result = ok(run.finish())
    # The same schedule: its own outputs are unchanged; the status-derived ones (upstream v2's
    # conditions, last_modified_time) are the updated resource's.
    own = {o.name for o in load_kind("MonitoringSchedule").outputs if not (o.status_field or o.resource_name)}
    assert {k: v for k, v in result.outputs.items() if k in own} == {k: v for k, v in created.outputs.items() if k in own}
    assert set(result.outputs) == set(created.outputs)
    assert result.outputs["last_modified_time"] >= created.outputs["last_modified_time"]
    [schedule] = contract.resources("MonitoringSchedule")
    assert schedule["status"]["monitoringScheduleStatus"] == "Scheduled" and synced(schedule) == "True"


def test_an_update_after_a_rolled_back_update_waits_for_its_own_answer(contract: Contract) -> None:
    """After a rolled-back update, ACK.Terminal and SageMaker's failureReason stay on the endpoint
    until the controller takes the next update on; the next step (a fixed config) must not take
    them for its own answer."""
    replay, name, _ = created_endpoint(contract, "update-after-failure")
    bad = contract.start("Endpoint", {"endpoint_name": name, "endpoint_config_name": "config-bad"})
    replay.play(until=lambda obj: bool((obj.get("status") or {}).get("failureReason")))  # rolled back
    failed = bad.finish()
    assert failed.returncode == 1 and "the update to endpoint config config-bad failed" in failed.stderr, failed.stderr
    time.sleep(NEXT_SECOND)
    fixed = contract.start("Endpoint", {"endpoint_name": name, "endpoint_config_name": "config-c"})
    replay.play(until=lambda obj: annotated(obj) and obj["metadata"]["annotations"][LAST_UPDATE_ANNOTATION] == "config-c")
    fixed.wait_for_line("updated the existing Endpoint")
    still_waiting(fixed)  # our annotation, but the failure and Terminal of the update before
    replay.play()
    result = ok(fixed.finish())
    assert result.outputs["endpoint_config_name"] == "config-c"
    assert result.output_json("status")["endpointStatus"] == "InService"


# ----- inference components ----------------------------------------------------------------


def component_arguments(contract: Contract, name: str, model: str = "model-a", copies: int = 1) -> dict[str, Any]:
    return inference_component_arguments(contract.namespace, "endpoint-a", model, copies=copies, inference_component_name=name)


def created_component(contract: Contract, scenario: str) -> tuple[Replayer, str, StepResult]:
    """A first step deployed model-a (one copy) and the replay brought it InService."""
    name = f"ic-{uuid.uuid4().hex[:8]}"
    replay = contract.replay("InferenceComponent", scenario, name=name)
    run = contract.start("InferenceComponent", component_arguments(contract, name))
    replay.play_to_step_action()
    first = ok(run.finish())
    assert "created InferenceComponent" in first.stdout
    time.sleep(NEXT_SECOND)
    return replay, name, first


def spec_recorded(obj: dict[str, Any]) -> bool:
    return LAST_SPEC_ANNOTATION in ((obj.get("metadata") or {}).get("annotations") or {})


def test_an_inference_component_update_rolls_out_the_new_copy_count(contract: Contract) -> None:
    replay, name, first = created_component(contract, "update")
    created = contract.resources("InferenceComponent")[0]
    run = contract.start("InferenceComponent", component_arguments(contract, name, copies=3))
    replay.play(until=spec_recorded)  # the controller sent the update; the status is still the old one
    run.wait_for_line("updated the existing InferenceComponent")
    [(action, patched)] = replay.step_actions
    assert action == "update" and patched is not None
    assert patched["spec"]["runtimeConfig"] == {"copyCount": 3}
    assert patched["metadata"]["annotations"][SPEC_HASH_ANNOTATION] != created["metadata"]["annotations"][SPEC_HASH_ANNOTATION]
    assert patched["metadata"]["uid"] == created["metadata"]["uid"]
    still_waiting(run)  # InService and synced, but from before the update: not the answer
    replay.play(until="Updating")
    still_waiting(run, 0.5)
    replay.play()  # InService again, with a fresh ACK.ResourceSynced
    result = ok(run.finish())
    assert result.outputs["inference_component_arn"] == first.outputs["inference_component_arn"]
    assert result.outputs["endpoint_name"] == "endpoint-a"
    assert result.output_json("status")["inferenceComponentStatus"] == "InService"
    [component] = contract.resources("InferenceComponent")
    assert component["spec"]["runtimeConfig"] == {"copyCount": 3}


def test_a_rolled_back_inference_component_update_exits_1_with_sagemakers_reason(contract: Contract) -> None:
    replay, name, _ = created_component(contract, "update-failure")
    run = contract.start("InferenceComponent", component_arguments(contract, name, model="model-broken"))
    replay.play(until="Updating")
    still_waiting(run, 0.5)
    replay.play()  # InService on the old model, SageMaker's failureReason, ACK.Terminal
    result = run.finish()
    assert result.returncode == 1, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert f"the update of the inference component failed: {COMPONENT_FAIL_REASON}" in result.stderr
    assert result.outputs == {} and "Traceback" not in result.stderr
    [component] = contract.resources("InferenceComponent")
    assert not component["metadata"].get("deletionTimestamp")
    assert component["spec"]["specification"]["modelName"] == "model-broken"


def test_sigterm_during_an_inference_component_update_leaves_it(contract: Contract) -> None:
    replay, name, _ = created_component(contract, "update")
    run = contract.start("InferenceComponent", component_arguments(contract, name, copies=3))
    replay.play(until="Updating")
    run.wait_for_line(": Updating")
    run.terminate()
    result = run.finish()
    assert result.returncode == 143, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert f"leaving InferenceComponent {contract.namespace}/{name} in place" in result.stdout
    assert contract.requests("InferenceComponent", "delete") == []
    [component] = contract.resources("InferenceComponent")
    assert not component["metadata"].get("deletionTimestamp") and component["spec"]["runtimeConfig"] == {"copyCount": 3}


# ----- model registry ----------------------------------------------------------------------


def test_a_model_version_is_approved_in_place(contract: Contract) -> None:
    """The same registration step, retried with an approval: the version is updated, not added,
    and the step waits for the controller's answer to the update."""
    run_id = str(uuid.uuid4())
    replay = contract.replay("ModelPackage", "update")
    first = contract.start("ModelPackage", model_package_arguments(contract.namespace, "group-a"), run_id=run_id, task="register")
    replay.play_to_step_action()
    registered = ok(first.finish())
    assert registered.outputs["model_approval_status"] == "PendingManualApproval"
    time.sleep(NEXT_SECOND)
    approval = {"model_approval_status": "Approved", "approval_description": "metrics ok"}
    run = contract.start("ModelPackage", model_package_arguments(contract.namespace, "group-a", **approval),
                         run_id=run_id, task="register")
    run.wait_for_line("updated the existing ModelPackage")
    still_waiting(run)  # Completed and synced, but from before the approval
    replay.play()  # a fresh ACK.ResourceSynced after UpdateModelPackage
    result = ok(run.finish())
    [(action, patched)] = replay.step_actions
    assert action == "update" and patched is not None
    assert (patched["spec"]["modelApprovalStatus"], patched["spec"]["approvalDescription"]) == ("Approved", "metrics ok")
    assert result.outputs["model_approval_status"] == "Approved"
    assert result.outputs["model_package_arn"] == registered.outputs["model_package_arn"]  # the same version
    assert result.outputs["model_package_version"] == "1"
    assert len(contract.resources("ModelPackage")) == 1
