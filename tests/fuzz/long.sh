#!/bin/sh
# On demand: the fuzzing harnesses for hours, each in turn, at the lowest
# CPU priority, with a corpus that persists between runs.
#   tests/fuzz/long.sh [-b BUILDDIR] [-h HOURS] [-w WORKDIR] [harness...]
# HOURS per harness (default 2); WORKDIR (default build/fuzz-work under
# the source tree) keeps each harness's grown corpus, log and artifacts.
# New inputs worth keeping go to tests/fuzz/corpus/<harness>/ after a
# merge: <harness binary> -merge=1 tests/fuzz/corpus/<harness> WORKDIR/<harness>/corpus
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
hours=2
work=$top/build/fuzz-work
build=$top/build/fuzz
while getopts b:h:w: o; do
    case $o in
    b) build=$OPTARG ;;
    h) hours=$OPTARG ;;
    w) work=$OPTARG ;;
    *) sed -n '2,9p' "$0" >&2; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
secs=$(awk "BEGIN { printf \"%d\", $hours * 3600 }")
exec nice -n 19 sh "$top/tests/fuzz/run.sh" -b "$build" -t "$secs" -w "$work" "$@"
