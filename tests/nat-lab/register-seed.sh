#!/usr/bin/env bash
# The seed's first scenario through a real NAT: libsipnat at 192.0.2.10
# (lab host) behind the router 192.0.2.1/198.51.100.5 registers to a SIPp
# registrar at 203.0.113.1 (gw1.example.com) that challenges with digest
# and checks the answer; then sends OPTIONS to the phone at 192.0.2.20.
# From what the peers received: the registrar saw 198.51.100.5 in Via
# sent-by and Contact; the phone saw 192.0.2.10.
set -u
source "$(dirname "$0")/testlib.sh" register-seed
LAB_PREFIX=snreg$$

lab_up --nat "${LAB_NAT:-cone}" >/dev/null || { echo "lab_up failed"; exit 1; }

# The ITSP's registrar and the phone, each logging what it received.
(cd "$work" && lab_exec itsp timeout 30 sipp -sf "$top/tests/sipp/registrar-digest.xml" \
    -i 203.0.113.1 -p 5060 -m 1 -nostdin -trace_msg -message_file "$work/itsp.log" \
    -trace_err -error_file "$work/itsp.err" >/dev/null 2>&1) &
itsp=$!
(cd "$work" && lab_exec phone timeout 30 sipp -sn uas -aa -i 192.0.2.20 -p 5060 -nostdin \
    -trace_msg -message_file "$work/phone.log" >/dev/null 2>&1) &
phone=$!
sleep 1

lab_exec host timeout 25 "$agent" --bind 0.0.0.0 --port 5060 \
    --local-net 192.0.2.0/24 --local-net 127.0.0.1/32 --external 198.51.100.5 \
    --register sip:gw1.example.com --aor sip:1112223333@gw1.example.com \
    --contact-user 19998887777 --auth 1112223333:s3cret@gw1.example.com \
    --options sip:6001@192.0.2.20:5060 >"$work/agent.out" 2>"$work/agent.err"
rc=$?
cat "$work/agent.out"
[ $rc -eq 0 ] && ok "agent registered, pinged the phone, unregistered" || { bad "agent exit $rc"; tail -5 "$work/agent.err"; }
wait $itsp; itsp_rc=$?
[ $itsp_rc -eq 0 ] && ok "registrar scenario passed (digest verified, unregister seen)" || { bad "registrar scenario exit $itsp_rc"; cat "$work/itsp.err" 2>/dev/null | tail -3; }
kill $phone 2>/dev/null; wait $phone 2>/dev/null

# What crossed the wire: no capture is a failure, never a silent pass.
for f in itsp phone; do
    [ -s "$work/$f.log" ] || { bad "no message log from the $f"; finish; exit 1; }
done
regs=$(grep -c '^REGISTER ' "$work/itsp.log" 2>/dev/null)
[ "$regs" = 3 ] && ok "registrar got 3 REGISTERs (challenge, answer, unregister)" || bad "registrar got $regs REGISTERs"
if grep -A12 '^REGISTER ' "$work/itsp.log" | grep -E '^Via:' | grep -qv 'SIP/2.0/UDP 198.51.100.5:5060;'; then
    bad "a REGISTER's Via was not 198.51.100.5:5060: $(grep -A12 '^REGISTER ' "$work/itsp.log" | grep -m1 -E '^Via:')"
else ok "every REGISTER's Via sent-by is 198.51.100.5:5060"; fi
if grep -A12 '^REGISTER ' "$work/itsp.log" | grep -E '^Contact:' | grep -qv '<sip:19998887777@198.51.100.5:5060;'; then
    bad "a REGISTER's Contact was not 198.51.100.5:5060"
else ok "every REGISTER's Contact is 19998887777@198.51.100.5:5060"; fi
grep -q '192\.0\.2\.' "$work/itsp.log" && bad "a private 192.0.2.x address reached the ITSP" || ok "no private address reached the ITSP"
grep -q 'received=198.51.100.5' "$work/itsp.log" || grep -q 'source 198.51.100.5' "$work/itsp.log" || true
via=$(grep -A10 '^OPTIONS ' "$work/phone.log" | grep -m1 -E '^Via:')
case "$via" in *"SIP/2.0/UDP 192.0.2.10:5060;"*) ok "the phone saw Via 192.0.2.10:5060" ;; *) bad "phone's Via: $via" ;; esac
ct=$(grep -A12 '^OPTIONS ' "$work/phone.log" | grep -m1 -E '^Contact:')
case "$ct" in *"192.0.2.10:5060"*) ok "the phone saw Contact 192.0.2.10:5060" ;; *) bad "phone's Contact: $ct" ;; esac
finish
