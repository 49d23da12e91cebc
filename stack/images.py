"""The images the local node runs, built on this machine without any registry:

  pause       the pod sandbox: the static pause binary that hack/build-binaries.sh compiles from
              the k8s.io/kubernetes module's build/pause/linux/pause.c, alone in an image;
  base        Debian bookworm (`debootstrap --variant=minbase`) with python3 from Debian's
              packages: the local stand-in for the public python:3.11 image;
  components  the project's Dockerfile built on that base (`podman build --pull=never
              --build-arg BASE_IMAGE=...`), named exactly as components/*/component.yaml names it.

Each is keyed by its inputs (the base by suite, packages and this recipe's code; the components
image by the build context, the Dockerfile and the base; pause by its binary), so a second build
reuses everything and a changed project file rebuilds only the components image. pause and
components are kept as docker-archive tarballs in $CACHE/images, which the stack imports into its
containerd; podman's own storage (for the base and the builds) is $CACHE/podman.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from sagemaker_ack_kfp.codegen.ack_release import REPO_ROOT, pinned_versions
from sagemaker_ack_kfp.stack.build_context import context_digest
from sagemaker_ack_kfp.stack.layout import cache_dir

BASE_SUITE = "bookworm"
# python3-venv: the Dockerfile installs into a virtualenv (Debian's own pip refuses system
# installs, PEP 668); ca-certificates: pip reaches PyPI over TLS; passwd: useradd.
BASE_PACKAGES = ("python3", "python3-venv", "ca-certificates", "passwd")
IMAGE_PREFIX = "localhost/sagemaker-ack-kfp"
DEFAULT_MIRROR = "http://deb.debian.org/debian"
_KEEP_ARCHIVES = 2  # per image, the newest ones; older project builds are removed


class ImageBuildError(RuntimeError):
    """A build step failed; the message names it and the log to read."""


@dataclass(frozen=True)
class ImageArchive:
    """A docker-archive tarball the stack imports into containerd under `name`."""

    name: str
    key: str
    path: Path

    @property
    def ready(self) -> bool:
        return self.path.is_file()


def _say(message: str) -> None:
    print(f"[images {time.strftime('%H:%M:%S')}] {message}", flush=True)


def images_dir() -> Path:
    return cache_dir() / "images"


def _key(*parts: object) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def component_image_name() -> str:
    """The image the generated components reference (codegen/config.yaml + the project version)."""
    image = yaml.safe_load((REPO_ROOT / "codegen" / "config.yaml").read_text())["image"]
    version = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]["version"]
    return f"{image}:{version}"


def pause_binary() -> Path:
    return cache_dir() / f"kubernetes-{pinned_versions()['KUBERNETES_VERSION']}" / "bin" / "pause"


# ----- podman ----------------------------------------------------------------------------------
def podman(*args: str) -> list[str]:
    """podman with storage of its own in the cache (never the machine's /var/lib/containers), no
    systemd (cgroupfs, events to a file), no mount left behind."""
    root = cache_dir() / "podman"
    return [
        "podman",
        "--root", str(root / "storage"),
        "--runroot", "/run/sagemaker-ack-kfp/podman",
        "--tmpdir", "/run/sagemaker-ack-kfp/podman-tmp",
        "--network-config-dir", str(root / "networks"),
        "--cgroup-manager", "cgroupfs",
        "--events-backend", "file",
        # containers/storage would otherwise leave its folder bind-mounted on itself.
        "--storage-opt", "overlay.skip_mount_home=true",
        *args,
    ]


def _podman_has(name: str) -> bool:
    return subprocess.run(podman("image", "exists", name), capture_output=True).returncode == 0


def _run_logged(argv: Sequence[str], *, log: Path, what: str, cwd: Path | None = None, stdin: Path | None = None) -> None:
    """Run a long step with its output in log, a heartbeat every 30 s; raise with the log's tail."""
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with log.open("w") as out, (stdin.open("rb") if stdin else open(os.devnull, "rb")) as source:
        process = subprocess.Popen(list(argv), stdin=source, stdout=out, stderr=subprocess.STDOUT, cwd=cwd)
        while process.poll() is None:
            time.sleep(1)
            elapsed = int(time.monotonic() - started)
            if elapsed and elapsed % 30 == 0:
                _say(f"  ... {what}: still running ({elapsed}s, log {log})")
    if process.returncode != 0:
        tail = "\n    ".join(log.read_text(errors="replace").splitlines()[-20:])
        raise ImageBuildError(f"{what} failed (exit code {process.returncode}); the end of {log}:\n    {tail}")


def _save(name: str, archive: Path) -> None:
    """podman save to a temp name, then one rename: a reader never sees half an archive."""
    archive.parent.mkdir(parents=True, exist_ok=True)
    tmp = archive.with_suffix(f".tmp{os.getpid()}")
    tmp.unlink(missing_ok=True)
    _run_logged(podman("save", "--format", "docker-archive", "-o", str(tmp), name),
                log=images_dir() / "logs" / f"save-{archive.stem}.log", what=f"podman save {name}")
    tmp.replace(archive)


def _prune(prefix: str, keep: Path) -> None:
    olds = sorted(images_dir().glob(f"{prefix}-*.tar"), key=lambda p: p.stat().st_mtime, reverse=True)
    for old in [p for p in olds if p != keep][_KEEP_ARCHIVES - 1:]:
        old.unlink(missing_ok=True)


# ----- pause -----------------------------------------------------------------------------------
def pause_image() -> ImageArchive:
    binary = pause_binary()
    key = _key("pause", hashlib.sha256(binary.read_bytes()).hexdigest() if binary.exists() else "missing")
    name = f"{IMAGE_PREFIX}/pause:{pinned_versions()['KUBERNETES_VERSION']}"
    return ImageArchive(name=name, key=key, path=images_dir() / f"pause-{key}.tar")


def build_pause() -> ImageArchive:
    image = pause_image()
    if image.ready:
        _say(f"pause: cached ({image.path.name})")
        return image
    binary = pause_binary()
    if not binary.exists():
        raise ImageBuildError(f"{binary} is not built; run hack/build-binaries.sh node")
    with tempfile.TemporaryDirectory(prefix="pause-image-", dir=images_dir()) as tmp:
        rootfs = Path(tmp) / "rootfs.tar"
        with tarfile.open(rootfs, "w") as tar:
            info = tar.gettarinfo(str(binary), arcname="pause")
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            info.mode = 0o755
            with binary.open("rb") as handle:
                tar.addfile(info, handle)
        _run_logged(
            podman("import", "--change", 'ENTRYPOINT ["/pause"]', "--change", "USER 65535:65535", str(rootfs), image.name),
            log=images_dir() / "logs" / "pause.log", what="podman import (pause)",
        )
    _save(image.name, image.path)
    _prune("pause", image.path)
    _say(f"pause: built {image.name} ({image.path})")
    return image


# ----- base: Debian + python3 ------------------------------------------------------------------
def debian_mirror() -> str:
    """The Debian archive this machine's apt uses (a fresh machine may point at a proxy)."""
    explicit = os.environ.get("SAGEMAKER_ACK_KFP_DEBIAN_MIRROR")
    if explicit:
        return explicit
    for source in [Path("/etc/apt/sources.list"), *sorted(Path("/etc/apt/sources.list.d").glob("*"))]:
        try:
            lines = source.read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            words = line.split()
            if source.suffix == ".sources" and words[:1] == ["URIs:"]:
                uris = [w for w in words[1:] if w.rstrip("/").endswith("/debian")]
            elif words[:1] == ["deb"]:
                uris = [w for w in words[1:] if w.startswith(("http://", "https://")) and w.rstrip("/").endswith("/debian")]
            else:
                continue
            if uris:
                return uris[0]
    return DEFAULT_MIRROR


def _debootstrap(target: Path, *, log: Path) -> None:
    """The recipe of the base image (its source is part of the cache key)."""
    argv = [
        "debootstrap", "--variant=minbase", f"--include={','.join(BASE_PACKAGES)}",
        BASE_SUITE, str(target), debian_mirror(),
    ]
    try:
        _run_logged(argv, log=log, what=f"debootstrap {BASE_SUITE}")
    finally:
        _unmount_below(target)
    # No package lists, downloaded packages or this machine's name servers in the image.
    for leftover in ("var/lib/apt/lists", "var/cache/apt/archives"):
        for path in (target / leftover).glob("*"):
            if path.is_file():
                path.unlink()
    for machine_file in ("etc/resolv.conf", "etc/hostname"):
        (target / machine_file).unlink(missing_ok=True)


def _unmount_below(root: Path) -> None:
    """debootstrap mounts /proc and /sys in the target; a failed run may leave them mounted."""
    mounts = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()]
    for point in sorted((m for m in mounts if m == str(root) or m.startswith(f"{root}/")), key=len, reverse=True):
        subprocess.run(["umount", "-l", point], check=False)


