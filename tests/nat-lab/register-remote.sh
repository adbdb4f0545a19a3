#!/usr/bin/env bash
# A phone behind its own NAT registers to the library (issue: inbound
# REGISTER with rewrite_contact). The library runs at 192.0.2.10 behind the
# seed's router (reached at 198.51.100.5:5060 through the port forward);
# the phone (SIPp) at 10.0.0.20 sits behind a second router, 198.51.100.7,
# first a cone NAT, then a symmetric one (random ports). Endpoint 6001 has
# inbound auth, max_contacts 2, rewrite_contact and qualify every 2 s.
# From the wire: the phone answers the digest challenge and gets a 200
# listing its own Contact; the binding is 198.51.100.7:<mapped port>; the
# qualify OPTIONS reaches the phone (its log shows the request line naming
# the NAT address), the library reports the contact reachable, and the
# unregister removes it.
set -u
source "$(dirname "$0")/testlib.sh" register-remote
LAB_PREFIX=snrr$$

lab_up --nat cone >/dev/null && lab_add_remote_phone >/dev/null || { echo "lab setup failed"; exit 1; }

for mode in cone symmetric; do
    lab_set_nat rrouter "$mode" >/dev/null || { bad "cannot switch the phone's router to $mode"; continue; }
    lab_flush_nat rrouter >/dev/null 2>&1
    lab_exec host timeout 30 "$agent" --bind 0.0.0.0 --port 5060 \
        --local-net 192.0.2.0/24 --external 198.51.100.5 \
        --endpoint 6001 --inbound-auth 6001:s3cret --max-contacts 2 \
        --rewrite-contact --qualify 2 --hold 10 \
        >"$work/agent-$mode.out" 2>"$work/agent-$mode.err" &
    agent_pid=$!
    track "$agent_pid"
    sleep 1.5
    (cd "$work" && lab_exec rphone timeout 20 sipp -sf "$top/tests/sipp/phone-register.xml" \
        -oocsf "$top/tests/sipp/phone-ooc.xml" -i 10.0.0.20 -p 5062 198.51.100.5:5060 \
        -m 1 -d 6000 -nostdin -trace_logs -log_file "$work/phone-$mode.log" >/dev/null 2>&1)
    [ $? -eq 0 ] && ok "$mode: the phone registered (digest) and unregistered: 200 both times" \
        || bad "$mode: the phone's scenario failed ($(tail -3 "$work/phone-$mode.log" 2>/dev/null | tr '\n' ' '))"
    wait "$agent_pid" 2>/dev/null   # --hold ends it; the next one needs the port

    added=$(grep -m1 '^contact added' "$work/agent-$mode.out")
    case "$added" in
        "contact added sip:6001@198.51.100.7:"*" from=198.51.100.7:"*)
            ok "$mode: binding rewritten to the NAT source: $added" ;;
        *) bad "$mode: binding '$added'" ;;
    esac
    port=$(sed -n 's/^contact added sip:6001@198\.51\.100\.7:\([0-9]*\).*/\1/p' "$work/agent-$mode.out" | head -1)
    grep -q "RECEIVED OPTIONS sip:6001@198.51.100.7:${port:-x}$" "$work/phone-$mode.log" \
        && ok "$mode: the phone at 10.0.0.20 received the library's OPTIONS sent to 198.51.100.7:$port" \
        || bad "$mode: no OPTIONS reached the phone ($(grep -m1 RECEIVED "$work/phone-$mode.log"))"
    grep -q '^contact reachable sip:6001@198.51.100.7:' "$work/agent-$mode.out" \
        && ok "$mode: the library reports the contact reachable ($(grep -m1 '^contact reachable' "$work/agent-$mode.out" | sed 's/.*rtt=/rtt /') us)" \
        || bad "$mode: no reachable event"
    grep -q '^contact removed sip:6001@198.51.100.7:' "$work/agent-$mode.out" \
        && ok "$mode: the unregister removed the binding" || bad "$mode: the binding was not removed"
    if [ "$mode" = symmetric ] && [ -n "$port" ]; then
        [ "$port" != 5062 ] && ok "symmetric: the NAT mapped port 5062 to $port" \
            || bad "symmetric: the NAT kept port 5062 (not a symmetric mapping?)"
    fi
done
finish
