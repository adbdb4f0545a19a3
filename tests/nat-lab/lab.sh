#!/usr/bin/env bash
# libsipnat NAT lab: real kernel NAT between network namespaces (DESIGN.md s.6).
#
# Required packages (Debian 12): iproute2 nftables conntrack sip-tester python3
# Optional: tcpdump (lab_capture_*); tcpdump and python3-dpkt for the
# no-leak check (LAB_WIRE_DIR, set by testlib.sh).
# Needs root (or CAP_NET_ADMIN + CAP_SYS_ADMIN) and working `ip netns`;
# otherwise it prints why and exits/returns 77 (automake "skip").
#
# CLI:   tests/nat-lab/lab.sh up [--nat cone|symmetric] [--forwards all|sip] [--prefix P]
#        tests/nat-lab/lab.sh down|status [--prefix P]
#        tests/nat-lab/lab.sh add-remote-phone|add-double-nat [--nat M] [--prefix P]
#        tests/nat-lab/lab.sh add-attacker [--prefix P]
#        tests/nat-lab/lab.sh flush-nat [--prefix P] [router|rrouter|drouter]
#        tests/nat-lab/lab.sh set-nat [--prefix P] ROUTER cone|symmetric
#        tests/nat-lab/lab.sh nat-timeout [--prefix P] ROUTER SECONDS
#        tests/nat-lab/lab.sh exec [--prefix P] NS CMD...
# Library: source tests/nat-lab/lab.sh; lab_require || exit $?;
#          trap lab_down EXIT; lab_up --nat cone; lab_exec host CMD...
#
# Everything lives inside namespaces named "$LAB_PREFIX-*": both ends of every
# veth are created directly inside namespaces, so nothing (address, route,
# link, nft rule) is ever added to the root namespace.  The only thing outside
# the namespaces is /etc/netns/$LAB_PREFIX-*/{hosts,resolv.conf} (per-namespace
# name resolution, bind-mounted by `ip netns exec`), removed by lab_down.
#
# Topology (seed: res_pjsip-nat):
#   $P-host   eth0 192.0.2.10/24  gw 192.0.2.1   (library host)
#   $P-phone  eth0 192.0.2.20/24  gw 192.0.2.1   (LAN phone 6001)
#   $P-router br-lan 192.0.2.1/24 (ports lan-host, lan-phone)
#             wan0 198.51.100.5/24 gw 198.51.100.1; masquerade 192.0.2.0/24
#             out wan0; dnat WAN udp+tcp 5060, udp 10000-20000 -> 192.0.2.10
#   $P-inet   br-pub 198.51.100.1/24 (ports pub-router, pub-rrouter,
#             pub-attacker); itsp0 203.0.113.254/24; forwards, no NAT, no
#             route to any private range
#   $P-itsp   eth0 203.0.113.1/24 + 203.0.113.2/24 gw 203.0.113.254
# Extras:
#   add-remote-phone: $P-rrouter wan0 198.51.100.7/24, br-lan 10.0.0.1/24
#                     (masquerade); $P-rphone eth0 10.0.0.20/24 gw 10.0.0.1
#   add-double-nat:   $P-drouter wan0 10.0.0.2/24 on rrouter's LAN, br-lan
#                     172.16.0.1/24 (masquerade); $P-dphone 172.16.0.20/24
#   add-attacker:     $P-attacker eth0 198.51.100.66/24 gw 198.51.100.1

# Library: variables/functions are for the scripts that source this file.
# shellcheck disable=SC2034,SC2120,SC2119
LAB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
LAB_NETCHECK="$LAB_DIR/netcheck.py"   # UDP/TCP probe: listen/send, prints sources
LAB_PREFIX=${LAB_PREFIX:-${PREFIX:-snlab}}
LAB_NAT=${LAB_NAT:-cone}
LAB_FORWARDS=${LAB_FORWARDS:-all}   # all: the seed's forwards; sip: 5060 only

