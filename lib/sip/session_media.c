/*
 * libsipnat - the media of a session: our SDP (lib/media/mdesc.c, printed
 * and parsed by lib/sip/sdp.c, never by sofia's SOA) and the anchor that
 * carries the RTP (lib/media). Every description the peer sends updates
 * the anchor: where to send, which payload types, which directions; a new
 * address opens a new latching window there.
 */
#include "sip/session.h"
#include "ice/agent.h"
#include "sip/sdp.h"
#include "media/anchor.h"
#include "media/mdesc.h"
#include "nat/policy.h"
#include "stun/stun.h"
#include "stun/turn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

struct sn_session_media {
    sipnat_session *s;          /* not referenced: it owns us */
    sipnat_anchor *anchor;
    sn_media_prefs prefs;
    sn_local_addr ours;
    /* The last description we sent, as text: a parsed sn_sdesc is 12 KB,
     * the text a few hundred bytes, and it is needed again only at the
     * next offer/answer (to keep o= and to check the peer's answer). */
    char *local;
    bool offer_out;             /* `local` is an offer awaiting its answer */
    uint64_t sess_id;
    bool direct;                /* our SDP names the other peer of a bridge */
    char remote[SIPNAT_ADDRSTRLEN];
    int remote_port;
    uint16_t local_port;        /* the anchor's RTP port (RTCP: + 1) */

    /* STUN (the transport's server): each socket's public mapping. The
     * first SDP waits for both answers (or their giving up); readiness
     * is told from a timer, never from inside the receive path. */
    sn_stun_binding stun_rtp;
    sn_stun_binding stun_rtcp;
    bool stun_wait;
    sn_timer stun_timer;

    /* ICE (ice_support): our credentials from the start, the agent from
     * the first offer or answer (its role: the offerer controls), started
     * once the peer's SDP brings credentials; its timer. */
    bool ice_on;
    char ice_ufrag[9], ice_pwd[25];
    sn_ice_agent *ice;
    bool ice_started;            /* checks run */
    bool ice_described;          /* our SDP carried ICE */
    char ice_rufrag[257];        /* the peer's ufrag the checks run with */
    sn_ice_state ice_state;
    sn_timer ice_timer;
    sn_timer moved_timer;       /* a refresh answered: the SDP still true? */

    /* TURN (the transport's server): a relayed address per socket, for
     * relayed candidates; the first SDP waits for them as for STUN. The
     * selected pair, when relayed, takes the media once its channel is
     * bound (ice_apply). */
    sn_turn_alloc turn_rtp;
    sn_turn_alloc turn_rtcp;
    bool relay_selected;
};

/* -- STUN and ICE ------------------------------------------------------ */

static void ice_run(sn_session_media *m);
static bool discovery_settled(const sn_session_media *m);

static void ice_kick(sn_session_media *m)
{
    /* What it changed is looked at from the timer, never here inside the
     * receive path. */
    if (!sn_timer_armed(&m->ice_timer))
        sn_ctx_timer_arm(m->anchor->ctx, &m->ice_timer, 0);
}

/* Bases of the agent: 0 RTP's socket, 1 RTCP's; 2 and 3 the same
 * sockets' TURN relays. */
static int on_anchor_stun(sipnat_anchor *a, bool rtcp, bool relayed, const uint8_t *buf,
                          size_t len, const sn_sockaddr *from, void *user_data)
{
    sn_session_media *m = user_data;
    sn_turn_alloc *ta = rtcp ? &m->turn_rtcp : &m->turn_rtp;
    int base = (rtcp ? 1 : 0) + (relayed ? 2 : 0);
    (void)a;

    if (!relayed && ta->turn) {
        struct sockaddr_storage peer;
        const uint8_t *data;
        size_t dlen;
        int r = sn_turn_alloc_take(ta, buf, len, &from->sa, &peer, &data, &dlen);
        if (r == 2) {
            /* A peer's datagram in a Data indication: its checks (media
             * waits for the channel). */
            if (!m->ice || !m->ice_started || !sn_stun_looks_like(data, dlen))
                return -EPROTO;
            r = sn_ice_receive(m->ice, base + 2, (const struct sockaddr *)&peer, data, dlen,
                               sn_now_usec());
            ice_kick(m);
            return r > 0 ? 1 : r < 0 ? r : -EBADMSG;
        }
        if (r != -ESRCH)
            return r;
    }
    if (m->ice && m->ice_started) {
        int r = sn_ice_receive(m->ice, base, &from->sa, buf, len, sn_now_usec());
        /* An answer to no check of the agent's may be the STUN server's
         * to the client below. */
        if (r != 0 && r != -ESRCH) {
            ice_kick(m);
            return r > 0 ? 1 : r;
        }
    }
    if (relayed)
        return -ESRCH;
    return sn_stun_binding_take(rtcp ? &m->stun_rtcp : &m->stun_rtp, buf, len, &from->sa);
}

/* The agent's datagrams leave from the anchor's sockets: base 0 is RTP's,
 * base 1 RTCP's. */
static void ice_send(int base, const struct sockaddr *to, const uint8_t *buf, size_t len,
                     void *user_data)
{
    sn_session_media *m = user_data;
    int fd = base == 1 ? m->anchor->io.rtcp.fd : m->anchor->io.rtp.fd;

    if (base >= 2) {
        (void)sn_turn_alloc_send(base == 3 ? &m->turn_rtcp : &m->turn_rtp, to, buf, len);
        return;
    }
    (void)sendto(fd, buf, len, MSG_DONTWAIT, to,
                 to->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                           : sizeof(struct sockaddr_in));
}

