#!/usr/bin/env bash
# lint-deps.sh - each third-party library is included by its own module only
# (STYLE habit 1): prints every include outside its module and exits 1.
set -u
cd "$(dirname "$0")/.."
# <header pattern> <paths allowed to include it (extended regex)>
rules=(
    "sqlite3\.h|libpq-fe\.h|libpq/"    "^src/store/"
    "curl/"                            "^src/deliver/|^src/agent/model"
    "microhttpd\.h"                    "^src/http/"
    "openssl/"                         "^src/policy/"
)
bad=0
files=$(git ls-files 'src/*.c' 'src/*.h' 'include/*.h' 2>/dev/null || find src include -name '*.[ch]')
for ((i = 0; i < ${#rules[@]}; i += 2)); do
    hdr=${rules[i]} allowed=${rules[i + 1]}
    while IFS=: read -r file line inc; do
        [ -n "$file" ] || continue
        grep -qE "$allowed" <<<"$file" && continue
        echo "$file:$line: includes <$inc>, which only ${allowed//|/ or } may include"
        bad=1
    done < <(grep -nE '^[[:space:]]*#[[:space:]]*include[[:space:]]*<[^>]+>' $files |
        sed -E 's/^([^:]+):([0-9]+):.*<([^>]+)>.*/\1:\2:\3/' | grep -E ":[0-9]+:($hdr)")
done
[ $bad -eq 0 ] && echo "lint-deps: every library is included by its own module"
exit $bad
