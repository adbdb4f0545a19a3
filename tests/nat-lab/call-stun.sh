#!/usr/bin/env bash
# STUN through a router nobody configured: the seed's topology with only
# the SIP forwards (lab_up --forwards sip: no DNAT of 10000-20000), coturn
# as a STUN server at 203.0.113.3 (the ITSP's network), and peers that do
# not latch (rtpcheck.py sends to the SDP's address from the first packet).
#
# Four calls, each judged from captures on both sides of the router:
#   inbound  (the ITSP calls the DID; the library bridges it to the LAN phone)
#   outbound (the LAN phone calls out; the library sends it to the ITSP)
# each once with --stun 203.0.113.3 and no external address, and once as
# the seed configures it without the forwards (--external 198.51.100.5,
# no STUN). The ITSP starts sending a second before the phone does, as a
# peer that sends at once would.
#   With STUN: the SDP the ITSP got names 198.51.100.5 and the port coturn
#   reported for that socket, which is also the source port of our RTP on
#   the wire; the ITSP's RTP crosses the router to the library host; audio
#   both ways; the transport explains "learned by STUN from ...".
#   Without: the ITSP's RTP never gets past the router (rx=0): one-way
#   audio, the failure the issue reported.
# No SIP message on the router's public side names a LAN address.
set -u
source "$(dirname "$0")/testlib.sh" call-stun
source "$(dirname "$0")/calllib.sh"
LAB_PREFIX=snT$$
N=250            # packets each way: 5 s at 50/s
STUN_IP=203.0.113.3

if ! command -v turnserver >/dev/null 2>&1; then
    echo "no turnserver: install the Debian package coturn (scripts/deps.sh test)"
    echo "call-stun: 0 passed, 1 failed"
    exit 1
fi
lab_up --nat cone --forwards sip >/dev/null || { echo "lab setup failed"; exit 1; }
stun_server "$STUN_IP" && ok "coturn listens at $STUN_IP:3478" ||
    bad "coturn did not start: $(tail -3 "$work/turn.log")"

capture() {   # TAG: wan0 and br-lan of the router
    lab_capture_start router wan0 "$work/wan-$1.pcap" udp && cap_wan=$LAB_CAPTURE_PID
    lab_capture_start router br-lan "$work/lan-$1.pcap" udp && cap_lan=$LAB_CAPTURE_PID
}
capture_stop() {
    lab_capture_stop "$cap_wan"
    lab_capture_stop "$cap_lan"
    python3 "$LAB_DIR/pcapcheck.py" "$work/wan-$1.pcap" >"$work/wan-$1.json"
    python3 "$LAB_DIR/pcapcheck.py" "$work/lan-$1.pcap" >"$work/lan-$1.json"
}
# pc TAG SIDE EXPR: a value out of a capture's summary (python expression on d)
pc() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($3)" "$work/$2-$1.json"; }
rtp() { pc "$1" "$2" "d['rtp'].get('$3', 0)"; }

# The outbound call: the phone calls the library, which calls the ITSP.
call_out_start() {
    local tag=$1
    shift
    lab_exec host timeout 40 "$agent" --bind 0.0.0.0 --port 5060 \
        --local-net 192.0.2.0/24 "$@" --endpoint phone --match 192.0.2.20 \
        --bridge-to sip:2025550100@203.0.113.1:5060 --bridge-match 203.0.113.1 \
        --hold 20 --explain 203.0.113.1 >"$work/agent-$tag.out" 2>"$work/agent-$tag.err" &
    agent_pid=$!
    track "$agent_pid"
    call_sipp itsp stun-itsp-answer.xml 203.0.113.1 "caller-$tag.log"
    sleep 1.5
    call_sipp phone stun-phone-call.xml 192.0.2.20 "phone-$tag.log" 192.0.2.10:5060
    # aport: where the ITSP sends (our offer to it); oport: where the phone does.
    call_ports "caller-$tag.log" OFFER "phone-$tag.log" ANSWER
}

