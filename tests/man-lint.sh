#!/bin/sh
# man-lint.sh - check the section-3 manual pages in man/.
#
# Run by "make check" (from the build directory) or by hand. Checks:
#   groff     every page that is not an alias formats with groff -man -ww
#             without a single warning, and is plain ASCII;
#   sections  it has .TH <NAME> 3 and the sections NAME, SYNOPSIS,
#             DESCRIPTION, RETURN VALUE, ERRORS, THREAD SAFETY, EXAMPLE,
#             SEE ALSO, in that order;
#   alias     every alias page is exactly one ".so man3/X.3" line naming an
#             existing page that is not itself an alias;
#   function  every function declared SIPNAT_API in include/sipnat/ has
#             man/<name>.3, and the page it leads to names it under NAME;
#   local.mk  man/local.mk lists exactly the pages in man/.
# Prints one line per check and a summary; exits 0 if all pass, 1 if any
# fails, 77 (skipped) without groff.

LC_ALL=C
export LC_ALL

# The script lives in tests/, the pages in man/, the headers in
# include/sipnat/. $0 points into the source tree even in a VPATH build;
# top_srcdir and srcdir (both set by make check) are fallbacks.
top=
for cand in "$(dirname "$0")/.." "${top_srcdir:-}" "${srcdir:-}" \
    "${srcdir:-.}/.."; do
    if [ -n "$cand" ] && [ -f "$cand/man/local.mk" ] &&
        [ -d "$cand/include/sipnat" ]; then
        top=$cand
        break
    fi
done
if [ -z "$top" ]; then
    echo "man-lint: cannot find the source tree (man/ and include/sipnat/)" >&2
    echo "man-lint: 0 passed, 1 failed"
    exit 1
fi
mandir=$top/man
incdir=$top/include/sipnat

if ! command -v groff >/dev/null 2>&1; then
    echo "man-lint: groff not found; skipped"
    exit 77
fi

passed=0
failed=0
tmp=${TMPDIR:-/tmp}/man-lint.$$
trap 'rm -f "$tmp"' EXIT
trap 'exit 1' HUP INT TERM

pass() {
    passed=$((passed + 1))
    echo "ok: $*"
}

fail() {
    failed=$((failed + 1))
    echo "FAIL: $*"
}

# An alias page is one that uses .so at all; it must then be nothing else.
is_alias() {
    grep -q '^\.so' "$1"
}

# The page a function's page leads to (itself when it is not an alias).
target_of() {
    if is_alias "$1"; then
        sed -n 's|^\.so man3/\(.*\)$|\1|p' "$1" | head -n 1
    else
        basename "$1"
    fi
}

# -- groff and sections: the real pages -----------------------------------
for page in "$mandir"/*.3; do
    [ -f "$page" ] || continue
    name=$(basename "$page")
    is_alias "$page" && continue

    # Any output on stderr is a warning or an error.
    if groff -man -ww -z "$page" >/dev/null 2>"$tmp" && [ ! -s "$tmp" ]; then
        if grep -n "$(printf '[^\t -~]')" "$page" >"$tmp"; then
            fail "groff $name: not plain ASCII:"
            sed 's/^/    /' "$tmp"
        else
            pass "groff $name"
        fi
    else
        fail "groff $name:"
        sed 's/^/    /' "$tmp"
    fi

    want_th=$(echo "${name%.3}" | tr '[:lower:]' '[:upper:]')
    got_th=$(sed -n 's/^\.TH  *\([^ ]*\)  *\([^ ]*\).*/\1 \2/p' "$page" |
        head -n 1)
    got=$(sed -n 's/^\.SH  *"\{0,1\}\([^"]*\)"\{0,1\} *$/\1/p' "$page" |
        tr '\n' '|')
    want='NAME|SYNOPSIS|DESCRIPTION|RETURN VALUE|ERRORS|THREAD SAFETY|EXAMPLE|SEE ALSO|'
    if [ "$got_th" != "$want_th 3" ]; then
        fail "sections $name: .TH is \"$got_th\", want \"$want_th 3\""
    elif [ "$got" != "$want" ]; then
        fail "sections $name: have $got want $want"
    else
        pass "sections $name"
    fi
