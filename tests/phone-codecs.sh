#!/bin/bash
# sipnat-phone calls baresip on loopback with Opus, then with G.722 (each
# time the only codec baresip's account allows, and the first of
# sipnat-phone's allow= list), both sides playing a tone and recording
# what they decode: baresip's recording must be sipnat-phone's 440 Hz
# (encoded by libsipnat) and sipnat-phone's baresip's 1000 Hz (decoded by
# libsipnat), and the SDP on the wire must name the codec: our offer in
# allow= order, baresip's answer with the codec alone. Ports 45171-45199,
# outside 5060-5070.
set -u
# As root, a loopback of its own (a network namespace): another suite
# running on this machine at the same time uses the same fixed ports.
if [ "$(id -u)" -eq 0 ] && [ -z "${SIPNAT_OWN_NETNS:-}" ] && command -v unshare >/dev/null; then
    SIPNAT_OWN_NETNS=1 exec unshare --net bash -c 'ip link set lo up && exec bash "$@"' bash "$0" "$@"
fi
top=$(cd "${top_srcdir:-.}" && pwd)
phone=$(cd "${top_builddir:-.}" && pwd)/examples/sipnat-phone
work=$(mktemp -d)
pass=0 fail=0
bs_pid=""
cleanup() { [ -n "$bs_pid" ] && kill "$bs_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
ok() { echo "ok - $*"; pass=$((pass + 1)); }
bad() { echo "FAIL - $*"; fail=$((fail + 1)); }
command -v baresip >/dev/null || { echo "baresip is not installed (scripts/deps.sh installs baresip-core)"; exit 1; }
for m in opus g722 aufile sndfile; do
    [ -f "/usr/lib/baresip/modules/$m.so" ] || { echo "baresip has no $m.so module"; exit 1; }
done

tone_wav() {   # FILE RATE CHANNELS: 10 s of 1000 Hz (baresip's aufile plays
               # a WAV only at the codec's own rate and channels)
    python3 - "$@" <<'PY'
import math, struct, sys, wave
path, rate, ch = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
n = rate * 10
w = wave.open(path, "wb")
w.setnchannels(ch); w.setsampwidth(2); w.setframerate(rate)
w.writeframes(b"".join(struct.pack("<h", int(8000 * math.sin(2 * math.pi * 1000 * i / rate))) * ch
                       for i in range(n)))
w.close()
PY
}
call() {   # NAME BARESIP-CODEC ALLOW SDP-NAME OFFER-ORDER RATE CHANNELS
    local name=$1 codec=$2 allow=$3 sdpname=$4 dir=$work/$1
    mkdir -p "$dir/snd"
    tone_wav "$dir/t1000.wav" "$6" "$7"
    cat >"$dir/config" <<CONF
poll_method epoll
sip_listen 127.0.0.1:45180
net_interface 127.0.0.1
audio_player aubridge,sink
audio_alert aubridge,sink
audio_source aufile,$dir/t1000.wav
rtp_ports 45184-45198
module_path /usr/lib/baresip/modules
module g711.so
module g722.so
module opus.so
module aufile.so
module aubridge.so
module sndfile.so
module_app account.so
module_app menu.so
snd_path $dir/snd
CONF
    echo "<sip:bob@127.0.0.1>;regint=0;answermode=auto;audio_codecs=$codec" >"$dir/accounts"
    cat >"$dir/phone.conf" <<CONF
[lo]
type=transport
protocol=udp
bind=127.0.0.1:45171

[bob]
type=endpoint
transport=lo
disallow=all
allow=$allow
direct_media=no
rtp_symmetric=yes

[bob-identify]
type=identify
endpoint=bob
match=127.0.0.1
CONF
    (cd "$dir" && exec timeout 25 baresip -f "$dir" -s -t 15 >"$dir/baresip.log" 2>&1) &
    bs_pid=$!
    # Dial once baresip says it is ready (15 s at most: a loaded machine).
    for _ in $(seq 150); do
        grep -q 'baresip is ready' "$dir/baresip.log" 2>/dev/null && break
        sleep 0.1
    done
    timeout 20 "$phone" --config "$dir/phone.conf" --endpoint bob \
        --dial sip:bob@127.0.0.1:45180 --duration 4 --tone 440 --record "$dir/rec.wav" \
        >"$dir/phone.out" 2>"$dir/phone.err" </dev/null
    echo "   phone exit $?: $(grep -E '^(call|media)' "$dir/phone.out" | tr '\n' ';')"
    kill "$bs_pid" 2>/dev/null
    wait "$bs_pid" 2>/dev/null
    bs_pid=""

    # What crossed the wire: baresip's SIP trace (-s) holds our INVITE and
    # its 200.
    local offer answer
    offer=$(tr -d '\r' <"$dir/baresip.log" | awk '/^INVITE sip:/{f=1} f&&/^(m=audio|a=rtpmap|a=fmtp)/{print} f&&/^a=ptime/{exit}')
    answer=$(tr -d '\r' <"$dir/baresip.log" | awk '/^SIP\/2.0 200 /{f=1} f&&/^(m=audio|a=rtpmap|a=fmtp)/{print} f&&/^a=ptime/{exit}')
    local want_order
    want_order=$(echo "$offer" | sed -n 's/^a=rtpmap:[0-9]* \([^/]*\).*/\1/p' | tr '\n' ',')
    case "$want_order" in
    "$5") ok "$name: our offer lists allow=$allow in order: $(echo "$offer" | grep '^m=')" ;;
    *) bad "$name: our offer: $(echo "$offer" | tr '\n' ' ')" ;;
    esac
    if echo "$answer" | grep -qi "^a=rtpmap:[0-9]* $sdpname\$"; then
        ok "$name: baresip answered $(echo "$answer" | grep -i "rtpmap:[0-9]* $sdpname" | tr '\n' ' ')"
    else
        bad "$name: baresip's answer: $(echo "$answer" | tr '\n' ' ')"
    fi
    local r bs_wav
    if r=$(python3 "$top/tests/phone/audio-check.py" tone 1000 "$dir/rec.wav"); then
        ok "$name: baresip -> sipnat-phone, decoded by libsipnat: ${r#ok - }"
    else
        bad "$name: baresip -> sipnat-phone: $r"
    fi
    bs_wav=$(ls "$dir"/snd/*-dec.wav 2>/dev/null | head -n 1)
    if [ -n "$bs_wav" ] && r=$(python3 "$top/tests/phone/audio-check.py" tone 440 "$bs_wav"); then
        ok "$name: sipnat-phone -> baresip, encoded by libsipnat: ${r#ok - }"
    else
        bad "$name: sipnat-phone -> baresip: ${r:-no recording at baresip}"
        tail -n 20 "$dir/baresip.log"
    fi
}

call opus opus "opus,g722,ulaw" "opus/48000/2" "opus,G722,PCMU,telephone-event," 48000 2
call g722 G722 "g722,opus,alaw" "G722/8000" "G722,opus,PCMA,telephone-event," 16000 1
echo "phone-codecs: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
