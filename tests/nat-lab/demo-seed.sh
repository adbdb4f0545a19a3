#!/usr/bin/env bash
# The README's main demo (scripts/demo-nat.sh: the seed scenario with
# sipnat-phone in Asterisk's place, in namespaces) as a test: it must end
# with an OK verdict, media both ways. Its lab is judged by the no-leak
# check like every lab test's (testlib.sh exports LAB_WIRE_DIR to it).
set -u
source "$(dirname "$0")/testlib.sh" demo-seed
build=$(cd "${top_builddir:-.}" && pwd)
out=$(bash "$top/scripts/demo-nat.sh" "$build" 2>&1)
rc=$?
echo "$out"
if [ "$rc" -eq 0 ] && echo "$out" | grep -q '^demo: verdict: OK'; then
    ok "the demo's verdict is OK"
else
    bad "the demo failed (exit $rc)"
fi
finish