static void random_ice_chars(char *out, size_t n)
{
    static const char set[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint8_t rnd[32];

    if (n > sizeof rnd || getrandom(rnd, n, 0) != (ssize_t)n)
        for (size_t i = 0; i < n && i < sizeof rnd; i++)
            rnd[i] = (uint8_t)(sn_now_usec() >> (i % 8));
    for (size_t i = 0; i < n; i++)
        out[i] = set[rnd[i] % 64];
    out[n] = '\0';
}

/* A candidate of `type` at `at`, derived from `host` (related address:
 * `rel`, or the host's own). */
static int derived(const sn_ice_cand *host, sn_ice_ctype type, const char *foundation,
                   const struct sockaddr_storage *at, const struct sockaddr_storage *rel,
                   sn_ice_cand *out)
{
    int port, rport;

    *out = *host;
    if (sn_addr_from_sockaddr((const struct sockaddr *)at, &out->addr, &port) < 0)
        return -EINVAL;
    snprintf(out->foundation, sizeof out->foundation, "%s", foundation);
    out->port = (uint16_t)port;
    out->type = type;
    out->priority = sn_ice_priority(sn_ice_type_pref(type), 65535, host->component);
    out->has_related = true;
    out->raddr = host->addr;
    out->rport = host->port;
    if (rel && sn_addr_from_sockaddr((const struct sockaddr *)rel, &out->raddr, &rport) == 0)
        out->rport = (uint16_t)rport;
    return 0;
}

/* The agent, with our candidates: each socket's host address, and what
 * STUN says the NAT shows for it (RTP component 1, RTCP component 2). */
static int ice_create(sn_session_media *m, bool controlling)
{
    sn_ice_cfg cfg = {.controlling = controlling,
                      .ufrag = m->ice_ufrag,
                      .pwd = m->ice_pwd,
                      .send = ice_send,
                      .user_data = m};
    char addr[SIPNAT_ADDRSTRLEN];
    int r, port;

    if (m->ice || !m->ice_on)
        return 0;
    if (getrandom(&cfg.tie_breaker, sizeof cfg.tie_breaker, 0) != sizeof cfg.tie_breaker)
        cfg.tie_breaker = sn_now_usec();
    if ((r = sn_ice_agent_new(&m->ice, &cfg)) < 0 ||
        (r = sipnat_anchor_get_local(m->anchor, addr, &port)) < 0)
        return r;
    for (unsigned comp = 1; comp <= 2; comp++) {
        const sn_stun_binding *b = comp == 1 ? &m->stun_rtp : &m->stun_rtcp;
        sn_ice_cand host = {.component = comp, .port = (uint16_t)(port + comp - 1),
                            .type = SN_ICE_HOST};
        snprintf(host.foundation, sizeof host.foundation, "1");
        host.priority = sn_ice_priority(sn_ice_type_pref(SN_ICE_HOST), 65535, comp);
        if ((r = sn_addr_parse(addr, &host.addr)) < 0 ||
            (r = sn_ice_add_local(m->ice, &host, (int)comp - 1)) < 0)
            return r;
        /* What STUN says the NAT shows for the socket, unless that is the
         * socket itself (no NAT). */
        sn_ice_cand srflx;
        if (b->have_mapped &&
            derived(&host, SN_ICE_SRFLX, "2", &b->mapped, NULL, &srflx) == 0 &&
            !(sn_addr_equal(&srflx.addr, &host.addr) && srflx.port == host.port) &&
            (r = sn_ice_add_local(m->ice, &srflx, (int)comp - 1)) < 0)
            return r;
        /* The relayed address (RFC 8445 5.1.1.2): base 2 or 3, its
         * related address the mapping the TURN server saw. */
        const sn_turn_alloc *ta = comp == 1 ? &m->turn_rtp : &m->turn_rtcp;
        sn_ice_cand relay;
        if (ta->state == SN_TURN_READY &&
            derived(&host, SN_ICE_RELAY, "3", &ta->relayed,
                    ta->have_mapped ? &ta->mapped : NULL, &relay) == 0 &&
            (r = sn_ice_add_local(m->ice, &relay, (int)comp + 1)) < 0)
            return r;
    }
    return 0;
}

/* Our credentials and candidates into the audio line of what we send.
 * When the policy advertises another address than the socket's own (the
 * peer is outside local_net: an external or STUN address), the socket's
 * address stays home: no host candidate for it, and the server-reflexive
 * ones say raddr 0.0.0.0 rport 0 (RFC 8839 5.1 allows it), so no LAN
 * address crosses the NAT. The agent still pairs from the socket. */
static int ice_describe(sn_session_media *m, sn_sdesc *d)
{
    char line[160];
    int r;

    if (!m->ice)
        return 0;
    for (size_t i = 0; i < d->n_media; i++) {
        sn_mline *ml = &d->m[i];
        if (ml->type != SN_MT_AUDIO || ml->port == 0)
            continue;
        ml->n_cand = 0;
        for (unsigned comp = 1; comp <= 2; comp++)
            for (int k = 0;; k++) {
                sn_ice_cand c;
                if (sn_ice_local_at(m->ice, (size_t)k, &c) < 0)
                    break;
                if (c.component != comp || ml->n_cand == SN_SDP_MAX_CAND)
                    continue;
                bool hide = c.type == SN_ICE_HOST ? !sn_addr_equal(&c.addr, &m->ours.addr)
                                                  : c.has_related &&
                                                        !sn_addr_equal(&c.raddr, &m->ours.addr);
                if (hide && c.type == SN_ICE_HOST)
                    continue;
                if (hide) {
                    memset(&c.raddr, 0, sizeof c.raddr);
                    sn_addr_parse(c.addr.family == AF_INET6 ? "::" : "0.0.0.0", &c.raddr);
                    c.rport = 0;
                }
                if ((r = sn_ice_cand_format(&c, line, sizeof line)) < 0 ||
                    (r = sn_sdesc_intern(d, &ml->cand[ml->n_cand], line, (size_t)r)) < 0)
                    return r;
                ml->n_cand++;
            }
        /* Nothing we may show (no STUN answer, and the host address stays
         * home): no ICE in this description at all, rather than
         * credentials without candidates. */
        if (ml->n_cand == 0)
            return 0;
        if ((r = sn_sdesc_intern(d, &ml->ice_ufrag, m->ice_ufrag, strlen(m->ice_ufrag))) < 0 ||
            (r = sn_sdesc_intern(d, &ml->ice_pwd, m->ice_pwd, strlen(m->ice_pwd))) < 0)
            return r;
        m->ice_described = true;
        break;
    }
    return 0;
}

/* The peer's ICE: the audio line that has candidates and credentials (its
 * own, else the session's), or NULL when the description does no ICE. */
static const sn_mline *ice_of(const sn_sdesc *d, const char **ufrag, const char **pwd)
{
    for (size_t i = 0; i < d->n_media; i++) {
        const sn_mline *ml = &d->m[i];
        if (ml->type != SN_MT_AUDIO || !ml->port)
            continue;
        *ufrag = sn_sdesc_str(d, ml->ice_ufrag ? ml->ice_ufrag : d->ice_ufrag);
        *pwd = sn_sdesc_str(d, ml->ice_pwd ? ml->ice_pwd : d->ice_pwd);
        return (*ufrag)[0] && (*pwd)[0] && ml->n_cand ? ml : NULL;
    }
    return NULL;
}

/* The peer's credentials and candidates into the agent; checks start. */
static void ice_take(sn_session_media *m, const sn_sdesc *d)
{
    sipnat_ctx *ctx = m->anchor->ctx;
    const char *ufrag, *pwd;
    const sn_mline *ml = ice_of(d, &ufrag, &pwd);

    if (!m->ice || !ml)
        return; /* no ICE on the other side: the call goes on without */
    if (!m->ice_described)
        return; /* we showed no candidate: no checks either */
    if (m->ice_started)
        return; /* a later offer or answer: no ICE restart here */
    if (sn_ice_set_remote_credentials(m->ice, ufrag, pwd) < 0)
        return;
    snprintf(m->ice_rufrag, sizeof m->ice_rufrag, "%s", ufrag);
    for (size_t k = 0; k < ml->n_cand; k++) {
        sn_ice_cand c;
        if (sn_ice_cand_parse(sn_sdesc_str(d, ml->cand[k]), &c, NULL, 0) < 0)
            continue;
        sn_ice_add_remote(m->ice, &c);
        /* The relays let the peer's candidates in (RFC 8656 9). */
        struct sockaddr_storage ss;
        sn_addr_to_sockaddr(&c.addr, c.port, &ss);
        if (m->turn_rtp.state == SN_TURN_READY)
            sn_turn_alloc_permit(&m->turn_rtp, (const struct sockaddr *)&ss);
        if (m->turn_rtcp.state == SN_TURN_READY)
            sn_turn_alloc_permit(&m->turn_rtcp, (const struct sockaddr *)&ss);
    }
    if (sn_ice_start(m->ice, sn_now_usec()) < 0) {
        sn_log(ctx, SIPNAT_LOG_NOTICE, "ice", "%s: no candidate pair to check",
               sipnat_session_get_remote_uri(m->s));
        return;
    }
    m->ice_started = true;
    m->ice_state = SN_ICE_CHECKING;
    sn_ctx_timer_arm(ctx, &m->ice_timer, 0);
}

/* The selected pair takes the media: the anchor sends to it and takes
 * media from it only; later SDP no longer moves it. */
static void ice_apply(sn_session_media *m)
{
    struct sockaddr_storage rtp, rtcp;
    sn_addr ra;
    char a[SIPNAT_ADDRSTRLEN];
    int rport = 0, rtcp_port;

    if (sn_ice_selected(m->ice, 1, NULL, &rtp, NULL, NULL) < 0)
        return;
    sn_addr_from_sockaddr((struct sockaddr *)&rtp, &ra, &rport);
    sn_addr_format(&ra, a, sizeof a);
    rtcp_port = rport + 1;
    if (sn_ice_selected(m->ice, 2, NULL, &rtcp, NULL, NULL) == 0) {
        sn_addr rca;
        sn_addr_from_sockaddr((struct sockaddr *)&rtcp, &rca, &rtcp_port);
    }
    if (sipnat_anchor_set_remote(m->anchor, a, rport, rtcp_port) == 0 &&
        sipnat_anchor_restrict_sources(m->anchor, a) == 0) {
        snprintf(m->remote, sizeof m->remote, "%s", a);
        m->remote_port = rport;
    }
}

static void ice_run(sn_session_media *m)
{
    sipnat_ctx *ctx = m->anchor->ctx;
    uint64_t now = sn_now_usec(), next = sn_ice_tick(m->ice, now);
    sn_ice_state st = sn_ice_get_state(m->ice);
    const char *who = sipnat_session_get_remote_uri(m->s);

    if (st != m->ice_state) {
        m->ice_state = st;
        if (st == SN_ICE_CONNECTED) {
            struct sockaddr_storage rtp, rtcp;
            sn_ice_cand lc, rc;
            sn_addr ra;
            char a[SIPNAT_ADDRSTRLEN], la[SIPNAT_ADDRSTRLEN];
            int rport = 0;
            sn_ice_selected(m->ice, 1, NULL, &rtp, &lc, &rc);
            sn_addr_from_sockaddr((struct sockaddr *)&rtp, &ra, &rport);
            sn_addr_format(&ra, a, sizeof a);
            sn_addr_format(&lc.addr, la, sizeof la);
            sn_log(ctx, SIPNAT_LOG_NOTICE, "ice",
                   "%s: selected pair %s %s:%u -> %s %s:%d (%s)", who,
                   sn_ice_ctype_name(lc.type), la, lc.port, sn_ice_ctype_name(rc.type), a,
                   rport, sn_ice_is_controlling(m->ice) ? "controlling" : "controlled");
            if (lc.type == SN_ICE_RELAY) {
                /* Through the relay: the media moves once the server has
                 * bound the channel (on_turn). */
                m->relay_selected = true;
                sn_turn_alloc_bind(&m->turn_rtp, (const struct sockaddr *)&rtp);
                if (sn_ice_selected(m->ice, 2, NULL, &rtcp, &lc, NULL) == 0 &&
                    lc.type == SN_ICE_RELAY)
                    sn_turn_alloc_bind(&m->turn_rtcp, (const struct sockaddr *)&rtcp);
            } else {
                /* Straight again (after a restart that left the relay). */
                sn_anchor_set_channel(m->anchor, false, NULL, 0, NULL);
                sn_anchor_set_channel(m->anchor, true, NULL, 0, NULL);
                m->relay_selected = false;
                ice_apply(m);
            }
        } else if (st == SN_ICE_FAILED) {
            sn_log(ctx, SIPNAT_LOG_WARNING, "ice",
                   "%s: no candidate pair works; media stays on the SDP's addresses", who);
        } else if (st == SN_ICE_DISCONNECTED) {
            sn_log(ctx, SIPNAT_LOG_WARNING, "ice", "%s: consent lost on the selected pair",
                   who);
        }
    }
    if (st == SN_ICE_CHECKING || st == SN_ICE_CONNECTED)
        sn_ctx_timer_arm(ctx, &m->ice_timer, next > now ? next - now : 0);
}

static void ice_timer(sn_timer *t, void *arg)
{
    (void)t;
    ice_run(arg);
}

/* Forget the agent and our credentials: the next description gets new
 * ones and new checks run (the answerer is controlled again, RFC 8445
 * 9). Media stays on the pair selected before until a new one is. */
static void ice_restart(sn_session_media *m)
{
    sn_log(m->anchor->ctx, SIPNAT_LOG_NOTICE, "ice", "%s: ICE restart (new credentials)",
           sipnat_session_get_remote_uri(m->s));
    sn_ctx_timer_stop(m->anchor->ctx, &m->ice_timer);
    sn_ice_agent_free(m->ice);
    m->ice = NULL;
    m->ice_started = false;
    m->ice_described = false;
    m->relay_selected = false;
    m->ice_state = SN_ICE_CHECKING;
    m->ice_rufrag[0] = '\0';
    random_ice_chars(m->ice_ufrag, sizeof m->ice_ufrag - 1);
    random_ice_chars(m->ice_pwd, sizeof m->ice_pwd - 1);
}

bool sn_media_ice_selected(const sn_session_media *m)
{
    return m->ice && m->ice_state == SN_ICE_CONNECTED;
}

/* Outside the receive path, as stun_ready. */
static void stun_moved(sn_timer *t, void *arg)
{
    sn_session_media *m = arg;
    (void)t;

    sn_session_media_moved(m->s);
}

static void stun_ready(sn_timer *t, void *arg)
{
    sn_session_media *m = arg;
    (void)t;

    m->stun_wait = false;
    sn_session_stun_ready(m->s);
}

static void on_binding(sn_stun_binding *b, bool ok, void *user_data)
{
    sn_session_media *m = user_data;
    sipnat_transport *t = sn_session_endpoint(m->s)->t;
    bool rtcp = b == &m->stun_rtcp;
    int local = m->local_port + (rtcp ? 1 : 0);
    char addr[SIPNAT_ADDRSTRLEN] = "?";
    sn_addr mapped;
    int port = 0;

    if (ok && sn_addr_from_sockaddr((const struct sockaddr *)&b->mapped, &mapped,
                                    &port) == 0) {
        sn_addr_format(&mapped, addr, sizeof addr);
        if (!rtcp)
            sn_policy_stun_learned(t->policy, sn_stun_server_name(b->stun),
                                   &mapped, b->learned_at);
        sn_log(t->ctx, SIPNAT_LOG_INFO, "stun",
               "%s port %d is %s:%d outside (STUN server %s)",
               rtcp ? "RTCP" : "RTP", local, addr, port, sn_stun_server_name(b->stun));
        /* A refresh: the session re-INVITEs if what the SDP would name
         * now differs from what the peer has; the other socket's answer,
         * asked at the same moment, is given time to come first. */
        if (!m->stun_wait && m->local && !sn_timer_armed(&m->moved_timer))
            sn_ctx_timer_arm(t->ctx, &m->moved_timer, 2 * SN_STUN_RTO_USEC);
    } else if (m->stun_wait) {
        sn_log(t->ctx, SIPNAT_LOG_NOTICE, "stun",
               "%s port %d: no mapping from %s; the SDP names what the "
               "policy advertises, with the local port",
               rtcp ? "RTCP" : "RTP", local, sn_stun_server_name(b->stun));
    }
    if (m->stun_wait && discovery_settled(m) && !sn_timer_armed(&m->stun_timer))
        sn_ctx_timer_arm(t->ctx, &m->stun_timer, 0);
}

/* Every socket's STUN and TURN questions answered (or given up). */
static bool discovery_settled(const sn_session_media *m)
{
    return (!m->stun_rtp.stun || (m->stun_rtp.settled && m->stun_rtcp.settled)) &&
           (!m->turn_rtp.turn || (m->turn_rtp.state != SN_TURN_ALLOCATING &&
                                  m->turn_rtcp.state != SN_TURN_ALLOCATING));
}

static void on_turn(sn_turn_alloc *ta, sn_turn_event ev, void *user_data)
{
    sn_session_media *m = user_data;
    sipnat_ctx *ctx = m->anchor->ctx;
    bool rtcp = ta == &m->turn_rtcp;
    char addr[SIPNAT_ADDRSTRLEN] = "?";
    sn_addr x;
    int port = 0;

    switch (ev) {
    case SN_TURN_EV_ALLOCATED:
        if (sn_addr_from_sockaddr((const struct sockaddr *)&ta->relayed, &x, &port) == 0)
            sn_addr_format(&x, addr, sizeof addr);
        sn_log(ctx, SIPNAT_LOG_INFO, "turn", "%s port %d is relayed at %s:%d (TURN server %s)",
               rtcp ? "RTCP" : "RTP", m->local_port + (rtcp ? 1 : 0), addr, port,
               sn_turn_server_name(ta->turn));
        break;
    case SN_TURN_EV_FAILED:
        if (rtcp)
            sn_anchor_set_channel(m->anchor, true, NULL, 0, NULL);
        else
            sn_anchor_set_channel(m->anchor, false, NULL, 0, NULL);
        break;
    case SN_TURN_EV_CHANNEL:
        sn_anchor_set_channel(m->anchor, rtcp, sn_turn_server_sa(ta->turn), SN_TURN_CHANNEL,
                              (const struct sockaddr *)&ta->chan_peer);
        if (!rtcp && m->relay_selected)
            ice_apply(m);
        sn_log(ctx, SIPNAT_LOG_INFO, "turn", "%s relayed through channel 0x%04x of %s",
               rtcp ? "RTCP" : "RTP", SN_TURN_CHANNEL, sn_turn_server_name(ta->turn));
        break;
    }
    if (m->stun_wait && discovery_settled(m) && !sn_timer_armed(&m->stun_timer))
        sn_ctx_timer_arm(ctx, &m->stun_timer, 0);
}

/* Ask the transport's STUN server for both sockets' mappings. */
static int stun_start(sn_session_media *m, sipnat_transport *t)
{
    int r;

    sn_timer_init(&m->stun_timer, stun_ready, m);
    sn_timer_init(&m->moved_timer, stun_moved, m);
    if (!t->stun && !(t->turn && m->ice_on))
        return 0;
    sn_anchor_set_stun_func(m->anchor, on_anchor_stun, m);
    m->stun_wait = true;
    r = 0;
    /* Relayed candidates are for ICE only. */
    if (t->turn && m->ice_on) {
        r = sn_turn_alloc_start(&m->turn_rtp, t->turn, m->anchor->io.rtp.fd, on_turn, m);
        if (r == 0)
            r = sn_turn_alloc_start(&m->turn_rtcp, t->turn, m->anchor->io.rtcp.fd, on_turn,
                                    m);
    }
    if (r == 0 && t->stun)
        r = sn_stun_binding_start(&m->stun_rtp, t->stun, m->anchor->io.rtp.fd,
                                  on_binding, m);
    if (r == 0 && t->stun)
        r = sn_stun_binding_start(&m->stun_rtcp, t->stun, m->anchor->io.rtcp.fd,
                                  on_binding, m);
    return r;
}

bool sn_media_stun_waiting(const sn_session_media *m)
{
    return m->stun_wait;
}


void sn_media_relatch(sn_session_media *m)
{
    if (m->remote_port && !m->direct)
        sn_anchor_relatch(m->anchor);
}

void sn_media_network_changed(sn_session_media *m)
{
    sipnat_transport *t = sn_session_endpoint(m->s)->t;

    if (!t->stun || !m->stun_rtp.stun)
        return;
    sn_stun_binding_stop(&m->stun_rtp);
    sn_stun_binding_stop(&m->stun_rtcp);
    if (sn_stun_binding_start(&m->stun_rtp, t->stun, m->anchor->io.rtp.fd,
                              on_binding, m) < 0 ||
        sn_stun_binding_start(&m->stun_rtcp, t->stun, m->anchor->io.rtcp.fd,
                              on_binding, m) < 0)
        sn_log(t->ctx, SIPNAT_LOG_WARNING, "stun",
               "cannot ask for the media mappings again");
}

/* The port a binding says the NAT shows for `addr`, or `local`. */
static uint16_t mapped_port(const sn_stun_binding *b, const sn_addr *addr,
                            uint16_t local)
{
    sn_addr a;
    int port;

    if (!b->have_mapped ||
        sn_addr_from_sockaddr((const struct sockaddr *)&b->mapped, &a, &port) < 0 ||
        !sn_addr_equal(&a, addr))
        return local;
    return (uint16_t)port;
}

/* What our SDP names as the media's address (its "default candidate"):
 * what the policy advertises at `addr`, with the ports the NAT shows when
 * that address is the one STUN reported; once ICE has selected a relayed
 * pair, the relayed address (RFC 8445 appendix B.9, RFC 8839 4.2.1.3: a
 * peer that follows the SDP's address, as some do after a re-INVITE,
 * then keeps using the path that works). */
static void sdp_addr(const sn_session_media *m, const sn_addr *addr, sn_local_addr *out)
{
    sn_ice_cand lc, lc2;

    out->addr = *addr;
    out->rtp_port = mapped_port(&m->stun_rtp, addr, m->local_port);
    out->rtcp_port = mapped_port(&m->stun_rtcp, addr, (uint16_t)(m->local_port + 1));
    /* The agent's own word: a nomination may have arrived just before the
     * peer's re-INVITE, before the timer has looked at the agent. */
    if (m->ice && sn_ice_selected(m->ice, 1, NULL, NULL, &lc, NULL) == 0 &&
        lc.type == SN_ICE_RELAY) {
        out->addr = lc.addr;
        out->rtp_port = lc.port;
        out->rtcp_port = sn_ice_selected(m->ice, 2, NULL, NULL, &lc2, NULL) == 0
                             ? lc2.port
                             : (uint16_t)(lc.port + 1);
    }
}

bool sn_media_moved(const sn_session_media *m, const char *addr)
{
    sn_addr a;
    sn_local_addr now;

    if (!m->local || sn_addr_parse(addr, &a) < 0)
        return false;
    sdp_addr(m, &a, &now);
    return !sn_addr_equal(&now.addr, &m->ours.addr) || now.rtp_port != m->ours.rtp_port ||
           now.rtcp_port != m->ours.rtcp_port;
}

static void on_media_event(const sipnat_event *ev, void *user_data)
{
    sn_session_media *m = user_data;

    if (ev->type != SIPNAT_EVENT_MEDIA)
        return;
    if (ev->state == SIPNAT_MEDIA_TIMEOUT)
        sn_session_media_failed(m->s, 408, "RTP timeout");
    else if (ev->state == SIPNAT_MEDIA_SRTP_FAILED)
        sn_session_media_failed(m->s, 488, "SRTP authentication failed (wrong key?)");
    else if (ev->state == SIPNAT_MEDIA_NO_COMMON_CODEC)
        sn_session_no_common_codec(m->s);
}

/* "PCMU,PCMA,G722,opus" as the Asterisk names the prefs take. */
static int prefs_from(sn_media_prefs *p, const char *codecs)
{
    static const char *const names[][2] = {
        {"PCMU", "ulaw"}, {"PCMA", "alaw"}, {"G722", "g722"}, {"opus", "opus"}};
    char list[64] = "";
    const char *c = codecs;

    sn_media_prefs_default(p);
    while (c && *c) {
        size_t n = strcspn(c, ",");
        const char *name = NULL;
        for (size_t k = 0; k < sizeof names / sizeof names[0]; k++)
            if (strlen(names[k][0]) == n && strncmp(c, names[k][0], n) == 0)
                name = names[k][1];
        if (name)
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
                     list[0] ? "," : "", name);
        c += n + (c[n] == ',');
    }
    return list[0] ? sn_media_prefs_allow(p, list) : 0;
}

