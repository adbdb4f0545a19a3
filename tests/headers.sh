#!/bin/sh
# Every public header compiles alone, as strict C99 and as C++.
set -u
top_srcdir=${top_srcdir:-$(dirname "$0")/..}
top_builddir=${top_builddir:-.}
CC=${CC:-cc}
CXX=${CXX:-c++}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
inc="-I$top_srcdir/include -I$top_builddir/include"
for h in "$top_srcdir"/include/sipnat/*.h "$top_builddir"/include/sipnat/version.h; do
    name=$(basename "$h")
    printf '#include <sipnat/%s>\n#include <sipnat/%s>\nint main(void) { return 0; }\n' \
        "$name" "$name" >"$tmp/t.c"
    # shellcheck disable=SC2086
    if $CC -std=c99 -pedantic -Wall -Wextra -Werror $inc -c "$tmp/t.c" -o "$tmp/t.o" 2>"$tmp/err"; then
        echo "ok: $name as C99"; pass=$((pass + 1))
    else
        echo "FAIL: $name as C99"; cat "$tmp/err"; fail=$((fail + 1))
    fi
    if command -v "$CXX" >/dev/null 2>&1; then
        cp "$tmp/t.c" "$tmp/t.cc"
        # shellcheck disable=SC2086
        if $CXX -std=c++11 -pedantic -Wall -Wextra -Werror $inc -c "$tmp/t.cc" -o "$tmp/t.o" 2>"$tmp/err"; then
            echo "ok: $name as C++"; pass=$((pass + 1))
        else
            echo "FAIL: $name as C++"; cat "$tmp/err"; fail=$((fail + 1))
        fi
    else
        echo "FAIL: no C++ compiler ($CXX) to check $name"; fail=$((fail + 1))
    fi
done
echo "headers: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
