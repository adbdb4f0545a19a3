/*
 * libsipnat - the public face of the address-translation policies.
 *
 * static:   sn_static_decide() with the configured external addresses.
 * learned:  the same rules with the address responses reported (Via
 *           received/rport) standing in for the external ones, guarded
 *           against ALGs and flapping (see sipnat_policy_learn), and kept
 *           per server: behind a symmetric NAT every destination sees
 *           another port, so what server B saw never changes what we
 *           tell server A (DNS load balancing would flap otherwise).
 * callback: the host's function, its answer checked before use.
 */
#include "core/internal.h"
#include "core/addr.h"
#include "nat/policy.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The structs are append-only: a caller compiled against version 1
 * passes at least these sizes; later fields are read or written only
 * when the caller's size covers them. */
#define SN_QUERY_V1_SIZE \
    (offsetof(sipnat_advert_query, media_address) + sizeof(const char *))
#define SN_ADVERT_V1_SIZE \
    (offsetof(sipnat_advert, explanation) + sizeof(((sipnat_advert *)0)->explanation))

/* More changes than this within SN_FLAP_WINDOW: hold the address. */
#define SN_FLAP_CHANGES 4
#define SN_FLAP_WINDOW_USEC (60u * 1000000u)

/* Servers whose view of us is kept; the least recently changed one
 * makes room for a new one. */
#define SN_LEARNED_MAX 8

/* What one server (next hop) reported. */
typedef struct sn_learned {
    sn_addr server;
    sn_addr addr;
    int port;                            /* 0: keep the local port */
    uint64_t at;                         /* when it last changed */
    uint64_t change_at[SN_FLAP_CHANGES]; /* ring of recent change times */
    unsigned n_changes;
} sn_learned;

struct sipnat_policy {
    unsigned n_ref;
    sipnat_policy_type type;
    sn_static_cfg cfg;

    /* learned: per server; a destination that reported nothing gets the
     * newest entry (the best guess for a cone NAT) */
    sn_learned learned[SN_LEARNED_MAX];
    size_t n_learned;
    int newest;                          /* index, or -1 */

    /* STUN: what the transport's server reported for a media socket */
    bool have_stun;
    sn_addr stun;
    char stun_server[SIPNAT_ADDRSTRLEN + 8];
    time_t stun_at;

    /* callback */
    sipnat_policy_ops ops;
    void *user_data;
};

static int policy_alloc(sipnat_policy **ret, sipnat_policy_type type)
{
    sipnat_policy *p = calloc(1, sizeof *p);

    if (!p)
        return -ENOMEM;
    p->n_ref = 1;
    p->type = type;
    p->newest = -1;
    *ret = p;
    return 0;
}

SIPNAT_API int sipnat_policy_new(sipnat_policy **ret, sipnat_policy_type type)
{
    SN_RETURN_IF(!ret, -EINVAL);
    *ret = NULL;
    SN_RETURN_IF(type != SIPNAT_POLICY_STATIC && type != SIPNAT_POLICY_LEARNED,
                 -EINVAL);
    return policy_alloc(ret, type);
}

SIPNAT_API int sipnat_policy_new_callback(sipnat_policy **ret,
                                          const sipnat_policy_ops *ops,
                                          void *user_data)
{
    int r;

    SN_RETURN_IF(!ret, -EINVAL);
    *ret = NULL;
    SN_RETURN_IF(!ops || !ops->advertise, -EINVAL);
    /* Version 1 is the only table this library knows. */
    SN_RETURN_IF(ops->version != SIPNAT_POLICY_OPS_VERSION, -EPROTO);
    r = policy_alloc(ret, SIPNAT_POLICY_CALLBACK);
    if (r < 0)
        return r;
    (*ret)->ops = *ops;
    (*ret)->user_data = user_data;
    return 0;
}

SIPNAT_API sipnat_policy *sipnat_policy_ref(sipnat_policy *p)
{
    if (p)
        p->n_ref++;
    return p;
}

