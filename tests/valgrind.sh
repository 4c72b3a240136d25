#!/usr/bin/env bash
# valgrind.sh BUILD [PYTEST ARGS...] - the end-to-end tests with every symbi
# process (daemon and CLI) under valgrind memcheck: BUILD/valgrind/symbi is a
# wrapper the tests run as SYMBI_BIN; an error in any process makes it exit
# 99 and leaves BUILD/valgrind/logs/vg.PID.log. SYMBI_TEST_SLOW scales the
# tests' readiness waits (valgrind is ~20x slower). VALGRIND_FDS=yes adds
# --track-fds=yes: a process that exits with a descriptor it opened still
# open is counted apart (an fd leak), with the opening stack in its log.
set -u
cd "$(dirname "$0")/.."
build=$1
shift
[ $# -gt 0 ] || set -- tests/e2e
dir="$PWD/$build/valgrind"
fds=${VALGRIND_FDS:-no}
vg=$(command -v valgrind) || { echo "valgrind.sh: valgrind missing"; exit 1; }
rm -rf "$dir"
mkdir -p "$dir/logs"
# tests run symbi as nobody too (setpriv): its valgrind writes its log here
chmod 1777 "$dir/logs"
# valgrind by its path: tests run symbi with PATH emptied (bwrap absent)
cat >"$dir/symbi" <<WRAP
#!/bin/sh
exec $vg -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \\
    --show-leak-kinds=definite --track-fds=$fds --child-silent-after-fork=yes \\
    --suppressions=$PWD/mk/valgrind.supp --log-file=$dir/logs/vg.%p.log \\
    $PWD/$build/symbi "\$@"
WRAP
chmod +x "$dir/symbi"
SYMBI_BIN="$dir/symbi" SYMBI_BUILD="$PWD/$build" SYMBI_TEST_SLOW=${SYMBI_TEST_SLOW:-10} \
    SYMBI_TEST_VALGRIND=1 \
    nice -n 19 /usr/bin/python3 -m pytest -q -p no:cacheprovider -rfE "$@"
rc=$?
errs=0 fdl=0 procs=0
# with -q a log holds only errors (==PID== lines) and valgrind's own notes
# (--PID-- lines, e.g. pidfd_open, which it does not know and symbi then
# does without); --track-fds adds a "FILE DESCRIPTORS" block (==PID== lines
# too), told apart from memcheck's errors
for f in "$dir"/logs/vg.*.log; do
    [ -e "$f" ] || continue
    procs=$((procs + 1))
    bad=0
    # a descriptor "<inherited from parent>" is not the process's own
    if awk '/^==[0-9]+== Open / { o = 1; next }
            o && /<inherited from parent>/ { o = 0; next }
            o { found = 1 } END { exit !found }' "$f"; then fdl=$((fdl + 1)); bad=1; fi
    if grep -E '^==[0-9]+== ' "$f" | grep -qvE '^==[0-9]+== (FILE DESCRIPTORS: |Open |   (at|by) |   <inherited|$)'; then
        errs=$((errs + 1)); bad=1
    fi
    [ "$bad" -eq 1 ] || rm -f "$f"
done
echo "valgrind: $procs process(es), $errs with memcheck errors, $fdl with descriptors left open (logs in $dir/logs)"
[ "$rc" -eq 0 ] && [ "$errs" -eq 0 ] && [ "$fdl" -eq 0 ]
