#!/usr/bin/env bash
# chaos.sh BUILD - the short slice of the chaos suite (tests/chaos, issue 20)
# inside `make test`: kill -9 at each of 8 points, hostile clients, an 8 s store lock,
# the disk-full writes (the soak only runs in `make test-chaos`).
# `make test-chaos` runs the full campaign (mk/chaos.mk).
set -u
cd "$(dirname "$0")/../.."
build=${1:?usage: chaos.sh BUILD}
log=$(mktemp)
SYMBI_BIN="$PWD/$build/symbi" SYMBI_BUILD="$PWD/$build" SYMBI_CHAOS=short \
    /usr/bin/python3 -m pytest -q -p no:cacheprovider -rfEs tests/chaos >"$log" 2>&1
rc=$?
tail -n 20 "$log"
summary=$(grep -E '[0-9]+ (passed|failed|error|skipped)' "$log" | tail -1)
num() { grep -oE "[0-9]+ $1" <<<"$summary" | grep -oE '[0-9]+' || echo 0; }
p=$(num passed); f=$(num failed); e=$(num error); s=$(num skipped)
if [ "$rc" -ne 0 ] && [ $((f + e)) -eq 0 ]; then e=1; fi
rm -f "$log"
echo "passed=$p failed=$((f + e)) skipped=$s"
