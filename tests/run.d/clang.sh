#!/usr/bin/env bash
# clang.sh - one test of the suite: every C file through clang with -Werror
# (`make clang-check`: clang's warnings differ from gcc's). Run in the plain
# pass only; the other builds compile the same sources.
set -u
cd "$(dirname "$0")/../.."
case "$1" in
build) ;;
*)
    echo "clang -Werror: checked in the plain pass"
    echo "passed=0 failed=0 skipped=0"
    exit 0
    ;;
esac
if ! command -v clang >/dev/null; then
    echo "clang -Werror: clang missing"
    echo "passed=0 failed=0 skipped=1"
    exit 0
fi
if out=$(make -s --no-print-directory clang-check 2>&1); then
    echo "clang -Werror: every source, test, fuzz target and benchmark compiles clean"
    echo "passed=1 failed=0 skipped=0"
else
    echo "$out" | grep -E 'error|warning' | head -30
    echo "passed=0 failed=1 skipped=0"
fi
