#!/bin/sh
# Install the Debian packages libsipnat needs, those missing only.
#   scripts/deps.sh build   library and its build tools
#   scripts/deps.sh test    build + everything the test suite runs
# Runs apt-get as root (directly, or through sudo when available).
set -eu

build_pkgs="build-essential autoconf automake libtool pkg-config
  libsofia-sip-ua-dev libsofia-sip-ua-glib-dev libglib2.0-dev libsrtp2-dev check
  libsndfile1-dev
  libnice-dev"
# Event loops of the examples, peers of the tests, man page lint.
test_pkgs="$build_pkgs libuv1-dev libevent-dev sip-tester groff-base binutils
  iproute2 nftables conntrack tcpdump python3 procps psmisc kamailio openssl
  baresip-core
  coturn"

case "${1:-test}" in
build) want=$build_pkgs ;;
test) want=$test_pkgs ;;
*) echo "usage: $0 [build|test]" >&2; exit 2 ;;
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
