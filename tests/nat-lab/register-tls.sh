#!/usr/bin/env bash
# TLS through the seed's NAT. The library (the lab agent, a TLS transport
# on 5061 with certificates of a lab CA, verifying the server) at
# 192.0.2.10 registers over a TLS connection to Kamailio at 203.0.113.1
# (tests/kamailio/itsp.cfg with TLS: registrar and proxy,
# tcp_accept_aliases); the ITSP's gateway (SIPp at 203.0.113.2) calls the
# registered number through Kamailio, which sends the INVITE over the
# connection the library registered on (our Via's ;alias) - the router
# forwards nothing to 5061, a new connection could not get in. The agent
# answers, the gateway hangs up.
# A capture shows only ciphertext, so what crossed the router is read
# where it was decrypted: Kamailio logs every message it received whole,
# and no LAN address may be in any of them (the no-leak check's rule).
# From the capture: one TLS connection only, opened from the router.
set -u
source "$(dirname "$0")/testlib.sh" register-tls
command -v kamailio >/dev/null || { bad "kamailio is not installed (Debian package kamailio)"; finish; exit 1; }
[ -e /usr/lib/x86_64-linux-gnu/kamailio/modules/tls.so ] ||
    { bad "Kamailio's tls module is not installed (Debian package kamailio-tls-modules)"; finish; exit 1; }
command -v openssl >/dev/null || { bad "openssl is not installed"; finish; exit 1; }
LAB_PREFIX=sntls$$

# A lab CA; gw1.example.com's certificate (also for its address: the
# library connects to the resolved address); the library's own.
tls=$work/tls
mkdir -p "$tls/lib"
cert() { # NAME SUBJECT_ALT_NAMES
    openssl req -newkey rsa:2048 -nodes -subj "/CN=$1" -keyout "$tls/$1.key" \
        -out "$tls/$1.csr" 2>/dev/null &&
        printf 'subjectAltName=%s\n' "$2" >"$tls/$1.ext" &&
        openssl x509 -req -in "$tls/$1.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" \
            -CAcreateserial -days 2 -extfile "$tls/$1.ext" -out "$tls/$1.pem" 2>/dev/null
}
if ! { openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=lab CA" \
          -keyout "$tls/ca.key" -out "$tls/ca.pem" 2>/dev/null &&
       cert gw1.example.com "DNS:gw1.example.com,IP:203.0.113.1" &&
       cert pbx.lan "DNS:pbx.lan"; }; then
    bad "cannot make the lab's certificates"; finish; exit 1
fi
cat "$tls/pbx.lan.key" "$tls/pbx.lan.pem" >"$tls/lib/agent.pem"
cp "$tls/ca.pem" "$tls/lib/cafile.pem"
cat >"$tls/kamailio-tls.cfg" <<EOF
[server:default]
method = TLSv1.2+
private_key = $tls/gw1.example.com.key
certificate = $tls/gw1.example.com.pem
verify_certificate = no
require_certificate = no

[client:default]
method = TLSv1.2+
verify_certificate = no
require_certificate = no
EOF

lab_up --nat cone >/dev/null || { echo "lab setup failed"; exit 1; }
log=$work/kam.log
lab_exec itsp kamailio -DD -E -f "$top/tests/kamailio/itsp.cfg" -A 'ADDR=203.0.113.1' \
    -A WITH_TLS -A "TLSCFG=\"$tls/kamailio-tls.cfg\"" >"$log" 2>&1 &
kam=$!
track "$kam"
wait_listen itsp tcp 5061 || bad "Kamailio does not listen on 5061: $(tail -3 "$log" | tr '\n' ' ')"
lab_exec host timeout 40 "$agent" --bind 0.0.0.0 --port 5061 --tls "$tls/lib" \
    --local-net 192.0.2.0/24 --external 198.51.100.5 \
    --register sips:gw1.example.com --aor sip:19998887777@gw1.example.com \
    --contact-user 19998887777 --endpoint itsp --match 203.0.113.1 --answer \
    --hold 20 >"$work/agent.out" 2>"$work/agent.err" &
agent_pid=$!
track "$agent_pid"
if wait_for '^registration registered' "$work/agent.out" 1 10; then
    ok "registered through the NAT over TLS (the server's certificate verified)"
else
    bad "not registered: $(head -3 "$work/agent.out" "$work/agent.err" | tr '\n' ' ')"
