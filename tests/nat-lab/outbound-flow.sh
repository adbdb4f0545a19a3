#!/usr/bin/env bash
# SIP Outbound (RFC 5626) over TCP through the seed's NAT. sipnat-phone at
# 192.0.2.10 registers with support_outbound to Kamailio at 203.0.113.1
# (tests/kamailio/itsp.cfg); the test then kills the flow twice on the
# router, and the ITSP's gateway (SIPp at 203.0.113.2) finally calls the
# registered number through Kamailio. From the router's WAN capture:
#  - the REGISTER's Contact carries ;reg-id=1;+sip.instance="<urn:uuid:>"
#    and the REGISTER says Supported: outbound, path;
#  - CRLFCRLF pings go out on the flow every keep-alive interval and
#    Kamailio's CRLF pongs come back (s.4.4.1);
#  - reset: the router forgets its NAT state (conntrack flush) and answers
#    the old connection with a TCP reset; the phone registers again over a
#    new connection, the time from the kill to that REGISTER measured and
#    bounded by two keep-alive intervals;
#  - silence: the router drops the new flow's packets; no pong comes, and
#    the phone registers over a third connection, measured the same way;
#  - the ITSP's INVITE reaches the phone over the last flow.
set -u
source "$(dirname "$0")/testlib.sh" outbound-flow
command -v kamailio >/dev/null || { bad "kamailio is not installed (Debian package kamailio)"; finish; exit 1; }
command -v conntrack >/dev/null || { bad "conntrack is not installed (Debian package conntrack)"; finish; exit 1; }
phone_bin=$(cd "${top_builddir:-.}" && pwd)/examples/sipnat-phone
KA=3
LAB_PREFIX=snob$$tcp
log=$work/kam.log out=$work/phone.out

cat >"$work/phone.conf" <<EOF
[global]
type=global
keep_alive_interval=$KA

[t]
type=transport
protocol=tcp
bind=0.0.0.0:5060
#include "$top/tests/nat-lab/seed-phone-nat.conf"

[reg]
type=registration
transport=t
server_uri=sip:gw1.example.com;transport=tcp
client_uri=sip:19998887777@gw1.example.com
contact_user=19998887777
max_random_initial_delay=0
expiration=120
support_outbound=yes
EOF

# The phone's connection to Kamailio now, as the host sees it: its port.
flow_port() {
    lab_exec host ss -Htn state established dst 203.0.113.1 dport = :5060 2>/dev/null |
        awk '{split($3, a, ":"); print a[2]; exit}'
}
# A REGISTER sent on a connection other than port $1, within $2 s.
wait_new_flow() {
    local old=$1 end=$((SECONDS + $2)) now
    while [ $SECONDS -lt $end ]; do
        now=$(flow_port)
        if [ -n "$now" ] && [ "$now" != "$old" ] &&
            [ "$(grep -c 'flow .* failed' "$out")" -ge "$3" ] &&
            [ "$(grep -c '^registration registered' "$out")" -ge "$4" ]; then
            echo "$now"
            return 0
        fi
        sleep 0.1
    done
    return 1
}
kill_rule() { # VERDICT PORT: on the router, this verdict for the phone's old connection
    lab_exec router nft -f - <<EOF
table ip snob_kill {
  chain forward {
    type filter hook forward priority -10; policy accept;
    ip saddr 192.0.2.10 tcp sport $2 ip daddr 203.0.113.1 tcp dport 5060 $1
  }
}
EOF
}
now_ms() { date +%s%3N; }

lab_up --nat cone >/dev/null || { bad "lab_up"; finish; exit 1; }
lab_exec itsp kamailio -DD -E -f "$top/tests/kamailio/itsp.cfg" -A 'ADDR=203.0.113.1' >"$log" 2>&1 &
kam=$!
track "$kam"
wait_listen itsp tcp 5060 || bad "Kamailio does not listen on 5060: $(tail -3 "$log" | tr '\n' ' ')"
lab_exec host timeout 90 "$phone_bin" --config "$work/phone.conf" --endpoint itsp \
    --auto-answer --tone 440 --duration 80 --log-level 7 \
    >"$out" 2>"$work/phone.err" </dev/null &
phone=$!
track "$phone"
if wait_for '^registration registered' "$out" 1 10; then
    ok "registered through the NAT over TCP with outbound"
else
    bad "not registered: $(grep -m3 -E 'registration|error' "$out" "$work/phone.err" | tr '\n' ' ')"
fi
sleep $((2 * KA + 1))   # keep-alives on the flow

# kill_flow NAME VERDICT N: the router gives the flow now in use VERDICT;
# the phone must register over a new one (its Nth repair) within two
# keep-alive intervals. Leaves the new flow's port in $flow.
kill_flow() {
    local name=$1 verdict=$2 n=$3 old t0 t1 ms
    old=$(flow_port)
    kill_rule "$verdict" "${old:-0}"
    t0=$(now_ms)
    flow=$(wait_new_flow "${old:-0}" $((3 * KA)) "$n" $((n + 1)))
    t1=$(now_ms)
    ms=$((t1 - t0))
    if [ -z "$flow" ]; then
        bad "$name: no registration over a new flow in $((3 * KA)) s: $(grep -E 'flow|registration' "$out" | tail -4 | tr '\n' ' ')"
    elif [ "$ms" -le $((2 * KA * 1000)) ]; then
        ok "$name: registered again over a new flow (port $old -> $flow) $ms ms after the kill (keep-alive $KA s, bound $((2 * KA)) s)"
    else
        bad "$name: the new flow took $ms ms (more than two keep-alive intervals of $KA s)"
    fi
    grep 'flow .* failed' "$out" | sed -n "${n}p" | sed 's/^/   phone: /' | cut -c1-200
    lab_exec router nft delete table ip snob_kill
}
# 1. reset: NAT state lost, the old connection answered with a reset
lab_flush_nat router
kill_flow reset "reject with tcp reset" 1
# 2. silence: the router drops the flow's packets; no pong comes back
sleep 1
kill_flow silence drop 2
sleep 1

