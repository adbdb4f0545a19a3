/*
 * libsipnat - RFC 4568 a=crypto key parameters (see crypto_attr.h).
 */
#include "media/crypto_attr.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static const struct {
    const char *name;
    size_t key_len;
} suites[SN_SRTP_SUITES + 1] = {
    [SN_SRTP_NONE] = {"", 0},
    [SN_SRTP_AES_CM_128_HMAC_SHA1_80] = {"AES_CM_128_HMAC_SHA1_80", 30},
    [SN_SRTP_AES_CM_128_HMAC_SHA1_32] = {"AES_CM_128_HMAC_SHA1_32", 30},
    [SN_SRTP_AEAD_AES_128_GCM] = {"AEAD_AES_128_GCM", 28},
    [SN_SRTP_AEAD_AES_256_GCM] = {"AEAD_AES_256_GCM", 44},
};

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

const char *sn_srtp_suite_name(sn_srtp_suite suite)
{
    return (unsigned)suite <= SN_SRTP_SUITES ? suites[suite].name : "";
}

sn_srtp_suite sn_srtp_suite_from_name(const char *name)
{
    for (unsigned i = 1; name && i <= SN_SRTP_SUITES; i++)
        if (strcmp(name, suites[i].name) == 0)
            return (sn_srtp_suite)i;
    return SN_SRTP_NONE;
}

size_t sn_srtp_suite_key_len(sn_srtp_suite suite)
{
    return (unsigned)suite <= SN_SRTP_SUITES ? suites[suite].key_len : 0;
}

static int b64_value(char c)
{
    const char *p = c ? strchr(b64, c) : NULL;
    return p ? (int)(p - b64) : -1;
}

/* Strict base64 of exactly `want` bytes: the padded length, '=' only at
 * the end, unused bits zero. */
static int b64_decode(const char *s, size_t n, uint8_t *out, size_t want)
{
    size_t pad = want % 3 ? 3 - want % 3 : 0;
    size_t o = 0;
    uint32_t acc = 0;

    if (n != (want + 2) / 3 * 4)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        int v = b64_value(s[i]);
        if (i >= n - pad) {
            if (s[i] != '=')
                return -EINVAL;
            v = 0;
        } else if (v < 0) {
            return -EINVAL;
        }
        acc = acc << 6 | (uint32_t)v;
        if (i % 4 == 3) {
            uint8_t b[3] = {(uint8_t)(acc >> 16), (uint8_t)(acc >> 8), (uint8_t)acc};
            for (int k = 0; k < 3; k++) {
                if (o < want)
                    out[o] = b[k];
                else if (b[k])
                    return -EINVAL;
                o++;
            }
            acc = 0;
        }
    }
    return 0;
}

static size_t b64_encode(const uint8_t *in, size_t n, char *out)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < n)
            v |= in[i + 2];
        out[o++] = b64[v >> 18 & 63];
        out[o++] = b64[v >> 12 & 63];
        out[o++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? b64[v & 63] : '=';
    }
    out[o] = '\0';
    return o;
}

/* "2^N" or a decimal, 1..2^48. */
static int parse_lifetime(const char *s, size_t n)
{
    char buf[24], *end;
    unsigned long long v;

    if (n == 0 || n >= sizeof buf)
        return -EINVAL;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (n > 2 && buf[0] == '2' && buf[1] == '^') {
        if (buf[2] < '0' || buf[2] > '9')
            return -EINVAL;
        errno = 0;
        v = strtoull(buf + 2, &end, 10);
        return *end || errno || v > 48 ? -EINVAL : 0;
    }
    if (buf[0] < '1' || buf[0] > '9')
        return -EINVAL;
    errno = 0;
    v = strtoull(buf, &end, 10);
    return *end || errno || v > (1ULL << 48) ? -EINVAL : 0;
}

/* One key parameter: "inline:<key>[|lifetime]"; an MKI is refused. */
static int parse_key_param(const char *s, size_t n, sn_crypto_key *out)
{
    static const char method[] = "inline:";
    const char *key, *bar, *end = s + n;
    size_t m = sizeof method - 1;
    int r;

    if (n < m || strncmp(s, method, m) != 0)
        return memchr(s, ':', n) ? -ENOTSUP : -EINVAL;
    key = s + m;
    bar = memchr(key, '|', (size_t)(end - key));
    r = b64_decode(key, (size_t)((bar ? bar : end) - key), out->key, out->key_len);
    if (r < 0 || !bar)
        return r;
    /* After the key: a lifetime, an MKI (a ':' in it), or both. */
    const char *f1 = bar + 1;
    const char *bar2 = memchr(f1, '|', (size_t)(end - f1));
    size_t n1 = (size_t)((bar2 ? bar2 : end) - f1);

    if (memchr(f1, ':', n1))
        return -ENOTSUP; /* MKI */
    r = parse_lifetime(f1, n1);
    if (r < 0)
        return r;
    if (!bar2)
        return 0;
    /* lifetime|MKI:length: well-formed is refused, the rest malformed. */
    const char *f2 = bar2 + 1;
    const char *colon = memchr(f2, ':', (size_t)(end - f2));
    if (!colon || colon == f2 || colon + 1 == end || memchr(f2, '|', (size_t)(end - f2)))
        return -EINVAL;
    for (const char *c = f2; c < end; c++)
        if (c != colon && (*c < '0' || *c > '9'))
            return -EINVAL;
    return -ENOTSUP;
}

