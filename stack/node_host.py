"""What the node changes on the machine itself, recorded before and put back after:

- the claim: one node per machine (its network namespace name, ports inside it and the kubelet's
  sysctls are machine-wide), held in /run/sagemaker-ack-kfp/node.json by the stack that runs it;
- the baseline: sysctls, the machine's own iptables rules, mounts and network namespaces as they
  were before the node started (node-baseline.json); kubelet sets six sysctls, which `down` restores;
- the node's network namespace, its cgroup parent in every cgroup v1 hierarchy, and the mounts
  kubelet and containerd leave below the node's folder.
/run is a tmpfs: a reboot forgets the claim and the baseline, as it forgets what they describe.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sagemaker_ack_kfp.stack.node_network import NETNS

MACHINE_DIR = Path("/run/sagemaker-ack-kfp")
CLAIM_FILE = MACHINE_DIR / "node.json"
BASELINE_FILE = MACHINE_DIR / "node-baseline.json"
LAST_BASELINE_FILE = MACHINE_DIR / "node-baseline.last.json"  # the stopped node's, for checking
NETNS_DIR = Path("/run/netns")
CGROUP_MOUNT = Path("/sys/fs/cgroup")
# Folders kubelet and containerd create outside the node's folder, whatever their configuration
# (libcni's result cache, kubelet's container log links): removed at stop if they were not there.
MACHINE_FOLDERS = (Path("/var/lib/cni/results"), Path("/var/lib/cni"), Path("/var/log/containers"), Path("/run/containerd/s"), Path("/run/containerd"))
# What kubelet sets at start (pkg/kubelet/cm: setupKernelTunables); restored by `down`.
KUBELET_SYSCTLS = (
    "vm/overcommit_memory",
    "vm/panic_on_oom",
    "kernel/panic",
    "kernel/panic_on_oops",
    "kernel/keys/root_maxkeys",
    "kernel/keys/root_maxbytes",
)
# Counters and clocks that change by themselves; the rest of /proc/sys must come back as it was.
_VOLATILE_SYSCTLS = (
    "fs/dentry-state", "fs/file-nr", "fs/inode-nr", "fs/inode-state", "fs/dquot", "fs/quota",
    "kernel/random", "kernel/ns_last_pid", "kernel/pty/nr", "kernel/tainted", "kernel/sched_domain",
    "net/netfilter/nf_conntrack_count", "vm/stat_refresh", "kernel/perf_event_max_sample_rate",
    "kernel/hung_task", "fs/binfmt_misc", "kernel/usermodehelper", "net/ipv4/tcp_fastopen_key",
    "vm/drop_caches", "vm/compact_memory", "kernel/unprivileged_bpf_disabled",
)


# ----- sysctls -------------------------------------------------------------------------------
def read_sysctl(name: str) -> str:
    return (Path("/proc/sys") / name).read_text().strip()


def write_sysctl(name: str, value: str) -> None:
    (Path("/proc/sys") / name).write_text(value + "\n")


def sysctl_snapshot() -> dict[str, str]:
    """Every readable sysctl of this machine (its own network namespace), volatile ones left out."""
    values: dict[str, str] = {}
    for path in Path("/proc/sys").rglob("*"):
        name = path.relative_to("/proc/sys").as_posix()
        if name.startswith(_VOLATILE_SYSCTLS) or not path.is_file() or not os.access(path, os.R_OK):
            continue
        try:
            values[name] = " ".join(path.read_text().split())
        except OSError:
            continue
    return values


# ----- iptables, mounts, namespaces, processes ------------------------------------------------
def iptables_rules() -> str:
    """The machine's own (host network namespace) rules, every table and backend, no counters."""
    out = []
    for tool in ("iptables-save", "ip6tables-save", "iptables-legacy-save", "ip6tables-legacy-save"):
        try:
            result = subprocess.run([tool], capture_output=True, text=True, timeout=30, check=False)
        except FileNotFoundError:
            continue
        lines = [line for line in result.stdout.splitlines() if not line.startswith("#")]
        out.append(f"## {tool}\n" + "\n".join(_strip_counters(line) for line in lines))
    return "\n".join(out)


def _strip_counters(line: str) -> str:
    # ":CHAIN POLICY [packets:bytes]" -> ":CHAIN POLICY"
    return line.rsplit(" [", 1)[0] if line.startswith(":") else line


def mount_points() -> list[str]:
    return [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()]


def mounts_below(root: Path) -> list[str]:
    prefix = f"{root}/"
    return [m for m in mount_points() if m == str(root) or m.startswith(prefix)]


