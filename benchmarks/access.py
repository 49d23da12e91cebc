"""The benchmark's namespace and one service account per step, as a KFP step pod would have:
every account is bound to the project's own Role (rbac/, what `rbac/setup.sh` grants a
pipeline), and because every step has its own account, the audit log attributes each API
request to exactly one step."""

from __future__ import annotations

import uuid
from pathlib import Path

import yaml
from kubernetes import client

from sagemaker_ack_kfp.rbac.manifests import ROLE_NAME, role_rules


def create_namespace(api_client: client.ApiClient, prefix: str = "bench") -> str:
    """A fresh namespace whose service accounts all hold the project's Role."""
    name = f"{prefix}-{uuid.uuid4().hex[:6]}"
    client.CoreV1Api(api_client).create_namespace({"metadata": {"name": name}})
    rbac = client.RbacAuthorizationV1Api(api_client)
    rbac.create_namespaced_role(
        name,
        {"metadata": {"name": ROLE_NAME}, "rules": role_rules()},
    )
    rbac.create_namespaced_role_binding(
        name,
        {
            "metadata": {"name": ROLE_NAME},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": ROLE_NAME},
            "subjects": [
                {"kind": "Group", "apiGroup": "rbac.authorization.k8s.io", "name": f"system:serviceaccounts:{name}"}
            ],
        },
    )
    return name


def step_kubeconfig(
    api_client: client.ApiClient, *, admin_kubeconfig: Path, namespace: str, account: str, path: Path
) -> str:
    """Create service account `account`, write a kubeconfig with a token for it (mode 0600,
    default namespace = `namespace`), and return the username the audit log records."""
    core = client.CoreV1Api(api_client)
    core.create_namespaced_service_account(namespace, {"metadata": {"name": account}})
    token = core.create_namespaced_service_account_token(
        account, namespace, {"spec": {"expirationSeconds": 7200}}
    ).status.token
    admin = yaml.safe_load(admin_kubeconfig.read_text())
    cluster = admin["clusters"][0]
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [cluster],
        "users": [{"name": account, "user": {"token": token}}],
        "contexts": [{"name": account, "context": {"cluster": cluster["name"], "user": account, "namespace": namespace}}],
        "current-context": account,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return f"system:serviceaccount:{namespace}:{account}"
