#!/bin/sh
# Install into a scratch DESTDIR and build a program outside the tree with
# nothing but `pkg-config --cflags --libs libsipnat`; then run it.
set -u
top_builddir=${top_builddir:-.}
CC=${CC:-cc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0

if ! make -s -C "$top_builddir" install DESTDIR="$tmp/root" >"$tmp/install.log" 2>&1; then
    cat "$tmp/install.log"
    echo "installed: 0 passed, 1 failed"
    exit 1
fi
pc=$(find "$tmp/root" -name libsipnat.pc | head -n 1)
libdir=$(dirname "$(dirname "$pc")")
export PKG_CONFIG_PATH="$(dirname "$pc")"
export PKG_CONFIG_SYSROOT_DIR="$tmp/root"
cat >"$tmp/outside.c" <<'C'
#include <sipnat/sipnat.h>
#include <stdio.h>
#include <string.h>

int main(void)
{
    sipnat_ctx *ctx;
    sipnat_transport_cfg *cfg;
    sipnat_transport *t;

    if (sipnat_version_num() != SIPNAT_VERSION_NUM ||
        strcmp(sipnat_version_string(), SIPNAT_VERSION) != 0)
        return 1;
    if (sipnat_ctx_new(&ctx) < 0 || sipnat_transport_cfg_new(&cfg) < 0 ||
        sipnat_transport_cfg_set_bind(cfg, "127.0.0.1", 0) < 0 ||
        sipnat_transport_new(&t, ctx, cfg) < 0)
        return 1;
    printf("libsipnat %s bound port %d\n", sipnat_version_string(),
           sipnat_transport_get_port(t));
    sipnat_transport_cfg_free(cfg);
    sipnat_transport_unref(t);
    sipnat_ctx_unref(ctx);
    return 0;
}
C
flags=$(pkg-config --cflags --libs libsipnat)
echo "pkg-config --cflags --libs libsipnat: $flags"
# shellcheck disable=SC2086
if $CC ${CFLAGS:-} -Wall -Wextra -Werror "$tmp/outside.c" -o "$tmp/outside" ${LDFLAGS:-} $flags 2>"$tmp/err"; then
    echo "ok: compiled and linked outside the tree"; pass=$((pass + 1))
else
    cat "$tmp/err"; echo "FAIL: compile outside the tree"; fail=$((fail + 1))
fi
if [ -x "$tmp/outside" ] && LD_LIBRARY_PATH="$libdir" "$tmp/outside"; then
    echo "ok: ran against the installed library"; pass=$((pass + 1))
else
    echo "FAIL: run against the installed library"; fail=$((fail + 1))
fi
echo "installed: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
