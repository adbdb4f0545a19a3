#!/bin/sh
# make check entry: the NAT lab smoke test with a symmetric NAT (exit 77 = skip
# without root or network namespaces; scripts/test.sh refuses skips as root).
exec bash "$(dirname "$0")/smoke.sh" --nat symmetric