/* media_encryption=sdes: a fresh key per call for each suite this
 * libsrtp2 runs, the AES-CM ones first (what most peers have). */
static int prefs_keys(sn_media_prefs *p, const sipnat_endpoint *ep)
{
    static const sn_srtp_suite order[] = {
        SN_SRTP_AES_CM_128_HMAC_SHA1_80, SN_SRTP_AES_CM_128_HMAC_SHA1_32,
        SN_SRTP_AEAD_AES_128_GCM, SN_SRTP_AEAD_AES_256_GCM,
    };
    int r;

    p->sdes = ep->cfg.sdes;
    p->optimistic = ep->cfg.sdes_optimistic;
    for (size_t i = 0; p->sdes && i < sizeof order / sizeof order[0]; i++) {
        if (!sn_srtp_suite_available(order[i]))
            continue;
        r = sn_crypto_key_random(&p->keys[p->n_keys], 0, order[i]);
        if (r < 0)
            return r;
        p->n_keys++;
    }
    return p->sdes && p->n_keys == 0 ? -ENOTSUP : 0;
}

int sn_media_new(sn_session_media **ret, sipnat_session *s, const char *local)
{
    sipnat_endpoint *ep = sn_session_endpoint(s);
    sipnat_transport *t = ep->t;
    sipnat_anchor_cfg *ac = NULL;
    sn_session_media *m;
    char addr[SIPNAT_ADDRSTRLEN];
    int r, port = 0;

    *ret = NULL;
    m = calloc(1, sizeof *m);
    if (!m)
        return -ENOMEM;
    m->s = s;
    if (getrandom(&m->sess_id, sizeof m->sess_id, 0) != sizeof m->sess_id)
        m->sess_id = sn_now_usec();
    m->sess_id &= 0x3fffffffffffffffULL; /* fits o= as a decimal */
    r = prefs_from(&m->prefs, ep->cfg.codecs);
    /* RTCP on the RTP port for the endpoints that do ICE: one port to
     * get through the NAT, not two (RFC 5761, as ICE peers do). */
    m->prefs.rtcp_mux = ep->cfg.ice;
    if (r == 0)
        r = prefs_keys(&m->prefs, ep);
    if (r == 0)
        r = sipnat_anchor_cfg_new(&ac);
    if (r == 0)
        r = sipnat_anchor_cfg_set_bind(ac, local);
    if (r == 0)
        r = sipnat_anchor_cfg_set_port_range(ac, t->rtp_min, t->rtp_max);
    if (r == 0)
        r = sipnat_anchor_cfg_set_symmetric(ac, ep->cfg.rtp_symmetric);
    if (r == 0)
        r = sipnat_anchor_cfg_set_timeout(ac, ep->cfg.rtp_timeout);
    if (r == 0)
        r = sipnat_anchor_cfg_set_event_func(ac, on_media_event, m);
    if (r == 0)
        r = sipnat_anchor_new(&m->anchor, t->ctx, ac);
    sipnat_anchor_cfg_free(ac);
    if (r == 0)
        r = sipnat_anchor_get_local(m->anchor, addr, &port);
    if (r < 0) {
        sn_media_free(m);
        return r;
    }
    m->local_port = (uint16_t)port;
    m->ours.rtp_port = (uint16_t)port;
    m->ours.rtcp_port = (uint16_t)(port + 1);
    sn_timer_init(&m->ice_timer, ice_timer, m);
    m->ice_on = ep->cfg.ice;
    if (m->ice_on) {
        random_ice_chars(m->ice_ufrag, sizeof m->ice_ufrag - 1);
        random_ice_chars(m->ice_pwd, sizeof m->ice_pwd - 1);
        sn_anchor_set_stun_func(m->anchor, on_anchor_stun, m);
    }
    r = stun_start(m, t);
    if (r < 0) {
        sn_media_free(m);
        return r;
    }
    *ret = m;
    return 0;
}

