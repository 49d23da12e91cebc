"""The LabelingJob, Pipeline and PipelineExecution components, run as KFP runs them: against the
real controller where marked, and against the API server alone for what a step decides before any
controller acts."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from tests.support.cluster import Cluster, wait_for
from tests.support.manifests import (
    inference_component_arguments,
    labeling_arguments,
    model_package_arguments,
    model_package_group_arguments,
    pipeline_arguments,
    pipeline_execution_arguments,
    tags,
)
from tests.support.steps import component, items, ok, run, sagemaker

pytestmark = pytest.mark.integration


# ----- Ground Truth --------------------------------------------------------------------------


@pytest.mark.controller
def test_labeling_job_outputs_its_manifest_and_counters(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    result = ok(run(cluster, tmp_path, "LabelingJob", labeling_arguments(namespace)))
    name = result.outputs["labeling_job_name"]
    assert result.outputs["output_manifest_uri"] == f"s3://demo-bucket/labeling/output/{name}/manifests/output/output.manifest"
    counters = result.output_json("label_counters")
    assert counters["totalLabeled"] == counters["humanLabeled"] > 0 and counters["unlabeled"] == 0
    assert result.outputs["labeling_job_arn"].endswith(f":labeling-job/{name}")
    assert result.outputs["final_active_learning_model_arn"] == ""
    assert result.output_json("status")["labelingJobStatus"] == "Completed"
    assert "sagemaker/groundtruth?region=us-east-1#/labeling-jobs/details/" in result.stdout
    [job] = items(cluster, namespace, "labelingjobs")
    # Ground Truth's default rendered up front: nothing for the controller to late-initialize into a "change".
    assert job["spec"]["humanTaskConfig"]["maxConcurrentTaskCount"] == 1000
    if cluster.simulator_url:
        described = sagemaker(cluster).describe_labeling_job(LabelingJobName=name)
        assert {k[0].lower() + k[1:]: v for k, v in described["LabelCounters"].items()} == counters


@pytest.mark.controller
@pytest.mark.simulator
def test_failed_labeling_job_reports_its_reason(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    result = run(cluster, tmp_path, "LabelingJob", labeling_arguments(namespace, tags=tags(fail_reason="ClientError: input manifest not found")))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Failed: ClientError: input manifest not found" in result.stderr


@pytest.mark.controller
@pytest.mark.simulator
def test_cancelled_labeling_job_is_stopped(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    step = component(cluster, tmp_path, "LabelingJob", labeling_arguments(namespace, tags=tags(phase_seconds="60")))
    proc = step.start()
    step.terminate_when(proc, lambda: any(j.get("status", {}).get("labelingJobStatus") == "InProgress"
                                          for j in items(cluster, namespace, "labelingjobs")))
    result = step.finish(proc, timeout=60)
    assert result.returncode == 143, result.stderr
    assert "the controller stops the SageMaker job" in result.stdout
    [name] = [j["spec"]["labelingJobName"] for j in items(cluster, namespace, "labelingjobs")] or [""]
    wait_for(lambda: [j["status"] for j in cluster.sim_resources("LabelingJob", name_prefix=name)] in (["Stopping"], ["Stopped"]),
             timeout=120, interval=2, what="StopLabelingJob")


# ----- SageMaker Pipelines -------------------------------------------------------------------


@pytest.mark.controller
def test_define_run_update_and_run_again(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    name = f"nightly-{uuid.uuid4().hex[:8]}"
    defined = ok(run(cluster, tmp_path, "Pipeline", pipeline_arguments(namespace, name)))
    assert defined.outputs == {"pipeline_name": name, "pipeline_arn": f"arn:aws:sagemaker:us-east-1:123456789012:pipeline/{name}"}
    first = ok(run(cluster, tmp_path, "PipelineExecution", pipeline_execution_arguments(namespace, name)))
    assert first.outputs["pipeline_execution_arn"].startswith(f"{defined.outputs['pipeline_arn']}/execution/")
    assert first.output_json("status")["pipelineExecutionStatus"] == "Succeeded"
    assert first.outputs["pipeline_name"] == name

    updated = ok(run(cluster, tmp_path, "Pipeline", pipeline_arguments(namespace, name, steps=("Prepare", "Train", "Evaluate"))))
    assert "updated the existing Pipeline" in updated.stdout
    second = ok(run(cluster, tmp_path, "PipelineExecution", pipeline_execution_arguments(namespace, name)))
    assert second.outputs["pipeline_execution_arn"] != first.outputs["pipeline_execution_arn"]
    assert len(items(cluster, namespace, "pipelineexecutions")) == 2
    if cluster.simulator_url:
        steps = sagemaker(cluster).list_pipeline_execution_steps(
            PipelineExecutionArn=second.outputs["pipeline_execution_arn"], SortOrder="Ascending")["PipelineExecutionSteps"]
        assert [(s["StepName"], s["StepStatus"]) for s in steps] == [
            ("Prepare", "Succeeded"), ("Train", "Succeeded"), ("Evaluate", "Succeeded")]


@pytest.mark.controller
@pytest.mark.simulator
def test_a_pipeline_defined_elsewhere_is_adopted_and_brought_to_the_steps_definition(
        cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    name = f"studio-{uuid.uuid4().hex[:8]}"
    sm = sagemaker(cluster)
    old = pipeline_arguments(namespace, name, steps=("Old",))
    arn = sm.create_pipeline(PipelineName=name, RoleArn=old["role_arn"], PipelineDefinition=old["pipeline_definition"])["PipelineArn"]
    ours = pipeline_arguments(namespace, name, steps=("Prepare", "Train"))
    adopted = ok(run(cluster, tmp_path, "Pipeline", ours))
    assert adopted.outputs["pipeline_arn"] == arn
    [pipeline] = items(cluster, namespace, "pipelines")
    assert pipeline["metadata"]["annotations"]["services.k8s.aws/adopted"] == "true"
    wait_for(lambda: sm.describe_pipeline(PipelineName=name)["PipelineDefinition"] == ours["pipeline_definition"],
             timeout=60, what="UpdatePipeline with the step's definition")


@pytest.mark.controller
@pytest.mark.simulator
def test_failed_execution_reports_sagemakers_reason(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    name = f"flaky-{uuid.uuid4().hex[:8]}"
    ok(run(cluster, tmp_path, "Pipeline", pipeline_arguments(namespace, name, tags=tags(fail_reason="Step Train failed: AlgorithmError"))))
    result = run(cluster, tmp_path, "PipelineExecution", pipeline_execution_arguments(namespace, name))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Failed: Step Train failed: AlgorithmError" in result.stderr


@pytest.mark.controller
@pytest.mark.simulator
def test_cancelled_execution_is_stopped(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    name = f"slow-{uuid.uuid4().hex[:8]}"
    ok(run(cluster, tmp_path, "Pipeline", pipeline_arguments(namespace, name, tags=tags(phase_seconds="60"))))
    step = component(cluster, tmp_path, "PipelineExecution", pipeline_execution_arguments(namespace, name))
    proc = step.start()
    step.terminate_when(proc, lambda: any(e.get("status", {}).get("pipelineExecutionStatus") == "Executing"
                                          for e in items(cluster, namespace, "pipelineexecutions")))
    result = step.finish(proc, timeout=60)
    assert result.returncode == 143, result.stderr
    wait_for(lambda: [e["status"] for e in cluster.sim_resources("PipelineExecution", name_prefix=f"{name}/")] in (["Stopping"], ["Stopped"]),
             timeout=120, interval=2, what="StopPipelineExecution")
    assert cluster.sim("/_sim/calls")["calls"].get("StopPipelineExecution", 0) >= 1


@pytest.mark.controller
@pytest.mark.simulator
def test_an_execution_sagemaker_keeps_refusing_fails_after_the_grace_period(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    """StartPipelineExecution's ValidationException (a parameter the definition lacks) is retried
    by the controller (ACK.Recoverable): the step gives up after recoverable_grace_seconds."""
    name = f"strict-{uuid.uuid4().hex[:8]}"
    ok(run(cluster, tmp_path, "Pipeline", pipeline_arguments(namespace, name)))
    arguments = pipeline_execution_arguments(namespace, name, pipeline_parameters=[{"name": "Epochs", "value": "3"}],
                                             recoverable_grace_seconds=5)
    result = run(cluster, tmp_path, "PipelineExecution", arguments)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "the controller kept retrying for 5s (ACK.Recoverable)" in result.stderr
    assert "Pipeline parameter(s) ['Epochs'] are not defined in the pipeline definition." in result.stderr


@pytest.mark.controller
def test_execution_of_a_missing_pipeline_fails_with_the_reason(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    """StartPipelineExecution's ResourceNotFound is terminal for the controller."""
    result = run(cluster, tmp_path, "PipelineExecution", pipeline_execution_arguments(namespace, f"absent-{uuid.uuid4().hex[:6]}"))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "ACK.Terminal" in result.stderr and "does not exist" in result.stderr


