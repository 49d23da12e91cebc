"""A TrainingJob with Debugger and Profiler rules: after the job is Completed, SageMaker keeps
evaluating the rules and the ACK controller keeps the resource unsynced until they finish; the
step waits for them the same way and reports their findings.

Two tests of the same behaviour:
- a contract test that runs in CI without the controller: the test itself writes onto the CR the
  statuses the real controller wrote in a recorded run (recorded/training_job_rules.json), in order;
- the same step end to end with the real controller and the simulator (marked `controller`).
"""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from tests.support.cluster import GROUP, VERSION, Cluster, PrivateStacks, create_namespace, wait_for
from tests.support.component_command import ComponentStep
from tests.support.manifests import tags, training_arguments
from tests.support.s3_data import BUCKET

pytestmark = [pytest.mark.integration, pytest.mark.slow]

RECORDED = json.loads((Path(__file__).parent / "recorded" / "training_job_rules.json").read_text())
EVALUATOR = "503895931360.dkr.ecr.us-east-1.amazonaws.com/sagemaker-debugger-rules:latest"
RULE_INPUTS = {
    "debug_rule_configurations": [{"ruleConfigurationName": "LossNotDecreasing", "ruleEvaluatorImage": EVALUATOR,
                                   "ruleParameters": {"rule_to_invoke": "LossNotDecreasing"}}],
    "profiler_config": {"s3OutputPath": f"s3://{BUCKET}/profiler", "profilingIntervalInMilliseconds": 500},
    "profiler_rule_configurations": [{"ruleConfigurationName": "ProfilerReport", "ruleEvaluatorImage": EVALUATOR,
                                      "ruleParameters": {"rule_to_invoke": "ProfilerReport"}}],
}
WAITING_LINE = ("the job is Completed; waiting for its rule evaluations, as the controller does: "
                "LossNotDecreasing (Debugger) InProgress, ProfilerReport (Profiler) InProgress")
FINISHED_LINE = ("rule evaluations finished: LossNotDecreasing NoIssuesFound, ProfilerReport IssuesFound "
                 "(RuleEvaluationConditionMet: Evaluation of the rule ProfilerReport at step ")


def rules_step(cluster: Cluster, namespace: str, tmp_path: Path, **extra: Any) -> ComponentStep:
    arguments = training_arguments(namespace, **RULE_INPUTS, **extra)
    return ComponentStep("TrainingJob", arguments, kubeconfig=cluster.kubeconfig, workdir=tmp_path,
                         run_id=str(uuid.uuid4()), task="train-with-rules")


def snapshot(name: str, job: str) -> dict[str, Any]:
    text = json.dumps(RECORDED["snapshots"][name]).replace("{name}", job).replace("{bucket}", BUCKET)
    return dict(json.loads(text))


@pytest.fixture(scope="module")
def controllerless(cluster: Cluster, private_stack: PrivateStacks) -> Cluster:
    """Nothing but the test may write the status: the shared stack when it runs without the
    controller (as on CI), else a private stack without one."""
    return cluster if not cluster.controller_running else private_stack.start(with_controller=False)


def test_the_step_waits_for_rules_the_controller_still_evaluates(controllerless: Cluster, tmp_path: Path) -> None:
    cluster = controllerless
    namespace = create_namespace(cluster, "rules-contract")
    component = rules_step(cluster, namespace, tmp_path, no_controller_seconds=60)
    proc = component.start()
    api = client.CustomObjectsApi(cluster.admin())
    try:
        [created] = wait_for(lambda: api.list_namespaced_custom_object(GROUP, VERSION, namespace, "trainingjobs")["items"],
                             timeout=60, what="the step to create its TrainingJob")
        job = created["spec"]["trainingJobName"]

        def write(name: str) -> None:
            # As the controller does: the whole status, through the status subresource.
            obj = api.get_namespaced_custom_object(GROUP, VERSION, namespace, "trainingjobs", created["metadata"]["name"])
            obj["status"] = snapshot(name, job)
            api.replace_namespaced_custom_object_status(GROUP, VERSION, namespace, "trainingjobs", obj["metadata"]["name"], obj)

        write("running")
        write("rules_evaluating")  # Completed, both rules InProgress, ACK.ResourceSynced False
        time.sleep(3)
        assert proc.poll() is None, "the step finished while the controller still waited for the rules"
        write("finished")
        result = component.finish(proc, timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert result.returncode == 0, result.stderr
    assert result.output_json("rule_evaluations") == {"LossNotDecreasing": "NoIssuesFound", "ProfilerReport": "IssuesFound"}
    assert result.output_json("status")["conditions"][0]["message"] == "TrainingJob is in Completed status."
    assert WAITING_LINE in result.stdout and FINISHED_LINE in result.stdout
    assert result.stdout.index(WAITING_LINE) < result.stdout.index(FINISHED_LINE)


@pytest.mark.controller
@pytest.mark.simulator
def test_rules_end_to_end_with_the_controller(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    """The simulator keeps the rules InProgress for 50 s after the 5 s job (ProfilerReport finds
    issues); the controller re-reads about every 30 s, so it sees Completed with rules evaluating."""
    result = rules_step(cluster, namespace, tmp_path,
                        tags=tags(rule_seconds="50", rule_issues="ProfilerReport")).run(timeout=300)
    assert result.returncode == 0, result.stderr
    assert result.output_json("rule_evaluations") == {"LossNotDecreasing": "NoIssuesFound", "ProfilerReport": "IssuesFound"}
    statuses = result.output_json("final_metrics")["profilerRuleEvaluationStatuses"]
    assert statuses[0]["statusDetails"].startswith("RuleEvaluationConditionMet: Evaluation of the rule ProfilerReport")
    assert WAITING_LINE in result.stdout and FINISHED_LINE in result.stdout
    # The job's model is a real object in the stack's store.
    if cluster.object_store_url:
        artifact = result.outputs["model_artifact_url"]
        assert artifact.startswith(f"s3://{BUCKET}/")
        head = cluster.s3().head_object(Bucket=BUCKET, Key=artifact[len(f"s3://{BUCKET}/"):])
        assert head["ContentLength"] > 0
