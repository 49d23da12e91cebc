"""The only place where the samples care which KFP SDK compiles them (1.8 or 2.x).

Everything else in a sample pipeline (loading components, passing dicts that hold pipeline
parameters and task outputs, `task.outputs[...]`) is written once and compiles with both SDKs.
What is not shared lives here, as small functions, so the pipelines never branch on the SDK.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kfp
from kfp import components

# samples/ sits next to components/ in the repository.
COMPONENTS_DIR = Path(__file__).resolve().parent.parent / "components"
# The samples' own data step (not an ACK kind, so not in the generated components/).
SAMPLE_DATA_COMPONENT = Path(__file__).resolve().parent / "components" / "sample_data" / "component.yaml"
SDK_MAJOR = int(kfp.__version__.split(".", 1)[0])


def component(kind: str) -> Any:
    """The generated component of one ACK kind, e.g. component("TrainingJob")."""
    return components.load_component_from_file(str(COMPONENTS_DIR / kind / "component.yaml"))


def sample_data() -> Any:
    """The data step: a small generated MNIST-like data set into s3://<bucket>/<prefix>/."""
    return components.load_component_from_file(str(SAMPLE_DATA_COMPONENT))


def never_cache(task: Any) -> Any:
    """Turn off KFP's step cache for a task.

    A cached step would hand back the outputs of an earlier run's SageMaker resource, which may
    have been stopped or deleted since; every sample step creates (or reattaches to) its own.
    """
    if SDK_MAJOR >= 2:
        task.set_caching_options(False)
    else:
        task.execution_options.caching_strategy.max_cache_staleness = "P0D"
    return task
