"""Apply the Role and RoleBinding to a cluster: check first, then create or update, and say what changed.

Checks come before any change, for every namespace: the ACK SageMaker CRDs must be served (a Role
for kinds the cluster does not know would hide the real problem until the first pipeline run), and
each namespace must exist. Updates are conservative: the Role's rules are reset to ours; the
RoleBinding keeps any service accounts already bound and gains ours, so granting a second pipeline
account never takes access away from the first.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import urllib3
from kubernetes import client, config
from kubernetes.client.rest import ApiException

from sagemaker_ack_kfp.rbac import manifests

CRDS_MISSING = "the ACK SageMaker controller's CRDs are not installed in this cluster; install the controller first"


class SetupError(Exception):
    """The setup refused or failed; the message says why and what to do."""


class SetupForbidden(SetupError):
    """The admin's credentials may not make this request."""


@dataclass(frozen=True)
class Change:
    namespace: str
    what: str  # e.g. "role/sagemaker-ack-kfp"
    outcome: str  # created, updated, replaced or unchanged
    detail: str = ""

    def line(self) -> str:
        tail = f" ({self.detail})" if self.detail else ""
        return f"namespace {self.namespace}: {self.what} {self.outcome}{tail}"


def connect(*, kubeconfig: str | None, context: str | None) -> client.ApiClient:
    """The admin's credentials: --kubeconfig/--context, else $KUBECONFIG or ~/.kube/config, else in-cluster."""
    try:
        return config.new_client_from_config(config_file=kubeconfig, context=context)
    except (config.ConfigException, OSError) as exc:
        if kubeconfig or context:
            raise SetupError(f"cannot use the kubeconfig: {exc}") from None
    try:
        config.load_incluster_config()
    except config.ConfigException:
        raise SetupError("no Kubernetes credentials: pass --kubeconfig, or set KUBECONFIG") from None
    return client.ApiClient()


def _message(exc: ApiException) -> str:
    try:
        return str(json.loads(exc.body or "{}").get("message") or exc.reason)
    except (ValueError, TypeError, AttributeError):
        return str(exc.reason)


