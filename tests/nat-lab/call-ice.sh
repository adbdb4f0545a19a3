#!/usr/bin/env bash
# ICE through a router nobody configured: the seed's topology with only
# the SIP forwards (lab_up --forwards sip: no DNAT of 10000-20000), coturn
# as the STUN server at 203.0.113.3, and baresip with its ice module at
# 203.0.113.1 as the far end. sipnat-phone on the library host
# (192.0.2.10, ice_support=yes, stunaddr) calls baresip, then baresip
# calls sipnat-phone through the router; each side plays a tone and
# records what it hears. Judged from the router's captures and the
# recordings:
#   - our SDP carries ICE credentials and a server-reflexive candidate at
#     the router's address, and no LAN address at all (no host candidate,
#     raddr 0.0.0.0): nothing on the public side names 192.0.2.x;
#   - connectivity checks (STUN with USERNAME) cross the router both ways
#     and are answered; the library logs the selected pair;
#   - RTP crosses the router both ways between the selected addresses;
#   - the tones come back: 1000 Hz from baresip, 440 Hz from us;
#   - a host on the LAN that sprays RTP and unsignable STUN checks at our
#     RTP socket during a call gets nothing back, its RTP is dropped and
#     counted, the pair stays, the audio stays clean.
# ICE_DEBUG=DIR keeps a copy of the work directory (captures, logs,
# recordings) there.
set -u
source "$(dirname "$0")/testlib.sh" call-ice
LAB_PREFIX=snI$$
STUN_IP=203.0.113.3
phone=$(cd "${top_builddir:-.}" && pwd)/examples/sipnat-phone

need_ice_peers
lab_up --nat cone --forwards sip >/dev/null || { echo "lab setup failed"; exit 1; }
stun_server "$STUN_IP" || bad "coturn did not start: $(tail -3 "$work/turn.log")"

# baresip at 203.0.113.1:5060: ICE, G.711, plays 1000 Hz, records what
# it hears; answers at once.
bs=$work/baresip
baresip_ice_conf "$bs" 203.0.113.1 12
echo "<sip:bob@203.0.113.1>;regint=0;answermode=auto;audio_codecs=PCMU;medianat=ice" >"$bs/accounts"

ice_phone_conf "$work/phone.conf" 203.0.113.1 "stunaddr=$STUN_IP:3478"