done

# -- alias pages -----------------------------------------------------------
for page in "$mandir"/*.3; do
    [ -f "$page" ] || continue
    name=$(basename "$page")
    is_alias "$page" || continue

    lines=$(wc -l <"$page" | tr -d ' ')
    target=$(sed -n 's|^\.so man3/\([A-Za-z0-9_.-]*\.3\)$|\1|p' "$page")
    if [ "$lines" != 1 ] || [ -z "$target" ]; then
        fail "alias $name: must be exactly one line \".so man3/<page>.3\""
    elif [ ! -f "$mandir/$target" ]; then
        fail "alias $name: $target does not exist"
    elif is_alias "$mandir/$target"; then
        fail "alias $name: $target is itself an alias"
    else
        pass "alias $name -> $target"
    fi
done

# -- a page per SIPNAT_API function ------------------------------------------
# A declaration starts with SIPNAT_API on its line; the name is the last
# identifier before the first "(" (it may be on a following line).
functions=$(cat "$incdir"/*.h "$incdir"/*.h.in 2>/dev/null | awk '
    /^[ \t]*SIPNAT_API[ \t]/ { decl = ""; on = 1 }
    on {
        decl = decl " " $0
        if (index(decl, "(")) {
            sub(/\(.*/, "", decl)
            n = split(decl, w, /[^A-Za-z0-9_]+/)
            while (n > 0 && w[n] == "")
                n--
            print (n > 0 ? w[n] : "?")
            on = 0
        }
    }' | sort -u)

if [ -z "$functions" ]; then
    fail "function: no SIPNAT_API declaration found in $incdir"
fi
for fn in $functions; do
    case $fn in
    sipnat_*) ;;
    *)
        fail "function $fn: cannot parse this SIPNAT_API declaration"
        continue
        ;;
    esac
    page=$mandir/$fn.3
    if [ ! -f "$page" ]; then
        fail "function $fn: no man/$fn.3"
        continue
    fi
    target=$(target_of "$page")
    if [ -z "$target" ] || [ ! -f "$mandir/$target" ]; then
        fail "function $fn: man/$fn.3 leads nowhere"
        continue
    fi
    # The NAME section (up to the next .SH) must mention the function, so
    # that whatis/apropos find it.
    if sed -n '/^\.SH  *"\{0,1\}NAME/,/^\.SH/p' "$mandir/$target" |
        tr -s ', ' '[\n*]' | grep -qx "$fn"; then
        pass "function $fn -> $target"
    else
        fail "function $fn: not in the NAME section of $target"
    fi
done

# -- local.mk lists every page, and nothing else ---------------------------
listed=$(sed -e '/^[ \t]*#/d' \
    -n -e 's|.*\(man/[A-Za-z0-9_.-]*\.[0-9]\).*|\1|p' "$mandir/local.mk" | sort)
present=$(cd "$top" && for f in man/*.[0-9]; do
    [ -f "$f" ] && echo "$f"
done | sort)
if [ "$listed" = "$present" ]; then
    pass "local.mk lists the $(echo "$present" | wc -l | tr -d ' ') pages"
else
    fail "local.mk: listed pages differ from man/ (< listed, > present):"
    echo "$listed" >"$tmp"
    echo "$present" | diff "$tmp" - | grep '^[<>]' | sed 's/^/    /'
fi
if grep -q 'tests/man-lint\.sh' "$mandir/local.mk"; then
    pass "local.mk distributes tests/man-lint.sh"
else
    fail "local.mk: tests/man-lint.sh is not in EXTRA_DIST"
fi

echo "man-lint: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
