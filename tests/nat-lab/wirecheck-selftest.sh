#!/bin/sh
# make check entry: the NAT lab's no-leak checker (wirecheck.py) judges
# captures it builds itself, with and without leaks, so a lab test's
# "no leak" can be believed. Needs python3 with dpkt (python3-dpkt).
here=$(dirname "$0")
for py in python3 /usr/bin/python3; do
    if "$py" -c 'import dpkt' 2>/dev/null; then
        exec "$py" "$here/wirecheck.py" --self-test
    fi
done
echo "wirecheck-selftest: python3 module dpkt is missing (Debian package python3-dpkt)"
exit 1
