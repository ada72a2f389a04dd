#!/usr/bin/env bash
# smoke.sh — proves the images built by scripts/build-images.sh run. Starts a throwaway containerd (its own
# root, state and socket in a temporary directory; stopped and removed at the end), imports every archive
# with importImages (`ctr images import`), runs IronLB's three programs' --help, loads the speaker's native
# addon, checks gobgpd, bfdd and HAProxy are in the image, runs pause and kube-proxy --version, and serves
# the echo app and the Gateway API's echo-basic in a network namespace of its own (ironlb-img-test-<pid>),
# answered with curl. Needs root, containerd and runc. Leaves no process, namespace, mount or directory.
# Usage: images/smoke.sh   (builds the images first, or reuses them)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
T0=$(date +%s.%N)
command -v containerd >/dev/null && command -v runc >/dev/null \
  || { echo "smoke: needs containerd and runc (apt-get install containerd runc)" >&2; exit 1; }
DIR=$(mktemp -d /tmp/ironlb-img-test.XXXXXX)
NETNS="ironlb-img-test-$$"
SOCK="$DIR/containerd.sock"
CPID=""
cleanup() {
  set +e
  if [ -n "$CPID" ]; then
    for c in $(ctr -a "$SOCK" -n k8s.io containers ls -q 2>/dev/null); do
      ctr -a "$SOCK" -n k8s.io tasks kill -s KILL "$c" >/dev/null 2>&1
      sleep 0.2
      ctr -a "$SOCK" -n k8s.io tasks rm -f "$c" >/dev/null 2>&1
      ctr -a "$SOCK" -n k8s.io containers rm "$c" >/dev/null 2>&1
    done
    kill "$CPID" 2>/dev/null; wait "$CPID" 2>/dev/null
  fi
  ip netns del "$NETNS" 2>/dev/null
  grep -F "$DIR/" /proc/mounts | awk '{print $2}' | sort -r | xargs -r -n1 umount -l 2>/dev/null
  rm -rf "$DIR"
}
trap cleanup EXIT

printed=$("$ROOT/scripts/build-images.sh" --print minbase base ironlb echo pause kube-proxy echo-basic)
mapfile -t IMAGES <<<"$printed"
ref() { printf '%s\n' "${IMAGES[@]}" | awk -v p="$1" 'index($1, p) == 1 { print $1; exit }'; }

cat >"$DIR/config.toml" <<TOML
version = 2
root = "$DIR/root"
state = "$DIR/state"
[grpc]
  address = "$SOCK"
[plugins."io.containerd.grpc.v1.cri"]
  restrict_oom_score_adj = true
  sandbox_image = "localhost/pause:3.10"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$DIR/cni"
TOML
containerd --config "$DIR/config.toml" >"$DIR/containerd.log" 2>&1 &
CPID=$!
for _ in $(seq 100); do [ -S "$SOCK" ] && ctr -a "$SOCK" version >/dev/null 2>&1 && break; sleep 0.1; done
ctr -a "$SOCK" version >/dev/null || { cat "$DIR/containerd.log" >&2; exit 1; }
echo "smoke: containerd $(containerd --version | awk '{print $3}') up (pid $CPID, $SOCK)"

t=$(date +%s.%N)
# through test/harness/images.ts's importImages, as the lab loads its nodes
printf '%s\n' "$printed" | "$ROOT/.tools/bin/node" --input-type=module -e "
  import { readFileSync } from 'node:fs';
  const { importImages, parsePrinted } = await import('$ROOT/test/harness/images.ts');
  await importImages('$SOCK', parsePrinted(readFileSync(0, 'utf8')));"
echo "smoke: imported $(printf '%s\n' "${IMAGES[@]}" | awk '{print $2}' | sort -u | wc -l) archives in $(echo "$(date +%s.%N) - $t" | bc | cut -c1-5)s:"
ctr -a "$SOCK" -n k8s.io images ls | awk 'NR == 1 || /localhost\// { print "  " $1, $(NF-3), $(NF-2) }' | column -t

n=0
crun() { # crun NAME IMAGE ARGS... — run to completion, output indented
  n=$((n + 1))
  ctr -a "$SOCK" -n k8s.io run --rm "$2" "smoke-$n-$1" "${@:3}" 2>&1
}
IRONLB=$(ref localhost/ironlb:); ECHO=$(ref localhost/ironlb-echo:)
for prog in controller speaker ingress; do
  crun "$prog" "$IRONLB" node "dist/$prog.js" --help | head -3 | sed "s/^/  $prog --help: /"
done
# the bundled speaker loads the addon from beside itself (deploy/Dockerfile)
crun addon-bundled "$IRONLB" node --input-type=module -e \
  "import { createRequire } from 'node:module'; console.log('bundled addon loaded:', Object.keys(createRequire('/app/dist/speaker.js')('/app/dist/build/Release/ironlb_packet.node')).join(' '))" | sed 's/^/  /'
crun addon "$IRONLB" node --input-type=module -e \
  "const m = await import('/app/speaker/native/index.ts'); console.log('addon loaded:', m.ADDON_PATH, Object.getOwnPropertyNames(m.loadNative()).join(' '))" | sed 's/^/  /'
crun tools "$IRONLB" sh -c 'gobgpd --version; /usr/lib/frr/bfdd --version | head -1; haproxy -v | head -1; ls /usr/share/gocode/src/github.com/osrg/gobgp/api/*.proto | wc -l | sed "s/$/ gobgp protos/"; id' | sed 's/^/  /'
crun files "$IRONLB" sh -c 'find /app -path /app/node_modules -prune -o \( -name "*.test.ts" -o -name "testkit.ts" -o -name "*test-helpers*" -o -name testdata -o -name "*.bench.ts" \) -print | sed "s/^/shipped test file: /"; echo "test files in /app: $(find /app -path /app/node_modules -prune -o \( -name "*.test.ts" -o -name "testkit.ts" -o -name "*test-helpers*" -o -name testdata -o -name "*.bench.ts" \) -print | wc -l)"' | sed 's/^/  /'
crun kube-proxy "$(ref localhost/kube-proxy:)" /usr/local/bin/kube-proxy --version | sed 's/^/  /'
crun kube-proxy-tools "$(ref localhost/kube-proxy:)" sh -c 'iptables -V; ipset -v | head -1; conntrack -V' | sed 's/^/  /'
crun pause "$(ref localhost/pause:)" /pause --version | sed 's/^/  /'

ip netns add "$NETNS"
ip -n "$NETNS" link set lo up
serve() { # serve NAME IMAGE PORT ENV... — run detached in $NETNS, print what GET /NAME on PORT answers
  ctr -a "$SOCK" -n k8s.io run -d --with-ns "network:/var/run/netns/$NETNS" "${@:4}" "$2" "smoke-$1" >/dev/null
  local body=""
  for _ in $(seq 50); do
    body=$(ip netns exec "$NETNS" curl -sf --max-time 1 "http://127.0.0.1:$3/$1") && break
    sleep 0.2
  done
  [ -n "$body" ] || { echo "smoke: $1 did not answer on port $3 in $NETNS" >&2; exit 1; }
  echo "  $1 in netns $NETNS answered: $(echo "$body" | tr -d '\n' | cut -c1-200)"
}
serve echo "$ECHO" 8080 --env POD_NAME=smoke-echo
serve echo-basic "$(ref localhost/echo-basic:)" 3000 --env POD_NAME=smoke-echo-basic --env NAMESPACE=smoke
echo "smoke: passed in $(echo "$(date +%s.%N) - $T0" | bc | cut -c1-5)s"
