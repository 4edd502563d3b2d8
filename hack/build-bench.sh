#!/usr/bin/env bash
# Builds the benchmark's Go programs (bench/: the controller-runtime baseline
# operator and the workload driver) once, cached outside the clone like the
# plane's tools. The key is the Go version plus a hash of bench/'s go.mod,
# go.sum and Go sources, so an edit rebuilds and anything else reuses.
# Prints the directory holding baseline-go and bench-driver on stdout.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=versions.sh
source "$here/versions.sh"
bench="$here/../bench"

log() { printf '[build-bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

export GOTOOLCHAIN=local CGO_ENABLED=0 GOCACHE="$GO_BUILD_CACHE"
key="$( (go env GOVERSION; cd "$bench" && find . -name '*.go' -o -name go.mod -o -name go.sum |
  LC_ALL=C sort | xargs sha256sum) | sha256sum | cut -c1-16)"
out="$MLOPS_CACHE/bin/bench-$key"
if [ -x "$out/baseline-go" ] && [ -x "$out/bench-driver" ]; then
  log "cached: $out"
  echo "$out"
  exit 0
fi
mkdir -p "$out"
start=$SECONDS
log "building baseline-go and bench-driver into $out (cold: several minutes on 2 cores)"
(cd "$bench" && GOFLAGS="-trimpath -mod=readonly" go build -o "$out/baseline-go.tmp" ./baseline-go &&
  GOFLAGS="-trimpath -mod=readonly" go build -o "$out/bench-driver.tmp" ./driver)
mv "$out/baseline-go.tmp" "$out/baseline-go"
mv "$out/bench-driver.tmp" "$out/bench-driver"
log "built in $((SECONDS - start))s"
echo "$out"
