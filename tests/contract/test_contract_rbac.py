"""Contract test: what rbac/setup.sh grants is enough for everything a step does, and the step
does it as the pipeline's service account: create, read and watch its resource to success, patch
an Endpoint to roll out a new config, delete a job it stops, and read its own Pod for its KFP
identity. The controller's part is replayed from recordings of the real controller."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from sagemaker_ack_kfp.identity import SERVICE_ACCOUNT_DIR_ENV
from tests.contract.stage import Contract
from tests.contract.test_contract_identity import argo_pod, service_account_mount
from tests.integration.test_rbac import SA, sa_kubeconfig, setup_cli
from tests.support.manifests import step_arguments

pytestmark = pytest.mark.integration


def test_the_setup_grants_are_enough_for_every_step_action(contract: Contract, tmp_path: Path) -> None:
    contract.cluster.service_account_token(contract.namespace, SA)  # creates the service account
    granted = setup_cli(contract.cluster, "--namespace", contract.namespace, "--service-account", SA)
    assert granted.returncode == 0, granted.stderr
    kubeconfig = sa_kubeconfig(contract.cluster, contract.namespace, tmp_path)

    # A training step in its pod: reads its Pod, creates, reads and watches its job to success.
    run_id = str(uuid.uuid4())
    pod = argo_pod(contract, attempt=0, run_id=run_id)
    mount = service_account_mount(contract, tmp_path / "sa")
    run = contract.start("TrainingJob", step_arguments("TrainingJob", contract.namespace), kubeconfig=kubeconfig,
                         run_id="{{workflow.uid}}", task=None, env={"HOSTNAME": pod, SERVICE_ACCOUNT_DIR_ENV: str(mount)})
    contract.replay("TrainingJob", "success").play()
    trained = run.finish()
    assert trained.returncode == 0, trained.stderr
    assert f"derived from run {run_id}, task" in trained.stdout  # it could read its own Pod

    # An endpoint step, then its update (patch).
    name = f"ep-{uuid.uuid4().hex[:8]}"
    replay = contract.replay("Endpoint", "update", name=name)
    first = contract.start("Endpoint", {"endpoint_name": name, "endpoint_config_name": "config-a"}, kubeconfig=kubeconfig)
    replay.play_to_step_action()
    assert first.finish().returncode == 0
    second = contract.start("Endpoint", {"endpoint_name": name, "endpoint_config_name": "config-b"}, kubeconfig=kubeconfig)
    replay.play()
    updated = second.finish()
    assert updated.returncode == 0, updated.stderr
    assert "updated the existing Endpoint" in updated.stdout

    # A processing step stopped by SIGTERM (delete).
    stopping = contract.start("ProcessingJob", step_arguments("ProcessingJob", contract.namespace), kubeconfig=kubeconfig)
    stop = contract.replay("ProcessingJob", "stop")
    stop.play(until="InProgress")
    stopping.wait_for_line(": InProgress")
    stopping.terminate()
    stop.play()
    stopped = stopping.finish()
    assert stopped.returncode == 143, stopped.stderr
    assert "deleted ProcessingJob" in stopped.stdout and "could not delete" not in stopped.stdout
    assert contract.resources("ProcessingJob") == []
    assert "permission denied" not in trained.stderr + updated.stderr + stopped.stderr