SIPNAT_API sipnat_policy *sipnat_policy_unref(sipnat_policy *p)
{
    if (!p || --p->n_ref > 0)
        return NULL;
    if (p->type == SIPNAT_POLICY_CALLBACK && p->ops.destroy)
        p->ops.destroy(p->user_data);
    free(p);
    return NULL;
}

SIPNAT_API int sipnat_policy_get_type(const sipnat_policy *p)
{
    SN_RETURN_IF(!p, -EINVAL);
    return (int)p->type;
}

SIPNAT_API int sipnat_policy_add_local_net(sipnat_policy *p, const char *cidr)
{
    SN_RETURN_IF(!p || !cidr, -EINVAL);
    SN_RETURN_IF(p->type == SIPNAT_POLICY_CALLBACK, -EOPNOTSUPP);
    return sn_static_add_local_net(&p->cfg, cidr);
}

SIPNAT_API int sipnat_policy_set_external_signaling_address(
    sipnat_policy *p, const char *address, int port)
{
    sn_addr a;

    SN_RETURN_IF(!p || !address, -EINVAL);
    SN_RETURN_IF(port < 0 || port > 65535, -EINVAL);
    SN_RETURN_IF(p->type != SIPNAT_POLICY_STATIC, -EOPNOTSUPP);
    SN_RETURN_IF(sn_addr_parse(address, &a) < 0, -EINVAL);
    p->cfg.ext_signaling = a;
    p->cfg.ext_signaling_port = port;
    return 0;
}

SIPNAT_API int sipnat_policy_set_external_media_address(sipnat_policy *p,
                                                        const char *address)
{
    sn_addr a;

    SN_RETURN_IF(!p || !address, -EINVAL);
    SN_RETURN_IF(p->type != SIPNAT_POLICY_STATIC, -EOPNOTSUPP);
    SN_RETURN_IF(sn_addr_parse(address, &a) < 0, -EINVAL);
    p->cfg.ext_media = a;
    return 0;
}

static bool flapping(const sn_learned *e, uint64_t now)
{
    /* The oldest of the last SN_FLAP_CHANGES changes is recent. */
    if (e->n_changes < SN_FLAP_CHANGES)
        return false;
    uint64_t oldest = e->change_at[e->n_changes % SN_FLAP_CHANGES];
    return now - oldest < SN_FLAP_WINDOW_USEC;
}

static bool inside(const sn_static_cfg *cfg, const sn_addr *a)
{
    for (size_t i = 0; i < cfg->n_local_net; i++)
        if (sn_cidr_contains(&cfg->local_net[i], a))
            return true;
    return false;
}

/* The entry of `server`, or NULL. */
static sn_learned *learned_of(sipnat_policy *p, const sn_addr *server)
{
    for (size_t i = 0; i < p->n_learned; i++)
        if (sn_addr_equal(&p->learned[i].server, server))
            return &p->learned[i];
    return NULL;
}

/* What to advertise to `dest`: its own server's report, else the newest
 * one it could use (an address from behind the NAT, which a LAN server
 * reported, is no answer for a destination outside). */
static const sn_learned *learned_for(const sipnat_policy *p, const sn_addr *dest)
{
    const sn_learned *best = NULL;
    bool outside = !inside(&p->cfg, dest) && !sn_addr_is_private(dest);

    for (size_t i = 0; i < p->n_learned; i++) {
        const sn_learned *e = &p->learned[i];
        if (sn_addr_equal(&e->server, dest))
            return e;
        if (outside && (inside(&p->cfg, &e->addr) || sn_addr_is_private(&e->addr)))
            continue;
        if (!best || e->at > best->at)
            best = e;
    }
    return best;
}

/* A new entry for `server`: a free one, else the least recently changed. */
static sn_learned *learned_add(sipnat_policy *p, const sn_addr *server)
{
    sn_learned *e = &p->learned[0];

    if (p->n_learned < SN_LEARNED_MAX) {
        e = &p->learned[p->n_learned++];
    } else {
        for (size_t i = 1; i < SN_LEARNED_MAX; i++)
            if (p->learned[i].at < e->at)
                e = &p->learned[i];
    }
    memset(e, 0, sizeof *e);
    e->server = *server;
    return e;
}

