#!/usr/bin/env bash
# deps.sh - installs the Debian packages of mk/packages.txt that are missing
# (and, with `bench`, those of mk/packages-bench.txt). Quiet when all are there.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
lists=("$here/packages.txt")
[ "${1:-}" = bench ] && lists+=("$here/packages-bench.txt")
missing=()
for list in "${lists[@]}"; do
    while read -r pkg check; do
        case "$pkg" in ''|'#'*) continue ;; esac
        kind=${check%%:*} what=${check#*:}
        case "$kind" in
            pc) pkg-config --exists "$what" 2>/dev/null && continue ;;
            cmd) command -v "$what" >/dev/null 2>&1 && continue ;;
            file) compgen -G "$what" >/dev/null && continue ;; # a glob: any match
            py) /usr/bin/python3 -c "import $what" 2>/dev/null && continue ;;
        esac
        missing+=("$pkg")
    done < "$list"
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "deps: installing Debian packages: ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
    echo "deps: not root; run: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
echo "deps: done"