LAB_HOST_IP=192.0.2.10
LAB_PHONE_IP=192.0.2.20
LAB_LAN_NET=192.0.2.0/24
LAB_ROUTER_LAN_IP=192.0.2.1
LAB_ROUTER_WAN_IP=198.51.100.5
LAB_INET_PUB_IP=198.51.100.1
LAB_INET_ITSP_IP=203.0.113.254
LAB_ITSP_IP1=203.0.113.1
LAB_ITSP_IP2=203.0.113.2
LAB_RROUTER_WAN_IP=198.51.100.7
LAB_RROUTER_LAN_IP=10.0.0.1
LAB_RLAN_NET=10.0.0.0/24
LAB_RPHONE_IP=10.0.0.20
LAB_DROUTER_WAN_IP=10.0.0.2
LAB_DROUTER_LAN_IP=172.16.0.1
LAB_DLAN_NET=172.16.0.0/24
LAB_DPHONE_IP=172.16.0.20
LAB_ATTACKER_IP=198.51.100.66
# Every address the lab assigns (for "never in the root namespace" checks).
LAB_ALL_IPS="$LAB_HOST_IP $LAB_PHONE_IP $LAB_ROUTER_LAN_IP $LAB_ROUTER_WAN_IP
  $LAB_INET_PUB_IP $LAB_INET_ITSP_IP $LAB_ITSP_IP1 $LAB_ITSP_IP2
  $LAB_RROUTER_WAN_IP $LAB_RROUTER_LAN_IP $LAB_RPHONE_IP $LAB_DROUTER_WAN_IP
  $LAB_DROUTER_LAN_IP $LAB_DPHONE_IP $LAB_ATTACKER_IP"
LAB_NFT_TABLE=snlab_nat   # one table per router namespace

_lab_err() { echo "nat-lab: $*" >&2; }

# Run a command; on failure say which and return 1.
_lab_x() { "$@" || { _lab_err "failed: $*"; return 1; }; }

# lab_require: 0 if we can build the lab, else prints why and returns 77.
lab_require() {
    if [ "$(id -u)" != 0 ]; then
        _lab_err "SKIP: needs root (network namespaces, nftables)"; return 77
    fi
    local t
    for t in ip nft python3; do
        command -v "$t" >/dev/null 2>&1 ||
            { _lab_err "SKIP: '$t' not found (apt-get install iproute2 nftables python3)"; return 77; }
    done
    local probe="snlab-probe-$$"
    if ! ip netns add "$probe" 2>/dev/null; then
        _lab_err "SKIP: 'ip netns add' does not work here"; return 77
    fi
    if ! ip netns exec "$probe" nft list ruleset >/dev/null 2>&1; then
        ip netns del "$probe" 2>/dev/null
        _lab_err "SKIP: nftables does not work inside a network namespace"; return 77
    fi
    ip netns del "$probe" 2>/dev/null
    return 0
}

_lab_check_prefix() {
    [[ "$LAB_PREFIX" =~ ^[A-Za-z0-9_.]{1,24}$ ]] ||
        { _lab_err "bad prefix '$LAB_PREFIX' (letters, digits, _ . ; max 24)"; return 2; }
}

# lab_ns NAME -> full namespace name ("host" -> "$LAB_PREFIX-host").
lab_ns() {
    case "$1" in
        "$LAB_PREFIX"-*) echo "$1" ;;
        *) echo "$LAB_PREFIX-$1" ;;
    esac
}

lab_ns_exists() { [ -e "/run/netns/$(lab_ns "$1")" ]; }

# lab_namespaces: every namespace of this prefix, one per line.
lab_namespaces() {
    ip netns list 2>/dev/null | awk '{print $1}' | grep -E "^${LAB_PREFIX//./\\.}-[a-z]+$" || true
}

# lab_exec NS CMD... : run CMD inside the namespace NS (short or full name).
lab_exec() {
    local ns; ns=$(lab_ns "$1"); shift
    ip netns exec "$ns" "$@"
}

_lab_ns_create() {
    local ns; ns=$(lab_ns "$1")
    _lab_x ip netns add "$ns" || return 1
    _lab_x ip -n "$ns" link set lo up || return 1
    # No IPv6 chatter (RS/MLD/DAD) in captures; no IPv6 paths at all.
    ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
        net.ipv6.conf.default.disable_ipv6=1 2>/dev/null || true
    # retry: a concurrent lab_down of another prefix may rmdir an empty /etc/netns
    mkdir -p "/etc/netns/$ns" 2>/dev/null || mkdir -p "/etc/netns/$ns" || return 1
    cat >"/etc/netns/$ns/hosts" <<EOF
127.0.0.1 localhost
$LAB_ITSP_IP1 gw1.example.com
$LAB_ITSP_IP2 gw2.example.com
$LAB_ROUTER_WAN_IP router.example.net
$LAB_HOST_IP pbx.lan
$LAB_PHONE_IP phone.lan
EOF
    # No DNS in the lab: fail fast instead of reaching the host's resolver.
    printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' >"/etc/netns/$ns/resolv.conf"
}

