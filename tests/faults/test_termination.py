"""SIGTERM (KFP terminating a run) at every stage of a step, each stage reached through the step's
own output: while its create is in flight nothing is created; once the custom resource exists it
is deleted, so the controller stops the SageMaker job (or never starts it), and the step exits
143 saying why. (tests/contract/test_contract_cancel.py has the later stages without the controller.)"""

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
    Running,
    custom_resources,
    job_name,
    new_run_id,
    sim_jobs,
    start,
    wait_until_gone,
    wait_until_stopped,
)
from tests.support.cluster import GROUP, VERSION, Cluster, wait_for
from tests.support.component_command import ComponentStep
from tests.support.fault_proxy import FaultProxy
from tests.support.manifests import tags, training_arguments, training_job

pytestmark = pytest.mark.integration

CONTROLLER_FINALIZER = "finalizers.sagemaker.services.k8s.aws/TrainingJob"

# A job that cannot finish on its own before the test stops it (5 phases), and stops in one.
LONG = tags(phase_seconds="8")


def _creates(method: str, path: str) -> bool:
    return method == "POST" and path.split("?")[0].endswith("/trainingjobs")


def test_sigterm_while_the_create_is_in_flight_creates_nothing(cluster: Cluster, namespace: str, tmp_path: Path) -> None:
    """The create has not reached the API server yet (a proxy holds it) when the run is terminated:
    the step stops waiting for it at once, exits 143 saying why, and nothing was created."""
    if cluster.stack is None:
        pytest.skip("the proxy needs the local stack's certificates")
    with FaultProxy(cluster) as proxy:
        release = proxy.hold(match=_creates)
        run = Running(ComponentStep("TrainingJob", training_arguments(namespace, tags=LONG), run_id=new_run_id(), task="train",
                                    kubeconfig=proxy.kubeconfig(tmp_path / "kubeconfig"), workdir=tmp_path / "step"))
        run.wait_for_line("TrainingJob name ")  # printed right before the create
        wait_for(lambda: proxy.requests(_creates), timeout=30, interval=0.05, what="the create to reach the proxy")
        assert [seen.outcome for seen in proxy.requests(_creates)] == ["held"]
        signalled = time.monotonic()
        run.terminate()
        result = run.finish(timeout=60)
        release.set()
    assert result.returncode == 143, f"{result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "received SIGTERM: the run was terminated" in result.stderr
    assert time.monotonic() - signalled < 30
    assert "created" not in result.stdout and "Traceback" not in result.stderr
    assert result.outputs == {}
    assert custom_resources(cluster, namespace) == []


@pytest.mark.parametrize("phase", ["right after the create", "at the start of the wait"])
def test_sigterm_after_the_create_deletes_the_resource(cluster: Cluster, namespace: str, tmp_path: Path, phase: str) -> None:
    """Signalled at a line the step prints (right after its create; its wait's first progress
    line), not after a guessed delay: the step deletes what it created and exits 143."""
    run = start(cluster, tmp_path, training_arguments(namespace, tags=LONG, no_controller_seconds=600))
    if phase == "right after the create":
        run.wait_for_line("created TrainingJob")
    else:
        name = job_name(run.wait_for_line("TrainingJob name "))
        # The wait's first line shows the status it found: none without a controller; under load a
        # running controller may already have written one (seen once in a full run), so any status.
        first = run.wait_for_line(f"TrainingJob {name}: ")
        if not cluster.controller_running:
            assert first.rstrip().endswith(f"TrainingJob {name}: no status yet"), first
    run.terminate()
    result = run.finish(timeout=120)
    assert result.returncode == 143, f"{result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "received SIGTERM: the run was terminated" in result.stderr and "Traceback" not in result.stderr
    name = job_name(result.stdout)
    assert f"deleted TrainingJob {namespace}/{name}; the controller stops the SageMaker job" in result.stdout
    assert result.outputs == {}
    # Gone at once, or once the controller (if any) has stopped its job and let go.
    wait_until_gone(cluster, namespace, name)
    if cluster.controller_running and cluster.simulator_url:
        jobs = sim_jobs(cluster, name)  # none if the controller had not created it yet
        assert len(jobs) <= 1 and all(job["status"] in STOPPED for job in jobs), jobs


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


def test_a_finalizer_added_while_the_step_deletes_is_honoured(cluster: Cluster, namespace: str) -> None:
    """SIGTERM right after create races the controller, which adds its finalizer and then creates
    the SageMaker job. The API server checks finalizers only when a delete arrives, so an
    unconditional delete in flight would take the finalizer with it and orphan the job (seen:
    test_sigterm_right_after_create_deletes_the_resource, about one run in five). The step's
    delete is conditional on the version it read: here a finalizer lands between that read and
    the delete, the stale delete is refused, and a repeated one is a graceful deletion.

    The finalizer is the test's own, so that a running controller, which also writes the object
    (more conflicts) and removes its own finalizer once it stopped the job, cannot finish the
    deletion before the test looks. A running controller adds its own finalizer with a merge patch
    that carries no resourceVersion and replaces the whole list, so the test waits for that one
    first: else the controller's patch can land after the test's and drop the test's finalizer
    (seen once in a full run with the controller)."""
    finalizer = "sagemaker-ack-kfp.io/test-holds-it"
    # A SageMaker name of its own: on a stack kept from an earlier run, the controller would find
    # that run's job by name, adopt it and add no finalizer.
    name = f"racing-{namespace.rsplit('-', 1)[-1]}"
    admin = client.CustomObjectsApi(cluster.admin())
    admin.create_namespaced_custom_object(GROUP, VERSION, namespace, "trainingjobs", training_job(name, namespace))
    kube = Kube(cluster.admin())
    real_delete = kube.custom.delete_namespaced_custom_object
    answers: list[int] = []

    def finalizers() -> list[str]:
        obj = admin.get_namespaced_custom_object(GROUP, VERSION, namespace, "trainingjobs", name)
        return list(obj["metadata"].get("finalizers") or [])

    def delete_after_a_finalizer_landed(*args: Any, **kwargs: Any) -> Any:
        if not answers:  # the finalizer lands after the step's read, before its delete
            admin.patch_namespaced_custom_object(
                GROUP, VERSION, namespace, "trainingjobs", name, {"metadata": {"finalizers": [*finalizers(), finalizer]}})
        try:
            result = real_delete(*args, **kwargs)
        except ApiException as exc:
            answers.append(exc.status)
            raise
        answers.append(200)
        return result

    if cluster.controller_running:
        wait_for(lambda: CONTROLLER_FINALIZER in finalizers(), timeout=60, interval=0.1, what="the controller's finalizer")

    kube.custom.delete_namespaced_custom_object = delete_after_a_finalizer_landed  # type: ignore[method-assign]
    assert kube.delete(ResourceRef(GROUP, VERSION, "trainingjobs", "TrainingJob", namespace, name))

    # The delete decided on the old version did not go through; after any number of conflicts
    # (a controller writes the object too), one delete did.
    assert len(answers) >= 2 and answers[-1] == 200 and set(answers[:-1]) == {409}, answers
    obj = admin.get_namespaced_custom_object(GROUP, VERSION, namespace, "trainingjobs", name)
    assert finalizer in obj["metadata"]["finalizers"] and obj["metadata"].get("deletionTimestamp")
    admin.patch_namespaced_custom_object(GROUP, VERSION, namespace, "trainingjobs", name,
                                         {"metadata": {"finalizers": [f for f in finalizers() if f != finalizer] or None}})
