#!/usr/bin/env bash
# build-k8s.sh — builds kube-apiserver, kube-controller-manager, kube-proxy, kube-scheduler, kubelet and
# kubectl of one Kubernetes release from the k8s.io/kubernetes Go module (through the Go module proxy) into a cache outside git.
# Reuses the cache when all binaries are present. Prints progress; safe to run concurrently (flock).
set -euo pipefail

usage() {
  cat <<USAGE
Usage: scripts/build-k8s.sh [--print-dir] [--help]
Builds Kubernetes binaries into \$IRONLB_CACHE/k8s/<version>/bin (default ~/.cache/ironlb).
  --print-dir   only print the binary directory (does not build)
Environment: K8S_VERSION (default v1.35.4), IRONLB_CACHE.
USAGE
}

K8S_VERSION="${K8S_VERSION:-v1.35.4}"
CACHE="${IRONLB_CACHE:-$HOME/.cache/ironlb}"
OUT="$CACHE/k8s/$K8S_VERSION"
BIN="$OUT/bin"
CMDS=(kube-apiserver kube-controller-manager kube-proxy kube-scheduler kubelet kubectl)

case "${1:-}" in
  --help|-h) usage; exit 0 ;;
  --print-dir) echo "$BIN"; exit 0 ;;
  "") ;;
  *) usage >&2; exit 2 ;;
esac

have_all() { for c in "${CMDS[@]}"; do [ -x "$BIN/$c" ] || return 1; done; }
if have_all; then echo "k8s: $K8S_VERSION binaries cached in $BIN"; exit 0; fi

command -v go >/dev/null || { echo "k8s: Go is required to build Kubernetes binaries (apt-get install golang-go)" >&2; exit 1; }
mkdir -p "$OUT"
exec 9>"$OUT/.lock"
flock 9
if have_all; then echo "k8s: $K8S_VERSION binaries cached in $BIN"; exit 0; fi

MINOR="${K8S_VERSION#v1.}"; MINOR="${MINOR%%.*}"; PATCH="${K8S_VERSION##*.}"
STAGING_VERSION="v0.$MINOR.$PATCH"
WRAP="$OUT/wrapper"
rm -rf "$WRAP"; mkdir -p "$WRAP"
start=$(date +%s)
echo "k8s: [1/4] fetching k8s.io/kubernetes@$K8S_VERSION module metadata"
cd "$WRAP"
cat >go.mod <<MOD
module ironlb.local/k8sbuild

go 1.25.0

require k8s.io/kubernetes $K8S_VERSION
MOD
gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
# every staging module the release replaces with ./staging/... is taken at its published v0.Y.Z instead
staging=$(sed -n '/^replace (/,/^)/p' "$gomod" | awk '/=> \.\/staging/ {print $1}')
echo "replace (" >>go.mod
for m in $staging; do echo "	$m => $m $STAGING_VERSION" >>go.mod; done
echo ")" >>go.mod
echo "k8s:       $(echo "$staging" | wc -w) staging modules pinned to $STAGING_VERSION"
cat >tools.go <<TOOLS
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-proxy"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubelet"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
TOOLS
echo "k8s: [2/4] resolving dependencies (go mod tidy)"
GOFLAGS=-mod=mod go mod tidy -e >/dev/null 2>"$OUT/tidy.log" || { cat "$OUT/tidy.log" >&2; exit 1; }
echo "k8s: [3/4] downloading modules"
go mod download
mkdir -p "$BIN"
i=0
for c in "${CMDS[@]}"; do
  i=$((i+1))
  t0=$(date +%s)
  echo "k8s: [4/4] building $c ($i/${#CMDS[@]}) — slow on a cold cache"
  CGO_ENABLED=0 go build -trimpath -tags selinux,notest -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION" -o "$BIN/$c.tmp" "k8s.io/kubernetes/cmd/$c"
  mv "$BIN/$c.tmp" "$BIN/$c"
  echo "k8s:       $c built in $(( $(date +%s) - t0 ))s"
done
echo "k8s: done in $(( $(date +%s) - start ))s → $BIN"
