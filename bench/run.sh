#!/usr/bin/env bash
# run.sh - `make bench`: installs the npm peers (bench/peers, `npm ci` from
# its lockfile, once), then bench/bench.py measures every area and writes
# bench/REPORT.md. BUILD (default build-bench) names the -O2 build to measure;
# further arguments pick areas (cron add latency burst throughput nodes alone).
set -eu
cd "$(dirname "$0")/.."
build=${1:-build-bench}
shift || true
start=$(date +%s)
peers=bench/peers
# node_modules/.bench-lock: the lockfile node_modules was installed from
if ! cmp -s "$peers/package-lock.json" "$peers/node_modules/.bench-lock" 2>/dev/null; then
    echo "bench: npm ci in $peers"
    (cd "$peers" && npm ci --no-audit --no-fund --loglevel=error)
    cp "$peers/package-lock.json" "$peers/node_modules/.bench-lock"
fi
mkdir -p bench/out
/usr/bin/python3 bench/bench.py "$build" "$@"
echo "bench: make bench took $(( $(date +%s) - start )) s after the build"
