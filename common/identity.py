"""Who this step is: the KFP run and the task within it, stable across pod retries.

Findings this rests on (KFP 1.8 on Argo 3.3, KFP 2.x backends):
- The literal `{{workflow.uid}}` in a container arg is replaced with the KFP run ID by the KFP
  API server in both backends (and by Argo in 1.8). `{{$.pipeline_task_uuid}}` is NOT resolved in
  args, and is the parent DAG's id anyway, so it is not used.
- The task is the pod's `workflows.argoproj.io/node-name` annotation minus the `(N)` retry
  suffix that Argo appends per attempt; the pod name itself changes on every retry.
- Outside a KFP pod (the local runner, a laptop), the runner exports SAGEMAKER_ACK_KFP_RUN_ID
  and SAGEMAKER_ACK_KFP_TASK.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Protocol

NODE_NAME_ANNOTATION = "workflows.argoproj.io/node-name"
# Where Kubernetes mounts a pod's service account (token, namespace). Tests that play a pod outside
# one point SAGEMAKER_ACK_KFP_SERVICE_ACCOUNT_DIR at a directory of their own; nothing sets it in a pod.
SERVICE_ACCOUNT_DIR_ENV = "SAGEMAKER_ACK_KFP_SERVICE_ACCOUNT_DIR"
IN_POD_SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount"
RUN_ID_LABEL = "pipeline/runid"
_RETRY_SUFFIX = re.compile(r"\(\d+\)$")


@dataclass(frozen=True)
class StepIdentity:
    run_id: str
    task: str
    source: str  # where it came from, printed once at start

    @property
    def known(self) -> bool:
        return bool(self.run_id and self.task)


class PodReader(Protocol):
    def __call__(self, namespace: str, name: str) -> dict[str, object] | None: ...


def service_account_dir() -> str:
    return os.environ.get(SERVICE_ACCOUNT_DIR_ENV) or IN_POD_SERVICE_ACCOUNT_DIR


def _resolved(value: str | None) -> str:
    """An Argo/KFP placeholder that nobody substituted counts as absent."""
    if not value or "{{" in value:
        return ""
    return value


def task_from_node_name(node_name: str) -> str:
    return _RETRY_SUFFIX.sub("", node_name.strip())


def resolve(*, run_id_arg: str | None, namespace: str, read_pod: PodReader | None) -> StepIdentity:
    run_id = _resolved(run_id_arg)
    env_run, env_task = os.environ.get("SAGEMAKER_ACK_KFP_RUN_ID", ""), os.environ.get("SAGEMAKER_ACK_KFP_TASK", "")
    if env_task:
        return StepIdentity(run_id=run_id or env_run, task=env_task, source="environment (local runner)")
    pod_name = os.environ.get("HOSTNAME", "")
    if read_pod and pod_name and os.path.exists(service_account_dir()):
        pod = read_pod(namespace, pod_name) or {}
        metadata = pod.get("metadata") or {}
        assert isinstance(metadata, dict)
        annotations = metadata.get("annotations") or {}
        labels = metadata.get("labels") or {}
        node_name = str(annotations.get(NODE_NAME_ANNOTATION, ""))
        if node_name:
            return StepIdentity(
                run_id=run_id or str(labels.get(RUN_ID_LABEL, "")),
                task=task_from_node_name(node_name),
                source=f"pod {namespace}/{pod_name}",
            )
    return StepIdentity(run_id=run_id or env_run, task="", source="none")
