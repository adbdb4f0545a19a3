#!/bin/sh
# The anchor benchmark's smoke mode: two streams for a second through the
# anchor and the bare forwarder. Checks that it runs and relays; asserts
# no speed (unit tests never time anything).
set -u
top_builddir=${top_builddir:-.}
exec "$top_builddir/bench/anchor" --smoke
