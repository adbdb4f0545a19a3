/*
 * libsipnat - TTLs out of a DNS message.
 *
 * c-ares 1.18 parses NAPTR and SRV records but drops their TTLs, and a
 * cache that honours TTLs needs them: this walks the message's resource
 * records (RFC 1035 4.1) for their TTL fields only. Every read is checked
 * against the message's length, names are skipped without following
 * compression pointers (so a pointer loop costs nothing), and the record
 * counts are bounded by the bytes actually present.
 */
#include "dns/lookup.h"

static unsigned get16(const unsigned char *p) { return (unsigned)p[0] << 8 | p[1]; }

static unsigned long get32(const unsigned char *p)
{
    return (unsigned long)p[0] << 24 | (unsigned long)p[1] << 16 |
           (unsigned long)p[2] << 8 | p[3];
}

/* Offset just after the name at `off`, or 0 when it runs past the end. */
static size_t skip_name(const unsigned char *m, size_t len, size_t off)
{
    while (off < len) {
        unsigned c = m[off];
        if (c == 0)
            return off + 1;
        if ((c & 0xc0) == 0xc0)
            return off + 2 <= len ? off + 2 : 0;
        if (c & 0xc0)
            return 0; /* reserved label types */
        off += 1 + c;
    }
    return 0;
}

long sn_dns_msg_ttl(const unsigned char *m, size_t len, int type)
{
    size_t off = 12;
    unsigned qd, an, ns;
    long best = -1, neg = -1;

    if (!m || len < 12)
        return -1;
    qd = get16(m + 4);
    an = get16(m + 6);
    ns = get16(m + 8);
    for (unsigned i = 0; i < qd; i++) {
        if (!(off = skip_name(m, len, off)) || off + 4 > len)
            return -1;
        off += 4;
    }
    for (unsigned i = 0; i < an + ns; i++) {
        unsigned t, rdlen;
        unsigned long ttl;
        if (!(off = skip_name(m, len, off)) || off + 10 > len)
            break;
        t = get16(m + off);
        ttl = get32(m + off + 4);
        rdlen = get16(m + off + 8);
        off += 10;
        if (off + rdlen > len)
            break;
        if (ttl > 0x7fffffffUL)
            ttl = 0; /* RFC 2181 8: the top bit set means zero */
        if (i < an && (int)t == type && (best < 0 || (long)ttl < best))
            best = (long)ttl;
        if (i >= an && t == SN_DNS_T_SOA && rdlen >= 20) {
            /* RFC 2308 5: the lesser of the SOA's TTL and its MINIMUM. */
            unsigned long min = get32(m + off + rdlen - 4);
            long v = (long)(min < ttl ? min : ttl);
            if (neg < 0 || v < neg)
                neg = v;
        }
        off += rdlen;
    }
    return best >= 0 ? best : neg;
}