void sn_media_free(sn_session_media *m)
{
    if (!m)
        return;
    sn_stun_binding_stop(&m->stun_rtp);
    sn_stun_binding_stop(&m->stun_rtcp);
    sn_turn_alloc_stop(&m->turn_rtp);
    sn_turn_alloc_stop(&m->turn_rtcp);
    if (m->anchor) {
        sn_ctx_timer_stop(m->anchor->ctx, &m->stun_timer);
        sn_ctx_timer_stop(m->anchor->ctx, &m->ice_timer);
        sn_ctx_timer_stop(m->anchor->ctx, &m->moved_timer);
        sn_anchor_set_stun_func(m->anchor, NULL, NULL);
    }
    sn_ice_agent_free(m->ice);
    sipnat_anchor_unref(m->anchor);
    explicit_bzero(m->prefs.keys, sizeof m->prefs.keys);
    free(m->local);
    free(m);
}

sipnat_anchor *sn_media_anchor(sn_session_media *m)
{
    return m->anchor;
}

/* The address the SDP names: what the policy advertises; the ports the
 * NAT shows when that address is the one STUN reported for them. */
static int set_addr(sn_session_media *m, const char *addr)
{
    sn_addr a;

    if (sn_addr_parse(addr, &a) < 0)
        return -EINVAL;
    sdp_addr(m, &a, &m->ours);
    return 0;
}

