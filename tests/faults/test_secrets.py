"""Secret values given to a step (its container environment, a password-like hyperparameter) never
appear in what the step prints or writes: not on success, not in a bad-input report, not in a
failure reason that echoes them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.faults.harness import Running, component, custom_resources, new_run_id
from tests.support.cluster import Cluster
from tests.support.component_command import StepResult
from tests.support.manifests import tags, training_arguments, training_spec

pytestmark = pytest.mark.integration

ENVIRONMENT = {"DB_PASSWORD": "hunter2-secret-value", "API_TOKEN": "tok-9f8e7d"}
HYPER_PARAMETERS = {**training_spec("unused")["hyperParameters"], "db_password": "pw-Zq81-sekret"}
SECRETS = [*ENVIRONMENT.values(), HYPER_PARAMETERS["db_password"]]


def _secret_arguments(namespace: str, **overrides: Any) -> dict[str, Any]:
    secret_bearing = {"environment": ENVIRONMENT, "hyper_parameters": HYPER_PARAMETERS}
    return training_arguments(namespace, **{**secret_bearing, **overrides})


def _run(cluster: Cluster, workdir: Path, arguments: dict[str, Any], *, extra_argv: tuple[str, ...] = ()) -> StepResult:
    step = component(cluster, workdir, arguments, run_id=new_run_id())
    step.argv += list(extra_argv)
    return Running(step).finish(timeout=300)


def _assert_no_secret(result: StepResult, workdir: Path, secrets: list[str] = SECRETS) -> None:
    written = {str(path): path.read_text(errors="replace") for path in workdir.rglob("*") if path.is_file()}
    for secret in secrets:
        assert secret not in result.stdout, f"{secret!r} printed to stdout:\n{result.stdout}"
        assert secret not in result.stderr, f"{secret!r} printed to stderr:\n{result.stderr}"
        for path, text in written.items():
            assert secret not in text, f"{secret!r} written to {path}"


@pytest.mark.controller
def test_successful_step_keeps_secrets(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    result = _run(cluster, tmp_path, _secret_arguments(namespace))
    assert result.returncode == 0, result.stderr
    assert result.outputs, "outputs were written, and scanned"
    _assert_no_secret(result, tmp_path)


BAD_INPUTS = [
    pytest.param(
        {"resource_config": {"instanceCount": "two", "instanceType": "ml.m5.large", "volumeSizeInGB": 5}},
        (),
        SECRETS,
        "resource_config.instanceCount",
        id="bad-input-elsewhere",
    ),
    pytest.param(
        {"environment": {**ENVIRONMENT, "PIN": 90210555}},
        (),
        [*SECRETS, "90210555"],
        "environment.PIN",
        id="bad-value-under-a-secret-key",
    ),
    pytest.param(
        {},
        ("--enviroment", json.dumps(ENVIRONMENT)),
        SECRETS,
        "unrecognized arguments: --enviroment",
        id="unknown-argument-carrying-secrets",
    ),
]


@pytest.mark.parametrize(("overrides", "extra_argv", "secrets", "named"), BAD_INPUTS)
def test_bad_input_report_keeps_secrets(
    cluster: Cluster,
    namespace: str,
    tmp_path: Path,
    overrides: dict[str, Any],
    extra_argv: tuple[str, ...],
    secrets: list[str],
    named: str,
) -> None:
    result = _run(cluster, tmp_path, _secret_arguments(namespace, **overrides), extra_argv=extra_argv)
    assert result.returncode == 2, f"{result.stdout}\n{result.stderr}"
    assert named in result.stderr  # the report still says what is wrong
    assert custom_resources(cluster, namespace) == []
    _assert_no_secret(result, tmp_path, secrets)


@pytest.mark.controller
@pytest.mark.simulator
@pytest.mark.parametrize(
    ("injection", "reason"),
    [
        (
            {"fail_reason": f"AlgorithmError: login to the database with {ENVIRONMENT['DB_PASSWORD']} failed"},
            "AlgorithmError: login to the database with *** failed",
        ),
        (
            {"validation_error": f"Environment value {ENVIRONMENT['API_TOKEN']} is not allowed"},
            "Environment value *** is not allowed",
        ),
    ],
    ids=["fail-reason", "recoverable-validation-error"],
)
def test_failure_reason_echoing_a_secret_is_scrubbed(
    cluster: Cluster, namespace: str, tmp_path: Path, injection: dict[str, str], reason: str
) -> None:
    arguments = _secret_arguments(namespace, tags=tags(**injection), recoverable_grace_seconds=3)
    result = _run(cluster, tmp_path, arguments)
    assert result.returncode == 1, f"{result.stdout}\n{result.stderr}"
    assert reason in result.stderr  # the real reason, with the secret masked
    assert result.outputs == {}
    _assert_no_secret(result, tmp_path)
