"""The arguments that tell a step which KFP run and task it belongs to.

The runtime derives the deterministic SageMaker name (and the custom resource's labels)
from them, so a retried step finds the resource its first attempt created. They are
KFP/Argo placeholders that the orchestrator substitutes when the pod starts. Every
generated component gets exactly this list, in this order, after its inputs; change it
here and run `make generate`.
"""

from __future__ import annotations

from typing import Final

# `{{workflow.uid}}` becomes the KFP run ID in both KFP 1.8 and 2.x (the KFP API server replaces
# it); the task is read at run time from the pod's Argo node-name annotation (see
# sagemaker_ack_kfp.identity), because no placeholder names a task stably across retries.
IDENTITY_ARGS: Final[tuple[str, ...]] = (
    "--kfp-run-id",
    "{{workflow.uid}}",
)
