/*
 * libsipnat - ICE candidates and credentials in SDP (see candidate.h).
 */
#include "ice/candidate.h"

#include <sipnat/common.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define MAX_FIELDS 40 /* 8 fixed, 4 related, and extension pairs */
#define VALUE_MAX 1024

static int refuse(int err, char *why, size_t why_size, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int refuse(int err, char *why, size_t why_size, const char *fmt, ...)
{
    va_list ap;

    if (why && why_size) {
        va_start(ap, fmt);
        vsnprintf(why, why_size, fmt, ap);
        va_end(ap);
    }
    return err;
}

static bool is_ice_char(int c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '+' || c == '/';
}

static bool ice_chars(const char *s, size_t min, size_t max)
{
    size_t n = 0;

    if (!s)
        return false;
    for (; s[n]; n++)
        if (n >= max || !is_ice_char((unsigned char)s[n]))
            return false;
    return n >= min;
}

bool sn_ice_ufrag_valid(const char *s)
{
    return ice_chars(s, SN_ICE_UFRAG_MIN, SN_ICE_CRED_MAX);
}

bool sn_ice_pwd_valid(const char *s)
{
    return ice_chars(s, SN_ICE_PWD_MIN, SN_ICE_CRED_MAX);
}

/* 1*max DIGIT into *out, at most limit: true when it is one. */
static bool digits(const char *s, size_t max, unsigned long long limit,
                   unsigned long long *out)
{
    unsigned long long v = 0;
    size_t n = 0;

    for (; s[n]; n++) {
        if (n >= max || s[n] < '0' || s[n] > '9')
            return false;
        v = v * 10 + (unsigned)(s[n] - '0');
    }
    if (n == 0 || v > limit)
        return false;
    *out = v;
    return true;
}

/* A name in place of an address: letters, digits, '-' and '.' only. */
static bool looks_like_name(const char *s)
{
    bool alpha = false;

    for (; *s; s++) {
        if ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'))
            alpha = true;
        else if (!(*s >= '0' && *s <= '9') && *s != '-' && *s != '.')
            return false;
    }
    return alpha;
}

static int address(const char *s, const char *what, sn_addr *out, char *why,
                   size_t why_size)
{
    size_t n = strlen(s);

    if (sn_addr_parse(s, out) == 0)
        return 0;
    if (n > 6 && strcasecmp(s + n - 6, ".local") == 0 && looks_like_name(s))
        return refuse(-ENOTSUP, why, why_size,
                      "%s '%s' is an mDNS name (not resolved here)", what, s);
    if (looks_like_name(s))
        return refuse(-ENOTSUP, why, why_size,
                      "%s '%s' is a name, not an address (not resolved here)",
                      what, s);
    return refuse(-EBADMSG, why, why_size, "%s '%s' is not an address", what, s);
}

static const char *const type_names[] = {"host", "srflx", "prflx", "relay"};

const char *sn_ice_ctype_name(sn_ice_ctype t)
{
    return (unsigned)t < sizeof type_names / sizeof type_names[0] ? type_names[t]
                                                                 : "?";
}

int sn_ice_cand_parse(const char *value, sn_ice_cand *out, char *why,
                      size_t why_size)
{
    char buf[VALUE_MAX + 1], *f[MAX_FIELDS], *save = NULL, *tok;
    unsigned long long v;
    size_t n = 0, len, i;
    int r;

    if (why && why_size)
        why[0] = '\0';
    if (!value || !out)
        return -EINVAL;
    len = strlen(value);
    if (len > VALUE_MAX)
        return refuse(-EBADMSG, why, why_size, "longer than %d bytes", VALUE_MAX);
    memcpy(buf, value, len + 1);
    for (tok = strtok_r(buf, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save)) {
        if (n == MAX_FIELDS)
            return refuse(-EBADMSG, why, why_size, "more than %d fields", MAX_FIELDS);
        f[n++] = tok;
    }
    if (n < 8)
        return refuse(-EBADMSG, why, why_size,
                      "%zu fields, a candidate has at least 8", n);
    memset(out, 0, sizeof *out);

    if (!ice_chars(f[0], 1, SN_ICE_FOUNDATION_MAX))
        return refuse(-EBADMSG, why, why_size, "foundation '%s' is not 1-32 ice-chars",
                      f[0]);
    memcpy(out->foundation, f[0], strlen(f[0]) + 1);
    if (!digits(f[1], 3, 256, &v) || v == 0)
        return refuse(-EBADMSG, why, why_size, "component-id '%s' is not 1-256", f[1]);
    out->component = (unsigned)v;
    if (strcasecmp(f[2], "UDP") != 0) {
        for (const char *p = f[2]; *p; p++)
            if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                  (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
                return refuse(-EBADMSG, why, why_size, "transport '%s' is not a token",
                              f[2]);
        return refuse(-ENOTSUP, why, why_size,
                      "transport %s (only UDP candidates are used)", f[2]);
    }
    if (!digits(f[3], 10, 0x7fffffffULL, &v) || v == 0)
        return refuse(-EBADMSG, why, why_size, "priority '%s' is not 1 to 2^31-1", f[3]);
    out->priority = (uint32_t)v;
    if ((r = address(f[4], "connection-address", &out->addr, why, why_size)) < 0)
        return r;
    if (!digits(f[5], 5, 65535, &v) || v == 0)
        return refuse(-EBADMSG, why, why_size, "port '%s' is not 1-65535", f[5]);
    out->port = (uint16_t)v;
    if (strcmp(f[6], "typ") != 0)
        return refuse(-EBADMSG, why, why_size, "'typ' expected, not '%s'", f[6]);
    for (i = 0; i < sizeof type_names / sizeof type_names[0]; i++)
        if (strcmp(f[7], type_names[i]) == 0)
            break;
    if (i == sizeof type_names / sizeof type_names[0])
        return refuse(-ENOTSUP, why, why_size, "candidate type '%s' is unknown", f[7]);
    out->type = (sn_ice_ctype)i;

    i = 8;
    bool raddr = false, rport = false;
    if (i + 1 < n && strcmp(f[i], "raddr") == 0) {
        if ((r = address(f[i + 1], "raddr", &out->raddr, why, why_size)) < 0)
            return r == -ENOTSUP ? -EBADMSG : r;
        raddr = true;
        i += 2;
    }
    if (i + 1 < n && strcmp(f[i], "rport") == 0) {
        if (!digits(f[i + 1], 5, 65535, &v))
            return refuse(-EBADMSG, why, why_size, "rport '%s' is not 0-65535", f[i + 1]);
        out->rport = (uint16_t)v;
        rport = true;
        i += 2;
    }
    if (raddr != rport)
        return refuse(-EBADMSG, why, why_size, "%s without %s", raddr ? "raddr" : "rport",
                      raddr ? "rport" : "raddr");
    out->has_related = raddr;
    /* Extensions: name value pairs (RFC 8839 5.1 cand-extension). */
    if ((n - i) % 2)
        return refuse(-EBADMSG, why, why_size, "extension '%s' has no value", f[n - 1]);
    for (; i < n; i += 2)
        if (strcmp(f[i], "raddr") == 0 || strcmp(f[i], "rport") == 0)
            return refuse(-EBADMSG, why, why_size, "%s out of place", f[i]);
    return 0;
}

int sn_ice_cand_format(const sn_ice_cand *c, char *buf, size_t size)
{
    char a[SIPNAT_ADDRSTRLEN], ra[SIPNAT_ADDRSTRLEN];
    int n;

    if (!c || !buf || !ice_chars(c->foundation, 1, SN_ICE_FOUNDATION_MAX) ||
        c->component < 1 || c->component > 256 || c->priority < 1 ||
        c->priority > 0x7fffffffu || c->port == 0 || (unsigned)c->type > SN_ICE_RELAY ||
        sn_addr_format(&c->addr, a, sizeof a) < 0 ||
        (c->has_related && sn_addr_format(&c->raddr, ra, sizeof ra) < 0))
        return -EINVAL;
    if (c->has_related)
        n = snprintf(buf, size, "%s %u UDP %u %s %u typ %s raddr %s rport %u",
                     c->foundation, c->component, (unsigned)c->priority, a, c->port,
                     type_names[c->type], ra, c->rport);
    else
        n = snprintf(buf, size, "%s %u UDP %u %s %u typ %s", c->foundation, c->component,
                     (unsigned)c->priority, a, c->port, type_names[c->type]);
    return n < 0 || (size_t)n >= size ? -ENOSPC : n;
}

uint32_t sn_ice_priority(unsigned type_pref, unsigned local_pref, unsigned component)
{
    if (type_pref > 126)
        type_pref = 126;
    if (local_pref > 65535)
        local_pref = 65535;
    if (component < 1)
        component = 1;
    if (component > 256)
        component = 256;
    return (uint32_t)type_pref << 24 | (uint32_t)local_pref << 8 | (256u - component);
}

unsigned sn_ice_type_pref(sn_ice_ctype t)
{
    switch (t) {
    case SN_ICE_HOST: return 126;
    case SN_ICE_PRFLX: return 110;
    case SN_ICE_SRFLX: return 100;
    case SN_ICE_RELAY: return 0;
    }
    return 0;
}
