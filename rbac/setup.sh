#!/usr/bin/env bash
# Grant a pipeline's service account exactly what the SageMaker components need (see rbac/README.md).
#   rbac/setup.sh --namespace <ns> [--namespace <ns2>] [--service-account <sa>] [--dry-run]
#                 [--kubeconfig <file>] [--context <name>]
# A thin wrapper: the work is done by `python -m sagemaker_ack_kfp.rbac`, run with the project's
# Python (its .venv, else $PYTHON, else a python3 that has the package installed).
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
for candidate in "${PYTHON:-}" "$repo/.venv/bin/python" python3; do
  if [ -n "$candidate" ] && command -v "$candidate" >/dev/null 2>&1 \
      && "$candidate" -c 'import sagemaker_ack_kfp.rbac' >/dev/null 2>&1; then
    exec "$candidate" -m sagemaker_ack_kfp.rbac "$@"
  fi
done
echo "error: no Python with sagemaker-ack-kfp installed; run 'make venv' in $repo (or pip install it and set PYTHON)" >&2
exit 1