SIPNAT_API int sipnat_policy_learn(sipnat_policy *p, const char *server,
                                   const char *received, int rport)
{
    sn_addr srv, rcv;
    int port;

    SN_RETURN_IF(!p || !server || !received, -EINVAL);
    SN_RETURN_IF(rport < 0 || rport > 65535, -EINVAL);
    SN_RETURN_IF(p->type != SIPNAT_POLICY_LEARNED, -EOPNOTSUPP);
    SN_RETURN_IF(sn_addr_parse(server, &srv) < 0, -EINVAL);
    SN_RETURN_IF(sn_addr_parse(received, &rcv) < 0, -EINVAL);
    /* A public server cannot have seen us at a private address, nor a
     * server outside local_net at an address inside it: an ALG rewrote
     * the Via on the way. Believing it would advertise an address nobody
     * outside can reach. */
    SN_RETURN_IF(sn_addr_is_private(&rcv) && !sn_addr_is_private(&srv),
                 -EPERM);
    SN_RETURN_IF(inside(&p->cfg, &rcv) && !inside(&p->cfg, &srv), -EPERM);
    port = rport;
    sn_learned *e = learned_of(p, &srv);
    if (e && sn_addr_equal(&e->addr, &rcv) && e->port == port)
        return 0;

    uint64_t now = sn_now_usec();
    SN_RETURN_IF(e && flapping(e, now), -EAGAIN);
    if (!e)
        e = learned_add(p, &srv);
    e->change_at[e->n_changes % SN_FLAP_CHANGES] = now;
    e->n_changes++;
    e->addr = rcv;
    e->port = port;
    e->at = now;
    p->newest = (int)(e - p->learned);
    return 1;
}

void sn_policy_forget(sipnat_policy *p)
{
    if (!p || p->type == SIPNAT_POLICY_CALLBACK)
        return;
    p->n_learned = 0;
    p->newest = -1;
    p->have_stun = false;
}

void sn_policy_stun_learned(sipnat_policy *p, const char *server,
                            const sn_addr *mapped, time_t at)
{
    if (!p || p->type == SIPNAT_POLICY_CALLBACK)
        return;
    p->have_stun = true;
    p->stun = *mapped;
    p->stun_at = at;
    snprintf(p->stun_server, sizeof p->stun_server, "%s", server);
}

SIPNAT_API int sipnat_policy_get_learned(const sipnat_policy *p, char *buf,
                                         size_t size, int *port)
{
    int r;

    SN_RETURN_IF(!p || !buf, -EINVAL);
    SN_RETURN_IF(p->type != SIPNAT_POLICY_LEARNED, -EOPNOTSUPP);
    SN_RETURN_IF(p->newest < 0, -ENOENT);
    r = sn_addr_format(&p->learned[p->newest].addr, buf, size);
    if (r >= 0 && port)
        *port = p->learned[p->newest].port;
    return r;
}

/* "198.51.100.5:5060" or "[2001:db8::1]:5060". */
static const char *hostport(const char *addr, int port, char *buf, size_t size)
{
    snprintf(buf, size, strchr(addr, ':') ? "[%s]:%d" : "%s:%d", addr, port);
    return buf;
}

static int fill_answer(const sn_decision *d, sipnat_advert *a)
{
    int r = sn_addr_format(&d->sig_addr, a->signaling_address,
                           sizeof a->signaling_address);
    if (r < 0)
        return r;
    a->signaling_port = d->sig_port;
    r = sn_addr_format(&d->media_addr, a->media_address,
                       sizeof a->media_address);
    return r < 0 ? r : 0;
}

