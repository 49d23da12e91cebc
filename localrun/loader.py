"""Read a compiled pipeline file and recognise which SDK wrote it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from sagemaker_ack_kfp.localrun import argo, ir
from sagemaker_ack_kfp.localrun.plan import PipelineError, Plan


def load_document(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except OSError as exc:
        raise PipelineError(f"cannot read {path}: {exc.strerror}") from None
    try:
        # KFP 2.x may append a second YAML document (platform config); the pipeline is the first.
        docs = [doc for doc in yaml.safe_load_all(text) if doc is not None]
    except yaml.YAMLError:
        try:
            docs = [json.loads(text)]
        except json.JSONDecodeError:
            raise PipelineError(f"{path} is neither YAML nor JSON") from None
    if not docs or not isinstance(docs[0], dict):
        raise PipelineError(f"{path} holds no pipeline")
    return docs[0]


def load_plan(path: Path) -> tuple[Plan, list[str]]:
    doc = load_document(path)
    if argo.is_argo_workflow(doc):
        return argo.load(doc)
    if ir.is_ir(doc):
        return ir.load(doc)
    raise PipelineError(
        f"{path} is not a compiled KFP pipeline: expected an Argo Workflow (KFP SDK 1.8) or a pipeline IR with "
        "'root' and 'deploymentSpec' (KFP SDK 2.x)"
    )
