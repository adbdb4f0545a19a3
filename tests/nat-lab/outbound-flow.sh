#!/usr/bin/env bash
# SIP Outbound (RFC 5626) through the seed's NAT. sipnat-phone at
# 192.0.2.10 registers with support_outbound to Kamailio at 203.0.113.1
# (tests/kamailio/itsp.cfg -A WITH_OUTBOUND: Require: outbound, STUN on
# its SIP port); the test kills the flow on the router, and the ITSP's
# gateway (SIPp at 203.0.113.2) then calls the registered number through
# Kamailio. From the router's WAN capture:
#  - the REGISTER's Contact carries ;reg-id=1;+sip.instance="<urn:uuid:>"
#    and the REGISTER says Supported: outbound, path;
# TCP:
#  - CRLFCRLF pings go out on the flow every keep-alive interval and
#    Kamailio's CRLF pongs come back (s.4.4.1);
#  - reset: the router forgets its NAT state (conntrack flush) and answers
#    the old connection with a TCP reset; the phone registers again over a
#    new connection, the time from the kill to that REGISTER measured and
#    bounded by two keep-alive intervals;
#  - silence: the router drops the new flow's packets; no pong comes, and
#    the phone registers over a third connection, measured the same way;
#  - the ITSP's INVITE reaches the phone over the last flow.
# UDP:
#  - STUN Binding requests go from the SIP port to Kamailio's every
#    keep-alive interval and are answered (s.4.4.2);
#  - the router forgets its NAT state and drops the STUN keep-alives: the
#    phone registers again, measured and bounded the same way;
#  - the ITSP's INVITE reaches the phone at its SIP port.
set -u
source "$(dirname "$0")/testlib.sh" outbound-flow
command -v kamailio >/dev/null || { bad "kamailio is not installed (Debian package kamailio)"; finish; exit 1; }
command -v conntrack >/dev/null || { bad "conntrack is not installed (Debian package conntrack)"; finish; exit 1; }
phone_bin=$(cd "${top_builddir:-.}" && pwd)/examples/sipnat-phone
KA=3

phone_conf() { # PROTO
    cat <<EOF
[global]
type=global
keep_alive_interval=$KA

[t]
type=transport
protocol=$1
bind=0.0.0.0:5060
#include "$top/tests/nat-lab/seed-phone-nat.conf"

[reg]
type=registration
transport=t
server_uri=sip:gw1.example.com;transport=$1
client_uri=sip:19998887777@gw1.example.com
contact_user=19998887777
max_random_initial_delay=0
expiration=120
support_outbound=yes
EOF
}

# The phone's connection to Kamailio now, as the host sees it: its port.
flow_port() {
    lab_exec host ss -Htn state established dst 203.0.113.1 dport = :5060 2>/dev/null |
        awk '{split($3, a, ":"); print a[2]; exit}'
}
# Until the phone has reported N flow failures and N+1 registrations (and,
# over TCP, uses a connection other than port OLD), at most SECS: prints
# the flow's port now.
wait_repair() { # OLD SECS N
    local end=$((SECONDS + $2)) now
    while [ $SECONDS -lt $end ]; do
        now=$(flow_port)
        if { [ "$proto" = udp ] || { [ -n "$now" ] && [ "$now" != "$1" ]; }; } &&
            [ "$(grep -c 'flow .* failed' "$out")" -ge "$3" ] &&
            [ "$(grep -c '^registration registered' "$out")" -ge $(($3 + 1)) ]; then
            echo "${now:-5060}"
            return 0
        fi
        sleep 0.1
    done
    return 1
}
kill_rule() { # MATCH VERDICT: on the router, this verdict for the phone's flow
    lab_exec router nft -f - <<EOF
table ip snob_kill {
  chain forward {
    type filter hook forward priority -10; policy accept;
    ip saddr 192.0.2.10 ip daddr 203.0.113.1 $1 $2
  }
}
EOF
}
now_ms() { date +%s%3N; }

