"""Migrating from the upstream v2 SageMaker components: a pipeline written the way their samples
were (upstream_v2_pipeline.py: training, hosting with model monitoring, an endpoint update, every
step reading upstream's output names) compiles with KFP SDK 1.8.22 and 2.x against our
component.yaml files, and runs to success through run-local, from both compiled forms.

The run needs something that reconciles the custom resources the steps create: the `reconciler`
fixture, with two parameters. `ack-controller` is the local stack's real ACK controller (marked
`controller`: skipped where the controller cannot be built). `replayed-controller` replays the
real controller's recorded statuses (tests/contract, ReplayingController) on a stack where no
controller runs, so CI runs the pipeline to success too; its endpoint is replayed from the
recording of an endpoint update, as the pipeline updates its endpoint in place.
"""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import pytest

from tests.contract.conftest import controllerless  # noqa: F401 - the replayed reconciler's stack
from tests.contract.replay import ReplayingController, by_injection_tags
from tests.contract.stage import REPLAYER_AGENT
from tests.integration.test_samples import ROLE, SDKS, Compiled, LocalRun, compile_with, outputs_of
from tests.support import s3_data
from tests.support.cluster import Cluster, create_namespace
from tests.support.upstream_v2 import UPSTREAM_OUTPUTS

PIPELINE = Path(__file__).with_name("upstream_v2_pipeline.py")
BUCKET = "migration-bucket"

TRAIN, READ_ARTIFACT, MODEL = "sagemaker-trainingjob", "get-s3-model-artifact", "sagemaker-model"
CONFIG, ENDPOINT, DATA_QUALITY = "sagemaker-endpointconfig", "sagemaker-endpoint", "sagemaker-dataqualityjobdefinition"
SCHEDULE, CONFIG_2, UPDATE = "sagemaker-monitoringschedule", "sagemaker-endpointconfig-2", "sagemaker-endpoint-2"
CHECK = "check-upstream-outputs"

# Step -> (its kind, or None for the pipeline's own readers; the steps it waits for).
TASKS: dict[str, tuple[str | None, list[str]]] = {
    TRAIN: ("TrainingJob", []),
    READ_ARTIFACT: (None, [TRAIN]),
    MODEL: ("Model", [READ_ARTIFACT]),
    CONFIG: ("EndpointConfig", [MODEL]),
    ENDPOINT: ("Endpoint", [CONFIG]),
    DATA_QUALITY: ("DataQualityJobDefinition", [ENDPOINT]),
    SCHEDULE: ("MonitoringSchedule", [DATA_QUALITY]),
    CONFIG_2: ("EndpointConfig", [MODEL]),
    UPDATE: ("Endpoint", [CONFIG_2, SCHEDULE]),
    CHECK: (None, [MODEL, SCHEDULE, TRAIN, UPDATE]),
}
# (step, input, producer, upstream output it reads)
READS = [
    (READ_ARTIFACT, "model_artifacts", TRAIN, "model_artifacts"),
    (CONFIG, "production_variants", MODEL, "sagemaker_resource_name"),
    (ENDPOINT, "endpoint_config_name", CONFIG, "sagemaker_resource_name"),
    (DATA_QUALITY, "data_quality_job_input", ENDPOINT, "sagemaker_resource_name"),
    (SCHEDULE, "monitoring_schedule_config", DATA_QUALITY, "sagemaker_resource_name"),
    (UPDATE, "endpoint_config_name", CONFIG_2, "sagemaker_resource_name"),
    (CHECK, "training_job_status", TRAIN, "training_job_status"),
    (CHECK, "training_conditions", TRAIN, "conditions"),
    (CHECK, "model_metadata", MODEL, "ack_resource_metadata"),
    (CHECK, "endpoint_status", UPDATE, "endpoint_status"),
    (CHECK, "production_variants", UPDATE, "production_variants"),
    (CHECK, "monitoring_schedule_status", SCHEDULE, "monitoring_schedule_status"),
]
_IR_TYPES = {"String": "STRING", "JsonObject": "STRUCT", "JsonArray": "LIST"}


