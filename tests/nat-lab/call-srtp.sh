#!/usr/bin/env bash
# SRTP through the seed's topology, with real peers on both sides. The
# ITSP is baresip at 203.0.113.1 with media encryption mandatory (SDES,
# srtp-mand) playing a 1000 Hz tone; it calls the DID at 198.51.100.5. The
# library at 192.0.2.10 (endpoint with media_encryption=sdes) bridges the
# call to phone 6001, a plain-RTP baresip at 192.0.2.20 playing 500 Hz:
# SRTP on one leg, RTP on the other. Each baresip records what it decodes
# (its sndfile module); the ITSP's recording must be the phone's 500 Hz
# (encrypted by the anchor, decrypted by the ITSP) and the phone's the
# ITSP's 1000 Hz (decrypted by the anchor). The SDP the ITSP got must
# carry a=crypto and the router's public address.
set -u
source "$(dirname "$0")/testlib.sh" call-srtp
LAB_PREFIX=sncx$$
command -v baresip >/dev/null || { echo "baresip is not installed (scripts/deps.sh installs baresip-core)"; exit 1; }

python3 - "$work" <<'PY'
import math, struct, sys, wave
for name, hz in (("t1000", 1000), ("t500", 500)):
    n = 8000 * 20
    w = wave.open("%s/%s.wav" % (sys.argv[1], name), "wb")
    w.setnchannels(1); w.setsampwidth(2); w.setframerate(8000)
    w.writeframes(struct.pack("<%dh" % n, *[int(8000 * math.sin(2 * math.pi * hz * i / 8000)) for i in range(n)]))
    w.close()
PY
baresip_conf() {   # DIR ADDRESS TONE ACCOUNT
    mkdir -p "$1/snd"
    cat >"$1/config" <<CONF
poll_method epoll
sip_listen $2:5060
net_interface $2
audio_player aubridge,sink
audio_alert aubridge,sink
audio_source aufile,$work/$3.wav
rtp_ports 30000-30100
module_path /usr/lib/baresip/modules
module g711.so
module aufile.so
module aubridge.so
module sndfile.so
module srtp.so
module_app account.so
module_app menu.so
snd_path $1/snd
call_max_calls 2
CONF
    echo "$4" >"$1/accounts"
}
baresip_conf "$work/itsp" 203.0.113.1 t1000 "<sip:itsp@203.0.113.1>;regint=0;mediaenc=srtp-mand;audio_codecs=PCMU"
baresip_conf "$work/phone" 192.0.2.20 t500 "<sip:6001@192.0.2.20>;regint=0;answermode=auto;audio_codecs=PCMU"

lab_up --nat cone >/dev/null || { echo "lab setup failed"; exit 1; }
lab_exec host timeout 30 "$agent" --bind 0.0.0.0 --port 5060 \
    --local-net 192.0.2.0/24 --external 198.51.100.5 \
    --endpoint sipus_endpoint --match 203.0.113.1 --srtp \
    --bridge-to sip:6001@192.0.2.20:5060 --bridge-match 192.0.2.20 \
    --hold 18 >"$work/agent.out" 2>"$work/agent.err" &
agent_pid=$!
track "$agent_pid"
lab_exec phone timeout 25 baresip -f "$work/phone" -t 20 >"$work/phone.log" 2>&1 &
track $!
sleep 1.5
lab_exec itsp timeout 20 baresip -f "$work/itsp" -s -t 10 \
    -e "/dial sip:19998887777@198.51.100.5:5060" >"$work/itsp.log" 2>&1
wait "$agent_pid" 2>/dev/null

# The 200 the ITSP received (its SIP trace): crypto and public address.
sdp=$(awk '/SIP\/2.0 200 OK/{f=1} f&&/^(c=|m=|a=crypto)/{print} /^a=sendrecv/{if(f)exit}' "$work/itsp.log" | tr -d '\r')
echo "$sdp" | grep -q '^c=IN IP4 198\.51\.100\.5' && echo "$sdp" | grep -q '^a=crypto:' &&
    echo "$sdp" | grep -q '^m=audio [0-9]* RTP/SAVP' &&
    ok "the ITSP's answer: RTP/SAVP, a=crypto, c=198.51.100.5 ($(echo "$sdp" | grep -c '^a=crypto') crypto line)" ||
    bad "the ITSP's answer: $(echo "$sdp" | tr '\n' ' ')"
grep -q "Using media encryption 'srtp-mand'" "$work/itsp.log" && grep -q 'Call established' "$work/itsp.log" &&
    ok "the ITSP (srtp-mand) established the call" || bad "the ITSP's call: $(grep -E 'srtp|Call' "$work/itsp.log" | head -3 | tr '\n' ' ')"
itsp_wav=$(ls "$work"/itsp/snd/*-dec.wav 2>/dev/null | head -1)
phone_wav=$(ls "$work"/phone/snd/*-dec.wav 2>/dev/null | head -1)
if [ -n "$itsp_wav" ] && r=$(python3 "$top/tests/phone/audio-check.py" tone 500 "$itsp_wav"); then
    ok "phone -> ITSP, RTP then SRTP: the ITSP decrypted the phone's 500 Hz: ${r#ok - }"
else
    bad "phone -> ITSP: ${r:-no recording at the ITSP}"
fi
if [ -n "$phone_wav" ] && r=$(python3 "$top/tests/phone/audio-check.py" tone 1000 "$phone_wav"); then
    ok "ITSP -> phone, SRTP then RTP: the phone got the ITSP's 1000 Hz: ${r#ok - }"
else
    bad "ITSP -> phone: ${r:-no recording at the phone}"
fi
grep '^media' "$work/agent.out" | sed 's/^/   /'
finish
