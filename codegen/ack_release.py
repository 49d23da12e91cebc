"""Where the pinned ACK sagemaker-controller release's CRDs and RBAC come from.

The release is a dependency like any other: its files are read from the controller's Go
module (`go mod download`, version pinned in hack/versions.env), never committed here.
When the module proxy cannot serve the module, a local copy of the same release can be named
with ACK_SAGEMAKER_BUNDLE_DIR (either a module tree or a `crds/` + `rbac/` bundle), and the
maintainers' bundle beside the checkout (../shared/ack-sagemaker-v1.9.1) is the last resort; whichever
source is used, the CRDs must hash to the pinned ACK_SAGEMAKER_CRDS_SHA256.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
VERSIONS_FILE = REPO_ROOT / "hack" / "versions.env"
# The bundle the project's maintainers are given beside the checkout (same files as the module).
SHARED_BUNDLE = REPO_ROOT.parent / "shared" / "ack-sagemaker-v1.9.1"


class ReleaseNotFound(RuntimeError):
    """No source could supply the pinned ACK release's files."""


@cache
def pinned_versions() -> dict[str, str]:
    """The KEY=VALUE pairs of hack/versions.env."""
    versions: dict[str, str] = {}
    for line in VERSIONS_FILE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#") and "=" in line:
            key, _, value = line.partition("=")
            versions[key.strip()] = value.strip()
    return versions


@dataclass(frozen=True)
class AckRelease:
    version: str
    source: str  # a human-readable description of where the files came from
    crd_files: tuple[Path, ...]
    rbac_dir: Path

    def crd(self, plural: str) -> Path:
        """The CRD file of one sagemaker kind, by its plural (e.g. 'trainingjobs')."""
        for path in self.crd_files:
            if path.name == f"sagemaker.services.k8s.aws_{plural}.yaml":
                return path
        raise KeyError(plural)


def crds_checksum(files: tuple[Path, ...]) -> str:
    digest = hashlib.sha256()
    for path in sorted(files, key=lambda p: p.name):
        digest.update(path.name.encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _from_module_tree(root: Path) -> tuple[tuple[Path, ...], Path] | None:
    bases = root / "config" / "crd" / "bases"
    if not bases.is_dir():
        return None
    files = sorted(bases.glob("*.yaml")) + sorted((root / "config" / "crd" / "common" / "bases").glob("*.yaml"))
    return tuple(files), root / "config" / "rbac"


def _from_bundle_dir(root: Path) -> tuple[tuple[Path, ...], Path] | None:
    if not (root / "crds").is_dir():
        return None
    return tuple(sorted((root / "crds").glob("*.yaml"))), root / "rbac"


def _go_module_dir(module: str, version: str) -> tuple[Path | None, str]:
    try:
        proc = subprocess.run(
            ["go", "mod", "download", "-json", f"{module}@{version}"],
            capture_output=True, text=True, timeout=300, check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"go mod download failed: {exc}"
    try:
        info = json.loads(proc.stdout or "{}")
    except json.JSONDecodeError:
        info = {}
    if info.get("Dir"):
        return Path(info["Dir"]), ""
    return None, (info.get("Error") or proc.stderr or "no output").strip()


@cache
def locate() -> AckRelease:
    """Find the pinned release's files: the Go module first, then ACK_SAGEMAKER_BUNDLE_DIR."""
    versions = pinned_versions()
    module = versions["ACK_SAGEMAKER_CONTROLLER_MODULE"]
    version = versions["ACK_SAGEMAKER_CONTROLLER_VERSION"]
    expected = versions["ACK_SAGEMAKER_CRDS_SHA256"]

    tried: list[str] = []
    candidates: list[tuple[str, Path]] = []
    module_dir, error = _go_module_dir(module, version)
    if module_dir:
        candidates.append((f"Go module {module}@{version}", module_dir))
    else:
        tried.append(f"Go module {module}@{version}: {error}")
    override = os.environ.get("ACK_SAGEMAKER_BUNDLE_DIR")
    if override:
        candidates.append((f"ACK_SAGEMAKER_BUNDLE_DIR={override}", Path(override)))
    elif SHARED_BUNDLE.is_dir():
        candidates.append((f"the maintainers' bundle at {SHARED_BUNDLE}", SHARED_BUNDLE))

    for description, root in candidates:
        found = _from_module_tree(root) or _from_bundle_dir(root)
        if not found:
            tried.append(f"{description}: no config/crd/bases or crds/ folder")
            continue
        files, rbac_dir = found
        actual = crds_checksum(files)
        if actual != expected:
            tried.append(f"{description}: CRDs hash to {actual}, expected {expected} (not release {version})")
            continue
        return AckRelease(version=version, source=description, crd_files=files, rbac_dir=rbac_dir)
    raise ReleaseNotFound(
        f"cannot find the CRDs of ACK sagemaker-controller {version}. Tried:\n  - "
        + "\n  - ".join(tried)
        + "\nSet ACK_SAGEMAKER_BUNDLE_DIR to a checkout or bundle of that release."
    )