# _lab_veth NS_A IF_A NS_B IF_B: a veth pair created directly in the two
# namespaces (never visible in the root namespace), both ends up.
_lab_veth() {
    local a b; a=$(lab_ns "$1"); b=$(lab_ns "$3")
    _lab_x ip -n "$a" link add name "$2" type veth peer name "$4" netns "$b" || return 1
    _lab_x ip -n "$a" link set "$2" up || return 1
    _lab_x ip -n "$b" link set "$4" up
}

_lab_bridge() {   # NS BR [CIDR]
    local ns; ns=$(lab_ns "$1")
    _lab_x ip -n "$ns" link add name "$2" type bridge forward_delay 0 stp_state 0 || return 1
    _lab_x ip -n "$ns" link set "$2" up || return 1
    [ -z "${3:-}" ] || _lab_x ip -n "$ns" addr add "$3" dev "$2"
}

_lab_port() {     # NS BR IF
    _lab_x ip -n "$(lab_ns "$1")" link set "$3" master "$2"
}

_lab_forwarding() {
    _lab_x ip netns exec "$(lab_ns "$1")" sysctl -qw net.ipv4.ip_forward=1
}

# _lab_endpoint NS PEER_NS PEER_BR PEER_IF CIDR GW: a one-interface host
# (eth0) plugged into bridge PEER_BR of PEER_NS.
_lab_endpoint() {
    local ns=$1 pns=$2 br=$3 pif=$4 cidr=$5 gw=$6 n
    n=$(lab_ns "$ns")
    _lab_ns_create "$ns" || return 1
    _lab_veth "$ns" eth0 "$pns" "$pif" || return 1
    _lab_port "$pns" "$br" "$pif" || return 1
    _lab_x ip -n "$n" addr add "$cidr" dev eth0 || return 1
    _lab_x ip -n "$n" route add default via "$gw"
}

# lab_nft_load ROUTER LAN_NET MODE [FORWARD_TO]: (re)load the router's NAT
# table atomically.  MODE cone = masquerade (port-preserving),
# symmetric = masquerade random,fully-random.  FORWARD_TO adds the seed's
# port forwards (udp+tcp 5060, udp 10000-20000); with LAB_FORWARDS=sip
# (lab_up --forwards sip) only the SIP ones: media has to find its own way.
lab_nft_load() {
    local ns lan=$2 mode=$3 fwd=${4:-} masq dnat=""
    ns=$(lab_ns "$1")
    case "$mode" in
        cone) masq="masquerade" ;;
        symmetric) masq="masquerade random,fully-random" ;;
        *) _lab_err "unknown NAT mode '$mode' (cone|symmetric)"; return 2 ;;
    esac
    if [ -n "$fwd" ]; then
        dnat="
    iifname \"wan0\" udp dport 5060 dnat to $fwd
    iifname \"wan0\" tcp dport 5060 dnat to $fwd"
        [ "$LAB_FORWARDS" = sip ] || dnat="$dnat
    iifname \"wan0\" udp dport 10000-20000 dnat to $fwd"
    fi
    ip netns exec "$ns" nft -f - <<EOF || { _lab_err "nft load failed in $ns"; return 1; }
table ip $LAB_NFT_TABLE
delete table ip $LAB_NFT_TABLE
table ip $LAB_NFT_TABLE {
  comment "libsipnat nat-lab mode=$mode forwards=$LAB_FORWARDS"
  chain prerouting {
    type nat hook prerouting priority dstnat; policy accept;$dnat
  }
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan0" ip saddr $lan $masq
  }
  chain forward {
    type filter hook forward priority filter; policy accept;
    iifname "wan0" ct state established,related accept
    iifname "wan0" ct status dnat accept
    iifname "wan0" drop
  }
}
EOF
}

