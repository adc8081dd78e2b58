#!/bin/bash
# CPU per 4 KiB hit of one blotcdn build, for back-to-back comparisons of two builds (BENCHMARKS.md,
# "What each change bought"): starts the bench origin and blotcdn from TREE's dist/ (--workers 1,
# pinned to core 0), warms, runs wrk on core 1 for SECS seconds, and prints req/s and the edge's
# CPU µs per request from /proc. Alternate two trees (A B A B …) and compare medians.
#   TREE=/path/to/checkout [ALOG=off|file] [SECS=8] [HITPATH=/hits/4k] bench/cpu-per-hit.sh label
set -eu
TREE=${TREE:-$(cd "$(dirname "$0")/.." && pwd)}
cd "$TREE"
label=${1:-run}
node --import tsx bench/lib/origin-server.ts 18901 >/dev/null & OP=$!
taskset -c 0 node --max-semi-space-size=32 dist/cli/main.js start --workers 1 --origin http://127.0.0.1:18901 --listen 127.0.0.1:18902 --access-log "${ALOG:-off}" >/dev/null 2>&1 & EP=$!
trap 'kill -INT $EP 2>/dev/null; kill $OP 2>/dev/null; wait 2>/dev/null' EXIT
for _ in $(seq 100); do curl -s -o /dev/null http://127.0.0.1:18902${HITPATH:-/hits/4k} && break; sleep 0.2; done
for _ in 1 2 3; do curl -s -o /dev/null http://127.0.0.1:18902${HITPATH:-/hits/4k}; done
start=$(awk '{print $14+$15}' /proc/$EP/stat)
out=$(taskset -c 1 wrk -t1 -c64 -d"${SECS:-8}"s http://127.0.0.1:18902${HITPATH:-/hits/4k})
end=$(awk '{print $14+$15}' /proc/$EP/stat)
reqs=$(echo "$out" | awk '/requests in/{print $1}')
ticks=$(getconf CLK_TCK)
echo "$label rps=$(echo "$out" | awk '/Requests\/sec/{print $2}') cpu_us_per_req=$(echo "scale=2; ($end-$start)*1000000/$ticks/$reqs" | bc)"
