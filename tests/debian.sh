#!/bin/sh
# The Debian packages: build them from a scratch copy of the tree (never in
# the source directory) with `dpkg-buildpackage -us -uc -b`, check them
# with lintian at the warning level, unpack them into a scratch root with
# dpkg -x (nothing is installed on this machine), and build and run a
# program outside the tree with `pkg-config --cflags --libs libsipnat`
# pointed at that root. A whole extra build (about a minute): CI runs it
# from scripts/test.sh as its own step, not from make check.
#   tests/debian.sh [SOURCE_DIR]   (default: the tree this script is in)
set -u
top=$(cd "${1:-$(dirname "$0")/..}" && pwd)
CC=${CC:-cc}
pass=0 fail=0
ok() { echo "ok: $*"; pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
finish() {
    echo "debian: $pass passed, $fail failed"
    [ "$fail" -eq 0 ]
    exit
}

for tool in dpkg-buildpackage dh lintian dpkg-architecture pkg-config; do
    if ! command -v "$tool" >/dev/null 2>&1; then
        echo "debian: $tool missing: scripts/deps.sh test installs it"
        bad "tools"; finish
    fi
done
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The scratch copy: the tracked and untracked-but-not-ignored files of a
# git checkout (what a clean clone with these changes holds), else the
# whole directory without build trees (a release tarball).
mkdir "$tmp/src"
if git -C "$top" rev-parse --git-dir >/dev/null 2>&1; then
    (cd "$top" && git ls-files -co --exclude-standard -z | tar --null -T - -cf -) |
        tar -C "$tmp/src" -xf -
else
    (cd "$top" && tar --exclude='./build*' -cf - .) | tar -C "$tmp/src" -xf -
fi

if sh "$tmp/src/debian/gen-symbols.sh" --check; then
    ok "debian/libsipnat0.symbols lists every public function"
else
    bad "debian/libsipnat0.symbols out of date"
fi

if (cd "$tmp/src" && DEB_BUILD_OPTIONS="parallel=2 ${DEB_BUILD_OPTIONS:-}" \
        dpkg-buildpackage -us -uc -b) >"$tmp/build.log" 2>&1; then
    ok "dpkg-buildpackage -us -uc -b"
else
    tail -n 40 "$tmp/build.log"
    bad "dpkg-buildpackage -us -uc -b"; finish
fi
# The unit suites ran in the build, the NAT lab did not.
if grep -q '^PASS: tests/check_sdp' "$tmp/build.log" && ! grep -Eq '^(PASS|FAIL|SKIP|ERROR): tests/nat-lab' "$tmp/build.log"; then
    ok "dh_auto_test ran the unit suites and no NAT-lab test"
else
    bad "dh_auto_test: unit suites missing or NAT lab run"
fi

changes=$(ls "$tmp"/libsipnat_*.changes)
if lintian --fail-on warning "$changes" >"$tmp/lintian.log" 2>&1; then
    ok "lintian --fail-on warning: $(grep -c '^[EW]:' "$tmp/lintian.log") errors/warnings"
else
    cat "$tmp/lintian.log"; bad "lintian --fail-on warning"
fi

ma=$(dpkg-architecture -qDEB_HOST_MULTIARCH)
root=$tmp/root
for deb in libsipnat0 libsipnat-dev sipnat-phone; do
    f=$(ls "$tmp/${deb}_"*.deb 2>/dev/null | head -n 1)
    if [ -n "$f" ] && dpkg -x "$f" "$root"; then
        :
    else
        bad "package $deb missing"; finish
    fi
done

# Each package holds what it should.
contents() { dpkg -c "$(ls "$tmp/${1}_"*.deb | head -n 1)" >"$tmp/list" && awk '{ print $6 }' "$tmp/list"; }
want() {
    pkg=$1; shift
    missing=""
    for p in "$@"; do
        contents "$pkg" | grep "$p" >/dev/null || missing="$missing $p"
    done
    if [ -z "$missing" ]; then ok "$pkg holds $*"; else bad "$pkg lacks$missing"; fi
}
want libsipnat0 "usr/lib/$ma/libsipnat.so.0\$"
want libsipnat-dev "usr/include/sipnat/sipnat.h" "usr/lib/$ma/libsipnat.so\$" \
    "usr/lib/$ma/pkgconfig/libsipnat.pc" "man3/sipnat_anchor.3.gz"
want sipnat-phone "usr/bin/sipnat-phone" "man1/sipnat-phone.1.gz" "man5/sipnat.conf.5.gz"
if contents libsipnat-dev | grep '\.la$' >/dev/null || contents libsipnat0 | grep 'libsipnat.so$' >/dev/null; then
    bad "libtool archive or development link in the wrong package"
else
    ok "no .la; the .so link only in libsipnat-dev"
fi
dpkg-deb -e "$(ls "$tmp"/libsipnat0_*.deb)" "$tmp/ctrl"
if grep -q '^ sipnat_session_call@LIBSIPNAT_0 ' "$tmp/ctrl/symbols" 2>/dev/null; then
    ok "libsipnat0 ships its symbols file ($(grep -c '^ sipnat_' "$tmp/ctrl/symbols") functions)"
else
    bad "libsipnat0 has no symbols file"
fi
if dpkg-deb -f "$(ls "$tmp"/sipnat-phone_*.deb)" Depends | grep -q 'libsipnat0 (>= '; then
    ok "sipnat-phone depends on libsipnat0 (from the symbols file)"
else
    bad "sipnat-phone does not depend on libsipnat0"
fi

# A consumer built against the unpacked packages only.
export PKG_CONFIG_PATH="$root/usr/lib/$ma/pkgconfig"
export PKG_CONFIG_SYSROOT_DIR="$root"
if flags=$(pkg-config --cflags --libs libsipnat); then
    echo "pkg-config --cflags --libs libsipnat: $flags"
    case "$flags" in
    *"-I$root/usr/include"*"-L$root/usr/lib/$ma"*) ok "pkg-config points into the scratch root" ;;
    *) bad "pkg-config flags do not point into the scratch root" ;;
    esac
else
    bad "pkg-config --cflags --libs libsipnat"; flags=""
fi
# shellcheck disable=SC2086
if $CC -Wall -Wextra -Werror "$top/tests/consumer.c" -o "$tmp/consumer" $flags 2>"$tmp/err"; then
    ok "consumer compiled and linked against the packages"
else
    cat "$tmp/err"; bad "consumer compile"
fi
if [ -x "$tmp/consumer" ] && LD_LIBRARY_PATH="$root/usr/lib/$ma" "$tmp/consumer" &&
    [ "$(LD_LIBRARY_PATH="$root/usr/lib/$ma" ldd "$tmp/consumer" | sed -n 's/.*libsipnat.so.0 => \([^ ]*\).*/\1/p')" = \
      "$root/usr/lib/$ma/libsipnat.so.0" ]; then
    ok "consumer ran on the packaged libsipnat.so.0"
else
    bad "consumer run on the packaged library"
fi
if LD_LIBRARY_PATH="$root/usr/lib/$ma" "$root/usr/bin/sipnat-phone" --help 2>&1 | grep -q -- '--config'; then
    ok "the packaged sipnat-phone runs"
else
    bad "the packaged sipnat-phone does not run"
fi
finish
