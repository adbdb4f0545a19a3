#!/usr/bin/env bash
# Registrar down, through the NAT: nothing listens at 203.0.113.1:5060.
# The library retries every retry_interval, max_retries times, says so in
# its events (retrying, retry_after), then reports failed; the ITSP side
# sees exactly max_retries + 1 REGISTERs, all from the router's address.
set -u
source "$(dirname "$0")/testlib.sh" register-down
LAB_PREFIX=sndown$$

lab_up --nat cone >/dev/null || { echo "lab_up failed"; exit 1; }
# What reaches the ITSP host, read from its own interface.
lab_exec itsp timeout 20 tcpdump -i eth0 -n -l -U --immediate-mode -Z root \
    'udp dst port 5060' >"$work/itsp.txt" 2>/dev/null &
cap=$!
track "$cap"
sleep 1
start=$SECONDS
lab_exec host timeout 20 "$agent" --bind 0.0.0.0 --port 5060 \
    --local-net 192.0.2.0/24 --external 198.51.100.5 \
    --register sip:gw1.example.com --aor sip:6001@gw1.example.com \
    --retry-interval 2 --max-retries 2 --wait 12 >"$work/agent.out" 2>"$work/agent.err"
elapsed=$((SECONDS - start))
cat "$work/agent.out"
sleep 1
kill "$cap" 2>/dev/null; wait "$cap" 2>/dev/null

n=$(grep -c 'registration retrying' "$work/agent.out")
[ "$n" -eq 2 ] && ok "two retrying events (max_retries 2)" || bad "$n retrying events"
grep 'registration retrying' "$work/agent.out" | grep -qv 'retry_after=2' && bad "retry_after is not retry_interval" || ok "each says retry_after=2 (retry_interval)"
# After the last retry: failed (the agent's stop() then ends it: unregistered).
grep -A1 'registration registering' "$work/agent.out" | tail -n 1 | grep -q '^registration failed 503' \
    && ok "then failed, status 503 (port unreachable through the NAT)" \
    || bad "no failed event after the last attempt"

[ "$elapsed" -ge 4 ] && [ "$elapsed" -le 10 ] && ok "gave up after ${elapsed} s (2 retries 2 s apart)" || bad "took ${elapsed} s"
regs=$(grep -c '198.51.100.5.5060 > 203.0.113.1.5060' "$work/itsp.txt")
[ "$regs" -eq 3 ] && ok "the ITSP saw 3 REGISTERs (max_retries + 1), all from 198.51.100.5:5060" || { bad "the ITSP saw $regs packets"; cat "$work/itsp.txt"; }
finish
