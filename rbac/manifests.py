"""The Role and RoleBinding a pipeline's service account needs, rendered in one place.

The setup CLI applies these objects, `--dry-run` prints them, and the static files beside this
module (role.yaml, rolebinding.yaml, for `kubectl apply -k rbac/ -n <ns>`) are the same objects
without a namespace; a test keeps them equal. The kinds come from the generated components
(components/<Kind>/kind.json), so the Role covers exactly the kinds that have a component.

Each kind gets only the verbs its component uses, read from the runtime's own per-kind rules
(common/overlays), so the Role follows the code (see rbac/README.md):
  create, get, watch  every kind: create the resource; read it (before watching, after a 410,
          on reattach after a 409); watch that one object (fieldSelector metadata.name=<name>),
          which the API server authorizes with `watch` alone, so `list` is not granted
  patch   kinds updated in place when the spec changes (on_conflict="update": Endpoint,
          MonitoringSchedule)
  delete  kinds whose resource a cancelled or timed-out step deletes (stop_on_cancel: the jobs;
          delete_on_cancel_switch: Endpoint, when the user asks)
  pods/get  in a KFP pod, the step reads its own pod to learn its task (identity.py)
"""

from __future__ import annotations

from typing import Any

import yaml

from sagemaker_ack_kfp.kinds import known_kinds, load_kind
from sagemaker_ack_kfp.overlays import rules_for

ROLE_NAME = "sagemaker-ack-kfp"
BINDING_NAME = "manage-sagemaker-cr"
BASE_VERBS = ("create", "get", "watch")
POD_VERBS = ("get",)
# Standalone KFP runs pipelines as pipeline-runner in kubeflow; a multi-user profile namespace
# runs them as default-editor.
STANDALONE_NAMESPACE = "kubeflow"
STANDALONE_SERVICE_ACCOUNT = "pipeline-runner"
PROFILE_SERVICE_ACCOUNT = "default-editor"
LABELS = {"app.kubernetes.io/name": "sagemaker-ack-kfp", "app.kubernetes.io/component": "rbac"}


def default_service_account(namespace: str) -> str:
    return STANDALONE_SERVICE_ACCOUNT if namespace == STANDALONE_NAMESPACE else PROFILE_SERVICE_ACCOUNT


def managed_kinds() -> tuple[tuple[str, str, str], ...]:
    """(group, version, plural) of every kind with a component, sorted."""
    infos = [load_kind(kind) for kind in known_kinds()]
    return tuple(sorted((info.group, info.version, info.plural) for info in infos))


def verbs_for(kind: str) -> tuple[str, ...]:
    """The verbs the runtime uses on one kind, sorted."""
    rules = rules_for(kind)
    verbs = set(BASE_VERBS)
    if rules.on_conflict == "update":
        verbs.add("patch")
    if rules.stop_on_cancel or rules.delete_on_cancel_switch:
        verbs.add("delete")
    return tuple(sorted(verbs))


def _metadata(name: str, namespace: str | None) -> dict[str, Any]:
    metadata: dict[str, Any] = {"name": name}
    if namespace:
        metadata["namespace"] = namespace
    metadata["labels"] = dict(LABELS)
    return metadata


def role_rules() -> list[dict[str, Any]]:
    """One rule per group and verb set (most verbs first), then pods/get."""
    plurals: dict[tuple[str, tuple[str, ...]], set[str]] = {}
    for kind in known_kinds():
        info = load_kind(kind)
        plurals.setdefault((info.group, verbs_for(kind)), set()).add(info.plural)
    order = sorted(plurals, key=lambda key: (key[0], -len(key[1]), key[1]))
    rules = [{"apiGroups": [group], "resources": sorted(plurals[group, verbs]), "verbs": list(verbs)} for group, verbs in order]
    rules.append({"apiGroups": [""], "resources": ["pods"], "verbs": list(POD_VERBS)})
    return rules


def role(namespace: str | None) -> dict[str, Any]:
    """The Role; namespace None renders the namespace-less static form."""
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": _metadata(ROLE_NAME, namespace),
        "rules": role_rules(),
    }


def subject(service_account: str, namespace: str | None) -> dict[str, Any]:
    # Without a namespace, a ServiceAccount subject of a RoleBinding means the binding's own
    # namespace: that is what lets the static file be applied with `-n <ns>`.
    entry: dict[str, Any] = {"kind": "ServiceAccount", "name": service_account}
    if namespace:
        entry["namespace"] = namespace
    return entry


def role_binding(namespace: str | None, service_account: str) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": _metadata(BINDING_NAME, namespace),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": ROLE_NAME},
        "subjects": [subject(service_account, namespace)],
    }


def to_yaml(objects: list[dict[str, Any]]) -> str:
    return yaml.safe_dump_all(objects, sort_keys=False, explicit_start=True, width=120)


_STATIC_HEADER = """\
# Generated from rbac/manifests.py (a test keeps it equal); do not edit by hand.
# Apply with: kubectl apply -k rbac/ -n <namespace>   (or use rbac/setup.sh)
"""
_KUSTOMIZATION = {
    "apiVersion": "kustomize.config.k8s.io/v1beta1",
    "kind": "Kustomization",
    "resources": ["role.yaml", "rolebinding.yaml"],
}


def static_files() -> dict[str, str]:
    """The text of rbac/role.yaml, rbac/rolebinding.yaml and rbac/kustomization.yaml.

    No namespace: `kubectl apply -k rbac/ -n <ns>` puts both objects in <ns>, and the subject
    (default-editor; edit it for another service account) is taken from the binding's namespace.
    """
    return {
        "role.yaml": _STATIC_HEADER + to_yaml([role(None)]),
        "rolebinding.yaml": _STATIC_HEADER + to_yaml([role_binding(None, PROFILE_SERVICE_ACCOUNT)]),
        "kustomization.yaml": _STATIC_HEADER + yaml.safe_dump(_KUSTOMIZATION, sort_keys=False),
    }


def write_static(directory: str) -> None:
    """Regenerate the static files (python -c 'from sagemaker_ack_kfp.rbac.manifests import write_static; write_static("rbac")')."""
    from pathlib import Path

    for name, text in static_files().items():
        (Path(directory) / name).write_text(text)
