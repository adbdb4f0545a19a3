#!/usr/bin/env bash
# A registered library in an established call while the NAT in front of it
# changes its mind, twice:
#  1. the router's bindings are flushed (symmetric NAT: every new flow gets
#     a random public port): the keep-alive sees the new port, the
#     registration is repaired within two keep-alive intervals (measured),
#     the old binding is removed in the same REGISTER, and the call is
#     re-INVITEd with the new Contact;
#  2. the router's public address changes (a new WAN address, 198.51.100.6,
#     for everything leaving) and the host tells the library the network
#     changed (SIGUSR1 to the agent: sipnat_ctx_network_changed): it forgets
#     what it learned, re-registers, learns 198.51.100.6 and re-INVITEs the
#     call with that address in Contact and SDP.
# The library at 192.0.2.10 (learned policy, no external address) registers
# to Kamailio at 203.0.113.1 and bridges the ITSP's call (SIPp at
# 203.0.113.2, tests/sipp/itsp-call-rebind.xml) to phone 6001 (SIPp at
# 192.0.2.20). From the router's captures (its WAN side, and its LAN side
# for the phone's media): each re-INVITE's Contact and SDP, and the RTP
# after each re-INVITE's 200 in each direction, end to end (phone -> ITSP:
# the phone's packets leaving the WAN side toward the ITSP; ITSP -> phone:
# the ITSP's packets reaching the phone on the LAN side; payloads carry
# each end's tag, rtpcheck.py), plus each end's own count.
set -u
source "$(dirname "$0")/testlib.sh" rebind-call
source "$(dirname "$0")/calllib.sh"
command -v kamailio >/dev/null || { echo "kamailio is not installed (Debian package kamailio)"; bad "no kamailio"; finish; exit 1; }
KA=2      # keep-alive interval, seconds
N=1200    # RTP packets each way: 24 s at 50/s, across both changes, ending before the BYE
MIN=250   # at least 5 s of audio each way after each re-INVITE
LAB_PREFIX=snrb$$
kam_log=$work/kam.log out=$work/agent.out

lab_up --nat symmetric >/dev/null || { bad "lab_up"; finish; exit 1; }
lab_exec itsp kamailio -DD -E -f "$top/tests/kamailio/registrar.cfg" \
    -A 'LISTEN=udp:203.0.113.1:5060' >"$kam_log" 2>&1 &
track $!
wait_listen itsp udp 5060 || bad "Kamailio does not listen on udp 5060"
lab_exec host timeout 75 "$agent" --bind 0.0.0.0 --port 5060 \
    --local-net 192.0.2.0/24 --learned --keepalive $KA \
    --register sip:gw1.example.com --aor sip:6001@gw1.example.com --contact-user 6001 \
    --endpoint sipus_endpoint --match 203.0.113.2 \
    --bridge-to sip:6001@192.0.2.20:5060 --bridge-match 192.0.2.20 \
    --hold 55 >"$out" 2>"$work/agent.err" &
agent_pid=$!
track "$agent_pid"
wait_learned_registration "$kam_log" || { finish; exit 1; }

CALL_SIPP_TIMEOUT=70
call_sipp phone phone-answer.xml 192.0.2.20 phone.log
sleep 1
call_sipp itsp itsp-call-rebind.xml 203.0.113.2 caller.log 198.51.100.5:5060
if ! call_ports caller.log ANSWER phone.log OFFER; then
    bad "the call was not set up (answer port '$aport', offer port '$oport')"
    sed -n 1,60p "$work/agent.err" >&2
    tail -n 30 "$work"/caller.log* "$work"/*errors* 2>/dev/null >&2
    finish; exit 1
fi
ok "call up: the ITSP's answer names c=198.51.100.5 port $aport, the phone's offer 192.0.2.10 port $oport"

lab_capture_start router br-lan "$work/lan.pcap" udp port 7002 || bad "no LAN capture"
lan_cap=$LAB_CAPTURE_PID
t0=$(python3 -c 'import time; print(time.time() + 2)')
lab_exec itsp python3 "$LAB_DIR/rtpcheck.py" --bind 203.0.113.2:7000 --start-at "$t0" \
    --to "198.51.100.5:$aport" --tag I --expect-tag P --count $N --linger 2 \
    >"$work/caller.json" &
rtp1=$!
lab_exec phone python3 "$LAB_DIR/rtpcheck.py" --bind 192.0.2.20:7002 --start-at "$t0" \
    --to "192.0.2.10:$oport" --tag P --expect-tag I --count $N --linger 2 \
    >"$work/phone.json" &
rtp2=$!
sleep 7   # audio flows both ways first


# 1. Binding loss: the NAT forgets every mapping; the next flows get new ports.
regs=$(grep -c 'SIPNAT-LAB REGISTER' "$kam_log")
flush_at=$(now)
lab_flush_nat router >/dev/null
if wait_for 'SIPNAT-LAB REGISTER' "$kam_log" $((regs + 1)) $((2 * KA + 1)); then
    took=$(elapsed "$flush_at" "$(now)")
    ok "flush: re-registered ${took} s after the NAT bindings were flushed (keep-alive every $KA s, limit $((2 * KA)) s)"
else
    bad "flush: no re-REGISTER within two keep-alive intervals"
fi
line=$(grep 'SIPNAT-LAB REGISTER' "$kam_log" | sed -n "$((regs + 1))p")
src=${line#*src=}; src=${src%% *}
new=$(printf '%s' "$line" | sed -n 's/.*contact=<sip:6001@\([^;>]*\).*/\1/p')
old=$(grep 'SIPNAT-LAB REGISTER' "$kam_log" | sed -n "${regs}p" | sed -n 's/.*contact=<sip:6001@\([^;>]*\).*/\1/p')
[ "$new" = "$src" ] && [ "$new" != "$old" ] &&
    ok "flush: the new Contact $new is where the registrar sees the REGISTER from (was $old)" ||
    bad "flush: REGISTER from $src says Contact $new (was $old)"