/* The last description we sent, parsed again (*out malloc'ed), or NULL. */
static int last_sent(sn_session_media *m, sn_sdesc **out)
{
    char why[64];
    int r;

    *out = NULL;
    if (!m->local)
        return 0;
    *out = malloc(sizeof **out);
    if (!*out)
        return -ENOMEM;
    r = sn_sdp_parse(m->local, strlen(m->local), *out, why, sizeof why);
    if (r < 0) {
        free(*out);
        *out = NULL;
    }
    return r;
}

/* Stamp (origin, version) and print what we send; keep its text. */
static int emit(sn_session_media *m, sn_sdesc *d, char **sdp)
{
    char *buf, *keep;
    sn_sdesc *prev;
    int r = last_sent(m, &prev);

    if (r == 0)
        r = sn_mdesc_stamp(d, prev, m->sess_id);
    free(prev);
    if (r < 0)
        return r;
    buf = malloc(4096);
    if (!buf)
        return -ENOMEM;
    r = sn_sdp_print(d, buf, 4096);
    if (r < 0 || !(keep = strdup(buf))) {
        free(buf);
        return r < 0 ? r : -ENOMEM;
    }
    free(m->local);
    m->local = keep;
    *sdp = buf;
    return 0;
}

/* What the exchange decided, into the anchor. */
static int apply(sn_session_media *m, const sn_negotiated *n, sn_media_change *chg)
{
    char remote[SIPNAT_ADDRSTRLEN], rtcp[SIPNAT_ADDRSTRLEN];
    int r;

    sn_addr_format(&n->remote, remote, sizeof remote);
    sn_addr_format(&n->rtcp_remote, rtcp, sizeof rtcp);
    memset(chg, 0, sizeof *chg);
    chg->remote_hold = n->held;
    bool fresh = strcmp(remote, m->remote) != 0 || n->rtp_port != m->remote_port;
    chg->moved = m->remote_port && fresh;
    /* ICE chose the path: later SDP addresses do not move the media. */
    if (sn_media_ice_selected(m))
        fresh = false;
    if (fresh) {
        /* A new address: the anchor opens a new latching window there. */
        r = sipnat_anchor_set_remote(m->anchor, remote, n->rtp_port, n->rtcp_port);
        if (r < 0)
            return r;
        snprintf(m->remote, sizeof m->remote, "%s", remote);
        m->remote_port = n->rtp_port;
        /* Only the peer's hosts may latch: its SDP's and its SIP's. */
        r = sipnat_anchor_restrict_sources(m->anchor, sn_session_peer_address(m->s));
        if (r < 0)
            return r;
    }
    sn_anchor_set_rtcp_mux(m->anchor, n->rtcp_mux);
    r = sipnat_anchor_set_codec(m->anchor, n->pt, n->codec, n->dtmf_pt, n->ptime);
    if (r == 0)
        r = sn_anchor_set_srtp_keys(m->anchor, n->srtp ? &n->tx_key : NULL,
                                    n->srtp ? &n->rx_key : NULL);
    if (r == 0)
        r = sipnat_anchor_set_direction(m->anchor, n->send, n->recv);
    /* Behind a NAT found by STUN: open its filter toward the peer now,
     * before the peer's first packet can take the mapping STUN saw. */
    if (r == 0 && fresh && m->stun_rtp.stun && n->send)
        sn_anchor_open_path(m->anchor);
    return r;
}

