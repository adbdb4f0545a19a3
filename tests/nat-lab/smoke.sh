#!/usr/bin/env bash
# nat-lab smoke test: proves the namespace lab does real kernel NAT.
#   tests/nat-lab/smoke.sh [--nat cone|symmetric] [--prefix P]
# Needs root + ip netns + nftables (exit 77 = skip otherwise), python3, sipp,
# conntrack; tcpdump for the wire check of the SIPp step.
# Output: "ok - ..." / "FAIL - ..." lines, then exactly
#   nat-lab-smoke: N passed, M failed
# Exit 0 iff M = 0.  Every wait is bounded; everything is torn down on exit.

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lab.sh
source "$HERE/lab.sh"

NAT=cone
LAB_PREFIX="snsmoke$$"
while [ $# -gt 0 ]; do
    case "$1" in
        --nat) NAT=${2:-}; shift 2 ;;
        --nat=*) NAT=${1#--nat=}; shift ;;
        --prefix) LAB_PREFIX=${2:-}; shift 2 ;;
        --prefix=*) LAB_PREFIX=${1#--prefix=}; shift ;;
        *) echo "usage: $0 [--nat cone|symmetric] [--prefix P]" >&2; exit 2 ;;
    esac
done
case "$NAT" in cone|symmetric) ;; *) echo "bad --nat '$NAT'" >&2; exit 2 ;; esac
export LAB_PREFIX

lab_require || exit $?
for t in sipp conntrack timeout; do
    command -v "$t" >/dev/null 2>&1 ||
        { echo "nat-lab-smoke: SKIP: '$t' missing (apt-get install sip-tester conntrack coreutils)" >&2; exit 77; }
done

