#!/usr/bin/env bash
# The seed's identify through the NAT: the library at 192.0.2.10, reached
# through the router's port forward at 198.51.100.5:5060, has an endpoint
# "sipus_endpoint" matching 203.0.113.1 and 203.0.113.2. An OPTIONS from
# the ITSP's second gateway (203.0.113.2) is answered 200; one from an
# attacker on the public side (198.51.100.66) gets 403, and the library
# logs the rejection with the source.
set -u
source "$(dirname "$0")/testlib.sh" identify
LAB_PREFIX=snid$$

lab_up --nat cone >/dev/null && lab_add_attacker >/dev/null || { echo "lab setup failed"; exit 1; }
lab_exec host timeout 20 "$agent" --bind 0.0.0.0 --port 5060 \
    --local-net 192.0.2.0/24 --external 198.51.100.5 \
    --endpoint sipus_endpoint --match 203.0.113.1 --match gw2.example.com \
    --hold 8 >"$work/agent.out" 2>"$work/agent.err" &
agent_pid=$!
track "$agent_pid"
sleep 1.5

(cd "$work" && lab_exec itsp timeout 8 sipp -sf "$top/tests/nat-lab/options_uac.xml" \
    -i 203.0.113.2 -p 5071 198.51.100.5:5060 -m 1 -nostdin -trace_msg \
    -message_file "$work/itsp.log" >/dev/null 2>&1)
[ $? -eq 0 ] && ok "OPTIONS from 203.0.113.2 (gw2) identified: 200" || bad "gw2 got no 200"
(cd "$work" && lab_exec attacker timeout 8 sipp -sf "$top/tests/sipp/options-forbidden.xml" \
    -i 198.51.100.66 -p 5072 198.51.100.5:5060 -m 1 -nostdin >/dev/null 2>&1)
[ $? -eq 0 ] && ok "OPTIONS from 198.51.100.66 (unknown) rejected: 403" || bad "the unknown source got no 403"
wait "$agent_pid"

grep -q 'matches no endpoint' "$work/agent.err" && grep 'matches no endpoint' "$work/agent.err" | grep -q '198\.51\.100\.66:' \
    && ok "the rejection is logged with its source: $(grep -m1 'matches no endpoint' "$work/agent.err" | sed 's/^log [0-9]* //')" \
    || bad "no log line for the rejected source"
grep 'matches no endpoint' "$work/agent.err" | grep -q '203\.0\.113\.2' && bad "gw2 was logged as unknown" || ok "gw2 was not logged as unknown"
# The Contact of the 200 the gateway received (its log has its own
# OPTIONS first).
ct=$(sed -n '/^SIP\/2.0 200/,/^$/p' "$work/itsp.log" 2>/dev/null | grep -m1 -E '^Contact:' | tr -d '\r')
case "$ct" in *"198.51.100.5:5060"*) ok "the ITSP's 200 names us at 198.51.100.5:5060 ($ct)" ;; *) bad "the ITSP saw Contact '$ct'" ;; esac
finish
