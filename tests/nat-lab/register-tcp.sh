#!/usr/bin/env bash
# TCP through the seed's NAT. sipnat-phone at 192.0.2.10
# registers over a connection to Kamailio at 203.0.113.1
# (tests/kamailio/itsp.cfg: registrar and proxy, tcp_accept_aliases); the
# ITSP's gateway (SIPp at 203.0.113.2) then calls the registered number
# through Kamailio, which must send the INVITE to the phone over the very
# connection the phone registered on (RFC 5923 alias in our Via), not open
# a new one to the Contact. sipnat-phone answers and the gateway hangs up.
# From Kamailio's log and the router's WAN capture:
#  - the connection's REGISTER carries Via 198.51.100.5:5060;alias and
#    Contact 198.51.100.5:5060;transport=tcp;
#  - the INVITE to the phone arrives on that connection (same ports);
#  - CRLF keep-alives (RFC 5626 s.4.4.1, [global] keep_alive_interval) go
#    out on it and Kamailio answers them.
set -u
source "$(dirname "$0")/testlib.sh" register-tcp
command -v kamailio >/dev/null || { bad "kamailio is not installed (Debian package kamailio)"; finish; exit 1; }
phone_bin=$(cd "${top_builddir:-.}" && pwd)/examples/sipnat-phone
KA=2

phone_conf() { # PROTO PORT
    local server="sip:gw1.example.com;transport=$1"
    cat <<EOF
[global]
type=global
keep_alive_interval=$KA

[t]
type=transport
protocol=$1
bind=0.0.0.0:$2
#include "$top/tests/nat-lab/seed-phone-nat.conf"

[reg]
type=registration
transport=t
server_uri=$server
client_uri=sip:19998887777@gw1.example.com
contact_user=19998887777
max_random_initial_delay=0
expiration=60
EOF
}

run_proto() {
    local proto=$1 kam log=$work/kam-$1.log out=$work/phone-$1.out port=5060 P
    P=$(echo "$proto" | tr a-z A-Z)
    LAB_PREFIX=sntcp$$$proto
    lab_up --nat cone >/dev/null || { bad "$proto: lab_up"; return; }
    phone_conf "$proto" "$port" >"$work/phone-$proto.conf"
    lab_exec itsp kamailio -DD -E -f "$top/tests/kamailio/itsp.cfg" -A 'ADDR=203.0.113.1' >"$log" 2>&1 &
    kam=$!
    track "$kam"
    wait_listen itsp tcp 5060 || bad "Kamailio does not listen on 5060: $(tail -3 "$log" | tr '\n' ' ')"
    lab_exec host timeout 40 "$phone_bin" --config "$work/phone-$proto.conf" --endpoint itsp \
        --auto-answer --tone 440 --duration 30 --log-level 7 \
        >"$out" 2>"$work/phone-$proto.err" </dev/null &
    local phone=$!
    track "$phone"
    if wait_for '^registration registered' "$out" 1 10; then
        ok "$proto: registered through the NAT over $P"
    else
        bad "$proto: not registered: $(grep -m3 -E 'registration|error' "$out" "$work/phone-$proto.err" | tr '\n' ' ')"
    fi
    sleep $((2 * KA + 1))   # keep-alives on the connection
    (cd "$work" && lab_exec itsp timeout 30 sipp -sf "$top/tests/sipp/itsp-call.xml" \
        -i 203.0.113.2 -p 5070 203.0.113.1:5060 -m 1 -nostdin \
        -trace_logs -log_file "$work/caller-$proto.log" >/dev/null 2>&1)
    local crc=$?
    [ $crc -eq 0 ] && ok "$proto: the ITSP's call reached the phone through Kamailio, was answered (c=198.51.100.5) and hung up" ||
        { bad "$proto: the ITSP's call failed (SIPp exit $crc)"; grep -vE 'SIPNAT-LAB (REGISTER|OPTIONS)' "$log" | tail -8 | cut -c1-300; }
    sleep 1
    kill "$phone" 2>/dev/null; wait "$phone" 2>/dev/null
    kill "$kam" 2>/dev/null; wait "$kam" 2>/dev/null
    lab_wire_check >/dev/null
    "$(lab_wire_python)" "$LAB_WIRECHECK" --list "$LAB_WIRE_DIR/$LAB_PREFIX.pcap" >"$work/wire-$proto.txt"
    sed 's/^/   wire: /' "$work/wire-$proto.txt" | cut -c1-220

    # The registration's connection, from Kamailio's log of the REGISTER.
    local reg src
    reg=$(grep -m1 'SIPNAT-LAB REGISTER' "$log")
    src=$(echo "$reg" | sed -n 's/.* src=\([0-9.]*:[0-9]*\) .*/\1/p')
    case "$reg" in
        *"proto=$proto src=198.51.100.5:"*"via=SIP/2.0/$P 198.51.100.5:$port;"*alias*"contact=<sip:19998887777@198.51.100.5:$port;transport=$proto>"*)
            ok "$proto: Kamailio got the REGISTER from $src with Via 198.51.100.5:$port;alias and Contact 198.51.100.5:$port;transport=$proto" ;;
        *) bad "$proto: Kamailio's REGISTER: ${reg:-none}" ;;
    esac
    local conns invline
    conns=$(awk '$2 ~ /^198\.51\.100\.5:/ && $4 ~ /^203\.0\.113\.1:/ && $5 == "tcp" {print $2}' "$work/wire-$proto.txt" | sort -u)
    invline=$(grep -m1 "^[0-9.]* 203\.0\.113\.1:[0-9]* > 198\.51\.100\.5:[0-9]* tcp INVITE sip:19998887777@" "$work/wire-$proto.txt")
    case "$invline" in
        *"> $src tcp INVITE"*) ok "$proto: the ITSP's INVITE came over the registration's connection (to $src): $(echo "$conns" | wc -l) connection(s) from the phone" ;;
        "") bad "$proto: no INVITE to the phone on the wire" ;;
        *) bad "$proto: the INVITE took another connection: $invline (registered from $src)" ;;
    esac
    # keep-alives on the connection (RFC 5626 s.4.4.1): CRLFCRLF out, CRLF back
    local pings pongs
    pings=$(tcpdump -n -r "$LAB_WIRE_DIR/$LAB_PREFIX.pcap" "src host 198.51.100.5 and tcp dst port $port and greater 0" 2>/dev/null | grep -c 'length 4$')
    pongs=$(tcpdump -n -r "$LAB_WIRE_DIR/$LAB_PREFIX.pcap" "dst host 198.51.100.5 and tcp src port $port and greater 0" 2>/dev/null | grep -c 'length 2$')
    [ "$pings" -ge 2 ] && [ "$pongs" -ge 1 ] && ok "$proto: $pings CRLF keep-alives went out on the connection (every $KA s), $pongs answered" ||
        bad "$proto: $pings CRLF keep-alives on the connection, $pongs answers"
    lab_down >/dev/null 2>&1
}

run_proto tcp
finish
