"""The kubectl experience: `kubectl get trainingjobs -l sagemaker-ack-kfp.io/run-id=<run>` shows
exactly one pipeline run's jobs, with ACK's printer columns (the columns themselves are checked by
test_stack.py::test_crds_show_acks_printer_columns)."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from sagemaker_ack_kfp.naming import RUN_LABEL, TASK_LABEL
from tests.support.cluster import Cluster
from tests.support.component_command import ComponentStep
from tests.support.manifests import training_arguments

pytestmark = pytest.mark.integration


def kubectl(cluster: Cluster, *args: str) -> str:
    result = cluster.kubectl(*args, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def training_step(cluster: Cluster, namespace: str, workdir: Path, *, run_id: str, task: str) -> ComponentStep:
    arguments = training_arguments(namespace)
    if not cluster.controller_running:
        arguments["no_controller_seconds"] = 1  # the step fails, and its custom resource stays
    return ComponentStep("TrainingJob", arguments, kubeconfig=cluster.kubeconfig, workdir=workdir, run_id=run_id, task=task)


def test_label_selector_lists_exactly_one_runs_jobs(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    runs = {str(uuid.uuid4()): "train-a", str(uuid.uuid4()): "train-b"}
    steps = [training_step(cluster, namespace, tmp_path / task, run_id=run, task=task) for run, task in runs.items()]
    results = [step.finish(proc, timeout=300) for step, proc in [(s, s.start()) for s in steps]]
    expected_code = 0 if cluster.controller_running else 3
    assert [r.returncode for r in results] == [expected_code] * 2, [r.stderr for r in results]
    names = [r.stdout.split("TrainingJob name ")[1].split()[0].lower() for r in results]
    assert len(set(names)) == 2

    for (run, task), name in zip(runs.items(), names):
        selected = kubectl(cluster, "get", "trainingjobs", "-n", namespace, "-l", f"{RUN_LABEL}={run}", "-o", "name")
        assert selected.split() == [f"trainingjob.sagemaker.services.k8s.aws/{name}"]
        # Across namespaces, too: a run ID is unique.
        everywhere = kubectl(cluster, "get", "trainingjobs", "-A", "-l", f"{RUN_LABEL}={run}", "-o", "name")
        assert everywhere.split() == [f"trainingjob.sagemaker.services.k8s.aws/{name}"]
        by_task = kubectl(cluster, "get", "trainingjobs", "-n", namespace, "-l", f"{TASK_LABEL}={task}", "-o", "name")
        assert by_task.split() == [f"trainingjob.sagemaker.services.k8s.aws/{name}"]

    # The table a person reads: ACK's printer columns, one row, and the task as an extra column.
    run, task = next(iter(runs.items()))
    table = kubectl(cluster, "get", "trainingjobs", "-n", namespace, "-l", f"{RUN_LABEL}={run}", "-L", TASK_LABEL)
    header, *rows = table.splitlines()
    assert header.split()[:3] == ["NAME", "SECONDARY-STATUS", "STATUS"]
    assert header.split()[-1] == "TASK"
    assert len(rows) == 1 and rows[0].split()[0] == names[0] and rows[0].split()[-1] == task
    if cluster.controller_running:
        assert rows[0].split()[1:3] == ["Completed", "Completed"]
