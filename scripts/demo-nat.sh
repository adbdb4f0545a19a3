#!/bin/bash
# The seed scenario, live, in network namespaces (run by scripts/demo.sh
# as root): Asterisk's NAT example with sipnat-phone in Asterisk's place.
#
#   ITSP 203.0.113.1 (SIPp registrar, digest) and 203.0.113.2 (SIPp caller)
#     |  internet 198.51.100.0/24
#   router 198.51.100.5  (masquerade; forwards 5060 and 10000-20000)
#     |  LAN 192.0.2.0/24
#   sipnat-phone 192.0.2.10 (tests/nat-lab/seed-demo.conf, --bridge 6001)
#   phone 6001 192.0.2.20 (SIPp: registers with digest, answers)
#
# It prints the registration, the addresses each side saw, the packets each
# way, and a one-line verdict. Usage: scripts/demo-nat.sh BUILD_DIR
set -u
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:?build dir}" && pwd)
phone_bin=$build/examples/sipnat-phone
source "$top/tests/nat-lab/lab.sh"
LAB_PREFIX=sndemo$$
work=$(mktemp -d)
pids=""
cleanup() {
    for p in $pids; do kill "$p" 2>/dev/null; done
    lab_down >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT
say() { printf 'demo: %s\n' "$*"; }
N=500

lab_require >/dev/null || { say "the NAT lab cannot run here"; exit 77; }
lab_up --nat cone >/dev/null || { say "lab setup failed"; exit 1; }
say "lab up: LAN 192.0.2.0/24 behind router 198.51.100.5 (cone NAT), ITSP at 203.0.113.1/.2"

(cd "$work" && lab_exec itsp timeout 60 sipp -sf "$top/tests/sipp/registrar-digest.xml" \
    -i 203.0.113.1 -p 5060 -m 1 -nostdin -trace_logs -log_file "$work/registrar.log" \
    >/dev/null 2>&1) &
pids="$pids $!"
lab_exec host timeout 60 "$phone_bin" --config "$top/tests/nat-lab/seed-demo.conf" \
    --endpoint sipus_endpoint --bridge 6001 --duration 30 --log-level 5 \
    >"$work/phone.out" 2>"$work/phone.err" </dev/null &
sipnat_pid=$!
pids="$pids $sipnat_pid"
(cd "$work" && lab_exec phone timeout 60 sipp -sf "$top/tests/sipp/phone-register.xml" \
    -oocsf "$top/tests/sipp/phone-answer.xml" -i 192.0.2.20 -p 5060 192.0.2.10:5060 \
    -m 1 -d 20000 -nostdin -trace_logs -log_file "$work/lanphone.log" >/dev/null 2>&1) &
pids="$pids $!"

for _ in $(seq 1 50); do
    grep -q '^registration registered' "$work/phone.out" 2>/dev/null &&
        grep -q '^contact ' "$work/phone.out" 2>/dev/null && break
    sleep 0.2
done
reg=$(grep -m1 '^registration registered' "$work/phone.out")
say "1. sipnat-phone registered to the ITSP: ${reg:-NO (see below)}"
say "   the ITSP's registrar saw: $(sed -n 's/^REGISTER 2 .*\(<sip:[^>]*>\).*/Contact \1/p' "$work/registrar.log" | head -1)"
say "2. phone 6001 registered to sipnat-phone: $(grep -m1 '^contact ' "$work/phone.out")"

(cd "$work" && lab_exec itsp timeout 40 sipp -sf "$top/tests/sipp/itsp-call.xml" \
    -i 203.0.113.2 -p 5060 198.51.100.5:5060 -m 1 -nostdin -trace_logs \
    -log_file "$work/itsp.log" >/dev/null 2>&1) &
pids="$pids $!"
aport="" oport=""
for _ in $(seq 1 60); do
    aport=$(sed -n 's/^ANSWER \([0-9]*\).*/\1/p' "$work/itsp.log" 2>/dev/null | head -1)
    oport=$(sed -n 's/^OFFER \([0-9]*\).*/\1/p' "$work/lanphone.log" 2>/dev/null | head -1)
    [ -n "$aport" ] && [ -n "$oport" ] && break
    sleep 0.2
done
say "3. the ITSP (203.0.113.2) called the DID at 198.51.100.5; sipnat-phone rang 6001 and bridged"
say "   SDP the ITSP got:  $(sed -n 's/^ANSWER [0-9]* //p' "$work/itsp.log" | head -1)"
say "   SDP the phone got: $(sed -n 's/^OFFER [0-9]* //p' "$work/lanphone.log" | head -1)"
verdict=1
if [ -n "$aport" ] && [ -n "$oport" ]; then
    t0=$(python3 -c 'import time; print(time.time() + 3)')   # both ends start together
    lab_exec itsp python3 "$top/tests/nat-lab/rtpcheck.py" --bind 203.0.113.2:7000 --start-at "$t0" \
        --to "198.51.100.5:$aport" --tag I --expect-tag P --count $N >"$work/itsp-rtp.json" &
    r1=$!
    lab_exec phone python3 "$top/tests/nat-lab/rtpcheck.py" --bind 192.0.2.20:7002 --start-at "$t0" \
        --to "192.0.2.10:$oport" --tag P --expect-tag I --count $N >"$work/phone-rtp.json" &
    r2=$!
    wait "$r1" "$r2"
    read -r i_in i_src < <(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["intact"], ",".join(r["sources"]))' "$work/itsp-rtp.json")
    read -r p_in p_src < <(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["intact"], ",".join(r["sources"]))' "$work/phone-rtp.json")
    say "4. RTP, $N packets sent each way (G.711 frames with a checked payload):"
    say "   ITSP -> phone: $p_in arrived intact at 192.0.2.20, from $p_src"
    say "   phone -> ITSP: $i_in arrived intact at 203.0.113.2, from $i_src"
    [ "$i_in" -ge $((N * 99 / 100)) ] && [ "$p_in" -ge $((N * 99 / 100)) ] && [ -n "$reg" ] && verdict=0
fi
wait "$sipnat_pid" 2>/dev/null
grep -E '^media ' "$work/phone.out" | sed 's/^/demo:    sipnat-phone anchor: /'
if [ "$verdict" -eq 0 ]; then
    say "verdict: OK - registered through the NAT, public address in the ITSP's SDP, LAN address in the phone's, media both ways through the anchor"
else
    say "verdict: FAILED"
    sed -n '1,40p' "$work/phone.err" >&2
    cat "$work/phone.out" >&2
fi
exit "$verdict"
