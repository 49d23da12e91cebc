"""`make demo` (hack/demo.sh) on the test session's stack: with the ACK controller the sample
pipeline succeeds and every resource is listed; without it the demo says so loudly, the first
step fails fast with the runtime's reason, and the demo exits non-zero."""

from __future__ import annotations

import os
import subprocess

import pytest

from sagemaker_ack_kfp.codegen.ack_release import REPO_ROOT
from tests.support.cluster import Cluster

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_demo(cluster: Cluster) -> None:
    if cluster.stack is None:
        pytest.skip("the demo runs on the local stack only")
    env = {**os.environ, "SAGEMAKER_ACK_KFP_STACK_DIR": str(cluster.stack.layout.root)}
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

    if cluster.controller_running:
        assert result.returncode == 0, out[-6000:]
        assert "THE ACK CONTROLLER IS NOT RUNNING" not in out
        for kind in ("trainingjob", "modelpackagegroup", "modelpackage", "model", "transformjob", "endpointconfig", "endpoint"):
            assert f"{kind}.sagemaker.services.k8s.aws/" in out, f"no {kind} listed"
        assert "model_artifact_url = s3://sagemaker-ack-kfp-demo/mnist-kmeans/models/" in out
        assert "InService" in out
    else:
        assert result.returncode == 1, out[-6000:]
        assert "THE ACK CONTROLLER IS NOT RUNNING IN THIS STACK" in out
        assert "refused by this machine's Go" in out and "Known limits, read this first" in out
        assert "no ACK controller acted on TrainingJob" in out
        assert "sagemaker-trainingjob: Failed (exit code 3)" in out
        assert "sagemaker-model: Skipped" in out
        assert "The run failed as expected" in out
        assert "ACK_CONTROLLER_BIN=/path/to/controller make demo" in out
