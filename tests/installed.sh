#!/bin/sh
# Install into a scratch DESTDIR and build a program outside the tree with
# nothing but `pkg-config --cflags --libs libsipnat`; then run it.
set -u
top_srcdir=${top_srcdir:-$(dirname "$0")/..}
top_builddir=${top_builddir:-.}
CC=${CC:-cc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0

if ! make -s -C "$top_builddir" install DESTDIR="$tmp/root" >"$tmp/install.log" 2>&1; then
    cat "$tmp/install.log"
    echo "installed: 0 passed, 1 failed"
    exit 1
fi
pc=$(find "$tmp/root" -name libsipnat.pc | head -n 1)
libdir=$(dirname "$(dirname "$pc")")
export PKG_CONFIG_PATH="$(dirname "$pc")"
export PKG_CONFIG_SYSROOT_DIR="$tmp/root"
flags=$(pkg-config --cflags --libs libsipnat)
echo "pkg-config --cflags --libs libsipnat: $flags"
# shellcheck disable=SC2086
if $CC ${CFLAGS:-} -Wall -Wextra -Werror "$top_srcdir/tests/consumer.c" -o "$tmp/outside" ${LDFLAGS:-} $flags 2>"$tmp/err"; then
    echo "ok: compiled and linked outside the tree"; pass=$((pass + 1))
else
    cat "$tmp/err"; echo "FAIL: compile outside the tree"; fail=$((fail + 1))
fi
if [ -x "$tmp/outside" ] && LD_LIBRARY_PATH="$libdir" "$tmp/outside"; then
    echo "ok: ran against the installed library"; pass=$((pass + 1))
else
    echo "FAIL: run against the installed library"; fail=$((fail + 1))
fi
echo "installed: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
