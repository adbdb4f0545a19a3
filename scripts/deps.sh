#!/bin/sh
# Install the Debian packages libsipnat needs, those missing only.
#   scripts/deps.sh build   library and its build tools
#   scripts/deps.sh test    build + everything the test suite runs
#   scripts/deps.sh bench   build + the peers bench/ compares against
# Runs apt-get as root (directly, or through sudo when available).
set -eu

build_pkgs="build-essential autoconf automake libtool pkg-config
  libsofia-sip-ua-dev libsofia-sip-ua-glib-dev libglib2.0-dev libsrtp2-dev check
  libsndfile1-dev libopus-dev libspandsp-dev
  libssl-dev
  libnice-dev"
# -- names (RFC 3263 lookups): c-ares; the lab's DNS server --
build_pkgs="$build_pkgs libc-ares-dev"
dns_test_pkgs="dnsmasq-base"
# -- end names --
# Event loops of the examples, peers of the tests, man page lint.
test_pkgs="$build_pkgs libuv1-dev libevent-dev sip-tester groff-base binutils
  iproute2 nftables conntrack tcpdump python3 procps psmisc kamailio openssl
  baresip-core $dns_test_pkgs"
# Staying reachable: the NAT lab's no-leak check reads captures with dpkt;
# the TLS test's ITSP is Kamailio with its tls module.
test_pkgs="$test_pkgs python3-dpkt kamailio-tls-modules"
# -- bench: peers of the benchmarks (bench/anchor --peer rtpengine).
bench_pkgs="$build_pkgs rtpengine-daemon"
# -- end bench
# libFuzzer harnesses (tests/fuzz, make fuzz): clang and its runtime.
test_pkgs="$test_pkgs clang libclang-rt-14-dev"
# STUN in the NAT lab: coturn.
test_pkgs="$test_pkgs coturn"
# The Debian packaging and its checks (tests/debian.sh).
test_pkgs="$test_pkgs debhelper dh-autoreconf dpkg-dev fakeroot lintian"

case "${1:-test}" in
build) want=$build_pkgs ;;
test) want=$test_pkgs ;;
bench) want=$bench_pkgs ;;
*) echo "usage: $0 [build|test|bench]" >&2; exit 2 ;;
esac

missing=""
for p in $want; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
    as_root=""
elif command -v sudo >/dev/null 2>&1; then
    as_root="sudo"
else
    echo "deps: missing Debian packages:$missing" >&2
    echo "deps: run as root, or install them: apt-get install$missing" >&2
    exit 1
fi
echo "deps: installing$missing"
$as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
# shellcheck disable=SC2086
$as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing
