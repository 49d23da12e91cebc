"""The least-privilege RBAC setup, against the real RBAC authorizer of the local stack: a pipeline
service account is refused before setup, runs a step after it, and can do nothing else."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client, config

from sagemaker_ack_kfp.codegen.ack_release import REPO_ROOT
from sagemaker_ack_kfp.naming import RUN_LABEL
from sagemaker_ack_kfp.rbac import manifests
from tests.support.cluster import GROUP, VERSION, Cluster, PrivateStacks, create_namespace, wait_for
from tests.support.component_command import ComponentStep
from tests.support.manifests import (
    inference_component_arguments,
    model_package_arguments,
    pipeline_execution_arguments,
    training_arguments,
    training_job,
)

pytestmark = pytest.mark.integration

SA = "pipeline-sa"
# What each kind's component does with its resource; everything else is refused.
_JOB, _CREATED = {"create", "get", "watch", "delete"}, {"create", "get", "watch"}
_UPDATED, _HOSTED = {"create", "get", "watch", "patch"}, {"create", "get", "watch", "patch", "delete"}
GRANTED = {
    "trainingjobs": _JOB, "hyperparametertuningjobs": _JOB, "processingjobs": _JOB, "transformjobs": _JOB,
    "labelingjobs": _JOB, "pipelineexecutions": _JOB,
    "endpoints": _HOSTED, "inferencecomponents": _HOSTED,
    "monitoringschedules": _UPDATED, "modelpackages": _UPDATED, "pipelines": _UPDATED,
    "models": _CREATED, "endpointconfigs": _CREATED, "dataqualityjobdefinitions": _CREATED,
    "modelbiasjobdefinitions": _CREATED, "modelexplainabilityjobdefinitions": _CREATED,
    "modelqualityjobdefinitions": _CREATED, "modelpackagegroups": _CREATED,
}
CR_VERBS = ("create", "get", "watch", "patch", "delete", "list", "update", "deletecollection")


# ----- helpers ------------------------------------------------------------------------------


def setup_cli(cluster: Cluster, *args: str, wrapper: bool = False) -> subprocess.CompletedProcess[str]:
    """The real setup, as a cluster admin runs it: rbac/setup.sh or python -m sagemaker_ack_kfp.rbac."""
    command = [str(REPO_ROOT / "rbac" / "setup.sh")] if wrapper else [sys.executable, "-m", "sagemaker_ack_kfp.rbac"]
    env = {**os.environ, "PYTHON": sys.executable}
    env.pop("KUBECONFIG", None)
    return subprocess.run(
        [*command, "--kubeconfig", str(cluster.kubeconfig), *args],
        check=False, capture_output=True, text=True, timeout=120, env=env,
    )




def sa_kubeconfig(cluster: Cluster, namespace: str, tmp_path: Path, name: str = SA) -> Path:
    token = cluster.service_account_token(namespace, name)
    return cluster.kubeconfig_for_token(token, tmp_path / f"{namespace}-{name}.kubeconfig")


def sa_api(kubeconfig: Path) -> client.ApiClient:
    return config.new_client_from_config(config_file=str(kubeconfig))


def training_step(kubeconfig: Path, workdir: Path, namespace: str, *, run_id: str = "", **runtime: Any) -> ComponentStep:
    return ComponentStep(
        "TrainingJob", training_arguments(namespace, **runtime), kubeconfig=kubeconfig, workdir=workdir,
        run_id=run_id or str(uuid.uuid4()), task="train",
    )


def training_jobs(cluster: Cluster, namespace: str) -> list[dict[str, Any]]:
    api = client.CustomObjectsApi(cluster.admin())
    listing: Any = api.list_namespaced_custom_object(GROUP, VERSION, namespace, "trainingjobs")
    return list(listing["items"])


def read_rbac(cluster: Cluster, namespace: str) -> tuple[Any, Any]:
    """(Role, RoleBinding), each None when absent."""
    rbac = client.RbacAuthorizationV1Api(cluster.admin())
    found: list[Any] = []
    for read, name in ((rbac.read_namespaced_role, manifests.ROLE_NAME), (rbac.read_namespaced_role_binding, manifests.BINDING_NAME)):
        try:
            found.append(read(name, namespace))
        except client.ApiException as exc:
            assert exc.status == 404, exc
            found.append(None)
    return found[0], found[1]


def can_i(cluster: Cluster, verb: str, resource: str, namespace: str, subject: str) -> bool:
    """`kubectl auth can-i` as the admin, impersonating the subject: exit 0 yes, 1 no.
    `resource` may name a subresource as kind/sub (passed as --subresource)."""
    kind, _, sub = resource.partition("/")
    extra = [f"--subresource={sub}"] if sub else []
    result = cluster.kubectl("auth", "can-i", verb, kind, *extra, "-n", namespace, f"--as={subject}", check=False)
    assert result.returncode in (0, 1), result.stderr
    return result.returncode == 0


# ----- fixtures -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def no_controller_stack(private_stack: PrivateStacks) -> Cluster:
    """CRDs installed, no controller: deterministic 'no controller acted' and cancellation."""
    return private_stack.start(with_controller=False)


@pytest.fixture(scope="module")
def no_crds_stack(private_stack: PrivateStacks) -> Cluster:
    return private_stack.start(install_crds=False)


@pytest.fixture
def granted(cluster: Cluster, namespace: str) -> str:
    """A namespace where the setup has bound SA."""
    cluster.service_account_token(namespace, SA)  # creates the service account
    result = setup_cli(cluster, "--namespace", namespace, "--service-account", SA)
    assert result.returncode == 0, result.stderr
    return namespace


# ----- a step, before and after setup -------------------------------------------------------


def test_step_before_setup_is_forbidden_and_names_setup(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    kubeconfig = sa_kubeconfig(cluster, namespace, tmp_path)
    result = training_step(kubeconfig, tmp_path / "step", namespace).run()
    assert result.returncode == 3, result.stderr
    assert "permission denied" in result.stderr
    assert f"may not create trainingjobs.{GROUP} in namespace '{namespace}'" in result.stderr
    assert f"rbac/setup.sh --namespace {namespace}" in result.stderr
    assert "Traceback" not in result.stderr
    assert training_jobs(cluster, namespace) == []


@pytest.mark.controller
def test_after_setup_the_service_account_runs_a_training_step(cluster: Cluster, granted: str, tmp_path: Path) -> None:
    kubeconfig = sa_kubeconfig(cluster, granted, tmp_path)
    result = training_step(kubeconfig, tmp_path / "step", granted).run()
    assert result.returncode == 0, result.stderr
    assert result.output_json("status")["trainingJobStatus"] == "Completed"
    [job] = training_jobs(cluster, granted)
    assert job["metadata"]["name"] == result.outputs["training_job_name"]


def test_after_setup_the_step_creates_watches_and_stops_its_job(no_controller_stack: Cluster, tmp_path: Path) -> None:
    """create, get and watch (without list) carry a step to 'no controller acted'; delete stops it."""
    stack = no_controller_stack
    namespace = create_namespace(stack, "granted")
    stack.service_account_token(namespace, SA)
    assert setup_cli(stack, "-n", namespace, "--service-account", SA).returncode == 0
    kubeconfig = sa_kubeconfig(stack, namespace, tmp_path)

    run_id = str(uuid.uuid4())
    result = training_step(kubeconfig, tmp_path / "a", namespace, run_id=run_id, no_controller_seconds=2).run()
    assert result.returncode == 3, result.stderr
    assert "no ACK controller acted" in result.stderr
    assert "permission denied" not in result.stderr
    [job] = training_jobs(stack, namespace)
    assert job["metadata"]["labels"][RUN_LABEL] == run_id

    # Cancelled (SIGTERM, as when a run is terminated): the step deletes its resource as SA.
    component = training_step(kubeconfig, tmp_path / "b", namespace, no_controller_seconds=600)
    proc = component.start()
    component.terminate_when(proc, lambda: len(training_jobs(stack, namespace)) == 2)
    stopped = component.finish(proc, timeout=60)
    assert stopped.returncode == 143, stopped.stderr
    assert "could not delete" not in stopped.stdout
    wait_for(lambda: len(training_jobs(stack, namespace)) == 1, timeout=30, what="the cancelled step's TrainingJob to be deleted")


def test_the_new_kinds_verbs_suffice_for_their_steps(no_controller_stack: Cluster, tmp_path: Path) -> None:
    """With no controller, as the bound account: an inference component and a model package are
    created and then updated in place (patch), a cancelled inference component with delete_on_cancel
    and a cancelled pipeline execution are deleted (delete); never a 403."""
    stack = no_controller_stack
    namespace = create_namespace(stack, "granted-new")
    stack.service_account_token(namespace, SA)
    assert setup_cli(stack, "-n", namespace, "--service-account", SA).returncode == 0
    kubeconfig = sa_kubeconfig(stack, namespace, tmp_path)

    def step(kind: str, arguments: dict[str, Any], workdir: str) -> ComponentStep:
        return ComponentStep(kind, arguments, kubeconfig=kubeconfig, workdir=tmp_path / workdir, run_id=str(uuid.uuid4()),
                             task=workdir)

    def items(plural: str) -> list[dict[str, Any]]:
        return list(client.CustomObjectsApi(stack.admin()).list_namespaced_custom_object(GROUP, VERSION, namespace, plural)["items"])

    unversioned = {k: v for k, v in model_package_arguments(namespace, "unused").items()
                   if k not in ("model_package_group_name", "model_approval_status")} | {"model_package_name": "solo"}
    for kind, first, second in (
        ("InferenceComponent", inference_component_arguments(namespace, "ep", "m", inference_component_name="ic", copies=1),
         inference_component_arguments(namespace, "ep", "m", inference_component_name="ic", copies=2)),
        ("ModelPackage", unversioned, unversioned | {"customer_metadata_properties": {"stage": "prod"}}),
    ):
        for index, arguments in enumerate((first, second)):
            result = step(kind, {**arguments, "no_controller_seconds": 2}, f"{kind.lower()}-{index}").run()
            assert result.returncode == 3 and "no ACK controller acted" in result.stderr, result.stderr
            assert "permission denied" not in result.stderr
        assert "updated the existing" in result.stdout, result.stdout

    for kind, arguments, plural in (
        ("InferenceComponent", inference_component_arguments(namespace, "ep", "m", delete_on_cancel=True), "inferencecomponents"),
        ("PipelineExecution", pipeline_execution_arguments(namespace, "nightly"), "pipelineexecutions"),
    ):
        before = len(items(plural))
        component = step(kind, {**arguments, "no_controller_seconds": 600}, f"{kind.lower()}-cancelled")
        proc = component.start()
        component.terminate_when(proc, lambda: len(items(plural)) == before + 1)
        stopped = component.finish(proc, timeout=60)
        assert stopped.returncode == 143, stopped.stderr
        assert "could not delete" not in stopped.stdout and "deleted" in stopped.stdout, stopped.stdout
        wait_for(lambda: len(items(plural)) == before, timeout=30, what=f"the cancelled step's {kind} to be deleted")


# ----- what the bound account can and cannot do --------------------------------------------


def expected_matrix(namespace: str, other: str) -> list[tuple[str, str, str, bool]]:
    """(verb, resource, namespace, allowed) for everything the grant is about."""
    rows: list[tuple[str, str, str, bool]] = []
    for plural, granted in GRANTED.items():
        resource = f"{plural}.{GROUP}"
        rows += [(verb, resource, namespace, verb in granted) for verb in CR_VERBS]
        rows += [(verb, resource, other, False) for verb in ("create", "get", "watch", "delete")]
    rows += [("patch", f"trainingjobs.{GROUP}/status", namespace, False), ("update", f"endpoints.{GROUP}/status", namespace, False)]
    rows += [("get", "pods", namespace, True), ("get", "pods", other, False)]
    rows += [(verb, "pods", namespace, False) for verb in ("list", "watch", "create", "delete", "patch")]
    rows += [("get", "pods/log", namespace, False), ("create", "pods/exec", namespace, False), ("create", "pods/eviction", namespace, False)]
    for resource in ("secrets", "configmaps"):
        rows += [(verb, resource, namespace, False) for verb in ("get", "list", "watch", "create")]
    rows += [("create", "serviceaccounts/token", namespace, False), ("create", "events", namespace, False)]
    rows += [(verb, resource, namespace, False) for verb in ("create", "patch") for resource in ("roles.rbac.authorization.k8s.io", "rolebindings.rbac.authorization.k8s.io")]
    for outside in ("notebookinstances", "domains", "userprofiles", "apps", "featuregroups", "projects"):
        rows += [(verb, f"{outside}.{GROUP}", namespace, False) for verb in ("create", "get", "delete")]
    rows += [("get", "fieldexports.services.k8s.aws", namespace, False), ("create", "adoptedresources.services.k8s.aws", namespace, False)]
    return rows


def test_can_i_matrix_for_the_bound_account(cluster: Cluster, granted: str) -> None:
    other = create_namespace(cluster, "other")
    subject = f"system:serviceaccount:{granted}:{SA}"
    wrong = [
        f"{verb} {resource} -n {ns}: expected {'yes' if allowed else 'no'}"
        for verb, resource, ns, allowed in expected_matrix(granted, other)
        if can_i(cluster, verb, resource, ns, subject) != allowed
    ]
    assert wrong == []
    # Nothing cluster-wide.
    for args in (("list", f"trainingjobs.{GROUP}", "--all-namespaces"), ("get", "namespaces"), ("create", "clusterroles")):
        result = cluster.kubectl("auth", "can-i", *args, f"--as={subject}", check=False)
        assert result.returncode == 1, f"can-i {args}: {result.stdout}"


def test_bound_account_is_refused_everything_else(cluster: Cluster, granted: str, tmp_path: Path) -> None:
    """The same, as real requests with the account's own token."""
    other = create_namespace(cluster, "other")
    api = sa_api(sa_kubeconfig(cluster, granted, tmp_path))
    core, custom = client.CoreV1Api(api), client.CustomObjectsApi(api)
    secret: Any = {"metadata": {"name": "aws"}, "stringData": {"key": "x"}}
    client.CoreV1Api(cluster.admin()).create_namespaced_secret(granted, secret)
    refused = {
        "read a secret": lambda: core.read_namespaced_secret("aws", granted),
        "list secrets": lambda: core.list_namespaced_secret(granted),
        "list configmaps": lambda: core.list_namespaced_config_map(granted),
        "list trainingjobs": lambda: custom.list_namespaced_custom_object(GROUP, VERSION, granted, "trainingjobs"),
        "create a trainingjob in another namespace": lambda: custom.create_namespaced_custom_object(
            GROUP, VERSION, other, "trainingjobs", training_job("elsewhere", other)
        ),
        "create a notebookinstance": lambda: custom.create_namespaced_custom_object(
            GROUP, VERSION, granted, "notebookinstances",
            {"apiVersion": f"{GROUP}/{VERSION}", "kind": "NotebookInstance", "metadata": {"name": "nb"},
             "spec": {"notebookInstanceName": "nb", "instanceType": "ml.t3.medium", "roleARN": "arn:aws:iam::1:role/r"}},
        ),
        "list domains": lambda: custom.list_namespaced_custom_object(GROUP, VERSION, granted, "domains"),
        # Kinds with a component, verbs their component never uses.
        "delete a pipeline": lambda: custom.delete_namespaced_custom_object(GROUP, VERSION, granted, "pipelines", "p"),
        "delete a model package": lambda: custom.delete_namespaced_custom_object(GROUP, VERSION, granted, "modelpackages", "mp"),
        "patch a model package group": lambda: custom.patch_namespaced_custom_object(
            GROUP, VERSION, granted, "modelpackagegroups", "g", {"spec": {"modelPackageGroupDescription": "x"}}),
        "patch a labeling job": lambda: custom.patch_namespaced_custom_object(
            GROUP, VERSION, granted, "labelingjobs", "l", {"spec": {"labelAttributeName": "x"}}),
        "patch a pipeline execution": lambda: custom.patch_namespaced_custom_object(
            GROUP, VERSION, granted, "pipelineexecutions", "e", {"spec": {"pipelineExecutionDescription": "x"}}),
        "list inference components": lambda: custom.list_namespaced_custom_object(GROUP, VERSION, granted, "inferencecomponents"),
    }
    statuses = {}
    for what, request in refused.items():
        try:
            request()
            statuses[what] = 200
        except client.ApiException as exc:
            statuses[what] = exc.status
    assert statuses == {what: 403 for what in refused}
    # ...while its own kinds work in its own namespace.
    created: Any = custom.create_namespaced_custom_object(GROUP, VERSION, granted, "trainingjobs", training_job("mine", granted))
    assert created["metadata"]["name"] == "mine"
    custom.delete_namespaced_custom_object(GROUP, VERSION, granted, "trainingjobs", "mine")


