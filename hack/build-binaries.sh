#!/usr/bin/env bash
# Builds the local stack's binaries from their Go modules at the versions pinned in
# hack/versions.env, and caches them outside the repo, keyed by version:
#   $CACHE/kubernetes-<v>/bin/{kube-apiserver,kubectl}
#   $CACHE/etcd-<v>/bin/etcd
#   $CACHE/ack-sagemaker-controller-<v>/bin/controller  (+ crds/, rbac/ from the module)
# A binary already in the cache is reused, so a second run takes seconds. With ACK_CONTROLLER_BIN
# set, that controller binary is used as it is and the controller is not built.
#
# Usage: hack/build-binaries.sh [kubernetes|etcd|controller ...]   (default: all)
# Exit code: 0 if every requested piece is ready, 1 otherwise (each failure is named, with its log).
set -uo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=versions.env
source "$here/versions.env"
CACHE="${SAGEMAKER_ACK_KFP_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sagemaker-ack-kfp}"
export GOFLAGS="${GOFLAGS:--buildvcs=false}" CGO_ENABLED=0
mkdir -p "$CACHE"

say() { printf '[build %s] %s\n' "$(date +%H:%M:%S)" "$*"; }

# Runs a long step with its output in a log file, printing a heartbeat so a first build shows progress.
run_logged() {
  local log="$1"; shift
  ("$@") >"$log" 2>&1 &
  local pid=$! elapsed=0
  while kill -0 "$pid" 2>/dev/null; do
    sleep 5; elapsed=$((elapsed + 5))
    if ((elapsed % 60 == 0)); then say "  ... still building (${elapsed}s, log: $log)"; fi
  done
  wait "$pid"
}

# A wrapper module that requires k8s.io/kubernetes and maps each staging module to the
# release's published v0.X.Y version: the release's own go.mod replaces them with ./staging paths,
# which do not exist outside its repository.
kubernetes_wrapper() {
  local dir="$1" v="$KUBERNETES_VERSION" staging="v0.${KUBERNETES_VERSION#v1.}"
  mkdir -p "$dir"
  local upstream_mod
  upstream_mod="$(go mod download -json "k8s.io/kubernetes@$v" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')"
  [ -f "$upstream_mod" ] || { echo "cannot download k8s.io/kubernetes@$v" >&2; return 1; }
  {
    echo "module sagemaker-ack-kfp/build/kubernetes"
    echo
    echo "go 1.25.0"
    echo
    echo "require k8s.io/kubernetes $v"
    echo
    echo "replace ("
    sed -n 's#^\s*\(k8s.io/[a-z0-9-]*\) => ./staging/src/.*#\t\1 => \1 '"$staging"'#p' "$upstream_mod"
    echo ")"
  } >"$dir/go.mod"
  cat >"$dir/tools.go" <<'EOF'
//go:build tools

// Package tools pins the commands this wrapper module builds.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
EOF
  (cd "$dir" && go mod tidy)
}

build_kubernetes() {
  local out="$CACHE/kubernetes-$KUBERNETES_VERSION"
  if [ -x "$out/bin/kube-apiserver" ] && [ -x "$out/bin/kubectl" ]; then say "kubernetes $KUBERNETES_VERSION: cached"; return 0; fi
  say "kubernetes $KUBERNETES_VERSION: building kube-apiserver and kubectl from k8s.io/kubernetes (first time: ~10-20 min on 2 cores)"
  local minor="${KUBERNETES_VERSION#v1.}"; minor="${minor%%.*}"
  local pkg=k8s.io/component-base/version
  local ldflags="-s -w -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  ldflags="$ldflags -X k8s.io/client-go/pkg/version.gitVersion=$KUBERNETES_VERSION -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor"
  mkdir -p "$out/bin" "$out/logs"
  run_logged "$out/logs/build.log" bash -c "
    set -e
    $(declare -f kubernetes_wrapper)
    KUBERNETES_VERSION=$KUBERNETES_VERSION kubernetes_wrapper '$out/src'
    cd '$out/src'
    go build -trimpath -ldflags '$ldflags' -o '$out/bin.tmp/kube-apiserver' k8s.io/kubernetes/cmd/kube-apiserver
    go build -trimpath -ldflags '$ldflags' -o '$out/bin.tmp/kubectl' k8s.io/kubernetes/cmd/kubectl
  " || { say "kubernetes: BUILD FAILED, see $out/logs/build.log"; tail -n 20 "$out/logs/build.log"; return 1; }
  mv "$out/bin.tmp/"* "$out/bin/" && rmdir "$out/bin.tmp"
  say "kubernetes $KUBERNETES_VERSION: built ($out/bin)"
}

