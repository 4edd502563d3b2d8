#!/usr/bin/env bash
# Puts the example images (trainer, server) on the plane's real node:
# builds them if needed (hack/images/build.sh), turns each into an OCI archive
# (hack/node/oci-archive.sh) and imports it into the node's containerd
# (hack/node/import-image.sh). Every step is cached, so a warm run takes a
# second or two:
#   - the root filesystems by build.sh's input hash;
#   - the archives in $MLOPS_CACHE/images/archives/<name>-<inputsKey16>.tar
#     (outside the clone), with their `<ref> sha256:<config digest>` line
#     beside them: the archive is byte-identical for the same inputs;
#   - the import is skipped when the node already has the same manifest.
#
# stdout: shell assignments, e.g. eval "$(hack/images/load.sh)":
#   MLOPS_IMAGE_TRAINER_REF=localhost/mlops-trainer:<key12>
#   MLOPS_IMAGE_TRAINER_ID=sha256:<config digest>   (the imageID pods report)
#   MLOPS_IMAGE_SERVER_REF=...  MLOPS_IMAGE_SERVER_ID=...
# (and build.sh's MLOPS_IMAGE_*_DIR lines). stderr: progress.
# Exits 2 with the reason when the plane has no real node (import-image.sh).
# The plane is this checkout's .cluster, or $MLOPS_CLUSTER_DIR.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
# shellcheck source=../versions.sh
source "$repo/hack/versions.sh"
archives="$MLOPS_CACHE/images/archives"

# shellcheck source=lib.sh
source "$here/lib.sh"

built="$("$here/build.sh")"
printf '%s\n' "$built"
eval "$built"

mkdir -p "$archives"
# The node's containerd (import-image.sh exits 2 with the reason when the
# plane has no real node, before anything uses this).
# shellcheck source=../plane/lib.sh
source "$repo/hack/plane/lib.sh"
sock="$(
  set +u
  # shellcheck disable=SC1090
  [ -f "$ENV_FILE" ] && . "$ENV_FILE"
  printf '%s\n' "${REAL_NODE_CONTAINERD_ADDRESS:-}"
)"
ctr=(ctr --address "$sock" --namespace k8s.io)
# An image's rootfs is hard links into the base, shared with every other
# image built from it. Another build linking or unlinking them meanwhile (an
# image of other inputs, the images test's own cache) changes their ctime, and
# tar fails the archive with "file changed as we read it": hold build.sh's
# lock while archiving (taken after build.sh has exited).
images_lock "$MLOPS_CACHE/images"
for name in trainer server; do
  upper=$(echo "$name" | tr '[:lower:]' '[:upper:]')
  dir_var="MLOPS_IMAGE_${upper}_DIR"
  dir="${!dir_var}"
  # The image's reference, inputs key and OCI config (build.sh's image.json),
  # one line each; the archive's options follow from the config alone (no
  # value holds a newline).
  mapfile -t meta < <(python3 -c '
import json, sys
img = json.load(open(sys.argv[1]))
c = img["config"]
out = [img["ref"], img["inputsKey"].split(":", 1)[1][:16]]
out += ["--user", c["User"], "--workdir", c.get("WorkingDir", "/")]
for a in c.get("Entrypoint", []): out += ["--entrypoint", a]
for a in c.get("Cmd") or []: out += ["--cmd", a]
for e in c.get("Env", []): out += ["--env", e]
print("\n".join(out))' "$dir/image.json")
  ref=${meta[0]} key=${meta[1]}
  args=("${meta[@]:2}")
  tar="$archives/$name-$key.tar"
  if [ -f "$tar" ] && [ -f "$tar.id" ]; then
    log "$name archive cached: $tar"
  else
    start=$SECONDS
    log "$name: archiving $dir/rootfs (about 360 MB; 20-60 s)"
    "$repo/hack/node/oci-archive.sh" "${args[@]}" "$dir/rootfs" "$tar.tmp" "$ref" >"$tar.id.tmp"
    mv "$tar.tmp" "$tar"
    mv "$tar.id.tmp" "$tar.id"
    log "$name archived in $((SECONDS - start))s: $tar ($(du -m "$tar" | cut -f1) MB)"
  fi
  read -r imported_ref image_id <"$tar.id"
  "$repo/hack/node/import-image.sh" "$tar" >&2
  # The kubelet reports a locally imported image by its config digest, so
  # that is what a TrainingRun records, and a reproduction pins the image to
  # `<repository>@<config digest>`. With a registry that name would be the
  # manifest's; here containerd resolves it only when an image carries it:
  # give the imported image that second name too.
  pinned="${imported_ref%:*}@$image_id"
  if ! "${ctr[@]}" images ls -q "name==$pinned" | grep -qx "$pinned"; then
    "${ctr[@]}" images tag --force "$imported_ref" "$pinned" >/dev/null
    log "$name also named $pinned (what a reproduction pins)"
  fi
  printf 'MLOPS_IMAGE_%s_REF=%q\nMLOPS_IMAGE_%s_ID=%q\n' "$upper" "$imported_ref" "$upper" "$image_id"
done
exec 9>&-
