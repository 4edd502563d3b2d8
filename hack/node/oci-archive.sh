#!/usr/bin/env bash
# Turns a directory (a root filesystem) into an OCI image archive that
# `hack/node/import-image.sh` (or `ctr images import`) loads, without any
# registry or container builder.
#
# Usage:
#   hack/node/oci-archive.sh [options] <rootfs-dir> <out.tar> <name:tag>
# Options (each may repeat where it makes sense):
#   --entrypoint <arg>   appended to the image's Entrypoint (repeat for argv)
#   --cmd <arg>          appended to the image's Cmd (repeat for argv)
#   --env KEY=value      an environment variable of the image (repeatable)
#   --user <uid[:gid]>   the user the process runs as (default: root)
#   --workdir <dir>      the working directory (default: /)
#   --label KEY=value    an image label (repeatable)
#
# The archive is one uncompressed layer (the directory's contents, owned by
# root, sorted, timestamps zeroed), its config and manifest, each addressed by
# sha256, plus index.json naming the image. The same directory content and
# options give a byte-identical archive, so callers can cache archives by the
# hash of their inputs. <name:tag> is normalised as the kubelet does
# (`pause:1` -> `docker.io/library/pause:1`); pods refer to it by either form
# with `imagePullPolicy: Never` or `IfNotPresent`.
#
# Prints, on stdout, one line: `<normalised name> sha256:<config digest>`;
# the second field is the image ID the kubelet reports as a container's
# `imageID` for a locally imported image.
set -euo pipefail

die() {
  echo "oci-archive: $*" >&2
  exit 1
}

entrypoint=() cmd=() envs=() labels=() user="" workdir="/"
positional=()
while [ $# -gt 0 ]; do
  case "$1" in
    --entrypoint) entrypoint+=("${2?--entrypoint needs a value}") && shift 2 ;;
    --cmd) cmd+=("${2?--cmd needs a value}") && shift 2 ;;
    --env) envs+=("${2?--env needs KEY=value}") && shift 2 ;;
    --label) labels+=("${2?--label needs KEY=value}") && shift 2 ;;
    --user) user="${2?--user needs a value}" && shift 2 ;;
    --workdir) workdir="${2?--workdir needs a value}" && shift 2 ;;
    -h | --help)
      sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
      exit 0
      ;;
    --) shift && positional+=("$@") && break ;;
    -*) die "unknown option $1 (see --help)" ;;
    *) positional+=("$1") && shift ;;
  esac
done
[ ${#positional[@]} -eq 3 ] || die "usage: oci-archive.sh [options] <rootfs-dir> <out.tar> <name:tag>"
rootfs=${positional[0]} out=${positional[1]} name=${positional[2]}
[ -d "$rootfs" ] || die "$rootfs is not a directory"
case "$name" in *:*) ;; *) name="$name:latest" ;; esac

work="$(mktemp -d "${TMPDIR:-/tmp}/oci-archive.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/blobs/sha256"

# Reproducible layer: fixed order, owner and time; no pax headers that carry
# access times.
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu \
  -C "$rootfs" -cf "$work/layer.tar" .
layer_digest="$(sha256sum "$work/layer.tar" | cut -d' ' -f1)"
layer_size="$(stat -c %s "$work/layer.tar")"
mv "$work/layer.tar" "$work/blobs/sha256/$layer_digest"

# Config, manifest and index are written by python3 (JSON escaping); each
# blob is named by its sha256. The arrays travel NUL-terminated, base64
# encoded ("" for an empty one).
nul_b64() { if [ $# -gt 0 ]; then printf '%s\0' "$@" | base64 -w0; fi; }
python3 - "$work" "$name" "$layer_digest" "$layer_size" "$user" "$workdir" \
  "$(nul_b64 ${entrypoint[@]+"${entrypoint[@]}"})" "$(nul_b64 ${cmd[@]+"${cmd[@]}"})" \
  "$(nul_b64 ${envs[@]+"${envs[@]}"})" "$(nul_b64 ${labels[@]+"${labels[@]}"})" <<'EOF'
import base64, hashlib, json, os, sys

work, name, layer_digest, layer_size, user, workdir = sys.argv[1:7]
def arr(b64):
    raw = base64.b64decode(b64).decode()
    return [x for x in raw.split("\0")[:-1]] if raw else []
entrypoint, cmd, envs, labels = (arr(x) for x in sys.argv[7:11])

def normalise(ref):
    # The reference normalisation of the kubelet/containerd: a name without a
    # registry host gets docker.io, a single-component one library/.
    first = ref.split("/", 1)[0]
    if "/" not in ref or not ("." in first or ":" in first or first == "localhost"):
        if "/" not in ref:
            ref = "library/" + ref
        ref = "docker.io/" + ref
    return ref
name = normalise(name)

def blob(obj):
    data = json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(work, "blobs", "sha256", digest), "wb") as f:
        f.write(data)
    return digest, len(data)

env = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
env = [e for e in env if not any(x.startswith("PATH=") for x in envs)] + envs
cfg = {"Env": env, "WorkingDir": workdir}
if entrypoint: cfg["Entrypoint"] = entrypoint
if cmd: cfg["Cmd"] = cmd
if user: cfg["User"] = user
if labels: cfg["Labels"] = dict(l.split("=", 1) for l in labels)
config_digest, config_size = blob({
    "architecture": "amd64" if os.uname().machine == "x86_64" else os.uname().machine,
    "os": "linux",
    "config": cfg,
    "rootfs": {"type": "layers", "diff_ids": ["sha256:" + layer_digest]},
    "history": [{"created_by": "hack/node/oci-archive.sh"}],
})
manifest_digest, manifest_size = blob({
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
               "digest": "sha256:" + config_digest, "size": config_size},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                "digest": "sha256:" + layer_digest, "size": int(layer_size)}],
})
tag = name.rsplit(":", 1)[1] if ":" in name.rsplit("/", 1)[-1] else "latest"
with open(os.path.join(work, "index.json"), "w") as f:
    json.dump({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "digest": "sha256:" + manifest_digest, "size": manifest_size,
        # containerd names the imported image after io.containerd.image.name.
        "annotations": {"io.containerd.image.name": name,
                        "org.opencontainers.image.ref.name": tag}}]},
        f, sort_keys=True, separators=(",", ":"))
with open(os.path.join(work, "oci-layout"), "w") as f:
    f.write('{"imageLayoutVersion":"1.0.0"}')
with open(os.path.join(work, "result"), "w") as f:
    f.write(f"{name} sha256:{config_digest}\n")
EOF

mkdir -p "$(dirname "$out")"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner --format=gnu \
  -C "$work" -cf "$out.tmp" oci-layout index.json blobs
mv "$out.tmp" "$out"
cat "$work/result"
