#!/bin/bash
# sipnat-phone --check-config: the seed's pjsip.conf (passwords filled in)
# loads and prints the objects it describes; each malformed file of
# tests/config/bad fails with exit status 1 and messages naming file:line
# (the lines each file expects are asserted by tests/check_config).
set -u
top=$(cd "${top_srcdir:-.}" && pwd)
phone=$(cd "${top_builddir:-.}" && pwd)/examples/sipnat-phone
out=$(mktemp)
trap 'rm -f "$out" "$out.err"' EXIT
pass=0 fail=0

if "$phone" --config "$top/tests/config/good/seed.conf" --check-config >"$out" 2>"$out.err"; then
    missing=""
    for want in "local_net=192.0.2.0/24" "local_net=127.0.0.1/32" \
        "external_media_address=198.51.100.5" "external_signaling_address=198.51.100.5" \
        "server_uri=sip:gw1.example.com" "client_uri=sip:1112223333@gw1.example.com" \
        "retry_interval=60" "match=203.0.113.1" "match=203.0.113.2" "max_contacts=2" \
        "direct_media=no" "allow=ulaw"; do
        grep -qxF "$want" "$out" || missing="$missing $want"
    done
    [ "$(grep -c '^\[6001\]' "$out")" -eq 3 ] || missing="$missing [6001]x3"
    if [ -z "$missing" ]; then
        echo "ok - the seed passes --check-config; its dump shows every option of the seed"; pass=$((pass + 1))
    else
        echo "FAIL - the seed's dump lacks:$missing"; fail=$((fail + 1))
    fi
else
    echo "FAIL - the seed does not pass --check-config: $(cat "$out.err")"; fail=$((fail + 1))
fi

n=0 bad=0
for f in "$top"/tests/config/bad/*.conf; do
    n=$((n + 1))
    "$phone" --config "$f" --check-config >/dev/null 2>"$out.err"
    rc=$?
    base=$(basename "$f")
    if [ "$rc" -ne 1 ] || ! grep -qE "(^|/)[A-Za-z0-9_.-]+\.(conf|inc):[0-9]+: error: " "$out.err"; then
        echo "FAIL - $base: exit $rc, $(head -2 "$out.err" | tr '\n' ' ')"; bad=$((bad + 1))
    fi
done
if [ "$bad" -eq 0 ] && [ "$n" -ge 30 ]; then
    echo "ok - $n malformed files: each exits 1 with errors naming file:line"; pass=$((pass + 1))
else
    echo "FAIL - $bad of $n malformed files misreported"; fail=$((fail + 1))
fi
echo "phone-config: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
