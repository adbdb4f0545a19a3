#!/usr/bin/env bash
# TURN when both sides are behind NATs that map per destination: the
# seed's router in front of the library host and a second router in front
# of baresip (10.0.0.20 behind 198.51.100.7), both `masquerade
# random,fully-random`, with only the SIP forwards. No host or
# server-reflexive pair can work: what one side learned from the STUN
# server is not what the other side's packets meet. coturn at 203.0.113.3
# (STUN and TURN, long-term credentials, its own namespace) relays.
# sipnat-phone (ice_support=yes, stunaddr, turnaddr) takes a call from
# baresip and then calls it. Judged from both routers' captures, the
# library's log and the recordings:
#   - our SDP offers a relayed candidate at the TURN server;
#   - the selected pair is the relayed one (the library says so), and the
#     media crosses our router only as ChannelData to and from coturn,
#     while coturn's relay port and baresip's router carry the RTP both
#     ways; no RTP at all between the two routers;
#   - the tones come back both ways (1000 Hz from baresip, 440 Hz ours);
#   - at hang-up the allocations are released (Refresh, LIFETIME 0);
#   - a stranger on the internet spraying RTP and STUN at the relayed
#     address gets nothing through (no permission), and the pair stays.
# TURN_DEBUG=DIR keeps a copy of the work directory there.
set -u
source "$(dirname "$0")/testlib.sh" call-turn
LAB_PREFIX=snT$$
TURN_IP=203.0.113.3
phone=$(cd "${top_builddir:-.}" && pwd)/examples/sipnat-phone

need_ice_peers
LAB_FORWARDS=sip
lab_up --nat symmetric --forwards sip >/dev/null || { echo "lab setup failed"; exit 1; }
lab_add_remote_phone --nat symmetric >/dev/null || { bad "no remote router"; finish; exit 1; }
# baresip's router forwards SIP only, so that we can call it too.
lab_nft_load rrouter "$LAB_RLAN_NET" symmetric "$LAB_RPHONE_IP" || bad "rrouter forwards"
lab_add_attacker >/dev/null || bad "no attacker"

lab_exec itsp ip addr add "$TURN_IP/24" dev eth0
lab_exec itsp turnserver -n --no-cli --no-tls --no-dtls --lt-cred-mech \
    --user=sipnat:relay-secret --realm=lab.test --listening-ip="$TURN_IP" \
    --relay-ip="$TURN_IP" --listening-port=3478 --min-port=49152 --max-port=49300 \
    --pidfile="$work/turn.pid" --log-file=stdout --simple-log -v >"$work/turn.log" 2>&1 &
track $!
wait_listen itsp udp 3478 || bad "coturn did not start: $(tail -3 "$work/turn.log")"

bs=$work/baresip
baresip_ice_conf "$bs" $LAB_RPHONE_IP 20
echo "<sip:bob@$LAB_RPHONE_IP>;regint=0;answermode=auto;audio_codecs=PCMU;medianat=ice;stunserver=stun:$TURN_IP:3478" >"$bs/accounts"

ice_phone_conf "$work/phone.conf" "$LAB_RROUTER_WAN_IP" "stunaddr=$TURN_IP:3478" \
    "turnaddr=$TURN_IP:3478" turnusername=sipnat turnpassword=relay-secret

judge() {
    local tag=$1 j=$work/wan-$1.json rj=$work/rwan-$1.json
    python3 "$LAB_DIR/pcapcheck.py" "$work/wan-$tag.pcap" >"$j"
    python3 "$LAB_DIR/pcapcheck.py" "$work/rwan-$tag.pcap" >"$rj"
    pc() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($1)" "$j"; }
    rpc() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($1)" "$rj"; }
    local sdp
    sdp=$(tr -d '\r' <"$work/baresip-$tag.log" | awk '/^v=0/ { keep = 1 } keep { print } /^$/ { keep = 0 }')
    if echo "$sdp" | grep -Eq "^a=candidate:[^ ]+ 1 UDP [0-9]+ 203\.0\.113\.3 [0-9]+ typ relay"; then
        ok "$tag: our SDP offers a relayed candidate: $(echo "$sdp" | grep -m1 -E '^a=candidate:[^ ]+ 1 .* typ relay')"
    else
        bad "$tag: no relayed candidate in our SDP: $(echo "$sdp" | grep -E '^a=cand' | tr '\n' ' ')"
    fi
    local sel
    sel=$(grep -m1 'selected pair' "$work/phone-$tag.err")
    if echo "$sel" | grep -q 'selected pair relay 203\.0\.113\.3:'; then
        ok "$tag: the nominated pair is the relayed one: ${sel#*ice: }"
    else
        bad "$tag: selected: '${sel:-none}'; $(grep -Ei 'ice|turn' "$work/phone-$tag.err" | head -5 | tr '\n' ' ')"
    fi
    local ch_out ch_in direct relay_out relay_in
    ch_out=$(pc "sum(v for k, v in d['channel'].items() if k.startswith('198.51.100.5:') and '>203.0.113.3:3478' in k)")
    ch_in=$(pc "sum(v for k, v in d['channel'].items() if k.startswith('203.0.113.3:3478>198.51.100.5:'))")
    direct=$(pc "sum(v for k, v in d['rtp'].items())")
    [ "$ch_out" -ge 100 ] && [ "$ch_in" -ge 100 ] &&
        ok "$tag: our router: the media as ChannelData with coturn, $ch_out out and $ch_in in ($direct plain RTP packets to the SDP's address before the selection)" ||
        bad "$tag: our router: ChannelData $ch_out out, $ch_in in; plain RTP $direct ($(pc "d['rtp']"))"
    relay_out=$(rpc "sum(v for k, v in d['rtp'].items() if k.startswith('203.0.113.3:') and '>198.51.100.7:' in k)")
    relay_in=$(rpc "sum(v for k, v in d['rtp'].items() if k.startswith('198.51.100.7:') and '>203.0.113.3:' in k)")
    [ "$relay_out" -ge 100 ] && [ "$relay_in" -ge 100 ] &&
        ok "$tag: baresip's router: RTP with coturn's relay port, $relay_out to baresip and $relay_in back" ||
        bad "$tag: baresip's router: RTP $relay_out from the relay, $relay_in to it ($(rpc "d['rtp']"))"
    local released
    released=$(pc "sum(1 for s in d['stun'] if s['method'] == 4 and s['class'] == 'request' and s['lifetime'] == 0 and s['from'].startswith('198.51.100.5:'))")
    [ "$released" -ge 2 ] && ok "$tag: both allocations released at hang-up (Refresh with LIFETIME 0: $released)" ||
        bad "$tag: $released releases (Refresh LIFETIME 0) seen"
    [ "$(pc "len([x for x in d['lan'] if '192.0.2.' in x])")" = 0 ] &&
        ok "$tag: $(pc "d['sip']") SIP messages on our router's public side, none names our LAN" ||
        bad "$tag: a LAN address crossed our router: $(pc "[x for x in d['lan'] if '192.0.2.' in x][:2]")"
    baresip_tones "$tag" "$work/rec-$tag.wav" "$bs" "through the relay"
}

