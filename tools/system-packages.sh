#!/usr/bin/env bash
# Make sure the Debian packages named as arguments are installed.
# As root: install the missing ones with apt-get. Otherwise: say which are missing and how to
# install them, and carry on; the tests that need them skip with a printed reason.
set -euo pipefail

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "==> not a Debian-like system; make sure these are installed: $*" >&2
    exit 0
fi

missing=()
for pkg in "$@"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
    [[ $status == installed ]] || missing+=("$pkg")
done
if ((${#missing[@]} == 0)); then
    echo "==> system packages present: $*"
    exit 0
fi

if [[ $(id -u) -ne 0 ]] || ! command -v apt-get >/dev/null 2>&1; then
    cat >&2 <<MSG
==> missing system packages: ${missing[*]}
    Tests that need them will be skipped. To run them too:
        sudo apt-get update && sudo apt-get install -y ${missing[*]}
MSG
    exit 0
fi

echo "==> installing system packages: ${missing[*]} (apt-get; takes a minute)"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -q && apt-get install -y -q "${missing[@]}"; } >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "==> apt-get failed installing: ${missing[*]}" >&2
    exit 1
fi
