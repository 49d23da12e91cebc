"""The RBAC objects themselves, without a cluster: exactly the kinds with components, exactly the
verbs the runtime uses, and static files that cannot drift from what the setup CLI applies."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from sagemaker_ack_kfp.codegen.ack_release import REPO_ROOT
from sagemaker_ack_kfp.kinds import known_kinds
from sagemaker_ack_kfp.rbac import manifests
from sagemaker_ack_kfp.rbac.__main__ import main

GROUP = "sagemaker.services.k8s.aws"
JOBS = ["hyperparametertuningjobs", "labelingjobs", "pipelineexecutions", "processingjobs", "trainingjobs", "transformjobs"]
CREATED_ONLY = [
    "dataqualityjobdefinitions", "endpointconfigs", "modelbiasjobdefinitions", "modelexplainabilityjobdefinitions",
    "modelpackagegroups", "modelqualityjobdefinitions", "models",
]


def test_role_grants_exactly_the_component_kinds_and_verbs() -> None:
    assert len(known_kinds()) == 18
    assert manifests.role_rules() == [
        # Endpoint, InferenceComponent: updated in place (patch), deleted on cancel when the user asks (delete).
        {"apiGroups": [GROUP], "resources": ["endpoints", "inferencecomponents"],
         "verbs": ["create", "delete", "get", "patch", "watch"]},
        # Jobs and pipeline executions: stopped on cancel or timeout by deleting the resource.
        {"apiGroups": [GROUP], "resources": JOBS, "verbs": ["create", "delete", "get", "watch"]},
        # Schedules, model packages, pipelines: updated in place, never deleted.
        {"apiGroups": [GROUP], "resources": ["modelpackages", "monitoringschedules", "pipelines"],
         "verbs": ["create", "get", "patch", "watch"]},
        # Models, endpoint configs, job definitions, model package groups: created and waited for, never changed.
        {"apiGroups": [GROUP], "resources": CREATED_ONLY, "verbs": ["create", "get", "watch"]},
        {"apiGroups": [""], "resources": ["pods"], "verbs": ["get"]},
    ]


@pytest.mark.parametrize("kind", known_kinds())
def test_verbs_follow_the_runtime_rules(kind: str) -> None:
    from sagemaker_ack_kfp.overlays import rules_for

    rules, verbs = rules_for(kind), manifests.verbs_for(kind)
    assert ("patch" in verbs) == (rules.on_conflict == "update")
    assert ("delete" in verbs) == (rules.stop_on_cancel or rules.delete_on_cancel_switch)
    assert {"create", "get", "watch"} <= set(verbs) and "list" not in verbs and "update" not in verbs


def test_binding_refers_to_the_role_and_the_account() -> None:
    binding = manifests.role_binding("team-a", "runner")
    assert binding["metadata"]["name"] == "manage-sagemaker-cr" and binding["metadata"]["namespace"] == "team-a"
    assert binding["roleRef"] == {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "sagemaker-ack-kfp"}
    assert binding["subjects"] == [{"kind": "ServiceAccount", "name": "runner", "namespace": "team-a"}]


@pytest.mark.parametrize("name", ["role.yaml", "rolebinding.yaml", "kustomization.yaml"])
def test_static_files_match_the_rendered_objects(name: str) -> None:
    on_disk = (REPO_ROOT / "rbac" / name).read_text()
    assert on_disk == manifests.static_files()[name], (
        f"rbac/{name} drifted from rbac/manifests.py; regenerate with: .venv/bin/python -c "
        "'from sagemaker_ack_kfp.rbac.manifests import write_static; write_static(\"rbac\")'"
    )


def test_static_files_are_the_namespaceless_rendering() -> None:
    role = yaml.safe_load((REPO_ROOT / "rbac" / "role.yaml").read_text())
    binding = yaml.safe_load((REPO_ROOT / "rbac" / "rolebinding.yaml").read_text())
    assert role == manifests.role(None) and "namespace" not in role["metadata"]
    assert binding == manifests.role_binding(None, "default-editor")
    assert "namespace" not in binding["subjects"][0]


def test_dry_run_defaults_the_service_account_per_kfp_flavour(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--namespace", "kubeflow", "--namespace", "team-a", "--dry-run", "--kubeconfig", "/nonexistent"]) == 0
    docs = list(yaml.safe_load_all(capsys.readouterr().out))
    assert [(d["kind"], d["metadata"]["namespace"]) for d in docs] == [
        ("Role", "kubeflow"), ("RoleBinding", "kubeflow"), ("Role", "team-a"), ("RoleBinding", "team-a"),
    ]
    assert docs[1]["subjects"][0]["name"] == "pipeline-runner"  # standalone KFP
    assert docs[3]["subjects"][0]["name"] == "default-editor"  # a multi-user KFP profile namespace


def test_explicit_service_account_applies_everywhere(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-n", "kubeflow", "-n", "team-a", "--service-account", "runner", "--dry-run"]) == 0
    docs = list(yaml.safe_load_all(capsys.readouterr().out))
    assert {d["subjects"][0]["name"] for d in docs if d["kind"] == "RoleBinding"} == {"runner"}


@pytest.mark.parametrize(
    "argv, message",
    [
        ([], "--namespace"),
        (["-n", "Team_A", "--dry-run"], "'Team_A' is not a valid namespace name"),
        (["-n", "team-a", "--service-account", "Bad Name", "--dry-run"], "not a valid service account name"),
    ],
)
def test_bad_usage_exits_2(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as raised:
        main(argv)
    assert raised.value.code == 2
    assert message in capsys.readouterr().err


def test_no_credentials_is_a_clear_error(tmp_path: Path) -> None:
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "KUBECONFIG": str(tmp_path / "absent")}
    result = subprocess.run(
        [sys.executable, "-m", "sagemaker_ack_kfp.rbac", "-n", "team-a"], check=False, capture_output=True, text=True, env=env, timeout=60
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: no Kubernetes credentials")
    assert "Traceback" not in result.stderr
