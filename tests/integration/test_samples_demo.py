"""`make demo` (hack/demo.sh) on the test session's stack: its data step fills the bucket in the
stack's object store; with the ACK controller the sample pipeline succeeds, every resource is
listed and the last steps' outputs are real objects it says how to fetch; without it the demo says
so loudly, the training step fails fast with the runtime's reason, and the demo exits non-zero.
Where the stack runs a node, every step is a Pod (pod mode); the first one ran either way."""

from __future__ import annotations

import os
import re
import subprocess
from contextlib import nullcontext

import pytest

from sagemaker_ack_kfp.codegen.ack_release import REPO_ROOT
from tests.support.cluster import Cluster
from tests.support.step_pods import node_lock

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_demo(cluster: Cluster) -> None:
    if cluster.stack is None:
        pytest.skip("the demo runs on the local stack only")
    env = {**os.environ, "SAGEMAKER_ACK_KFP_STACK_DIR": str(cluster.stack.layout.root)}
    with node_lock(cluster) if cluster.node_running else nullcontext():  # its pods run on the node
        result = subprocess.run(
            ["bash", str(REPO_ROOT / "hack" / "demo.sh")], env=env, capture_output=True, text=True, timeout=900, check=False
        )
    out = result.stdout + result.stderr
    # What it does, then the three stages, then where to look and how to stop.
    assert "This demo runs the sample pipeline samples/mnist_kmeans" in out
    assert "with KFP SDK 1.8.22 (Argo Workflow)" in out
    namespace = out.split("running it in namespace ")[1].split()[0]
    assert f"namespace/{namespace} created" in out
    assert "[sagemaker-trainingjob] started" in out
    assert (f"kubectl get trainingjobs,modelpackagegroups,modelpackages,models,transformjobs,endpointconfigs,"
            f"endpoints.sagemaker.services.k8s.aws -n {namespace}") in out
    assert "-m sagemaker_ack_kfp.simulator list --url $SAGEMAKER_SIMULATOR_URL" in out
    assert "Stop the stack: make stack-down" in out
    # The data step ran first and filled the bucket, whatever happens after it.
    assert "upload-sample-data: Succeeded" in out
    assert "train_uri = s3://sagemaker-ack-kfp-demo/mnist-kmeans/train/" in out
    assert "s3://sagemaker-ack-kfp-demo/mnist-kmeans/train/train.csv  (" in out
    assert "aws s3 ls --recursive s3://sagemaker-ack-kfp-demo/mnist-kmeans/" in out
    if cluster.node_running:
        # Pod mode: the pipeline's service account, granted by rbac/setup.sh; the step's own pod.
        assert "serviceaccount/default-editor created" in out
        assert f"namespace {namespace}: rolebinding/manage-sagemaker-cr created" in out
        assert "pod mode: every step a Pod" in out
        assert f"[sagemaker-trainingjob] pod {namespace}/sagemaker-mnist-kmeans-" in out
        assert f"kubectl get pods -n {namespace}" in out
        pods = out.split(f"kubectl get pods -n {namespace} -L pipeline/runid")[1].split("Look around")[0]
        assert "-sagemaker-trainingjo" in pods and ("Completed" in pods or "Error" in pods), pods
    else:
        assert "as a local process (this stack has no node" in out

    if cluster.controller_running:
        assert result.returncode == 0, out[-6000:]
        assert "THE ACK CONTROLLER IS NOT RUNNING" not in out
        for kind in ("trainingjob", "modelpackagegroup", "modelpackage", "model", "transformjob", "endpointconfig", "endpoint"):
            assert f"{kind}.sagemaker.services.k8s.aws/" in out, f"no {kind} listed"
        assert "model_artifact_url = s3://sagemaker-ack-kfp-demo/mnist-kmeans/models/" in out
        assert "InService" in out
        # The model and one .out per batch input object, written by this run; the printed
        # one-liner lists them.
        job = out.split("training_job_name = ")[1].split()[0]
        model = f"s3://sagemaker-ack-kfp-demo/mnist-kmeans/models/{job}/output/model.tar.gz"
        written = "<- written by this run's SageMaker jobs"
        for key in (model, "s3://sagemaker-ack-kfp-demo/mnist-kmeans/batch-output/part-0.csv.out",
                    "s3://sagemaker-ack-kfp-demo/mnist-kmeans/batch-output/part-1.csv.out"):
            assert re.search(re.escape(key) + r"  \(\d+ bytes\)  " + re.escape(written), out), key
        [one_liner] = [line.strip() for line in out.splitlines() if "boto3.client('s3').list_objects_v2" in line]
        python, _, code = one_liner.partition(" -c ")
        env = {**os.environ, **cluster.s3_env(), "AWS_REGION": "us-east-1"}  # as after `source .stack/env`
        listed = subprocess.run([python, "-c", code.strip().strip('"')], env=env, capture_output=True, text=True,
                                timeout=60, check=False)
        assert listed.returncode == 0, listed.stderr
        assert f"mnist-kmeans/models/{job}/output/model.tar.gz" in listed.stdout.split()
        # The training step streams its job's own log lines (step.env: credentials, the Logs endpoint).
        assert "following the job's CloudWatch logs: /aws/sagemaker/TrainingJobs" in out
        training_log = re.findall(r"^\[sagemaker-trainingjob\] \[algo-1-\d+\] (.*)$", out, re.MULTILINE)
        assert training_log[0] == "Docker entrypoint called with argument(s): train", out[-6000:]
        assert training_log[-1] == "Reporting training SUCCESS"
        assert len(training_log) == len(set(training_log))
        assert re.search(r"^\[sagemaker-transformjob\] \[i-[0-9a-f]{17}-\d+/data-log\] Batch transform complete$", out, re.MULTILINE)
    else:
        assert result.returncode == 1, out[-6000:]
        assert "THE ACK CONTROLLER IS NOT RUNNING IN THIS STACK" in out
        assert "refused by this machine's Go" in out and "Known limits, read this first" in out
        assert "no ACK controller acted on TrainingJob" in out
        assert "sagemaker-trainingjob: Failed (exit code 3)" in out
        assert "<- written by this run" not in out
        assert "sagemaker-model: Skipped" in out
        assert "The run failed as expected" in out
        assert "ACK_CONTROLLER_BIN=/path/to/controller make demo" in out
