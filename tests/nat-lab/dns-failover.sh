#!/usr/bin/env bash
# RFC 3263 through the NAT: the ITSP publishes sip:example.com only in DNS
# (dnsmasq in its own namespace at 198.51.100.53, on the public side):
#   NAPTR example.com  -> SIP+D2U _sip._udp.example.com
#   SRV   _sip._udp    -> gw1.example.com:5060 priority 10,
#                         gw2.example.com:5060 priority 20
#   A     gw1 203.0.113.1, gw2 203.0.113.2
# The library host (192.0.2.10, behind the seed's router) has no hosts
# entry for them and the DNS server in its resolv.conf. It registers to
# sip:example.com and calls sip:1000@example.com, in four rounds:
#   1. both gateways answer: REGISTER and INVITE go to gw1 only;
#   2. gw1 is silent (its SIP packets dropped): after gw1's retransmissions
#      both go to gw2, well within timer F (32 s);
#   3. gw1 answers 503: both move on to gw2 at once;
#   4. the DNS server drops every query: the registration reports a
#      resolution failure and tries again on its schedule, and no single
#      sipnat_ctx_process() call took 10 ms or more.
# Judged from packet captures (the ITSP's and the DNS server's
# interfaces) and the agent's event lines (which target answered).
set -u
source "$(dirname "$0")/testlib.sh" dns-failover
LAB_PREFIX=snD$$
DNS_IP=198.51.100.53

command -v dnsmasq >/dev/null || { echo "dnsmasq (Debian dnsmasq-base) is missing"; echo "dns-failover: 0 passed, 1 failed"; exit 1; }
lab_up --nat cone >/dev/null || { echo "lab setup failed"; exit 1; }
_lab_endpoint dns inet br-pub pub-dns "$DNS_IP/24" "$LAB_INET_PUB_IP" || { echo "dns namespace failed"; exit 1; }
host_ns=$(lab_ns host)
# The host knows the gateways only through DNS.
printf '127.0.0.1 localhost\n' >"/etc/netns/$host_ns/hosts"
printf 'nameserver %s\noptions timeout:1 attempts:1\n' "$DNS_IP" >"/etc/netns/$host_ns/resolv.conf"

(exec ip netns exec "$(lab_ns dns)" dnsmasq -k --no-resolv --no-hosts --bind-interfaces --listen-address="$DNS_IP" \
    --port 53 --user=root --pid-file= --log-queries --log-facility=- --local-ttl=60 \
    --naptr-record=example.com,10,10,s,SIP+D2U,,_sip._udp.example.com \
    --srv-host=_sip._udp.example.com,gw1.example.com,5060,10,0 \
    --srv-host=_sip._udp.example.com,gw2.example.com,5060,20,0 \
    --host-record=gw1.example.com,203.0.113.1,60 \
    --host-record=gw2.example.com,203.0.113.2,60 >"$work/dnsmasq.log" 2>&1) &
track $!
sleep 0.5

# gateway IP SCENARIO TAG: a SIPp gateway in the background (its pid in
# gateways, for stop_gateways).
gateways=""
gateway() {
    (cd "$work" && exec ip netns exec "$(lab_ns itsp)" timeout 90 sipp -sf "$top/tests/sipp/$2.xml" \
        -i "$1" -p 5060 -nostdin -trace_msg -message_file "$work/$3-$1.log" >/dev/null 2>&1) &
    track $!
    gateways="$gateways $!"
}
stop_gateways() {
    local p
    for p in $gateways; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
    gateways=""
    sleep 0.3
}

# round TAG AGENT_ARGS...: captures on the ITSP and DNS sides around one
# agent run; decoded into $work/TAG.sip and $work/TAG.dns.
round() {
    local tag=$1 cap1 cap2
    shift
    lab_capture_start itsp eth0 "$work/$tag-itsp.pcap" udp || return 1
    cap1=$LAB_CAPTURE_PID
    lab_capture_start dns eth0 "$work/$tag-dns.pcap" udp port 53 || return 1
    cap2=$LAB_CAPTURE_PID
    lab_exec host timeout 90 "$agent" --bind 0.0.0.0 --port 5060 \
        --local-net 192.0.2.0/24 --external 198.51.100.5 "$@" \
        >"$work/$tag.out" 2>"$work/$tag.err"
    sleep 0.3
    lab_capture_stop "$cap1"
    lab_capture_stop "$cap2"
    python3 "$LAB_DIR/pcapsip.py" "$work/$tag-itsp.pcap" >"$work/$tag.sip"
    python3 "$LAB_DIR/pcapsip.py" "$work/$tag-dns.pcap" >"$work/$tag.dns"
}

reg_args=(--register sip:example.com --aor sip:1112223333@example.com
    --contact-user 19998887777 --call sip:1000@example.com --wait 40)

