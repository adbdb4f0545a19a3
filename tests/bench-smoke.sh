#!/bin/sh
# The anchor benchmark's smoke mode: two streams for a second through the
# anchor (its ctx in pull mode, then in push mode) and the bare forwarder.
# Checks that it runs and relays; asserts no speed (unit tests never time
# anything).
set -u
top_builddir=${top_builddir:-.}
"$top_builddir/bench/anchor" --smoke || exit 1
exec "$top_builddir/bench/anchor" --smoke --push