# lab_nat_mode ROUTER: prints cone|symmetric (from the loaded table).
lab_nat_mode() {
    lab_exec "$1" nft list table ip "$LAB_NFT_TABLE" 2>/dev/null |
        sed -n 's/.*mode=\([a-z]*\).*/\1/p' | head -n1
}

# lab_set_nat ROUTER MODE: switch a running router between cone/symmetric.
lab_set_nat() {
    local r=$1 mode=$2
    case "$(lab_ns "$r")" in
        "$LAB_PREFIX-router")  lab_nft_load "$r" "$LAB_LAN_NET" "$mode" "$LAB_HOST_IP" ;;
        "$LAB_PREFIX-rrouter") lab_nft_load "$r" "$LAB_RLAN_NET" "$mode" ;;
        "$LAB_PREFIX-drouter") lab_nft_load "$r" "$LAB_DLAN_NET" "$mode" ;;
        *) _lab_err "not a lab router: $r"; return 2 ;;
    esac
}

_lab_parse() {   # common options: --nat M --prefix P; rest in LAB_ARGS
    LAB_ARGS=()
    while [ $# -gt 0 ]; do
        case "$1" in
            --nat) LAB_NAT=${2:-}; shift 2 || return 2 ;;
            --nat=*) LAB_NAT=${1#--nat=}; shift ;;
            --forwards) LAB_FORWARDS=${2:-}; shift 2 || return 2 ;;
            --forwards=*) LAB_FORWARDS=${1#--forwards=}; shift ;;
            --prefix) LAB_PREFIX=${2:-}; shift 2 || return 2 ;;
            --prefix=*) LAB_PREFIX=${1#--prefix=}; shift ;;
            *) LAB_ARGS+=("$1"); shift ;;
        esac
    done
    case "$LAB_NAT" in cone|symmetric) ;; *) _lab_err "--nat must be cone or symmetric"; return 2 ;; esac
    case "$LAB_FORWARDS" in all|sip) ;; *) _lab_err "--forwards must be all or sip"; return 2 ;; esac
    _lab_check_prefix
}

_lab_build() {
    local ns
    # internet core
    _lab_ns_create inet || return 1
    _lab_forwarding inet || return 1
    _lab_bridge inet br-pub "$LAB_INET_PUB_IP/24" || return 1
    # ITSP
    _lab_ns_create itsp || return 1
    _lab_veth itsp eth0 inet itsp0 || return 1
    _lab_x ip -n "$(lab_ns inet)" addr add "$LAB_INET_ITSP_IP/24" dev itsp0 || return 1
    ns=$(lab_ns itsp)
    _lab_x ip -n "$ns" addr add "$LAB_ITSP_IP1/24" dev eth0 || return 1
    _lab_x ip -n "$ns" addr add "$LAB_ITSP_IP2/24" dev eth0 || return 1
    _lab_x ip -n "$ns" route add default via "$LAB_INET_ITSP_IP" || return 1
    # router
    _lab_ns_create router || return 1
    _lab_forwarding router || return 1
    _lab_veth router wan0 inet pub-router || return 1
    _lab_port inet br-pub pub-router || return 1
    ns=$(lab_ns router)
    _lab_x ip -n "$ns" addr add "$LAB_ROUTER_WAN_IP/24" dev wan0 || return 1
    _lab_bridge router br-lan "$LAB_ROUTER_LAN_IP/24" || return 1
    _lab_x ip -n "$ns" route add default via "$LAB_INET_PUB_IP" || return 1
    lab_nft_load router "$LAB_LAN_NET" "$LAB_NAT" "$LAB_HOST_IP" || return 1
    # LAN hosts
    _lab_endpoint host router br-lan lan-host "$LAB_HOST_IP/24" "$LAB_ROUTER_LAN_IP" || return 1
    _lab_endpoint phone router br-lan lan-phone "$LAB_PHONE_IP/24" "$LAB_ROUTER_LAN_IP" || return 1
}

# lab_up [--nat cone|symmetric] [--prefix P]: build the base lab (tears down
# an existing lab of the same prefix first).
lab_up() {
    _lab_parse "$@" || return $?
    if [ -n "$(lab_namespaces)" ]; then
        _lab_err "lab '$LAB_PREFIX' exists; rebuilding"
        lab_down
    fi
    _lab_build || { local rc=$?; lab_down; return $rc; }
    lab_wire_start || { _lab_err "cannot capture the router's WAN side"; lab_down; return 1; }
    echo "nat-lab: up prefix=$LAB_PREFIX nat=$LAB_NAT"
}

