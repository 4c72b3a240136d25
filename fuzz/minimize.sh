#!/usr/bin/env bash
# minimize.sh NAME... - after fuzz/run.sh: folds what the fuzzer found
# (build-fuzz/corpus/NAME) into the committed corpus fuzz/corpus/NAME. The
# named seeds (hand-written, crash-*) stay; of the hash-named inputs only
# those that reach new coverage edges are kept (libFuzzer's -merge, without
# hit counters, so the corpus stays small).
set -euo pipefail
cd "$(dirname "$0")/.."
for name in "$@"; do
    bin=build-fuzz/$name
    [ -x "$bin" ] || { echo "minimize: $bin missing (run fuzz/run.sh first)"; exit 1; }
    tmp=$(mktemp -d)
    mkdir "$tmp/out" "$tmp/pool"
    for f in fuzz/corpus/"$name"/*; do
        case $(basename "$f") in
        [0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]*) cp "$f" "$tmp/pool/" ;;
        *) cp "$f" "$tmp/out/" ;;
        esac
    done
    "$bin" -merge=1 -use_counters=0 -max_len=4096 "$tmp/out" "$tmp/pool" \
        "build-fuzz/corpus/$name" >"$tmp/log" 2>&1 || { tail -20 "$tmp/log"; exit 1; }
    rm -rf "fuzz/corpus/$name"
    mv "$tmp/out" "fuzz/corpus/$name"
    echo "$name: $(ls "fuzz/corpus/$name" | wc -l) files, $(cat "fuzz/corpus/$name"/* | wc -c) bytes;" \
        "$(grep -oE '[0-9]+ new coverage edges' "$tmp/log" | tail -1) beyond the named seeds"
    rm -rf "$tmp"
done