# ----- the setup CLI ------------------------------------------------------------------------


def test_dry_run_prints_the_yaml_and_creates_nothing(cluster: Cluster, namespace: str) -> None:
    result = setup_cli(cluster, "--namespace", namespace, "--service-account", SA, "--dry-run")
    assert result.returncode == 0, result.stderr
    assert list(yaml.safe_load_all(result.stdout)) == [manifests.role(namespace), manifests.role_binding(namespace, SA)]
    assert read_rbac(cluster, namespace) == (None, None)


def test_second_run_is_idempotent(cluster: Cluster, namespace: str) -> None:
    first = setup_cli(cluster, "--namespace", namespace, wrapper=True)
    assert first.returncode == 0, first.stderr
    assert f"namespace {namespace}: role/{manifests.ROLE_NAME} created" in first.stdout
    assert f"namespace {namespace}: rolebinding/{manifests.BINDING_NAME} created" in first.stdout
    assert "service account default-editor" in first.stdout  # the multi-user KFP default
    role, binding = read_rbac(cluster, namespace)

    second = setup_cli(cluster, "--namespace", namespace, wrapper=True)
    assert second.returncode == 0, second.stderr
    assert f"role/{manifests.ROLE_NAME} unchanged" in second.stdout
    assert f"rolebinding/{manifests.BINDING_NAME} unchanged" in second.stdout
    assert "created" not in second.stdout and "updated" not in second.stdout
    role2, binding2 = read_rbac(cluster, namespace)
    assert (role2.metadata.resource_version, binding2.metadata.resource_version) == (
        role.metadata.resource_version, binding.metadata.resource_version,
    )


