# Calls in the NAT lab, shared by the call tests (source after testlib.sh).
# The library (the lab agent) runs at 192.0.2.10 behind the seed's router
# and bridges each incoming call to the LAN phone 6001 (SIPp at
# 192.0.2.20); a caller (SIPp, tests/sipp/itsp-call.xml) calls the DID at
# 198.51.100.5; rtpcheck.py plays RTP at both ends.
# shellcheck shell=bash

# call_start TAG CALLER_NS CALLER_IP AGENT_ARGS...: agent, phone, caller.
# Sets aport (the port the caller's answer names) and oport (the port the
# phone's offer names); returns 1 when the call did not come up.
# CALL_POLICY: the agent's address options (default: the seed's static
# external address).
call_start() {
    local tag=$1 cns=$2 cip=$3
    shift 3
    lab_exec host timeout 40 "$agent" --bind 0.0.0.0 --port 5060 \
        --local-net 192.0.2.0/24 ${CALL_POLICY:---external 198.51.100.5} \
        --bridge-to sip:6001@192.0.2.20:5060 --bridge-match 192.0.2.20 \
        --hold 24 "$@" >"$work/agent-$tag.out" 2>"$work/agent-$tag.err" &
    agent_pid=$!
    track "$agent_pid"
    call_sipp phone phone-answer.xml 192.0.2.20 "phone-$tag.log"
    sleep 1.5
    call_sipp "$cns" itsp-call.xml "$cip" "caller-$tag.log" 198.51.100.5:5060
    call_ports "caller-$tag.log" ANSWER "phone-$tag.log" OFFER
}

# call_sipp NS SCENARIO IP LOG [SIPP_ARGS...]: one SIPp call (tests/sipp/
# SCENARIO) from IP:5060 in the background, its log lines in $work/LOG;
# it is given CALL_SIPP_TIMEOUT seconds (default 30).
call_sipp() {
    local ns=$1 sf=$2 ip=$3 log=$4
    shift 4
    (cd "$work" && lab_exec "$ns" timeout "${CALL_SIPP_TIMEOUT:-30}" sipp -sf "$top/tests/sipp/$sf" \
        -i "$ip" -p 5060 "$@" -m 1 -nostdin -trace_logs -log_file "$work/$log" \
        >/dev/null 2>&1) &
    track $!
}

# call_ports ALOG AWORD OLOG OWORD: wait (10 s at most) for the ports the
# scenarios log ("AWORD port" in ALOG into aport, OWORD in OLOG into
# oport); 1 when they did not come.
call_ports() {
    aport="" oport=""
    for _ in $(seq 1 50); do
        aport=$(sed -n "s/^$2 \([0-9]*\).*/\1/p" "$work/$1" 2>/dev/null | head -1)
        oport=$(sed -n "s/^$4 \([0-9]*\).*/\1/p" "$work/$3" 2>/dev/null | head -1)
        [ -n "$aport" ] && [ -n "$oport" ] && return 0
        sleep 0.2
    done
    return 1
}

# call_rtp TAG CALLER_NS CALLER_IP N: N packets each way, results in
# $work/caller-TAG.json and $work/phone-TAG.json. CALL_PHONE_DELAY: seconds
# the phone starts sending after the caller (a caller that sends first);
# both listen from the start. Each end listens 3 s after its last packet:
# on a loaded machine one python may start a second after the other.
call_rtp() {
    local tag=$1 cns=$2 cip=$3 n=$4 r1 r2 t0 delay=${CALL_PHONE_DELAY:-0}
    # Both ends bind first and send from the same moment, 3 s from now.
    t0=$(python3 -c 'import time; print(time.time() + 3)')
    if [ "$delay" != 0 ]; then
        lab_exec "$cns" python3 "$LAB_DIR/rtpcheck.py" --bind "$cip:7000" --start-at "$t0" \
            --to "198.51.100.5:$aport" --tag I --expect-tag P --count "$n" \
            --start-after 0.5 --linger "$((3 + delay))" >"$work/caller-$tag.json" &
        r1=$!
        lab_exec phone python3 "$LAB_DIR/rtpcheck.py" --bind 192.0.2.20:7002 --start-at "$t0" \
            --to "192.0.2.10:$oport" --tag P --expect-tag I --count "$n" \
            --start-after "$delay.5" --linger 3 >"$work/phone-$tag.json" &
        r2=$!
        wait "$r1" "$r2"
        return
    fi
    lab_exec "$cns" python3 "$LAB_DIR/rtpcheck.py" --bind "$cip:7000" --start-at "$t0" \
        --to "198.51.100.5:$aport" --tag I --expect-tag P --count "$n" --linger 3 \
        >"$work/caller-$tag.json" &
    r1=$!
    lab_exec phone python3 "$LAB_DIR/rtpcheck.py" --bind 192.0.2.20:7002 --start-at "$t0" \
        --to "192.0.2.10:$oport" --tag P --expect-tag I --count "$n" --linger 3 \
        >"$work/phone-$tag.json" &
    r2=$!
    wait "$r1" "$r2"
}

# json FILE KEY: one field of an rtpcheck result.
json() { python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))[sys.argv[2]]; print(",".join(v) if isinstance(v, list) else v)' "$1" "$2"; }

# call_end TAG: wait for the agent (--hold ends it); print its media lines.
call_end() {
    wait "$agent_pid" 2>/dev/null
    grep '^media' "$work/agent-$1.out" | sed 's/^/   /'
}

# now: wall-clock seconds (the clock of the captures); elapsed T0 T1.
now() { python3 -c 'import time; print("%.3f" % time.time())'; }
elapsed() { python3 -c 'import sys; print("%.1f" % (float(sys.argv[2]) - float(sys.argv[1])))' "$1" "$2"; }

# agent_network_changed: SIGUSR1 to the agent in our own host namespace
# (it calls sipnat_ctx_network_changed), then wait for its "network
# changed 0" in $out (3 s).
agent_network_changed() {
    local pid
    for pid in $(ip netns pids "$(lab_ns host)"); do
        [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = sipnat-lab-agen ] && kill -USR1 "$pid"
    done
    wait_for '^network changed 0' "$out" 1 3 && ok "network changed: the agent told the library" ||
        bad "network changed: $(grep '^network' "$out")"
}

# wait_learned_registration KAM_LOG: the agent (output in $out) registered
# twice, the second time with the address the registrar's answer taught
# it; 1 (and the agent's log on stderr) otherwise.
wait_learned_registration() {
    if wait_for 'SIPNAT-LAB REGISTER' "$1" 2 10 && wait_for 'registered 200' "$out" 2 10; then
        ok "registered, then re-registered with the learned address"
        return 0
    fi
    bad "no learned registration"
    sed -n 1,40p "$work/agent.err" >&2
    return 1
}
