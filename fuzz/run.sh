#!/usr/bin/env bash
# run.sh - builds every fuzz/*_fuzz.c target with clang's libFuzzer (ASan +
# UBSan) and runs each for N seconds (default 60) on its corpus copy.
set -euo pipefail
shopt -s nullglob
cd "$(dirname "$0")/.."
secs=${1:-60}
out=build-fuzz
mkdir -p "$out"
flags="-g -O1 -std=c11 -D_GNU_SOURCE -Iinclude -Isrc -fsanitize=fuzzer-no-link,address,undefined"
pcflags=$(pkg-config --cflags sqlite3 libcurl openssl jansson libmicrohttpd libpq)
libs="$(pkg-config --libs sqlite3 libcurl openssl jansson libmicrohttpd libpq) -lpthread -lm"
objs=()
for src in $(ls src/*/*.c | grep -v '^src/cli/main.c$'); do
    o="$out/obj/${src%.c}.o"; mkdir -p "$(dirname "$o")"
    if [ ! -e "$o" ] || [ "$src" -nt "$o" ]; then clang $flags $pcflags -c "$src" -o "$o"; fi
    objs+=("$o")
done
# the OpenAPI document the http module serves (generated, as the Makefile does)
mkdir -p "$out/gen" "$out/obj/gen"
/usr/bin/python3 mk/openapi_embed.py docs/openapi.yaml "$out/gen/openapi.c" "$out/gen/openapi.json"
clang $flags $pcflags -c "$out/gen/openapi.c" -o "$out/obj/gen/openapi.o"
objs+=("$out/obj/gen/openapi.o")
for target in fuzz/*_fuzz.c; do
    name=$(basename "$target" _fuzz.c)
    clang $flags $pcflags -fsanitize=fuzzer "$target" "${objs[@]}" $libs -o "$out/$name"
    mkdir -p "$out/corpus/$name"
    cp -n fuzz/corpus/"$name"/* "$out/corpus/$name/" 2>/dev/null || true
    echo "== fuzzing $name for ${secs}s"
    "$out/$name" -max_total_time="$secs" -max_len=4096 -timeout=10 \
        "$out/corpus/$name" 2>&1 | tail -5
done
