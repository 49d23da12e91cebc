"""The local stack's command line, on a stack of the test's own: `up` starts every piece on
127.0.0.1 and writes the kubeconfig and env file, `status` shows the pieces and their pids, `down`
stops exactly the pids `up` started; a piece that fails to start is named with its log's tail."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sagemaker_ack_kfp.stack.layout import binary_paths
from sagemaker_ack_kfp.stack.processes import is_alive

pytestmark = pytest.mark.integration


def stack_cli(folder: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "SAGEMAKER_ACK_KFP_STACK_DIR": str(folder), **(env or {})}
    return subprocess.run([sys.executable, "-m", "sagemaker_ack_kfp.stack", *args], env=environment,
                          capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    missing = [name for name in ("etcd", "kube-apiserver", "kubectl") if not binary_paths()[name].exists()]
    if missing:
        pytest.skip(f"needs the local stack's binaries ({', '.join(missing)} not built: make binaries)")
    return tmp_path / "stack"


def test_up_status_env_and_down_stop_exactly_what_up_started(folder: Path) -> None:
    bystander = subprocess.Popen(["sleep", "300"])  # a process the stack did not start
    try:
        up = stack_cli(folder, "up", "--allow-missing-controller")
        assert up.returncode == 0, up.stdout + up.stderr
        assert f"source {folder}/env" in up.stdout
        status = json.loads(stack_cli(folder, "status").stdout)
        assert status["up"] is True and status["server"].startswith("https://127.0.0.1:")
        assert status["simulator"].startswith("http://127.0.0.1:") and status["kubeconfig"] == f"{folder}/kubeconfig"
        pids = {piece: info["pid"] for piece, info in status["pieces"].items()}
        assert {"etcd", "kube-apiserver", "simulator"} <= set(pids)
        assert all(info["alive"] for info in status["pieces"].values()), status
        exports = dict(line.removeprefix("export ").split("=", 1) for line in stack_cli(folder, "env").stdout.splitlines())
        assert exports["KUBECONFIG"] == f"{folder}/kubeconfig"
        assert exports["SAGEMAKER_SIMULATOR_URL"] == status["simulator"]
        ready = subprocess.run([exports["KUBECTL"], "--kubeconfig", exports["KUBECONFIG"], "get", "--raw", "/readyz"],
                               capture_output=True, text=True, timeout=60, check=False)
        assert ready.returncode == 0 and ready.stdout.strip() == "ok", ready.stderr

        again = stack_cli(folder, "up", "--allow-missing-controller")
        assert again.returncode == 0 and "already up" in again.stdout
        assert {piece: info["pid"] for piece, info in json.loads(stack_cli(folder, "status").stdout)["pieces"].items()} == pids

        down = stack_cli(folder, "down")
        assert down.returncode == 0, down.stderr
        assert not any(is_alive(pid) for pid in pids.values())
        assert bystander.poll() is None  # only what `up` started was stopped
        assert json.loads(stack_cli(folder, "status").stdout) == {"up": False}
        assert not (folder / "env").exists()
        assert stack_cli(folder, "env").returncode == 1
    finally:
        bystander.kill()
        stack_cli(folder, "down")


def test_a_piece_that_fails_to_start_is_named_with_its_log(folder: Path, tmp_path: Path) -> None:
    broken = tmp_path / "etcd"
    broken.write_text("#!/bin/sh\necho 'etcd: cannot open the data directory (made up by the test)'\nexit 1\n")
    broken.chmod(0o755)
    try:
        up = stack_cli(folder, "up", "--allow-missing-controller", env={"ETCD_BIN": str(broken)})
        assert up.returncode == 1, up.stdout + up.stderr
        assert "error: etcd failed to start: the process exited" in up.stderr
        assert f"log: {folder}/logs/etcd.log" in up.stderr
        assert "etcd: cannot open the data directory (made up by the test)" in up.stderr
        assert "Traceback" not in up.stderr
    finally:
        stack_cli(folder, "down")
