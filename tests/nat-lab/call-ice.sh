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
#   - the tones come back: 1000 Hz from baresip, 440 Hz from us.
# ICE_DEBUG=DIR keeps a copy of the work directory (captures, logs,
# recordings) there.
set -u
source "$(dirname "$0")/testlib.sh" call-ice
LAB_PREFIX=snI$$
STUN_IP=203.0.113.3
phone=$(cd "${top_builddir:-.}" && pwd)/examples/sipnat-phone

for p in turnserver baresip; do
    command -v $p >/dev/null 2>&1 || { echo "no $p (scripts/deps.sh test)"; bad "no $p"; finish; exit 1; }
done
for m in ice g711 aufile aubridge sndfile; do
    [ -f "/usr/lib/baresip/modules/$m.so" ] || { bad "baresip has no $m.so"; finish; exit 1; }
done
lab_up --nat cone --forwards sip >/dev/null || { echo "lab setup failed"; exit 1; }
stun_server "$STUN_IP" || bad "coturn did not start: $(tail -3 "$work/turn.log")"

tone_wav() {   # FILE: 12 s of 1000 Hz, 8 kHz mono
    python3 - "$1" <<'PY'
import math, struct, sys, wave
w = wave.open(sys.argv[1], "wb")
w.setnchannels(1); w.setsampwidth(2); w.setframerate(8000)
w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 1000 * i / 8000)))
                       for i in range(8000 * 12)))
w.close()
PY
}

# baresip at 203.0.113.1:5060: ICE, G.711, plays 1000 Hz, records what
# it hears; answers at once.
bs=$work/baresip
mkdir -p "$bs/snd"
tone_wav "$bs/t1000.wav"
cat >"$bs/config" <<CONF
poll_method epoll
sip_listen 203.0.113.1:5060
net_interface eth0
audio_player aubridge,sink
audio_alert aubridge,sink
audio_source aufile,$bs/t1000.wav
rtp_ports 30000-30100
module_path /usr/lib/baresip/modules
module g711.so
module aufile.so
module aubridge.so
module sndfile.so
module ice.so
module_app account.so
module_app menu.so
snd_path $bs/snd
CONF
echo "<sip:bob@203.0.113.1>;regint=0;answermode=auto;audio_codecs=PCMU;medianat=ice" >"$bs/accounts"

cat >"$work/phone.conf" <<CONF
[wan]
type=transport
protocol=udp
bind=192.0.2.10:5060
local_net=192.0.2.0/24
stunaddr=$STUN_IP:3478

[bob]
type=endpoint
transport=wan
disallow=all
allow=ulaw
direct_media=no
rtp_symmetric=yes
ice_support=yes

[bob-identify]
type=identify
endpoint=bob
match=203.0.113.1
CONF

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
    local r bs_wav
    if r=$(python3 "$top/tests/phone/audio-check.py" tone 1000 "$work/rec-$tag.wav"); then
        ok "$tag: baresip -> sipnat-phone: ${r#ok - }"
    else
        bad "$tag: baresip -> sipnat-phone: $r"
    fi
    bs_wav=$(ls -t "$bs"/snd/*-dec.wav 2>/dev/null | head -n 1)
    if [ -n "$bs_wav" ] && r=$(python3 "$top/tests/phone/audio-check.py" tone 440 "$bs_wav"); then
        ok "$tag: sipnat-phone -> baresip: ${r#ok - }"
    else
        bad "$tag: sipnat-phone -> baresip: ${r:-no recording at baresip}"
    fi
    rm -f "$bs"/snd/*.wav
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
[ -n "${ICE_DEBUG:-}" ] && cp -r "$work" "$ICE_DEBUG"
finish
