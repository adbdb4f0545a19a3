#!/bin/bash
# sipnat-phone against a real peer on loopback: SIPp answers and echoes
# the RTP it gets (-rtp_echo). sipnat-phone sends a 440 Hz tone, then a
# WAV file, and records what comes back; the recording must be the tone
# (frequency within 2 %) and the WAV (every sample within one G.711 step,
# frames in order) - audio through the anchor, G.711 both ways, a real
# peer. Ports 45071-45095, outside 5060-5070.
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
sipp_pid=""
cleanup() { [ -n "$sipp_pid" ] && kill "$sipp_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
command -v sipp >/dev/null || { echo "SIPp (sip-tester) is not installed"; exit 77; }

run() {   # NAME PHONE-ARGS...: one call to the echo
    local name=$1; shift
    (cd "$work" && exec timeout 20 sipp -sn uas -i 127.0.0.1 -p 45080 -mi 127.0.0.1 \
        -mp 45090 -rtp_echo -m 1 -nostdin >/dev/null 2>&1) &
    sipp_pid=$!
    sleep 0.5
    timeout 20 "$phone" --config "$top/tests/phone/loopback.conf" --endpoint echo \
        --dial sip:echo@127.0.0.1:45080 --duration 3 --record "$work/$name.wav" "$@" \
        >"$work/$name.out" 2>"$work/$name.err" </dev/null
    echo "   phone exit $?: $(grep -E '^(call|media)' "$work/$name.out" | tr '\n' ';')"
    wait "$sipp_pid" 2>/dev/null
    sipp_pid=""
}

run tone --tone 440
python3 "$top/tests/phone/audio-check.py" tone 440 "$work/tone.wav" && pass=$((pass + 1)) || fail=$((fail + 1))

python3 "$top/tests/phone/audio-check.py" make "$work/in.wav"
run wav --play "$work/in.wav"
python3 "$top/tests/phone/audio-check.py" wav "$work/in.wav" "$work/wav.wav" && pass=$((pass + 1)) || fail=$((fail + 1))

# A WAV of the wrong format is refused with a message saying what it is.
python3 - "$work/stereo.wav" <<'PY'
import sys, wave
w = wave.open(sys.argv[1], "wb"); w.setnchannels(2); w.setsampwidth(2); w.setframerate(48000)
w.writeframes(b"\0" * 19200); w.close()
PY
if "$phone" --config "$top/tests/phone/loopback.conf" --play "$work/stereo.wav" \
        --dial sip:echo@127.0.0.1:45080 </dev/null >/dev/null 2>"$work/stereo.err"; then
    echo "FAIL - a 48 kHz stereo WAV was accepted"; fail=$((fail + 1))
elif grep -q "48000 Hz, 2 channel" "$work/stereo.err"; then
    echo "ok - a 48 kHz stereo WAV is refused: $(cat "$work/stereo.err")"; pass=$((pass + 1))
else
    echo "FAIL - unclear refusal: $(cat "$work/stereo.err")"; fail=$((fail + 1))
fi
echo "phone-audio: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
