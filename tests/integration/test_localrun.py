"""The local runner against a real API server: what reaches the custom resources from the KFP
2.x path, a step failing (no controller; a SageMaker failure injected through the simulator)
and what that does to the rest of the run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_samples import BUCKET, DATA, MODEL, ROLE, TRAIN, LocalRun, compile_with
from tests.support.cluster import Cluster, PrivateStacks, create_namespace

pytestmark = [pytest.mark.integration, pytest.mark.slow]

# A test-only variant of sample training_only: the same training step twice, one of them tagged
# to fail in the simulator, with a Model step after it; the other branch is independent.
FAILURE_VARIANT = '''
from kfp import dsl

from kfp_compat import component, never_cache

TrainingJob = component("TrainingJob")
Model = component("Model")
IMAGE = "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"


def train(role_arn, bucket, **extra):
    return never_cache(TrainingJob(
        role_arn=role_arn,
        algorithm_specification={"trainingImage": IMAGE, "trainingInputMode": "File"},
        hyper_parameters={"k": "10", "feature_dim": "784"},
        output_data_config={"s3OutputPath": f"s3://{bucket}/variant/models/"},
        resource_config={"instanceCount": 1, "instanceType": "ml.m5.large", "volumeSizeInGB": 10},
        stopping_condition={"maxRuntimeInSeconds": 3600},
        **extra,
    ))


@dsl.pipeline(name="failure-variant")
def failure_variant(role_arn: str, bucket: str, fail_reason: str):
    failing = train(role_arn, bucket, tags=[{"key": "sim/fail-reason", "value": fail_reason}])
    never_cache(Model(
        execution_role_arn=role_arn,
        primary_container={"image": IMAGE, "modelDataURL": failing.outputs["model_artifact_url"]},
    ))
    train(role_arn, bucket)


PIPELINE = failure_variant
'''
HEALTHY = "sagemaker-trainingjob-2"
FAIL_REASON = "ClientError: Unable to download data from s3://demo-bucket/variant/train"


def steps_of(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {step["name"]: step for step in report["steps"]}


@pytest.mark.parametrize("sdk", ["kfp-2"])
def test_struct_integers_from_the_ir_reach_the_cr_as_integers(cluster: Cluster, tmp_path: Path, sdk: str) -> None:
    """KFP 2.x hands JsonObject inputs over as protobuf Structs (numbers are doubles); the runner
    renders them as such, and the TrainingJob spec still gets integers."""
    pipeline = compile_with(sdk, "training_only", tmp_path / "training_only.yaml")
    namespace = create_namespace(cluster, "localrun-ints")
    params = [f"role_arn={ROLE}", f"bucket={BUCKET}"]
    if not cluster.controller_running:
        params.append("no_controller_seconds=3")  # the CR is created either way; fail fast after that
    run = LocalRun(cluster, pipeline, namespace, tmp_path, *params, options=("--verbose",))
    code, out, report = run.wait()
    assert '"volumeSizeInGB": 10.0' in out and '"maxRuntimeInSeconds": 3600.0' in out  # the float path was taken
    [job] = run.custom_objects("trainingjobs")
    assert type(job["spec"]["resourceConfig"]["volumeSizeInGB"]) is int and job["spec"]["resourceConfig"]["volumeSizeInGB"] == 10
    assert type(job["spec"]["resourceConfig"]["instanceCount"]) is int
    assert type(job["spec"]["stoppingCondition"]["maxRuntimeInSeconds"]) is int
    if cluster.controller_running:
        assert code == 0, out[-4000:]
    else:
        assert code == 1 and steps_of(report)[TRAIN]["exit_code"] == 3


@pytest.fixture(scope="module")
def stack_without_controller(cluster: Cluster, private_stack: PrivateStacks) -> Cluster:
    """The shared stack if it runs without the controller (as on CI), else a private one (with an
    object store: the samples' data step writes to it)."""
    return cluster if not cluster.controller_running else private_stack.start(with_controller=False, s3=True)


@pytest.mark.parametrize("sdk", ["kfp-1.8.22", "kfp-2"])
def test_without_a_controller_the_first_sagemaker_step_fails_fast_and_its_dependents_do_not_run(
    stack_without_controller: Cluster, tmp_path: Path, sdk: str
) -> None:
    cluster = stack_without_controller
    pipeline = compile_with(sdk, "mnist_kmeans", tmp_path / "mnist_kmeans.yaml")
    namespace = create_namespace(cluster, "localrun-no-controller")
    run = LocalRun(cluster, pipeline, namespace, tmp_path, f"role_arn={ROLE}", f"bucket={BUCKET}", "no_controller_seconds=2")
    code, out, report = run.wait(timeout=300)
    assert code == 1, out
    steps = steps_of(report)
    assert steps[TRAIN]["status"] == "Failed" and steps[TRAIN]["exit_code"] == 3
    assert "no ACK controller acted on TrainingJob" in steps[TRAIN]["reason"]
    # The sample's other first step, registering into the model group, fails the same way.
    group = "sagemaker-modelpackagegroup"
    assert steps[group]["status"] == "Failed" and steps[group]["exit_code"] == 3
    assert {name: step["status"] for name, step in steps.items() if name not in (TRAIN, group)} == {
        DATA: "Succeeded", MODEL: "Skipped", "sagemaker-transformjob": "Skipped", "sagemaker-endpointconfig": "Skipped",
        "sagemaker-endpoint": "Skipped", "sagemaker-modelpackage": "Skipped",
    }
    assert steps[MODEL]["reason"] == f"upstream step {TRAIN} failed"
    # Only the first SageMaker steps ever reached the cluster (the data step wrote to S3 only).
    assert len(run.custom_objects("trainingjobs")) == 1 and len(run.custom_objects("modelpackagegroups")) == 1
    assert run.custom_objects("models") == [] and run.custom_objects("endpoints") == []
    assert run.custom_objects("modelpackages") == []
    assert f"run {report['run_id']} failed: step {TRAIN}: error: no ACK controller acted" in out


@pytest.fixture(scope="module")
def failure_runs(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> dict[str, LocalRun]:
    if not cluster.controller_running:
        pytest.skip(f"ACK controller not running in the local stack: {cluster.controller_absent_reason}")
    if not cluster.simulator_url:
        pytest.skip("needs the SageMaker simulator's failure injection")
    folder = tmp_path_factory.mktemp("failure-variant")
    source = folder / "pipeline.py"
    source.write_text(FAILURE_VARIANT)
    runs = {}
    for sdk in ("kfp-1.8.22", "kfp-2"):
        pipeline = compile_with(sdk, source, folder / f"variant-{sdk}.yaml")
        workdir = folder / sdk
        workdir.mkdir()
        namespace = create_namespace(cluster, f"localrun-failure-{sdk}")
        runs[sdk] = LocalRun(cluster, pipeline, namespace, workdir, f"role_arn={ROLE}", f"bucket={BUCKET}",
                             f"fail_reason={FAIL_REASON}")
    yield runs
    for run in runs.values():
        if run.process.poll() is None:
            run.process.kill()


@pytest.mark.controller
@pytest.mark.simulator
@pytest.mark.parametrize("sdk", ["kfp-1.8.22", "kfp-2"])
def test_a_failed_job_stops_the_run_with_its_reason(failure_runs: dict[str, LocalRun], sdk: str) -> None:
    run = failure_runs[sdk]
    code, out, report = run.wait()
    assert code == 1, out[-4000:]
    steps = steps_of(report)
    failed = steps[TRAIN]
    assert failed["status"] == "Failed" and failed["exit_code"] == 1
    assert FAIL_REASON in failed["reason"]
    assert steps[MODEL]["status"] == "Skipped" and steps[MODEL]["reason"] == f"upstream step {TRAIN} failed"
    assert steps[HEALTHY]["status"] == "Succeeded"  # an independent branch finishes, as in KFP
    assert run.custom_objects("models") == []
    assert f"[{TRAIN}] FAILED (exit code 1)" in out and f"[{MODEL}] skipped" in out
    assert f"failed: step {TRAIN}: " in out and FAIL_REASON in out.split("failed: step")[-1]
    assert json.loads(json.dumps(report))["status"] == "Failed"
