"""Pod mode's Pods, built from compiled pipelines without a cluster: what KFP 1.8's Argo executor
would create for each attempt of a step (localrun/pods.py)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sagemaker_ack_kfp.localrun import argo, ir
from sagemaker_ack_kfp.localrun.launching import Attempt
from sagemaker_ack_kfp.localrun.plan import RunContext
from sagemaker_ack_kfp.localrun.pods import NODE_NAME_ANNOTATION, RUN_ID_LABEL, pod_manifest

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
IMAGE = "ghcr.io/sagemaker-ack-kfp/components:0.1.0"


def workflow(*, retries: int | None = None) -> dict[str, Any]:
    template: dict[str, Any] = {
        "name": "train-a-very-long-task-name-that-goes-on-and-on",
        "metadata": {"labels": {"pipelines.kubeflow.org/enable_caching": "false"}, "annotations": {"a": "b"}},
        "inputs": {"parameters": [{"name": "role"}]},
        "container": {
            "image": IMAGE,
            "command": ["python3", "-u", "-m", "sagemaker_ack_kfp.component"],
            "args": ["--kind", "TrainingJob", "--role_arn", "{{inputs.parameters.role}}", "--kfp-run-id", "{{workflow.uid}}",
                     "--output-model_artifact_url", "/tmp/outputs/model_artifact_url/data"],
            "env": [{"name": "FIXED", "value": "{{inputs.parameters.role}}"},
                    {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
            "resources": {"limits": {"memory": "512Mi"}},
        },
        "outputs": {"parameters": [{"name": "train-model_artifact_url",
                                    "valueFrom": {"path": "/tmp/outputs/model_artifact_url/data"}}]},
    }
    if retries is not None:
        template["retryStrategy"] = {"limit": str(retries)}
    task = {"name": "train-a-very-long-task-name-that-goes-on-and-on", "template": template["name"],
            "arguments": {"parameters": [{"name": "role", "value": "{{inputs.parameters.role}}"}]}}
    return {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "Workflow", "metadata": {"generateName": "my-pipeline-"},
        "spec": {"entrypoint": "main", "serviceAccountName": "pipeline-runner",
                 "arguments": {"parameters": [{"name": "role", "value": "arn:aws:iam::1:role/r"}]},
                 "templates": [{"name": "main", "inputs": {"parameters": [{"name": "role"}]}, "dag": {"tasks": [task]}}, template]},
    }


def build(doc: dict[str, Any], tmp_path: Path, *, attempt: int = 0,
          step_env: dict[str, str] | None = None) -> tuple[dict[str, Any], Path]:
    plan, _ = argo.load(doc)
    [step] = plan.steps.values()
    run = RunContext(run_id="0b3c5a4e-1111-2222-3333-444455556666", workdir=tmp_path, namespace="team-a",
                     pipeline_name="My Pipeline!", params=plan.resolve_parameters({}))
    invocation = step.invocation(run)
    assert invocation.container is not None
    attempt_of = Attempt(task=step.name, number=attempt, retries=step.retries)
    pod = pod_manifest(run, attempt_of, invocation.container, service_account="default-editor", step_env=step_env)
    return pod, run.task_dir(step.name)


def test_the_pod_is_the_compiled_container_with_argo_identity(tmp_path: Path) -> None:
    pod, task_dir = build(workflow(), tmp_path)
    [container] = pod["spec"]["containers"]
    assert container["image"] == IMAGE
    assert container["command"] == ["python3", "-u", "-m", "sagemaker_ack_kfp.component"]
    # Arguments as compiled: the run id substituted, output files at their path in the container.
    assert container["args"][3] == "arn:aws:iam::1:role/r"
    assert container["args"][5] == "0b3c5a4e-1111-2222-3333-444455556666"
    assert container["args"][7] == "/tmp/outputs/model_artifact_url/data"
    assert container["env"] == [{"name": "FIXED", "value": "arn:aws:iam::1:role/r"},
                                {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]
    assert container["resources"] == {"limits": {"memory": "512Mi"}}
    # That folder is backed by the step's folder on this machine, which the runner reads.
    [mount] = container["volumeMounts"]
    [volume] = pod["spec"]["volumes"]
    assert mount["mountPath"] == "/tmp/outputs/model_artifact_url" and volume["name"] == mount["name"]
    assert volume["hostPath"]["path"] == str(task_dir / "tmp/outputs/model_artifact_url")
    spec, metadata = pod["spec"], pod["metadata"]
    assert spec["serviceAccountName"] == "default-editor" and spec["restartPolicy"] == "Never"
    assert metadata["namespace"] == "team-a"
    assert metadata["labels"][RUN_ID_LABEL] == "0b3c5a4e-1111-2222-3333-444455556666"
    assert metadata["labels"]["pipelines.kubeflow.org/enable_caching"] == "false" and metadata["annotations"]["a"] == "b"
    # Without a retry limit Argo's node name has no attempt suffix.
    assert metadata["annotations"][NODE_NAME_ANNOTATION] == "my-pipeline-0b3c5a4e.train-a-very-long-task-name-that-goes-on-and-on"
    # The step finds its pod by HOSTNAME, which is the name cut to 63 characters: it must fit.
    assert len(metadata["name"]) <= 63 and DNS_LABEL.match(metadata["name"]), metadata["name"]


def test_a_retry_is_a_new_pod_with_the_same_node_name_but_for_argos_attempt_suffix(tmp_path: Path) -> None:
    first, _ = build(workflow(retries=2), tmp_path, attempt=0)
    second, _ = build(workflow(retries=2), tmp_path, attempt=1)
    assert first["metadata"]["name"] != second["metadata"]["name"]
    nodes = [pod["metadata"]["annotations"][NODE_NAME_ANNOTATION] for pod in (first, second)]
    assert nodes == ["my-pipeline-0b3c5a4e.train-a-very-long-task-name-that-goes-on-and-on(0)",
                     "my-pipeline-0b3c5a4e.train-a-very-long-task-name-that-goes-on-and-on(1)"]
    # What common/identity.py makes of them: one task.
    from sagemaker_ack_kfp.identity import task_from_node_name

    assert {task_from_node_name(node) for node in nodes} == {"my-pipeline-0b3c5a4e.train-a-very-long-task-name-that-goes-on-and-on"}
    # A rerun of the same attempt (the same --run-id) is a new pod too.
    again, _ = build(workflow(retries=2), tmp_path, attempt=0)
    assert again["metadata"]["name"] != first["metadata"]["name"]


def test_an_ir_step_writes_its_outputs_under_tmp_outputs_in_the_pod(tmp_path: Path) -> None:
    doc = {
        "pipelineInfo": {"name": "p"},
        "root": {"dag": {"tasks": {"model": {"taskInfo": {"name": "model"}, "componentRef": {"name": "comp-model"},
                                             "retryPolicy": {"maxRetryCount": 3}}}}},
        "components": {"comp-model": {"executorLabel": "exec-model",
                                      "outputDefinitions": {"parameters": {"model_name": {"parameterType": "STRING"}}}}},
        "deploymentSpec": {"executors": {"exec-model": {"container": {
            "image": IMAGE, "command": ["python3", "-m", "x"],
            "args": ["--out", "{{$.outputs.parameters['model_name'].output_file}}", "--run", "{{$.pipeline_job_uuid}}"],
        }}}},
    }
    plan, _ = ir.load(doc)
    [step] = plan.steps.values()
    assert step.retries == 3
    run = RunContext(run_id="r-1", workdir=tmp_path, namespace="ns", pipeline_name="p", params={})
    invocation = step.invocation(run)
    assert invocation.container is not None
    assert invocation.container.args == ["--out", "/tmp/outputs/model_name/data", "--run", "r-1"]
    # The local process mode writes to this machine's folder instead; the pod's folder is backed by it.
    assert invocation.argv[4] == str(invocation.output_files["model_name"])
    assert invocation.container.output_dirs == {"/tmp/outputs/model_name": invocation.output_files["model_name"].parent}


def test_env_file_variables_go_into_the_container_and_the_compiled_env_wins(tmp_path: Path) -> None:
    step_env = {"AWS_ENDPOINT_URL_S3": "http://10.200.0.2:4566", "FIXED": "from the env file"}
    pod, _ = build(workflow(), tmp_path, step_env=step_env)
    [container] = pod["spec"]["containers"]
    assert container["env"] == [{"name": "AWS_ENDPOINT_URL_S3", "value": "http://10.200.0.2:4566"},
                                {"name": "FIXED", "value": "arn:aws:iam::1:role/r"},
                                {"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}]