# first_to METHOD IP FILE: capture time of the first METHOD sent to IP.
first_to() { awk -v m="$1" -v d="$2:5060" '$4 == "sip" && $5 == m && $3 == d { print $1; exit }' "$3"; }
count_to() { awk -v m="$1" -v d="$2:5060" '$4 == "sip" && $5 == m && $3 == d { n++ } END { print n + 0 }' "$3"; }
# last_line PREFIX FILE: the agent's last event line starting with PREFIX.
last_line() { grep "^$1" "$2" | tail -n 1; }

lan_leak() {   # FILE: SIP that crossed the router naming a LAN address
    grep -q '192\.0\.2\.' "$1" && bad "$2: a LAN address (192.0.2.x) reached the ITSP" ||
        ok "$2: no LAN address in what reached the ITSP"
}

# -- 1. both gateways answer ----------------------------------------------
gateway 203.0.113.1 gateway r1
gateway 203.0.113.2 gateway r1
sleep 0.5
round r1 "${reg_args[@]}"
grep -q ' dns query NAPTR example.com' "$work/r1.dns" && grep -q ' dns query SRV _sip._udp.example.com' "$work/r1.dns" &&
    grep -q ' dns query A gw1.example.com' "$work/r1.dns" &&
    ok "1: NAPTR example.com, SRV _sip._udp.example.com and A gw1.example.com asked" ||
    bad "1: the queries were: $(awk '$5 == "query" {print $6, $7}' "$work/r1.dns" | sort -u | tr '\n' ';')"
n1=$(count_to REGISTER 203.0.113.1 "$work/r1.sip") n2=$(count_to REGISTER 203.0.113.2 "$work/r1.sip")
[ "$n1" -ge 2 ] && [ "$n2" = 0 ] && ok "1: REGISTER (and unregister) to gw1 only ($n1 to gw1, $n2 to gw2)" ||
    bad "1: REGISTERs: $n1 to gw1, $n2 to gw2"
i1=$(count_to INVITE 203.0.113.1 "$work/r1.sip") i2=$(count_to INVITE 203.0.113.2 "$work/r1.sip")
[ "$i1" -ge 1 ] && [ "$i2" = 0 ] && ok "1: INVITE to gw1 only" || bad "1: INVITEs: $i1 to gw1, $i2 to gw2"
last_line "registration registered" "$work/r1.out" | grep -q 'target=gw1.example.com/203.0.113.1:5060' &&
    ok "1: the registration event names gw1.example.com 203.0.113.1:5060" ||
    bad "1: registration: $(last_line "registration registered" "$work/r1.out")"
last_line "call own established" "$work/r1.out" | grep -q 'target=gw1.example.com/203.0.113.1:5060' &&
    ok "1: the call was answered by gw1" || bad "1: call: $(grep '^call own' "$work/r1.out" | tr '\n' ';')"
grep -A14 ' sip REGISTER ' "$work/r1.sip" | grep -q 'Contact: <sip:19998887777@198.51.100.5:5060' &&
    ok "1: the REGISTER's Contact is the router's public address (local_net applied to 203.0.113.1)" ||
    bad "1: REGISTER Contact: $(grep -A14 ' sip REGISTER ' "$work/r1.sip" | grep -m1 Contact:)"
lan_leak "$work/r1.sip" 1
stop_gateways

# -- 2. gw1 silent --------------------------------------------------------
lab_exec itsp nft -f - <<'EOF'
table inet sndrop {
    chain in {
        type filter hook input priority 0;
        ip daddr 203.0.113.1 udp dport 5060 drop
    }
}
EOF
gateway 203.0.113.2 gateway r2
sleep 0.5
round r2 "${reg_args[@]}"
t1=$(first_to REGISTER 203.0.113.1 "$work/r2.sip") t2=$(first_to REGISTER 203.0.113.2 "$work/r2.sip")
if [ -n "$t1" ] && [ -n "$t2" ] && awk -v a="$t1" -v b="$t2" 'BEGIN { exit !(b > a && b - a < 32) }'; then
    ok "2: gw1 silent: REGISTER to gw2 $(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.1f", b - a }') s after the first to gw1 (timer F: 32 s)"
else bad "2: REGISTER to gw1 at '$t1', to gw2 at '$t2'"; fi
[ "$(count_to REGISTER 203.0.113.1 "$work/r2.sip")" -ge 2 ] && ok "2: gw1 got retransmissions first" ||
    bad "2: gw1 got $(count_to REGISTER 203.0.113.1 "$work/r2.sip") REGISTERs"
t1=$(first_to INVITE 203.0.113.1 "$work/r2.sip") t2=$(first_to INVITE 203.0.113.2 "$work/r2.sip")
if [ -n "$t1" ] && [ -n "$t2" ] && awk -v a="$t1" -v b="$t2" 'BEGIN { exit !(b > a && b - a < 32) }'; then
    ok "2: gw1 silent: INVITE to gw2 $(awk -v a="$t1" -v b="$t2" 'BEGIN { printf "%.1f", b - a }') s after the first to gw1"
else bad "2: INVITE to gw1 at '$t1', to gw2 at '$t2'"; fi
last_line "registration registered" "$work/r2.out" | grep -q 'target=gw2.example.com/203.0.113.2:5060' &&
    ok "2: the registration event names gw2 203.0.113.2:5060" ||
    bad "2: registration: $(last_line "registration registered" "$work/r2.out")"
