#!/usr/bin/env bash
# postgres.sh BUILD - the store's conformance suite and a representative set of
# end-to-end tests (CLI, HTTP API, SDKs, the scheduler) against a throwaway
# PostgreSQL server (tests/tools/pg_server.py), started once and removed after.
# Ends with `passed=N failed=N skipped=N` (tests/run.sh's hook contract).
set -u
cd "$(dirname "$0")/../.."
build=${1:-build}
py=/usr/bin/python3
passed=0 failed=0 skipped=0

# the unit binaries that take their store from SYMBI_TEST_STORE
UNITS="test_store test_store_claim test_store_batch test_store_shared test_sched_loop test_sched_steps test_exec test_policy_approve test_ui"
# end-to-end tests on a PostgreSQL-backed daemon (SYMBI_E2E_STORE, conftest.py)
# the backend's own tests restart the shared server: alone, after the rest
OWN="tests/e2e/test_store_postgres.py"
E2E="tests/e2e/test_cli_basics.py::test_up_stops_cleanly_on_signals
     tests/e2e/test_api_routes.py tests/e2e/test_api_runs.py
     tests/e2e/test_sched_cli.py::test_up_loads_upserts_pauses_and_reloads
     tests/e2e/test_sched_cli.py::test_cron_run_queued_wait_local_and_no_scheduler
     tests/e2e/test_sdk_python.py::test_every_create_option_reaches_the_api
     tests/e2e/test_sdk_python.py::test_schedule_methods
     tests/e2e/test_sdk_python.py::test_runs_and_audit
     tests/e2e/test_policy.py::test_approval_through_cli_and_api
     tests/e2e/test_sched_failures.py::test_dead_letter_after_three_failures_and_reset
     tests/e2e/test_store_retention.py::test_store_prune_cli
     tests/e2e/test_store_retention.py::test_pruner_in_the_daemon"

# the sanitizer pass runs the backend's own end-to-end tests only: the rest of
# the subset is the same C code as the plain pass drives, ASan-checked there
# through the unit binaries above (the 60 s budget of both passes)
case "$build" in *asan*) E2E="" ;; esac

if ! $py tests/tools/pg_server.py check; then
    echo "  PostgreSQL is not installed (mk/packages.txt): skipped"
    echo "passed=0 failed=0 skipped=1"
    exit 0
fi
if ! out=$($py tests/tools/pg_server.py start 2>&1); then
    echo "$out" | tail -20
    echo "passed=0 failed=1 skipped=0"
    exit 1
fi
url=$(sed -n 1p <<<"$out")
dir=$(sed -n 2p <<<"$out")
trap '$py tests/tools/pg_server.py stop "$dir"' EXIT
echo "  server $url"

for name in $UNITS; do
    t="$build/tests/$name"
    [ -x "$t" ] || continue
    out=$(SYMBI_TEST_STORE="$url" CMOCKA_MESSAGE_OUTPUT=TAP timeout 300 "$t" 2>&1)
    rc=$?
    ok=$(grep -cE '^ok ' <<<"$out")
    bad=$(grep -cE '^not ok ' <<<"$out")
    if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then bad=1; fi
    passed=$((passed + ok)); failed=$((failed + bad))
    printf '  %-40s %3d passed, %d failed (postgres)\n' "$name" "$ok" "$bad"
    [ "$bad" -ne 0 ] && echo "$out" | grep -vE '^ok ' | tail -40
done

# pytest LABEL ARGS...: runs the e2e tests ARGS on PostgreSQL, adds its counts
e2e() {
    local label=$1 log rc p f e s summary
    shift
    log=$(mktemp)
    SYMBI_E2E_STORE="$url" SYMBI_TEST_PG_DIR="$dir" SYMBI_BIN="$PWD/$build/symbi" \
        SYMBI_BUILD="$PWD/$build" timeout 600 $py -m pytest -q -p no:cacheprovider -rfEs "$@" \
        >"$log" 2>&1
    rc=$?
    summary=$(grep -E '[0-9]+ (passed|failed|error)' "$log" | tail -1)
    p=$(grep -oE '[0-9]+ passed' <<<"$summary" | grep -oE '[0-9]+'); p=${p:-0}
    f=$(grep -oE '[0-9]+ failed' <<<"$summary" | grep -oE '[0-9]+'); f=${f:-0}
    e=$(grep -oE '[0-9]+ error' <<<"$summary" | grep -oE '[0-9]+'); e=${e:-0}
    s=$(grep -oE '[0-9]+ skipped' <<<"$summary" | grep -oE '[0-9]+'); s=${s:-0}
    if [ "$rc" -ne 0 ] && [ $((f + e)) -eq 0 ]; then e=1; fi
    printf '  %-40s %3d passed, %d failed, %d skipped (postgres)\n' "$label" "$p" "$((f + e))" "$s"
    [ $((f + e)) -ne 0 ] && tail -n 40 "$log"
    rm -f "$log"
    passed=$((passed + p)); failed=$((failed + f + e)); skipped=$((skipped + s))
}

# the others wait on the clock: four files at a time, as tests/run.sh does
# shellcheck disable=SC2086
[ -n "$E2E" ] && e2e "e2e subset" -n 4 --dist loadfile $E2E
e2e "e2e test_store_postgres" $OWN

# the JavaScript SDK's suite on a PostgreSQL-backed daemon (plain pass)
case "$build" in *asan*) ;; *)
    log=$(mktemp)
    SYMBI_E2E_STORE="$url" SYMBI_BIN="$PWD/$build/symbi" timeout 300 \
        node --test --test-reporter=tap sdk/js/test/ >"$log" 2>&1
    rc=$?
    p=$(grep -oE '^# pass [0-9]+' "$log" | grep -oE '[0-9]+'); p=${p:-0}
    f=$(grep -oE '^# fail [0-9]+' "$log" | grep -oE '[0-9]+'); f=${f:-0}
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi
    printf '  %-40s %3d passed, %d failed (postgres)\n' "sdk/js/test" "$p" "$f"
    [ "$f" -ne 0 ] && tail -n 40 "$log"
    rm -f "$log"
    passed=$((passed + p)); failed=$((failed + f))
    ;;
esac
echo "passed=$passed failed=$failed skipped=$skipped"
[ "$failed" -eq 0 ]