int sn_media_offer(sn_session_media *m, const char *addr, bool hold, char **sdp)
{
    sn_sdesc d;
    int r;

    *sdp = NULL;
    if ((r = set_addr(m, addr)) < 0)
        return r;
    r = sn_mdesc_offer(&m->prefs, &m->ours, hold ? SN_DIR_SENDONLY : SN_DIR_SENDRECV,
                       &d);
    /* The offerer controls (RFC 8445 6.1.1). */
    if (r == 0)
        r = ice_create(m, true);
    if (r == 0)
        r = ice_describe(m, &d);
    if (r == 0)
        r = emit(m, &d, sdp);
    if (r == 0) {
        m->offer_out = true;
        m->direct = false;
    }
    return r;
}

int sn_media_peer(sn_session_media *m, char *addr, size_t len, int *port)
{
    if (!m->remote_port)
        return -ENOTCONN;
    snprintf(addr, len, "%s", m->remote);
    *port = m->remote_port;
    return 0;
}

bool sn_media_encrypted(sn_session_media *m)
{
    return m->prefs.sdes;
}

int sn_media_offer_direct(sn_session_media *m, const char *addr, int port, char **sdp)
{
    sn_local_addr other = m->ours;
    sn_sdesc d;
    int r;

    *sdp = NULL;
    if (sn_addr_parse(addr, &other.addr) < 0 || port < 1 || port > 65534)
        return -EINVAL;
    other.rtp_port = (uint16_t)port;
    other.rtcp_port = (uint16_t)(port + 1);
    r = sn_mdesc_offer(&m->prefs, &other, SN_DIR_SENDRECV, &d);
    if (r == 0)
        r = emit(m, &d, sdp);
    if (r == 0) {
        m->offer_out = true;
        m->direct = true;
    }
    return r;
}