# kill_flow NAME MATCH VERDICT N: the router gives the flow in use VERDICT;
# the phone must register over a new flow (its Nth repair) within two
# keep-alive intervals.
kill_flow() {
    local name=$1 old t0 ms flow
    old=$(flow_port)
    kill_rule "${2//OLD/${old:-0}}" "$3"
    t0=$(now_ms)
    flow=$(wait_repair "${old:-0}" $((3 * KA)) "$4")
    ms=$(($(now_ms) - t0))
    if [ -z "$flow" ]; then
        bad "$proto $name: no registration over a new flow in $((3 * KA)) s: $(grep -E 'flow|registration' "$out" | tail -4 | tr '\n' ' ')"
    elif [ "$ms" -le $((2 * KA * 1000)) ]; then
        ok "$proto $name: registered again over a new flow (port ${old:-5060} -> $flow) $ms ms after the kill (keep-alive $KA s, bound $((2 * KA)) s)"
    else
        bad "$proto $name: the new flow took $ms ms (more than two keep-alive intervals of $KA s)"
    fi
    grep 'flow .* failed' "$out" | sed -n "$4p" | sed 's/^/   phone: /' | cut -c1-200
    lab_exec router nft delete table ip snob_kill
}

# The first REGISTER, whole, from the capture.
first_register() {
    "$(lab_wire_python)" - "$LAB_WIRECHECK" "$1" <<'EOF'
import sys, os
sys.path.insert(0, os.path.dirname(sys.argv[1]))
from wirecheck import read_capture
for ts, src, dst, proto, msg in read_capture(sys.argv[2])[0]:
    if msg.startswith(b"REGISTER "):
        print(msg.split(b"\r\n\r\n")[0].decode("utf-8", "replace"))
        break
EOF
}

