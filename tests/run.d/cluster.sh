#!/usr/bin/env bash
# cluster.sh BUILD - the short cluster tests (tests/cluster: three nodes on a
# throwaway PostgreSQL server: load, kill -9 of a node, PostgreSQL away and
# back); they skip, saying why, without PostgreSQL. The full lengths run in
# `make test-cluster`.
set -u
cd "$(dirname "$0")/../.."
build=${1:-build}
log=$(mktemp)
SYMBI_BIN="$PWD/$build/symbi" SYMBI_BUILD="$PWD/$build" timeout 600 \
    /usr/bin/python3 -m pytest -q -s -p no:cacheprovider -rfEs tests/cluster >"$log" 2>&1
rc=$?
grep -E '^cluster:|SKIPPED|FAILED|ERROR|passed|failed' "$log" | tail -n 20
if [ "$rc" -ne 0 ] && [ "$rc" -ne 5 ]; then
    tail -n 60 "$log"
fi
summary=$(grep -E '[0-9]+ (passed|failed|error|skipped)' "$log" | tail -1)
p=$(grep -oE '[0-9]+ passed' <<<"$summary" | grep -oE '[0-9]+'); p=${p:-0}
f=$(grep -oE '[0-9]+ failed' <<<"$summary" | grep -oE '[0-9]+'); f=${f:-0}
e=$(grep -oE '[0-9]+ error' <<<"$summary" | grep -oE '[0-9]+'); e=${e:-0}
s=$(grep -oE '[0-9]+ skipped' <<<"$summary" | grep -oE '[0-9]+'); s=${s:-0}
if [ "$rc" -ne 0 ] && [ "$rc" -ne 5 ] && [ $((f + e)) -eq 0 ]; then e=1; fi
rm -f "$log"
echo "passed=$p failed=$((f + e)) skipped=$s"
