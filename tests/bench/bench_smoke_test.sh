#!/usr/bin/env bash
# `make bench` in small (N=50, both operators), so it cannot rot: fails when
# either operator or the floor does not converge (the driver exits non-zero),
# or when the table or the JSON misses a figure. No timing assertions: the
# figures are printed, not judged. Usage: bench_smoke_test.sh BUILD_DIR
set -euo pipefail
cd "$(dirname "$0")/../.."
build_dir="${1:?build dir}"
work="$(mktemp -d "${TMPDIR:-/tmp}/bench-smoke.XXXXXX")"
trap 'rm -rf "$work"' EXIT

BUILD_DIR="$build_dir" BENCH_NO_BUILD=1 N=50 M=5 K=5 BENCH_JSON="$work/bench.json" \
  BENCH_ARGS="-settle 3s -resync-window 3s -timeout 5m" hack/bench.sh | tee "$work/table.md"

fail() { echo "bench smoke: FAIL: $*" >&2; exit 1; }
grep -q '^| figure | mlops-operator | baseline | floor | mlops-operator / baseline |$' "$work/table.md" ||
  fail "table header missing"
for row in "time to converge (s)" "ratio to floor" "idle RSS, 0 objects (MiB)" "peak RSS at N (MiB)" \
  "settled RSS at N (MiB)" "CPU seconds, workload" "writes in a forced resync (must be 0)" \
  "event-to-reconcile p50 (ms)" "event-to-reconcile p99 (ms)" "threads settled" "open fds settled"; do
  line="$(grep -F "| $row |" "$work/table.md")" || fail "table row '$row' missing"
  # figure + two operators + floor + ratio = 5 cells between 6 bars
  [ "$(tr -cd '|' <<<"$line" | wc -c)" -eq 6 ] || fail "table row '$row' malformed: $line"
done

python3 - "$work/bench.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
def need(cond, what):
    if not cond:
        sys.exit("bench smoke: FAIL: JSON: " + what)
need(d["parameters"]["n"] == 50, "parameters.n")
need(d["floor"]["converge_seconds"] > 0, "floor.converge_seconds")
names = [o["name"] for o in d["operators"]]
need(names == ["mlops-operator", "baseline"], "operators %s" % names)
for o in d["operators"]:
    n = o["name"]
    for k in ("converge_seconds", "ratio_to_floor", "idle_rss_bytes", "peak_rss_bytes",
              "settled_rss_bytes", "idle_threads", "idle_fds"):
        need(isinstance(o.get(k), (int, float)) and o[k] > 0, "%s.%s = %r" % (n, k, o.get(k)))
    need(o["peak_rss_bytes"] >= o["settled_rss_bytes"], n + ": peak below settled")
    need(o["cached_objects"] == 150, n + ".cached_objects")
    need(o["requests_by_method"].get("POST", 0) >= 50, n + ": fewer POSTs than Jobs")
    need(isinstance(o["forced_resync"]["writes"], int), n + ".forced_resync.writes")
    for q in ("queue_latency_p50_seconds", "queue_latency_p99_seconds"):
        need(o[q] is None or o[q] >= 0, n + "." + q)
print("bench smoke: table and JSON well formed; both operators converged")
PY
