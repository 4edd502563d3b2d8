#!/usr/bin/env bash
# Builds the Python base root filesystem shared by the trainer and model-server
# images into DEST (which must not exist): Debian bookworm minbase from MIRROR,
# the packages listed in packages.txt, then the C/C++ toolchain that scipy's
# pythran drags in force-purged (patterns in purge.txt; numpy's libquadmath0
# and OpenMP's libgomp1 stay), apt's caches, docs, man pages and locales
# removed, /dev emptied (the runtime mounts its own) and a non-root user
# 10001 added. Called by build.sh, which caches the result by the hash of this
# file, packages.txt, purge.txt, the suite and the mirror.
#
#   base.sh DEST MIRROR DEB_CACHE
#
# DEB_CACHE keeps downloaded .deb files between builds, so a rebuild after an
# input changed does not download everything again. Needs root (debootstrap,
# chroot). Progress goes to stderr.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dest=$1 mirror=$2 debs=$3
suite=bookworm

log() { printf '[images %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
in_root() { chroot "$dest" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
  DEBIAN_FRONTEND=noninteractive LANG=C.UTF-8 "$@"; }

[ ! -e "$dest" ] || { log "error: $dest exists"; exit 1; }
logs="$(dirname "$dest")"
mkdir -p "$logs" "$debs/debootstrap" "$debs/apt"

start=$SECONDS
log "debootstrap --variant=minbase $suite from $mirror (about a minute) ..."
debootstrap --variant=minbase --cache-dir="$debs/debootstrap" "$suite" "$dest" "$mirror" \
  >"$logs/debootstrap.log" 2>&1 || {
  log "error: debootstrap failed; last lines of $logs/debootstrap.log:"
  tail -n 20 "$logs/debootstrap.log" >&2
  exit 1
}
rm -f "$logs/debootstrap.log"
log "minbase ready in $((SECONDS - start))s ($(du -sm "$dest" | cut -f1) MB)"

mapfile -t packages < <(grep -v -E '^\s*(#|$)' "$here/packages.txt")
log "apt-get install ${packages[*]} (one to two minutes) ..."
step=$SECONDS
# Reuse .deb files from an earlier build; apt checks their hashes.
find "$debs/apt" -name '*.deb' -exec cp -t "$dest/var/cache/apt/archives/" {} + 2>/dev/null || true
in_root apt-get update -qq >&2
in_root apt-get install -y -qq --no-install-recommends "${packages[@]}" >"$logs/apt.log" 2>&1 || {
  log "error: apt-get install failed; last lines of $logs/apt.log:"
  tail -n 20 "$logs/apt.log" >&2
  exit 1
}
rm -f "$logs/apt.log"
find "$dest/var/cache/apt/archives" -maxdepth 1 -name '*.deb' -exec cp -t "$debs/apt/" {} +
log "installed in $((SECONDS - step))s ($(du -sm "$dest" | cut -f1) MB with apt's cache)"

# The toolchain is needed to build with pythran, never to run scipy or
# scikit-learn; dpkg would refuse to remove it because python3-scipy
# depends on it, hence --force-depends.
mapfile -t patterns < <(grep -v -E '^\s*(#|$)' "$here/purge.txt")
regex=$(IFS='|'; echo "${patterns[*]}")
mapfile -t purge < <(in_root dpkg-query -W -f='${Package}\n' | grep -E "^(${regex})$" || true)
log "force-purging ${#purge[@]} toolchain packages ..."
in_root dpkg --purge --force-depends "${purge[@]}" >/dev/null 2>&1
in_root apt-get clean
rm -rf "$dest"/var/lib/apt/lists/* "$dest"/var/cache/debconf/*-old "$dest"/var/log/*.log \
  "$dest"/var/log/apt/* "$dest"/usr/share/doc/* "$dest"/usr/share/man/* \
  "$dest"/usr/share/info/* "$dest"/usr/share/locale/* "$dest"/etc/resolv.conf
# Container runtimes mount /dev, /proc and /sys themselves; device nodes do
# not belong in an image layer.
rm -rf "${dest:?}"/dev/*

# The images run as this user (no login, no home); /artifacts is where the
# artifact volume is mounted (examples/README.md).
in_root groupadd --gid 10001 mlops
in_root useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
  --shell /usr/sbin/nologin mlops
mkdir -p "$dest/artifacts" "$dest/app"
chmod 0755 "$dest/artifacts" "$dest/app"

# What must still work after the purge.
in_root python3 -c 'import numpy, scipy.stats, sklearn.ensemble, sklearn.datasets as d; d.load_digits()' || {
  log "error: scikit-learn does not import after the purge"
  exit 1
}
log "base rootfs ready in $((SECONDS - start))s: $(du -sm "$dest" | cut -f1) MB"
