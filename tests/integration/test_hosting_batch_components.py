"""Tuning, hosting, batch, processing and monitoring components, run as KFP runs them."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client

from tests.support.cluster import GROUP, VERSION, Cluster, wait_for
from tests.support.component_command import ComponentStep, StepResult
from tests.support.manifests import (
    endpoint_config_arguments,
    model_arguments,
    processing_arguments,
    tags,
    transform_arguments,
    tuning_arguments,
)

pytestmark = pytest.mark.integration


def run(cluster: Cluster, tmp_path: Path, kind: str, arguments: dict[str, Any], *, run_id: str = "", task: str = "") -> StepResult:
    return component(cluster, tmp_path, kind, arguments, run_id=run_id, task=task).run(timeout=400)


def component(cluster: Cluster, tmp_path: Path, kind: str, arguments: dict[str, Any], *, run_id: str = "", task: str = "") -> ComponentStep:
    return ComponentStep(
        kind, arguments, kubeconfig=cluster.kubeconfig, workdir=tmp_path / f"{kind}-{uuid.uuid4().hex[:6]}",
        run_id=run_id or str(uuid.uuid4()), task=task or kind.lower(),
    )


def items(cluster: Cluster, namespace: str, plural: str) -> list[dict[str, Any]]:
    api = client.CustomObjectsApi(cluster.admin())
    return list(api.list_namespaced_custom_object(GROUP, VERSION, namespace, plural)["items"])


def ok(result: StepResult) -> StepResult:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def hosted_model(cluster: Cluster, namespace: str, tmp_path: Path, **endpoint_config_extra: Any) -> tuple[str, str]:
    model = ok(run(cluster, tmp_path, "Model", model_arguments(namespace)))
    config = ok(
        run(
            cluster, tmp_path, "EndpointConfig",
            endpoint_config_arguments(namespace, model.outputs["model_name"], **endpoint_config_extra),
        )
    )
    return model.outputs["model_name"], config.outputs["endpoint_config_name"]


# ----- tuning ------------------------------------------------------------------------------


@pytest.mark.controller
def test_tuning_job_outputs_its_best_training_job(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    result = ok(run(cluster, tmp_path, "HyperParameterTuningJob", tuning_arguments(namespace)))
    name = result.outputs["hpo_job_name"]
    assert len(name) <= 32
    best = result.outputs["best_training_job_name"]
    assert best.startswith(name)
    assert result.outputs["model_artifact_url"] == f"s3://demo-bucket/mnist/output/{best}/output/model.tar.gz"
    assert set(result.output_json("best_hyperparameters")) == {"mini_batch_size"}
    assert 100 <= int(result.output_json("best_hyperparameters")["mini_batch_size"]) <= 500
    [tuning] = items(cluster, namespace, "hyperparametertuningjobs")
    objective = tuning["status"]["bestTrainingJob"]["finalHyperParameterTuningJobObjectiveMetric"]
    assert objective["metricName"] == "test:msd"
    assert float(result.outputs["best_objective_value"]) == objective["value"]
    assert tuning["status"]["bestTrainingJob"]["trainingJobName"] == best
    assert result.outputs["hpo_job_arn"].endswith(f":hyper-parameter-tuning-job/{name}")
    assert result.output_json("status")["hyperParameterTuningJobStatus"] == "Completed"


# ----- hosting -----------------------------------------------------------------------------


@pytest.mark.controller
def test_model_and_endpoint_config_are_created_and_synced(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    model_name, config_name = hosted_model(cluster, namespace, tmp_path)
    [model] = items(cluster, namespace, "models")
    assert model["status"]["ackResourceMetadata"]["arn"].endswith(f":model/{model_name}")
    [config] = items(cluster, namespace, "endpointconfigs")
    assert config["spec"]["productionVariants"][0]["modelName"] == model_name
    assert config_name.startswith("endpoint-config-")


@pytest.mark.controller
@pytest.mark.simulator
def test_endpoint_create_update_and_failed_update(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    endpoint_name = f"ep-{uuid.uuid4().hex[:8]}"
    _, first_config = hosted_model(cluster, namespace, tmp_path)
    created = ok(run(cluster, tmp_path, "Endpoint", {"namespace": namespace, "endpoint_name": endpoint_name, "endpoint_config_name": first_config}))
    assert "created Endpoint" in created.stdout
    assert created.outputs["endpoint_config_name"] == first_config
    assert created.output_json("status")["endpointStatus"] == "InService"

    # Roll out a new model: a second config, same endpoint name (another run of the pipeline).
    _, second_config = hosted_model(cluster, namespace, tmp_path)
    updated = ok(run(cluster, tmp_path, "Endpoint", {"namespace": namespace, "endpoint_name": endpoint_name, "endpoint_config_name": second_config}))
    assert "updated the existing Endpoint" in updated.stdout
    assert updated.outputs["endpoint_config_name"] == second_config
    assert updated.outputs["endpoint_arn"] == created.outputs["endpoint_arn"]
    assert cluster.sim("/_sim/calls")["calls"].get("UpdateEndpoint", 0) >= 1

    # A third config whose rollout SageMaker fails: the reason is surfaced, the old config still serves.
    _, bad_config = hosted_model(cluster, namespace, tmp_path, tags=tags(fail_reason="Image pull failed for variant main"))
    failed = run(cluster, tmp_path, "Endpoint", {"namespace": namespace, "endpoint_name": endpoint_name, "endpoint_config_name": bad_config})
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert f"the update to endpoint config {bad_config} failed: Image pull failed for variant main" in failed.stderr
    assert f"still serves endpoint config {second_config}" in failed.stderr
    assert len(items(cluster, namespace, "endpoints")) == 1


@pytest.mark.controller
@pytest.mark.simulator
def test_sigterm_during_an_endpoint_update_leaves_the_endpoint(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    endpoint_name = f"ep-{uuid.uuid4().hex[:8]}"
    _, first_config = hosted_model(cluster, namespace, tmp_path)
    # Slow phases on the endpoint make its update last long enough to be interrupted.
    ok(run(cluster, tmp_path, "Endpoint", {"namespace": namespace, "endpoint_name": endpoint_name,
                                           "endpoint_config_name": first_config, "tags": tags(phase_seconds="20")}))
    _, second_config = hosted_model(cluster, namespace, tmp_path)
    step = component(cluster, tmp_path, "Endpoint", {"namespace": namespace, "endpoint_name": endpoint_name, "endpoint_config_name": second_config})
    proc = step.start()
    step.terminate_when(proc, lambda: any(e["spec"]["endpointConfigName"] == second_config for e in items(cluster, namespace, "endpoints")))
    result = step.finish(proc, timeout=60)
    assert result.returncode == 143
    assert "leaving Endpoint" in result.stdout
    [endpoint] = items(cluster, namespace, "endpoints")
    assert endpoint["metadata"].get("deletionTimestamp") is None
    # SageMaker's endpoint is there, serving or finishing the update, and not being deleted.
    [serving] = [e for e in cluster.sim_resources("Endpoint", name_prefix=endpoint_name) if e["name"] == endpoint_name]
    assert serving["status"] in ("Updating", "InService"), serving


@pytest.mark.controller
@pytest.mark.simulator
def test_retried_model_step_reattaches_without_a_duplicate(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    run_id = str(uuid.uuid4())
    first = ok(run(cluster, tmp_path, "Model", model_arguments(namespace), run_id=run_id, task="model"))
    second = ok(run(cluster, tmp_path, "Model", model_arguments(namespace), run_id=run_id, task="model"))
    assert "reattached" in second.stdout
    assert second.outputs == first.outputs
    assert len(cluster.sim_resources("Model", name_prefix=first.outputs["model_name"])) == 1


def test_a_different_model_under_the_same_name_is_refused(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    name = f"model-{uuid.uuid4().hex[:8]}"
    arguments = {**model_arguments(namespace), "model_name": name, "no_controller_seconds": 2}
    first = run(cluster, tmp_path, "Model", arguments)  # with or without a controller, the CR now exists
    if cluster.controller_running:
        ok(first)
    else:
        assert first.returncode == 3 and "no ACK controller acted on Model" in first.stderr, first.stderr
    other = {**model_arguments(namespace, artifact="s3://demo-bucket/other/model.tar.gz"), "model_name": name}
    refused = run(cluster, tmp_path, "Model", other)
    assert refused.returncode == 3
    assert f"a different Model named '{name}' already exists in namespace '{namespace}'" in refused.stderr
    [model] = items(cluster, namespace, "models")
    assert model["spec"]["primaryContainer"]["modelDataURL"] == "s3://demo-bucket/mnist/output/job/output/model.tar.gz"


# ----- batch and processing ----------------------------------------------------------------


@pytest.mark.controller
def test_transform_job_outputs_its_output_location(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    model = ok(run(cluster, tmp_path, "Model", model_arguments(namespace)))
    result = ok(run(cluster, tmp_path, "TransformJob", transform_arguments(namespace, model.outputs["model_name"])))
    assert result.outputs["output_location"] == "s3://demo-bucket/mnist/batch-out"
    assert result.outputs["transform_job_arn"].endswith(f":transform-job/{result.outputs['transform_job_name']}")
    assert result.output_json("status")["transformJobStatus"] == "Completed"


@pytest.mark.controller
def test_processing_job_outputs_its_output_map(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    result = ok(run(cluster, tmp_path, "ProcessingJob", processing_arguments(namespace)))
    assert result.output_json("outputs") == {"train": "s3://demo-bucket/prep/train", "test": "s3://demo-bucket/prep/test"}
    assert result.output_json("status")["processingJobStatus"] == "Completed"
    assert result.outputs["processing_job_arn"].endswith(f":processing-job/{result.outputs['processing_job_name']}")


@pytest.mark.controller
@pytest.mark.simulator
def test_failed_processing_job_reports_its_reason(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    result = run(cluster, tmp_path, "ProcessingJob", processing_arguments(namespace, tags=tags(fail_reason="AlgorithmError: exit code 1")))
    assert result.returncode == 1
    assert "AlgorithmError: exit code 1" in result.stderr


# ----- bad input creates nothing, for every new kind -------------------------------------

# A bad input per kind, and the one problem line the step must print for it.
BAD_INPUTS = {
    "Model": ({"primary_container": {"image": "x", "modelDataUrl": "s3://b/m.tar.gz"}},
              "primary_container.modelDataUrl: unknown field; did you mean 'modelDataURL'?"),
    "EndpointConfig": ({"production_variants": {"variantName": "main"}},
                       "input 'production_variants': expected a JSON array, got a JSON object"),
    "Endpoint": ({"endpoint_config_name": ""}, "input 'endpoint_config_name': required input missing"),
    "TransformJob": ({"transform_resources": {"instanceCount": "one", "instanceType": "ml.m5.large"}},
                     'transform_resources.instanceCount: expected integer, got string "one"'),
    "ProcessingJob": ({"processing_resources": {"clusterConfig": {"instanceCount": 1, "volumeSizeInGb": 1}}},
                      "processing_resources.clusterConfig.volumeSizeInGb: unknown field; did you mean 'volumeSizeInGB'?"),
    "MonitoringSchedule": ({"monitoring_schedule_config": "not json"},
                           "input 'monitoring_schedule_config': not valid JSON: Expecting value at line 1 column 1"),
}


@pytest.mark.parametrize("kind", sorted(BAD_INPUTS))
def test_bad_input_for_each_kind_exits_2_and_creates_nothing(cluster: Cluster, namespace: str, tmp_path: Path, kind: str) -> None:
    base: dict[str, Any] = {
        "Model": model_arguments(namespace),
        "EndpointConfig": endpoint_config_arguments(namespace, "m"),
        "Endpoint": {"namespace": namespace, "endpoint_config_name": "c"},
        "TransformJob": transform_arguments(namespace, "m"),
        "ProcessingJob": processing_arguments(namespace),
        "MonitoringSchedule": {"namespace": namespace},
    }[kind]
    override, expected = BAD_INPUTS[kind]
    result = run(cluster, tmp_path, kind, {**base, **override})
    assert result.returncode == 2, result.stderr
    assert result.stderr.splitlines() == [
        f"error: The {kind} step's inputs have 1 problem; nothing was created:", f"  - {expected}"], result.stderr
    assert "Traceback" not in result.stderr
    plural = {"Model": "models", "EndpointConfig": "endpointconfigs", "Endpoint": "endpoints", "TransformJob": "transformjobs",
              "ProcessingJob": "processingjobs", "MonitoringSchedule": "monitoringschedules"}[kind]
    assert items(cluster, namespace, plural) == []


@pytest.mark.controller
def test_monitoring_job_definition_and_schedule(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    _, config = hosted_model(cluster, namespace, tmp_path)
    endpoint = ok(run(cluster, tmp_path, "Endpoint", {"namespace": namespace, "endpoint_config_name": config}))
    definition = ok(
        run(
            cluster, tmp_path, "DataQualityJobDefinition",
            {
                "namespace": namespace,
                "role_arn": "arn:aws:iam::123456789012:role/monitor",
                "data_quality_app_specification": {"imageURI": "156813124566.dkr.ecr.us-east-1.amazonaws.com/sagemaker-model-monitor-analyzer"},
                "data_quality_job_input": {"endpointInput": {"endpointName": endpoint.outputs["endpoint_name"], "localPath": "/opt/ml/processing/input"}},
                "data_quality_job_output_config": {"monitoringOutputs": [{"s3Output": {"s3URI": "s3://demo-bucket/monitor", "localPath": "/opt/ml/processing/output"}}]},
                "job_resources": {"clusterConfig": {"instanceCount": 1, "instanceType": "ml.m5.large", "volumeSizeInGB": 20}},
            },
        )
    )
    assert definition.outputs["job_definition_arn"].endswith(definition.outputs["job_definition_name"])
    schedule = ok(
        run(
            cluster, tmp_path, "MonitoringSchedule",
            {
                "namespace": namespace,
                "monitoring_schedule_config": {
                    "monitoringJobDefinitionName": definition.outputs["job_definition_name"],
                    "monitoringType": "DataQuality",
                    "scheduleConfig": {"scheduleExpression": "cron(0 * ? * * *)"},
                },
            },
        )
    )
    assert schedule.outputs["monitoring_schedule_arn"].endswith(schedule.outputs["monitoring_schedule_name"])
    wait_for(lambda: items(cluster, namespace, "monitoringschedules")[0]["status"].get("monitoringScheduleStatus") == "Scheduled",
             timeout=30, what="Scheduled")
