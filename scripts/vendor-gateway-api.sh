#!/usr/bin/env bash
# vendor-gateway-api.sh — copies the Gateway API CRDs of one release from the sigs.k8s.io/gateway-api Go
# module (downloaded through the Go module proxy) into deploy/gateway-api/, with a kustomization listing them
# and a VERSION file. The CRDs are upstream's generated YAML, not code of ours: never edit them by hand, run
# this script again with another version instead.
set -euo pipefail

usage() {
  cat <<USAGE
Usage: scripts/vendor-gateway-api.sh [--help]
Vendors the Gateway API standard-channel CRDs (plus the experimental CRDs named in EXPERIMENTAL) into
deploy/gateway-api/. Environment: GATEWAY_API_VERSION (default v1.6.3).
USAGE
}
case "${1:-}" in
  --help|-h) usage; exit 0 ;;
  "") ;;
  *) usage >&2; exit 2 ;;
esac

VERSION="${GATEWAY_API_VERSION:-v1.6.3}"
# Experimental CRDs we implement behind the experimental channel (none yet: TLSRoute is standard in v1.6).
EXPERIMENTAL=()
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
OUT="$ROOT/deploy/gateway-api"

command -v go >/dev/null || { echo "vendor-gateway-api: Go is required (it downloads the module)" >&2; exit 1; }
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
# A throw-away module, so `go mod download` resolves the version through the proxy and checks its sum.
(cd "$TMP" && go mod init ironlb.invalid/vendor >/dev/null 2>&1 &&
  go mod download -json "sigs.k8s.io/gateway-api@$VERSION" >"$TMP/dl.json")
DIR="$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' "$TMP/dl.json")"
SUM="$(sed -n 's/^[[:space:]]*"Sum": "\(.*\)",$/\1/p' "$TMP/dl.json")"
[ -d "$DIR/config/crd/standard" ] || { echo "vendor-gateway-api: no config/crd/standard in $DIR" >&2; exit 1; }

rm -rf "$OUT"
mkdir -p "$OUT/standard"
HEADER="# Generated upstream by the Gateway API project (sigs.k8s.io/gateway-api $VERSION, $SUM), vendored
# unchanged by scripts/vendor-gateway-api.sh. Not IronLB code: do not edit; re-run the script to update."
files=()
for f in "$DIR"/config/crd/standard/*.yaml; do
  name="$(basename "$f")"
  [ "$name" = kustomization.yaml ] && continue
  { echo "$HEADER"; cat "$f"; } >"$OUT/standard/$name"
  files+=("standard/$name")
done
for kind in "${EXPERIMENTAL[@]}"; do
  mkdir -p "$OUT/experimental"
  name="gateway.networking.k8s.io_$kind.yaml"
  { echo "$HEADER"; cat "$DIR/config/crd/experimental/$name"; } >"$OUT/experimental/$name"
done
{
  echo "# Gateway API $VERSION, standard channel: the CRDs IronLB's Gateway controller serves. Written by"
  echo "# scripts/vendor-gateway-api.sh; the files are upstream's, unchanged (see their header)."
  echo "apiVersion: kustomize.config.k8s.io/v1beta1"
  echo "kind: Kustomization"
  echo "resources:"
  for f in "${files[@]}"; do echo "  - $f"; done
} >"$OUT/kustomization.yaml"
printf '%s\n' "$VERSION" >"$OUT/VERSION"
echo "vendor-gateway-api: $VERSION ($SUM) → deploy/gateway-api/ (${#files[@]} files)"