# run_case TAG inbound|outbound stun|static
run_case() {
    local tag=$1 dir=$2 how=$3 policy itsp_leg ok_setup=0
    if [ "$how" = stun ]; then policy="--stun $STUN_IP:3478"; else policy="--external 198.51.100.5"; fi
    capture "$tag"
    if [ "$dir" = inbound ]; then
        itsp_leg=in
        # shellcheck disable=SC2086
        CALL_POLICY="$policy --explain 203.0.113.1" call_start "$tag" itsp 203.0.113.1 \
            --endpoint sipus_endpoint --match 203.0.113.1 --match 203.0.113.2 && ok_setup=1
    else
        itsp_leg=out
        # shellcheck disable=SC2086
        call_out_start "$tag" $policy && ok_setup=1
    fi
    if [ "$ok_setup" != 1 ]; then
        bad "$tag: the call was not set up (ports '$aport' '$oport')"
        sed -n "1,40p" "$work/agent-$tag.err" >&2
        capture_stop "$tag"
        return
    fi
    CALL_PHONE_DELAY=1 call_rtp "$tag" itsp 203.0.113.1 $N
    call_end "$tag"
    capture_stop "$tag"

    local c m from_itsp to_host to_itsp itsp_in phone_in rx
    c=$(pc "$tag" wan "[s['c'] for s in d['sdp'] if s['to'].startswith('203.0.113.1:')][0]")
    m=$(pc "$tag" wan "[s['m'] for s in d['sdp'] if s['to'].startswith('203.0.113.1:')][0]")
    from_itsp=$(rtp "$tag" wan "203.0.113.1:7000>198.51.100.5:$aport")
    to_itsp=$(rtp "$tag" wan "198.51.100.5:$aport>203.0.113.1:7000")
    to_host=$(pc "$tag" lan "sum(v for k, v in d['rtp'].items() if k.startswith('203.0.113.1:7000>192.0.2.10:'))")
    echo "   ITSP: $(cat "$work/caller-$tag.json")"
    echo "   phone: $(cat "$work/phone-$tag.json")"
    itsp_in=$(json "$work/caller-$tag.json" intact)
    phone_in=$(json "$work/phone-$tag.json" intact)
    rx=$(sed -n "s/^media $itsp_leg rx=\([0-9]*\).*/\1/p" "$work/agent-$tag.out")
    [ "$(pc "$tag" wan "len(d['lan'])")" = 0 ] &&
        ok "$tag: $(pc "$tag" wan "d['sip']") SIP messages on the public side, none names a LAN address" ||
        bad "$tag: LAN address crossed the router: $(pc "$tag" wan "d['lan'][:3]")"
    [ "$c" = 198.51.100.5 ] && [ "$m" = "$aport" ] &&
        ok "$tag: the ITSP's SDP names c=$c m=$m" || bad "$tag: the ITSP's SDP names c=$c m=$m (port $aport)"
    [ "$from_itsp" -ge $((N * 99 / 100)) ] &&
        ok "$tag: the ITSP sent $from_itsp RTP packets to 198.51.100.5:$aport (wan0)" ||
        bad "$tag: the ITSP sent $from_itsp RTP packets to 198.51.100.5:$aport (wan0)"
    if [ "$how" = stun ]; then
        local mapped
        mapped=$(pc "$tag" wan "sorted({s['mapped'] for s in d['stun'] if s['class'] == 'success'})")
        case "$mapped" in
            *"'198.51.100.5:$aport'"*) ok "$tag: coturn told the RTP socket its mapping 198.51.100.5:$aport, and the SDP carries it" ;;
            *) bad "$tag: STUN mappings on the wire: $mapped (SDP port $aport)" ;;
        esac
        [ "$to_itsp" -ge $((N * 99 / 100)) ] &&
            ok "$tag: our $to_itsp RTP packets leave from 198.51.100.5:$aport, the port in the SDP" ||
            bad "$tag: $to_itsp RTP packets from 198.51.100.5:$aport ($(pc "$tag" wan "d['rtp']"))"
        [ "$to_host" -ge $((N * 99 / 100)) ] &&
            ok "$tag: $to_host of the ITSP's packets crossed the router to 192.0.2.10 (br-lan)" ||
            bad "$tag: $to_host of the ITSP's packets crossed the router (br-lan)"
        [ "$itsp_in" -ge $((N * 99 / 100)) ] && [ "$phone_in" -ge $((N * 98 / 100)) ] &&
            ok "$tag: audio both ways: ITSP heard $itsp_in, phone heard $phone_in of $N intact" ||
            bad "$tag: ITSP heard $itsp_in, phone heard $phone_in of $N intact"
        grep -q "^explain 203.0.113.1: .*learned by STUN from $STUN_IP:3478 at " "$work/agent-$tag.out" &&
            ok "$tag: $(sed -n 's/^explain 203.0.113.1: //p' "$work/agent-$tag.out")" ||
            bad "$tag: explanation: $(grep '^explain' "$work/agent-$tag.out")"
    else
        [ "$to_host" = 0 ] && [ "$rx" = 0 ] && [ "$phone_in" = 0 ] &&
            ok "$tag: without STUN none of the ITSP's packets got past the router (br-lan 0, rx=0, phone heard 0; the ITSP heard $itsp_in): one-way audio" ||
            bad "$tag: without STUN: br-lan $to_host, rx=$rx, phone heard $phone_in"
    fi
}

for c in ${CALL_STUN_CASES:-in-stun in-static out-stun out-static}; do
    run_case "$c" "$([ "${c%%-*}" = in ] && echo inbound || echo outbound)" "${c#*-}"
done
finish
