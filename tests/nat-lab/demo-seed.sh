#!/usr/bin/env bash
# The README's main demo (scripts/demo-nat.sh: the seed scenario with
# sipnat-phone in Asterisk's place, in namespaces) as a test: it must end
# with an OK verdict, media both ways.
set -u
top=$(cd "${top_srcdir:-$(dirname "$0")/../..}" && pwd)
build=$(cd "${top_builddir:-.}" && pwd)
source "$top/tests/nat-lab/lab.sh"
lab_require || exit $?
out=$(bash "$top/scripts/demo-nat.sh" "$build" 2>&1)
rc=$?
echo "$out"
if [ "$rc" -eq 0 ] && echo "$out" | grep -q '^demo: verdict: OK'; then
    echo "demo-seed: 1 passed, 0 failed"
    exit 0
fi
echo "demo-seed: 0 passed, 1 failed"
exit 1
