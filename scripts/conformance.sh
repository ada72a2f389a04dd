#!/usr/bin/env bash
# conformance.sh — runs the upstream Gateway API conformance suite (sigs.k8s.io/gateway-api/conformance at the
# release vendored in deploy/gateway-api, built with `go test -c` through the Go module proxy) against a cluster
# running IronLB's gateway controller: profiles GATEWAY-HTTP, GATEWAY-GRPC and GATEWAY-TLS plus every extended feature IronLB
# claims (the SUPPORTED_FEATURES list in src/gateway/build.ts, the same one its GatewayClass status shows). Writes the
# suite's report YAML and log into .lab/ and prints the counts. Takes the lab lock while it runs.
set -euo pipefail

usage() {
  cat <<USAGE
Usage: scripts/conformance.sh [--build-only] [--no-images] [--help] [-- extra suite flags]
  --build-only   only build (or reuse) the suite binary and its manifests
  --no-images    do not build/load the echo-basic backend image into the lab's nodes
Environment: KUBECONFIG (default .lab/kubeconfig), GATEWAY_CLASS (ironlb), CONFORMANCE_PROFILES (GATEWAY-HTTP,GATEWAY-GRPC,GATEWAY-TLS),
  CONFORMANCE_REPORT (.lab/gateway-conformance-<version>.yaml), CONFORMANCE_TIMEOUT (60m), IRONLB_CACHE,
  IRONLB_LAB_LOCKED=1 when the caller already holds /tmp/ironlb-lab.lock, CONFORMANCE_NETNS (the network
  namespace the suite runs in; against the lab: its LAN client, ironlb-client, with .lab/lab.kubeconfig),
  CONFORMANCE_USABLE_ADDRESS / CONFORMANCE_UNUSABLE_ADDRESS (GatewayStaticAddresses: an address inside an
  IPAddressPool that no Service holds, and one in no pool; defaults fit the lab: 198.51.100.77 in its BGP pool,
  whose autoAssign is off, and 203.0.113.10).
Suite flags after "--" are passed on, e.g. -- -run-test HTTPRouteSimpleSameNamespace -debug.
USAGE
}

BUILD_ONLY=0
IMAGES=1
EXTRA=()
while [ $# -gt 0 ]; do
  case "$1" in
    --help|-h) usage; exit 0 ;;
    --build-only) BUILD_ONLY=1 ;;
    --no-images) IMAGES=0 ;;
    --) shift; EXTRA=("$@"); break ;;
    *) usage >&2; exit 2 ;;
  esac
  shift
done

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
export PATH="$ROOT/.tools/bin:$PATH"
VERSION="$(cat deploy/gateway-api/VERSION)"
CACHE="${IRONLB_CACHE:-$HOME/.cache/ironlb}/conformance/$VERSION"
BIN="$CACHE/conformance.test"
MANIFESTS="$CACHE/manifests"
ECHO_IMAGE="localhost/echo-basic:$VERSION"
command -v go >/dev/null || { echo "conformance: Go is required (it builds the suite)" >&2; exit 1; }
command -v node >/dev/null || { echo "conformance: run scripts/setup.sh --no-k8s first (Node.js in .tools)" >&2; exit 1; }

# 1. The suite, as a test binary of a throw-away module that requires the conformance module at our version.
if [ ! -x "$BIN" ]; then
  echo "conformance: building the $VERSION suite (go test -c; first time takes a few minutes)"
  SRC="$CACHE/src"
  mkdir -p "$SRC"
  cat >"$SRC/go.mod" <<GOMOD
module ironlb.invalid/conformance

go 1.26

require (
	sigs.k8s.io/gateway-api $VERSION
	sigs.k8s.io/gateway-api/conformance $VERSION
)
GOMOD
  cat >"$SRC/conformance_test.go" <<'GOTEST'
// Package conformance runs the upstream suite with its own flags; IRONLB_MANIFESTS, when set, is a copy of the
// suite's manifests with images this machine has (there is no registry here).
package conformance

import (
	"io/fs"
	"os"
	"testing"

	"sigs.k8s.io/gateway-api/conformance"
)

func TestConformance(t *testing.T) {
	opts := conformance.DefaultOptions(t)
	if dir := os.Getenv("IRONLB_MANIFESTS"); dir != "" {
		opts.ManifestFS = []fs.FS{os.DirFS(dir)}
	}
	conformance.RunConformanceWithOptions(t, opts)
}
GOTEST
  (cd "$SRC" && GOFLAGS=-mod=mod go mod tidy && CGO_ENABLED=0 go test -c -trimpath -o "$BIN.tmp" . && mv "$BIN.tmp" "$BIN")
fi

# 2. Its manifests, with the echo backends from our local image and without the UDP DNS server (UDPRoute only;
#    its image is not built here).
if [ ! -f "$MANIFESTS/.done" ]; then
  DIR="$(cd "$CACHE/src" && go list -m -f '{{.Dir}}' sigs.k8s.io/gateway-api/conformance)"
  rm -rf "$MANIFESTS" && mkdir -p "$MANIFESTS"
  cp -r "$DIR/base" "$DIR/tests" "$DIR/mesh" "$MANIFESTS/"
  chmod -R u+w "$MANIFESTS"
  grep -rl 'registry.k8s.io/gateway-api/echo-basic' "$MANIFESTS" | xargs -r sed -i -E \
    "s#registry.k8s.io/gateway-api/echo-basic:[^[:space:]\"]+#$ECHO_IMAGE#g"
  node --input-type=module -e "
    import { readFileSync, writeFileSync } from 'node:fs';
    import { parseAllDocuments } from 'yaml';
    const f = '$MANIFESTS/base/manifests.yaml';
    const docs = parseAllDocuments(readFileSync(f, 'utf8')).filter((d) => {
      const o = d.toJS();
      return !(o && o.kind === 'Deployment' && o.metadata?.name === 'coredns');
    });
    const text = (d) => d.toString().replace(/^---\n/, '').replace(/\n*$/, '\n');
    writeFileSync(f, docs.map(text).join('---\n'));
  "
  touch "$MANIFESTS/.done"
