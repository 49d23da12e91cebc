#!/usr/bin/env bash
# Builds the local stack's binaries from their Go modules at the versions pinned in
# hack/versions.env, and caches them outside the repo, keyed by version:
#   $CACHE/kubernetes-<v>/bin/{kube-apiserver,kubectl}                    (piece: kubernetes)
#   $CACHE/kubernetes-<v>/bin/{kubelet,kube-controller-manager,kube-scheduler,kube-proxy}
#   $CACHE/kubernetes-<v>/bin/pause   (the pod sandbox's pause.c, static)     (piece: node)
#   $CACHE/etcd-<v>/bin/etcd
#   $CACHE/ack-sagemaker-controller-<v>/bin/controller  (+ crds/, rbac/ from the module)
# A binary already in the cache is reused (each checked on its own), so a second run takes seconds.
# With ACK_CONTROLLER_BIN set, that controller binary is used as it is and the controller is not built.
#
# Usage: hack/build-binaries.sh [kubernetes|node|etcd|controller ...]   (default: kubernetes etcd controller)
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
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
	_ "k8s.io/kubernetes/cmd/kubelet"
)
EOF
  (cd "$dir" && go mod tidy)
}

# Builds the named commands of k8s.io/kubernetes that are not cached yet. Each binary is checked
# on its own; one already there is never rebuilt or removed (other checkouts run it).
build_kube_commands() {
  local out="$CACHE/kubernetes-$KUBERNETES_VERSION" cmd missing=()
  for cmd in "$@"; do [ -x "$out/bin/$cmd" ] || missing+=("$cmd"); done
  if [ ${#missing[@]} -eq 0 ]; then say "kubernetes $KUBERNETES_VERSION ($*): cached"; return 0; fi
  say "kubernetes $KUBERNETES_VERSION: building ${missing[*]} from k8s.io/kubernetes (first time: ~10-20 min on 2 cores)"
  local minor="${KUBERNETES_VERSION#v1.}"; minor="${minor%%.*}"
  local pkg=k8s.io/component-base/version
  local ldflags="-s -w -X $pkg.gitVersion=$KUBERNETES_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  ldflags="$ldflags -X k8s.io/client-go/pkg/version.gitVersion=$KUBERNETES_VERSION -X k8s.io/client-go/pkg/version.gitMajor=1 -X k8s.io/client-go/pkg/version.gitMinor=$minor"
  local tmp="$out/bin.tmp.$$" src="$out/src.$$" log packages=()
  log="$out/logs/build-$(IFS=+; echo "${missing[*]}").log"
  for cmd in "${missing[@]}"; do packages+=("k8s.io/kubernetes/cmd/$cmd"); done
  mkdir -p "$out/bin" "$out/logs" "$tmp"
  run_logged "$log" bash -c "
    set -e
    $(declare -f kubernetes_wrapper)
    KUBERNETES_VERSION=$KUBERNETES_VERSION kubernetes_wrapper '$src'
    cd '$src'
    go build -trimpath -ldflags '$ldflags' -o '$tmp/' ${packages[*]}
  " || { say "kubernetes: BUILD FAILED, see $log"; tail -n 20 "$log"; rm -rf "$tmp" "$src"; return 1; }
  # One rename per binary: a reader sees no binary or the whole new one, never half of one.
  for cmd in "${missing[@]}"; do mv "$tmp/$cmd" "$out/bin/$cmd"; done
  rm -rf "$tmp" "$src"
  say "kubernetes $KUBERNETES_VERSION: built ${missing[*]} ($out/bin)"
}

build_kubernetes() { build_kube_commands kube-apiserver kubectl; }

# The pod sandbox ("pause") binary: the pause.c that ships in the k8s.io/kubernetes module
# (build/pause/linux), compiled statically with the flags of the upstream image's Makefile.
build_pause() {
  local out="$CACHE/kubernetes-$KUBERNETES_VERSION" dir source tag
  if [ -x "$out/bin/pause" ]; then say "pause (from k8s.io/kubernetes $KUBERNETES_VERSION): cached"; return 0; fi
  command -v gcc >/dev/null || { say "pause: needs gcc and libc6-dev (hack/node-prereqs.sh installs them)"; return 1; }
  dir="$(go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')"
  source="$dir/build/pause/linux/pause.c"
  [ -f "$source" ] || { say "pause: $source is not in the k8s.io/kubernetes module"; return 1; }
  tag="$(sed -n 's/^TAG ?= *//p' "$dir/build/pause/Makefile")"
  mkdir -p "$out/bin"
  gcc -Os -Wall -Werror -static -DVERSION="v${tag}-sagemaker-ack-kfp" -o "$out/bin/pause.tmp.$$" "$source" \
    || { say "pause: BUILD FAILED"; rm -f "$out/bin/pause.tmp.$$"; return 1; }
  mv "$out/bin/pause.tmp.$$" "$out/bin/pause"
  say "pause $tag: built ($out/bin/pause)"
}

# What the local stack's node runs on top of the control plane.
build_node() {
  build_kube_commands kubelet kube-controller-manager kube-scheduler kube-proxy || return 1
  build_pause
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
    node) build_node || status=1 ;;
    etcd) build_etcd || status=1 ;;
    controller) build_controller || status=1 ;;
    *) echo "unknown piece: $piece (kubernetes, node, etcd, controller)" >&2; status=2 ;;
  esac
done
exit $status
