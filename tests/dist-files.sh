#!/bin/sh
# Every file of the source tree's test and lab directories (and the other
# directories named below) is in the release tarball: make distcheck runs
# the unit tests only (scripts/test.sh), so a lab script or scenario left
# out of EXTRA_DIST shows here instead.
#   tests/dist-files.sh SRCDIR TARBALL
set -eu
src=$1
tarball=$2
[ -d "$src" ] && [ -f "$tarball" ] || { echo "usage: $0 SRCDIR TARBALL" >&2; exit 2; }
top=$(tar tzf "$tarball" | head -n 1 | cut -d/ -f1)
list=$(mktemp)
trap 'rm -f "$list"' EXIT
tar tzf "$tarball" | sed "s|^$top/||" | sort -u >"$list"
missing=0
checked=0
for d in tests lib include man .ci \
    examples bench scripts doc debian pkgconfig; do
    [ -d "$src/$d" ] || continue
    for f in $(cd "$src" && find "$d" -type f ! -name '*.pyc' ! -path '*/__pycache__/*' \
        ! -name '*.o' ! -name '*~' | sort); do
        checked=$((checked + 1))
        grep -qxF "$f" "$list" || { echo "dist-files: $f is not in $tarball"; missing=$((missing + 1)); }
    done
done
echo "dist-files: $checked files checked, $missing missing"
[ "$missing" -eq 0 ]