@pytest.fixture(scope="module")
def compiled_pipelines(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("migration")
    return {sdk: compile_with(sdk, PIPELINE, folder / f"upstream-v2-{sdk}.yaml") for sdk in SDKS}


# ----- compiling (no cluster needed) -------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("sdk", SDKS)
def test_upstream_style_pipeline_compiles_reading_upstream_output_names(
    compiled_pipelines: dict[str, Path], sdk: str
) -> None:
    pipeline = Compiled.load(compiled_pipelines[sdk])
    assert pipeline.form == ("argo" if sdk == "kfp-1.8.22" else "ir")
    assert pipeline.tasks() == {task: sorted(deps) for task, (_, deps) in TASKS.items()}
    for task, (kind, _) in TASKS.items():
        if kind:
            assert pipeline.kind(task) == kind
    for task, name, producer, output in READS:
        assert pipeline.reads_output(task, name, producer, output), f"{task}.{name} does not read {producer}.{output}"
    if pipeline.form == "ir":
        # Upstream's types: object outputs are Structs, lists are Lists, the rest strings.
        for task, (kind, _) in TASKS.items():
            if kind:
                component = pipeline.doc["components"][pipeline.doc["root"]["dag"]["tasks"][task]["componentRef"]["name"]]
                declared = component["outputDefinitions"]["parameters"]
                for name, kfp_type in UPSTREAM_OUTPUTS[kind].items():
                    assert declared[name]["parameterType"] == _IR_TYPES[kfp_type], (task, name)


# ----- running (local runner, a reconciler for the custom resources) ------------------------------


class Reconciler(Protocol):
    """Whatever acts on the custom resources a run creates in a namespace, as ACK does, and the
    cluster it acts on."""

    name: str
    cluster: Cluster

    def serve(self, namespace: str) -> contextlib.AbstractContextManager[None]: ...


@dataclass
class AckController:
    """The local stack's real ACK controller: it watches every namespace already."""

    cluster: Cluster
    name: str = "ack-controller"

    def serve(self, namespace: str) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()


def replayed_scenario(kind: str, obj: dict[str, Any]) -> str | None:
    """The pipeline updates its endpoint in place: that endpoint's recording is an update's."""
    return "update" if kind == "Endpoint" else by_injection_tags(kind, obj)


@dataclass
class ReplayedController:
    """Recordings of the real controller replayed onto each namespace's resources, on a stack where
    no controller runs (the shared stack on CI). A replay that went wrong fails at the end of the run."""

    cluster: Cluster
    name: str = "replayed-controller"

    @contextlib.contextmanager
    def serve(self, namespace: str) -> Iterator[None]:
        api_client = self.cluster.admin()
        api_client.user_agent = REPLAYER_AGENT
        with ReplayingController(api_client, namespace, choose=replayed_scenario) as controller:
            yield
        controller.check()


RECONCILERS = [pytest.param("ack-controller", marks=pytest.mark.controller), "replayed-controller"]


@pytest.fixture(scope="module", params=RECONCILERS)
def reconciler(request: pytest.FixtureRequest, cluster: Cluster) -> Reconciler:
    if request.param == "ack-controller":
        if not cluster.controller_running:
            pytest.skip(f"ACK controller not running in the local stack: {cluster.controller_absent_reason}")
        return AckController(cluster)
    if request.param == "replayed-controller":
        return ReplayedController(request.getfixturevalue("controllerless"))
    raise AssertionError(f"unknown reconciler {request.param}")


@dataclass
class MigrationRun:
    run: LocalRun
    names: dict[str, str]  # pipeline parameter -> the resource name this run gave it


@pytest.fixture(scope="module")
def migration_runs(
    reconciler: Reconciler,
    compiled_pipelines: dict[str, Path],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, MigrationRun]]:
    """The pipeline from both compiled forms, run together (each takes about two minutes, mostly
    the controller's resync period) in fresh namespaces, with names of their own."""
    runs: dict[str, MigrationRun] = {}
    cluster = reconciler.cluster
    if cluster.object_store_url:
        # As upstream's sample expects: the training data is in the bucket before the run.
        s3 = s3_data.s3_client(cluster.object_store_url)
        with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
            s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="mnist_kmeans_example/train_data/train.csv", Body=b"0.1,0.2,0.3\n0.4,0.5,0.6\n")
    with contextlib.ExitStack() as stack:
        for sdk in SDKS:
            namespace = create_namespace(cluster, f"migration-{sdk}")
            stack.enter_context(reconciler.serve(namespace))
            prefix = f"mig-{uuid.uuid4().hex[:8]}"
            names = {
                "model_name": f"{prefix}-model",
                "endpoint_config_name": f"{prefix}-endpointcfg",
                "second_endpoint_config_name": f"{prefix}-endpointcfg-2",
                "endpoint_name": f"{prefix}-endpoint",
                "job_definition_name": f"{prefix}-data-qual-job-defi",
                "monitoring_schedule_name": f"{prefix}-monitoring-schedule",
            }
            params = [f"sagemaker_role_arn={ROLE}", f"s3_bucket_name={BUCKET}", *(f"{k}={v}" for k, v in names.items())]
            workdir = tmp_path_factory.mktemp(f"run-{sdk}")
            runs[sdk] = MigrationRun(LocalRun(cluster, compiled_pipelines[sdk], namespace, workdir, *params), names)
        try:
            yield runs
        finally:
            for migration in runs.values():
                if migration.run.process.poll() is None:
                    migration.run.process.kill()


def _json(text: str, expected: type) -> Any:
    value = json.loads(text)
    assert isinstance(value, expected), text
    return value


