#!/usr/bin/env bash
# run.sh - builds fuzz/*_fuzz.c targets with clang's libFuzzer (ASan + UBSan)
# and runs each for N seconds (default 60) on its corpus copy, one at a time.
#   fuzz/run.sh [SECONDS [NAME...]]   (no NAME: every target)
# Logs: build-fuzz/logs/NAME.log (libFuzzer's final stats at the end); new
# inputs: build-fuzz/corpus/NAME/; crashes: build-fuzz/crash-NAME-*.
set -euo pipefail
shopt -s nullglob
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
out=build-fuzz
mkdir -p "$out/logs"
flags="-g -O1 -std=c11 -D_GNU_SOURCE -Iinclude -Isrc -fsanitize=fuzzer-no-link,address,undefined"
pcflags=$(pkg-config --cflags sqlite3 libcurl openssl jansson libmicrohttpd libpq)
libs="$(pkg-config --libs sqlite3 libcurl openssl jansson libmicrohttpd libpq) -lpthread -lm"
objs=()
for src in $(ls src/*/*.c | grep -v '^src/cli/main.c$'); do
    o="$out/obj/${src%.c}.o"; mkdir -p "$(dirname "$o")"
    if [ ! -e "$o" ] || [ "$src" -nt "$o" ] || [ -n "$(find src include -name '*.h' -newer "$o" | head -1)" ]; then
        clang $flags $pcflags -c "$src" -o "$o"
    fi
    objs+=("$o")
done
# the OpenAPI document the http module serves (generated, as the Makefile does)
mkdir -p "$out/gen" "$out/obj/gen"
/usr/bin/python3 mk/openapi_embed.py docs/openapi.yaml "$out/gen/openapi.c" "$out/gen/openapi.json"
clang $flags $pcflags -c "$out/gen/openapi.c" -o "$out/obj/gen/openapi.o"
objs+=("$out/obj/gen/openapi.o")
# and the dashboard's files (mk/ui.mk)
/usr/bin/python3 mk/ui_embed.py "$out/gen/ui_files.c" $(ls ui/*.html ui/*.css ui/*.js ui/*.svg 2>/dev/null | sort)
clang $flags $pcflags -c "$out/gen/ui_files.c" -o "$out/obj/gen/ui_files.o"
objs+=("$out/obj/gen/ui_files.o")
names=("$@")
if [ ${#names[@]} -eq 0 ]; then
    for target in fuzz/*_fuzz.c; do names+=("$(basename "$target" _fuzz.c)"); done
fi
for name in "${names[@]}"; do
    clang $flags $pcflags -fsanitize=fuzzer "fuzz/${name}_fuzz.c" "${objs[@]}" $libs -o "$out/$name"
    mkdir -p "$out/corpus/$name"
    cp -n fuzz/corpus/"$name"/* "$out/corpus/$name/" 2>/dev/null || true
    echo "== fuzzing $name for ${secs}s"
    "$out/$name" -max_total_time="$secs" -max_len=4096 -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$out/crash-$name-" "$out/corpus/$name" >"$out/logs/$name.log" 2>&1 || true
    grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE)' "$out/logs/$name.log" | tail -1
    grep -E '^stat::|ERROR|SUMMARY' "$out/logs/$name.log" || true
done