PASS=0 FAILN=0 BG=()
TMP=$(mktemp -d /tmp/nat-lab-smoke.XXXXXX)
cleanup() {
    local p
    for p in ${BG[@]+"${BG[@]}"}; do kill "$p" 2>/dev/null; done
    for p in ${BG[@]+"${BG[@]}"}; do wait "$p" 2>/dev/null; done
    lab_down
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

ok()   { PASS=$((PASS + 1)); echo "ok - $*"; }
fail() { FAILN=$((FAILN + 1)); echo "FAIL - $*"; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else fail "$d"; fi; }
# checke DESC 'shell condition' (for && / || compounds)
checke() { local d=$1; shift; if eval "$1"; then ok "$d"; else fail "$d"; fi; }

NS() { lab_ns "$1"; }
# listen NS OUTFILE ARGS...: background netcheck listener; waits (max 5 s)
# until bound.  Its PID is in LPID; it exits by itself (--timeout, timeout 8).
listen() {
    local ns=$1 out=$2; shift 2
    ip netns exec "$(NS "$ns")" timeout 8 python3 "$LAB_NETCHECK" listen "$@" </dev/null >"$out" 2>&1 &
    LPID=$!; BG+=("$LPID")
    for _ in $(seq 50); do
        grep -q '^ready' "$out" 2>/dev/null && return 0
        kill -0 "$LPID" 2>/dev/null || break
        sleep 0.1
    done
    echo "# listener in $ns did not start: $(cat "$out")"
    return 1
}
send() { local ns=$1; shift; timeout 5 ip netns exec "$(NS "$ns")" python3 "$LAB_NETCHECK" send "$@"; }
# srcs OUTFILE -> "ip:port" of every message a listener got, one per line
srcs() { awk '$1 == "from" {print $2}' "$1"; }
# one_shot NS BIND SENDER_NS DST [--tcp]: listener gets one message? prints source
one_shot() {
    local lns=$1 bind=$2 sns=$3 dst=$4 proto=${5:-} out="$TMP/l.$RANDOM"
    listen "$lns" "$out" $proto --bind "$bind" --timeout 3 || return 1
    send "$sns" $proto --to "$dst" --msg "probe-$bind" >/dev/null 2>&1
    wait "$LPID" 2>/dev/null
    srcs "$out"
}

echo "# nat-lab smoke: nat=$NAT prefix=$LAB_PREFIX"

# ---- baseline of the root namespace (must not change) -----------------------
root_state() {
    ip -o -4 addr show | awk '{print $2, $4}'
    ip -o link show | awk -F': ' '{print $2}' | sed 's/@.*//'
    ip route show table all 2>/dev/null | grep -v '^local\|^broadcast\|^multicast'
}
ROOT_BEFORE=$(root_state)

# ---- bring up the lab and every extra ----------------------------------------
if lab_up --nat "$NAT" >/dev/null && lab_add_remote_phone --nat "$NAT" >/dev/null &&
   lab_add_double_nat --nat "$NAT" >/dev/null && lab_add_attacker >/dev/null; then
    ok "lab up (nat=$NAT): $(lab_namespaces | sort | tr '\n' ' ')"
else
    fail "lab up"
    echo "nat-lab-smoke: $PASS passed, $((FAILN)) failed"
    exit 1
fi
check "router NAT mode is $NAT" [ "$(lab_nat_mode router)" = "$NAT" ]
check "ip_forward=1 in router" [ "$(lab_exec router sysctl -n net.ipv4.ip_forward)" = 1 ]

# ---- (1)+(3) masquerade; mapping behaviour -----------------------------------
L1="$TMP/gw1" L2="$TMP/gw2"
listen itsp "$L1" --bind "$LAB_ITSP_IP1:5070" --timeout 4 --reply; LP1=$LPID
listen itsp "$L2" --bind "$LAB_ITSP_IP2:5070" --timeout 4 --reply; LP2=$LPID
REPLIES=$(send host --bind "$LAB_HOST_IP:40000" --to "$LAB_ITSP_IP1:5070" --to "$LAB_ITSP_IP2:5070" \
    --msg masq --wait-reply 3 2>&1)
wait "$LP1" "$LP2" 2>/dev/null
S1=$(srcs "$L1"); S2=$(srcs "$L2")
echo "# host 192.0.2.10:40000 seen by gw1 as $S1, by gw2 as $S2"
check "(1) host -> gw1 masqueraded to $LAB_ROUTER_WAN_IP (saw $S1)" [ "${S1%:*}" = "$LAB_ROUTER_WAN_IP" ]
check "(1) host -> gw2 masqueraded to $LAB_ROUTER_WAN_IP (saw $S2)" [ "${S2%:*}" = "$LAB_ROUTER_WAN_IP" ]
check "(1) replies from both gateways came back through the NAT" \
    [ "$(grep -c '^reply from' <<<"$REPLIES")" = 2 ]
P1=${S1##*:} P2=${S2##*:}
if [ "$NAT" = cone ]; then
    checke "(3) cone: inside port 40000 preserved to gw1 ($P1) and gw2 ($P2)" \
        '[ "$P1" = 40000 ] && [ "$P2" = 40000 ]'
else
    checke "(3) symmetric: outside port to gw1 ($P1) differs from inside port 40000" '[ -n "$P1" ] && [ "$P1" != 40000 ]'
    checke "(3) symmetric: outside port to gw2 ($P2) differs from inside port 40000" '[ -n "$P2" ] && [ "$P2" != 40000 ]'
    checke "(3) symmetric: mapping depends on destination ($P1 != $P2)" '[ -n "$P1" ] && [ "$P1" != "$P2" ]'
fi
S=$(one_shot itsp "$LAB_ITSP_IP1:5071" phone "$LAB_ITSP_IP1:5071")
check "(1) phone -> itsp masqueraded too (saw $S)" [ "${S%:*}" = "$LAB_ROUTER_WAN_IP" ]

# ---- (2) port forwards -----------------------------------------------------
for spec in udp:5060 tcp:5060 udp:10000 udp:15000 udp:20000; do
    proto=${spec%:*} port=${spec#*:} flag=""
    [ "$proto" = tcp ] && flag=--tcp
    S=$(one_shot host "$LAB_HOST_IP:$port" itsp "$LAB_ROUTER_WAN_IP:$port" $flag)
    check "(2) forward $proto $LAB_ROUTER_WAN_IP:$port -> $LAB_HOST_IP:$port (source ${S:-none})" \
        [ "${S%:*}" = "$LAB_ITSP_IP1" ]
done
S=$(one_shot host "$LAB_HOST_IP:20001" itsp "$LAB_ROUTER_WAN_IP:20001")
check "(2) no forward for udp 20001 (got '${S:-nothing}')" [ -z "$S" ]
S=$(one_shot phone "$LAB_PHONE_IP:5060" itsp "$LAB_ROUTER_WAN_IP:5060")
check "(2) forwarded 5060 does not reach the phone (got '${S:-nothing}')" [ -z "$S" ]

# ---- (4) flush-nat -----------------------------------------------------------
udp_entries() { lab_exec "$1" conntrack -L -p udp 2>/dev/null | grep -c "src=$2" ; }
OUT="$TMP/flush1"
listen itsp "$OUT" --bind "$LAB_ITSP_IP1:5072" --timeout 3 &&
    send host --bind "$LAB_HOST_IP:40002" --to "$LAB_ITSP_IP1:5072" --msg before >/dev/null
wait "$LPID" 2>/dev/null
BEFORE=$(srcs "$OUT")
N1=$(udp_entries router "$LAB_HOST_IP")
check "(4) router has a UDP binding for the host before flush ($N1 entries, total $(lab_conntrack_count router))" [ "$N1" -ge 1 ]
FLUSH_OUT=$("$HERE/lab.sh" flush-nat --prefix "$LAB_PREFIX" router 2>&1)
echo "# $FLUSH_OUT"
N0=$(lab_conntrack_count router)
check "(4) after 'lab.sh flush-nat router': no UDP entries left (total count $N0)" \
    [ "$(lab_exec router conntrack -L -p udp 2>/dev/null | wc -l)" = 0 ]
OUT="$TMP/flush2"
listen itsp "$OUT" --bind "$LAB_ITSP_IP1:5072" --timeout 3 &&
    send host --bind "$LAB_HOST_IP:40002" --to "$LAB_ITSP_IP1:5072" --msg after >/dev/null
wait "$LPID" 2>/dev/null
AFTER=$(srcs "$OUT")
N2=$(udp_entries router "$LAB_HOST_IP")
checke "(4) a new binding is created after the flush ($N2 entries; $BEFORE -> $AFTER)" \
    '[ "${AFTER%:*}" = "$LAB_ROUTER_WAN_IP" ] && [ "$N2" -ge 1 ]'
if [ "$NAT" = symmetric ]; then
    checke "(4) symmetric: the new binding has a new public port ($BEFORE -> $AFTER)" '[ -n "$BEFORE" ] && [ "$BEFORE" != "$AFTER" ]'
else
    checke "(4) cone: the new binding reuses the inside port ($BEFORE -> $AFTER)" '[ "$BEFORE" = "$LAB_ROUTER_WAN_IP:40002" ] && [ "$BEFORE" = "$AFTER" ]'
fi

# ---- (5) SIPp OPTIONS across the NAT ------------------------------------------
mkdir -p "$TMP/sipp"
CAP=""
if command -v tcpdump >/dev/null 2>&1; then
    lab_capture_start itsp eth0 "$TMP/sipp/itsp.pcap" udp port 5060 && CAP=$LAB_CAPTURE_PID && BG+=("$CAP")
fi
( cd "$TMP/sipp" && exec ip netns exec "$(NS itsp)" timeout 10 sipp -sn uas -aa -i "$LAB_ITSP_IP1" -p 5060 -m 1 \
      -nostdin -trace_msg -message_file uas.log ) </dev/null >"$TMP/sipp/uas.out" 2>&1 &
UAS=$!; BG+=("$UAS")
for _ in $(seq 50); do   # wait (max 5 s) until the UAS socket is bound
    lab_exec itsp ss -Hlun "sport = :5060" 2>/dev/null | grep -q . && break; sleep 0.1
done
( cd "$TMP/sipp" && exec timeout 10 ip netns exec "$(NS host)" sipp -sf "$HERE/options_uac.xml" \
      -i "$LAB_HOST_IP" -p 5060 "$LAB_ITSP_IP1:5060" -m 1 -nostdin -timeout 6 -timeout_error \
      -trace_msg -message_file uac.log ) >"$TMP/sipp/uac.out" 2>&1
UAC_RC=$?
checke "(5) sipp OPTIONS from host through the NAT got 200 OK (rc=$UAC_RC)" \
    '[ "$UAC_RC" = 0 ] && grep -q "^SIP/2.0 200 OK" "$TMP/sipp/uac.log"'
check "(5) the sipp UAS in itsp received the OPTIONS" grep -q '^OPTIONS sip:' "$TMP/sipp/uas.log"
kill "$UAS" 2>/dev/null; wait "$UAS" 2>/dev/null   # -aa answers do not count as calls
if [ -n "$CAP" ]; then
    lab_capture_stop "$CAP"
    WIRE=$(tcpdump -n -r "$TMP/sipp/itsp.pcap" 2>/dev/null)
    echo "$WIRE" | sed 's/^/# wire: /'
    check "(5) on the ITSP wire the OPTIONS came from $LAB_ROUTER_WAN_IP and no 192.0.2.x crossed" \
        sh -c 'echo "$1" | grep -q " IP $2\.[0-9]* > $3\.5060:" && ! echo "$1" | grep -q " IP 192\.0\.2\."' _ \
        "$WIRE" "${LAB_ROUTER_WAN_IP//./\\.}" "${LAB_ITSP_IP1//./\\.}"
    check "(5) lab is not an ALG: the private Via 192.0.2.10 reached the ITSP unmodified" \
        grep -q "^Via: SIP/2.0/UDP $LAB_HOST_IP:5060" "$TMP/sipp/uas.log"
else
    echo "# tcpdump not installed: wire check of (5) not run"
fi

# ---- extras: remote phone, double NAT, attacker -------------------------------
S=$(one_shot itsp "$LAB_ITSP_IP1:5073" rphone "$LAB_ITSP_IP1:5073")
check "remote phone 10.0.0.20 -> itsp masqueraded to $LAB_RROUTER_WAN_IP (saw $S)" \
    [ "${S%:*}" = "$LAB_RROUTER_WAN_IP" ]
S=$(one_shot itsp "$LAB_ITSP_IP1:5074" dphone "$LAB_ITSP_IP1:5074")
check "double-NAT phone 172.16.0.20 -> itsp seen as $LAB_RROUTER_WAN_IP (saw $S)" \
    [ "${S%:*}" = "$LAB_RROUTER_WAN_IP" ]
check "double NAT: drouter mapped 172.16.0.20 to its WAN 10.0.0.2" \
    sh -c "ip netns exec '$(NS drouter)' conntrack -L -p udp 2>/dev/null | grep -q 'src=$LAB_DPHONE_IP .*dst=$LAB_DROUTER_WAN_IP'"
check "flush-nat works on the remote router too" \
    sh -c "'$HERE/lab.sh' flush-nat --prefix '$LAB_PREFIX' rrouter >/dev/null && [ \$(ip netns exec '$(NS rrouter)' conntrack -L -p udp 2>/dev/null | wc -l) = 0 ]"
S=$(one_shot host "$LAB_HOST_IP:5060" attacker "$LAB_ROUTER_WAN_IP:5060")
check "attacker $LAB_ATTACKER_IP reaches the forwarded 5060 (saw $S)" [ "${S%:*}" = "$LAB_ATTACKER_IP" ]
lab_exec attacker ip route add "$LAB_LAN_NET" via "$LAB_ROUTER_WAN_IP"
S=$(one_shot host "$LAB_HOST_IP:5099" attacker "$LAB_HOST_IP:5099")
check "router firewall drops attacker traffic routed straight to 192.0.2.10 (got '${S:-nothing}')" [ -z "$S" ]
S=$(one_shot rphone "$LAB_RPHONE_IP:5075" itsp "$LAB_RROUTER_WAN_IP:5075")
check "unsolicited inbound to the remote router is not forwarded (got '${S:-nothing}')" [ -z "$S" ]

# ---- (6) root namespace untouched ---------------------------------------------
ROOT_DURING=$(root_state)
check "(6) root namespace addresses, links and routes unchanged with the lab up" \
    [ "$ROOT_BEFORE" = "$ROOT_DURING" ]
leak=""
for ip in $LAB_ALL_IPS; do
    ip -o -4 addr show | grep -q " $ip/" && leak="$leak $ip"
done
ip -o -4 addr show | grep -qE ' (198\.51\.100|203\.0\.113)\.' && leak="$leak public-lab-prefix"
check "(6) no lab address (or 198.51.100/203.0.113 prefix) in the root namespace${leak:+:$leak}" [ -z "$leak" ]
# route lookup only (no packet sent): whatever root uses for 203.0.113.1 is a
# pre-existing interface, never one of the lab's veths.
RDEV=$(ip route get "$LAB_ITSP_IP1" 2>/dev/null | sed -n 's/.* dev \([^ ]*\).*/\1/p')
check "(6) root route to $LAB_ITSP_IP1 (dev '${RDEV:-none}') uses no lab interface" \
    sh -c '[ -z "$1" ] || echo "$2" | grep -qx "$1"' _ "$RDEV" \
    "$(echo "$ROOT_BEFORE" | awk 'NF == 1')"
check "(6) no lab link names in the root namespace" \
    sh -c '! ip -o link show | grep -qE ": (wan0|br-lan|br-pub|itsp0|lan-[a-z]+|pub-[a-z]+)[@:]"'

# ---- teardown is complete and idempotent ------------------------------------------
lab_down; lab_down
check "lab_down removed every namespace of $LAB_PREFIX" [ -z "$(lab_namespaces)" ]
check "lab_down removed /etc/netns/$LAB_PREFIX-*" \
    sh -c "! ls -d /etc/netns/$LAB_PREFIX-* >/dev/null 2>&1"
check "root namespace identical after teardown" [ "$ROOT_BEFORE" = "$(root_state)" ]

echo "nat-lab-smoke: $PASS passed, $FAILN failed"
[ "$FAILN" = 0 ]
