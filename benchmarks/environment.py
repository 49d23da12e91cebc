"""Where and on what a benchmark ran: the machine, the pinned versions, the commit."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from sagemaker_ack_kfp.codegen.ack_release import REPO_ROOT, pinned_versions


def _meminfo_mb() -> int:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10, check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def describe() -> dict[str, Any]:
    versions = pinned_versions()
    dirty = bool(_git("status", "--porcelain", "--untracked-files=no"))
    return {
        "machine": {
            "cores": os.cpu_count(),
            "memory_mb": _meminfo_mb(),
            "cpu": _cpu_model(),
            "platform": platform.platform(),
        },
        "versions": {
            "git_head": _git("rev-parse", "HEAD"),
            "git_dirty": dirty,
            "kubernetes": versions.get("KUBERNETES_VERSION", ""),
            "etcd": versions.get("ETCD_VERSION", ""),
            "ack_sagemaker_controller": versions.get("ACK_SAGEMAKER_CONTROLLER_VERSION", ""),
            # Where the controller binary came from (never its path: it may be machine-specific).
            "controller_binary": "ACK_CONTROLLER_BIN" if os.environ.get("ACK_CONTROLLER_BIN") else "build cache",
            "python": sys.version.split()[0],
            "kubernetes_python_client": metadata.version("kubernetes"),
        },
    }
