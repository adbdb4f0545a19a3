# Shared by the NAT-lab tests that run the library in the lab: source it
# with the test's name, after `set -u`:
#     source "$(dirname "$0")/testlib.sh" register-seed
# It sources lab.sh, skips (77) where the lab cannot run, and provides:
#   top, agent     absolute paths (make distcheck passes relative ones)
#   work           a scratch directory, removed at exit
#   ok/bad TEXT    count and print a result line
#   track PID      a background process to kill at exit (if still alive)
#   wait_for PATTERN FILE COUNT SECS   until FILE has COUNT lines matching
#   wait_listen NS tcp|udp PORT        until something listens there (15 s)
#   finish         judge the wire (below), print "NAME: N passed, M failed"
#                  and return the status
# At exit the lab comes down, tracked processes end and work is removed.
# The no-leak check is automatic: every lab_up (here or in a script this
# test runs) captures the router's WAN side, and finish counts one result
# per capture: no LAN address (192.0.2.x, 10.x, 172.16.x) in any SIP
# message that crossed the router (wirecheck.py says what exactly). A test
# that brought no lab up, or whose capture holds no SIP message, fails; one
# whose SIP all went over TLS passes only when it judged the TLS content
# itself from what the peer received and says how in $wire_tls_judged.
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
export LAB_WIRE_DIR=$work/wire
pass=0 fail=0
tracked=""
ok() { echo "ok - $*"; pass=$((pass + 1)); }
bad() { echo "FAIL - $*"; fail=$((fail + 1)); }
track() { tracked="$tracked $1"; }
wait_for() {
    local end=$((SECONDS + $4))
    while [ $SECONDS -lt $end ]; do
        [ "$(grep -c -- "$1" "$2" 2>/dev/null)" -ge "$3" ] && return 0
        sleep 0.2
    done
    return 1
}
# stun_server IP: coturn, STUN only, at IP:3478 in the itsp namespace (IP
# added to its eth0); 0 once it listens.
stun_server() {
    lab_exec itsp ip addr add "$1/24" dev eth0
    lab_exec itsp turnserver -n --stun-only --no-cli --no-tls --no-dtls \
        --listening-ip="$1" --listening-port=3478 --pidfile="$work/turn.pid" \
        --log-file=stdout --simple-log >"$work/turn.log" 2>&1 &
    track $!
    wait_listen itsp udp 3478
}
wait_listen() {
    local end=$((SECONDS + 15)) flag=-Hltn
    [ "$2" = udp ] && flag=-Hlun
    while [ $SECONDS -lt $end ]; do
        lab_exec "$1" ss "$flag" "sport = :$3" 2>/dev/null | grep -q . && return 0
        sleep 0.2
    done
    return 1
}
# wire_verdicts: one result per capture judged so far (lab_wire_check).
wire_verdicts() {
    local v rc n=0
    for v in "$LAB_WIRE_DIR"/*.verdict; do
        [ -f "$v" ] || continue
        n=$((n + 1))
        rc=$(cat "${v%.verdict}.rc" 2>/dev/null)
        if [ "$rc" = 0 ]; then
            ok "no leak on the router's WAN side: $(tail -n 1 "$v")"
        elif [ "$rc" = 3 ] && [ -n "${wire_tls_judged:-}" ]; then
            ok "no leak on the router's WAN side: only TLS crossed it, judged by the test from what the peer received ($wire_tls_judged): $(tail -n 1 "$v")"
        else
            sed -n '1,20p' "$v"
            bad "no-leak check: $(tail -n 1 "$v")"
        fi
        mv "$v" "$v.counted"
    done
    [ "$n" -gt 0 ] || [ -n "$(ls "$LAB_WIRE_DIR"/*.counted 2>/dev/null)" ] ||
        bad "no-leak check: no capture of the router's WAN side was judged (no lab_up?)"
}
finish() {
    lab_wire_check
    wire_verdicts
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
