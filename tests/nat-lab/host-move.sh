#!/usr/bin/env bash
# The library's host moves to another LAN address while it is registered
# and in a call: 192.0.2.10 is deleted, 192.0.2.11 added and the default
# route put back, and the host tells the library the network changed
# (SIGUSR1 to the agent: sipnat_ctx_network_changed). The sockets left on
# 192.0.2.10 (sofia's SIP socket, the call's RTP and RTCP sockets) move to
# 192.0.2.11 on the same ports, the registration is refreshed with the new
# Contact and the old binding removed, the call is re-INVITEd, and audio
# flows both ways again.
# The library (learned policy, keep-alive 2 s) registers the DID through
# the router (symmetric NAT) to the ITSP's proxy (Kamailio at 203.0.113.1,
# tests/kamailio/itsp.cfg: registrar, Record-Route) and answers the
# ITSP's call (SIPp at 203.0.113.2 behind that proxy,
# tests/sipp/itsp-call-rebind.xml) itself, sending a tone (the agent's
# --tone). The router's port forwards still name 192.0.2.10: whatever
# reaches the host after the move comes through its own flows. The ITSP's RTP end (rtpcheck.py
# --latch) is symmetric, as ITSPs are toward customers behind NAT: the
# router's binding for the old address stays, so the host's RTP comes
# from a new public port after the move.
# Judged from the test's captures: the router's WAN side (REGISTERs and
# their Contacts, the re-INVITE and its 200, the host's RTP leaving for
# the ITSP) and its LAN side (the ITSP's RTP reaching 192.0.2.11).
set -u
source "$(dirname "$0")/testlib.sh" host-move
source "$(dirname "$0")/calllib.sh"
command -v kamailio >/dev/null || { echo "kamailio is not installed (Debian package kamailio)"; bad "no kamailio"; finish; exit 1; }
KA=2      # keep-alive interval, seconds
N=1100    # ITSP RTP packets: 22 s at 50/s, ending before the BYE
MIN=250   # at least 5 s of audio each way after the re-INVITE
OLD=192.0.2.10 NEW=192.0.2.11
LAB_PREFIX=snhm$$
kam_log=$work/kam.log out=$work/agent.out

lab_up --nat symmetric >/dev/null || { bad "lab_up"; finish; exit 1; }
lab_exec itsp kamailio -DD -E -f "$top/tests/kamailio/itsp.cfg" \
    -A 'ADDR=203.0.113.1' >"$kam_log" 2>&1 &
track $!
wait_listen itsp udp 5060 || bad "Kamailio does not listen on udp 5060"
lab_capture_start router br-lan "$work/lan.pcap" udp port 7000 || bad "no LAN capture"
lan_cap=$LAB_CAPTURE_PID
lab_exec host timeout 75 "$agent" --bind 0.0.0.0 --port 5060 \
    --local-net 192.0.2.0/24 --learned --keepalive $KA \
    --register sip:gw1.example.com --aor sip:19998887777@gw1.example.com \
    --contact-user 19998887777 --endpoint sipus_endpoint --match 203.0.113.1 --answer --tone \
    --hold 45 >"$out" 2>"$work/agent.err" &
agent_pid=$!
track "$agent_pid"
wait_learned_registration "$kam_log" || { finish; exit 1; }

CALL_SIPP_TIMEOUT=60
call_sipp itsp itsp-call-rebind.xml 203.0.113.2 caller.log 203.0.113.1:5060
aport=""
for _ in $(seq 1 50); do
    aport=$(sed -n 's/^ANSWER \([0-9]*\).*/\1/p' "$work/caller.log" 2>/dev/null | head -1)
    [ -n "$aport" ] && break
    sleep 0.2