printf '%s' "$line" | grep -q "<sip:6001@$old;[^>]*>;expires=0" &&
    ok "flush: the same REGISTER removes the old binding $old (;expires=0)" ||
    bad "flush: the old binding is not removed: $line"
wait_for 'REINVITE' "$work/caller.log" 1 $((2 * KA + 2)) &&
    ok "flush: the call was re-INVITEd: $(grep REINVITE "$work/caller.log" | head -1)" ||
    bad "flush: no re-INVITE reached the ITSP"
grep 'REINVITE' "$work/caller.log" | head -1 | grep -q "contact=sip:198.51.100.5:${new#*:} " &&
    ok "flush: the re-INVITE's Contact names the new mapping 198.51.100.5:${new#*:}" ||
    bad "flush: re-INVITE $(grep REINVITE "$work/caller.log" | head -1) vs the new mapping $new"
sleep 5

# 2. A new public address, and the host says the network changed.
regs=$(grep -c 'SIPNAT-LAB REGISTER' "$kam_log")
lab_exec router ip addr add 198.51.100.6/24 dev wan0
lab_exec router nft insert rule ip "$LAB_NFT_TABLE" postrouting oifname wan0 \
    ip saddr 192.0.2.0/24 snat to 198.51.100.6
lab_flush_nat router >/dev/null
moved_at=$(now)
agent_network_changed
if wait_for 'SIPNAT-LAB REGISTER.*contact=<sip:6001@198\.51\.100\.6:' "$kam_log" 1 $((2 * KA + 1)); then
    ok "network changed: registered at 198.51.100.6 $(elapsed "$moved_at" "$(now)") s later"
else
    bad "network changed: no REGISTER with the new address"
fi
if wait_for 'REINVITE contact=sip:198\.51\.100\.6:' "$work/caller.log" 1 $((2 * KA + 2)); then
    ok "network changed: re-INVITE $(elapsed "$moved_at" "$(now)") s later: $(grep 'REINVITE contact=sip:198.51.100.6' "$work/caller.log" | head -1)"
else
    bad "network changed: no re-INVITE naming 198.51.100.6"
fi
grep 'REINVITE contact=sip:198\.51\.100\.6:' "$work/caller.log" | head -1 | grep -q 'c=IN IP4 198.51.100.6' &&
    ok "network changed: the re-INVITE's SDP names c=198.51.100.6" ||
    bad "network changed: the re-INVITE's SDP: $(grep REINVITE "$work/caller.log" | tail -1)"
removed=$(grep 'SIPNAT-LAB REGISTER' "$kam_log" | sed -n "$((regs + 1)),\$p" | grep -c "<sip:6001@198\.51\.100\.5:[0-9]*;[^>]*>;expires=0")
[ "$removed" -ge 1 ] && ok "network changed: the binding at 198.51.100.5 was removed" ||
    bad "network changed: the old binding stays: $(grep 'SIPNAT-LAB REGISTER' "$kam_log" | sed -n "$((regs + 1)),\$p" | sed 's/.*contact=/contact=/' | tr '\n' ';')"

