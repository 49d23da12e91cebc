#!/usr/bin/env bash
# Everything the local stack's node needs before `stack up` can start it, installed or built by
# the project itself, idempotently (a second run takes a few seconds):
#   1. Debian packages: containerd, runc, the CNI plugins, iptables, podman, debootstrap, gcc;
#   2. kubelet, kube-controller-manager, kube-scheduler, kube-proxy and pause (hack/build-binaries.sh node);
#   3. the images the node runs, built locally without any registry (hack/build-images.sh).
#
# Usage: hack/node-prereqs.sh [auto|1|0]     (the Makefile passes NODE; default auto)
#   auto  prepare the node where this machine can run one; elsewhere say why and exit 0
#   1     the node is required: exit 1 where it cannot run
#   0     do nothing
# Exit code: 0 ready (or skipped as asked), 1 something failed (named, with its log).
set -uo pipefail

mode="${1:-auto}"
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/.." && pwd)"
PY="${PY:-$repo/.venv/bin/python}"
PACKAGES=(containerd runc containernetworking-plugins iptables podman debootstrap gcc libc6-dev)

say() { printf '[node-prereqs %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

case "$mode" in
  0|off|no) exit 0 ;;
  1|on|yes) mode=required ;;
  auto|"") mode=auto ;;
  *) echo "usage: $0 [auto|1|0]" >&2; exit 2 ;;
esac

# The one judgement of "can this machine run a node" lives in the stack's Python code.
if ! reason="$("$PY" -m sagemaker_ack_kfp.stack node-support 2>&1)"; then
  if [ "$mode" = required ]; then say "NODE=1 but this machine cannot run the node: $reason"; exit 1; fi
  say "skipping the node: $reason (the stack runs without it; NODE=0 silences this)"
  exit 0
fi

missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  log="$(mktemp -t node-apt.XXXXXX.log)"
  if ! { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
    say "apt-get install FAILED, the end of $log:"; tail -n 20 "$log"; exit 1
  fi
  rm -f "$log"
  say "installed ${missing[*]}"
fi

"$here/build-binaries.sh" node || exit 1
"$PY" -m sagemaker_ack_kfp.stack images || exit 1
