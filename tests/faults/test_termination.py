"""SIGTERM (KFP terminating a run) at every stage of a step: before anything exists nothing is
created; once the custom resource exists it is deleted, so the controller stops the SageMaker
job (or never starts it), and the step exits 143 saying why."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from sagemaker_ack_kfp.kube import Kube, ResourceRef

from tests.faults.harness import (
    STOPPED,
    custom_resources,
    job_name,
    sim_jobs,
    start,
    wait_until_gone,
    wait_until_stopped,
)
from tests.support.cluster import GROUP, VERSION, Cluster, PrivateStacks, create_namespace, wait_for
from tests.support.manifests import tags, training_arguments, training_job

pytestmark = pytest.mark.integration

# A job that cannot finish on its own before the test stops it (5 phases), and stops in one.
LONG = tags(phase_seconds="8")


def test_sigterm_before_anything_exists_creates_nothing(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    run = start(cluster, tmp_path, training_arguments(namespace, tags=LONG))
    run.terminate()  # as soon as the process exists: before it can have read its inputs
    result = run.finish(timeout=60)
    assert result.returncode != 0
    assert result.returncode in (-15, 143), result.stderr
    assert "created" not in result.stdout
    assert result.outputs == {}
    assert custom_resources(cluster, namespace) == []


@pytest.mark.parametrize("delay", [0.3, 0.6, 0.9, 1.5])
def test_sigterm_at_any_early_moment_leaves_no_custom_resource(
    cluster: Cluster, namespace: str, tmp_path: Path, delay: float
) -> None:
    """Wherever the signal lands (interpreter start, inputs, create, wait), nothing is left behind."""
    run = start(cluster, tmp_path, training_arguments(namespace, tags=LONG, no_controller_seconds=600))
    time.sleep(delay)
    run.terminate()
    result = run.finish(timeout=120)
    assert result.returncode in (-15, 143), f"{result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr
    if result.returncode == 143:
        assert "received SIGTERM" in result.stderr
    # Whatever was created has been deleted (with the controller: once it stopped the job).
    wait_for(lambda: custom_resources(cluster, namespace) == [], timeout=120, what="no TrainingJob left")
    if "TrainingJob name " in result.stdout and cluster.simulator_url:
        assert all(job["status"] in STOPPED for job in sim_jobs(cluster, job_name(result.stdout)))


@pytest.mark.controller
@pytest.mark.simulator
def test_sigterm_right_after_create_deletes_the_resource(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    run = start(cluster, tmp_path, training_arguments(namespace, tags=LONG))
    run.wait_for_line("created TrainingJob")
    run.terminate()
    result = run.finish(timeout=120)

    assert result.returncode == 143, f"{result.stdout}\n{result.stderr}"
    assert "received SIGTERM: the run was terminated" in result.stderr
    assert "deleted TrainingJob" in result.stdout
    assert "Traceback" not in result.stderr
    assert result.outputs == {}
    name = job_name(result.stdout)
    wait_until_gone(cluster, namespace, name)
    # Stopped, or never started: never a job left running (or completed) behind a deleted CR.
    jobs = sim_jobs(cluster, name)
    assert len(jobs) <= 1
    assert all(job["status"] in STOPPED for job in jobs), jobs
    if jobs:
        wait_until_stopped(cluster, name)


@pytest.mark.controller
@pytest.mark.simulator
def test_sigterm_during_the_wait_stops_the_job(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    run = start(cluster, tmp_path, training_arguments(namespace, tags=LONG))
    run.wait_for_line("InProgress")
    run.terminate()
    result = run.finish(timeout=120)

    assert result.returncode == 143, f"{result.stdout}\n{result.stderr}"
    assert "received SIGTERM: the run was terminated" in result.stderr
    assert "deleted TrainingJob" in result.stdout
    assert result.outputs == {}
    name = job_name(result.stdout)
    [stopped] = wait_until_stopped(cluster, name)
    assert stopped["status"] == "Stopped"
    assert len(sim_jobs(cluster, name)) == 1
    wait_until_gone(cluster, namespace, name)


@pytest.fixture(scope="module")
def cluster_without_controller(cluster: Cluster, private_stack: PrivateStacks) -> Cluster:
    """The shared stack if no controller runs in it (as on CI), else a private one without: a real
    controller would race the test's own stand-in for it (adding its finalizer, then finishing the
    deletion itself), and which of them wins depends on the machine's load."""
    return cluster if not cluster.controller_running else private_stack.start(with_controller=False)


def test_a_finalizer_added_while_the_step_deletes_is_honoured(cluster_without_controller: Cluster) -> None:
    """SIGTERM right after create races the controller, which adds its finalizer and then creates
    the SageMaker job. The API server checks finalizers only when a delete arrives, so an
    unconditional delete in flight would take the finalizer with it and orphan the job (seen:
    test_sigterm_right_after_create_deletes_the_resource, about one run in five). The step's
    delete is conditional on the version it read: here the finalizer lands between that read
    and the delete, the stale delete is refused, and the repeated one is a graceful deletion."""
    cluster = cluster_without_controller
    namespace = create_namespace(cluster, "finalizer-race")
    finalizer = "finalizers.sagemaker.services.k8s.aws/TrainingJob"
    admin = client.CustomObjectsApi(cluster.admin())
    admin.create_namespaced_custom_object(GROUP, VERSION, namespace, "trainingjobs", training_job("racing", namespace))
    kube = Kube(cluster.admin())
    real_delete = kube.custom.delete_namespaced_custom_object
    answers: list[int] = []

    def delete_after_the_controller_moved(*args: Any, **kwargs: Any) -> Any:
        if not answers:  # the controller's finalizer lands after the step's read, before its delete
            admin.patch_namespaced_custom_object(
                GROUP, VERSION, namespace, "trainingjobs", "racing", {"metadata": {"finalizers": [finalizer]}})
        try:
            result = real_delete(*args, **kwargs)
        except ApiException as exc:
            answers.append(exc.status)
            raise
        answers.append(200)
        return result

    kube.custom.delete_namespaced_custom_object = delete_after_the_controller_moved  # type: ignore[method-assign]
    assert kube.delete(ResourceRef(GROUP, VERSION, "trainingjobs", "TrainingJob", namespace, "racing"))

    assert answers == [409, 200]  # the delete decided on the old version did not go through
    obj = admin.get_namespaced_custom_object(GROUP, VERSION, namespace, "trainingjobs", "racing")
    assert obj["metadata"]["finalizers"] == [finalizer] and obj["metadata"].get("deletionTimestamp")
    admin.patch_namespaced_custom_object(GROUP, VERSION, namespace, "trainingjobs", "racing", {"metadata": {"finalizers": None}})