done
if [ -z "$aport" ]; then
    bad "the call was not set up"
    sed -n 1,60p "$work/agent.err" >&2
    tail -n 30 "$work"/caller.log* "$work"/*errors* 2>/dev/null >&2
    finish; exit 1
fi
ok "call up: the library answered with c=198.51.100.5 port $aport"
lab_exec itsp python3 "$LAB_DIR/rtpcheck.py" --bind 203.0.113.2:7000 --latch \
    --to "198.51.100.5:$aport" --tag I --count $N --linger 2 >"$work/caller.json" &
rtp=$!
sleep 6   # audio flows both ways first


# The move: the old address goes, the new one comes, the route is put back.
regs=$(grep -c 'SIPNAT-LAB REGISTER' "$kam_log")
moved_at=$(now)
lab_exec host ip addr del "$OLD/24" dev eth0
lab_exec host ip addr add "$NEW/24" dev eth0
lab_exec host ip route add default via 192.0.2.1
agent_network_changed
for port in 5060 "$aport" $((aport + 1)); do
    grep -q "$OLD is gone from the host: its UDP socket on port $port now uses $NEW" "$work/agent.err" &&
        ok "the socket on port $port moved from $OLD to $NEW" ||
        bad "the socket on port $port did not move: $(grep 'is gone' "$work/agent.err" | tr '\n' ';')"
done
if wait_for 'SIPNAT-LAB REGISTER' "$kam_log" $((regs + 1)) $((2 * KA + 1)); then
    ok "re-registered $(elapsed "$moved_at" "$(now)") s after the move"
else
    bad "no re-REGISTER after the move"
fi
if wait_for 'REINVITE' "$work/caller.log" 1 $((2 * KA + 2)); then
    ok "re-INVITE $(elapsed "$moved_at" "$(now)") s after the move: $(grep REINVITE "$work/caller.log" | head -1)"
else
    bad "no re-INVITE reached the ITSP"
fi

wait "$rtp"
wait "$agent_pid"; rc=$?
[ $rc -eq 0 ] && ok "agent unregistered cleanly" || { bad "agent exit $rc"; tail -5 "$work/agent.err"; }
grep '^call\|^media\|^network' "$out" | sed 's/^/   /'
grep 'is gone\|the network changed\|session' "$work/agent.err" | sed 's/^/   /'
grep -q 're-INVITE refused' "$work/agent.err" &&
    bad "the re-INVITE failed: $(grep 're-INVITE refused' "$work/agent.err")" ||
    ok "the re-INVITE was answered"
grep -q '^call in media-changed 200' "$out" &&
    ok "the library heard the ITSP take the new address: $(grep '^call in media-changed' "$out")" ||
    bad "no media-changed event"
grep -q '^call in terminated 200' "$out" &&
    ok "the ITSP's BYE reached the host at its new address: $(grep '^call in terminated' "$out")" ||
    bad "the call ended otherwise: $(grep '^call in terminated' "$out")"
[ "$(json "$work/caller.json" moves)" -ge 1 ] &&
    ok "the ITSP's RTP end followed the host's RTP to its new public port ($(json "$work/caller.json" moves) move(s); sources $(json "$work/caller.json" sources))" ||
    bad "the ITSP's RTP never saw a new source: $(cat "$work/caller.json")"

# The captures: REGISTERs around the move, the re-INVITE, RTP each way.
lab_wire_check >/dev/null
lab_capture_stop "$lan_cap"
python3 - "$LAB_DIR" "$LAB_WIRE_DIR/$LAB_PREFIX.pcap" "$work/lan.pcap" "$moved_at" \
    "$OLD" "$NEW" >"$work/wire.txt" <<'PY'
import re, sys
sys.path.insert(0, sys.argv[1])
from pcapsip import packets
wan, lan, moved, old_ip, new_ip = sys.argv[2], sys.argv[3], float(sys.argv[4]), sys.argv[5], sys.argv[6]

def headers(text, *names):
    return [l.split(":", 1)[1].strip() for l in text.split("\r\n")
            if l.split(":", 1)[0].strip().lower() in names]

regs, reinv, ok200, last_reg_ok = [], None, {}, None
to_itsp = []   # times of the host's RTP leaving for the ITSP
for t, src, sport, dst, dport, p in packets(wan):
    text = p[:3000].decode("latin-1")
    if text.startswith("REGISTER ") and dst == "203.0.113.1":
        regs.append((t, "%s:%d" % (src, sport), headers(text, "contact", "m")))
    elif text.startswith("INVITE ") and dst == "203.0.113.1" and t > moved and reinv is None:
        reinv = (t, headers(text, "cseq")[0], headers(text, "contact", "m"),
                 [l for l in text.split("\r\n") if l.startswith(("c=", "m="))])
    elif text.startswith("SIP/2.0 200") and src == "203.0.113.1":
        cseq = headers(text, "cseq")
        if cseq and cseq[0].endswith("INVITE"):
            ok200.setdefault(cseq[0], t)
        elif cseq and cseq[0].endswith("REGISTER") and headers(text, "contact", "m"):
            last_reg_ok = headers(text, "contact", "m")   # not the final unregister's
    elif len(p) == 172 and p[0] == 0x80 and dst == "203.0.113.2" and dport == 7000:
        to_itsp.append((t, sport))
to_host = [t for t, src, sport, dst, dport, p in packets(lan)
           if len(p) == 172 and p[0] == 0x80 and src == "203.0.113.2" and sport == 7000
           and p[12:13] == b"I" and dst == new_ip]
before = [r for r in regs if r[0] < moved]
after = [r for r in regs if r[0] > moved]
uri = lambda c: re.sub(r"^.*<sip:[^@]*@([^;>]*).*$", r"\1", c)
old = [uri(c) for c in before[-1][2] if "expires=0" not in c] if before else []
print("old_contact %s" % (old[0] if old else "-"))
for t, src, contacts in after:
    print("register %.2f s src=%s contacts=%s" % (t - moved, src, " , ".join(contacts)))
# The first REGISTER after the move that names a usable Contact (the one
# right after the change may name none yet: nothing was learned).
gone = [uri(c) for r in after for c in r[2] if "expires=0" in c]
for t, src, contacts in after:
    new = [uri(c) for c in contacts if "expires=0" not in c and "sipnat.invalid" not in c]
    if new:
        print("reregister %.2f s src=%s new=%s removed=%s" % (t - moved, src, ",".join(new),
                                                            ",".join(gone) or "-"))
        break
else:
    print("reregister none")
print("last_200 %s" % " , ".join(last_reg_ok or ["-"]))
if reinv:
    t, cseq, contact, sdp = reinv
    at = ok200.get(cseq)
    print("reinvite %.2f s contact=%s %s answered=%s" % (t - moved, contact[0] if contact else "-",
                                                       " ".join(sdp), "%.2f" % (at - moved) if at else "no"))
    if at:
        print("rtp_after host_to_itsp=%d itsp_to_host=%d" %
              (sum(1 for x, _ in to_itsp if x > at), sum(1 for x in to_host if x > at)))
else:
    print("reinvite none")
# The host's RTP after the move leaves from a new public port (the
# router's binding for the old address stays): the first packet from one.
old_ports = {p for x, p in to_itsp if x < moved}
first_out = min([x for x, p in to_itsp if x > moved and p not in old_ports], default=None)
first_in = min(to_host, default=None)
print("repair host_to_itsp=%s itsp_to_host=%s" % (
    "%.2f" % (first_out - moved) if first_out else "never",
    "%.2f" % (first_in - moved) if first_in else "never"))
print("rtp_before host_to_itsp=%d" % sum(1 for x, _ in to_itsp if x < moved))
PY
sed 's/^/   /' "$work/wire.txt"
field() { sed -n "s/^$1 .*$2=\([^ ]*\).*/\1/p" "$work/wire.txt"; }
old=$(sed -n 's/^old_contact //p' "$work/wire.txt")
src=$(field reregister src) new=$(field reregister new) removed=$(field reregister removed)
[ -n "$new" ] && [ "$new" = "$src" ] && [ "$new" != "$old" ] &&
    ok "capture: the first REGISTER after the move with a Contact names $new, where it came from (was $old)" ||
    bad "capture: REGISTER after the move from ${src:-?} names ${new:-nothing} (was $old)"