run_proto() {
    proto=$1
    local P pcap kam phone crc contact supported pings pongs regs last invline
    P=$(echo "$proto" | tr a-z A-Z)
    LAB_PREFIX=snob$$$proto
    log=$work/kam-$proto.log out=$work/phone-$proto.out
    lab_up --nat cone >/dev/null || { bad "$proto: lab_up"; return; }
    phone_conf "$proto" >"$work/phone-$proto.conf"
    lab_exec itsp kamailio -DD -E -f "$top/tests/kamailio/itsp.cfg" -A 'ADDR=203.0.113.1' \
        -A WITH_OUTBOUND >"$log" 2>&1 &
    kam=$!
    track "$kam"
    wait_listen itsp "$proto" 5060 || bad "$proto: Kamailio does not listen on 5060: $(tail -3 "$log" | tr '\n' ' ')"
    lab_exec host timeout 90 "$phone_bin" --config "$work/phone-$proto.conf" --endpoint itsp \
        --auto-answer --tone 440 --duration 80 --log-level 5 \
        >"$out" 2>"$work/phone-$proto.err" </dev/null &
    phone=$!
    track "$phone"
    if wait_for '^registration registered' "$out" 1 10; then
        ok "$proto: registered through the NAT over $P with outbound"
    else
        bad "$proto: not registered: $(grep -m3 -E 'registration|error' "$out" "$work/phone-$proto.err" | tr '\n' ' ')"
    fi
    sleep $((2 * KA + 1))   # keep-alives on the flow

    lab_flush_nat router
    if [ "$proto" = tcp ]; then
        # reset: NAT state lost, the old connection answered with a reset;
        # then silence: the router drops the flow's packets
        kill_flow reset "tcp sport OLD tcp dport 5060" "reject with tcp reset" 1
        sleep 1
        kill_flow silence "tcp sport OLD tcp dport 5060" drop 2
    else
        # NAT state lost and the keep-alives dropped (SIP still passes)
        kill_flow "lost binding" "udp sport 5060 udp dport 5060 udp length < 100" drop 1
    fi
    sleep 1

    (cd "$work" && lab_exec itsp timeout 30 sipp -sf "$top/tests/sipp/itsp-call.xml" \
        -i 203.0.113.2 -p 5070 203.0.113.1:5060 -m 1 -nostdin \
        -trace_logs -log_file "$work/caller-$proto.log" >/dev/null 2>&1)
    crc=$?
    [ $crc -eq 0 ] && ok "$proto: the ITSP's call reached the phone through Kamailio, was answered and hung up" ||
        { bad "$proto: the ITSP's call failed (SIPp exit $crc)"; grep -vE 'SIPNAT-LAB (REGISTER|OPTIONS)' "$log" | tail -6 | cut -c1-300; }
    sleep 1
    kill "$phone" 2>/dev/null; wait "$phone" 2>/dev/null
    grep -E 'outbound: ' "$work/phone-$proto.err" | sed 's/^/   phone: /' | cut -c1-220
    kill "$kam" 2>/dev/null; wait "$kam" 2>/dev/null

    # -- from the wire ---------------------------------------------------------
    lab_wire_check >/dev/null
    pcap=$LAB_WIRE_DIR/$LAB_PREFIX.pcap
    "$(lab_wire_python)" "$LAB_WIRECHECK" --list "$pcap" >"$work/wire-$proto.txt"
    sed 's/^/   wire: /' "$work/wire-$proto.txt" | grep -v ' OPTIONS ' | cut -c1-230
    first_register "$pcap" >"$work/register-$proto.txt"
    contact=$(grep -i -m1 '^Contact:' "$work/register-$proto.txt")
    supported=$(grep -i -m1 '^Supported:' "$work/register-$proto.txt")
    case "$contact" in
        *"<sip:19998887777@198.51.100.5:5060;transport=$proto>;reg-id=1;+sip.instance=\"<urn:uuid:"*">\""*)
            ok "$proto: the REGISTER's Contact carries reg-id and the instance: ${contact%$'\r'}" ;;
        *) bad "$proto: the REGISTER's Contact: ${contact:-none}" ;;
    esac
    case "$supported" in
        *outbound*path*) ok "$proto: the REGISTER says ${supported%$'\r'}" ;;
        *) bad "$proto: the REGISTER's Supported: ${supported:-none}" ;;
    esac
    regs=$(awk '$2 ~ /^198\.51\.100\.5:/ && $4 ~ /^203\.0\.113\.1:5060$/ && $6 == "REGISTER" {print $2}' "$work/wire-$proto.txt" | sort -u | wc -l)
    last=$(awk '$2 ~ /^198\.51\.100\.5:/ && $4 ~ /^203\.0\.113\.1:5060$/ && $6 == "REGISTER" {p = $2} END {print p}' "$work/wire-$proto.txt")
    invline=$(grep -m1 "^[0-9.]* 203\.0\.113\.1:5060 > 198\.51\.100\.5:[0-9]* $proto INVITE sip:19998887777@" "$work/wire-$proto.txt")
    if [ "$proto" = tcp ]; then
        # CRLFCRLF pings and CRLF pongs (198.51.100.5 is the router's side)
        pings=$(tcpdump -n -r "$pcap" "src host 198.51.100.5 and tcp dst port 5060 and greater 0" 2>/dev/null | grep -c 'length 4$')
        pongs=$(tcpdump -n -r "$pcap" "dst host 198.51.100.5 and tcp src port 5060 and greater 0" 2>/dev/null | grep -c 'length 2$')
        [ "$pings" -ge 2 ] && [ "$pongs" -ge 2 ] && ok "tcp: $pings CRLFCRLF pings went out on the flows (every $KA s), $pongs CRLF pongs came back" ||
            bad "tcp: $pings CRLFCRLF pings on the flows, $pongs pongs"
        [ "$regs" -ge 3 ] && ok "tcp: REGISTERs went over $regs connections (the first and two repairs)" ||
            bad "tcp: REGISTERs over $regs connection(s), want 3"
    else
        # STUN Binding requests (type 0x0001) and success responses (0x0101)
        pings=$(tcpdump -n -r "$pcap" "src host 198.51.100.5 and udp src port 5060 and dst host 203.0.113.1 and udp dst port 5060 and udp[8:2] = 0x0001 and udp[12:4] = 0x2112a442" 2>/dev/null | wc -l)
        pongs=$(tcpdump -n -r "$pcap" "dst host 198.51.100.5 and udp dst port 5060 and src host 203.0.113.1 and udp src port 5060 and udp[8:2] = 0x0101 and udp[12:4] = 0x2112a442" 2>/dev/null | wc -l)
        [ "$pings" -ge 2 ] && [ "$pongs" -ge 2 ] && ok "udp: $pings STUN Binding requests went from the SIP port to Kamailio's (every $KA s), $pongs answered there" ||
            bad "udp: $pings STUN Binding requests from the SIP port, $pongs answers"
        [ "$(grep -c "> 203\.0\.113\.1:5060 udp REGISTER" "$work/wire-$proto.txt")" -ge 2 ] &&
            ok "udp: registered again after the lost binding (from $last)" || bad "udp: no second REGISTER on the wire"
    fi
    case "$invline" in
        *"> $last $proto INVITE"*) ok "$proto: the ITSP's INVITE came over the last flow (to $last)" ;;
        "") bad "$proto: no INVITE to the phone on the wire" ;;
        *) bad "$proto: the INVITE took another flow: $invline (last flow from $last)" ;;
    esac
    lab_down >/dev/null 2>&1
}

run_proto tcp
run_proto udp
finish
