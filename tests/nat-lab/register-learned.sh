#!/usr/bin/env bash
# The learned policy through a real NAT, with no external address set:
# the library at 192.0.2.10 registers to Kamailio at 203.0.113.1, which
# answers with received/rport like any RFC 3581 registrar.
#  - the first REGISTER, sent before anything is learned, names no address
#    of ours (Via and Contact say sipnat.invalid: the LAN address never
#    goes out); after its response the Contact becomes the router's mapped
#    address and port, with exactly one re-REGISTER (no loop);
#  - with a symmetric NAT (random ports), the NAT bindings are flushed
#    mid-registration: the keep-alive notices the new mapping and the
#    library re-registers within two keep-alive intervals;
#  - every REGISTER's Contact port is the port the registrar saw it from.
# SIPNAT_LAB_MODES="cone symmetric" (the default) or one of them.
set -u
source "$(dirname "$0")/testlib.sh" register-learned
command -v kamailio >/dev/null || { echo "kamailio is not installed (Debian package kamailio)"; bad "no kamailio"; finish; exit 1; }
KA=2 # keep-alive interval, seconds

run_mode() {
    local mode=$1 log=$work/kam-$1.log out=$work/agent-$1.out kam
    LAB_PREFIX=snlrn$$$mode
    lab_up --nat "$mode" >/dev/null || { bad "$mode: lab_up"; return; }
    lab_exec itsp kamailio -DD -E -f "$top/tests/kamailio/registrar.cfg" \
        -A 'LISTEN=udp:203.0.113.1:5060' >"$log" 2>&1 &
    kam=$!
    track "$kam"
    wait_listen itsp udp 5060 || bad "$mode: Kamailio does not listen on udp 5060"
    lab_exec host timeout 30 "$agent" --bind 0.0.0.0 --port 5060 \
        --local-net 192.0.2.0/24 --learned --keepalive $KA --hold 12 \
        --register sip:gw1.example.com --aor sip:6001@gw1.example.com \
        --contact-user 6001 >"$out" 2>"$work/agent-$mode.err" &
    local agent_pid=$!

    # Registered, learned, re-registered: two REGISTERs at the registrar.
    if wait_for 'SIPNAT-LAB REGISTER' "$log" 2 8 && wait_for 'registered 200' "$out" 2 8; then
        ok "$mode: registered, then re-registered with the learned address"
    else
        bad "$mode: no learned re-REGISTER"
    fi
    sleep $KA # a keep-alive in between shows no loop
    local before
    before=$(grep -c 'SIPNAT-LAB REGISTER' "$log")
    [ "$before" -eq 2 ] && ok "$mode: exactly one re-REGISTER, no loop" || bad "$mode: $before REGISTERs before the flush"

    lab_flush_nat router >/dev/null
    local t0=$SECONDS
    if [ "$mode" = symmetric ]; then
        if wait_for 'SIPNAT-LAB REGISTER' "$log" 3 $((2 * KA + 2)); then
            ok "$mode: re-registered $((SECONDS - t0)) s after the NAT bindings were flushed (keep-alive every $KA s)"
        else
            bad "$mode: no re-REGISTER within two keep-alive intervals of the flush"
        fi
    else
        sleep $((2 * KA + 1))
        local n
        n=$(grep -c 'SIPNAT-LAB REGISTER' "$log")
        [ "$n" -eq 2 ] && ok "$mode: the binding came back on the same port: no needless re-REGISTER" || bad "$mode: $n REGISTERs after a same-port flush"
    fi
    wait "$agent_pid"; local rc=$?
    [ $rc -eq 0 ] && ok "$mode: agent unregistered cleanly" || { bad "$mode: agent exit $rc"; tail -3 "$work/agent-$mode.err"; }
    kill "$kam" 2>/dev/null; wait "$kam" 2>/dev/null

    # What crossed the wire: each REGISTER's Contact against its source.
    local i=0 good=1
    while IFS= read -r line; do
        i=$((i + 1))
        src=${line#*src=}; src=${src%% *}
        contact=$(printf '%s' "$line" | sed -n 's/.*contact=<sip:6001@\([^;>]*\).*/\1/p')
        expires=${line##*expires=}
        if [ $i -eq 1 ]; then
            [ "$contact" = "sipnat.invalid" ] || { good=0; echo "  REGISTER 1: contact $contact"; }
        elif [ "$expires" != 0 ] && [ "$contact" != "$src" ]; then
            good=0; echo "  REGISTER $i from $src says $contact"
        fi
        case "$src" in 198.51.100.5:*) ;; *) good=0; echo "  REGISTER $i from $src (not via the NAT)";; esac
    done < <(grep 'SIPNAT-LAB REGISTER' "$log")
    [ $good -eq 1 ] && ok "$mode: the first REGISTER named no address of ours (sipnat.invalid), every re-REGISTER's Contact is the address:port the registrar saw ($(grep -c 'SIPNAT-LAB REGISTER' "$log") REGISTERs)" || bad "$mode: Contact and source disagree"

    # The old binding goes with each change: a re-REGISTER with a new
    # Contact removes the previous one (;expires=0), and the registrar's
    # answers list one binding only - never a dead one to route calls to.
    local changes removals last
    changes=$(grep 'SIPNAT-LAB REGISTER' "$log" | sed -n 's/.*contact=<sip:6001@\([^;>]*\).*/\1/p' | uniq | wc -l)
    removals=$(grep 'SIPNAT-LAB REGISTER' "$log" | grep -cE 'contact=<sip:6001@[^>]*>[^,]*, *<sip:6001@[^>]*>;expires=0')
    [ "$removals" -eq $((changes - 1)) ] && [ "$removals" -ge 1 ] &&
        ok "$mode: each of the $removals Contact changes removed the old binding in the same REGISTER" ||
        { bad "$mode: $((changes - 1)) Contact changes, $removals removals"; grep 'SIPNAT-LAB REGISTER' "$log" | sed 's/.*contact=/   contact=/'; }
    lab_wire_check >/dev/null
    last=$("$(lab_wire_python)" "$LAB_WIRECHECK" --list "$LAB_WIRE_DIR/$LAB_PREFIX.pcap" |
        grep 'SIP/2.0 200 OK | CSeq: [0-9]* REGISTER .*| Contact: ' | tail -n 1 | sed 's/.*| Contact: //')
    [ "$(echo "$last" | grep -o '<sip:' | wc -l)" -eq 1 ] &&
        ok "$mode: the registrar's last answer lists one binding: $last" ||
        bad "$mode: the registrar's last answer lists: ${last:-nothing}"
    lab_down >/dev/null 2>&1
}

# (lab.sh owns LAB_NAT, so the choice of modes has a name of its own.)
for mode in ${SIPNAT_LAB_MODES:-cone symmetric}; do
    run_mode "$mode"
done
finish