@pytest.mark.slow
@pytest.mark.parametrize("sdk", SDKS)
def test_upstream_style_pipeline_runs_to_success(
    reconciler: Reconciler, migration_runs: dict[str, MigrationRun], sdk: str
) -> None:
    migration = migration_runs[sdk]
    code, out, report = migration.run.wait()
    assert code == 0, out[-6000:]
    assert {step["name"]: step["status"] for step in report["steps"]} == {task: "Succeeded" for task in TASKS}
    outputs = outputs_of(report)
    names = migration.names

    # Every upstream output is written, by its upstream name, never as Python's None.
    for task, (kind, _) in TASKS.items():
        if kind:
            assert set(UPSTREAM_OUTPUTS[kind]) <= set(outputs[task]), task
            for name, kfp_type in UPSTREAM_OUTPUTS[kind].items():
                value = outputs[task][name]
                assert value != "None", (task, name)
                if kfp_type != "String":
                    _json(value, dict if kfp_type == "JsonObject" else list)

    [training] = migration.run.custom_objects("trainingjobs")
    [model] = migration.run.custom_objects("models")
    configs = {c["spec"]["endpointConfigName"]: c for c in migration.run.custom_objects("endpointconfigs")}
    [endpoint] = migration.run.custom_objects("endpoints")  # updated in place, not a second one
    [definition] = migration.run.custom_objects("dataqualityjobdefinitions")
    [schedule] = migration.run.custom_objects("monitoringschedules")

    # Training: the status outputs, and the artifact read with json.loads by the pipeline's reader.
    trained = outputs[TRAIN]
    assert (trained["training_job_status"], trained["secondary_status"], trained["failure_reason"]) == (
        "Completed", "Completed", "")
    artifacts = _json(trained["model_artifacts"], dict)
    assert artifacts == training["status"]["modelArtifacts"]
    assert artifacts["s3ModelArtifacts"] == trained["model_artifact_url"] == outputs[READ_ARTIFACT]["s3_model_artifacts"]
    assert datetime.fromisoformat(trained["creation_time"]) <= datetime.fromisoformat(trained["last_modified_time"])
    synced = {c["type"]: c["status"] for c in _json(trained["conditions"], list)}
    assert synced["ACK.ResourceSynced"] == "True"
    assert _json(trained["ack_resource_metadata"], dict)["arn"] == trained["training_job_arn"]

    # Hosting and monitoring: each step got the previous one's sagemaker_resource_name.
    assert model["spec"]["primaryContainer"]["modelDataURL"] == artifacts["s3ModelArtifacts"]
    assert outputs[MODEL]["sagemaker_resource_name"] == names["model_name"] == model["spec"]["modelName"]
    assert _json(outputs[MODEL]["ack_resource_metadata"], dict)["arn"] == outputs[MODEL]["model_arn"]
    assert outputs[CONFIG]["sagemaker_resource_name"] == names["endpoint_config_name"]
    assert outputs[CONFIG_2]["sagemaker_resource_name"] == names["second_endpoint_config_name"]
    for config in configs.values():
        assert config["spec"]["productionVariants"][0]["modelName"] == names["model_name"]
    assert outputs[ENDPOINT]["sagemaker_resource_name"] == names["endpoint_name"]
    assert outputs[ENDPOINT]["endpoint_status"] == "InService"
    assert definition["spec"]["dataQualityJobInput"]["endpointInput"]["endpointName"] == names["endpoint_name"]
    assert outputs[DATA_QUALITY]["sagemaker_resource_name"] == names["job_definition_name"]
    assert schedule["spec"]["monitoringScheduleConfig"]["monitoringJobDefinitionName"] == names["job_definition_name"]
    assert outputs[SCHEDULE]["monitoring_schedule_status"] == "Scheduled"
    _json(outputs[SCHEDULE]["last_monitoring_execution_summary"], dict)

    # The update: the same endpoint now serves the second config, reported by upstream's names.
    assert set(configs) == {names["endpoint_config_name"], names["second_endpoint_config_name"]}
    assert endpoint["spec"]["endpointConfigName"] == names["second_endpoint_config_name"]
    updated = outputs[UPDATE]
    assert (updated["sagemaker_resource_name"], updated["endpoint_status"], updated["failure_reason"]) == (
        names["endpoint_name"], "InService", "")
    variants = [v["variantName"] for v in _json(updated["production_variants"], list)]
    assert variants == [v["variantName"] for v in endpoint["status"]["productionVariants"]]
    if reconciler.name == "ack-controller":
        # The pipeline's config's variant, as SageMaker reports it (a replay reports the recorded one).
        assert variants == ["instanceVariant"]
    assert _json(updated["pending_deployment_summary"], dict) == endpoint["status"].get("pendingDeploymentSummary", {})
    assert f"[{CHECK}] " in out and '"endpoint_status": true' in out
