/* libsipnat fuzzing - the a=crypto attribute (lib/media/crypto_attr.c):
 * the value of an a=crypto line, whole, and split as the SDP codec hands
 * it over (tag, suite, parameters). A key that parses prints back to a
 * value that parses to the same key. */
#include "media/crypto_attr.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int r, const sn_crypto_key *k)
{
    char buf[SN_CRYPTO_ATTR_MAX];
    sn_crypto_key again;
    int n;

    if (r == -EINVAL || r == -ENOTSUP)
        return;
    if (r != 0)
        abort();
    if (k->suite == SN_SRTP_NONE || k->key_len != sn_srtp_suite_key_len(k->suite))
        abort();
    n = sn_crypto_format_attr(k, buf, sizeof buf);
    if (n <= 0 || (size_t)n >= sizeof buf)
        abort();
    if (sn_crypto_parse_attr(buf, &again) != 0 || again.tag != k->tag ||
        again.suite != k->suite || again.key_len != k->key_len ||
        memcmp(again.key, k->key, k->key_len) != 0) {
        fprintf(stderr, "printed a=crypto does not parse back: %s\n", buf);
        abort();
    }
    sn_crypto_key_clear(&again);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char text[1024];
    sn_crypto_key k;
    char *suite, *params;

    if (size >= sizeof text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    check(sn_crypto_parse_attr(text, &k), &k);

    /* "<tag> <suite> <params>" split at the first two spaces. */
    suite = strchr(text, ' ');
    if (!suite)
        return 0;
    *suite++ = '\0';
    params = strchr(suite, ' ');
    if (!params)
        return 0;
    *params++ = '\0';
    /* The SDP codec hands over tags of 1 to 9 digits (RFC 4568). */
    unsigned long tag = strtoul(text, NULL, 10);
    if (tag <= 999999999)
        check(sn_crypto_parse((uint32_t)tag, suite, params, &k), &k);
    (void)sn_srtp_suite_from_name(suite);
    return 0;
}