# lab_add_remote_phone [--nat M]: second NAT router + phone behind it.
lab_add_remote_phone() {
    _lab_parse "$@" || return $?
    lab_ns_exists inet || { _lab_err "lab '$LAB_PREFIX' is not up"; return 1; }
    lab_ns_exists rrouter && return 0
    local ns
    { _lab_ns_create rrouter &&
      _lab_forwarding rrouter &&
      _lab_veth rrouter wan0 inet pub-rrouter &&
      _lab_port inet br-pub pub-rrouter &&
      ns=$(lab_ns rrouter) &&
      _lab_x ip -n "$ns" addr add "$LAB_RROUTER_WAN_IP/24" dev wan0 &&
      _lab_bridge rrouter br-lan "$LAB_RROUTER_LAN_IP/24" &&
      _lab_x ip -n "$ns" route add default via "$LAB_INET_PUB_IP" &&
      lab_nft_load rrouter "$LAB_RLAN_NET" "$LAB_NAT" &&
      _lab_endpoint rphone rrouter br-lan lan-rphone "$LAB_RPHONE_IP/24" "$LAB_RROUTER_LAN_IP"
    } || return 1
    echo "nat-lab: remote phone $LAB_RPHONE_IP behind $LAB_RROUTER_WAN_IP (nat=$LAB_NAT)"
}

# lab_add_double_nat [--nat M]: a third router behind the remote router, so
# $P-dphone sits behind two NATs (172.16.0.20 -> 10.0.0.2 -> 198.51.100.7).
lab_add_double_nat() {
    _lab_parse "$@" || return $?
    lab_ns_exists rrouter || lab_add_remote_phone || return 1
    lab_ns_exists drouter && return 0
    local ns
    { _lab_ns_create drouter &&
      _lab_forwarding drouter &&
      _lab_veth drouter wan0 rrouter lan-drouter &&
      _lab_port rrouter br-lan lan-drouter &&
      ns=$(lab_ns drouter) &&
      _lab_x ip -n "$ns" addr add "$LAB_DROUTER_WAN_IP/24" dev wan0 &&
      _lab_bridge drouter br-lan "$LAB_DROUTER_LAN_IP/24" &&
      _lab_x ip -n "$ns" route add default via "$LAB_RROUTER_LAN_IP" &&
      lab_nft_load drouter "$LAB_DLAN_NET" "$LAB_NAT" &&
      _lab_endpoint dphone drouter br-lan lan-dphone "$LAB_DPHONE_IP/24" "$LAB_DROUTER_LAN_IP"
    } || return 1
    echo "nat-lab: double-NAT phone $LAB_DPHONE_IP behind $LAB_DROUTER_WAN_IP behind $LAB_RROUTER_WAN_IP"
}

# lab_add_attacker: a host on the public segment (no NAT) at 198.51.100.66.
lab_add_attacker() {
    _lab_parse "$@" || return $?
    lab_ns_exists inet || { _lab_err "lab '$LAB_PREFIX' is not up"; return 1; }
    lab_ns_exists attacker && return 0
    _lab_endpoint attacker inet br-pub pub-attacker "$LAB_ATTACKER_IP/24" "$LAB_INET_PUB_IP" || return 1
    echo "nat-lab: attacker at $LAB_ATTACKER_IP"
}

# lab_conntrack_count ROUTER: number of conntrack entries in that namespace.
lab_conntrack_count() {
    local ns; ns=$(lab_ns "${1:-router}")
    if command -v conntrack >/dev/null 2>&1; then
        ip netns exec "$ns" conntrack -C 2>/dev/null && return 0
    fi
    ip netns exec "$ns" cat /proc/sys/net/netfilter/nf_conntrack_count 2>/dev/null || echo 0
}