def test_a_second_account_is_added_not_swapped(cluster: Cluster, granted: str) -> None:
    result = setup_cli(cluster, "--namespace", granted, "--service-account", "another")
    assert result.returncode == 0, result.stderr
    assert "added service account another; also bound: pipeline-sa" in result.stdout
    for account in (SA, "another"):
        assert can_i(cluster, "create", f"trainingjobs.{GROUP}", granted, f"system:serviceaccount:{granted}:{account}")


def test_a_tampered_role_is_reset(cluster: Cluster, granted: str) -> None:
    rbac = client.RbacAuthorizationV1Api(cluster.admin())
    rbac.patch_namespaced_role(
        manifests.ROLE_NAME, granted, {"rules": [{"apiGroups": [""], "resources": ["secrets"], "verbs": ["get"]}]}
    )
    result = setup_cli(cluster, "--namespace", granted, "--service-account", SA)
    assert result.returncode == 0, result.stderr
    assert f"role/{manifests.ROLE_NAME} updated (rules reset" in result.stdout
    role, _ = read_rbac(cluster, granted)
    assert cluster.admin().sanitize_for_serialization(role.rules) == manifests.role_rules()


def test_refuses_a_namespace_that_does_not_exist(cluster: Cluster, namespace: str) -> None:
    missing = f"absent-{uuid.uuid4().hex[:6]}"
    # Checked before anything changes: the existing namespace given first gets nothing either.
    result = setup_cli(cluster, "--namespace", namespace, "--namespace", missing)
    assert result.returncode == 1
    assert f"namespace '{missing}' does not exist" in result.stderr
    assert read_rbac(cluster, namespace) == (None, None)


