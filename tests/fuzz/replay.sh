#!/bin/sh
# make check: every harness of tests/fuzz replays its committed corpus and
# the crash inputs found so far (tests/fuzz/crashes/<harness>/), built
# with the ordinary compiler (under the sanitizers in CI's second build).
# The SIP harness answers where the messages say: as root it runs in a
# network namespace of its own (only loopback).
set -eu
src=${top_srcdir:-.}/tests/fuzz
bin=${top_builddir:-.}/tests/fuzz
fail=0
isolated() {
    if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null 2>&1; then
        unshare --net sh -c 'ip link set lo up && exec "$@"' sh "$@"
    else
        "$@"
    fi
}
for h in config sdp crypto anchor sip stun; do
    set -- "$src/corpus/$h"
    [ -d "$src/crashes/$h" ] && set -- "$@" "$src/crashes/$h"
    if [ "$h" = sip ]; then
        isolated "$bin/replay-$h" "$@" || { echo "replay: harness $h failed"; fail=1; }
    else
        "$bin/replay-$h" "$@" || { echo "replay: harness $h failed"; fail=1; }
    fi
done
exit $fail
