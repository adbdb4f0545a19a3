#!/bin/sh
# sipnat-phone --help and its man page list the same options.
set -u
phone=${top_builddir:-.}/examples/sipnat-phone
page=${top_srcdir:-.}/man/sipnat-phone.1
[ -x "$phone" ] || { echo "no $phone"; exit 1; }
help=$("$phone" --help | grep -oE -- '--[a-z][a-z-]*' | sort -u)
man=$(sed -n '/^\.SH OPTIONS/,/^\.SH COMMANDS/p' "$page" | grep -E '^\.B' |
      grep -oE '\\-\\-[a-z\\-]*' | sed 's/\\//g' | sort -u)
if [ "$help" = "$man" ]; then
    echo "ok - --help and sipnat-phone(1) list the same $(echo "$help" | wc -l) options"
    exit 0
fi
echo "FAIL - options differ (< --help, > man page):"
printf '%s\n' "$help" >/tmp/phone-help.$$; printf '%s\n' "$man" | diff /tmp/phone-help.$$ - ; rm -f /tmp/phone-help.$$
exit 1