def unmount_below(root: Path) -> list[str]:
    """Unmount everything at or below root, deepest first (kubelet's rshared bind mount of its
    own folder, pod volumes, containerd's rootfs and namespace mounts). Returns what it unmounted."""
    done = []
    for _ in range(5):  # a bind mount may reveal another one below it
        points = sorted(set(mounts_below(root)), key=len, reverse=True)
        if not points:
            break
        for point in points:
            if subprocess.run(["umount", point], capture_output=True, check=False).returncode != 0:
                subprocess.run(["umount", "-l", point], capture_output=True, check=False)
            done.append(point)
    return done


def netns_names() -> list[str]:
    return sorted(p.name for p in NETNS_DIR.glob("*")) if NETNS_DIR.exists() else []


def netns_path() -> Path:
    return NETNS_DIR / NETNS


def create_netns() -> None:
    """The node's namespace: loopback up, the node's address on it, no route anywhere else."""
    from sagemaker_ack_kfp.stack.node_network import NODE_IP

    if not netns_path().exists():
        subprocess.run(["ip", "netns", "add", NETNS], check=True, capture_output=True, text=True)
    inside = ["ip", "-n", NETNS]
    subprocess.run([*inside, "link", "set", "lo", "up"], check=True)
    have = subprocess.run([*inside, "-4", "-o", "addr", "show", "dev", "lo"], capture_output=True, text=True, check=True)
    if f" {NODE_IP}/" not in have.stdout:
        subprocess.run([*inside, "addr", "add", f"{NODE_IP}/32", "dev", "lo"], check=True)


def delete_netns() -> None:
    if netns_path().exists():
        subprocess.run(["ip", "netns", "delete", NETNS], check=False, capture_output=True)


def pids_in_netns() -> list[int]:
    """Processes whose network namespace is the node's (they must all be gone before it is deleted)."""
    try:
        target = os.stat(netns_path())
    except FileNotFoundError:
        return []
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            info = os.stat(entry / "ns" / "net")
        except OSError:
            continue
        if (info.st_dev, info.st_ino) == (target.st_dev, target.st_ino):
            pids.append(int(entry.name))
    return pids


def processes_mentioning(text: str) -> list[tuple[int, str]]:
    """Processes whose command line contains text (e.g. the node's folder): what the node left running."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        if text in cmdline:
            found.append((int(entry.name), cmdline))
    return found


def kill_pids(pids: list[int], *, grace: float = 5.0) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline and any(Path(f"/proc/{pid}").exists() for pid in pids):
        time.sleep(0.1)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


# ----- cgroups -------------------------------------------------------------------------------
def cgroup_hierarchies() -> list[Path]:
    """The cgroup v1 hierarchies mounted under /sys/fs/cgroup (cpu, memory, ..., name=systemd)."""
    found = []
    for line in Path("/proc/self/mounts").read_text().splitlines():
        _, point, fstype, *_ = line.split()
        if fstype == "cgroup" and point.startswith(f"{CGROUP_MOUNT}/"):
            found.append(Path(point))
    return sorted(set(found))


def create_cgroup_parent(name: str) -> None:
    """kubelet refuses a cgroupRoot that does not exist; cpuset needs its cpus and mems copied."""
    for hierarchy in cgroup_hierarchies():
        path = hierarchy / name.strip("/")
        path.mkdir(exist_ok=True)
        for knob in ("cpuset.cpus", "cpuset.mems"):
            if (path / knob).exists() and not (path / knob).read_text().strip():
                (path / knob).write_text((hierarchy / knob).read_text())


def cgroup_tasks(name: str) -> list[int]:
    pids: set[int] = set()
    for hierarchy in cgroup_hierarchies():
        for procs in (hierarchy / name.strip("/")).rglob("cgroup.procs"):
            try:
                pids.update(int(p) for p in procs.read_text().split())
            except OSError:
                continue
    return sorted(pids)


def remove_cgroup_parent(name: str) -> list[str]:
    """rmdir the tree bottom-up; returns what could not be removed (still has tasks)."""
    stuck = []
    for hierarchy in cgroup_hierarchies():
        top = hierarchy / name.strip("/")
        if not top.exists():
            continue
        for path in sorted((p for p in top.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True) + [top]:
            try:
                path.rmdir()
            except OSError:
                stuck.append(str(path))
    return stuck


# ----- claim and baseline ----------------------------------------------------------------------
@dataclass
class Claim:
    stack_dir: str
    pids: dict[str, int] = field(default_factory=dict)
    since: float = field(default_factory=time.time)

    def alive_pids(self) -> dict[str, int]:
        return {name: pid for name, pid in self.pids.items() if Path(f"/proc/{pid}").exists()}


def read_claim() -> Claim | None:
    try:
        return Claim(**json.loads(CLAIM_FILE.read_text()))
    except (OSError, ValueError, TypeError):
        return None


def write_claim(claim: Claim) -> None:
    MACHINE_DIR.mkdir(parents=True, exist_ok=True)
    tmp = CLAIM_FILE.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(claim), indent=2))
    tmp.replace(CLAIM_FILE)


def release_claim(stack_dir: str) -> None:
    claim = read_claim()
    if claim and claim.stack_dir == stack_dir:
        CLAIM_FILE.unlink(missing_ok=True)


def record_baseline() -> dict[str, Any]:
    """The machine before the node touches it. Kept if one exists already: then a node stopped
    without restoring (killed, crashed) and the current values are not the machine's own."""
    existing = read_baseline()
    if existing:
        return existing
    baseline = {
        "recorded": time.time(),
        "kubelet_sysctls": {name: read_sysctl(name) for name in KUBELET_SYSCTLS},
        "sysctls": sysctl_snapshot(),
        "iptables": iptables_rules(),
        "mounts": sorted(set(mount_points())),
        "netns": netns_names(),
        "folders_existing": [str(path) for path in MACHINE_FOLDERS if path.exists()],
    }
    MACHINE_DIR.mkdir(parents=True, exist_ok=True)
    tmp = BASELINE_FILE.with_suffix(".tmp")
    tmp.write_text(json.dumps(baseline, indent=1))
    tmp.replace(BASELINE_FILE)
    return baseline


