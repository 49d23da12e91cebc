"""The sample pipelines: each compiles with KFP SDK 1.8.22 (Argo Workflow) and KFP SDK 2.x (IR),
each SDK in its own virtualenv from hack/kfp-venvs.sh, into the structure we expect (steps,
their arguments, the parameter passing); and samples mnist_kmeans and tuning run to success
through the local runner from both compiled forms, against the local stack: their data step
fills the object store, and the jobs' outputs land there as real objects."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client

from sagemaker_ack_kfp.codegen.ack_release import REPO_ROOT
from sagemaker_ack_kfp.naming import RUN_LABEL
from tests.support.cluster import GROUP, VERSION, Cluster, create_namespace

pytestmark = pytest.mark.integration

SDKS = ("kfp-1.8.22", "kfp-2")
ROLE = "arn:aws:iam::123456789012:role/service-role/AmazonSageMaker-ExecutionRole"
BUCKET = "demo-bucket"
COMMAND = ["python3", "-u", "-m", "sagemaker_ack_kfp.component"]


# ----- compiling ----------------------------------------------------------------------------


@cache
def kfp_pythons() -> dict[str, str]:
    """{"kfp-1.8.22": python, "kfp-2": python}, creating the cached venvs on first use."""
    result = subprocess.run(
        ["bash", str(REPO_ROOT / "hack" / "kfp-venvs.sh")], capture_output=True, text=True, timeout=1800, check=False
    )
    assert result.returncode == 0, f"hack/kfp-venvs.sh failed:\n{result.stderr[-3000:]}"
    return dict(line.split("=", 1) for line in result.stdout.split())


def compile_with(sdk: str, sample: str | Path, output: Path) -> Path:
    """Compile a sample (folder name, or a pipeline .py) with one SDK, as a user would."""
    result = subprocess.run(
        [kfp_pythons()[sdk], str(REPO_ROOT / "samples" / "compile.py"), str(sample), "-o", str(output)],
        capture_output=True, text=True, timeout=300, check=False,
    )
    assert result.returncode == 0, f"compiling {sample} with {sdk} failed:\n{result.stderr[-3000:]}"
    return output


@pytest.fixture(scope="session")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("compiled")
    done: dict[tuple[str, str], Path] = {}

    def get(sample: str, sdk: str) -> Path:
        if (sample, sdk) not in done:
            done[sample, sdk] = compile_with(sdk, sample, folder / f"{sample}-{sdk}.yaml")
        return done[sample, sdk]

    return get


# ----- the compiled structure, read the same way from both forms ------------------------------


@dataclass
class Compiled:
    """What we assert on, extracted from either form."""

    form: str
    doc: dict[str, Any]

    @classmethod
    def load(cls, path: Path) -> Compiled:
        doc = next(yaml.safe_load_all(path.read_text()))
        return cls("argo" if doc.get("kind") == "Workflow" else "ir", doc)

    # Argo helpers
    def _templates(self) -> dict[str, dict[str, Any]]:
        return {t["name"]: t for t in self.doc["spec"]["templates"]}

    def _dag(self) -> dict[str, dict[str, Any]]:
        entry = self._templates()[self.doc["spec"]["entrypoint"]]
        return {task["name"]: task for task in entry["dag"]["tasks"]}

    # IR helpers
    def _ir_container(self, task: str) -> dict[str, Any]:
        component = self.doc["components"][self.doc["root"]["dag"]["tasks"][task]["componentRef"]["name"]]
        return self.doc["deploymentSpec"]["executors"][component["executorLabel"]]["container"]

    def tasks(self) -> dict[str, list[str]]:
        """task -> sorted dependencies"""
        if self.form == "argo":
            return {name: sorted(task.get("dependencies") or []) for name, task in self._dag().items()}
        return {name: sorted(task.get("dependentTasks") or []) for name, task in self.doc["root"]["dag"]["tasks"].items()}

    def parameters(self) -> dict[str, Any]:
        """pipeline parameter -> default (None: required)"""
        if self.form == "argo":
            return {p["name"]: p.get("value") for p in self.doc["spec"]["arguments"]["parameters"]}
        params = self.doc["root"]["inputDefinitions"]["parameters"]
        return {name: spec.get("defaultValue") for name, spec in params.items()}

    def argv(self, task: str) -> list[Any]:
        if self.form == "argo":
            container = self._templates()[self._dag()[task]["template"]]["container"]
        else:
            container = self._ir_container(task)
        return [*container["command"], *container["args"]]

    def kind(self, task: str) -> str:
        argv = self.argv(task)
        return str(argv[argv.index("--kind") + 1])

    def argument(self, task: str, name: str) -> str:
        """The compiled text that becomes `--name` of a task: the Argo arg, or the IR task input."""
        if self.form == "argo":
            argv = self.argv(task)
            return str(argv[argv.index(f"--{name}") + 1])
        return json.dumps(self.doc["root"]["dag"]["tasks"][task]["inputs"]["parameters"][name])

    def reads_parameter(self, task: str, name: str, param: str) -> bool:
        """Input `name` of `task` is, or embeds, pipeline parameter `param`."""
        text = self.argument(task, name)
        if self.form == "argo":
            placeholder = f"{{{{inputs.parameters.{param}}}}}"
            return placeholder in text and {"name": param, "value": placeholder} in self._dag()[task]["arguments"]["parameters"]
        inputs = self.doc["root"]["dag"]["tasks"][task]["inputs"]["parameters"]
        direct = inputs[name] == {"componentInputParameter": param}
        channel = f"pipelinechannel--{param}"
        embedded = channel in text and inputs.get(channel) == {"componentInputParameter": param}
        return direct or embedded

    def reads_output(self, task: str, name: str, producer: str, output: str) -> bool:
        """Input `name` of `task` is, or embeds, output `output` of step `producer`."""
        text = self.argument(task, name)
        reference = {"producerTask": producer, "outputParameterKey": output}
        if self.form == "argo":
            argo_name = f"{producer}-{output}"
            producer_template = self._templates()[self._dag()[producer]["template"]]
            produced = {p["name"]: p["valueFrom"]["path"] for p in producer_template["outputs"].get("parameters", [])}
            passed = {"name": argo_name, "value": f"{{{{tasks.{producer}.outputs.parameters.{argo_name}}}}}"}
            return (f"{{{{inputs.parameters.{argo_name}}}}}" in text and passed in self._dag()[task]["arguments"]["parameters"]
                    and produced.get(argo_name) == f"/tmp/outputs/{output}/data")
        inputs = self.doc["root"]["dag"]["tasks"][task]["inputs"]["parameters"]
        direct = inputs[name] == {"taskOutputParameter": reference}
        channel = f"pipelinechannel--{producer}-{output}"
        embedded = channel in text and inputs.get(channel) == {"taskOutputParameter": reference}
        return direct or embedded

    def caching_disabled(self, task: str) -> bool:
        if self.form == "argo":
            template = self._templates()[self._dag()[task]["template"]]
            return template["metadata"]["annotations"].get("pipelines.kubeflow.org/max_cache_staleness") == "P0D"
        return not self.doc["root"]["dag"]["tasks"][task].get("cachingOptions", {}).get("enableCache", False)


TRAIN, MODEL, TRANSFORM, CONFIG, ENDPOINT, TUNE, DATA = (
    "sagemaker-trainingjob", "sagemaker-model", "sagemaker-transformjob",
    "sagemaker-endpointconfig", "sagemaker-endpoint", "sagemaker-hyperparametertuningjob", "upload-sample-data",
)
DATA_STEP = "sample data"  # not an ACK kind: the samples' own component
MODEL_GROUP, PACKAGE = "sagemaker-modelpackagegroup", "sagemaker-modelpackage"
COMMON_PARAMETERS = {"role_arn", "bucket", "region", "image", "no_controller_seconds"}

EXPECTED: dict[str, dict[str, Any]] = {
    "training_only": {
        "tasks": {DATA: (DATA_STEP, []), TRAIN: ("TrainingJob", [DATA])},
        "parameters": COMMON_PARAMETERS,
        "from_parameters": [(DATA, "bucket", "bucket"), (DATA, "region", "region"), (TRAIN, "role_arn", "role_arn"), (TRAIN, "algorithm_specification", "image"),
                            (TRAIN, "input_data_config", "bucket"), (TRAIN, "output_data_config", "bucket"),
                            (TRAIN, "region", "region"), (TRAIN, "no_controller_seconds", "no_controller_seconds")],
        "from_outputs": [],
    },
    "mnist_kmeans": {
        "tasks": {DATA: (DATA_STEP, []), TRAIN: ("TrainingJob", [DATA]), MODEL: ("Model", [TRAIN]),
                  TRANSFORM: ("TransformJob", [MODEL]),
                  CONFIG: ("EndpointConfig", [MODEL]), ENDPOINT: ("Endpoint", [CONFIG]),
                  MODEL_GROUP: ("ModelPackageGroup", []), PACKAGE: ("ModelPackage", [MODEL_GROUP, TRAIN])},
        "parameters": COMMON_PARAMETERS | {"k", "feature_dim", "model_package_group", "model_approval_status"},
        "from_parameters": [(DATA, "bucket", "bucket"), (TRAIN, "hyper_parameters", "k"), (TRAIN, "hyper_parameters", "feature_dim"),
                            (TRAIN, "algorithm_specification", "image"), (MODEL, "primary_container", "image"),
                            (MODEL, "execution_role_arn", "role_arn"), (TRANSFORM, "transform_input", "bucket"),
                            (TRANSFORM, "transform_output", "bucket"), (ENDPOINT, "region", "region"),
                            (MODEL_GROUP, "model_package_group_name", "model_package_group"),
                            (PACKAGE, "model_approval_status", "model_approval_status"),
                            (PACKAGE, "inference_specification", "image")],
        "from_outputs": [(MODEL, "primary_container", TRAIN, "model_artifact_url"),
                         (PACKAGE, "inference_specification", TRAIN, "model_artifact_url"),
                         (PACKAGE, "model_package_group_name", MODEL_GROUP, "model_package_group_name"),
                         (TRANSFORM, "model_name", MODEL, "model_name"),
                         (CONFIG, "production_variants", MODEL, "model_name"),
                         (ENDPOINT, "endpoint_config_name", CONFIG, "endpoint_config_name")],
    },
    "tuning": {
        "tasks": {DATA: (DATA_STEP, []), TUNE: ("HyperParameterTuningJob", [DATA]), TRAIN: ("TrainingJob", [TUNE]),
                  MODEL: ("Model", [TRAIN]),
                  CONFIG: ("EndpointConfig", [MODEL]), ENDPOINT: ("Endpoint", [CONFIG])},
        "parameters": COMMON_PARAMETERS,
        "from_parameters": [(DATA, "bucket", "bucket"), (TUNE, "training_job_definition", "role_arn"), (TUNE, "training_job_definition", "image"),
                            (TUNE, "training_job_definition", "bucket"), (TRAIN, "role_arn", "role_arn")],
        "from_outputs": [(TRAIN, "hyper_parameters", TUNE, "best_hyperparameters"),
                         (MODEL, "primary_container", TRAIN, "model_artifact_url"),
                         (CONFIG, "production_variants", MODEL, "model_name"),
                         (ENDPOINT, "endpoint_config_name", CONFIG, "endpoint_config_name")],
    },
}


@pytest.mark.slow
@pytest.mark.parametrize("sdk", SDKS)
@pytest.mark.parametrize("sample", sorted(EXPECTED))
def test_sample_compiles_to_the_expected_structure(compiled: Any, sample: str, sdk: str) -> None:
    pipeline = Compiled.load(compiled(sample, sdk))
    expected = EXPECTED[sample]
    assert pipeline.form == ("argo" if sdk == "kfp-1.8.22" else "ir")

    # Steps, what each one runs, and the order between them.
    assert pipeline.tasks() == {task: sorted(deps) for task, (_, deps) in expected["tasks"].items()}
    for task, (kind, _) in expected["tasks"].items():
        argv = pipeline.argv(task)
        if kind == DATA_STEP:
            # The data step's program is embedded in its component, run by a plain Python.
            assert argv[:3] == ["python3", "-u", "-c"] and "def data_set(" in argv[3]
            assert pipeline.caching_disabled(task), f"{task} may be served from KFP's cache"
            continue
        assert argv[:4] == COMMAND
        assert pipeline.kind(task) == kind
        assert argv[argv.index("--kfp-run-id") + 1] == "{{workflow.uid}}"
        assert pipeline.caching_disabled(task), f"{task} may be served from KFP's cache"

    # Pipeline parameters: role and bucket must be given, the rest have defaults.
    params = pipeline.parameters()
    assert set(params) == expected["parameters"]
    assert params["role_arn"] is None and params["bucket"] is None
    assert params["image"] == "382416733822.dkr.ecr.us-east-1.amazonaws.com/kmeans:1"
    assert float(params["no_controller_seconds"]) == 120

    # Parameter passing.
    for task, name, param in expected["from_parameters"]:
        assert pipeline.reads_parameter(task, name, param), f"{task}.{name} does not read parameter {param}"
    for task, name, producer, output in expected["from_outputs"]:
        assert pipeline.reads_output(task, name, producer, output), f"{task}.{name} does not read {producer}.{output}"


@pytest.mark.slow
@pytest.mark.parametrize("sdk", SDKS)
def test_constants_keep_their_json_types(compiled: Any, sdk: str) -> None:
    """Numbers stay numbers in the compiled form (KFP 2.x writes them as floats; the step turns
    them back into integers), and hyperparameters stay strings."""
    pipeline = Compiled.load(compiled("mnist_kmeans", sdk))
    if pipeline.form == "argo":
        resources = json.loads(pipeline.argument(TRAIN, "resource_config"))
        assert resources == {"instanceCount": 1, "instanceType": "ml.m5.large", "volumeSizeInGB": 10}
        assert json.loads(pipeline.argument(TRAIN, "hyper_parameters")) == {
            "k": "{{inputs.parameters.k}}", "feature_dim": "{{inputs.parameters.feature_dim}}"}
    else:
        resources = json.loads(pipeline.argument(TRAIN, "resource_config"))["runtimeValue"]["constant"]
        assert resources == {"instanceCount": 1.0, "instanceType": "ml.m5.large", "volumeSizeInGB": 10.0}
        assert pipeline.doc["root"]["inputDefinitions"]["parameters"]["k"]["parameterType"] == "NUMBER_INTEGER"


# ----- running (local runner, local stack) ------------------------------------------------------


class LocalRun:
    """One local-runner process over a compiled pipeline, in its own namespace."""

    def __init__(
        self, cluster: Cluster, pipeline: Path, namespace: str, workdir: Path, *params: str, options: tuple[str, ...] = ()
    ) -> None:
        self.cluster, self.namespace = cluster, namespace
        self.report_path = workdir / "report.json"
        args = [sys.executable, "-m", "sagemaker_ack_kfp.localrun", str(pipeline), "--namespace", namespace,
                "--report", str(self.report_path), *options]
        for param in params:
            args += ["--param", param]
        # As `run-local --env-file .stack/step.env` (pod-step.env in pod mode): the data step
        # writes to the stack's object store, the job steps stream their logs from the simulator.
        step_env = workdir / "step.env"
        pods = "--mode" in options and options[options.index("--mode") + 1] == "pod"
        step_env.write_text("".join(f"{k}={v}\n" for k, v in cluster.step_env(pods=pods).items()))
        args += ["--env-file", str(step_env)]
        env = {**os.environ, "KUBECONFIG": str(cluster.kubeconfig)}
        self.process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self._out: str | None = None

    def wait(self, timeout: float = 900) -> tuple[int, str, dict[str, Any]]:
        if self._out is None:
            try:
                self._out, _ = self.process.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self._out, _ = self.process.communicate()
                raise AssertionError(f"the local run did not finish within {timeout}s:\n{self._out[-5000:]}") from None
        report = json.loads(self.report_path.read_text()) if self.report_path.exists() else {}
        return self.process.returncode, self._out, report

    def custom_objects(self, plural: str) -> list[dict[str, Any]]:
        api = client.CustomObjectsApi(self.cluster.admin())
        return list(api.list_namespaced_custom_object(GROUP, VERSION, self.namespace, plural)["items"])


def outputs_of(report: dict[str, Any]) -> dict[str, dict[str, str]]:
    return {step["name"]: step["outputs"] for step in report["steps"]}


@pytest.fixture(scope="module")
def sample_runs(cluster: Cluster, compiled: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], LocalRun]:
    """Samples mnist_kmeans and tuning, from both compiled forms: four runs started together (each
    takes a minute or two, mostly the controller's resync period), in fresh namespaces."""
    if not cluster.controller_running:
        pytest.skip(f"ACK controller not running in the local stack: {cluster.controller_absent_reason}")
    runs = {}
    for sample in ("mnist_kmeans", "tuning"):
        for sdk in SDKS:
            pipeline = compiled(sample, sdk)
            namespace = create_namespace(cluster, f"sample-{sample}-{sdk}")
            workdir = tmp_path_factory.mktemp(f"run-{sample}-{sdk}")
            runs[sample, sdk] = LocalRun(cluster, pipeline, namespace, workdir, f"role_arn={ROLE}", f"bucket={BUCKET}")
    yield runs
    for run in runs.values():
        if run.process.poll() is None:
            run.process.kill()


def objects_under(cluster: Cluster, prefix: str) -> dict[str, int]:
    """{key: size} of the objects under s3://BUCKET/<prefix>."""
    page = cluster.s3().list_objects_v2(Bucket=BUCKET, Prefix=prefix)
    return {item["Key"]: item["Size"] for item in page.get("Contents", [])}


def assert_succeeded(run: LocalRun, steps: set[str]) -> tuple[str, dict[str, Any]]:
    code, out, report = run.wait()
    assert code == 0, out[-6000:]
    assert report["status"] == "Succeeded"
    assert {step["name"]: step["status"] for step in report["steps"]} == {name: "Succeeded" for name in steps}
    # Every step's log lines come prefixed with its name.
    for name in steps:
        assert f"[{name}] started" in out and f"[{name}] succeeded in" in out
    return out, report


@pytest.mark.slow
@pytest.mark.controller
@pytest.mark.parametrize("sdk", SDKS)
def test_mnist_kmeans_runs_to_success(sample_runs: dict[tuple[str, str], LocalRun], sdk: str) -> None:
    run = sample_runs["mnist_kmeans", sdk]
    _, report = assert_succeeded(run, {DATA, TRAIN, MODEL_GROUP, PACKAGE, MODEL, TRANSFORM, CONFIG, ENDPOINT})
    outputs = outputs_of(report)
    assert outputs[DATA]["train_uri"] == f"s3://{BUCKET}/mnist-kmeans/train/"

    [training] = run.custom_objects("trainingjobs")
    [model] = run.custom_objects("models")
    [transform] = run.custom_objects("transformjobs")
    [config] = run.custom_objects("endpointconfigs")
    [endpoint] = run.custom_objects("endpoints")
    # Each resource got what the step before it produced.
    assert outputs[TRAIN]["model_artifact_url"] == f"s3://{BUCKET}/mnist-kmeans/models/{training['spec']['trainingJobName']}/output/model.tar.gz"
    assert model["spec"]["primaryContainer"]["modelDataURL"] == outputs[TRAIN]["model_artifact_url"]
    assert transform["spec"]["modelName"] == outputs[MODEL]["model_name"] == model["spec"]["modelName"]
    assert config["spec"]["productionVariants"][0]["modelName"] == outputs[MODEL]["model_name"]
    assert endpoint["spec"]["endpointConfigName"] == outputs[CONFIG]["endpoint_config_name"]
    assert outputs[ENDPOINT]["endpoint_name"] == endpoint["spec"]["endpointName"]
    assert outputs[TRANSFORM]["output_location"] == f"s3://{BUCKET}/mnist-kmeans/batch-output/"
    # Real objects: the model the training job wrote, one .out per batch input object.
    if run.cluster.object_store_url:
        job = training["spec"]["trainingJobName"]
        assert objects_under(run.cluster, f"mnist-kmeans/models/{job}/").get(f"mnist-kmeans/models/{job}/output/model.tar.gz", 0) > 0
        outs = objects_under(run.cluster, "mnist-kmeans/batch-output/")
        assert {"mnist-kmeans/batch-output/part-0.csv.out", "mnist-kmeans/batch-output/part-1.csv.out"} <= set(outs)
    # The trained model registered as a new version in the sample's group (shared by the runs of
    # both SDKs, created by one and adopted or reused by the other).
    [package] = run.custom_objects("modelpackages")
    assert package["spec"]["inferenceSpecification"]["containers"][0]["modelDataURL"] == outputs[TRAIN]["model_artifact_url"]
    assert outputs[MODEL_GROUP]["model_package_group_name"] == package["spec"]["modelPackageGroupName"] == "mnist-kmeans"
    assert outputs[PACKAGE]["model_package_arn"].endswith(f":model-package/mnist-kmeans/{outputs[PACKAGE]['model_package_version']}")
    assert outputs[PACKAGE]["model_approval_status"] == "PendingManualApproval"
    # Pipeline parameters reached the spec; integers are integers, hyperparameters strings.
    assert training["spec"]["hyperParameters"] == {"k": "10", "feature_dim": "784"}
    assert training["spec"]["resourceConfig"]["volumeSizeInGB"] == 10
    assert type(training["spec"]["resourceConfig"]["volumeSizeInGB"]) is int
    # One run id across the run, as KFP labels a run's resources.
    for obj in (training, model, transform, config, endpoint, package):
        assert obj["metadata"]["labels"][RUN_LABEL] == report["run_id"]


@pytest.mark.slow
@pytest.mark.controller
@pytest.mark.parametrize("sdk", SDKS)
def test_tuning_runs_to_success_and_retrains_with_the_best_hyperparameters(
    sample_runs: dict[tuple[str, str], LocalRun], sdk: str
) -> None:
    run = sample_runs["tuning", sdk]
    _, report = assert_succeeded(run, {DATA, TUNE, TRAIN, MODEL, CONFIG, ENDPOINT})
    outputs = outputs_of(report)
    best = json.loads(outputs[TUNE]["best_hyperparameters"])
    assert set(best) == {"k", "extra_center_factor", "init_method", "feature_dim"}
    assert best["feature_dim"] == "784"

    [training] = run.custom_objects("trainingjobs")
    [model] = run.custom_objects("models")
    [endpoint] = run.custom_objects("endpoints")
    assert training["spec"]["hyperParameters"] == best
    assert model["spec"]["primaryContainer"]["modelDataURL"] == outputs[TRAIN]["model_artifact_url"]
    assert endpoint["spec"]["endpointConfigName"] == outputs[CONFIG]["endpoint_config_name"]