def _call(what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """One request; API errors other than 404 become a SetupError that names the request."""
    try:
        return fn(*args, **kwargs)
    except ApiException as exc:
        if exc.status == 404:
            raise
        if exc.status == 403:
            raise SetupForbidden(f"permission denied to {what}: {_message(exc)} (run this as a cluster admin)") from None
        if exc.status == 401:
            raise SetupError(f"the API server rejected the credentials ({_message(exc)})") from None
        raise SetupError(f"{what} failed: HTTP {exc.status} {_message(exc)}") from None
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise SetupError(f"cannot reach the Kubernetes API server to {what}: {type(exc).__name__}") from None


# ----- checks -------------------------------------------------------------------------------


def missing_kinds(api: client.ApiClient) -> list[str]:
    """The managed kinds the API server does not serve (all of them when the group is unknown)."""
    custom = client.CustomObjectsApi(api)
    missing: list[str] = []
    by_group_version: dict[tuple[str, str], list[str]] = {}
    for group, version, plural in manifests.managed_kinds():
        by_group_version.setdefault((group, version), []).append(plural)
    for (group, version), plurals in sorted(by_group_version.items()):
        try:
            listing = _call(f"discover {group}/{version}", custom.get_api_resources, group, version)
            served = {resource.name for resource in listing.resources or []}
        except ApiException:  # 404: the group/version is unknown
            served = set()
        missing += [f"{plural}.{group}/{version}" for plural in plurals if plural not in served]
    return missing


def check(api: client.ApiClient, namespaces: list[str]) -> None:
    """Refuse before changing anything: CRDs missing, or a namespace that does not exist."""
    missing = missing_kinds(api)
    if missing:
        raise SetupError(f"{CRDS_MISSING} (the API server does not serve {', '.join(missing)})")
    core = client.CoreV1Api(api)
    for namespace in namespaces:
        try:
            _call(f"read namespace {namespace}", core.read_namespace, namespace)
        except ApiException:
            raise SetupError(
                f"namespace '{namespace}' does not exist; create it first (multi-user KFP creates it with "
                f"the profile), or pass the namespace your pipelines run in"
            ) from None
        except SetupForbidden:
            pass  # a namespace admin may not read namespaces; creating the Role will tell


def service_account_exists(api: client.ApiClient, namespace: str, name: str) -> bool | None:
    """None when the caller may not read service accounts."""
    try:
        _call("read the service account", client.CoreV1Api(api).read_namespaced_service_account, name, namespace)
    except ApiException:
        return False
    except SetupForbidden:
        return None
    return True


# ----- create or update ---------------------------------------------------------------------


def _labels_missing(existing: dict[str, Any]) -> bool:
    labels = (existing.get("metadata") or {}).get("labels") or {}
    return any(labels.get(key) != value for key, value in manifests.LABELS.items())


def _with_our_labels(existing: dict[str, Any]) -> dict[str, Any]:
    metadata = existing.setdefault("metadata", {})
    metadata["labels"] = {**(metadata.get("labels") or {}), **manifests.LABELS}
    return existing


def apply_role(api: client.ApiClient, namespace: str) -> Change:
    rbac = client.RbacAuthorizationV1Api(api)
    desired = manifests.role(namespace)
    what = f"role/{manifests.ROLE_NAME}"
    try:
        existing = api.sanitize_for_serialization(
            _call(f"read {what} in {namespace}", rbac.read_namespaced_role, manifests.ROLE_NAME, namespace)
        )
    except ApiException:
        _call(f"create {what} in {namespace}", rbac.create_namespaced_role, namespace, desired)
        return Change(namespace, what, "created")
    if existing.get("rules") == desired["rules"] and not _labels_missing(existing):
        return Change(namespace, what, "unchanged")
    detail = "rules reset to what the components need" if existing.get("rules") != desired["rules"] else "labels"
    existing = _with_our_labels(existing)
    existing["rules"] = desired["rules"]
    _call(f"update {what} in {namespace}", rbac.replace_namespaced_role, manifests.ROLE_NAME, namespace, existing)
    return Change(namespace, what, "updated", detail)


def _binds(subjects: list[dict[str, Any]], namespace: str, service_account: str) -> bool:
    return any(
        item.get("kind") == "ServiceAccount"
        and item.get("name") == service_account
        and (item.get("namespace") or namespace) == namespace
        for item in subjects
    )


def apply_binding(api: client.ApiClient, namespace: str, service_account: str) -> Change:
    rbac = client.RbacAuthorizationV1Api(api)
    desired = manifests.role_binding(namespace, service_account)
    what = f"rolebinding/{manifests.BINDING_NAME}"
    account = f"service account {service_account}"
    try:
        existing = api.sanitize_for_serialization(
            _call(f"read {what} in {namespace}", rbac.read_namespaced_role_binding, manifests.BINDING_NAME, namespace)
        )
    except ApiException:
        _call(f"create {what} in {namespace}", rbac.create_namespaced_role_binding, namespace, desired)
        return Change(namespace, what, "created", f"binds {account} to role {manifests.ROLE_NAME}")
    subjects = list(existing.get("subjects") or [])
    if existing.get("roleRef") != desired["roleRef"]:
        # roleRef cannot change in place: delete and create, keeping the subjects it had.
        keep = subjects if _binds(subjects, namespace, service_account) else [*subjects, *desired["subjects"]]
        _call(f"delete {what} in {namespace}", rbac.delete_namespaced_role_binding, manifests.BINDING_NAME, namespace)
        _call(f"create {what} in {namespace}", rbac.create_namespaced_role_binding, namespace, {**desired, "subjects": keep})
        old = existing.get("roleRef", {})
        return Change(namespace, what, "replaced", f"it referred to {old.get('kind')} {old.get('name')}; binds {account}")
    if _binds(subjects, namespace, service_account) and not _labels_missing(existing):
        return Change(namespace, what, "unchanged", f"binds {account}")
    added = not _binds(subjects, namespace, service_account)
    existing = _with_our_labels(existing)
    existing["subjects"] = [*subjects, *desired["subjects"]] if added else subjects
    _call(f"update {what} in {namespace}", rbac.replace_namespaced_role_binding, manifests.BINDING_NAME, namespace, existing)
    others = [s.get("name") for s in subjects]
    detail = f"added {account}" + (f"; also bound: {', '.join(map(str, others))}" if others else "") if added else "labels"
    return Change(namespace, what, "updated", detail)
