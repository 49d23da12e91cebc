"""`--env-file`: variables every step of a run gets, whatever runs the step (a local process, or
a pod), in the format of `docker run --env-file`: one `NAME=VALUE` per line (the value taken
as written, up to the end of the line), `NAME` alone to pass that variable from the runner's
own environment, blank lines and `#` comments ignored. The local stack writes one for its
steps (`.stack/step.env`: fake AWS credentials and the simulator as CloudWatch Logs)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from sagemaker_ack_kfp.localrun.plan import PipelineError

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def read_env_file(path: Path, environ: Mapping[str, str]) -> dict[str, str]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PipelineError(f"--env-file {path}: cannot read it: {exc.strerror or exc}") from None
    values: dict[str, str] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, value = raw.lstrip().partition("=")
        if not _NAME.fullmatch(name):
            raise PipelineError(f"--env-file {path}, line {number}: expected NAME=VALUE with a variable name, got {name!r}")
        if sep:
            values[name] = value
        elif name in environ:
            values[name] = environ[name]
    return values