static int advertise_callback(sipnat_policy *p, const sipnat_advert_query *q,
                              sipnat_advert *a)
{
    sn_addr check;
    int r;

    r = p->ops.advertise(q, a, p->user_data);
    if (r < 0)
        return r;
    a->signaling_address[sizeof a->signaling_address - 1] = '\0';
    a->media_address[sizeof a->media_address - 1] = '\0';
    a->explanation[sizeof a->explanation - 1] = '\0';
    /* A wrong answer must never reach the wire. */
    if (sn_addr_parse(a->signaling_address, &check) < 0 ||
        sn_addr_parse(a->media_address, &check) < 0 || a->signaling_port < 1 ||
        a->signaling_port > 65535)
        return -EBADMSG;
    if (!a->explanation[0]) {
        char hp[SIPNAT_ADDRSTRLEN + 8];
        snprintf(a->explanation, sizeof a->explanation,
                 "to %s: signalling %s, media %s (host callback)",
                 q->destination,
                 hostport(a->signaling_address, a->signaling_port, hp, sizeof hp),
                 a->media_address);
    }
    return 0;
}

/* "to D: signalling S, media M (outside local_net; learned by STUN from
 * 203.0.113.3:3478 at 2026-12-03 09:20:11 UTC)": which of the two STUN
 * gave, and when. */
