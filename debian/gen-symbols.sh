#!/bin/sh
# Write debian/libsipnat0.symbols from the public headers: every
# SIPNAT_API function is exported by lib/libsipnat.map (tests/symbols.sh
# checks that the library exports exactly those). New functions get the
# version of debian/changelog; existing ones keep the version they have.
#   debian/gen-symbols.sh          rewrite the file
#   debian/gen-symbols.sh --check  exit 1 when it is out of date
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
out=$top/debian/libsipnat0.symbols
version=$(sed -n '1s/^[^(]*(\([^)-]*\).*/\1/p' "$top/debian/changelog")
node=$(sed -n 's/^\([A-Z0-9_]*\) *{.*/\1/p' "$top/lib/libsipnat.map" | head -n 1)
tmp=$(mktemp)
trap 'rm -f "$tmp" "$tmp.new"' EXIT

old_version() {
    [ -f "$out" ] && sed -n "s/^ $1@$node \([^ ]*\)\$/\1/p" "$out" | head -n 1
}

{
    echo "libsipnat.so.0 libsipnat0 #MINVER#"
    echo "* Build-Depends-Package: libsipnat-dev"
    # The version node first (dpkg-gensymbols lists it), then the functions.
    { echo "$node"
      cat "$top"/include/sipnat/*.h | tr '\n' ' ' |
        grep -o 'SIPNAT_API[^;]*(' | grep -o 'sipnat_[a-z0-9_]*[[:space:]]*($' |
        tr -d ' (' | sort -u; } |
        while read -r f; do
            v=$(old_version "$f" || true)
            echo " $f@$node ${v:-$version}"
        done
} >"$tmp.new"

if [ "${1:-}" = --check ]; then
    if ! cmp -s "$tmp.new" "$out"; then
        diff -u "$out" "$tmp.new" || true
        echo "gen-symbols: debian/libsipnat0.symbols is out of date: run debian/gen-symbols.sh" >&2
        exit 1
    fi
    exit 0
fi
mv "$tmp.new" "$out"