build_etcd() {
  local out="$CACHE/etcd-$ETCD_VERSION"
  if [ -x "$out/bin/etcd" ]; then say "etcd $ETCD_VERSION: cached"; return 0; fi
  say "etcd $ETCD_VERSION: building from go.etcd.io/etcd/server/v3"
  mkdir -p "$out/src" "$out/bin" "$out/logs"
  # etcd's own go.mod replaces its sibling modules with ../ paths, so require them at the same version.
  cat >"$out/src/go.mod" <<EOF
module sagemaker-ack-kfp/build/etcd

go 1.25.0

require (
	go.etcd.io/etcd/api/v3 $ETCD_VERSION
	go.etcd.io/etcd/client/pkg/v3 $ETCD_VERSION
	go.etcd.io/etcd/client/v3 $ETCD_VERSION
	go.etcd.io/etcd/pkg/v3 $ETCD_VERSION
	go.etcd.io/etcd/server/v3 $ETCD_VERSION
)
EOF
  cat >"$out/src/tools.go" <<'EOF'
//go:build tools

// Package tools pins the command this wrapper module builds.
package tools

import _ "go.etcd.io/etcd/server/v3"
EOF
  run_logged "$out/logs/build.log" bash -c "
    set -e; cd '$out/src'; go mod tidy
    go build -trimpath -ldflags '-s -w' -o '$out/bin.tmp/etcd' go.etcd.io/etcd/server/v3
  " || { say "etcd: BUILD FAILED, see $out/logs/build.log"; tail -n 20 "$out/logs/build.log"; return 1; }
  mv "$out/bin.tmp/etcd" "$out/bin/etcd" && rmdir "$out/bin.tmp"
  say "etcd $ETCD_VERSION: built ($out/bin/etcd)"
}

build_controller() {
  # A controller binary of your own (README, "Known limits"): use it, build nothing.
  if [ -n "${ACK_CONTROLLER_BIN:-}" ]; then
    if [ -x "$ACK_CONTROLLER_BIN" ]; then
      say "ACK sagemaker-controller: using ACK_CONTROLLER_BIN=$ACK_CONTROLLER_BIN (not building)"
      return 0
    fi
    say "ACK sagemaker-controller: ACK_CONTROLLER_BIN=$ACK_CONTROLLER_BIN is not an executable file"
    return 1
  fi
  local out="$CACHE/ack-sagemaker-controller-$ACK_SAGEMAKER_CONTROLLER_VERSION"
  if [ -x "$out/bin/controller" ]; then say "ACK sagemaker-controller $ACK_SAGEMAKER_CONTROLLER_VERSION: cached"; return 0; fi
  say "ACK sagemaker-controller $ACK_SAGEMAKER_CONTROLLER_VERSION: building from $ACK_SAGEMAKER_CONTROLLER_MODULE"
  mkdir -p "$out/bin" "$out/logs"
  run_logged "$out/logs/build.log" bash -c "
    set -e
    GOBIN='$out/bin.tmp' go install -trimpath -ldflags '-s -w' '$ACK_SAGEMAKER_CONTROLLER_MODULE/cmd/controller@$ACK_SAGEMAKER_CONTROLLER_VERSION'
  " || {
    say "ACK sagemaker-controller: BUILD FAILED, see $out/logs/build.log"
    tail -n 5 "$out/logs/build.log"
    return 1
  }
  mv "$out/bin.tmp/controller" "$out/bin/controller" && rmdir "$out/bin.tmp"
  say "ACK sagemaker-controller $ACK_SAGEMAKER_CONTROLLER_VERSION: built ($out/bin/controller)"
}

pieces=("$@")
[ ${#pieces[@]} -gt 0 ] || pieces=(kubernetes etcd controller)
status=0
for piece in "${pieces[@]}"; do
  case "$piece" in
    kubernetes) build_kubernetes || status=1 ;;
    etcd) build_etcd || status=1 ;;
    controller) build_controller || status=1 ;;
    *) echo "unknown piece: $piece (kubernetes, etcd, controller)" >&2; status=2 ;;
  esac
done
exit $status
