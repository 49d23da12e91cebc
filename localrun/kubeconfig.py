"""The namespace a local run's steps work in.

In KFP a step creates its custom resource in the namespace its pod runs in. Locally, the steps
learn it the same way a component outside a pod does: from the kubeconfig's current context. So
`--namespace` hands every step a private copy of $KUBECONFIG whose current context names it.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from sagemaker_ack_kfp.localrun.plan import PipelineError

_PATH_KEYS = {
    "clusters": ("cluster", ("certificate-authority",)),
    "users": ("user", ("client-certificate", "client-key", "tokenFile")),
}


def source_kubeconfig() -> Path:
    raw = os.environ.get("KUBECONFIG", "")
    paths = [p for p in raw.split(os.pathsep) if p]
    if len(paths) > 1:
        raise PipelineError("KUBECONFIG lists several files; point it at one to use --namespace")
    return Path(paths[0]) if paths else Path.home() / ".kube" / "config"


def _read(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise PipelineError(f"cannot read kubeconfig {path}: {exc.strerror}") from None
    if not isinstance(data, dict):
        raise PipelineError(f"{path} is not a kubeconfig")
    return data


def _current_context(data: dict[str, Any], path: Path) -> dict[str, Any]:
    name = data.get("current-context")
    for entry in data.get("contexts") or []:
        if entry.get("name") == name:
            context = entry.setdefault("context", {})
            assert isinstance(context, dict)
            return context
    raise PipelineError(f"kubeconfig {path} has no current context")


def current_namespace() -> str:
    path = source_kubeconfig()
    if not path.exists():
        return "default"
    try:
        return str(_current_context(_read(path), path).get("namespace") or "default")
    except PipelineError:
        return "default"


def with_namespace(namespace: str, *, target_dir: Path) -> Path:
    """A copy of the kubeconfig (readable by its owner only) whose current context is in namespace."""
    source = source_kubeconfig()
    data = _read(source)
    _current_context(data, source)["namespace"] = namespace
    # Relative file references are relative to the original file's folder.
    for section, (inner, keys) in _PATH_KEYS.items():
        for entry in data.get(section) or []:
            body = entry.get(inner) or {}
            for key in keys:
                if isinstance(body.get(key), str) and not os.path.isabs(body[key]):
                    body[key] = str((source.parent / body[key]).resolve())
    target = target_dir / "kubeconfig"
    fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        yaml.safe_dump(data, handle)
    return target
