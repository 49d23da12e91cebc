"""What the fault tests share: TrainingJob steps run exactly as KFP runs them, read line by line
while they run (so a test can strike at a precise moment), and the final state read back from
the API server and the simulator, which is what the assertions are about: one job per step,
stopped when it should be, nothing lost."""

from __future__ import annotations

import signal
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from kubernetes import client

from tests.support.cluster import GROUP, VERSION, Cluster, wait_for
from tests.support.component_command import ComponentStep, StepResult

ACCOUNT = "123456789012"
REGION = "us-east-1"
STOPPED = ("Stopping", "Stopped")


def new_run_id() -> str:
    return str(uuid.uuid4())


def component(
    cluster: Cluster, workdir: Path, arguments: dict[str, Any], *, run_id: str, task: str = "train",
    kind: str = "TrainingJob",
) -> ComponentStep:
    return ComponentStep(kind, arguments, kubeconfig=cluster.kubeconfig, workdir=workdir, run_id=run_id, task=task)


class Running:
    """A started step whose stdout and stderr are collected as they arrive."""

    # Steps a failed test left running; the faults conftest stops them after each test.
    started: list["Running"] = []

    def __init__(self, step: ComponentStep) -> None:
        self.step = step
        self.proc = step.start()
        Running.started.append(self)
        self._out: list[str] = []
        self._err: list[str] = []
        self._changed = threading.Condition()
        self._readers = [
            threading.Thread(target=self._drain, args=(self.proc.stdout, self._out), daemon=True),
            threading.Thread(target=self._drain, args=(self.proc.stderr, self._err), daemon=True),
        ]
        for reader in self._readers:
            reader.start()

    def _drain(self, stream: Any, into: list[str]) -> None:
        for line in stream:
            with self._changed:
                into.append(line)
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    @property
    def stdout(self) -> str:
        with self._changed:
            return "".join(self._out)

    def wait_for_line(self, text: str, *, timeout: float = 120) -> str:
        """The first stdout line containing `text`; fails if the step exits or time runs out."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for line in self._out:
                    if text in line:
                        return line
                if self.proc.poll() is not None and not any(reader.is_alive() for reader in self._readers):
                    raise AssertionError(
                        f"the step exited ({self.proc.returncode}) before printing {text!r}:\n"
                        f"{''.join(self._out)}{''.join(self._err)}"
                    )
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"the step did not print {text!r} within {timeout}s:\n{''.join(self._out)}")
                self._changed.wait(min(left, 0.5))

    def terminate(self) -> None:
        self.proc.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        """The pod dies without warning (node loss, OOM): no chance to clean up."""
        self.proc.kill()
        self.proc.wait()

    def finish(self, timeout: float = 300) -> StepResult:
        try:
            self.proc.wait(timeout=timeout)
        except Exception:
            self.kill()
            raise
        for reader in self._readers:
            reader.join(timeout=10)
        outputs = {name: path.read_text() for name, path in self.step.output_paths.items() if path.exists()}
        return StepResult(self.proc.returncode, "".join(self._out), "".join(self._err), outputs)


def start(
    cluster: Cluster, workdir: Path, arguments: dict[str, Any], *, run_id: str = "", task: str = "train"
) -> Running:
    return Running(component(cluster, workdir, arguments, run_id=run_id or new_run_id(), task=task))


# ----- what the cluster and the simulator hold ---------------------------------------------


def custom_resources(cluster: Cluster, namespace: str) -> list[dict[str, Any]]:
    api = client.CustomObjectsApi(cluster.admin())
    return list(api.list_namespaced_custom_object(GROUP, VERSION, namespace, "trainingjobs")["items"])


def sim_jobs(cluster: Cluster, name: str) -> list[dict[str, Any]]:
    """Every SageMaker training job the simulator holds under exactly this name."""
    return [job for job in cluster.sim_resources("TrainingJob", name_prefix=name) if job["name"] == name]


def created_jobs(cluster: Cluster) -> int:
    """CreateTrainingJob calls the simulator accepted so far (throttled ones do not count)."""
    counters = cluster.sim("/_sim/calls")
    return int(counters["calls"].get("CreateTrainingJob", 0)) - int(counters["throttled"].get("CreateTrainingJob", 0))


def throttled_calls(cluster: Cluster) -> int:
    return sum(int(n) for n in cluster.sim("/_sim/calls")["throttled"].values())


def job_name(stdout: str) -> str:
    """The SageMaker name the step derived (its first progress line says it)."""
    marker = "TrainingJob name "
    assert marker in stdout, f"the step did not say which name it uses:\n{stdout}"
    return stdout.split(marker, 1)[1].split()[0]


def assert_completed(cluster: Cluster, namespace: str, result: StepResult) -> str:
    """Exit 0, the outputs a completed job has, and exactly one CR and one SageMaker job behind them."""
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr
    name = result.outputs["training_job_name"]
    assert name == job_name(result.stdout)
    assert result.outputs["model_artifact_url"] == f"s3://demo-bucket/mnist/output/{name}/output/model.tar.gz"
    assert result.outputs["training_job_arn"] == f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/{name}"
    assert result.output_json("status")["trainingJobStatus"] == "Completed"
    assert [cr["metadata"]["name"] for cr in custom_resources(cluster, namespace)].count(name) == 1
    jobs = sim_jobs(cluster, name)
    assert [job["status"] for job in jobs] == ["Completed"], jobs
    return name


def wait_until_gone(cluster: Cluster, namespace: str, name: str, *, timeout: float = 120) -> None:
    """The CR is gone (the controller, if any, has stopped its job and released the finalizer)."""
    wait_for(
        lambda: name not in [cr["metadata"]["name"] for cr in custom_resources(cluster, namespace)],
        timeout=timeout, interval=0.5, what=f"TrainingJob {namespace}/{name} to be deleted",
    )


def wait_until_stopped(cluster: Cluster, name: str, *, timeout: float = 120) -> list[dict[str, Any]]:
    return wait_for(
        lambda: [job for job in sim_jobs(cluster, name) if job["status"] == "Stopped"],
        timeout=timeout, interval=1, what=f"SageMaker job {name} to be Stopped",
    )