/* ICE attributes of the peer's SDP that are not used (malformed, TCP,
 * mDNS, too many): one log line per description, the call goes on. */
static void log_ice_ignored(const sn_session_media *m, const sn_sdesc *d)
{
    unsigned n = d->n_ice_ignored;
    const char *first = n ? sn_sdesc_str(d, d->ice_ignored_why) : NULL;

    for (size_t i = 0; i < d->n_media; i++) {
        n += d->m[i].n_ice_ignored;
        if (!first && d->m[i].n_ice_ignored)
            first = sn_sdesc_str(d, d->m[i].ice_ignored_why);
    }
    if (n)
        sn_log(sn_session_endpoint(m->s)->t->ctx, SIPNAT_LOG_NOTICE, "session",
               "%s: %u ICE attribute%s of the SDP ignored (first: %s)",
               sipnat_session_get_remote_uri(m->s), n, n == 1 ? "" : "s",
               first ? first : "");
}

int sn_media_take_offer(sn_session_media *m, const char *offer, size_t len,
                        const char *addr, bool hold, char **sdp, int *status,
                        char *why, size_t why_len, sn_media_change *change)
{
    sn_sdesc in, out;
    sn_negotiated n;
    int r;

    *sdp = NULL;
    *status = 0;
    if ((r = set_addr(m, addr)) < 0) {
        *status = 500;
        return r;
    }
    r = sn_sdp_parse(offer, len, &in, why, why_len);
    if (r < 0) {
        *status = sn_sdp_status(r);
        return r;
    }
    log_ice_ignored(m, &in);
    r = sn_mdesc_answer(&in, &m->prefs, &m->ours, hold ? SN_DIR_SENDONLY : SN_DIR_SENDRECV,
                        &out);
    if (r < 0) {
        *status = r == -ENOTSUP ? 488 : 500;
        snprintf(why, why_len, "%s", r == -ENOTSUP ? "Not Acceptable Here"
                                                   : "cannot answer");
        return r;
    }
    r = sn_mdesc_result(&out, &in, &n);
    /* ICE in the answer only when the offer had it (RFC 8839 4.2), and
     * once the STUN mappings are in (the answer waits for them too: this
     * runs again then), so that the server-reflexive candidates are there. */
    const char *ufrag, *pwd;
    if (r == 0 && !m->stun_wait && ice_of(&in, &ufrag, &pwd)) {
        /* New credentials in an offer: an ICE restart (RFC 8445 9). */
        if (m->ice_started && strcmp(ufrag, m->ice_rufrag) != 0)
            ice_restart(m);
        r = ice_create(m, false);
        if (r == 0)
            r = ice_describe(m, &out);
        if (r == 0)
            ice_take(m, &in);
    }
    if (r == 0)
        r = apply(m, &n, change);
    if (r == 0)
        r = emit(m, &out, sdp);
    if (r < 0) {
        *status = r == -ENOTSUP ? 488 : 500;
        snprintf(why, why_len, "%s", sipnat_strerror(r));
        free(*sdp);
        *sdp = NULL;
        return r;
    }
    m->offer_out = false;
    return 0;
}

int sn_media_take_answer(sn_session_media *m, const char *answer, size_t len,
                         char *why, size_t why_len, sn_media_change *change)
{
    sn_sdesc in;
    sn_negotiated n;
    int r;

    if (!m->offer_out) {
        snprintf(why, why_len, "an answer to no offer");
        return -EPROTO;
    }
    r = sn_sdp_parse(answer, len, &in, why, why_len);
    if (r < 0)
        return r;
    log_ice_ignored(m, &in);
    sn_sdesc *offer;
    r = last_sent(m, &offer);
    if (r == 0)
        r = offer ? sn_mdesc_accept_answer(offer, &in, &n) : -EPROTO;
    free(offer);
    if (r < 0) {
        snprintf(why, why_len, "%s",
                 r == -EPROTO ? "the answer breaks offer/answer (RFC 3264)"
                              : "no usable audio in the answer");
        return r;
    }
    m->offer_out = false;
    ice_take(m, &in);
    r = apply(m, &n, change);
    /* Direct media: the peers talk to each other; the anchor idles (and
     * its rtp_timeout with it). */
    if (r == 0 && m->direct)
        r = sipnat_anchor_set_direction(m->anchor, 0, 0);
    return r;
}
