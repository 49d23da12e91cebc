"""Generating the components/ tree, writing it, and checking a checked-in tree against it.

`generate` is pure: from the ACK release, the config and the overlays it returns every file
as {path relative to components/: text}. Writing and drift checking work on that mapping,
so `--check` compares exactly what `make generate` would write.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .ack_release import AckRelease, crds_checksum, pinned_versions
from .config import GeneratorConfig
from .crds import read_crd
from .model import ComponentModel, build_model
from .overlays import Overlay
from .rendering import (
    Provenance,
    kind_document,
    render_component_yaml,
    render_index_readme,
    render_json,
    render_kind_readme,
    render_metadata,
)
from .templating import GENERATED_MARKER, TEMPLATES_DIR
from .upstream import check_table

REPO_ROOT = Path(__file__).resolve().parent.parent
COMPONENTS_DIR = REPO_ROOT / "components"
GENERATOR_NAME = "sagemaker-ack-kfp codegen"
# The files each kind's folder holds; nothing else is generated there.
KIND_FILES = ("component.yaml", "kind.json", "README.md")
INDEX_FILES = ("README.md", "generation-metadata.yaml")
# Hand-written files that live in components/ but are not generated.
_NOT_MANAGED = frozenset({"__init__.py"})


def _display_path(path: Path) -> str:
    try:
        return path.resolve().relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return path.name


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def build_models(
    release: AckRelease, overlays: Sequence[Overlay], config: GeneratorConfig | None = None
) -> tuple[ComponentModel, ...]:
    upstream = dict(config.upstream) if config else {}
    if config:
        check_table(upstream, {o.kind for o in overlays}, where="codegen/config.yaml")
    return tuple(build_model(read_crd(release.crd(o.plural)), o, upstream.get(o.kind)) for o in overlays)


def _metadata(
    release: AckRelease,
    config: GeneratorConfig,
    *,
    config_path: Path,
    overlays: Sequence[Overlay],
    templates_dir: Path,
) -> dict[str, object]:
    sources = [config_path, *(o.path for o in overlays), *sorted(templates_dir.glob("*.tmpl"))]
    return {
        "generator": {"name": GENERATOR_NAME, "version": config.tag},
        "ack": {
            "controller": pinned_versions()["ACK_SAGEMAKER_CONTROLLER_MODULE"],
            "version": release.version,
            "crdsSha256": crds_checksum(release.crd_files),
        },
        "image": config.image_ref,
        "kinds": [o.kind for o in overlays],
        "inputs": {_display_path(path): _sha256(path) for path in sources},
    }


def generate(
    *,
    release: AckRelease,
    config: GeneratorConfig,
    config_path: Path,
    overlays: Sequence[Overlay],
    templates_dir: Path = TEMPLATES_DIR,
) -> dict[str, str]:
    """Every generated file: {posix path relative to components/: text}."""
    models = build_models(release, overlays, config)
    files: dict[str, str] = {}
    for model in models:
        provenance = Provenance(
            ack_version=release.version,
            crd_file=model.crd.path.name,
            overlay_file=_display_path(model.overlay.path),
        )
        files[f"{model.kind}/component.yaml"] = render_component_yaml(model, config, provenance)
        files[f"{model.kind}/kind.json"] = render_json(kind_document(model))
        files[f"{model.kind}/README.md"] = render_kind_readme(model, config, provenance)
    files["README.md"] = render_index_readme(models, config, ack_version=release.version)
    files["generation-metadata.yaml"] = render_metadata(
        _metadata(release, config, config_path=config_path, overlays=overlays, templates_dir=templates_dir)
    )
    return files


def existing_files(root: Path) -> set[str]:
    """Files under a components/ tree that the generator manages (all but __init__.py and caches)."""
    found: set[str] = set()
    if not root.is_dir():
        return found
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
        for name in filenames:
            relative = (Path(dirpath) / name).relative_to(root).as_posix()
            if relative not in _NOT_MANAGED:
                found.add(relative)
    return found


@dataclass(frozen=True)
class Drift:
    differing: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    extra: list[str] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.differing or self.missing or self.extra)

    def report(self, root: str) -> str:
        lines = [f"{root} is not what codegen generates; run `make generate`:"]
        lines += [f"  differs: {p}" for p in self.differing]
        lines += [f"  missing: {p}" for p in self.missing]
        lines += [f"  extra:   {p}" for p in self.extra]
        return "\n".join(lines)


def compare(files: Mapping[str, str], root: Path) -> Drift:
    """How the tree at `root` differs from `files` (byte for byte, after UTF-8 encoding)."""
    present = existing_files(root)
    differing = sorted(p for p in files if p in present and (root / p).read_bytes() != files[p].encode("utf-8"))
    return Drift(
        differing=differing,
        missing=sorted(set(files) - present),
        extra=sorted(present - set(files)),
    )


def _is_generated(path: Path) -> bool:
    with path.open("rb") as handle:
        return GENERATED_MARKER.encode() in handle.read(512)


def write(files: Mapping[str, str], root: Path) -> list[str]:
    """Write `files` under `root` (only those that changed) and delete generated files no
    longer produced (e.g. of a removed kind). Returns the extra files that were kept because
    they do not carry the generated-code marker (hand-written: the caller should report)."""
    for relative, text in sorted(files.items()):
        target = root / relative
        data = text.encode("utf-8")
        if target.is_file() and target.read_bytes() == data:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        _atomic_write(target, data)
    kept: list[str] = []
    for relative in sorted(existing_files(root) - set(files)):
        path = root / relative
        if _is_generated(path):
            path.unlink()
            _remove_empty_parents(path.parent, stop=root)
        else:
            kept.append(relative)
    return kept


def _atomic_write(target: Path, data: bytes) -> None:
    fd, temp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temp, 0o644)
        os.replace(temp, target)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _remove_empty_parents(directory: Path, *, stop: Path) -> None:
    while directory != stop and directory.is_dir() and not any(directory.iterdir()):
        directory.rmdir()
        directory = directory.parent