/* Session parameters after the key parameters: only WSH=<number>. */
static int parse_session_params(const char *s)
{
    while (*s) {
        size_t n = strcspn(s, " \t");
        if (n == 0) {
            s++;
            continue;
        }
        if (n > 4 && strncmp(s, "WSH=", 4) == 0) {
            for (size_t i = 4; i < n; i++)
                if (s[i] < '0' || s[i] > '9')
                    return -EINVAL;
        } else {
            return -ENOTSUP;
        }
        s += n;
    }
    return 0;
}

int sn_crypto_parse(uint32_t tag, const char *suite, const char *params, sn_crypto_key *out)
{
    sn_crypto_key k = {.tag = tag};
    size_t n;
    int r;

    if (!suite || !params || !out)
        return -EINVAL;
    k.suite = sn_srtp_suite_from_name(suite);
    if (k.suite == SN_SRTP_NONE)
        return -ENOTSUP;
    k.key_len = sn_srtp_suite_key_len(k.suite);
    params += strspn(params, " \t");
    n = strcspn(params, " \t");
    if (n == 0)
        return -EINVAL;
    /* Several key parameters are for MKI-based rekeying only. */
    if (memchr(params, ';', n))
        return -ENOTSUP;
    r = parse_key_param(params, n, &k);
    if (r == 0)
        r = parse_session_params(params + n);
    if (r == 0)
        *out = k;
    return r;
}

int sn_crypto_parse_attr(const char *value, sn_crypto_key *out)
{
    char suite[32];
    unsigned long tag;
    const char *p = value;
    char *end;
    size_t n;

    if (!value || !out)
        return -EINVAL;
    if (*p < '0' || *p > '9')
        return -EINVAL;
    errno = 0;
    tag = strtoul(p, &end, 10);
    /* RFC 4568 9.1: tag = 1*9DIGIT */
    if (errno || end - p > 9 || (*end != ' ' && *end != '\t'))
        return -EINVAL;
    p = end + strspn(end, " \t");
    n = strcspn(p, " \t");
    if (n == 0 || n >= sizeof suite)
        return n ? -ENOTSUP : -EINVAL;
    memcpy(suite, p, n);
    suite[n] = '\0';
    return sn_crypto_parse((uint32_t)tag, suite, p + n, out);
}

int sn_crypto_format_params(const sn_crypto_key *k, char *buf, size_t size)
{
    char enc[(SN_SRTP_KEY_MAX + 2) / 3 * 4 + 1];
    size_t n;

    if (!k || k->key_len == 0 || k->key_len > SN_SRTP_KEY_MAX)
        return -EINVAL;
    n = b64_encode(k->key, k->key_len, enc);
    if (!buf || size < n + sizeof "inline:")
        return -ENOSPC;
    memcpy(buf, "inline:", 7);
    memcpy(buf + 7, enc, n + 1);
    return (int)(n + 7);
}

int sn_crypto_format_attr(const sn_crypto_key *k, char *buf, size_t size)
{
    char params[SN_CRYPTO_ATTR_MAX];
    int r = sn_crypto_format_params(k, params, sizeof params);

    if (r < 0)
        return r;
    r = snprintf(buf, size, "%u %s %s", (unsigned)k->tag, sn_srtp_suite_name(k->suite),
                 params);
    return r < 0 || (size_t)r >= size ? -ENOSPC : r;
}

int sn_crypto_key_random(sn_crypto_key *k, uint32_t tag, sn_srtp_suite suite)
{
    size_t len = sn_srtp_suite_key_len(suite);
    ssize_t r;

    if (!k || len == 0)
        return -EINVAL;
    memset(k, 0, sizeof *k);
    k->tag = tag;
    k->suite = suite;
    k->key_len = len;
    do
        r = getrandom(k->key, len, 0);
    while (r < 0 && errno == EINTR);
    if (r != (ssize_t)len) {
        sn_crypto_key_clear(k);
        return r < 0 ? -errno : -EIO;
    }
    return 0;
}

void sn_crypto_key_clear(sn_crypto_key *k)
{
    explicit_bzero(k, sizeof *k);
}
