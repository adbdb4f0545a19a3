#!/bin/bash
# libsipnat - run each host event-loop example against a real SIP peer.
#
# For every example program (examples/sipnat-example-{epoll,uv,glib,libevent}
# in the build tree), start a SIPp UAS on 127.0.0.1 that answers OPTIONS
# with 200 (-aa), send it one OPTIONS through the example and require exit
# status 0 and exactly the line "response: 200 OK" on stdout; then the same
# over TCP (-t) against a SIPp listening on TCP.
#
# An example that was not built is a failure (CI installs every loop
# library), unless SIPNAT_ALLOW_MISSING_EXAMPLES=1. Without sipp the test
# fails: install Debian's sip-tester.
#
# Run by `make check` from the top build directory; by hand:
#   cd BUILDDIR && bash SRCDIR/tests/examples-sipp.sh
# Prints one line per case and ends with
#   examples-sipp: N passed, M failed
# Exit status 0 iff M is 0.
set -u

builddir=${top_builddir:-.}
examples="epoll uv glib libevent"
passed=0
failed=0

if ! command -v sipp >/dev/null 2>&1; then
    echo "examples-sipp: sipp not found: install Debian's sip-tester" \
        "(apt-get install sip-tester)"
    echo "examples-sipp: 0 passed, 1 failed"
    exit 1
fi
if ! command -v ss >/dev/null 2>&1; then
    echo "examples-sipp: ss not found: install Debian's iproute2"
    echo "examples-sipp: 0 passed, 1 failed"
    exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/examples-sipp.XXXXXX") || exit 1
sipp_pid=""

stop_sipp() {
    [ -n "$sipp_pid" ] || return 0
    kill "$sipp_pid" 2>/dev/null
    # SIPp exits within a second of SIGTERM; do not wait forever.
    for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
        kill -0 "$sipp_pid" 2>/dev/null || break
        sleep 0.2
    done
    kill -KILL "$sipp_pid" 2>/dev/null
    wait "$sipp_pid" 2>/dev/null
    sipp_pid=""
}

cleanup() {
    stop_sipp
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# start_sipp PROTO (u1 or t1): start a SIPp UAS on a free port of
# 20000-29999; sets sipp_pid and sipp_port, or returns 1.
start_sipp() {
    local proto=$1 flag=-u
    [ "$proto" = t1 ] && flag=-t
    for _ in $(seq 1 20); do
        sipp_port=$((20000 + RANDOM % 10000))
        # Taken already? (Another test may grab it in between: then SIPp
        # fails to bind, exits, and we try the next one.)
        if ss -Hln "$flag" "sport = :$sipp_port" | grep -q .; then
            continue
        fi
        # From $tmp, so any file SIPp writes lands there. -timeout: a
        # SIPp that outlived us would still go away by itself.
        (cd "$tmp" && exec sipp -sn uas -aa -i 127.0.0.1 -p "$sipp_port" \
            -t "$proto" -nostdin -timeout 120s) >"$tmp/sipp.log" 2>&1 &
        sipp_pid=$!
        # Ready once our SIPp holds the port.
        for _ in $(seq 1 50); do
            if ! kill -0 "$sipp_pid" 2>/dev/null; then
                break
            fi
            if ss -Hlnp "$flag" "sport = :$sipp_port" |
                grep -q "pid=$sipp_pid,"; then
                return 0
            fi
            sleep 0.1
        done
        stop_sipp
    done
    return 1
}

# run_case NAME PROTO EXAMPLE [OPTION...]: one OPTIONS through one example.
run_case() {
    local name=$1 proto=$2 prog=$builddir/examples/sipnat-example-$3 uri out rc
    shift 3

    if ! start_sipp "$proto"; then
        echo "FAIL: $name: cannot start SIPp"
        tail -n 5 "$tmp/sipp.log" 2>/dev/null | sed 's/^/    sipp: /'
        failed=$((failed + 1))
        return
    fi
    uri="sip:sipnat@127.0.0.1:$sipp_port"
    [ "$proto" = t1 ] && uri="$uri;transport=tcp"

    out=$(timeout 15 "$prog" -T 10 "$@" "$uri" 2>"$tmp/stderr")
    rc=$?
    stop_sipp

    if [ "$rc" -eq 0 ] && [ "$out" = "response: 200 OK" ]; then
        echo "ok: $name"
        passed=$((passed + 1))
    else
        [ "$rc" -eq 124 ] && rc="124 (killed by timeout 15)"
        echo "FAIL: $name: exit status $rc, stdout: '$out'"
        sed 's/^/    stderr: /' "$tmp/stderr"
        failed=$((failed + 1))
    fi
}

# built NAME CASE: is examples/sipnat-example-NAME there? If not, say
# how CASE counts.
built() {
    [ -x "$builddir/examples/sipnat-example-$1" ] && return 0
    if [ "${SIPNAT_ALLOW_MISSING_EXAMPLES:-0}" = 1 ]; then
        echo "skip: $2: examples/sipnat-example-$1 not built"
    else
        echo "FAIL: $2: examples/sipnat-example-$1 not built" \
            "(SIPNAT_ALLOW_MISSING_EXAMPLES=1 allows that)"
        failed=$((failed + 1))
    fi
    return 1
}

# UDP: one socket for the whole run. TCP: a connection comes and goes,
# so push mode sees fds added, changed (connecting: OUT) and removed.
for ex in $examples; do
    built "$ex" "$ex over UDP" && run_case "$ex over UDP" u1 "$ex"
    built "$ex" "$ex over TCP" && run_case "$ex over TCP" t1 "$ex" -t
done

echo "examples-sipp: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