def base_image_name() -> str:
    recipe = inspect.getsource(_debootstrap)
    return f"{IMAGE_PREFIX}/debian-python:{BASE_SUITE}-{_key('base', BASE_SUITE, BASE_PACKAGES, recipe)}"


def build_base() -> str:
    name = base_image_name()
    if _podman_has(name):
        _say(f"base: cached ({name})")
        return name
    _say(f"base: building {name}: debootstrap --variant=minbase {BASE_SUITE} + {', '.join(BASE_PACKAGES)} "
         f"from {debian_mirror()} (first time: a few minutes)")
    logs = images_dir() / "logs"
    with tempfile.TemporaryDirectory(prefix="base-image-", dir=images_dir()) as tmp:
        target = Path(tmp) / "rootfs"
        _debootstrap(target, log=logs / "debootstrap.log")
        archive = Path(tmp) / "rootfs.tar"
        subprocess.run(["tar", "-C", str(target), "--numeric-owner", "-cf", str(archive), "."], check=True)
        _run_logged(
            podman("import", "--change", 'CMD ["python3"]', str(archive), name),
            log=logs / "base-import.log", what="podman import (base)",
        )
    # Bases of earlier recipes: nothing builds on them any more.
    listed = subprocess.run(podman("images", "--format", "{{.Repository}}:{{.Tag}}", "--filter",
                                   f"reference={name.rsplit(':', 1)[0]}"), capture_output=True, text=True, check=False)
    for old in set(listed.stdout.split()) - {name}:
        subprocess.run(podman("rmi", old), capture_output=True, check=False)
    _say(f"base: built {name}")
    return name