# lab_flush_nat [ROUTER]: drop every NAT binding (conntrack entry) in the
# router namespace, as if the router rebooted/lost state.  Uses
# `conntrack -F`; without conntrack-tools, bounces wan0 (masquerade drops
# the entries of a device that goes down) and restores the default route.
# Note: `nft flush ruleset` + reload does NOT remove conntrack entries.
lab_flush_nat() {
    local r=${1:-router} ns gw
    ns=$(lab_ns "$r")
    [ -e "/run/netns/$ns" ] || { _lab_err "no namespace $ns"; return 1; }
    if command -v conntrack >/dev/null 2>&1; then
        ip netns exec "$ns" conntrack -F >/dev/null 2>&1 && return 0
    fi
    gw=$(ip -n "$ns" route show default | awk '{print $3; exit}')
    ip -n "$ns" link set wan0 down && ip -n "$ns" link set wan0 up || return 1
    [ -z "$gw" ] || ip -n "$ns" route replace default via "$gw"
}

# lab_nat_timeout ROUTER SECONDS: UDP binding lifetime (unreplied and
# "stream" alike) in that router, to test keepalives/binding expiry quickly.
lab_nat_timeout() {
    _lab_x lab_exec "$1" sysctl -qw "net.netfilter.nf_conntrack_udp_timeout=$2" \
        "net.netfilter.nf_conntrack_udp_timeout_stream=$2"
}

# lab_capture_start NS IF FILE [FILTER...]: tcpdump in the namespace; waits
# (max 5 s) until it is listening; its PID is left in LAB_CAPTURE_PID (do not
# call it inside $(...): the background tcpdump would keep the pipe open).
# Stop it with lab_capture_stop "$LAB_CAPTURE_PID".
# -Z root: Debian's tcpdump otherwise drops to user "tcpdump" before opening
# FILE (fails in a 0700 mktemp dir).  --immediate-mode: with libpcap 1.10's
# TPACKET_V3 ring, packets of the last <1 s are lost on SIGINT without it.
lab_capture_start() {
    local ns=$1 ifc=$2 file=$3; shift 3
    local err="$file.stderr" pid
    LAB_CAPTURE_PID=""
    ip netns exec "$(lab_ns "$ns")" tcpdump -Z root --immediate-mode -i "$ifc" -n -U -w "$file" "$@" </dev/null >/dev/null 2>"$err" &
    pid=$!
    for _ in $(seq 50); do
        grep -q "listening on" "$err" 2>/dev/null && { LAB_CAPTURE_PID=$pid; return 0; }
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    _lab_err "tcpdump did not start: $(cat "$err" 2>/dev/null)"
    kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
    return 1
}

lab_capture_stop() {
    kill -INT "$1" 2>/dev/null
    timeout 5 tail --pid="$1" -f /dev/null 2>/dev/null || kill -KILL "$1" 2>/dev/null
    wait "$1" 2>/dev/null
    return 0
}

# ---- the no-leak check -------------------------------------------------------
# When LAB_WIRE_DIR names a directory (testlib.sh sets and exports it),
# lab_up captures the seed router's WAN side (wan0, both directions: what
# crossed the router) into $LAB_WIRE_DIR/$LAB_PREFIX.pcap, and
# lab_wire_check (run by lab_down, and by testlib.sh's finish while the lab
# is still up) stops the capture and judges it with wirecheck.py: no LAN
# address in any SIP message that crossed the router. The verdict is left
# in $LAB_WIRE_DIR/$LAB_PREFIX.verdict (the checker's output) and .rc.
LAB_WIRECHECK="$LAB_DIR/wirecheck.py"

# lab_wire_python: a python3 that has dpkt (Debian's python3-dpkt is for
# the system's python3, which a python3 earlier in PATH may hide).
lab_wire_python() {
    local py
    for py in python3 /usr/bin/python3; do
        "$py" -c 'import dpkt' 2>/dev/null && { echo "$py"; return 0; }
    done
    echo python3
}

lab_wire_start() {
    [ -n "${LAB_WIRE_DIR:-}" ] || return 0
    mkdir -p "$LAB_WIRE_DIR" || return 1
    rm -f "$LAB_WIRE_DIR/$LAB_PREFIX".{verdict,rc,pid}
    lab_capture_start router wan0 "$LAB_WIRE_DIR/$LAB_PREFIX.pcap" || return 1
    echo "$LAB_CAPTURE_PID" >"$LAB_WIRE_DIR/$LAB_PREFIX.pid"
}

