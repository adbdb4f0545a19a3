#!/bin/sh
# The house: dependencies run one way (doc/layers.md). Reads the symbols
# of every built object of each layer (nm) and the #include lines of its
# sources, and fails when a layer calls a function, or includes a header,
# of a layer it may not use.
#
# The allowed directions, written once. A layer is a folder: lib/<name>/
# or examples/. "public" means the public API only (sipnat_* functions,
# <sipnat/...> headers) of whichever layer defines it.
ALLOWED='
core      -
nat       core
media     core nat
dns       core nat
stun      core nat
ice       core nat stun
sip       core nat media dns stun ice other
config    public
examples  public
other     core nat
'
# "other" stands for any further lib/<name>/ folder (a new subsystem):
# beside lib/media, below lib/sip, never calling up. ICE is built on
# STUN's messages: lib/ice may use lib/stun, never the other way.
#
# Outside libraries, by file (shell patterns on the path below the top):
#   sofia-sip  only in lib/sip/
#   GLib       only in lib/sip/stack.c
#   libsrtp2   only in lib/media/srtp*
#   libopus    only in lib/media/codec_opus.c
#   spandsp    only in lib/media/codec_g722.c
#   libnice    only in lib/stun/message.c (its <stun/...> headers)
set -u
top_srcdir=${top_srcdir:-$(dirname "$0")/..}
top_builddir=${top_builddir:-.}
pass=0 fail=0
ok() { echo "ok: $*"; pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }

# may LAYER TARGET: can code of LAYER call or include TARGET (a layer)?
may() {
    rule=$(printf '%s\n' "$ALLOWED" | awk -v l="$1" '$1 == l { $1 = ""; print; f = 1 }
        END { if (!f) print "-unknown-" }')
    [ "$rule" = " -unknown-" ] || [ "$rule" = "-unknown-" ] &&
        rule=$(printf '%s\n' "$ALLOWED" | awk '$1 == "other" { $1 = ""; print }')
    for t in $rule; do
        [ "$t" = "$2" ] && return 0
        [ "$t" = other ] && [ "$2" != public ] &&
            ! printf '%s\n' "$ALLOWED" | awk '{ print $1 }' | grep -qx "$2" && return 0
    done
    return 1
}

# -- functions: nm on the objects -----------------------------------------
# "layer object" lines: the library's objects (PIC and not) and examples'.
objs=$(mktemp) syms=$(mktemp) calls=$(mktemp)
trap 'rm -f "$objs" "$syms" "$calls"' EXIT
# (Objects of lib/ sources built into test programs or benches are left
# out: the same code, compiled again.)
find "$top_builddir/lib" -name '*.o' ! -name 'tests_*' ! -name 'bench_*' 2>/dev/null | sort |
    sed -n 's|^.*/lib/\([^/]*\)/\(.libs/\)\{0,1\}[^/]*\.o$|\1 &|p' >"$objs"
find "$top_builddir/examples" -name '*.o' 2>/dev/null | sort | sed 's|^|examples |' >>"$objs"
for l in core nat media sip config examples; do
    if grep -q "^$l " "$objs"; then :; else bad "no built objects for $l (build first)"; fi
done

# Defined: "symbol layer", first definition wins.
while read -r layer obj; do
    nm -g --defined-only "$obj" | awk -v l="$layer" 'NF == 3 && $2 ~ /[TDBRCW]/ { print $3, l }'
done <"$objs" | sort -u -k1,1 >"$syms"
# Called: "layer object symbol" for every undefined symbol another layer defines.
while read -r layer obj; do
    nm -u "$obj" | awk -v l="$layer" -v o="$obj" '{ print l, o, $NF }'
done <"$objs" | sed 's|/\.libs/|/|' | sort -u >"$calls.all"
awk 'NR == FNR { def[$1] = $2; next } ($3 in def) && def[$3] != $1 { print $1, $2, $3, def[$3] }' \
    "$syms" "$calls.all" >"$calls"
rm -f "$calls.all"

checked=0 forbidden=0
while read -r layer obj sym target; do
    checked=$((checked + 1))
    src=$(basename "$obj" .o | sed 's/^[a-z_]*-//')
    if may "$layer" public && case $sym in sipnat_*) true ;; *) false ;; esac; then
        continue
    fi
    if ! may "$layer" "$target"; then
        bad "$layer ($src.c) calls $sym, defined in $target"
        forbidden=$((forbidden + 1))
    fi
done <"$calls"
[ "$forbidden" -eq 0 ] && ok "$checked calls between layers, all in allowed directions"
[ "$checked" -gt 0 ] || bad "no call between layers found: the objects were not read"

# -- headers: #include lines of the sources --------------------------------
inc_bad=0 n_src=0
for f in $(cd "$top_srcdir" && find lib examples -name '*.[ch]' | sort); do
    n_src=$((n_src + 1))
    case $f in
    lib/*) layer=$(echo "$f" | cut -d/ -f2) ;;
    *) layer=examples ;;
    esac
    incs=$(sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*\([<"][^>"]*[>"]\).*/\1/p' \
        "$top_srcdir/$f")
    for i in $incs; do
        name=$(echo "$i" | tr -d '<>"')
        case $i in
        "<stun/"* | "<nice/"* | "<nice.h>" | "<agent.h>")
            case $f in lib/stun/message.c) ;; lib/*) bad "$f includes $i: libnice only in lib/stun/message.c"
                inc_bad=$((inc_bad + 1)) ;; esac
            continue ;;
        esac
        case $name in
        sofia-sip/su_glib.h | glib.h | glib/* | gio/* | gobject/*)
            [ "$f" = lib/sip/stack.c ] || case $f in lib/*) bad "$f includes $i: GLib only in lib/sip/stack.c"
                inc_bad=$((inc_bad + 1)) ;; esac ;;
        sofia-sip/*)
            case $f in lib/sip/*) ;; lib/*) bad "$f includes $i: sofia-sip only in lib/sip/"
                inc_bad=$((inc_bad + 1)) ;; esac ;;
        srtp2/* | srtp.h)
            case $f in lib/media/srtp*) ;; lib/*) bad "$f includes $i: libsrtp2 only in lib/media/srtp*"
                inc_bad=$((inc_bad + 1)) ;; esac ;;
        opus.h | opus/*)
            case $f in lib/media/codec_opus.c) ;; lib/*) bad "$f includes $i: libopus only in lib/media/codec_opus.c"
                inc_bad=$((inc_bad + 1)) ;; esac ;;
        spandsp.h | spandsp/*)
            case $f in lib/media/codec_g722.c) ;; lib/*) bad "$f includes $i: spandsp only in lib/media/codec_g722.c"
                inc_bad=$((inc_bad + 1)) ;; esac ;;
        sipnat/*) ;;
        */*)
            # An internal header of a layer: "core/addr.h", "sip/sofia.h".
            target=${name%%/*}
            [ -d "$top_srcdir/lib/$target" ] || continue
            [ "$target" = "$layer" ] && continue
            if may "$layer" public || ! may "$layer" "$target"; then
                bad "$f includes $i: $layer may not use $target"
                inc_bad=$((inc_bad + 1))
            fi ;;
        esac
    done
done
[ "$inc_bad" -eq 0 ] && ok "$n_src sources include only what their layer may use"

echo "layers: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
