#!/usr/bin/env bash
# rtp_symmetric through a symmetric NAT. A remote phone (SIPp at 10.0.0.20
# behind 198.51.100.7, masquerade random,fully-random) calls the library,
# whose SDP it gets with the public address; its own SDP names its private
# address 10.0.0.20:7000, which nobody can reach. The library bridges the
# call to the LAN phone 6001.
# rtp_symmetric=yes: the anchor latches on the NAT's mapping of the phone's
# RTP and sends back there: two-way audio.
# rtp_symmetric=no: the anchor sends to the SDP's 10.0.0.20:7000: the
# remote phone hears nothing while the LAN phone hears it - the one-way
# audio users see without symmetric RTP.
set -u
source "$(dirname "$0")/testlib.sh" call-remote
source "$(dirname "$0")/calllib.sh"
LAB_PREFIX=sncr$$
N=500

lab_up --nat cone >/dev/null && lab_add_remote_phone --nat symmetric >/dev/null ||
    { echo "lab setup failed"; exit 1; }
for mode in symmetric asymmetric; do
    extra=""
    [ "$mode" = asymmetric ] && extra=--no-rtp-symmetric
    lab_flush_nat rrouter >/dev/null 2>&1
    if ! call_start "$mode" rphone 10.0.0.20 --endpoint sipus_endpoint \
            --match 198.51.100.7 $extra; then
        bad "$mode: the call did not come up"
        continue
    fi
    call_rtp "$mode" rphone 10.0.0.20 $N
    r_in=$(json "$work/caller-$mode.json" intact)
    l_in=$(json "$work/phone-$mode.json" intact)
    if [ "$mode" = symmetric ]; then
        [ "$r_in" -ge $((N * 99 / 100)) ] && [ "$l_in" -ge $((N * 99 / 100)) ] &&
            ok "rtp_symmetric=yes: two-way audio through the symmetric NAT: remote phone got $r_in/$N intact (from $(json "$work/caller-$mode.json" sources)), LAN phone $l_in/$N" ||
            bad "rtp_symmetric=yes: remote phone got $r_in/$N, LAN phone $l_in/$N"
    else
        [ "$r_in" -eq 0 ] && [ "$l_in" -ge $((N * 99 / 100)) ] &&
            ok "rtp_symmetric=no: one-way audio, as users would see it: the LAN phone got $l_in/$N, the remote phone 0 (the anchor sent to its SDP's 10.0.0.20)" ||
            bad "rtp_symmetric=no: remote phone got $r_in/$N, LAN phone $l_in/$N (expected 0 and all)"
    fi
    call_end "$mode"
    grep -q 'latched=198\.51\.100\.7:' "$work/agent-$mode.out" &&
        ok "$mode: the anchor latched on the NAT's mapping: $(grep -m1 -o 'latched=198\.51\.100\.7:[0-9]*' "$work/agent-$mode.out")" ||
        bad "$mode: no latch on 198.51.100.7"
done
finish
