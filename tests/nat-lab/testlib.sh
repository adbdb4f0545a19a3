# Shared by the NAT-lab tests that run the library in the lab: source it
# with the test's name, after `set -u`:
#     source "$(dirname "$0")/testlib.sh" register-seed
# It sources lab.sh, skips (77) where the lab cannot run, and provides:
#   top, agent     absolute paths (make distcheck passes relative ones)
#   work           a scratch directory, removed at exit
#   ok/bad TEXT    count and print a result line
#   track PID      a background process to kill at exit (if still alive)
#   finish         print "NAME: N passed, M failed" and return the status
# At exit the lab comes down, tracked processes end and work is removed.
# shellcheck shell=bash
test_name=$1
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck disable=SC2034 # used by the test that sources this
top=$(cd "${top_srcdir:-$here/../..}" && pwd)
agent=$(cd "${top_builddir:-.}" && pwd)/tests/nat-lab/sipnat-lab-agent
# shellcheck source=lab.sh
source "$here/lab.sh"
lab_require || exit $?
if [ ! -x "$agent" ]; then
    echo "no $agent (make check builds it)"
    echo "$test_name: 0 passed, 1 failed"
    exit 1
fi
work=$(mktemp -d)
pass=0 fail=0
tracked=""
ok() { echo "ok - $*"; pass=$((pass + 1)); }
bad() { echo "FAIL - $*"; fail=$((fail + 1)); }
track() { tracked="$tracked $1"; }
finish() {
    echo "$test_name: $pass passed, $fail failed"
    [ "$fail" -eq 0 ]
}
lab_test_cleanup() {
    local p
    for p in $tracked; do kill "$p" 2>/dev/null; done
    lab_down >/dev/null 2>&1
    rm -rf "$work"
}
trap lab_test_cleanup EXIT