wait "$rtp1" "$rtp2"
wait "$agent_pid"; rc=$?
[ $rc -eq 0 ] && ok "agent unregistered cleanly" || { bad "agent exit $rc"; tail -5 "$work/agent.err"; }
grep '^call\|^media\|^network' "$out" | sed 's/^/   /'
for end in caller phone; do
    in=$(json "$work/$end.json" intact) bad=$(json "$work/$end.json" bad)
    [ "$in" -ge $((N * 90 / 100)) ] && [ "$bad" -eq 0 ] &&
        ok "$end: $in of $N intact over the whole call, $bad damaged" ||
        bad "$end: $in of $N intact, $bad damaged"
done

# The router's captures: each re-INVITE (and its 200), RTP after each.
lab_wire_check >/dev/null
lab_capture_stop "$lan_cap"
python3 - "$LAB_DIR" "$LAB_WIRE_DIR/$LAB_PREFIX.pcap" "$work/lan.pcap" >"$work/wire.txt" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
from pcapsip import packets
reinv, ok200 = [], {}
rtp = []   # (t, direction)
for t, src, sport, dst, dport, p in packets(sys.argv[3]):
    if len(p) == 172 and p[0] == 0x80 and dst == "192.0.2.20" and dport == 7002 \
            and p[12:13] == b"I":
        rtp.append((t, "to_phone"))
for t, src, sport, dst, dport, p in packets(sys.argv[2]):
    text = p[:2000].decode("latin-1")
    if text.startswith("INVITE ") and src.startswith("198.51.100.") and dst == "203.0.113.2":
        cseq = [l for l in text.split("\r\n") if l.lower().startswith("cseq:")]
        contact = [l for l in text.split("\r\n") if l.lower().startswith(("contact:", "m:"))]
        c = [l for l in text.split("\r\n") if l.startswith("c=")]
        key = cseq[0] if cseq else ""
        if key not in [r[1] for r in reinv]:
            reinv.append((t, key, contact[0] if contact else "", c[0] if c else ""))
    elif text.startswith("SIP/2.0 200") and src == "203.0.113.2" and "INVITE" in text:
        for l in text.split("\r\n"):
            if l.lower().startswith("cseq:"):
                ok200.setdefault(l, t)
    elif len(p) == 172 and p[0] == 0x80:
        if dst == "203.0.113.2" and dport == 7000 and p[12:13] == b"P":
            rtp.append((t, "to_itsp"))
for t, key, contact, c in reinv:
    at = ok200.get(key)
    if at is None:
        print("reinvite %s unanswered" % key)
        continue
    to = sum(1 for x, d in rtp if x > at and d == "to_itsp")
    fr = sum(1 for x, d in rtp if x > at and d == "to_phone")
    print("reinvite %s | %s | %s | rtp_phone_to_itsp=%d rtp_itsp_to_phone=%d" % (key, contact, c, to, fr))
PY
sed 's/^/   /' "$work/wire.txt"
n=$(grep -c '^reinvite' "$work/wire.txt")
[ "$n" -ge 2 ] && ok "the capture holds $n re-INVITEs from the router's public side" || bad "$n re-INVITEs in the capture"
while IFS= read -r l; do
    to=${l#*rtp_phone_to_itsp=}; to=${to%% *}; fr=${l#*rtp_itsp_to_phone=}
    case "$l" in *unanswered*) bad "capture: $l"; continue ;; esac
    [ "$to" -ge $MIN ] && [ "$fr" -ge $MIN ] &&
        ok "capture: after the 200 to ${l%% |*}: phone -> ITSP $to RTP packets, ITSP -> phone $fr" ||
        bad "capture: after ${l%% |*}: phone -> ITSP $to, ITSP -> phone $fr (want $MIN each)"
done < <(grep '^reinvite' "$work/wire.txt")
grep '^reinvite' "$work/wire.txt" | grep -q 'c=IN IP4 198.51.100.6' &&
    ok "capture: a re-INVITE's SDP names c=IN IP4 198.51.100.6" || bad "capture: no SDP naming 198.51.100.6"
last=$("$(lab_wire_python)" "$LAB_WIRECHECK" --list "$LAB_WIRE_DIR/$LAB_PREFIX.pcap" |
    grep 'SIP/2.0 200 OK | CSeq: [0-9]* REGISTER .*| Contact: ' | grep -v 'expires=0' | tail -n 1 | sed 's/.*| Contact: //')
[ "$(echo "$last" | grep -o '<sip:' | wc -l)" -eq 1 ] && echo "$last" | grep -q '198\.51\.100\.6' &&
    ok "the registrar's last answer lists one binding, the new one: $last" ||
    bad "the registrar's last answer lists: ${last:-nothing}"
finish
