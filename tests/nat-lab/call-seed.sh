#!/usr/bin/env bash
# The seed end to end: the ITSP (SIPp at 203.0.113.1) calls the DID at the
# router's public address; the library at 192.0.2.10 (port forwards of the
# seed: 5060 and 10000-20000) identifies the ITSP, calls phone 6001 (SIPp
# at 192.0.2.20), and when the phone answers, answers the ITSP and bridges
# the two with direct_media=no: media goes through the library's anchor.
# From the wire: the SDP the ITSP received names 198.51.100.5 and a port of
# 10000-20000; the SDP the phone received names 192.0.2.10; RTP with a
# checkable payload flows both ways (rtpcheck.py at each end): received
# within 1 % of sent, payload intact.
set -u
source "$(dirname "$0")/testlib.sh" call-seed
LAB_PREFIX=sncs$$
N=500   # packets each way: 10 s at 50/s (probation drops 4 per leg)

lab_up --nat cone >/dev/null || { echo "lab setup failed"; exit 1; }
lab_exec host timeout 40 "$agent" --bind 0.0.0.0 --port 5060 \
    --local-net 192.0.2.0/24 --external 198.51.100.5 \
    --endpoint sipus_endpoint --match 203.0.113.1 --match 203.0.113.2 \
    --bridge-to sip:6001@192.0.2.20:5060 --bridge-match 192.0.2.20 \
    --hold 20 >"$work/agent.out" 2>"$work/agent.err" &
agent_pid=$!
track "$agent_pid"
(cd "$work" && lab_exec phone timeout 30 sipp -sf "$top/tests/sipp/phone-answer.xml" \
    -i 192.0.2.20 -p 5060 -m 1 -nostdin -trace_logs -log_file "$work/phone.log" \
    >/dev/null 2>&1; echo $? >"$work/phone.rc") &
track $!
sleep 1.5
(cd "$work" && lab_exec itsp timeout 30 sipp -sf "$top/tests/sipp/itsp-call.xml" \
    -i 203.0.113.1 -p 5060 198.51.100.5:5060 -m 1 -nostdin -trace_logs \
    -log_file "$work/itsp.log" >/dev/null 2>&1; echo $? >"$work/itsp.rc") &
track $!

aport="" oport=""
for _ in $(seq 1 50); do
    aport=$(sed -n 's/^ANSWER \([0-9]*\).*/\1/p' "$work/itsp.log" 2>/dev/null | head -1)
    oport=$(sed -n 's/^OFFER \([0-9]*\).*/\1/p' "$work/phone.log" 2>/dev/null | head -1)
    [ -n "$aport" ] && [ -n "$oport" ] && break
    sleep 0.2
done
if [ -z "$aport" ] || [ -z "$oport" ]; then
    bad "the call was not set up (ITSP answer port '${aport}', phone offer port '${oport}')"
    sed -n "1,60p" "$work/agent.err" >&2; cat "$work/agent.out" "$work/itsp.log" "$work/phone.log" >&2 2>/dev/null
    finish
    exit 1
fi
ok "the ITSP's answer names c=198.51.100.5, RTP port $aport (10000-20000)"
ok "the phone's offer names c=192.0.2.10, RTP port $oport (10000-20000)"

lab_exec itsp python3 "$LAB_DIR/rtpcheck.py" --bind 203.0.113.1:7000 \
    --to "198.51.100.5:$aport" --tag I --expect-tag P --count $N >"$work/itsp-rtp.json" &
r1=$!
lab_exec phone python3 "$LAB_DIR/rtpcheck.py" --bind 192.0.2.20:7002 \
    --to "192.0.2.10:$oport" --tag P --expect-tag I --count $N >"$work/phone-rtp.json" &
r2=$!
wait "$r1" "$r2"

check_rtp() {   # NAME FILE: received intact within 1 % of N, nothing damaged
    python3 - "$1" "$2" "$N" <<'PY'
import json, sys
name, path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
r = json.load(open(path))
ok = r["intact"] >= n * 0.99 and r["bad"] == 0
print("%s %s: sent %d, received %d intact of %d sent by the other end, %d damaged, %d foreign, from %s"
      % ("ok -" if ok else "FAIL -", name, r["sent"], r["intact"], n, r["bad"], r["foreign"],
         ",".join(r["sources"])))
sys.exit(0 if ok else 1)
PY
}
check_rtp "phone -> ITSP (at 203.0.113.1)" "$work/itsp-rtp.json" && pass=$((pass + 1)) || fail=$((fail + 1))
check_rtp "ITSP -> phone (at 192.0.2.20)" "$work/phone-rtp.json" && pass=$((pass + 1)) || fail=$((fail + 1))
grep -q '"sources": \["198.51.100.5:'"$aport"'"\]' "$work/itsp-rtp.json" \
    && ok "the ITSP hears the phone from 198.51.100.5:$aport only (the anchor, through the router)" \
    || bad "the ITSP heard from $(cat "$work/itsp-rtp.json")"
grep -q '"sources": \["192.0.2.10:'"$oport"'"\]' "$work/phone-rtp.json" \
    && ok "the phone hears the ITSP from 192.0.2.10:$oport only (the anchor)" \
    || bad "the phone heard from $(cat "$work/phone-rtp.json")"

for _ in $(seq 1 100); do [ -s "$work/itsp.rc" ] && [ -s "$work/phone.rc" ] && break; sleep 0.2; done
[ "$(cat "$work/itsp.rc" 2>/dev/null)" = 0 ] && ok "the ITSP's call: 200, ACK, BYE answered" \
    || bad "the ITSP's scenario failed ($(tail -3 "$work/itsp.log" 2>/dev/null | tr '\n' ' '))"
[ "$(cat "$work/phone.rc" 2>/dev/null)" = 0 ] && ok "the phone's call: answered, then the library's BYE" \
    || bad "the phone's scenario failed ($(tail -3 "$work/phone.log" 2>/dev/null | tr '\n' ' '))"

wait "$agent_pid" 2>/dev/null   # --hold ends it
grep -q '^calls bridged=1 ended=1' "$work/agent.out" && ok "the library bridged one call and ended it" \
    || bad "agent: $(grep -E '^(call|calls)' "$work/agent.out" | tr '\n' ';')"
grep '^media' "$work/agent.out" | sed 's/^/   /'
finish
