#!/bin/sh
# The main demo, from a fresh clone on a fresh Debian machine: install what
# is missing, build, and send a SIP OPTIONS through libsipnat, driven from
# a plain epoll loop, to a real SIP peer (SIPp) on loopback.
# (The NAT softphone demo replaces this once sipnat-phone exists.)
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc 2>/dev/null || echo 2)
cd "$top"

sh scripts/deps.sh test
if [ ! -x build/demo/examples/sipnat-example-epoll ]; then
    echo "demo: building"
    mkdir -p m4
    autoreconf -fi >/dev/null
    mkdir -p build/demo
    (cd build/demo && "$top/configure" -q && make -s -j"$jobs") >/dev/null
fi

port=25060
while ss -Hlun "sport = :$port" 2>/dev/null | grep -q . && [ "$port" -lt 25160 ]; do
    port=$((port + 1))
done
log=$(mktemp)
sipp -sn uas -aa -i 127.0.0.1 -p "$port" -nostdin -timeout 30s >"$log" 2>&1 &
sipp_pid=$!
trap 'kill "$sipp_pid" 2>/dev/null; wait "$sipp_pid" 2>/dev/null; rm -f "$log"' EXIT
sleep 0.5

echo "demo: libsipnat $(sed -n 's/#define SIPNAT_VERSION "\(.*\)"/\1/p' build/demo/include/sipnat/version.h)" \
    "sends OPTIONS to a SIPp UAS at sip:demo@127.0.0.1:$port"
if out=$(timeout 15 build/demo/examples/sipnat-example-epoll "sip:demo@127.0.0.1:$port"); then
    echo "$out"
    echo "demo: verdict: OK, the peer answered through the host's epoll loop"
else
    echo "$out"
    echo "demo: verdict: FAILED"
    exit 1
fi