last_line "call own established" "$work/r2.out" | grep -q 'target=gw2.example.com/203.0.113.2:5060' &&
    ok "2: the call was answered by gw2" || bad "2: call: $(grep '^call own' "$work/r2.out" | tr '\n' ';')"
lan_leak "$work/r2.sip" 2
lab_exec itsp nft delete table inet sndrop
stop_gateways

# -- 3. gw1 answers 503 ---------------------------------------------------
gateway 203.0.113.1 gateway-503 r3
gateway 203.0.113.2 gateway r3
sleep 0.5
round r3 "${reg_args[@]}"
# 503 from gw1 to the host, then the next request to gw2.
a503=$(awk '$4 == "sip" && $2 == "203.0.113.1:5060" && $6 == "503" { print $1; exit }' "$work/r3.sip")
t2=$(first_to REGISTER 203.0.113.2 "$work/r3.sip")
if [ -n "$a503" ] && [ -n "$t2" ] && awk -v a="$a503" -v b="$t2" 'BEGIN { exit !(b >= a && b - a < 1) }'; then
    ok "3: gw1's 503 to REGISTER: REGISTER to gw2 $(awk -v a="$a503" -v b="$t2" 'BEGIN { printf "%.3f", b - a }') s later"
else bad "3: 503 from gw1 at '$a503', REGISTER to gw2 at '$t2'"; fi
[ "$(count_to REGISTER 203.0.113.1 "$work/r3.sip")" = 1 ] && ok "3: one REGISTER to gw1, no retry there" ||
    bad "3: $(count_to REGISTER 203.0.113.1 "$work/r3.sip") REGISTERs to gw1"
i503=$(awk '$4 == "sip" && $2 == "203.0.113.1:5060" && $6 == "503" { n++; if (n == 2) { print $1; exit } }' "$work/r3.sip")
t2=$(first_to INVITE 203.0.113.2 "$work/r3.sip")
if [ -n "$i503" ] && [ -n "$t2" ] && awk -v a="$i503" -v b="$t2" 'BEGIN { exit !(b >= a && b - a < 1) }'; then
    ok "3: gw1's 503 to INVITE: INVITE to gw2 $(awk -v a="$i503" -v b="$t2" 'BEGIN { printf "%.3f", b - a }') s later"
else bad "3: 503 to the INVITE at '$i503', INVITE to gw2 at '$t2'"; fi
last_line "registration registered" "$work/r3.out" | grep -q 'target=gw2.example.com/203.0.113.2:5060' &&
    ok "3: the registration event names gw2" || bad "3: registration: $(last_line "registration registered" "$work/r3.out")"
last_line "call own established" "$work/r3.out" | grep -q 'target=gw2.example.com/203.0.113.2:5060' &&
    ok "3: the call was answered by gw2" || bad "3: call: $(grep '^call own' "$work/r3.out" | tr '\n' ';')"
lan_leak "$work/r3.sip" 3
stop_gateways

# -- 4. the DNS server drops every query ------------------------------------
lab_exec dns nft -f - <<'EOF'
table inet sndrop {
    chain in {
        type filter hook input priority 0;
        udp dport 53 drop
        tcp dport 53 drop
    }
}
EOF
round r4 --register sip:example.com --aor sip:1112223333@example.com --retry-interval 3 \
    --max-retries 2 --wait 25
retr=$(grep -c '^registration retrying 0 .*phrase=cannot resolve sip:example.com' "$work/r4.out")
[ "$retr" -ge 2 ] && ok "4: silent DNS: $retr attempts reported 'cannot resolve sip:example.com', retry_after=3" ||
    bad "4: agent said: $(grep '^registration' "$work/r4.out" | tr '\n' ';')"
grep '^registration retrying' "$work/r4.out" | grep -qv 'retry_after=3' && bad "4: a retry_after is not 3" || ok "4: each retry waits retry_interval (3 s)"
# The attempts are visible as queries on the wire, one round per attempt.
rounds=$(awk '$5 == "query" && $6 == "NAPTR" { n++ } END { print n + 0 }' "$work/r4.dns")
[ "$rounds" -ge 3 ] && ok "4: $rounds NAPTR queries reached the DNS server (one per attempt)" || bad "4: $rounds NAPTR queries"
[ "$(awk '$4 == "sip"' "$work/r4.sip" | wc -l)" = 0 ] && ok "4: nothing was sent to the ITSP" || bad "4: SIP reached the ITSP"
us=$(sed -n 's/^loop longest_process_us=//p' "$work/r4.out")
[ -n "$us" ] && [ "$us" -lt 10000 ] && ok "4: the longest sipnat_ctx_process() call took $us us (< 10 ms)" ||
    bad "4: the longest process call took '$us' us"
# KEEP_WORK=DIR keeps the captures and logs for a look.
[ -z "${KEEP_WORK:-}" ] || cp -r "$work" "$KEEP_WORK"
finish
