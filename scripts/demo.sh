#!/bin/sh
# The main demo, from a fresh clone on a fresh Debian machine: install what
# is missing, build, and run the seed scenario (Asterisk's NAT example)
# with sipnat-phone in Asterisk's place, in network namespaces: see
# scripts/demo-nat.sh. Without root (namespaces need it) it says why and
# runs a loopback-only demo instead: sipnat-phone calls a SIPp echo and
# checks that the tone it sent comes back.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc 2>/dev/null || echo 2)
cd "$top"

sh scripts/deps.sh test
if [ ! -x build/demo/examples/sipnat-phone ]; then
    echo "demo: building"
    mkdir -p m4
    autoreconf -fi >/dev/null
    mkdir -p build/demo
    (cd build/demo && "$top/configure" -q && make -s -j"$jobs") >/dev/null
fi

if [ "$(id -u)" -eq 0 ] && command -v ip >/dev/null && command -v nft >/dev/null; then
    exec bash scripts/demo-nat.sh build/demo
fi

echo "demo: not root: network namespaces (the NAT lab) need root, so this is"
echo "demo: the loopback demo: sipnat-phone calls a SIPp echo with a 440 Hz tone"
work=$(mktemp -d)
sipp -sn uas -i 127.0.0.1 -p 45080 -mi 127.0.0.1 -mp 45090 -rtp_echo -m 1 -nostdin \
    >/dev/null 2>&1 &
sipp_pid=$!
trap 'kill "$sipp_pid" 2>/dev/null; rm -rf "$work"' EXIT
sleep 0.5
build/demo/examples/sipnat-phone --config tests/phone/loopback.conf --endpoint echo \
    --dial sip:echo@127.0.0.1:45080 --tone 440 --duration 3 --record "$work/echo.wav" </dev/null
if python3 tests/phone/audio-check.py tone 440 "$work/echo.wav"; then
    echo "demo: verdict: OK, the tone went out through the anchor and came back"
else
    echo "demo: verdict: FAILED"
    exit 1
fi
