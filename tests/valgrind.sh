#!/usr/bin/env bash
# valgrind.sh BUILD [PYTEST ARGS...] - the end-to-end tests with every symbi
# process (daemon and CLI) under valgrind memcheck: BUILD/valgrind/symbi is a
# wrapper the tests run as SYMBI_BIN; an error in any process makes it exit
# 99 and leaves BUILD/valgrind/logs/vg.PID.log. SYMBI_TEST_SLOW scales the
# tests' readiness waits (valgrind is ~20x slower).
set -u
cd "$(dirname "$0")/.."
build=$1
shift
[ $# -gt 0 ] || set -- tests/e2e
dir="$PWD/$build/valgrind"
rm -rf "$dir"
mkdir -p "$dir/logs"
cat >"$dir/symbi" <<WRAP
#!/bin/sh
exec valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \\
    --show-leak-kinds=definite --track-fds=no --child-silent-after-fork=yes \\
    --suppressions=$PWD/mk/valgrind.supp --log-file=$dir/logs/vg.%p.log \\
    $PWD/$build/symbi "\$@"
WRAP
chmod +x "$dir/symbi"
SYMBI_BIN="$dir/symbi" SYMBI_BUILD="$PWD/$build" SYMBI_TEST_SLOW=${SYMBI_TEST_SLOW:-10} \
    nice -n 19 /usr/bin/python3 -m pytest -q -p no:cacheprovider -rfE "$@"
rc=$?
errs=0
# with -q a log holds only errors (==PID== lines) and valgrind's own notes
# (--PID-- lines, e.g. pidfd_open, which it does not know and symbi then
# does without)
for f in "$dir"/logs/vg.*.log; do
    if grep -qE '^==[0-9]+== ' "$f"; then errs=$((errs + 1)); else rm -f "$f"; fi
done
echo "valgrind: $errs process(es) with memcheck errors (logs in $dir/logs)"
[ "$rc" -eq 0 ] && [ "$errs" -eq 0 ]
