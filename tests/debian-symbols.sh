#!/bin/sh
# debian/libsipnat0.symbols lists every public function (the package
# build fails on any difference): after adding one, run
# debian/gen-symbols.sh.
top_srcdir=${top_srcdir:-$(dirname "$0")/..}
if sh "$top_srcdir/debian/gen-symbols.sh" --check; then
    echo "ok: debian/libsipnat0.symbols is up to date"
    exit 0
fi
echo "FAIL: debian/libsipnat0.symbols is out of date"
exit 1
