#!/usr/bin/env bash
# The seed end to end: the ITSP (SIPp at 203.0.113.1) calls the DID at the
# router's public address; the library at 192.0.2.10 (port forwards of the
# seed: 5060 and 10000-20000) identifies the ITSP, calls phone 6001 (SIPp
# at 192.0.2.20), and when the phone answers, answers the ITSP and bridges
# the two with direct_media=no: media goes through the library's anchor.
# From the wire: the SDP the ITSP received names 198.51.100.5 and a port of
# 10000-20000 (its scenario checks it); the SDP the phone received names
# 192.0.2.10; RTP with a checkable payload flows both ways (rtpcheck.py at
# each end): received within 1 % of sent, payload intact.
set -u
source "$(dirname "$0")/testlib.sh" call-seed
source "$(dirname "$0")/calllib.sh"
LAB_PREFIX=sncs$$
N=500   # packets each way: 10 s at 50/s (probation drops 4 per leg)

lab_up --nat cone >/dev/null || { echo "lab setup failed"; exit 1; }
if ! call_start seed itsp 203.0.113.1 --endpoint sipus_endpoint \
        --match 203.0.113.1 --match 203.0.113.2; then
    bad "the call was not set up (ITSP answer port '${aport}', phone offer port '${oport}')"
    sed -n "1,60p" "$work/agent-seed.err" >&2
    finish
    exit 1
fi
ok "the ITSP's answer names c=198.51.100.5, RTP port $aport (10000-20000)"
ok "the phone's offer names c=192.0.2.10, RTP port $oport (10000-20000)"
call_rtp seed itsp 203.0.113.1 $N

check() {   # WHO FILE SOURCE: intact within 1 % of N, nothing damaged, one source
    local in bad src
    in=$(json "$2" intact) bad=$(json "$2" bad) src=$(json "$2" sources)
    [ "$in" -ge $((N * 99 / 100)) ] && [ "$bad" -eq 0 ] &&
        ok "$1: $in of $N intact, $bad damaged" || bad "$1: $in of $N intact, $bad damaged"
    [ "$src" = "$3" ] && ok "$1: heard from $3 only (the anchor)" || bad "$1: heard from $src"
}
check "phone -> ITSP (at 203.0.113.1)" "$work/caller-seed.json" "198.51.100.5:$aport"
check "ITSP -> phone (at 192.0.2.20)" "$work/phone-seed.json" "192.0.2.10:$oport"
call_end seed
grep -q '^calls bridged=1 ended=1' "$work/agent-seed.out" && ok "the library bridged one call and ended it" ||
    bad "agent: $(grep -E '^(call|calls)' "$work/agent-seed.out" | tr '\n' ';')"
grep -q '^call out terminated' "$work/agent-seed.out" &&
    ok "the ITSP's BYE ended the phone's leg too" || bad "the phone's leg was not ended"
finish