fi
(cd "$work" && lab_exec itsp timeout 30 sipp -sf "$top/tests/sipp/itsp-call.xml" \
    -i 203.0.113.2 -p 5070 203.0.113.1:5060 -m 1 -nostdin \
    -trace_logs -log_file "$work/caller.log" -trace_msg -message_file "$work/caller.msg" >/dev/null 2>&1)
crc=$?
[ $crc -eq 0 ] && ok "the ITSP's call reached the library through Kamailio over TLS, was answered (c=198.51.100.5) and hung up" ||
    { bad "the ITSP's call failed (SIPp exit $crc)"; grep -A1 "^SIP/2.0" "$work/caller.msg" | tail -6; }
wait "$agent_pid"; arc=$?
sed 's/^/   agent: /' "$work/agent.out"
[ $arc -eq 0 ] && ok "the agent unregistered cleanly" || bad "agent exit $arc: $(tail -3 "$work/agent.err" | tr '\n' ' ')"
grep -q '^call in established' "$work/agent.out" && ok "the agent answered the call: $(grep '^call in' "$work/agent.out" | tr '\n' ';')" ||
    bad "the agent did not answer: $(grep '^call' "$work/agent.out" | tr '\n' ';')"
kill "$kam" 2>/dev/null; wait "$kam" 2>/dev/null

reg=$(grep -m1 'SIPNAT-LAB REGISTER' "$log")
case "$reg" in
    *"proto=tls src=198.51.100.5:"*"via=SIP/2.0/TLS 198.51.100.5:5061;"*alias*"contact=<sip:19998887777@198.51.100.5:5061;transport=tls>"*)
        ok "Kamailio got the REGISTER over TLS from $(echo "$reg" | sed -n 's/.* src=\([0-9.:]*\) .*/\1/p') with Via 198.51.100.5:5061;alias and Contact 198.51.100.5:5061;transport=tls" ;;
    *) bad "Kamailio's REGISTER: ${reg:-none}" ;;
esac

# One connection: a SYN from the router's address, its SYN-ACK, nothing else.
lab_wire_check >/dev/null
syns=$(tcpdump -n -r "$LAB_WIRE_DIR/$LAB_PREFIX.pcap" 'tcp[tcpflags] & tcp-syn != 0' 2>/dev/null)
n_syn=$(echo "$syns" | grep -c 'Flags \[S\]')
n_synack=$(echo "$syns" | grep -c 'Flags \[S\.\]')
if [ "$n_syn" -eq 1 ] && [ "$n_synack" -eq 1 ] && echo "$syns" | grep 'Flags \[S\]' | grep -q 'IP 198\.51\.100\.5\.[0-9]* > 203\.0\.113\.1\.5061:'; then
    ok "one TLS connection, opened by the library: the ITSP's INVITE and BYE came over it"
else
    bad "connections: $(echo "$syns" | tr '\n' ';')"
fi

# What Kamailio received over TLS, message by message.
awk '/SIPNAT-LAB GOT proto=tls/{f=1; n++; next} /SIPNAT-LAB END/{f=0} f{print n ": " $0}' "$log" >"$work/tls-msgs.txt"
n=$(awk -F: '{print $1}' "$work/tls-msgs.txt" | sort -u | grep -c .)
leaks=$(grep -E '(^|[^0-9.])(192\.0\.2\.[0-9]+|10\.[0-9]+\.[0-9]+\.[0-9]+|172\.(1[6-9]|2[0-9]|3[01])\.[0-9]+\.[0-9]+)' "$work/tls-msgs.txt")
methods=$(grep -E '^[0-9]+: ([A-Z]+ sip|SIP/2.0 [0-9]+)' "$work/tls-msgs.txt" | sed 's/^[0-9]*: //' | awk '{print ($1 == "SIP/2.0") ? $2 : $1}' | sort | uniq -c | tr -s ' ' | tr '\n' ',')
if [ "$n" -ge 4 ] && [ -z "$leaks" ]; then
    ok "Kamailio received $n messages over TLS ($methods), none with a LAN address"
    wire_tls_judged="$n messages Kamailio decrypted, none with a LAN address"
else
    bad "over TLS: $n messages, LAN addresses: $(echo "$leaks" | head -3 | tr '\n' ' ')"
fi
finish
