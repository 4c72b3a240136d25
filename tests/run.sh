#!/usr/bin/env bash
# run.sh - runs the whole suite for each build directory given (unit tests,
# fuzz-corpus replay, end-to-end tests, the JavaScript SDK's node --test suite,
# and each tests/run.d/<name>.sh hook)
# and ends with `N passed, N failed`.
set -u
cd "$(dirname "$0")/.."
passed=0 failed=0 skipped=0
failures=()
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:halt_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export PYTHONDONTWRITEBYTECODE=1

# once per suite: each library is included by its own module (STYLE habit 1)
echo "== module dependencies"
if out=$(mk/lint-deps.sh 2>&1); then
    passed=$((passed + 1)); echo "  $out"
else
    failed=$((failed + 1)); failures+=("lint-deps"); echo "$out" | sed 's/^/  /'
fi

for build in "$@"; do
    echo "== $build: unit tests"
    for t in "$build"/tests/test_*; do
        [ -x "$t" ] || continue
        out=$(CMOCKA_MESSAGE_OUTPUT=TAP timeout 300 "$t" 2>&1)
        rc=$?
        ok=$(grep -cE '^ok ' <<<"$out")
        # cmocka's TAP writes a skipped test as `not ok N # SKIP`
        skip=$(grep -cE '^(not )?ok [0-9]+ # SKIP' <<<"$out")
        bad=$(grep -E '^not ok ' <<<"$out" | grep -cvE '# SKIP')
        if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then bad=1; fi
        passed=$((passed + ok)); failed=$((failed + bad)); skipped=$((skipped + skip))
        printf '  %-40s %3d passed, %d failed\n' "$(basename "$t")" "$ok" "$bad"
        if [ "$bad" -ne 0 ]; then
            failures+=("$t")
            echo "$out" | grep -vE '^ok ' | tail -40
        fi
    done

    echo "== $build: fuzz corpus replay"
    for r in "$build"/fuzz/*_replay; do
        [ -x "$r" ] || continue
        name=$(basename "$r" _replay)
        if out=$(timeout 300 "$r" "fuzz/corpus/$name" 2>&1); then
            passed=$((passed + 1))
            printf '  %-40s ok (%s)\n' "$name" "$(tail -1 <<<"$out")"
        else
            failed=$((failed + 1)); failures+=("fuzz $name ($build)")
            echo "$out" | tail -30
        fi
    done

    echo "== $build: end-to-end tests"
    log=$(mktemp)
    # the tests mostly wait on the clock: four files at a time (pytest-xdist,
    # a file's tests in one process) keep two cores busy; SYMBI_E2E_WORKERS=0
    # runs them one by one
    workers=${SYMBI_E2E_WORKERS:-4}
    xdist=()
    [ "$workers" != 0 ] && xdist=(-n "$workers" --dist loadfile)
    SYMBI_BIN="$PWD/$build/symbi" SYMBI_BUILD="$PWD/$build" timeout 900 \
        /usr/bin/python3 -m pytest -q -p no:cacheprovider -rfE "${xdist[@]}" tests/e2e >"$log" 2>&1
    rc=$?
    tail -n 25 "$log" | sed 's/^/  /'
    summary=$(grep -E '[0-9]+ (passed|failed|error)' "$log" | tail -1)
    p=$(grep -oE '[0-9]+ passed' <<<"$summary" | grep -oE '[0-9]+'); p=${p:-0}
    f=$(grep -oE '[0-9]+ failed' <<<"$summary" | grep -oE '[0-9]+'); f=${f:-0}
    e=$(grep -oE '[0-9]+ error' <<<"$summary" | grep -oE '[0-9]+'); e=${e:-0}
    s=$(grep -oE '[0-9]+ skipped' <<<"$summary" | grep -oE '[0-9]+'); s=${s:-0}
    if [ "$rc" -ne 0 ] && [ "$rc" -ne 5 ] && [ $((f + e)) -eq 0 ]; then e=1; fi
    passed=$((passed + p)); failed=$((failed + f + e)); skipped=$((skipped + s))
    [ $((f + e)) -ne 0 ] && failures+=("e2e ($build)")
    rm -f "$log"

    echo "== $build: JavaScript SDK tests (node --test)"
    log=$(mktemp)
    SYMBI_BIN="$PWD/$build/symbi" timeout 600 node --test --test-reporter=tap sdk/js/test/ \
        >"$log" 2>&1
    rc=$?
    p=$(grep -oE '^# pass [0-9]+' "$log" | grep -oE '[0-9]+'); p=${p:-0}
    f=$(grep -oE '^# fail [0-9]+' "$log" | grep -oE '[0-9]+'); f=${f:-0}
    s=$(grep -oE '^# skipped [0-9]+' "$log" | grep -oE '[0-9]+'); s=${s:-0}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    printf '  %-40s %3d passed, %d failed, %d skipped\n' "sdk/js/test" "$p" "$f" "$s"
    if [ "$f" -ne 0 ]; then
        failures+=("js sdk ($build)")
        grep -vE '^ *(ok |# Subtest|---|\.\.\.|duration_ms)' "$log" | tail -40
    fi
    passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
    rm -f "$log"

    # further suites (tests/run.d/<name>.sh BUILD): each prints its own lines
    # and ends with `passed=N failed=N skipped=N`
    for hook in tests/run.d/*.sh; do
        [ -x "$hook" ] || continue
        name=$(basename "$hook" .sh)
        echo "== $build: $name"
        log=$(mktemp)
        timeout 900 "$hook" "$build" >"$log" 2>&1
        rc=$?
        last=$(grep -E '^passed=[0-9]+ failed=[0-9]+' "$log" | tail -1)
        grep -vE '^passed=[0-9]+ failed=[0-9]+' "$log" | tail -n 30 | sed 's/^/  /'
        p=$(sed -nE 's/.*passed=([0-9]+).*/\1/p' <<<"$last"); p=${p:-0}
        f=$(sed -nE 's/.*failed=([0-9]+).*/\1/p' <<<"$last"); f=${f:-0}
        s=$(sed -nE 's/.*skipped=([0-9]+).*/\1/p' <<<"$last"); s=${s:-0}
        if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
        passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + s))
        [ "$f" -ne 0 ] && failures+=("$name ($build)")
        rm -f "$log"
    done
done

if [ ${#failures[@]} -ne 0 ]; then
    echo "failing: ${failures[*]}"
fi
if [ "$skipped" -ne 0 ]; then
    echo "$passed passed, $failed failed, $skipped skipped"
else
    echo "$passed passed, $failed failed"
fi
[ "$failed" -eq 0 ]
