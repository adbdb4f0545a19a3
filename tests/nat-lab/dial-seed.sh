#!/usr/bin/env bash
# An outbound call through the seed's NAT, as a new user would make it:
# sipnat-phone at 192.0.2.10 with the seed's configuration (its
# registration has max_random_initial_delay=3) runs with --dial, which
# must wait for the registration to the ITSP (SIPp registrar with digest
# at 203.0.113.1) before calling sip:100@gw2.example.com (SIPp at
# 203.0.113.2, tests/sipp/itsp-answer-prack.xml). The ITSP challenges the
# INVITE (the ACK of an error), answers with a reliable 183 (the PRACK)
# and a 200 (the ACK of a 2xx); the test puts the call on hold (a
# re-INVITE, and its ACK); after --duration 4 our BYE ends it. Each of
# those requests must carry Via 198.51.100.5:5060 (the scenario checks
# it); the router's WAN capture shows the order (REGISTER 401, REGISTER
# 200, only then the INVITE) and the no-leak check judges everything.
set -u
source "$(dirname "$0")/testlib.sh" dial-seed
LAB_PREFIX=sndial$$
phone_bin=$(cd "${top_builddir:-.}" && pwd)/examples/sipnat-phone
wire() { "$(lab_wire_python)" "$LAB_WIRECHECK" --list "$LAB_WIRE_DIR/$LAB_PREFIX.pcap"; }

sed 's/^retry_interval=60$/retry_interval=60\nmax_random_initial_delay=3/' \
    "$top/tests/nat-lab/seed-demo.conf" >"$work/phone.conf"
grep -q '^max_random_initial_delay=3$' "$work/phone.conf" || { bad "no initial delay in the test's configuration"; finish; exit 1; }

lab_up --nat cone >/dev/null || { echo "lab setup failed"; exit 1; }
(cd "$work" && lab_exec itsp timeout 30 sipp -sf "$top/tests/sipp/registrar-digest.xml" \
    -i 203.0.113.1 -p 5060 -m 1 -nostdin -trace_err -error_file "$work/registrar.err" \
    >/dev/null 2>&1) &
registrar=$!
track "$registrar"
(cd "$work" && lab_exec itsp timeout 30 sipp -sf "$top/tests/sipp/itsp-answer-prack.xml" \
    -i 203.0.113.2 -p 5060 -m 1 -nostdin -trace_err -error_file "$work/uas.err" \
    -trace_logs -log_file "$work/uas.log" >/dev/null 2>&1) &
uas=$!
track "$uas"
sleep 1
mkfifo "$work/cmd"
lab_exec host timeout 30 "$phone_bin" --config "$work/phone.conf" --endpoint sipus_endpoint \
    --dial sip:100@gw2.example.com --duration 4 \
    >"$work/phone.out" 2>"$work/phone.err" <"$work/cmd" &
phone=$!
track "$phone"
exec 3>"$work/cmd"
for _ in $(seq 1 100); do
    grep -q '^call established' "$work/phone.out" 2>/dev/null && break
    sleep 0.1
done
sleep 1
(echo hold >&3) 2>/dev/null   # a phone that is gone already fails below
wait "$phone"
rc=$?
exec 3>&-
wait "$registrar"; reg_rc=$?
wait "$uas"; uas_rc=$?
[ "$rc" -eq 0 ] && ok "sipnat-phone made the call and exited 0" ||
    { bad "sipnat-phone exit $rc"; grep -m40 -E "ERROR|SUMMARY|freed by|allocated by| #[0-9]+ " "$work/phone.err"; tail -3 "$work/phone.err"; }
[ "$reg_rc" -eq 0 ] && ok "the registrar's scenario passed (digest, unregister)" || bad "registrar scenario exit $reg_rc"
[ "$uas_rc" -eq 0 ] && ok "the ITSP's scenario passed: ACK of the 401, PRACK ($(sed -n 's/^PRACK //p' "$work/uas.log" | head -1)), ACK of the 200, re-INVITE (hold) and its ACK, BYE, each with Via 198.51.100.5:5060" ||
    { bad "ITSP scenario exit $uas_rc"; tail -5 "$work/uas.err" 2>/dev/null; }

lab_wire_check >/dev/null   # stop the capture (finish counts its verdict)
wire >"$work/wire.txt"
sed 's/^/   wire: /' "$work/wire.txt"
order=$(awk '/> 203\.0\.113\.1:5060 udp REGISTER /{print "R"} /203\.0\.113\.1:5060 > .* SIP\/2\.0 200 /{print "r"}
             /> 203\.0\.113\.2:5060 udp INVITE /{print "I"}' "$work/wire.txt" | tr -d '\n')
case "$order" in
    RRrI*) ok "--dial waited: the INVITE left after the registration's 200 ($order)" ;;
    *) bad "--dial did not wait for the registration: order on the wire '$order' (R REGISTER, r 200, I INVITE)" ;;
esac
# Every request we sent to the ITSP's UAS: INVITE (challenged, then with
# credentials, then the re-INVITE), ACK (of the 401, of both 200s), PRACK,
# BYE; each with our public Via.
for want in "INVITE 3" "ACK 3" "PRACK 1" "BYE 1"; do
    m=${want% *} n=${want#* }
    all=$(grep -c "> 203\.0\.113\.2:5060 udp $m sip:" "$work/wire.txt")
    good=$(grep "> 203\.0\.113\.2:5060 udp $m sip:" "$work/wire.txt" | grep -c "Via: SIP/2.0/UDP 198\.51\.100\.5:5060;")
    [ "$all" -eq "$n" ] && [ "$good" -eq "$n" ] && ok "$n $m sent, each with Via 198.51.100.5:5060" ||
        bad "$m: $all sent (want $n), $good with Via 198.51.100.5:5060"
done
finish