[ -n "$old" ] && printf ',%s,' "$removed" | grep -q ",$old," &&
    ok "capture: a REGISTER after the move removes the old binding $old (;expires=0)" ||
    bad "capture: the old binding $old is not removed (${removed:-nothing})"
last=$(sed -n 's/^last_200 //p' "$work/wire.txt")
[ "$(echo "$last" | grep -o '<sip:' | wc -l)" -eq 1 ] && echo "$last" | grep -q "@$new[;>]" &&
    ok "capture: the registrar's last answer lists one binding, the new one: $last" ||
    bad "capture: the registrar's last answer lists: $last"
grep -q '^reinvite .*contact=<sip:[^>]*198\.51\.100\.5:.*answered=[0-9]' "$work/wire.txt" &&
    ok "capture: the re-INVITE names the public address and was answered" ||
    bad "capture: $(grep '^reinvite' "$work/wire.txt")"
! grep '^reinvite' "$work/wire.txt" | grep -q '192\.0\.2\.' ||
    bad "capture: the re-INVITE names a LAN address"
out_n=$(field rtp_after host_to_itsp) in_n=$(field rtp_after itsp_to_host)
[ "${out_n:-0}" -ge $MIN ] && [ "${in_n:-0}" -ge $MIN ] &&
    ok "capture: after the re-INVITE's 200: host -> ITSP $out_n RTP packets, ITSP -> host ($NEW) $in_n" ||
    bad "capture: after the re-INVITE: host -> ITSP ${out_n:-0}, ITSP -> host ${in_n:-0} (want $MIN each)"
r_out=$(field repair host_to_itsp) r_in=$(field repair itsp_to_host)
[ "$r_out" != never ] && [ "$r_in" != never ] &&
    ok "audio repaired: the host's RTP left the router from its new public port $r_out s after the move, the ITSP's reached $NEW $r_in s after" ||
    bad "audio not repaired: host -> ITSP $r_out, ITSP -> host $r_in"
finish
