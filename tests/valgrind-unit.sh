#!/usr/bin/env bash
# valgrind-unit.sh BUILD [NAME...] - the unit test binaries and the fuzz
# corpus replays of BUILD (a build without sanitizers: build, or
# build-valgrind) under valgrind memcheck, one at a time: an invalid access,
# a use of uninitialised memory, a definite leak or a descriptor the process
# opened and left open fails it. Prints one line per binary and the totals.
# NAME limits the run to those binaries (test_json, cron_parse_replay, ...).
# SYMBI_TEST_VALGRIND=1 tells a test what valgrind cannot do (setrlimit
# RLIMIT_NOFILE); cmocka's TAP marks such a test skipped.
set -u
cd "$(dirname "$0")/.."
build=$1
shift
logs="$PWD/$build/valgrind-unit"
rm -rf "$logs"
mkdir -p "$logs"
bins=()
for b in "$build"/tests/test_* "$build"/fuzz/*_replay; do
    [ -f "$b" ] && [ -x "$b" ] || continue
    name=$(basename "$b")
    if [ $# -gt 0 ] && ! printf '%s\n' "$@" | grep -qx "$name"; then continue; fi
    bins+=("$b")
done
if [ ${#bins[@]} -eq 0 ]; then
    echo "valgrind-unit: no unit or replay binaries under $build (build them first: make tests)" >&2
    exit 1
fi
passed=0 failed=0
for b in "${bins[@]}"; do
    name=$(basename "$b")
    args=()
    case "$name" in *_replay) args=("fuzz/corpus/${name%_replay}") ;; esac
    log="$logs/$name.log"
    start=$(date +%s)
    SYMBI_TEST_VALGRIND=1 CMOCKA_MESSAGE_OUTPUT=TAP nice -n 19 timeout 1200 valgrind -q --error-exitcode=99 \
        --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite \
        --track-fds=yes --child-silent-after-fork=yes --suppressions="$PWD/mk/valgrind.supp" \
        --log-file="$log" "$b" "${args[@]}" >"$logs/$name.out" 2>&1
    rc=$?
    # descriptors "<inherited from parent>" are not the binary's own
    fd=0
    awk '/^==[0-9]+== Open / { o = 1; next } o && /<inherited from parent>/ { o = 0; next }
         o { found = 1 } END { exit !found }' "$log" && fd=1
    errs=$(grep -E '^==[0-9]+== ' "$log" |
        grep -cvE '^==[0-9]+== (FILE DESCRIPTORS: |Open |   (at|by) |   <inherited|$)')
    if [ "$rc" -eq 0 ] && [ "$fd" -eq 0 ] && [ "$errs" -eq 0 ]; then
        passed=$((passed + 1)); r=ok
    else
        failed=$((failed + 1)); r="FAILED (exit $rc, $errs memcheck lines, fds left open: $fd; $log)"
    fi
    printf '  %-32s %4ds %s\n' "$name" $(($(date +%s) - start)) "$r"
done
echo "valgrind-unit: ${#bins[@]} binaries, $passed clean, $failed failed (logs in $logs)"
[ "$failed" -eq 0 ]