# judge TAG: what one call left on the wire and in the recordings.
judge() {
    local tag=$1 j=$work/wan-$1.json
    python3 "$LAB_DIR/pcapcheck.py" "$work/wan-$tag.pcap" >"$j"
    pc() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print($1)" "$j"; }
    # Our SDP as baresip's trace shows it (-s prints every message).
    local sdp
    sdp=$(tr -d '\r' <"$work/baresip-$tag.log" | awk -v tag="$tag" '
        /^(INVITE|SIP\/2.0 200)/ { n++ } /^v=0/ { keep = 1 } keep { print } /^$/ { keep = 0 }')
    if echo "$sdp" | grep -q '^a=ice-ufrag:' &&
        echo "$sdp" | grep -Eq "^a=candidate:[^ ]+ 1 UDP [0-9]+ 198\.51\.100\.5 [0-9]+ typ srflx raddr 0\.0\.0\.0 rport 0"; then
        ok "$tag: our SDP has ICE credentials and a srflx candidate at 198.51.100.5 (raddr 0.0.0.0)"
    else
        bad "$tag: our SDP's ICE lines: $(echo "$sdp" | grep -E '^a=(ice|cand)' | tr '\n' ' ')"
    fi
    [ "$(pc "len(d['lan'])")" = 0 ] &&
        ok "$tag: $(pc "d['sip']") SIP messages on the public side, none names a LAN address" ||
        bad "$tag: a LAN address crossed the router: $(pc "d['lan'][:2]")"
    local checks_out checks_in ok_out ok_in
    checks_out=$(pc "sum(1 for s in d['checks'] if s['class'] == 'request' and s['from'].startswith('198.51.100.5:') and s['to'].startswith('203.0.113.1:'))")
    checks_in=$(pc "sum(1 for s in d['checks'] if s['class'] == 'request' and s['from'].startswith('203.0.113.1:') and s['to'].startswith('198.51.100.5:'))")
    ok_out=$(pc "sum(1 for s in d['checks'] if s['class'] == 'success' and s['from'].startswith('203.0.113.1:') and s['to'].startswith('198.51.100.5:'))")
    ok_in=$(pc "sum(1 for s in d['checks'] if s['class'] == 'success' and s['from'].startswith('198.51.100.5:') and s['to'].startswith('203.0.113.1:'))")
    [ "$checks_out" -ge 1 ] && [ "$ok_out" -ge 1 ] && [ "$checks_in" -ge 1 ] && [ "$ok_in" -ge 1 ] &&
        ok "$tag: ICE checks crossed the router: $checks_out ours ($ok_out answered), $checks_in baresip's ($ok_in answered by us)" ||
        bad "$tag: ICE checks: ours $checks_out ($ok_out answered), baresip's $checks_in ($ok_in answered)"
    local sel
    sel=$(grep -m1 'selected pair' "$work/phone-$tag.err")
    [ -n "$sel" ] && ok "$tag: the library: ${sel#*ice: }" || bad "$tag: no pair selected: $(grep -i ice "$work/phone-$tag.err" | head -3)"
    local to_bs from_bs
    to_bs=$(pc "sum(v for k, v in d['rtp'].items() if k.startswith('198.51.100.5:') and '>203.0.113.1:' in k)")
    from_bs=$(pc "sum(v for k, v in d['rtp'].items() if k.startswith('203.0.113.1:') and '>198.51.100.5:' in k)")
    [ "$to_bs" -ge 100 ] && [ "$from_bs" -ge 100 ] &&
        ok "$tag: RTP across the router: $to_bs packets to baresip, $from_bs back" ||
        bad "$tag: RTP across the router: $to_bs to baresip, $from_bs back ($(pc "d['rtp']"))"
    baresip_tones "$tag" "$work/rec-$tag.wav" "$bs"
}

# call TAG out|in: sipnat-phone calls baresip, or baresip calls
# sipnat-phone through the router's SIP forward.
call() {
    local tag=$1 dir=$2 bs_pid ph_pid cap
    lab_capture_start router wan0 "$work/wan-$tag.pcap" udp && cap=$LAB_CAPTURE_PID
    local phone_args=(--dial sip:bob@203.0.113.1:5060) dial=()
    if [ "$dir" = in ]; then
        phone_args=(--auto-answer)
        dial=(-e "/dial sip:6001@198.51.100.5:5060")
    fi
    start_phone() {
        lab_exec host timeout 30 "$phone" --config "$work/phone.conf" --endpoint bob \
            "${phone_args[@]}" --duration 5 --tone 440 --record "$work/rec-$tag.wav" \
            >"$work/phone-$tag.out" 2>"$work/phone-$tag.err" </dev/null &
        ph_pid=$!
        track "$ph_pid"
    }
    start_baresip() {
        lab_exec itsp timeout 30 baresip -f "$bs" -s -t 20 "${dial[@]}" \
            >"$work/baresip-$tag.log" 2>&1 &
        bs_pid=$!
        track "$bs_pid"
    }
    if [ "$dir" = in ]; then
        # We listen first; baresip dials as it starts.
        start_phone
        wait_listen host udp 5060 || bad "$tag: sipnat-phone does not listen on 5060"
        start_baresip
    else
        start_baresip
        for _ in $(seq 150); do
            grep -q 'baresip is ready' "$work/baresip-$tag.log" 2>/dev/null && break
            sleep 0.1
        done
        start_phone
    fi
    wait "$ph_pid"
    echo "   phone ($dir) exit $?: $(grep -E '^(call|media)' "$work/phone-$tag.out" | tr '\n' ';')"
    lab_exec itsp pkill -x baresip 2>/dev/null
    wait "$bs_pid" 2>/dev/null
    lab_capture_stop "$cap"
    judge "$tag"
}

call outbound out
call inbound in

# attacked: the outbound call again, while a host on the LAN (the phone's
# namespace, 192.0.2.20, next to the library) sprays our RTP socket with
# RTP and with STUN checks it cannot sign: nothing is answered or sent to
# it, its RTP is dropped as foreign, the selected pair stays, the audio
# is clean.
spray() {   # PORT: 2 s of RTP and unsigned or wrongly signed STUN checks
    lab_exec phone python3 - "$1" >"$work/spray.out" 2>&1 <<'PY'
import os, socket, struct, sys, time, zlib
port = int(sys.argv[1])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("192.0.2.20", 0))
rtp = stun = 0
def check(user, signed):
    attrs = struct.pack("!HH", 0x0006, len(user)) + user + b"\0" * (-len(user) % 4)
    attrs += struct.pack("!HHI", 0x0024, 4, 1853824767)
    if signed:
        attrs += struct.pack("!HH", 0x0008, 20) + os.urandom(20)
    hdr = struct.pack("!HHI", 0x0001, len(attrs) + 8, 0x2112A442) + os.urandom(12)
    msg = hdr + attrs
    return msg + struct.pack("!HHI", 0x8028, 4, (zlib.crc32(msg) ^ 0x5354554E) & 0xFFFFFFFF)
end = time.time() + 2
seq = 0
while time.time() < end:
    for _ in range(4):
        s.sendto(struct.pack("!BBHII", 0x80, 0, seq & 0xFFFF, seq * 160, 0xBADC0DE) + b"\xd5" * 160,
                 ("192.0.2.10", port))
        seq += 1
        rtp += 1
    s.sendto(check(b"guess:evil", True), ("192.0.2.10", port))
    s.sendto(check(b"guess:evil", False), ("192.0.2.10", port))
    stun += 2
    time.sleep(0.02)
print(rtp, stun)
PY
}
attacked() {
    local tag=attacked cap bs_pid ph_pid port lan
    lab_capture_start router wan0 "$work/wan-$tag.pcap" udp && cap=$LAB_CAPTURE_PID
    lab_capture_start router br-lan "$work/lan-$tag.pcap" udp && lan=$LAB_CAPTURE_PID
    lab_exec itsp timeout 30 baresip -f "$bs" -s -t 20 >"$work/baresip-$tag.log" 2>&1 &
    bs_pid=$!
    track "$bs_pid"
    for _ in $(seq 150); do
        grep -q 'baresip is ready' "$work/baresip-$tag.log" 2>/dev/null && break
        sleep 0.1
    done
    lab_exec host timeout 30 "$phone" --config "$work/phone.conf" --endpoint bob \
        --dial sip:bob@203.0.113.1:5060 --duration 5 --tone 440 --record "$work/rec-$tag.wav" \
        >"$work/phone-$tag.out" 2>"$work/phone-$tag.err" </dev/null &
    ph_pid=$!
    track "$ph_pid"
    if wait_for 'selected pair' "$work/phone-$tag.err" 1 10; then
        port=$(sed -n 's/.*selected pair host 192\.0\.2\.10:\([0-9]*\) .*/\1/p' "$work/phone-$tag.err" | head -n 1)
        spray "$port"
    fi
    wait "$ph_pid"
    lab_exec itsp pkill -x baresip 2>/dev/null
    wait "$bs_pid" 2>/dev/null
    lab_capture_stop "$cap"
    lab_capture_stop "$lan"
    local sent rtp_sent stun_sent foreign answered sel media
    sent=$(cat "$work/spray.out" 2>/dev/null)
    rtp_sent=${sent% *}
    stun_sent=${sent#* }
    media=$(grep '^media' "$work/phone-$tag.out")
    foreign=$(echo "$media" | sed -n 's/.* foreign=\([0-9]*\).*/\1/p')
    python3 "$LAB_DIR/pcapcheck.py" "$work/lan-$tag.pcap" >"$work/lan-$tag.json"
    answered=$(tcpdump -nn -r "$work/lan-$tag.pcap" 2>/dev/null | grep -c ' 192\.0\.2\.10\.[0-9]* > 192\.0\.2\.20\.')
    sel=$(grep -c 'selected pair' "$work/phone-$tag.err")
    if [ -n "${port:-}" ] && [ "${rtp_sent:-0}" -ge 100 ] && [ "${foreign:-0}" -ge "$rtp_sent" ]; then
        ok "$tag: the LAN attacker's $rtp_sent RTP packets at port $port were dropped as foreign ($foreign counted)"
    else
        bad "$tag: attacker sent '${sent:-nothing}' to port '${port:-?}'; $media"
    fi
    [ "${stun_sent:-0}" -ge 50 ] && [ "$answered" = 0 ] &&
        ok "$tag: none of its $stun_sent STUN checks got an answer, nothing at all went back to it" ||
        bad "$tag: $answered packets from the library to the attacker (of ${stun_sent:-0} checks sent)"
    [ "$sel" = 1 ] && ok "$tag: the selected pair did not change: $(grep -m1 'selected pair' "$work/phone-$tag.err" | sed 's/.*ice: //')" ||
        bad "$tag: $sel pair selections: $(grep 'selected pair' "$work/phone-$tag.err" | tr '\n' ' ')"
    local r
    if r=$(python3 "$top/tests/phone/audio-check.py" tone 1000 "$work/rec-$tag.wav"); then
        ok "$tag: baresip's tone came through clean: ${r#ok - }"
    else
        bad "$tag: baresip -> sipnat-phone under attack: $r"
    fi
}
attacked
[ -n "${ICE_DEBUG:-}" ] && cp -r "$work" "$ICE_DEBUG"
finish