# The stranger at 198.51.100.66 sprays the relayed RTP address: 2 s of
# RTP and of STUN checks it cannot sign.
spray() {   # IP PORT
    lab_exec attacker python3 - "$1" "$2" >"$work/spray.out" 2>&1 <<'PY'
import os, socket, struct, sys, time
ip, port = sys.argv[1], int(sys.argv[2])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
n = 0
end = time.time() + 2
seq = 0
while time.time() < end:
    for _ in range(4):
        s.sendto(struct.pack("!BBHII", 0x80, 0, seq & 0xFFFF, seq * 160, 0xBADC0DE) + b"\xd5" * 160, (ip, port))
        seq += 1
        n += 1
    hdr = struct.pack("!HHI", 0x0001, 0, 0x2112A442) + os.urandom(12)
    s.sendto(hdr, (ip, port))
    n += 1
    time.sleep(0.02)
print(n)
PY
}

call() {   # TAG in|out [attack]
    local tag=$1 dir=$2 attack=${3:-} bs_pid ph_pid cap rcap
    lab_capture_start router wan0 "$work/wan-$tag.pcap" udp && cap=$LAB_CAPTURE_PID
    lab_capture_start rrouter wan0 "$work/rwan-$tag.pcap" udp && rcap=$LAB_CAPTURE_PID
    local phone_args=(--auto-answer) dial=(-e "/dial sip:6001@198.51.100.5:5060")
    if [ "$dir" = out ]; then
        phone_args=(--dial "sip:bob@$LAB_RROUTER_WAN_IP:5060")
        dial=()
    fi
    lab_exec host timeout 40 "$phone" --config "$work/phone.conf" --endpoint bob \
        "${phone_args[@]}" --duration 12 --tone 440 --record "$work/rec-$tag.wav" \
        >"$work/phone-$tag.out" 2>"$work/phone-$tag.err" </dev/null &
    ph_pid=$!
    track "$ph_pid"
    [ "$dir" = in ] && { wait_listen host udp 5060 || bad "$tag: sipnat-phone does not listen"; }
    lab_exec rphone timeout 40 baresip -f "$bs" -s -t 30 "${dial[@]}" \
        >"$work/baresip-$tag.log" 2>&1 &
    bs_pid=$!
    track "$bs_pid"
    if [ -n "$attack" ] && wait_for 'selected pair' "$work/phone-$tag.err" 1 15; then
        local rel
        rel=$(sed -n 's/.*selected pair relay \(203\.0\.113\.3\):\([0-9]*\) .*/\1 \2/p' "$work/phone-$tag.err" | head -n 1)
        [ -n "$rel" ] && spray $rel
    fi
    wait "$ph_pid"
    echo "   phone ($dir) exit $?: $(grep -E '^(call|media)' "$work/phone-$tag.out" | tr '\n' ';')"
    lab_exec rphone pkill -x baresip 2>/dev/null
    wait "$bs_pid" 2>/dev/null
    sleep 0.3
    lab_capture_stop "$cap"
    lab_capture_stop "$rcap"
    judge "$tag"
    if [ -n "$attack" ]; then
        local sent sel
        sent=$(cat "$work/spray.out" 2>/dev/null)
        sel=$(grep -c 'selected pair' "$work/phone-$tag.err")
        local leaked
        leaked=$(python3 "$LAB_DIR/pcapcheck.py" "$work/wan-$tag.pcap" | python3 -c "
import json, sys
d = json.load(sys.stdin)
print(sum(1 for s in d['stun'] if s['method'] == 7 and (s['peer'] or '').startswith('198.51.100.66:')))")
        [ "${sent:-0}" -ge 100 ] && [ "$sel" = 1 ] && [ "$leaked" = 0 ] &&
            ok "$tag: a stranger sprayed $sent packets at the relayed address: none relayed to us (no permission), the pair stayed (1 selection)" ||
            bad "$tag: spray '${sent:-nothing}', $leaked relayed to us, $sel selections"
    fi
}

call inbound in
call outbound out attack
[ -n "${TURN_DEBUG:-}" ] && cp -r "$work" "$TURN_DEBUG"
finish
