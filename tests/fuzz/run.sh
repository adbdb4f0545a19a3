#!/bin/sh
# Run the libFuzzer harnesses of tests/fuzz, one after the other, each for
# a fixed time, starting from the committed corpus.
#   tests/fuzz/run.sh [-b BUILDDIR] [-t SECONDS] [-n RUNS] [-w WORKDIR] [harness...]
# BUILDDIR: a build configured with --enable-fuzz CC=clang where "make
# fuzz" ran (default: build/fuzz under the source tree). SECONDS per
# harness (default 30); RUNS: stop a harness after that many inputs
# (default: no limit but the time). WORKDIR keeps the grown corpora and any crash
# (default: a temporary directory, removed when nothing crashed).
# Harnesses: config sdp crypto anchor sip stun (default: all). The SIP harness
# runs in a network namespace of its own: as root with unshare --net,
# otherwise with unshare --net --map-root-user, else it is refused (its
# answers go wherever a mutated Via or Contact says).
# Prints one line per harness (execs, exec/s, cov, ft) and exits 1 if any
# harness crashed, leaked or timed out; the input is kept in WORKDIR.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
build=$top/build/fuzz
secs=30
runs=-1
work=""
while getopts b:n:t:w: o; do
    case $o in
    b) build=$(cd "$OPTARG" && pwd) ;;
    t) secs=$OPTARG ;;
    n) runs=$OPTARG ;;
    w) work=$OPTARG ;;
    *) sed -n '2,18p' "$0" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[ $# -gt 0 ] || set -- config sdp crypto anchor sip stun
keep=1
if [ -z "$work" ]; then
    work=$(mktemp -d "${TMPDIR:-/tmp}/sipnat-fuzz.XXXXXX")
    keep=0
fi
mkdir -p "$work"

isolated() {
    if [ "$(id -u)" -eq 0 ]; then
        unshare --net sh -c 'ip link set lo up && exec "$@"' sh "$@"
    elif unshare --net --map-root-user true 2>/dev/null; then
        unshare --net --map-root-user sh -c 'ip link set lo up && exec "$@"' sh "$@"
    else
        echo "run.sh: the SIP harness needs a network namespace (root or unshare -r)" >&2
        return 1
    fi
}

# The anchor harness keeps its anchors for this many inputs (fuzz-anchor.c).
FUZZ_ANCHOR_INPUTS=${FUZZ_ANCHOR_INPUTS:-64}
export FUZZ_ANCHOR_INPUTS
failed=0
for h in "$@"; do
    bin=$build/tests/fuzz/fuzz-$h
    [ -x "$bin" ] || { echo "run.sh: $bin missing: configure --enable-fuzz CC=clang; make fuzz" >&2; exit 2; }
    mkdir -p "$work/$h/corpus" "$work/$h/artifacts"
    cp -n "$top/tests/fuzz/corpus/$h"/* "$work/$h/corpus/" 2>/dev/null || true
    # The anchor and SIP harnesses keep state between inputs (anchors,
    # transactions), so the heap differs after most inputs by design:
    # libFuzzer's per-input leak check would scan it every time. Leaks
    # still show at exit, and in the replays under LSan (make check).
    leaks=1
    case $h in anchor | sip) leaks=0 ;; esac
    set -- "$bin" -max_total_time="$secs" -runs="$runs" -timeout=30 -rss_limit_mb=2048 \
        -max_len=8192 -detect_leaks=$leaks -print_final_stats=1 \
        -artifact_prefix="$work/$h/artifacts/" "$work/$h/corpus"
    log=$work/$h/log
    rc=0
    if [ "$h" = sip ]; then
        ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} isolated "$@" >"$log" 2>&1 || rc=$?
    else
        ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} "$@" >"$log" 2>&1 || rc=$?
    fi
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
    cov=$(grep -Eo 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -n 1)
    printf '%-7s execs %s exec/s %s %s rc %d\n' "$h" "${execs:-?}" "${rate:-?}" "${cov:-?}" "$rc"
    if [ "$rc" -ne 0 ]; then
        failed=1
        keep=1
        grep -E 'ERROR|SUMMARY|Test unit written' "$log" | head -n 5
    fi
done
if [ "$keep" -eq 1 ]; then
    echo "run.sh: corpora, logs and artifacts in $work"
else
    rm -rf "$work"
fi
exit $failed