# ----- components: the project's Dockerfile ----------------------------------------------------
def components_image() -> ImageArchive:
    dockerfile = REPO_ROOT / "Dockerfile"
    key = _key("components", context_digest(REPO_ROOT, extra=(dockerfile,)), base_image_name())
    return ImageArchive(name=component_image_name(), key=key, path=images_dir() / f"components-{key}.tar")


def machine_ca_bundle() -> Path | None:
    """The CA bundle this machine's pip trusts (PIP_CERT, pip.conf, REQUESTS_CA_BUNDLE, SSL_CERT_FILE):
    where PyPI is reached through a TLS-inspecting proxy, the image's pip must trust it too."""
    candidates = [os.environ.get(name, "") for name in ("PIP_CERT", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")]
    for conf in (Path("/etc/pip.conf"), Path.home() / ".config" / "pip" / "pip.conf", Path.home() / ".pip" / "pip.conf"):
        try:
            for line in conf.read_text().splitlines():
                key, sep, value = line.partition("=")
                if sep and key.strip() == "cert":
                    candidates.append(value.strip())
        except OSError:
            continue
    return next((Path(c) for c in candidates if c and Path(c).is_file()), None)


def build_components(base: str) -> ImageArchive:
    image = components_image()
    if image.ready:
        _say(f"components: cached ({image.name}, {image.path.name})")
        return image
    version = image.name.rsplit(":", 1)[1]
    _say(f"components: building {image.name} from Dockerfile on {base} (pip reaches PyPI; about a minute)")
    # --network=host: the RUN steps' pip reaches PyPI through this machine's network, and
    # podman sets up no network of its own. The machine's CA bundle is mounted, not copied.
    trust: list[str] = []
    bundle = machine_ca_bundle()
    if bundle:
        trust = ["--volume", f"{bundle}:/run/build-ca-bundle.crt:ro", "--build-arg", "BUILD_CA_BUNDLE=/run/build-ca-bundle.crt"]
    _run_logged(
        # --no-cache: buildah's layer cache keys a RUN step by its text, not by what its
        # `--mount=type=bind,from=build` brings, so a changed wheel would reuse the old install.
        podman("build", "--pull=never", "--no-cache", "--network=host", *trust, "--build-arg", f"BASE_IMAGE={base}",
               "--build-arg", f"VERSION={version}", "-t", image.name, "-f", str(REPO_ROOT / "Dockerfile"), str(REPO_ROOT)),
        log=images_dir() / "logs" / "components-build.log", what="podman build (components)",
    )
    _save(image.name, image.path)
    _prune("components", image.path)
    subprocess.run(podman("image", "prune", "-f"), capture_output=True, check=False)  # the replaced build's layers
    _say(f"components: built {image.name} ({image.path})")
    return image


# ----- all ---------------------------------------------------------------------------------------
def node_images() -> list[ImageArchive]:
    """What the node imports, as the current inputs name them (nothing is built here)."""
    return [pause_image(), components_image()]


def build_all() -> list[ImageArchive]:
    images_dir().mkdir(parents=True, exist_ok=True)
    if shutil.which("podman") is None:
        raise ImageBuildError("podman is not installed; run hack/node-prereqs.sh")
    pause = build_pause()
    components = build_components(build_base())
    return [pause, components]
