"""Contract tests: whole sample pipelines through `run-local`, compiled with KFP SDK 1.8 and 2.x,
on a real API server where a replaying controller plays the real controller's part for every
resource the steps create (recordings chosen by the simulator's injection tags, as the simulator
would have answered them). Also the kubectl view of a run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sagemaker_ack_kfp.naming import RUN_LABEL, TASK_LABEL
from tests.contract.stage import Contract
from tests.integration.test_localrun import FAILURE_VARIANT, HEALTHY
from tests.integration.test_samples import (
    BUCKET,
    CONFIG,
    DATA,
    ENDPOINT,
    MODEL,
    MODEL_GROUP,
    PACKAGE,
    ROLE,
    SDKS,
    TRAIN,
    TRANSFORM,
    TUNE,
    LocalRun,
    assert_succeeded,
    compile_with,
    outputs_of,
)
from tests.support.manifests import step_arguments

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def run_pipeline(contract: Contract, pipeline: Path, *params: str) -> tuple[LocalRun, int, str, dict[str, Any]]:
    with contract.replaying_controller() as controller:
        run = LocalRun(contract.cluster, pipeline, contract.namespace, contract.workdir, f"role_arn={ROLE}",
                       f"bucket={BUCKET}", *params)
        code, out, report = run.wait(timeout=600)
    controller.check()
    return run, code, out, report


@pytest.mark.parametrize("sdk", SDKS)
def test_mnist_kmeans_runs_to_success(contract: Contract, tmp_path: Path, sdk: str) -> None:
    pipeline = compile_with(sdk, "mnist_kmeans", tmp_path / "mnist_kmeans.yaml")
    run, _, _, _ = run_pipeline(contract, pipeline)
    _, report = assert_succeeded(run, {DATA, TRAIN, MODEL_GROUP, PACKAGE, MODEL, TRANSFORM, CONFIG, ENDPOINT})
    outputs = outputs_of(report)
    [training] = run.custom_objects("trainingjobs")
    [model] = run.custom_objects("models")
    [transform] = run.custom_objects("transformjobs")
    [config] = run.custom_objects("endpointconfigs")
    [endpoint] = run.custom_objects("endpoints")
    # Each step got what the step before it produced.
    # (The replay joins the output path and the job name as recorded; SageMaker would drop the
    # path's trailing slash, so only the ends are compared.)
    artifact = outputs[TRAIN]["model_artifact_url"]
    assert artifact == training["status"]["modelArtifacts"]["s3ModelArtifacts"]
    assert artifact.startswith(f"s3://{BUCKET}/mnist-kmeans/models/")
    assert artifact.endswith(f"/{training['spec']['trainingJobName']}/output/model.tar.gz")
    assert model["spec"]["primaryContainer"]["modelDataURL"] == outputs[TRAIN]["model_artifact_url"]
    assert transform["spec"]["modelName"] == outputs[MODEL]["model_name"] == model["spec"]["modelName"]
    assert config["spec"]["productionVariants"][0]["modelName"] == outputs[MODEL]["model_name"]
    assert endpoint["spec"]["endpointConfigName"] == outputs[CONFIG]["endpoint_config_name"]
    assert outputs[ENDPOINT]["endpoint_name"] == endpoint["spec"]["endpointName"]
    assert json.loads(outputs[ENDPOINT]["status"])["endpointStatus"] == "InService"
    assert outputs[TRANSFORM]["output_location"] == f"s3://{BUCKET}/mnist-kmeans/batch-output/"
    assert training["spec"]["hyperParameters"] == {"k": "10", "feature_dim": "784"}
    assert type(training["spec"]["resourceConfig"]["volumeSizeInGB"]) is int
    # The trained model registered as a new version of the sample's group.
    [group] = run.custom_objects("modelpackagegroups")
    [package] = run.custom_objects("modelpackages")
    assert package["spec"]["inferenceSpecification"]["containers"][0]["modelDataURL"] == outputs[TRAIN]["model_artifact_url"]
    assert outputs[MODEL_GROUP]["model_package_group_name"] == package["spec"]["modelPackageGroupName"] == "mnist-kmeans"
    assert group["spec"]["modelPackageGroupName"] == "mnist-kmeans"
    assert outputs[PACKAGE]["model_package_arn"].endswith(f":model-package/mnist-kmeans/{outputs[PACKAGE]['model_package_version']}")
    assert outputs[PACKAGE]["model_package_version"] == "1" and outputs[PACKAGE]["model_package_name"] == ""
    assert outputs[PACKAGE]["model_approval_status"] == "PendingManualApproval"
    assert json.loads(outputs[PACKAGE]["status"])["modelPackageStatus"] == "Completed"
    for obj in (training, model, transform, config, endpoint, group, package):
        assert obj["metadata"]["labels"][RUN_LABEL] == report["run_id"]


@pytest.mark.parametrize("sdk", SDKS)
def test_tuning_feeds_the_best_hyperparameters_to_the_training_step(contract: Contract, tmp_path: Path, sdk: str) -> None:
    pipeline = compile_with(sdk, "tuning", tmp_path / "tuning.yaml")
    run, _, _, _ = run_pipeline(contract, pipeline)
    _, report = assert_succeeded(run, {DATA, TUNE, TRAIN, MODEL, CONFIG, ENDPOINT})
    outputs = outputs_of(report)
    [tuning] = run.custom_objects("hyperparametertuningjobs")
    [training] = run.custom_objects("trainingjobs")
    best = tuning["status"]["bestTrainingJob"]
    assert json.loads(outputs[TUNE]["best_hyperparameters"]) == best["tunedHyperParameters"]
    assert outputs[TUNE]["best_training_job_name"] == best["trainingJobName"]
    assert training["spec"]["hyperParameters"] == best["tunedHyperParameters"]
    assert outputs[MODEL]["model_name"] and outputs[ENDPOINT]["endpoint_name"]


@pytest.mark.parametrize("sdk", SDKS)
def test_a_failed_job_stops_its_branch_with_its_reason(contract: Contract, tmp_path: Path, sdk: str) -> None:
    source = tmp_path / "pipeline.py"
    source.write_text(FAILURE_VARIANT)
    pipeline = compile_with(sdk, source, tmp_path / "variant.yaml")
    reason = "ClientError: Unable to download data from s3://demo-bucket/variant/train (contract)"
    run, code, out, report = run_pipeline(contract, pipeline, f"fail_reason={reason}")
    assert code == 1, out[-4000:]
    steps = {step["name"]: step for step in report["steps"]}
    assert steps[TRAIN]["status"] == "Failed" and steps[TRAIN]["exit_code"] == 1
    assert reason in steps[TRAIN]["reason"]
    assert steps[MODEL]["status"] == "Skipped" and steps[MODEL]["reason"] == f"upstream step {TRAIN} failed"
    assert steps[HEALTHY]["status"] == "Succeeded"  # an independent branch finishes, as in KFP
    assert run.custom_objects("models") == []
    assert report["status"] == "Failed"


def test_kubectl_lists_one_runs_jobs_with_their_status(contract: Contract) -> None:
    runs = {"3f1c0d4e-0000-4000-8000-00000000000a": "train-a", "3f1c0d4e-0000-4000-8000-00000000000b": "train-b"}
    with contract.replaying_controller() as controller:
        results = [contract.start("TrainingJob", step_arguments("TrainingJob", contract.namespace), run_id=run, task=task)
                   .finish() for run, task in runs.items()]
    controller.check()
    assert [result.returncode for result in results] == [0, 0], [result.stderr for result in results]
    for (run, task), result in zip(runs.items(), results):
        listed = contract.cluster.kubectl(
            "get", "trainingjobs", "-n", contract.namespace, "-l", f"{RUN_LABEL}={run}", "-L", TASK_LABEL).stdout
        header, *rows = listed.splitlines()
        assert header.split()[:3] == ["NAME", "SECONDARY-STATUS", "STATUS"] and header.split()[-1] == "TASK"
        [row] = rows
        assert row.split()[0] == result.outputs["training_job_name"]
        assert row.split()[1:3] == ["Completed", "Completed"] and row.split()[-1] == task
