"""What a fresh API server needs before the ACK controller can run: the release's CRDs
(waited on until Established), the controller's namespace, service account, ClusterRole and
binding from the release's own RBAC, and a TokenRequest token for that service account."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from sagemaker_ack_kfp.codegen.ack_release import AckRelease

# From the release's config/rbac: the controller's ClusterRole and its binding.
_CONTROLLER_RBAC_FILES = ("cluster-role-controller.yaml", "cluster-role-binding.yaml")


def _api(kubeconfig: Path) -> client.ApiClient:
    return config.new_client_from_config(config_file=str(kubeconfig))


def _documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def _create_or_keep(create: Any, *args: Any) -> None:
    try:
        create(*args)
    except ApiException as exc:
        if exc.status != 409:
            raise


def install_release(kubeconfig: Path, release: AckRelease, *, timeout: float = 60.0) -> None:
    api = _api(kubeconfig)
    extensions = client.ApiextensionsV1Api(api)
    names = []
    for path in release.crd_files:
        for crd in _documents(path):
            _create_or_keep(extensions.create_custom_resource_definition, crd)
            names.append(crd["metadata"]["name"])
    deadline = time.monotonic() + timeout
    pending = set(names)
    while pending and time.monotonic() < deadline:
        for name in sorted(pending):
            conditions = extensions.read_custom_resource_definition(name).status.conditions or []
            if any(c.type == "Established" and c.status == "True" for c in conditions):
                pending.discard(name)
        if pending:
            time.sleep(0.2)
    if pending:
        raise RuntimeError(f"CRDs not Established after {timeout:.0f}s: {sorted(pending)}")


def controller_token(
    kubeconfig: Path, release: AckRelease, *, namespace: str, name: str, hours: int = 48
) -> str:
    """Create the controller's service account and RBAC, and return a bound token for it."""
    api = _api(kubeconfig)
    core = client.CoreV1Api(api)
    rbac = client.RbacAuthorizationV1Api(api)
    _create_or_keep(core.create_namespace, {"metadata": {"name": namespace}})
    _create_or_keep(core.create_namespaced_service_account, namespace, {"metadata": {"name": name}})
    for file_name in _CONTROLLER_RBAC_FILES:
        for doc in _documents(release.rbac_dir / file_name):
            if doc["kind"] == "ClusterRole":
                _create_or_keep(rbac.create_cluster_role, doc)
            elif doc["kind"] == "ClusterRoleBinding":
                for subject in doc.get("subjects", []):
                    subject["namespace"] = namespace
                    subject["name"] = name
                _create_or_keep(rbac.create_cluster_role_binding, doc)
    request = {"spec": {"audiences": [], "expirationSeconds": hours * 3600}}
    result = core.create_namespaced_service_account_token(name, namespace, request)
    return str(result.status.token)
