"""`python -m sagemaker_ack_kfp.rbac` (also `sagemaker-ack-kfp rbac`, and rbac/setup.sh):
grant a pipeline's service account exactly what the SageMaker components need, in each namespace.

Run it as a cluster admin, once per namespace where pipelines run. It is idempotent: a second run
reports "unchanged". --dry-run prints the YAML and contacts no cluster.
"""

from __future__ import annotations

import argparse
import re
import sys

from sagemaker_ack_kfp.rbac import granting, manifests

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_DNS_SUBDOMAIN = re.compile(r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sagemaker-ack-kfp rbac",
        description=(
            f"Create (or update) Role {manifests.ROLE_NAME} and RoleBinding {manifests.BINDING_NAME} in each "
            "namespace, so that the pipeline's service account can run the SageMaker components and do nothing else."
        ),
        epilog=(
            "Multi-user KFP: --namespace <profile namespace> (binds default-editor). "
            "Standalone KFP: --namespace kubeflow (binds pipeline-runner). See rbac/README.md."
        ),
    )
    parser.add_argument(
        "--namespace", "-n", action="append", required=True, dest="namespaces", metavar="NAMESPACE",
        help="namespace where pipelines run (repeat for several)",
    )
    parser.add_argument(
        "--service-account",
        help=(
            f"service account the pipeline's pods run as (default: {manifests.STANDALONE_SERVICE_ACCOUNT} in "
            f"{manifests.STANDALONE_NAMESPACE}, {manifests.PROFILE_SERVICE_ACCOUNT} elsewhere)"
        ),
    )
    parser.add_argument("--dry-run", action="store_true", help="print the YAML; contact no cluster")
    parser.add_argument("--kubeconfig", help="kubeconfig file (default: $KUBECONFIG, then ~/.kube/config)")
    parser.add_argument("--context", help="kubeconfig context to use")
    return parser


def _bad_names(namespaces: list[str], service_account: str | None) -> list[str]:
    problems = [f"'{ns}' is not a valid namespace name" for ns in namespaces if not _DNS_LABEL.match(ns)]
    if service_account is not None and not _DNS_SUBDOMAIN.match(service_account):
        problems.append(f"'{service_account}' is not a valid service account name")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    namespaces = list(dict.fromkeys(args.namespaces))  # keep order, drop repeats
    problems = _bad_names(namespaces, args.service_account)
    if problems:
        parser.error("; ".join(problems))
    accounts = {ns: args.service_account or manifests.default_service_account(ns) for ns in namespaces}

    if args.dry_run:
        objects = [obj for ns in namespaces for obj in (manifests.role(ns), manifests.role_binding(ns, accounts[ns]))]
        sys.stdout.write(manifests.to_yaml(objects))
        return 0

    try:
        api = granting.connect(kubeconfig=args.kubeconfig, context=args.context)
        granting.check(api, namespaces)
        for ns in namespaces:
            for change in (granting.apply_role(api, ns), granting.apply_binding(api, ns, accounts[ns])):
                print(change.line(), flush=True)
            if granting.service_account_exists(api, ns, accounts[ns]) is False:
                print(
                    f"namespace {ns}: note: service account {accounts[ns]} does not exist yet; "
                    "the binding applies as soon as it does",
                    flush=True,
                )
    except granting.SetupError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1
    first = namespaces[0]
    print(
        "check with: kubectl auth can-i create trainingjobs.sagemaker.services.k8s.aws "
        f"-n {first} --as=system:serviceaccount:{first}:{accounts[first]}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