# ----- decided before any controller acts (CI) -----------------------------------------------


def test_every_run_gets_its_own_execution_whatever_its_display_name(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    arguments = pipeline_execution_arguments(namespace, "nightly", pipeline_execution_display_name="nightly-run",
                                             no_controller_seconds=2, recoverable_grace_seconds=1)
    for _ in range(2):  # two KFP runs of the same pipeline
        result = run(cluster, tmp_path, "PipelineExecution", arguments, task="run-nightly")
        assert result.returncode in (1, 3), result.stderr  # no controller, or no such SageMaker pipeline
    executions = items(cluster, namespace, "pipelineexecutions")
    assert len(executions) == 2
    assert {e["spec"]["pipelineExecutionDisplayName"] for e in executions} == {"nightly-run"}
    assert all(e["metadata"]["name"].startswith("execution-run-nightly-") for e in executions)


def test_a_change_of_pipeline_tags_is_refused(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    name = f"tagged-{uuid.uuid4().hex[:8]}"
    run(cluster, tmp_path, "Pipeline", pipeline_arguments(namespace, name, no_controller_seconds=2, tags=[{"key": "team", "value": "a"}]))
    refused = run(cluster, tmp_path, "Pipeline", pipeline_arguments(namespace, name, no_controller_seconds=2, tags=[{"key": "team", "value": "b"}]))
    assert refused.returncode == 3, refused.stderr
    assert "its spec.tags cannot be changed in place" in refused.stderr


# ----- bad input creates nothing, for each of these kinds and the registry's (CI) ------------

BAD_INPUTS = {
    "ModelPackageGroup": ({"model_package_group_name": "mnist_models"}, "is not a valid SageMaker name", "modelpackagegroups"),
    "ModelPackage": ({"inference_specification": {"containers": [{"image": "i", "modelDataUrl": "s3://b/m.tar.gz"}]}},
                     "did you mean 'modelDataURL'?", "modelpackages"),
    "InferenceComponent": ({"runtime_config": {"copyCount": "two"}}, "runtime_config.copyCount", "inferencecomponents"),
    "LabelingJob": ({"human_task_config": {"workteamArn": "arn:aws:sagemaker:us-east-1:1:workteam/private-crowd/t"}},
                    "did you mean 'workteamARN'?", "labelingjobs"),
    "Pipeline": ({"parallelism_configuration": {"maxParallelExecutionSteps": "many"}},
                 "parallelism_configuration.maxParallelExecutionSteps", "pipelines"),
    "PipelineExecution": ({"pipeline_parameters": {"name": "InputData"}}, "pipeline_parameters", "pipelineexecutions"),
}


@pytest.mark.parametrize("kind", sorted(BAD_INPUTS))
def test_bad_input_exits_2_and_creates_nothing(cluster: Cluster, namespace: str, tmp_path: Path, kind: str) -> None:
    base = {
        "ModelPackageGroup": model_package_group_arguments(namespace, "mnist"),
        "ModelPackage": model_package_arguments(namespace, "mnist"),
        "InferenceComponent": inference_component_arguments(namespace, "ep", "m"),
        "LabelingJob": labeling_arguments(namespace),
        "Pipeline": pipeline_arguments(namespace, "p"),
        "PipelineExecution": pipeline_execution_arguments(namespace, "p"),
    }[kind]
    override, expected, plural = BAD_INPUTS[kind]
    result = run(cluster, tmp_path, kind, {**base, **override})
    assert result.returncode == 2, result.stderr
    assert expected in result.stderr and "nothing was created" in result.stderr
    assert "Traceback" not in result.stderr
    assert items(cluster, namespace, plural) == []
