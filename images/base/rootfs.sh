#!/usr/bin/env bash
# rootfs.sh SUITE MIRROR SECURITY_MIRROR WORKDIR OUT.tar — a minimal Debian root file system
# (debootstrap --variant=minbase) made ready to be an image, like Debian's slim images: APT sources for the
# suite, its updates and security; APT caches kept out of image layers (apt-slim.conf); a policy-rc.d that
# keeps package scripts from starting services during image builds; no documentation (dpkg-slim.cfg); no
# build-host resolv.conf or hostname. Run by scripts/build-images.sh in a private mount namespace
# (debootstrap mounts /proc and /sys inside the target).
set -euo pipefail
suite=$1 mirror=$2 security=$3 work=$4 out=$5
here=$(cd "$(dirname "$0")" && pwd)
rm -rf "$work"
mkdir -p "$work"
echo "rootfs: debootstrap --variant=minbase $suite $mirror"
debootstrap --variant=minbase "$suite" "$work" "$mirror"
echo "rootfs: trimming"
for m in proc sys; do umount -R "$work/$m" 2>/dev/null || true; done
rm -f "$work/etc/apt/sources.list"
cat >"$work/etc/apt/sources.list.d/debian.sources" <<SOURCES
Types: deb
URIs: $mirror
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: $security
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
# the runtime provides these; the build host's must not stay in the image
: >"$work/etc/resolv.conf"
echo localhost >"$work/etc/hostname"
printf '#!/bin/sh\n# no service starts inside an image build\nexit 101\n' >"$work/usr/sbin/policy-rc.d"
chmod 755 "$work/usr/sbin/policy-rc.d"
install -m 644 "$here/dpkg-slim.cfg" "$work/etc/dpkg/dpkg.cfg.d/slim"
install -m 644 "$here/apt-slim.conf" "$work/etc/apt/apt.conf.d/docker-clean"
find "$work/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
find "$work/usr/share/doc" -mindepth 1 -type d -empty -delete
rm -rf "$work"/usr/share/{man,info,groff,lintian,linda,locale}/* \
  "$work"/var/cache/apt/archives/*.deb "$work"/var/cache/apt/*.bin "$work"/var/lib/apt/lists/* \
  "$work"/var/log/*.log "$work"/var/log/apt/* "$work"/tmp/* "$work"/var/tmp/*
echo "rootfs: writing $(basename "$out")"
tar --numeric-owner --xattrs -C "$work" -cf "$out.partial" --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' .
mv "$out.partial" "$out"
rm -rf "$work"
echo "rootfs: done"
