/*
 * libsipnat - media source latching (see latch.h for the rules).
 */
#include "media/latch.h"

#include <string.h>

bool sn_sockaddr_same_host(const sn_sockaddr *a, const sn_sockaddr *b)
{
    if (a->sa.sa_family != b->sa.sa_family)
        return false;
    if (a->sa.sa_family == AF_INET)
        return a->in.sin_addr.s_addr == b->in.sin_addr.s_addr;
    if (a->sa.sa_family == AF_INET6)
        return memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, 16) == 0;
    return false;
}

bool sn_sockaddr_equal(const sn_sockaddr *a, const sn_sockaddr *b)
{
    if (!sn_sockaddr_same_host(a, b))
        return false;
    return a->sa.sa_family == AF_INET ? a->in.sin_port == b->in.sin_port
                                      : a->in6.sin6_port == b->in6.sin6_port;
}

int sn_sockaddr_port(const sn_sockaddr *a)
{
    if (a->sa.sa_family == AF_INET)
        return ntohs(a->in.sin_port);
    if (a->sa.sa_family == AF_INET6)
        return ntohs(a->in6.sin6_port);
    return 0;
}

void sn_latch_init(sn_latch *l, unsigned probation, uint64_t now)
{
    memset(l, 0, sizeof *l);
    l->probation = probation ? probation : 1;
    sn_latch_open(l, now);
}

void sn_latch_set_hosts(sn_latch *l, const sn_sockaddr *hosts, unsigned n)
{
    if (n > SN_LATCH_HOSTS)
        n = SN_LATCH_HOSTS;
    for (unsigned i = 0; i < n; i++)
        l->hosts[i] = hosts[i];
    l->n_hosts = n;
}

static bool host_allowed(const sn_latch *l, const sn_sockaddr *src)
{
    if (!l->n_hosts)
        return true;
    for (unsigned i = 0; i < l->n_hosts; i++)
        if (sn_sockaddr_same_host(&l->hosts[i], src))
            return true;
    return false;
}

void sn_latch_open(sn_latch *l, uint64_t now)
{
    l->learning = true;
    l->window_start = now;
    l->next_slot = 0;
    memset(l->cand, 0, sizeof l->cand);
}

static void latch(sn_latch *l, const sn_sockaddr *src, uint32_t ssrc)
{
    bool same = l->latched && sn_sockaddr_equal(&l->src, src);

    l->src = *src;
    l->ssrc = ssrc;
    l->latched = true;
    l->learning = false;
    if (!same)
        l->rtcp_latched = false;
    memset(l->cand, 0, sizeof l->cand);
}

sn_latch_verdict sn_latch_rtp(sn_latch *l, const sn_sockaddr *src,
                              uint16_t seq, uint32_t ssrc, uint64_t now)
{
    sn_latch_candidate *c = NULL;

    if (l->latched && sn_sockaddr_equal(&l->src, src)) {
        /* A new SSRC from the latched source (a transfer behind the peer)
         * is the stream RTCP must now match. */
        l->ssrc = ssrc;
        if (l->learning && now - l->window_start >= SN_LATCH_CONFIRM_USEC)
            l->learning = false;
        return SN_LATCH_ACCEPT;
    }
    if (!l->learning || !host_allowed(l, src))
        return SN_LATCH_FOREIGN;

    for (unsigned i = 0; i < SN_LATCH_CANDIDATES; i++)
        if (l->cand[i].count && sn_sockaddr_equal(&l->cand[i].src, src)) {
            c = &l->cand[i];
            break;
        }
    if (c) {
        c->count = seq == (uint16_t)(c->seq + 1) ? (uint16_t)(c->count + 1) : 1;
        c->seq = seq;
    } else {
        for (unsigned i = 0; i < SN_LATCH_CANDIDATES && !c; i++)
            if (!l->cand[i].count)
                c = &l->cand[i];
        if (!c) { /* all taken: replace the oldest-placed, round robin */
            c = &l->cand[l->next_slot];
            l->next_slot = (l->next_slot + 1) % SN_LATCH_CANDIDATES;
        }
        c->src = *src;
        c->seq = seq;
        c->count = 1;
    }
    if (c->count >= l->probation) {
        bool changed = !l->latched || !sn_sockaddr_equal(&l->src, src);
        latch(l, src, ssrc);
        return changed ? SN_LATCH_LATCHED : SN_LATCH_ACCEPT;
    }
    return SN_LATCH_LEARNING;
}

sn_latch_verdict sn_latch_rtcp(sn_latch *l, const sn_sockaddr *src,
                               uint32_t ssrc)
{
    if (!l->latched)
        return SN_LATCH_FOREIGN;
    if (l->rtcp_latched) {
        if (!sn_sockaddr_equal(&l->rtcp_src, src))
            return SN_LATCH_FOREIGN;
    } else if (!sn_sockaddr_same_host(&l->src, src)) {
        return SN_LATCH_FOREIGN;
    }
    if (ssrc != l->ssrc)
        return SN_LATCH_FOREIGN_SSRC;
    if (!l->rtcp_latched) {
        l->rtcp_src = *src;
        l->rtcp_latched = true;
    }
    return SN_LATCH_ACCEPT;
}

bool sn_latch_rtp_may_pass(const sn_latch *l, const sn_sockaddr *src)
{
    return (l->latched && sn_sockaddr_equal(&l->src, src)) ||
           (l->learning && host_allowed(l, src));
}

bool sn_latch_rtcp_may_pass(const sn_latch *l, const sn_sockaddr *src)
{
    if (!l->latched)
        return false;
    return l->rtcp_latched ? sn_sockaddr_equal(&l->rtcp_src, src)
                           : sn_sockaddr_same_host(&l->src, src);
}

bool sn_latch_is_peer(const sn_latch *l, const sn_sockaddr *src, bool rtcp)
{
    if (rtcp)
        return l->rtcp_latched && sn_sockaddr_equal(&l->rtcp_src, src);
    if (l->latched)
        return sn_sockaddr_equal(&l->src, src);
    return host_allowed(l, src);
}