# 3. the ITSP calls the phone: over the last flow
(cd "$work" && lab_exec itsp timeout 30 sipp -sf "$top/tests/sipp/itsp-call.xml" \
    -i 203.0.113.2 -p 5070 203.0.113.1:5060 -m 1 -nostdin \
    -trace_logs -log_file "$work/caller.log" >/dev/null 2>&1)
crc=$?
[ $crc -eq 0 ] && ok "the ITSP's call reached the phone through Kamailio, was answered and hung up" ||
    { bad "the ITSP's call failed (SIPp exit $crc)"; grep -vE 'SIPNAT-LAB (REGISTER|OPTIONS)' "$log" | tail -6 | cut -c1-300; }
sleep 1
kill "$phone" 2>/dev/null; wait "$phone" 2>/dev/null
grep -E 'outbound: ' "$work/phone.err" | sed 's/^/   phone: /' | cut -c1-220
kill "$kam" 2>/dev/null; wait "$kam" 2>/dev/null

# -- from the wire -----------------------------------------------------------
lab_wire_check >/dev/null
pcap=$LAB_WIRE_DIR/$LAB_PREFIX.pcap
"$(lab_wire_python)" "$LAB_WIRECHECK" --list "$pcap" >"$work/wire.txt"
sed 's/^/   wire: /' "$work/wire.txt" | grep -v ' OPTIONS ' | cut -c1-230
# The first REGISTER, whole, from the capture.
"$(lab_wire_python)" - "$LAB_WIRECHECK" "$pcap" >"$work/register.txt" <<'EOF'
import sys, os
sys.path.insert(0, os.path.dirname(sys.argv[1]))
sys.argv = sys.argv[:1] + sys.argv[2:]
from wirecheck import read_capture
for ts, src, dst, proto, msg in read_capture(sys.argv[1])[0]:
    if msg.startswith(b"REGISTER "):
        print(msg.split(b"\r\n\r\n")[0].decode("utf-8", "replace"))
        break
EOF
contact=$(grep -i -m1 '^Contact:' "$work/register.txt")
supported=$(grep -i -m1 '^Supported:' "$work/register.txt")
case "$contact" in
    *"<sip:19998887777@198.51.100.5:5060;transport=tcp>;reg-id=1;+sip.instance=\"<urn:uuid:"*">\""*)
        ok "the REGISTER's Contact carries reg-id and the instance: ${contact%$'\r'}" ;;
    *) bad "the REGISTER's Contact: ${contact:-none}" ;;
esac
case "$supported" in
    *outbound*path*) ok "the REGISTER says ${supported%$'\r'}" ;;
    *) bad "the REGISTER's Supported: ${supported:-none}" ;;
esac
# Pings and pongs on the first flow (198.51.100.5 is the router's side).
pings=$(tcpdump -n -r "$pcap" "src host 198.51.100.5 and tcp dst port 5060 and greater 0" 2>/dev/null | grep -c 'length 4$')
pongs=$(tcpdump -n -r "$pcap" "dst host 198.51.100.5 and tcp src port 5060 and greater 0" 2>/dev/null | grep -c 'length 2$')
[ "$pings" -ge 2 ] && [ "$pongs" -ge 2 ] && ok "$pings CRLFCRLF pings went out on the flows (every $KA s), $pongs CRLF pongs came back" ||
    bad "$pings CRLFCRLF pings on the flows, $pongs pongs"
# REGISTERs over three connections; the INVITE over the last.
regs=$(awk '$2 ~ /^198\.51\.100\.5:/ && $4 ~ /^203\.0\.113\.1:5060$/ && $6 == "REGISTER" {print $2}' "$work/wire.txt" | sort -u | wc -l)
[ "$regs" -ge 3 ] && ok "REGISTERs went over $regs connections (the first and two repairs)" ||
    bad "REGISTERs over $regs connection(s), want 3"
last=$(awk '$2 ~ /^198\.51\.100\.5:/ && $4 ~ /^203\.0\.113\.1:5060$/ && $6 == "REGISTER" {p = $2} END {print p}' "$work/wire.txt")
invline=$(grep -m1 "^[0-9.]* 203\.0\.113\.1:5060 > 198\.51\.100\.5:[0-9]* tcp INVITE sip:19998887777@" "$work/wire.txt")
case "$invline" in
    *"> $last tcp INVITE"*) ok "the ITSP's INVITE came over the last flow (to $last)" ;;
    "") bad "no INVITE to the phone on the wire" ;;
    *) bad "the INVITE took another connection: $invline (last flow from $last)" ;;
esac
lab_down >/dev/null 2>&1
finish