static int explain_stun(const sipnat_policy *p, const sipnat_advert_query *q,
                        const sn_learned *lrn, const sn_decision *d,
                        bool stun_media, bool stun_sig, sipnat_advert *a)
{
    char hp[SIPNAT_ADDRSTRLEN + 8], at[32], learned[SIPNAT_ADDRSTRLEN] = "";
    struct tm tm;
    bool m = stun_media && d->media_reason == SN_REASON_EXTERNAL;
    bool s = stun_sig && d->sig_reason == SN_REASON_EXTERNAL;

    if (!gmtime_r(&p->stun_at, &tm) ||
        strftime(at, sizeof at, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
        snprintf(at, sizeof at, "%lld", (long long)p->stun_at);
    if (lrn)
        sn_addr_format(&lrn->server, learned, sizeof learned);
    char line[512];
    snprintf(line, sizeof line,
             "to %s: signalling %s, media %s (%s; %s%s%s learned by STUN "
             "from %s at %s%s%s)",
             q->destination,
             hostport(a->signaling_address, a->signaling_port, hp, sizeof hp),
             a->media_address,
             p->cfg.n_local_net ? "outside local_net" : "no local_net (all outside)",
             m ? "media" : "", m && s ? " and " : "", s ? "signalling" : "",
             p->stun_server, at, learned[0] ? "; signalling learned from the "
                                              "Via received/rport of " : "",
             learned);
    /* Cut to the field, as a host's own line would be. */
    size_t n = strnlen(line, sizeof a->explanation - 1);
    memcpy(a->explanation, line, n);
    a->explanation[n] = '\0';
    return 0;
}

SIPNAT_API int sipnat_policy_advertise(sipnat_policy *p,
                                       const sipnat_advert_query *q,
                                       sipnat_advert *a)
{
    sn_addr dest, local, media;
    sn_decision d;
    int r;

    SN_RETURN_IF(!p || !q || !a, -EINVAL);
    SN_RETURN_IF(q->size < SN_QUERY_V1_SIZE, -EINVAL);
    SN_RETURN_IF(a->size < SN_ADVERT_V1_SIZE, -EINVAL);
    SN_RETURN_IF(!q->destination || !q->local_address, -EINVAL);
    SN_RETURN_IF(q->local_port < 1 || q->local_port > 65535, -EINVAL);
    SN_RETURN_IF(q->destination_port < 0 || q->destination_port > 65535, -EINVAL);
    SN_RETURN_IF(sn_addr_parse(q->destination, &dest) < 0, -EINVAL);
    SN_RETURN_IF(sn_addr_parse(q->local_address, &local) < 0, -EINVAL);
    media = local;
    SN_RETURN_IF(q->media_address && sn_addr_parse(q->media_address, &media) < 0,
                 -EINVAL);

    size_t asize = a->size < sizeof *a ? a->size : sizeof *a;
    memset(a, 0, asize);
    a->size = asize;
    if (p->type == SIPNAT_POLICY_CALLBACK)
        return advertise_callback(p, q, a);

    /* STUN stands in where nothing configured or learned applies. */
    sn_static_cfg cfg = p->cfg;
    bool stun_media = false, stun_sig = false;
    const sn_learned *lrn = NULL;
    if (p->type == SIPNAT_POLICY_LEARNED && (lrn = learned_for(p, &dest))) {
        cfg.ext_signaling = lrn->addr;
        cfg.ext_signaling_port = lrn->port;
        cfg.ext_media = lrn->addr;
    }
    if (p->have_stun && !p->cfg.ext_media.family) {
        cfg.ext_media = p->stun;
        stun_media = true;
    }
    if (p->have_stun && !cfg.ext_signaling.family) {
        /* The SIP socket's own mapping is not asked (sofia reads that
         * socket): the transport's port, as a port-preserving NAT keeps. */
        cfg.ext_signaling = p->stun;
        cfg.ext_signaling_port = 0;
        stun_sig = true;
    }
    sn_static_decide(&cfg, &dest, &local, q->local_port, &media, NULL, &d);
    r = fill_answer(&d, a);
    if (r < 0)
        return r;
    if ((stun_media && d.media_reason == SN_REASON_EXTERNAL) ||
        (stun_sig && d.sig_reason == SN_REASON_EXTERNAL))
        return explain_stun(p, q, lrn, &d, stun_media, stun_sig, a);
    if (p->type == SIPNAT_POLICY_STATIC) {
        sn_decision_explain(&cfg, &dest, &d, a->explanation,
                            sizeof a->explanation);
        return 0;
    }

    /* learned: the static rules with the learned address as external. */
    char hp[SIPNAT_ADDRSTRLEN + 8];
    const char *outside = cfg.n_local_net ? "outside local_net"
                                          : "no local_net (all outside)";
    if (d.sig_reason == SN_REASON_EXTERNAL) {
        char from[SIPNAT_ADDRSTRLEN] = "?";
        if (lrn)
            sn_addr_format(&lrn->server, from, sizeof from);
        snprintf(a->explanation, sizeof a->explanation,
                 "to %s: signalling %s, media %s (%s; "
                 "learned from the Via received/rport of %s)",
                 q->destination,
                 hostport(a->signaling_address, a->signaling_port, hp, sizeof hp),
                 a->media_address, outside, from);
    } else if (d.sig_reason == SN_REASON_NO_EXTERNAL) {
        snprintf(a->explanation, sizeof a->explanation,
                 "to %s: signalling %s, media %s (%s; "
                 "nothing learned yet: local address)",
                 q->destination,
                 hostport(a->signaling_address, a->signaling_port, hp, sizeof hp),
                 a->media_address, outside);
    } else {
        sn_decision_explain(&cfg, &dest, &d, a->explanation,
                            sizeof a->explanation);
    }
    return 0;
}

bool sn_policy_exposes(const sipnat_policy *p, const char *destination,
                       const char *address)
{
    sn_addr dest, adv;

    if (!p || p->type == SIPNAT_POLICY_CALLBACK ||
        sn_addr_parse(destination, &dest) < 0 || sn_addr_parse(address, &adv) < 0)
        return false;
    if (inside(&p->cfg, &dest) || sn_addr_is_private(&dest))
        return false;
    return inside(&p->cfg, &adv) || sn_addr_is_private(&adv);
}

SIPNAT_API int sipnat_policy_explain(sipnat_policy *p, const char *destination,
                                     const char *local_address, int local_port,
                                     char *buf, size_t size)
{
    sipnat_advert_query q = {
        .size = sizeof q,
        .destination = destination,
        .local_address = local_address,
        .local_port = local_port,
    };
    sipnat_advert a = {.size = sizeof a};
    size_t len;
    int r;

    SN_RETURN_IF(!p || !buf || size == 0, -EINVAL);
    r = sipnat_policy_advertise(p, &q, &a);
    if (r < 0)
        return r;
    len = strlen(a.explanation);
    SN_RETURN_IF(len >= size, -ENOSPC);
    memcpy(buf, a.explanation, len + 1);
    return (int)len;
}
