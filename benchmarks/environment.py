"""Where and on what a benchmark ran: the machine, the pinned versions, the commit."""

from __future__ import annotations

import os
import platform
import resource
import subprocess
import sys
import time
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


def _busy_seconds() -> float:
    """CPU time the whole machine spent busy since boot (all cores), from /proc/stat."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    except (OSError, ValueError, IndexError):
        return 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def _own_seconds() -> float:
    """CPU time of this process and of every child it has reaped (steps, and the stack once down)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


class CpuMeter:
    """How much CPU other processes used while the benchmark ran: the machine is shared, and
    a busy neighbour slows the steps down. Read `other()` after the stack is down (and reaped)."""

    def __init__(self) -> None:
        self.loadavg_at_start = _loadavg()
        self._busy, self._own, self._wall = _busy_seconds(), _own_seconds(), time.monotonic()

    def other(self) -> dict[str, Any]:
        wall = time.monotonic() - self._wall
        other = max(0.0, (_busy_seconds() - self._busy) - (_own_seconds() - self._own))
        capacity = wall * (os.cpu_count() or 1)
        return {
            "loadavg_at_start": self.loadavg_at_start,
            "other_processes_cpu_seconds": round(other, 1),
            "other_processes_share": round(other / capacity, 3) if capacity else 0.0,
        }


def _loadavg() -> list[float]:
    try:
        return [float(x) for x in Path("/proc/loadavg").read_text().split()[:3]]
    except (OSError, ValueError):
        return []
