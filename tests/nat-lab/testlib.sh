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
# tone_wav FILE SECONDS: 1000 Hz, 8 kHz mono, for baresip's aufile.
tone_wav() {
    python3 - "$1" "$2" <<'PY'
import math, struct, sys, wave
w = wave.open(sys.argv[1], "wb")
w.setnchannels(1); w.setsampwidth(2); w.setframerate(8000)
w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 1000 * i / 8000)))
                       for i in range(8000 * int(sys.argv[2]))))
w.close()
PY
}
# need_ice_peers: coturn and baresip with the modules the ICE tests use,
# or the test fails here.
need_ice_peers() {
    local p m
    for p in turnserver baresip; do
        command -v $p >/dev/null 2>&1 || { echo "no $p (scripts/deps.sh test)"; bad "no $p"; finish; exit 1; }
    done
    for m in ice g711 aufile aubridge sndfile; do
        [ -f "/usr/lib/baresip/modules/$m.so" ] || { bad "baresip has no $m.so"; finish; exit 1; }
    done
}
# ice_phone_conf FILE MATCH [TRANSPORT_LINE...]: sipnat-phone's
# configuration for the ICE tests: a UDP transport on the library host
# (its extra lines, e.g. stunaddr), endpoint bob with ICE and G.711,
# identified by the peer's address MATCH.
ice_phone_conf() {
    local file=$1 match=$2
    shift 2
    {
        printf '[wan]\ntype=transport\nprotocol=udp\nbind=192.0.2.10:5060\nlocal_net=192.0.2.0/24\n'
        printf '%s\n' "$@"
        printf '\n[bob]\ntype=endpoint\ntransport=wan\ndisallow=all\nallow=ulaw\n'
        printf 'direct_media=no\nrtp_symmetric=yes\nice_support=yes\n'
        printf '\n[bob-identify]\ntype=identify\nendpoint=bob\nmatch=%s\n' "$match"
    } >"$file"
}
# baresip_ice_conf DIR LISTEN_IP SECONDS: a baresip with its ice module
# and G.711 at LISTEN_IP:5060 that plays SECONDS of 1000 Hz and records
# what it hears in DIR/snd; DIR/accounts is the caller's.
baresip_ice_conf() {
    mkdir -p "$1/snd"
    tone_wav "$1/t1000.wav" "$3"
    cat >"$1/config" <<CONF
poll_method epoll
sip_listen $2:5060
net_interface eth0
audio_player aubridge,sink
audio_alert aubridge,sink
audio_source aufile,$1/t1000.wav
rtp_ports 30000-30100
module_path /usr/lib/baresip/modules
module g711.so
module aufile.so
module aubridge.so
module sndfile.so
module ice.so
module_app account.so
module_app menu.so
snd_path $1/snd
CONF
}
# baresip_tones TAG REC BSDIR [HOW]: the 1000 Hz baresip played is in our
# recording REC, our 440 Hz in baresip's newest one (then removed).
baresip_tones() {
    local r bs_wav
    if r=$(python3 "$top/tests/phone/audio-check.py" tone 1000 "$2"); then
        ok "$1: baresip -> sipnat-phone${4:+ $4}: ${r#ok - }"
    else
        bad "$1: baresip -> sipnat-phone: $r"
    fi
    bs_wav=$(ls -t "$3"/snd/*-dec.wav 2>/dev/null | head -n 1)
    if [ -n "$bs_wav" ] && r=$(python3 "$top/tests/phone/audio-check.py" tone 440 "$bs_wav"); then
        ok "$1: sipnat-phone -> baresip${4:+ $4}: ${r#ok - }"
    else
        bad "$1: sipnat-phone -> baresip: ${r:-no recording at baresip}"
    fi
    rm -f "$3"/snd/*.wav
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
