/*
 * libsipnat - numeric addresses and CIDR blocks.
 */
#include "config.h"

#include "core/addr.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

static size_t addr_len(int family)
{
    return family == AF_INET ? 4 : family == AF_INET6 ? 16 : 0;
}

int sn_addr_parse(const char *text, sn_addr *out)
{
    char buf[64];
    size_t len;

    if (!text || !out)
        return -EINVAL;
    len = strlen(text);
    if (len == 0 || len >= sizeof buf)
        return -EINVAL;
    if (text[0] == '[') {
        if (len < 3 || text[len - 1] != ']')
            return -EINVAL;
        memcpy(buf, text + 1, len - 2);
        buf[len - 2] = '\0';
        memset(out, 0, sizeof *out);
        if (inet_pton(AF_INET6, buf, out->bytes) != 1)
            return -EINVAL;
        out->family = AF_INET6;
        return 0;
    }
    memset(out, 0, sizeof *out);
    if (inet_pton(AF_INET, text, out->bytes) == 1) {
        out->family = AF_INET;
        return 0;
    }
    if (inet_pton(AF_INET6, text, out->bytes) == 1) {
        out->family = AF_INET6;
        return 0;
    }
    return -EINVAL;
}

int sn_addr_format(const sn_addr *a, char *buf, size_t size)
{
    char tmp[INET6_ADDRSTRLEN];
    size_t len;

    if (!a || !buf || !addr_len(a->family))
        return -EINVAL;
    if (!inet_ntop(a->family, a->bytes, tmp, sizeof tmp))
        return -EINVAL;
    len = strlen(tmp);
    if (len >= size)
        return -ENOSPC;
    memcpy(buf, tmp, len + 1);
    return (int)len;
}

bool sn_addr_equal(const sn_addr *a, const sn_addr *b)
{
    return a->family == b->family &&
           memcmp(a->bytes, b->bytes, addr_len(a->family)) == 0;
}

int sn_addr_from_sockaddr(const struct sockaddr *sa, sn_addr *out, int *port)
{
    if (!sa || !out)
        return -EINVAL;
    memset(out, 0, sizeof *out);
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)(const void *)sa;
        memcpy(out->bytes, &a->sin_addr, 4);
        if (port)
            *port = ntohs(a->sin_port);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)(const void *)sa;
        memcpy(out->bytes, &a->sin6_addr, 16);
        if (port)
            *port = ntohs(a->sin6_port);
    } else {
        return -EINVAL;
    }
    out->family = sa->sa_family;
    return 0;
}

socklen_t sn_addr_to_sockaddr(const sn_addr *a, int port,
                              struct sockaddr_storage *ss)
{
    memset(ss, 0, sizeof *ss);
    if (a->family == AF_INET) {
        struct sockaddr_in *s = (struct sockaddr_in *)ss;
        s->sin_family = AF_INET;
        s->sin_port = htons((uint16_t)port);
        memcpy(&s->sin_addr, a->bytes, 4);
        return sizeof *s;
    }
    if (a->family == AF_INET6) {
        struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;
        s->sin6_family = AF_INET6;
        s->sin6_port = htons((uint16_t)port);
        memcpy(&s->sin6_addr, a->bytes, 16);
        return sizeof *s;
    }
    return 0;
}

static bool in_block(const sn_addr *a, const char *cidr)
{
    sn_cidr c;

    return sn_cidr_parse(cidr, &c) == 0 && sn_cidr_contains(&c, a);
}

bool sn_addr_is_private(const sn_addr *a)
{
    static const char *const v4[] = {
        "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8",
        "169.254.0.0/16", "100.64.0.0/10", "0.0.0.0/8",
    };
    static const char *const v6[] = {"::1/128", "fc00::/7", "fe80::/10", "::/128"};

    if (a->family == AF_INET) {
        for (size_t i = 0; i < sizeof v4 / sizeof v4[0]; i++)
            if (in_block(a, v4[i]))
                return true;
    } else if (a->family == AF_INET6) {
        for (size_t i = 0; i < sizeof v6 / sizeof v6[0]; i++)
            if (in_block(a, v6[i]))
                return true;
    }
    return false;
}

/* A dotted netmask as a prefix length; -1 if not contiguous ones. */
static int mask_to_prefix(const uint8_t m[4])
{
    uint32_t v = ((uint32_t)m[0] << 24) | ((uint32_t)m[1] << 16) |
                 ((uint32_t)m[2] << 8) | m[3];
    int n = 0;

    while (n < 32 && (v & (0x80000000u >> n)))
        n++;
    if (n < 32 && (v << n) != 0)
        return -1;
    return n;
}

int sn_cidr_parse(const char *text, sn_cidr *out)
{
    char buf[96];
    const char *slash;
    size_t bits;

    if (!text || !out)
        return -EINVAL;
    if (strlen(text) >= sizeof buf)
        return -EINVAL;
    strcpy(buf, text);
    slash = strchr(buf, '/');
    if (slash)
        buf[slash - buf] = '\0';
    memset(out, 0, sizeof *out);
    if (sn_addr_parse(buf, &out->net) < 0)
        return -EINVAL;
    bits = addr_len(out->net.family) * 8;
    if (!slash) {
        out->prefix = (unsigned)bits;
        return 0;
    }
    const char *p = text + (slash - buf) + 1;
    if (*p == '\0')
        return -EINVAL;
    if (strchr(p, '.')) {
        uint8_t m[4];
        int n;
        if (out->net.family != AF_INET || inet_pton(AF_INET, p, m) != 1 ||
            (n = mask_to_prefix(m)) < 0)
            return -EINVAL;
        out->prefix = (unsigned)n;
    } else {
        char *end;
        unsigned long n;
        if (*p < '0' || *p > '9')
            return -EINVAL;
        errno = 0;
        n = strtoul(p, &end, 10);
        if (errno || *end || n > bits)
            return -EINVAL;
        out->prefix = (unsigned)n;
    }
    /* Host bits must be zero. */
    for (size_t i = 0; i < bits / 8; i++) {
        unsigned keep = out->prefix >= (i + 1) * 8 ? 8
                      : out->prefix > i * 8        ? out->prefix - (unsigned)i * 8
                                                   : 0;
        uint8_t mask = (uint8_t)(0xffu << (8 - keep));
        if (keep == 0)
            mask = 0;
        if (out->net.bytes[i] & (uint8_t)~mask)
            return -EINVAL;
    }
    return 0;
}

int sn_cidr_format(const sn_cidr *c, char *buf, size_t size)
{
    char a[INET6_ADDRSTRLEN];
    int n;

    if (!c || !buf || sn_addr_format(&c->net, a, sizeof a) < 0)
        return -EINVAL;
    n = snprintf(buf, size, "%s/%u", a, c->prefix);
    if (n < 0 || (size_t)n >= size)
        return -ENOSPC;
    return n;
}

bool sn_cidr_contains(const sn_cidr *c, const sn_addr *a)
{
    unsigned full, rest;

    if (!c || !a || c->net.family != a->family)
        return false;
    full = c->prefix / 8;
    rest = c->prefix % 8;
    if (memcmp(c->net.bytes, a->bytes, full) != 0)
        return false;
    if (rest) {
        uint8_t mask = (uint8_t)(0xffu << (8 - rest));
        if ((c->net.bytes[full] & mask) != (a->bytes[full] & mask))
            return false;
    }
    return true;
}
