#!/usr/bin/env bash
# build-images.sh — IronLB's container images, built on this machine with no registry and no Docker engine:
# a Debian minbase root file system (debootstrap), Node.js on it (the base, standing in for
# node:24-bookworm-slim), IronLB from deploy/Dockerfile on that base, the lab's echo app, the pod sandbox
# (pause) and kube-proxy. Each is an OCI archive under ${IRONLB_CACHE:-~/.cache/ironlb}/images keyed by a
# hash of its inputs, so a run with nothing changed builds nothing (test/harness/images.ts does the work).
#
# Tooling: buildah (Debian's package). It is daemonless: `buildah bud --isolation chroot --network host` runs
# the Dockerfiles' RUN steps chrooted into the image on the host's network (the Debian mirror and the npm
# registry), creates no bridge, veth or iptables rule, and leaves no process behind; each call runs in a
# private mount namespace, so a killed build leaves no mount either. It writes OCI archives that containerd
# loads with `ctr images import`. Docker 20.10's daemon (docker.io) would build the same Dockerfiles, but it
# is a daemon to start and stop, and it changes the root namespace's network (docker0, iptables chains).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
NODE="$ROOT/.tools/bin/node"
[ -x "$NODE" ] || { echo "build-images: Node.js is missing in .tools: run scripts/setup.sh --no-k8s first" >&2; exit 1; }
for a in "$@"; do
  case "$a" in --help|-h) exec "$NODE" "$ROOT/test/harness/images.ts" --help ;; esac
done
[ "$(id -u)" = 0 ] || { echo "build-images: needs root (debootstrap, buildah)" >&2; exit 1; }

# Debian packages the builder needs (idempotent)
PKGS=(buildah debootstrap tar gcc libc6-dev)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "images: installing Debian packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o DPkg::Lock::Timeout=600 update -qq
  apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/tmp/ironlb-images-apt.log 2>&1 \
    || { tail -30 /tmp/ironlb-images-apt.log >&2; exit 1; }
fi

# one build at a time per cache (two checkouts share it)
CACHE="${IRONLB_CACHE:-$HOME/.cache/ironlb}"
mkdir -p "$CACHE/images"
exec 9>"$CACHE/images/.lock"
if ! flock -n 9; then
  echo "images: waiting for another build-images.sh run (lock $CACHE/images/.lock)" >&2
  flock 9
fi
export PATH="$ROOT/.tools/bin:$PATH"
"$NODE" "$ROOT/test/harness/images.ts" "$@"
