#!/usr/bin/env bash
# Creates the two KFP SDK virtualenvs the component-compatibility test loads our
# generated component.yaml files with: the last KFP v1 SDK users still run (1.8.22)
# and the KFP 2.x SDK verified here. They live in a cache outside the repository and
# are rebuilt only when their pinned requirements change (a stamp file records them).
#
# Usage: hack/kfp-venvs.sh            # create or reuse both, print "<name>=<python path>"
#        hack/kfp-venvs.sh kfp-2      # only the named one(s)
# Env:   SAGEMAKER_ACK_KFP_CACHE      cache root (default ~/.cache/sagemaker-ack-kfp)
#        PYTHON                       interpreter to base the venvs on (default python3, must be 3.11+)
set -euo pipefail

CACHE_ROOT="${SAGEMAKER_ACK_KFP_CACHE:-$HOME/.cache/sagemaker-ack-kfp}"
VENVS_DIR="$CACHE_ROOT/venvs"
PYTHON="${PYTHON:-python3}"

# kfp 1.8.22 installs on Python 3.11 with no extra pins (verified); it caps protobuf (<4)
# and kubernetes (<26) itself, and those two are pinned to what its resolve picks so the
# venv stays the same when newer patch releases appear.
KFP1_REQUIREMENTS=(
  "kfp==1.8.22"
  "protobuf==3.20.3"
  "kubernetes==25.3.0"
)
# The newest KFP 2.x release this project was verified with.
KFP2_REQUIREMENTS=(
  "kfp==2.17.3"
)

requirements_for() {
  case "$1" in
    kfp-1.8.22) printf '%s\n' "${KFP1_REQUIREMENTS[@]}" ;;
    kfp-2) printf '%s\n' "${KFP2_REQUIREMENTS[@]}" ;;
    *) echo "unknown venv '$1' (known: kfp-1.8.22 kfp-2)" >&2; return 1 ;;
  esac
}

ensure_venv() {
  local name="$1" dir="$VENVS_DIR/$1" wanted stamp
  wanted="$(requirements_for "$name"; "$PYTHON" -c 'import sys; print(sys.version.split()[0])')"
  stamp="$dir/.requirements-stamp"
  if [[ -x "$dir/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$wanted" ]]; then
    return 0
  fi
  echo "creating $dir" >&2
  rm -rf "$dir"
  mkdir -p "$VENVS_DIR"
  "$PYTHON" -m venv "$dir"
  local -a reqs
  mapfile -t reqs < <(requirements_for "$name")
  "$dir/bin/python" -m pip install --quiet --disable-pip-version-check "${reqs[@]}" >&2
  # Prove the SDK imports before declaring the venv good.
  "$dir/bin/python" -c 'import kfp, kfp.components, kfp.compiler; print("kfp", kfp.__version__)' >&2
  printf '%s' "$wanted" >"$stamp"
}

main() {
  local -a names=("$@")
  if [[ ${#names[@]} -eq 0 ]]; then
    names=(kfp-1.8.22 kfp-2)
  fi
  for name in "${names[@]}"; do
    requirements_for "$name" >/dev/null
    ensure_venv "$name"
  done
  for name in "${names[@]}"; do
    echo "$name=$VENVS_DIR/$name/bin/python"
  done
}

main "$@"