# lab_wire_check: stop this prefix's capture (if one runs) and judge it;
# returns the checker's status (0 when nothing was captured).
lab_wire_check() {
    local base pid rc
    [ -n "${LAB_WIRE_DIR:-}" ] || return 0
    base=$LAB_WIRE_DIR/$LAB_PREFIX
    [ -f "$base.pid" ] || return 0
    pid=$(cat "$base.pid")
    rm -f "$base.pid"
    lab_capture_stop "$pid"
    "$(lab_wire_python)" "$LAB_WIRECHECK" --name "$LAB_PREFIX" --wan "$LAB_ROUTER_WAN_IP" \
        --lan "$LAB_LAN_NET" "$base.pcap" >"$base.verdict" 2>&1
    rc=$?
    echo "$rc" >"$base.rc"
    return "$rc"
}

# lab_down [--prefix P]: remove everything of this prefix; idempotent, never
# fails, safe as an EXIT trap.  Processes still running inside the lab's
# namespaces (started by tests) are terminated first, or the namespace would
# stay alive after `ip netns del`.
lab_down() {
    local ns pids
    [ $# -eq 0 ] || _lab_parse "$@" || return 0
    lab_wire_check
    for ns in $(lab_namespaces); do
        pids=$(ip netns pids "$ns" 2>/dev/null)
        [ -z "$pids" ] || kill -TERM $pids 2>/dev/null
    done
    for ns in $(lab_namespaces); do
        pids=$(ip netns pids "$ns" 2>/dev/null)
        if [ -n "$pids" ]; then
            sleep 0.3
            pids=$(ip netns pids "$ns" 2>/dev/null)
            [ -z "$pids" ] || kill -KILL $pids 2>/dev/null
        fi
        # Deleting a namespace destroys its veths (and their peers), bridges,
        # nft tables and conntrack entries.
        ip netns del "$ns" 2>/dev/null
    done
    for ns in /etc/netns/"$LAB_PREFIX"-*; do
        [ -d "$ns" ] || continue
        rm -f "$ns/hosts" "$ns/resolv.conf"; rmdir "$ns" 2>/dev/null
    done
    rmdir /etc/netns 2>/dev/null
    return 0
}

# lab_status: namespaces, addresses, routes, NAT mode, conntrack counts.
lab_status() {
    local ns list
    list=$(lab_namespaces | sort)
    if [ -z "$list" ]; then echo "nat-lab '$LAB_PREFIX': down"; return 0; fi
    echo "nat-lab '$LAB_PREFIX':"
    for ns in $list; do
        echo "== $ns"
        ip -n "$ns" -4 -br addr show | grep -v '^lo ' | sed 's/^/   /'
        ip -n "$ns" route show default | sed 's/^/   route: /'
        case "$ns" in
            *-router|*-rrouter|*-drouter)
                echo "   nat: $(lab_nat_mode "$ns")  conntrack entries: $(lab_conntrack_count "$ns")" ;;
        esac
    done
}

_lab_usage() {
    sed -n '9,18p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
}

_lab_main() {
    local cmd=${1:-}; shift || true
    case "$cmd" in
        ""|-h|--help|help) _lab_usage; return 0 ;;
    esac
    _lab_parse "$@" || return $?
    set -- ${LAB_ARGS[@]+"${LAB_ARGS[@]}"}
    case "$cmd" in
        status) lab_status; return ;;
        down) lab_require || return $?; lab_down; echo "nat-lab: down prefix=$LAB_PREFIX"; return 0 ;;
    esac
    lab_require || return $?
    case "$cmd" in
        up) lab_up ;;
        add-remote-phone) lab_add_remote_phone ;;
        add-double-nat) lab_add_double_nat ;;
        add-attacker) lab_add_attacker ;;
        flush-nat)
            lab_flush_nat "${1:-router}" &&
                echo "nat-lab: flushed $(lab_ns "${1:-router}"), entries now $(lab_conntrack_count "${1:-router}")" ;;
        set-nat) [ $# -eq 2 ] || { _lab_usage; return 2; }; lab_set_nat "$1" "$2" ;;
        nat-timeout) [ $# -eq 2 ] || { _lab_usage; return 2; }; lab_nat_timeout "$1" "$2" ;;
        exec) [ $# -ge 2 ] || { _lab_usage; return 2; }; lab_exec "$@" ;;
        *) _lab_err "unknown command '$cmd'"; _lab_usage; return 2 ;;
    esac
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    _lab_main "$@"
    exit $?
fi
