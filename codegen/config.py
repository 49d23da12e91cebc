"""The generator's own settings (codegen/config.yaml) and the project version.

Only what cannot be derived from the CRDs lives in config.yaml: the container image name, and
which kinds replace an upstream v2 component (whose output names they also write, see
codegen/upstream.py). The image tag is the project version from pyproject.toml, so a release
that bumps the version regenerates every component.yaml with the matching image.
"""

from __future__ import annotations

import importlib.metadata
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .loading import ConfigError, check_keys, expect_str, read_yaml_mapping
from .upstream import UpstreamComponent, load_upstream_table

CODEGEN_DIR = Path(__file__).resolve().parent
CONFIG_FILE = CODEGEN_DIR / "config.yaml"
PYPROJECT_FILE = CODEGEN_DIR.parent / "pyproject.toml"
DISTRIBUTION = "sagemaker-ack-kfp"


@dataclass(frozen=True)
class GeneratorConfig:
    image: str  # repository, without a tag
    tag: str
    upstream: Mapping[str, UpstreamComponent] = field(default_factory=dict)  # by kind

    @property
    def image_ref(self) -> str:
        return f"{self.image}:{self.tag}"


def project_version(pyproject: Path = PYPROJECT_FILE) -> str:
    """`project.version` of pyproject.toml, or the installed distribution's version."""
    if pyproject.is_file():
        with pyproject.open("rb") as handle:
            return str(tomllib.load(handle)["project"]["version"])
    return importlib.metadata.version(DISTRIBUTION)


def load_config(path: Path = CONFIG_FILE, *, version: str | None = None) -> GeneratorConfig:
    data = read_yaml_mapping(path)
    check_keys(data, where=str(path), required={"image"}, optional={"upstream_v2"})
    image = expect_str(data, "image", where=str(path))
    if ":" in image.rsplit("/", 1)[-1] or "@" in image:
        raise ConfigError(f"{path}: 'image' must not carry a tag or digest (the tag is the project version)")
    upstream = load_upstream_table(data.get("upstream_v2"), where=f"{path}: upstream_v2")
    return GeneratorConfig(image=image, tag=version or project_version(), upstream=upstream)