def read_baseline() -> dict[str, Any] | None:
    try:
        data = json.loads(BASELINE_FILE.read_text())
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def restore_baseline() -> list[str]:
    """Put kubelet's sysctls back; returns what changed back (name: now -> then)."""
    baseline = read_baseline()
    if not baseline:
        return []
    restored = []
    for name, value in baseline["kubelet_sysctls"].items():
        now = read_sysctl(name)
        if now != value:
            write_sysctl(name, value)
            restored.append(f"{name.replace('/', '.')}: {now} -> {value}")
    for folder in MACHINE_FOLDERS:  # deepest first; only empty ones
        if str(folder) not in baseline.get("folders_existing", []):
            try:
                folder.rmdir()
            except OSError:
                pass
    return restored


def forget_baseline() -> None:
    """The node is gone and the machine restored: keep the record only for `differences`. A
    baseline whose sysctls are not all back stays, so that the next start does not take kubelet's
    values for the machine's own."""
    baseline = read_baseline()
    if baseline and any(read_sysctl(name) != value for name, value in baseline["kubelet_sysctls"].items()):
        return
    if BASELINE_FILE.exists():
        BASELINE_FILE.replace(LAST_BASELINE_FILE)


def differences(baseline: dict[str, Any], *, node_dir: Path, cgroup_parent: str, keep_pids: frozenset[int] | set[int] = frozenset()) -> list[str]:
    """What differs from the machine before the node started: every sysctl, the machine's own
    iptables rules, mounts, network namespaces, processes and cgroups the node used. Empty means
    the node left nothing behind. keep_pids: the control plane, which names node files in its
    flags (the API server's kubelet client certificate) and keeps running."""
    found = []
    now = sysctl_snapshot()
    for name, value in sorted(baseline["sysctls"].items()):
        if name in now and now[name] != value:
            found.append(f"sysctl {name.replace('/', '.')} is {now[name]!r}, was {value!r}")
    if iptables_rules() != baseline["iptables"]:
        found.append("this machine's iptables rules changed")
    for point in sorted(set(mount_points()) - set(baseline["mounts"])):
        found.append(f"mount {point}")
    for point in mounts_below(node_dir):
        found.append(f"mount below the node's folder: {point}")
    for name in sorted(set(netns_names()) - set(baseline["netns"])):
        found.append(f"network namespace {name}")
    for pid, cmdline in processes_mentioning(str(node_dir)):
        if pid in keep_pids:
            continue
        found.append(f"process {pid}: {cmdline[:160]}")
    for pid in pids_in_netns():
        found.append(f"process {pid} in the node's network namespace")
    for hierarchy in cgroup_hierarchies():
        if (hierarchy / cgroup_parent.strip("/")).exists():
            found.append(f"cgroup {hierarchy / cgroup_parent.strip('/')}")
    return found