fi
[ "$BUILD_ONLY" = 1 ] && { echo "conformance: suite $BIN, manifests $MANIFESTS"; exit 0; }

# 3. The lab: one user at a time; the echo backend image into every node's containerd.
export KUBECONFIG="${KUBECONFIG:-$ROOT/.lab/kubeconfig}"
[ -f "$KUBECONFIG" ] || { echo "conformance: no kubeconfig at $KUBECONFIG (run make lab, or set KUBECONFIG)" >&2; exit 1; }
# IRONLB_LAB_LOCKED=1: the caller already holds the lock (flock /tmp/ironlb-lab.lock make lab conformance).
if [ "${IRONLB_LAB_LOCKED:-0}" != 1 ]; then
  exec 9>/tmp/ironlb-lab.lock
  flock -n 9 || { echo "conformance: waiting for the lab lock (/tmp/ironlb-lab.lock)"; flock 9; }
fi
if [ "$IMAGES" = 1 ]; then
  node --input-type=module -e "
    import { buildImages } from './test/harness/images.ts';
    import { Lab } from './test/harness/netlab.ts';
    const images = await buildImages({ images: ['echo-basic'] });
    await Lab.attach('$ROOT/.lab', console.log).loadImages(images);
    console.log('conformance: loaded', images.map((i) => i.ref).join(', '));
  "
fi

# 4. Our GatewayClass, then the suite.
CLASS="${GATEWAY_CLASS:-ironlb}"
KUBECTL="$(scripts/build-k8s.sh --print-dir)/kubectl"
"$KUBECTL" apply -f - <<YAML
apiVersion: gateway.networking.k8s.io/v1
kind: GatewayClass
metadata:
  name: $CLASS
spec:
  controllerName: ironlb.io/gateway-controller
YAML
FEATURES="$(node --input-type=module -e "import('./src/gateway/build.ts').then((m) => console.log(m.SUPPORTED_FEATURES.join(',')))")"
REPORT="${CONFORMANCE_REPORT:-$ROOT/.lab/gateway-conformance-$VERSION.yaml}"
LOG="${REPORT%.yaml}.log"
# The suite sends its requests to the Gateways' addresses, which only the lab's LAN reaches: against the lab it
# runs inside the LAN client's network namespace, with the kubeconfig that names the API server on the LAN.
RUN=()
if [ -z "${CONFORMANCE_NETNS+x}" ] && [ "$KUBECONFIG" = "$ROOT/.lab/kubeconfig" ] && [ -f "$ROOT/.lab/lab.kubeconfig" ]; then
  CONFORMANCE_NETNS="${IRONLB_LAB_PREFIX:-ironlb-}client"
  KUBECONFIG="$ROOT/.lab/lab.kubeconfig"
fi
[ -n "${CONFORMANCE_NETNS:-}" ] && RUN=(ip netns exec "$CONFORMANCE_NETNS")
echo "conformance: $VERSION, class $CLASS, profiles ${CONFORMANCE_PROFILES:-GATEWAY-HTTP,GATEWAY-GRPC,GATEWAY-TLS}, features $FEATURES${CONFORMANCE_NETNS:+, from netns $CONFORMANCE_NETNS}"
set +e
IRONLB_MANIFESTS="$MANIFESTS" "${RUN[@]}" "$BIN" -test.v -test.run '^TestConformance$' -test.timeout "${CONFORMANCE_TIMEOUT:-60m}" \
  -gateway-class "$CLASS" \
  -conformance-profiles "${CONFORMANCE_PROFILES:-GATEWAY-HTTP,GATEWAY-GRPC,GATEWAY-TLS}" \
  -supported-features "$FEATURES" \
  -usable-address "${CONFORMANCE_USABLE_ADDRESS:-198.51.100.77}" \
  -unusable-address "${CONFORMANCE_UNUSABLE_ADDRESS:-203.0.113.10}" \
  -report-output "$REPORT" \
  -organization ironlb -project ironlb -url https://github.com/ironlb/ironlb \
  -version "$(git describe --always --dirty 2>/dev/null || echo dev)" -contact "@ironlb" \
  "${EXTRA[@]}" 2>&1 | tee "$LOG"
RC="${PIPESTATUS[0]}"
set -e
echo "conformance: log $LOG"
if [ -f "$REPORT" ]; then
  echo "conformance: report $REPORT"
  node --input-type=module -e "
    import { readFileSync } from 'node:fs';
    import { parse } from 'yaml';
    const r = parse(readFileSync('$REPORT', 'utf8'));
    for (const p of r.profiles ?? []) {
      for (const level of ['core', 'extended']) {
        const s = p[level];
        if (s) console.log(\`\${p.name} \${level}: \${s.result} — passed \${s.statistics?.Passed ?? 0}, failed \${s.statistics?.Failed ?? 0}, skipped \${s.statistics?.Skipped ?? 0}\`);
      }
    }
  "
fi
exit "$RC"
