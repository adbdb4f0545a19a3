#!/usr/bin/env bash
# RTP bleed (CVE-2017-14099) through the seed's topology. An attacker on
# the public side (198.51.100.66) sprays in-sequence RTP at the anchor's
# public port (198.51.100.5:<port of the ITSP's answer>, forwarded to the
# library) from the moment the port is in the SDP - before the ITSP sends
# anything - and on during and after the call's media, faster than the
# real stream. None of its packets may reach either leg, the drop counter
# must count them, and the call's audio must be unaffected.
set -u
source "$(dirname "$0")/testlib.sh" rtp-bleed
source "$(dirname "$0")/calllib.sh"
LAB_PREFIX=snrb$$
N=500

lab_up --nat cone >/dev/null && lab_add_attacker >/dev/null || { echo "lab setup failed"; exit 1; }
if ! call_start bleed itsp 203.0.113.1 --endpoint sipus_endpoint --match 203.0.113.1; then
    bad "the call did not come up"
    finish
    exit 1
fi
# Before the ITSP's first packet: 1,500 packets at 120/s, in sequence, a
# payload of its own ('X'), for 12.5 s: before, during and after the call's
# 10 s of media.
lab_exec attacker python3 "$LAB_DIR/rtpcheck.py" --bind 198.51.100.66:7000 \
    --to "198.51.100.5:$aport" --tag X --expect-tag I --count 1500 --pps 120 \
    --linger 0.2 >"$work/attacker.json" &
atk=$!
sleep 1   # the attacker has sent ~120 in-sequence packets before the ITSP starts
call_rtp bleed itsp 203.0.113.1 $N
wait "$atk"
i_in=$(json "$work/caller-bleed.json" intact) i_for=$(json "$work/caller-bleed.json" foreign)
p_in=$(json "$work/phone-bleed.json" intact) p_for=$(json "$work/phone-bleed.json" foreign)
a_rx=$(json "$work/attacker.json" received) a_sent=$(json "$work/attacker.json" sent)
[ "$p_for" -eq 0 ] && [ "$i_for" -eq 0 ] &&
    ok "no attacker packet reached either leg (phone: $p_for foreign, ITSP: $i_for foreign)" ||
    bad "attacker packets reached a leg (phone: $p_for foreign, ITSP: $i_for foreign)"
[ "$a_rx" -eq 0 ] && ok "the attacker received nothing back (of $a_sent sent): no media leaked to it" ||
    bad "the attacker received $a_rx packets: media bled"
[ "$p_in" -ge $((N * 99 / 100)) ] && [ "$i_in" -ge $((N * 99 / 100)) ] &&
    ok "the call's audio is unaffected: phone got $p_in/$N intact, ITSP $i_in/$N" ||
    bad "audio damaged: phone got $p_in/$N, ITSP $i_in/$N"
call_end bleed
foreign=$(sed -n 's/^media in .*foreign=\([0-9]*\).*/\1/p' "$work/agent-bleed.out")
[ "${foreign:-0}" -ge $((a_sent * 9 / 10)) ] &&
    ok "the anchor dropped and counted $foreign of the attacker's $a_sent packets (the rest arrived after the call)" ||
    bad "the anchor counted ${foreign:-none} foreign packets of $a_sent"
grep -q 'media in .*latched=203\.0\.113\.1:7000' "$work/agent-bleed.out" &&
    ok "the ITSP leg latched on the ITSP (203.0.113.1:7000), not the attacker" ||
    bad "the ITSP leg latched elsewhere: $(grep '^media in' "$work/agent-bleed.out")"
finish
