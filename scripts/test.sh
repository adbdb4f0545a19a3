#!/bin/sh
# The whole test suite, from a fresh clone on a fresh Debian machine:
#   1. install what is missing (scripts/deps.sh test)
#   2. build with -Wall -Wextra -Werror and run `make check`
#   3. build again with AddressSanitizer + UndefinedBehaviorSanitizer and
#      run `make check` there
#   4. the soak (tests/soak.sh, 3 minutes) in the sanitizer build
#   5. the libFuzzer harnesses, 30 s each (build/fuzz, clang)
#   6. `make distcheck` (the release tarball builds and passes its tests
#      that need no NAT lab on its own; every source file is in it)
#   7. the Debian packages build, pass lintian, and a program builds against
#      them (tests/debian.sh)
# Build trees go to build/ under the source tree. Exit status 0 iff all
# steps pass; the last line says which passed.
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc 2>/dev/null || echo 2)
cd "$top"

sh scripts/deps.sh test

step() { printf '\n=== %s\n' "$*"; }
# As root every test can run (namespaces, peers): a skip there hides a
# missing step, so it fails the run.
no_skips() {
    if [ "$(id -u)" -eq 0 ] && grep -Eq '^# SKIP: +[1-9]' "$1"; then
        grep -E '^SKIP:' "$1"
        echo "test.sh: tests skipped although running as root ($1)"
        exit 1
    fi
}

step "autoreconf"
mkdir -p m4
autoreconf -fi >/dev/null

step "build and make check (-Werror)"
mkdir -p build/plain
(cd build/plain && "$top/configure" -q --enable-werror && make -s -j"$jobs" &&
    make -s check -j"$jobs") || { tail -n 60 build/plain/test-suite.log 2>/dev/null; exit 1; }
grep -E '^# (TOTAL|PASS|FAIL|SKIP|ERROR)' build/plain/test-suite.log || true
grep -E 'Checks: [0-9]+' build/plain/tests/check_sipnat.log build/plain/tests/check_internal.log || true
no_skips build/plain/test-suite.log

step "make check under ASan + UBSan"
san="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
mkdir -p build/sanitize
(cd build/sanitize &&
    "$top/configure" -q --enable-werror CFLAGS="-g -O1 $san" LDFLAGS="$san" &&
    make -s -j"$jobs" &&
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
        LSAN_OPTIONS=suppressions="$top/tests/lsan.supp":print_suppressions=0 \
        make -s check -j"$jobs") || { tail -n 60 build/sanitize/test-suite.log 2>/dev/null; exit 1; }
grep -E 'Checks: [0-9]+' build/sanitize/tests/check_sipnat.log build/sanitize/tests/check_internal.log || true
no_skips build/sanitize/test-suite.log

step "soak under ASan + UBSan: 100 calls with RTP and churn, 3 minutes (tests/soak.sh)"
(cd build/sanitize && make -s bench/soak &&
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
        LSAN_OPTIONS=suppressions="$top/tests/lsan.supp":print_suppressions=0 \
        top_builddir=. sh "$top/tests/soak.sh") || exit 1

step "fuzzing smoke: each libFuzzer harness for 30 s (tests/fuzz/run.sh)"
mkdir -p build/fuzz
(cd build/fuzz && "$top/configure" -q --enable-werror --enable-fuzz CC=clang &&
    make -s -j"$jobs" fuzz) || exit 1
sh tests/fuzz/run.sh -b build/fuzz -t 30 || exit 1

step "make distcheck (the tests without the NAT lab; the lab's files checked in the tarball)"
# The lab ran twice above from these very sources; what distcheck adds
# is that the tarball builds and is complete.
unit_tests=$(cd build/plain && make -s print-unit-tests | tr '\n' ' ')
(cd build/plain && make -s distcheck -j"$jobs" TESTS="$unit_tests" >distcheck.log 2>&1) ||
    { tail -n 60 build/plain/distcheck.log; exit 1; }
grep -E 'archives ready|^libsipnat-' build/plain/distcheck.log | head -n 3 || true
sh tests/dist-files.sh . build/plain/libsipnat-*.tar.gz

step "Debian packages (tests/debian.sh)"
sh tests/debian.sh

step "result"
echo "test.sh: 7 passed, 0 failed"
