#!/bin/sh
# The shared library exports sipnat_* only, and every function the public
# headers declare.
set -u
top_srcdir=${top_srcdir:-$(dirname "$0")/..}
top_builddir=${top_builddir:-.}
so=$top_builddir/lib/.libs/libsipnat.so
pass=0 fail=0
ok() { echo "ok: $*"; pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

if [ ! -f "$so" ]; then
    echo "symbols: no $so (built with --disable-shared?)"
    echo "symbols: 0 passed, 1 failed"
    exit 1
fi
# The version node (LIBSIPNAT_0, type A) is how the version script names
# the interface; it is not a symbol anything can link to.
exported=$(nm -D --defined-only "$so" | awk '$2 != "A" { print $3 }' | sed 's/@.*//' | sort -u)
others=$(printf '%s\n' "$exported" | grep -v '^sipnat_' || true)
if [ -z "$others" ]; then ok "only sipnat_* exported ($(printf '%s\n' "$exported" | wc -l) symbols)"
else bad "exported besides sipnat_*: $(echo $others)"; fi

declared=$(cat "$top_srcdir"/include/sipnat/*.h | tr '\n' ' ' |
    grep -o 'SIPNAT_API[^;]*(' | grep -o 'sipnat_[a-z0-9_]*[[:space:]]*($' | tr -d ' (' | sort -u)
missing=""
for f in $declared; do
    printf '%s\n' "$exported" | grep -qx "$f" || missing="$missing $f"
done
if [ -z "$missing" ]; then ok "all $(echo $declared | wc -w) declared functions exported"
else bad "declared but not exported:$missing"; fi
echo "symbols: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
