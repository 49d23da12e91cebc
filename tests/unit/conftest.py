"""Shared fixtures: the pinned ACK release and the generator inputs of this checkout."""

from __future__ import annotations

import pytest

from sagemaker_ack_kfp.codegen.ack_release import AckRelease, ReleaseNotFound, locate
from sagemaker_ack_kfp.codegen.config import CONFIG_FILE, GeneratorConfig, load_config
from sagemaker_ack_kfp.codegen.overlays import KINDS_DIR, Overlay, load_overlays


@pytest.fixture(scope="session")
def ack_release() -> AckRelease:
    try:
        return locate()
    except ReleaseNotFound as exc:  # a missing dependency is a failure, not a skip
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def generator_config() -> GeneratorConfig:
    return load_config(CONFIG_FILE)


@pytest.fixture(scope="session")
def overlays() -> tuple[Overlay, ...]:
    return load_overlays(KINDS_DIR)
