#!/usr/bin/env bash
# run.sh - runs every benchmark: the compiled bench/bench_*.c programs, then
# the bench/bench_*.sh and bench/bench_*.py scripts, each printing its own
# figures. BUILD (default build) names the build directory to measure.
set -u
cd "$(dirname "$0")/.."
build=${1:-build}
export SYMBI_BIN="$PWD/$build/symbi" SYMBI_BUILD="$PWD/$build"
mkdir -p bench/out
status=0
for b in "$build"/bench/bench_*; do
    [ -x "$b" ] || continue
    echo "== $(basename "$b")"
    "$b" || status=1
done
for s in bench/bench_*.sh; do
    [ -e "$s" ] || continue
    echo "== $(basename "$s")"
    bash "$s" "$build" || status=1
done
for s in bench/bench_*.py; do
    [ -e "$s" ] || continue
    echo "== $(basename "$s")"
    /usr/bin/python3 "$s" "$build" || status=1
done
exit $status