def test_refuses_when_the_crds_are_missing(no_crds_stack: Cluster) -> None:
    namespace = create_namespace(no_crds_stack, "no-crds")
    result = setup_cli(no_crds_stack, "--namespace", namespace)
    assert result.returncode == 1
    assert (
        "the ACK SageMaker controller's CRDs are not installed in this cluster; install the controller first"
        in result.stderr
    )
    assert f"trainingjobs.{GROUP}/{VERSION}" in result.stderr
    assert read_rbac(no_crds_stack, namespace) == (None, None)


def test_static_kustomization_grants_the_same(cluster: Cluster, namespace: str) -> None:
    """`kubectl apply -k rbac/ -n <ns>` binds default-editor of <ns>; the CLI then finds nothing to change."""
    cluster.kubectl("apply", "-k", str(REPO_ROOT / "rbac"), "-n", namespace)
    subject = f"system:serviceaccount:{namespace}:default-editor"
    assert can_i(cluster, "create", f"trainingjobs.{GROUP}", namespace, subject)
    assert not can_i(cluster, "create", f"trainingjobs.{GROUP}", namespace, "system:serviceaccount:elsewhere:default-editor")
    result = setup_cli(cluster, "--namespace", namespace)
    assert result.returncode == 0, result.stderr
    assert result.stdout.count(" unchanged") == 2, result.stdout


def test_the_console_script_dispatches_to_the_setup(cluster: Cluster, namespace: str) -> None:
    script = Path(sys.executable).parent / "sagemaker-ack-kfp"
    if not script.exists():
        pytest.skip(f"console script not installed next to {sys.executable}")
    result = subprocess.run(
        [str(script), "rbac", "--namespace", namespace, "--dry-run"], check=False, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert [doc["kind"] for doc in yaml.safe_load_all(result.stdout)] == ["Role", "RoleBinding"]
    assert read_rbac(cluster, namespace) == (None, None)
