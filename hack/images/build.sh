#!/usr/bin/env bash
# Builds the root filesystems of the example images on this machine, without a
# registry or Docker, cached by the hash of their inputs outside the clone:
#
#   $MLOPS_CACHE/images/base-<key>/rootfs      Debian bookworm + python3-sklearn,
#                                              toolchain purged (base.sh)
#   $MLOPS_CACHE/images/trainer-<key>/rootfs   base + /app/train.py
#   $MLOPS_CACHE/images/server-<key>/rootfs    base + /app/server.py
#   .../<image>-<key>/image.json               reference, rootfs path and the OCI
#                                              image config (User, Entrypoint, Env,
#                                              WorkingDir) for the archive step
#
# The base key hashes base.sh, packages.txt, purge.txt, the suite and the
# mirror; an image key hashes the base key, this script and the files the
# image contains. A warm run only hashes and returns. The image rootfs is a
# hard-linked copy of the base (no extra space), plus /app.
#
# stdout: shell assignments for the caller, e.g. eval "$(hack/images/build.sh)":
#   MLOPS_IMAGE_BASE_DIR=...
#   MLOPS_IMAGE_TRAINER_DIR=... MLOPS_IMAGE_TRAINER_REF=localhost/mlops-trainer:<key12>
#   MLOPS_IMAGE_SERVER_DIR=...  MLOPS_IMAGE_SERVER_REF=localhost/mlops-server:<key12>
# stderr: progress. Needs root for a cold base build (debootstrap, chroot).
# MLOPS_DEBIAN_MIRROR overrides the mirror (default: the one apt uses here).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
# shellcheck source=../versions.sh
source "$repo/hack/versions.sh"
images="$MLOPS_CACHE/images"
suite=bookworm

# shellcheck source=lib.sh
source "$here/lib.sh"
sha() { sha256sum | cut -d' ' -f1; }

# The Debian mirror apt already uses for $suite (deb822 or one-line sources).
detect_mirror() {
  local f uri
  for f in /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list /etc/apt/sources.list; do
    [ -r "$f" ] || continue
    uri=$(awk -v suite="$suite" '
      /^URIs:/ { uri = $2 }
      /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == suite && uri != "") { print uri; exit } }
      /^deb / { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { u = $i; if ($(i + 1) == suite) { print u; exit } } }
    ' "$f")
    if [ -n "$uri" ]; then
      echo "${uri%/}"
      return
    fi
  done
  echo "http://deb.debian.org/debian"
}

# Removes a directory left by an interrupted build, after unmounting what
# debootstrap may have left mounted inside it (its /proc and /sys).
remove_tree() {
  local dir=$1 m
  [ -e "$dir" ] || return 0
  while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done < <(awk -v d="$dir/" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r)
  rm -rf --one-file-system "$dir"
}

mirror="${MLOPS_DEBIAN_MIRROR:-$(detect_mirror)}"
base_key=$( { cat "$here/base.sh" "$here/packages.txt" "$here/purge.txt"; echo "$suite $mirror"; } | sha)
base="$images/base-${base_key:0:16}"

# name | files ("repo-path:/image/path" ...) | entrypoint (JSON) | extra env (JSON strings)
image_specs=(
  "trainer|examples/trainer/train.py:/app/train.py|[\"/usr/bin/python3\",\"/app/train.py\"]|"
  "server|examples/server/server.py:/app/server.py|[\"/usr/bin/python3\",\"/app/server.py\"]|,\"MLOPS_LISTEN=0.0.0.0:8080\""
)
common_env='"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin","LANG=C.UTF-8","PYTHONDONTWRITEBYTECODE=1","PYTHONUNBUFFERED=1","OPENBLAS_NUM_THREADS=1","OMP_NUM_THREADS=1"'

images_lock "$images"

if [ -f "$base/.complete" ]; then
  log "base cached: $base"
else
  [ "$(id -u)" -eq 0 ] || { log "error: building the base rootfs needs root (debootstrap, chroot)"; exit 1; }
  if ! command -v debootstrap >/dev/null; then
    log "installing debootstrap ..."
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >&2
  fi
  log "building base rootfs $base (cold: 3-4 minutes, downloads about 160 MB of packages)"
  remove_tree "$base.tmp"
  bash "$here/base.sh" "$base.tmp/rootfs" "$mirror" "$images/debs"
  touch "$base.tmp/.complete"
  mv "$base.tmp" "$base"
fi

printf 'MLOPS_IMAGE_BASE_DIR=%q\n' "$base"
for spec in "${image_specs[@]}"; do
  IFS='|' read -r name files entrypoint extra_env <<<"$spec"
  key=$( {
    echo "$base_key"
    cat "$here/build.sh"
    echo "$spec"
    for f in $files; do sha256sum <"$repo/${f%%:*}"; done
  } | sha)
  dir="$images/$name-${key:0:16}"
  ref="localhost/mlops-$name:${key:0:12}"
  if [ -f "$dir/.complete" ]; then
    log "$name cached: $dir"
  else
    start=$SECONDS
    remove_tree "$dir.tmp"
    mkdir -p "$dir.tmp"
    cp -al "$base/rootfs" "$dir.tmp/rootfs"
    for f in $files; do
      src="$repo/${f%%:*}" dst="$dir.tmp/rootfs/${f#*:}"
      rm -f "$dst"  # never write through a hard link into the base
      install -m 0644 "$src" "$dst"
    done
    cat >"$dir.tmp/image.json" <<EOF
{
  "ref": "$ref",
  "rootfs": "$dir/rootfs",
  "inputsKey": "sha256:$key",
  "config": {
    "User": "10001:10001",
    "Entrypoint": $entrypoint,
    "Env": [$common_env$extra_env],
    "WorkingDir": "/app"
  }
}
EOF
    touch "$dir.tmp/.complete"
    mv "$dir.tmp" "$dir"
    log "$name built in $((SECONDS - start))s: $dir ($(du -sm "$dir/rootfs" | cut -f1) MB)"
  fi
  upper=$(echo "$name" | tr '[:lower:]' '[:upper:]')
  printf 'MLOPS_IMAGE_%s_DIR=%q\nMLOPS_IMAGE_%s_REF=%q\n' "$upper" "$dir" "$upper" "$ref"
done
