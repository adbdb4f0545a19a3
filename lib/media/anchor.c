/*
 * libsipnat - the RTP anchor: configuration, lifetime, signalled state,
 * timers (rtp_timeout, keep-alive, DTMF pacing), and the anchor's own
 * stream (host audio, DTMF, keep-alives). The receive path is
 * anchor_rx.c; the sockets are a port pair of the ctx's relay.
 */
#include "media/anchor.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#define PORT_MIN_DEFAULT 10000
#define PORT_MAX_DEFAULT 20000
#define PROBATION_DEFAULT 4
#define PROBATION_MAX 1000
#define TIMEOUT_MAX 86400
#define KEEPALIVE_MAX 3600
#define DTMF_MS_MIN 10
#define DTMF_MS_MAX 8000 /* the 16-bit duration field at 8 kHz */
#define PTIME_DEFAULT 20
#define DTMF_VOLUME 10
#define USEC 1000000u

/* -- configuration --------------------------------------------------------- */

SIPNAT_API int sipnat_anchor_cfg_new(sipnat_anchor_cfg **ret)
{
    sipnat_anchor_cfg *cfg;

    SN_RETURN_IF(!ret, -EINVAL);
    *ret = NULL;
    cfg = calloc(1, sizeof *cfg);
    if (!cfg)
        return -ENOMEM;
    sn_addr_parse("0.0.0.0", &cfg->bind);
    cfg->port_min = PORT_MIN_DEFAULT;
    cfg->port_max = PORT_MAX_DEFAULT;
    cfg->symmetric = true;
    cfg->probation = PROBATION_DEFAULT;
    *ret = cfg;
    return 0;
}

SIPNAT_API sipnat_anchor_cfg *sipnat_anchor_cfg_free(sipnat_anchor_cfg *cfg)
{
    free(cfg);
    return NULL;
}

SIPNAT_API int sipnat_anchor_cfg_set_bind(sipnat_anchor_cfg *cfg, const char *address)
{
    sn_addr a;

    SN_RETURN_IF(!cfg || !address, -EINVAL);
    SN_RETURN_IF(sn_addr_parse(address, &a) < 0, -EINVAL);
    cfg->bind = a;
    return 0;
}

SIPNAT_API int sipnat_anchor_cfg_set_port_range(sipnat_anchor_cfg *cfg, int min, int max)
{
    SN_RETURN_IF(!cfg || min < 1 || max > 65535 || min > max, -EINVAL);
    /* Room for one even RTP port and the odd RTCP port after it. */
    SN_RETURN_IF(((min + 1) & ~1) + 1 > max, -EINVAL);
    cfg->port_min = min;
    cfg->port_max = max;
    return 0;
}

SIPNAT_API int sipnat_anchor_cfg_set_symmetric(sipnat_anchor_cfg *cfg, int on)
{
    SN_RETURN_IF(!cfg || (on != 0 && on != 1), -EINVAL);
    cfg->symmetric = on;
    return 0;
}

SIPNAT_API int sipnat_anchor_cfg_set_probation(sipnat_anchor_cfg *cfg, unsigned packets)
{
    SN_RETURN_IF(!cfg || packets < 1 || packets > PROBATION_MAX, -EINVAL);
    cfg->probation = packets;
    return 0;
}

SIPNAT_API int sipnat_anchor_cfg_set_timeout(sipnat_anchor_cfg *cfg, unsigned seconds)
{
    SN_RETURN_IF(!cfg || seconds > TIMEOUT_MAX, -EINVAL);
    cfg->timeout = seconds;
    return 0;
}

SIPNAT_API int sipnat_anchor_cfg_set_keepalive(sipnat_anchor_cfg *cfg, unsigned seconds)
{
    SN_RETURN_IF(!cfg || seconds > KEEPALIVE_MAX, -EINVAL);
    cfg->keepalive = seconds;
    return 0;
}

SIPNAT_API int sipnat_anchor_cfg_set_event_func(sipnat_anchor_cfg *cfg,
                                                sipnat_event_func func,
                                                void *user_data)
{
    SN_RETURN_IF(!cfg, -EINVAL);
    cfg->func = func;
    cfg->user_data = user_data;
    return 0;
}

/* -- helpers --------------------------------------------------------------- */

/* Timers armed from the host's own call reach a push-mode host now;
 * inside a process call the loop publishes them on its way out. */
static void publish(sipnat_ctx *ctx)
{
    if (!ctx->in_process && !ctx->in_callback)
        sn_loop_commit(ctx);
}

static int format_sockaddr(const sn_sockaddr *s, char *buf, size_t size, int *port)
{
    sn_addr a;

    if (sn_addr_from_sockaddr(&s->sa, &a, port) < 0)
        return -EINVAL;
    return sn_addr_format(&a, buf, size);
}

const sn_sockaddr *sn_anchor_rtp_dest(const sipnat_anchor *a)
{
    if (a->cfg.symmetric && a->latch.latched)
        return &a->latch.src;
    return a->have_remote ? &a->sdp_rtp : NULL;
}

const sn_sockaddr *sn_anchor_rtcp_dest(const sipnat_anchor *a, sn_sockaddr *tmp)
{
    if (a->rtcp_mux)
        return sn_anchor_rtp_dest(a);
    if (a->cfg.symmetric && a->latch.rtcp_latched)
        return &a->latch.rtcp_src;
    if (a->cfg.symmetric && a->latch.latched) {
        /* No RTCP from the peer yet: its latched host, at the signalled
         * RTCP port (right through port-preserving NATs), else RTP + 1. */
        int port = a->have_remote ? sn_sockaddr_port(&a->sdp_rtcp)
                                  : sn_sockaddr_port(&a->latch.src) + 1;
        *tmp = a->latch.src;
        if (tmp->sa.sa_family == AF_INET)
            tmp->in.sin_port = htons((uint16_t)port);
        else
            tmp->in6.sin6_port = htons((uint16_t)port);
        return tmp;
    }
    return a->have_remote ? &a->sdp_rtcp : NULL;
}

void sn_anchor_emit(sipnat_anchor *a, sipnat_media_state state, char digit,
                    unsigned duration_ms)
{
    static const char *const phrases[] = {"", "latched", "media timeout", "DTMF",
                                          "SRTP authentication failing",
                                          "no codec in common with the bridged leg"};
    char addr[SIPNAT_ADDRSTRLEN] = "";
    int port = 0;

    if (a->latch.latched)
        format_sockaddr(&a->latch.src, addr, sizeof addr, &port);
    if (state == SIPNAT_MEDIA_LATCHED)
        sn_log(a->ctx, SIPNAT_LOG_INFO, "media", "port %d latched %s port %d",
               a->io.port, addr, port);
    else if (state == SIPNAT_MEDIA_TIMEOUT)
        sn_log(a->ctx, SIPNAT_LOG_NOTICE, "media",
               "port %d: no media for %u s", a->io.port, a->cfg.timeout);
    else if (state == SIPNAT_MEDIA_SRTP_FAILED)
        sn_log(a->ctx, SIPNAT_LOG_WARNING, "media",
               "port %d: %u SRTP packets in a row failed authentication", a->io.port,
               a->srtp_fail_run);
    else if (state == SIPNAT_MEDIA_NO_COMMON_CODEC)
        sn_log(a->ctx, SIPNAT_LOG_WARNING, "media",
               "port %d: bridged legs share no codec (%s/%u here, %s/%u on port %d): "
               "audio not relayed", a->io.port, a->coder.ops->name, a->clock,
               a->peer && a->peer->coder.ops ? a->peer->coder.ops->name : "?",
               a->peer ? a->peer->clock : 0, a->peer ? a->peer->io.port : 0);
    if (!a->cfg.func)
        return;
    sipnat_event ev = {
        .size = sizeof ev,
        .type = SIPNAT_EVENT_MEDIA,
        .phrase = phrases[state],
        .state = (int)state,
        .address = addr[0] ? addr : NULL,
        .port = port,
        .digit = digit,
        .duration_ms = duration_ms,
    };
    sipnat_anchor_ref(a);
    sn_cb_enter(a->ctx);
    a->cfg.func(&ev, a->cfg.user_data);
    sn_cb_leave(a->ctx);
    sipnat_anchor_unref(a);
}

/* Our own stream's packet to the peer: host audio, DTMF, keep-alive. p
 * has SN_SRTP_TAILROOM bytes after len, for SRTP. */
static int send_own(sipnat_anchor *a, uint8_t *p, size_t len)
{
    const sn_sockaddr *dst = sn_anchor_rtp_dest(a);
    ssize_t r;

    if (!dst) {
        a->st.tx_dropped++;
        return -ENOTCONN;
    }
    if (a->srtp_tx && sn_srtp_protect(a->srtp_tx, p, &len, false) < 0) {
        a->seq++;
        a->st.tx_srtp_failed++;
        return -EIO;
    }
    r = sn_anchor_sendto(a, false, p, len, dst);
    a->seq++;
    a->last_tx = sn_now_usec();
    if (r < 0) {
        a->st.tx_dropped++;
        return -errno;
    }
    a->st.tx_packets++;
    a->st.tx_bytes += len;
    return 0;
}

/* -- timers ---------------------------------------------------------------- */

static void on_timeout(sn_timer *t, void *arg)
{
    sipnat_anchor *a = arg;
    uint64_t period = (uint64_t)a->cfg.timeout * USEC;
    uint64_t idle = sn_now_usec() - a->last_rx;

    if (!a->recv || !a->cfg.timeout)
        return;
    if (idle < period) {
        sn_ctx_timer_arm(a->ctx, t, period - idle);
        return;
    }
    sn_ctx_timer_arm(a->ctx, t, period);
    if (!a->timeout_reported) {
        a->timeout_reported = true;
        sn_anchor_emit(a, SIPNAT_MEDIA_TIMEOUT, 0, 0);
    }
}

static void arm_timeout(sipnat_anchor *a)
{
    if (!a->cfg.timeout || !a->recv || !a->have_remote) {
        sn_ctx_timer_stop(a->ctx, &a->timeout_timer);
        return;
    }
    if (sn_timer_armed(&a->timeout_timer))
        return;
    /* Counted from when receiving starts. */
    a->last_rx = sn_now_usec();
    a->timeout_reported = false;
    sn_ctx_timer_arm(a->ctx, &a->timeout_timer, (uint64_t)a->cfg.timeout * USEC);
}

/* RFC 6263 4.2: a comfort noise packet, the lowest noise level. */
static int send_cn(sipnat_anchor *a)
{
    uint8_t p[SN_RTP_HEADER + 1 + SN_SRTP_TAILROOM];

    sn_rtp_write_header(p, SN_RTP_PT_CN, false, a->seq, a->ts, a->ssrc);
    p[SN_RTP_HEADER] = 127;
    return send_own(a, p, SN_RTP_HEADER + 1);
}

/* An empty receiver report (RFC 3550 6.4.2) from the RTCP socket. */
static int send_empty_rr(sipnat_anchor *a)
{
    uint8_t p[8 + SN_SRTP_TAILROOM] = {0x80, 201, 0x00, 0x01};
    sn_sockaddr tmp;
    const sn_sockaddr *dst = sn_anchor_rtcp_dest(a, &tmp);
    size_t len = 8;
    ssize_t r;

    if (!dst)
        return -ENOTCONN;
    p[4] = (uint8_t)(a->ssrc >> 24);
    p[5] = (uint8_t)(a->ssrc >> 16);
    p[6] = (uint8_t)(a->ssrc >> 8);
    p[7] = (uint8_t)a->ssrc;
    if (a->srtp_tx && sn_srtp_protect(a->srtp_tx, p, &len, true) < 0)
        return -EIO;
    r = sn_anchor_sendto(a, true, p, len, dst);
    return r < 0 ? -errno : 0;
}

/* Both sockets toward the peer, at once: the NAT maps each before a
 * packet of the peer's (an ICE check that left as soon as it answered)
 * reaches the router and makes it pick another public port for ours. */
int sn_anchor_open_path(sipnat_anchor *a)
{
    int r = send_cn(a);

    send_empty_rr(a);
    return r;
}

ssize_t sn_anchor_sendto(sipnat_anchor *a, bool rtcp, const void *p, size_t len,
                         const sn_sockaddr *dst)
{
    ssize_t r;

    if (a->rtcp_mux)
        rtcp = false; /* RTCP leaves from the RTP socket too */
    const sn_anchor_channel *c = &a->chan[rtcp];
    int fd = rtcp ? a->io.rtcp.fd : a->io.rtp.fd;

    if (!c->on) {
        do
            r = sendto(fd, p, len, 0, &dst->sa, sn_sockaddr_len(dst));
        while (r < 0 && errno == EINTR);
        return r;
    }
    uint8_t hdr[4] = {(uint8_t)(c->number >> 8), (uint8_t)c->number, (uint8_t)(len >> 8),
                      (uint8_t)len};
    struct iovec iov[2] = {{hdr, sizeof hdr}, {(void *)p, len}};
    struct msghdr m = {.msg_name = (void *)&c->server,
                       .msg_namelen = sn_sockaddr_len(&c->server),
                       .msg_iov = iov,
                       .msg_iovlen = 2};
    do
        r = sendmsg(fd, &m, 0);
    while (r < 0 && errno == EINTR);
    return r;
}

void sn_anchor_set_rtcp_mux(sipnat_anchor *a, bool on)
{
    a->rtcp_mux = on;
}

static void set_sockaddr(sn_sockaddr *out, const struct sockaddr *sa)
{
    memset(out, 0, sizeof *out);
    memcpy(out, sa, sa->sa_family == AF_INET6 ? sizeof out->in6 : sizeof out->in);
}

int sn_anchor_set_channel(sipnat_anchor *a, bool rtcp, const struct sockaddr *server,
                          uint16_t number, const struct sockaddr *peer)
{
    sn_anchor_channel *c = &a->chan[rtcp];

    if (!number) {
        memset(c, 0, sizeof *c);
        return 0;
    }
    SN_RETURN_IF(!server || !peer || number < 0x4000 || number > 0x4FFF, -EINVAL);
    SN_RETURN_IF((server->sa_family != AF_INET && server->sa_family != AF_INET6) ||
                     (peer->sa_family != AF_INET && peer->sa_family != AF_INET6),
                 -EINVAL);
    set_sockaddr(&c->server, server);
    set_sockaddr(&c->peer, peer);
    c->number = number;
    c->on = true;
    return 0;
}

void sn_anchor_set_stun_func(sipnat_anchor *a, sn_anchor_stun_func func,
                             void *user_data)
{
    a->stun_func = func;
    a->stun_user_data = user_data;
}

static void on_keepalive(sn_timer *t, void *arg)
{
    sipnat_anchor *a = arg;
    uint64_t period = (uint64_t)a->cfg.keepalive * USEC;
    uint64_t idle = sn_now_usec() - a->last_tx;

    if (idle >= period) {
        send_cn(a);
        idle = 0;
    }
    sn_ctx_timer_arm(a->ctx, t, period - idle);
}

static void dtmf_packet(sipnat_anchor *a, bool first)
{
    uint8_t p[SN_RTP_HEADER + 4 + SN_SRTP_TAILROOM];
    sn_rtp_event ev = {
        .event = a->dtmf_tx_event,
        .end = a->dtmf_tx_ends > 0,
        .volume = DTMF_VOLUME,
        .duration = a->dtmf_tx_duration,
    };

    sn_rtp_write_header(p, (uint8_t)a->dtmf_pt, first, a->seq, a->ts, a->ssrc);
    sn_rtp_event_write(p + SN_RTP_HEADER, &ev);
    send_own(a, p, SN_RTP_HEADER + 4);
}

static void on_dtmf(sn_timer *t, void *arg)
{
    sipnat_anchor *a = arg;
    uint16_t step = (uint16_t)(a->ptime * (SN_MEDIA_RATE / 1000));

    if (!a->dtmf_tx_active)
        return;
    if (a->dtmf_tx_ends == 0) {
        unsigned d = (unsigned)a->dtmf_tx_duration + step;
        a->dtmf_tx_duration = (uint16_t)(d < a->dtmf_tx_total ? d : a->dtmf_tx_total);
        if (a->dtmf_tx_duration == a->dtmf_tx_total)
            a->dtmf_tx_ends = 1;
    } else {
        a->dtmf_tx_ends++;
    }
    dtmf_packet(a, false);
    if (a->dtmf_tx_ends >= 3) {
        /* RFC 4733 2.5.1.4: the end packet three times, then the stream's
         * clock moves on past the event. */
        a->ts += a->dtmf_tx_total * (a->clock / SN_MEDIA_RATE);
        a->dtmf_tx_active = false;
        return;
    }
    sn_ctx_timer_arm(a->ctx, t, (uint64_t)a->ptime * 1000u);
}

/* -- lifetime -------------------------------------------------------------- */

static void anchor_free(sipnat_anchor *a)
{
    sipnat_ctx *ctx = a->ctx;

    sn_coder_close(&a->coder);
    sn_srtp_free(a->srtp_tx);
    sn_srtp_free(a->srtp_rx);
    sn_crypto_key_clear(&a->tx_key);
    sn_crypto_key_clear(&a->rx_key);
    free(a);
    if (ctx) {
        publish(ctx);
        sipnat_ctx_unref(ctx);
    }
}

/* Freed by a callback while the relay dispatched: the round is over. */
static void release(sn_relay_pair *p)
{
    anchor_free(sn_anchor_of(p));
}

SIPNAT_API int sipnat_anchor_new(sipnat_anchor **ret, sipnat_ctx *ctx,
                                 const sipnat_anchor_cfg *cfg)
{
    sipnat_anchor *a;
    uint32_t rnd[3];
    int r;

    SN_RETURN_IF(!ret, -EINVAL);
    *ret = NULL;
    SN_RETURN_IF(!ctx || !cfg, -EINVAL);
    SN_RETURN_IF(ctx->dying, -ESHUTDOWN);

    a = calloc(1, sizeof *a);
    if (!a)
        return -ENOMEM;
    a->n_ref = 1;
    a->cfg = *cfg;
    a->io.rtp.fd = a->io.rtcp.fd = -1;
    a->io.on_rx = sn_anchor_rx;
    a->io.release = release;
    a->send = a->recv = true;
    a->pt = -1;
    a->clock = SN_MEDIA_RATE;
    a->dtmf_pt = -1;
    a->ptime = PTIME_DEFAULT;
    a->st.size = sizeof a->st;
    sn_timer_init(&a->timeout_timer, on_timeout, a);
    sn_timer_init(&a->keepalive_timer, on_keepalive, a);
    sn_timer_init(&a->dtmf_timer, on_dtmf, a);
    sn_latch_init(&a->latch, cfg->probation, sn_now_usec());
    /* RFC 3550 5.1: random initial SSRC, sequence number and timestamp. */
    if (getrandom(rnd, sizeof rnd, GRND_NONBLOCK) != sizeof rnd) {
        uint64_t x = sn_now_usec() ^ ((uint64_t)(uintptr_t)a << 16) ^ (uint64_t)getpid();
        rnd[0] = (uint32_t)x;
        rnd[1] = (uint32_t)(x >> 32) * 2654435761u;
        rnd[2] = rnd[0] * 2246822519u;
    }
    a->ssrc = rnd[0];
    a->seq = (uint16_t)rnd[1];
    a->ts = rnd[2];

    r = sn_relay_get(ctx, &a->relay);
    if (r < 0) {
        free(a);
        return r;
    }
    a->ctx = sipnat_ctx_ref(ctx);
    r = sn_relay_open(a->relay, &a->io, &cfg->bind, cfg->port_min, cfg->port_max);
    if (r < 0) {
        sn_log(ctx, SIPNAT_LOG_ERR, "media", "no RTP port pair in %d-%d: %s",
               cfg->port_min, cfg->port_max, sipnat_strerror(r));
        anchor_free(a);
        return r;
    }
    publish(ctx);
    *ret = a;
    return 0;
}

SIPNAT_API sipnat_anchor *sipnat_anchor_ref(sipnat_anchor *a)
{
    if (a)
        a->n_ref++;
    return a;
}

SIPNAT_API sipnat_anchor *sipnat_anchor_unref(sipnat_anchor *a)
{
    if (!a || --a->n_ref > 0)
        return NULL;
    sipnat_anchor_bridge(a, NULL);
    sn_ctx_timer_stop(a->ctx, &a->timeout_timer);
    sn_ctx_timer_stop(a->ctx, &a->keepalive_timer);
    sn_ctx_timer_stop(a->ctx, &a->dtmf_timer);
    sn_relay_close(a->relay, &a->io);
    if (!sn_relay_defer(a->relay, &a->io))
        anchor_free(a);
    return NULL;
}

/* -- signalled state ------------------------------------------------------- */

SIPNAT_API int sipnat_anchor_get_local(const sipnat_anchor *a,
                                       char address[SIPNAT_ADDRSTRLEN],
                                       int *rtp_port)
{
    SN_RETURN_IF(!a || !address || !rtp_port, -EINVAL);
    if (sn_addr_format(&a->cfg.bind, address, SIPNAT_ADDRSTRLEN) < 0)
        return -EINVAL;
    *rtp_port = a->io.port;
    return 0;
}

static void set_port(sn_sockaddr *s, int port)
{
    if (s->sa.sa_family == AF_INET)
        s->in.sin_port = htons((uint16_t)port);
    else
        s->in6.sin6_port = htons((uint16_t)port);
}

SIPNAT_API int sipnat_anchor_restrict_sources(sipnat_anchor *a,
                                              const char *address)
{
    sn_sockaddr hosts[2];
    struct sockaddr_storage ss;
    sn_addr addr;
    unsigned n = 0;

    SN_RETURN_IF(!a, -EINVAL);
    SN_RETURN_IF(!a->have_remote && !address, -ENOTCONN);
    if (a->have_remote)
        hosts[n++] = a->sdp_rtp;
    if (address) {
        SN_RETURN_IF(sn_addr_parse(address, &addr) < 0, -EINVAL);
        SN_RETURN_IF(addr.family != a->cfg.bind.family, -EAFNOSUPPORT);
        sn_addr_to_sockaddr(&addr, 0, &ss);
        memset(&hosts[n], 0, sizeof hosts[n]);
        memcpy(&hosts[n], &ss, addr.family == AF_INET6 ? sizeof hosts[n].in6
                                                       : sizeof hosts[n].in);
        n++;
    }
    sn_latch_set_hosts(&a->latch, hosts, n);
    return 0;
}

SIPNAT_API int sipnat_anchor_set_remote(sipnat_anchor *a, const char *address,
                                        int rtp_port, int rtcp_port)
{
    struct sockaddr_storage ss;
    sn_addr addr;

    SN_RETURN_IF(!a || !address || rtp_port < 1 || rtp_port > 65535, -EINVAL);
    SN_RETURN_IF(rtcp_port < 0 || rtcp_port > 65535, -EINVAL);
    SN_RETURN_IF(rtcp_port == 0 && rtp_port == 65535, -EINVAL);
    SN_RETURN_IF(sn_addr_parse(address, &addr) < 0, -EINVAL);
    SN_RETURN_IF(addr.family != a->cfg.bind.family, -EAFNOSUPPORT);
    sn_addr_to_sockaddr(&addr, rtp_port, &ss);
    memset(&a->sdp_rtp, 0, sizeof a->sdp_rtp);
    memcpy(&a->sdp_rtp, &ss, addr.family == AF_INET6 ? sizeof a->sdp_rtp.in6
                                                     : sizeof a->sdp_rtp.in);
    a->sdp_rtcp = a->sdp_rtp;
    set_port(&a->sdp_rtcp, rtcp_port ? rtcp_port : rtp_port + 1);
    a->have_remote = true;
    sn_latch_open(&a->latch, sn_now_usec());
    arm_timeout(a);
    if (a->cfg.keepalive && !sn_timer_armed(&a->keepalive_timer))
        sn_ctx_timer_arm(a->ctx, &a->keepalive_timer, (uint64_t)a->cfg.keepalive * USEC);
    publish(a->ctx);
    return 0;
}

void sn_anchor_relatch(sipnat_anchor *a)
{
    if (!a->have_remote)
        return;
    sn_latch_open(&a->latch, sn_now_usec());
    publish(a->ctx);
}

SIPNAT_API int sipnat_anchor_set_direction(sipnat_anchor *a, int send, int recv)
{
    SN_RETURN_IF(!a || (send != 0 && send != 1) || (recv != 0 && recv != 1), -EINVAL);
    a->send = send;
    a->recv = recv;
    arm_timeout(a);
    publish(a->ctx);
    return 0;
}

SIPNAT_API int sipnat_anchor_set_codec(sipnat_anchor *a, int payload_type,
                                       const char *name, int dtmf_payload_type,
                                       unsigned ptime_ms)
{
    const sn_coder_ops *ops;
    int r;

    SN_RETURN_IF(!a || !name || payload_type < 0 || payload_type > 127, -EINVAL);
    SN_RETURN_IF(dtmf_payload_type < -1 || dtmf_payload_type > 127 ||
                 dtmf_payload_type == payload_type, -EINVAL);
    SN_RETURN_IF(ptime_ms != 0 && (ptime_ms < 10 || ptime_ms > 180 || ptime_ms % 10), -EINVAL);
    ops = sn_coder_find(name, 0);
    SN_RETURN_IF(!ops, -ENOTSUP);
    /* The same codec again (a re-INVITE) keeps the coder's state. */
    if (ops != a->coder.ops && (r = sn_coder_open(&a->coder, ops)) < 0) {
        a->pt = -1;
        sn_anchor_map_pts(a);
        return r;
    }
    a->pt = payload_type;
    a->clock = ops->clock;
    a->dtmf_pt = dtmf_payload_type;
    a->ptime = ptime_ms ? ptime_ms : PTIME_DEFAULT;
    sn_anchor_map_pts(a);
    return 0;
}

/* The map of what `from` receives towards `to` (see anchor.h). Numbers
 * `to`'s leg uses for something are never passed through as they are;
 * the codec and telephone-event are renumbered; anything else (comfort
 * noise, say) keeps its number. */
static void map_leg(sipnat_anchor *from, const sipnat_anchor *to)
{
    bool was = from->no_common_codec;

    from->pt_mapped = to && from->coder.ops && to->coder.ops && from->pt >= 0 && to->pt >= 0;
    from->no_common_codec = false;
    if (!from->pt_mapped)
        return;
    for (unsigned i = 0; i < sizeof from->pt_map; i++)
        from->pt_map[i] = (uint8_t)i;
    from->pt_map[to->pt] = SN_PT_DROP;
    if (to->dtmf_pt >= 0)
        from->pt_map[to->dtmf_pt] = SN_PT_DROP;
    if (from->coder.ops == to->coder.ops) {
        from->pt_map[from->pt] = (uint8_t)to->pt;
    } else {
        from->pt_map[from->pt] = SN_PT_DROP;
        from->no_common_codec = true;
        if (!was)
            from->no_common_reported = false;
    }
    if (from->dtmf_pt >= 0)
        from->pt_map[from->dtmf_pt] = to->dtmf_pt >= 0 ? (uint8_t)to->dtmf_pt : SN_PT_DROP;
}

void sn_anchor_map_pts(sipnat_anchor *a)
{
    map_leg(a, a->peer);
    if (a->peer)
        map_leg(a->peer, a);
}

/* -- SRTP ------------------------------------------------------------------ */

static bool same_key(const sn_crypto_key *x, const sn_crypto_key *y)
{
    return x->suite == y->suite && x->key_len == y->key_len &&
           memcmp(x->key, y->key, x->key_len) == 0;
}

int sn_anchor_set_srtp_keys(sipnat_anchor *a, const sn_crypto_key *tx,
                            const sn_crypto_key *rx)
{
    sn_srtp *stx = NULL, *srx = NULL;
    int r;

    if (!tx != !rx)
        return -EINVAL;
    if (tx && a->srtp_tx && same_key(tx, &a->tx_key) && same_key(rx, &a->rx_key))
        return 0;
    if (tx) {
        r = sn_srtp_new(&stx, tx, false);
        if (r == 0)
            r = sn_srtp_new(&srx, rx, true);
        if (r < 0) {
            sn_srtp_free(stx);
            return r;
        }
    }
    sn_srtp_free(a->srtp_tx);
    sn_srtp_free(a->srtp_rx);
    a->srtp_tx = stx;
    a->srtp_rx = srx;
    sn_crypto_key_clear(&a->tx_key);
    sn_crypto_key_clear(&a->rx_key);
    if (tx) {
        a->tx_key = *tx;
        a->rx_key = *rx;
        /* Which crypto runs under libsrtp2 is process-wide: say it. */
        sn_log(a->ctx, SIPNAT_LOG_INFO, "media", "port %d SRTP %s, crypto %s", a->io.port,
               sn_srtp_suite_name(tx->suite), sn_srtp_crypto_name());
    }
    a->srtp_fail_run = 0;
    a->srtp_fail_reported = false;
    return 0;
}

SIPNAT_API int sipnat_anchor_set_srtp(sipnat_anchor *a, const char *tx_crypto,
                                      const char *rx_crypto)
{
    sn_crypto_key tx, rx;
    int r;

    SN_RETURN_IF(!a || !tx_crypto != !rx_crypto, -EINVAL);
    if (!tx_crypto)
        return sn_anchor_set_srtp_keys(a, NULL, NULL);
    r = sn_crypto_parse_attr(tx_crypto, &tx);
    if (r == 0)
        r = sn_crypto_parse_attr(rx_crypto, &rx);
    /* Both directions of a leg use one suite (RFC 4568 6.1). */
    if (r == 0 && tx.suite != rx.suite)
        r = -EINVAL;
    if (r == 0)
        r = sn_anchor_set_srtp_keys(a, &tx, &rx);
    sn_crypto_key_clear(&tx);
    sn_crypto_key_clear(&rx);
    return r;
}

SIPNAT_API int sipnat_anchor_srtp_suite_supported(const char *suite)
{
    sn_srtp_suite s;

    SN_RETURN_IF(!suite, -EINVAL);
    s = sn_srtp_suite_from_name(suite);
    SN_RETURN_IF(s == SN_SRTP_NONE, -ENOTSUP);
    return sn_srtp_suite_available(s) ? 1 : 0;
}

SIPNAT_API int sipnat_anchor_bridge(sipnat_anchor *a, sipnat_anchor *b)
{
    SN_RETURN_IF(!a || a == b, -EINVAL);
    SN_RETURN_IF(b && b->ctx != a->ctx, -EINVAL);
    if (a->peer) {
        a->peer->peer = NULL;
        sn_anchor_map_pts(a->peer);
    }
    a->peer = NULL;
    if (b) {
        if (b->peer) {
            b->peer->peer = NULL;
            sn_anchor_map_pts(b->peer);
        }
        b->peer = a;
        a->peer = b;
    }
    sn_anchor_map_pts(a);
    return 0;
}

/* -- host mode ------------------------------------------------------------- */

SIPNAT_API int sipnat_anchor_set_audio_func(sipnat_anchor *a, sipnat_audio_func func,
                                            void *user_data)
{
    SN_RETURN_IF(!a, -EINVAL);
    a->audio_func = func;
    a->audio_user_data = user_data;
    return 0;
}

SIPNAT_API int sipnat_anchor_send_audio(sipnat_anchor *a, const int16_t *samples, size_t n)
{
    uint8_t p[SN_RTP_HEADER + SN_MEDIA_MAX_SAMPLES + SN_SRTP_TAILROOM];
    int r, len;

    SN_RETURN_IF(!a || !samples || n == 0 || n > SN_MEDIA_MAX_SAMPLES, -EINVAL);
    SN_RETURN_IF(!a->coder.ops || a->pt < 0, -ENOPROTOOPT);
    SN_RETURN_IF(!sn_anchor_rtp_dest(a), -ENOTCONN);
    /* Withheld on hold, and while a DTMF event owns the stream. */
    if (!a->send || a->dtmf_tx_active)
        return 0;
    /* Every codec here codes a sample in at most a byte. */
    len = sn_coder_encode(&a->coder, samples, n, p + SN_RTP_HEADER, SN_MEDIA_MAX_SAMPLES);
    if (len < 0)
        return -EINVAL;   /* a frame length the codec cannot take (Opus) */
    sn_rtp_write_header(p, (uint8_t)a->pt, !a->tx_started, a->seq, a->ts, a->ssrc);
    r = send_own(a, p, SN_RTP_HEADER + (size_t)len);
    a->tx_started = true;
    a->ts += (uint32_t)n * a->coder.ops->ts_per_sample;
    return r < 0 ? r : 1;
}

SIPNAT_API int sipnat_anchor_send_dtmf(sipnat_anchor *a, char digit, unsigned duration_ms)
{
    int event = sn_dtmf_event_from_digit(digit);
    int r;

    SN_RETURN_IF(!a || event < 0 || duration_ms < DTMF_MS_MIN || duration_ms > DTMF_MS_MAX,
                 -EINVAL);
    SN_RETURN_IF(a->dtmf_pt < 0, -ENOPROTOOPT);
    SN_RETURN_IF(!sn_anchor_rtp_dest(a), -ENOTCONN);
    SN_RETURN_IF(a->dtmf_tx_active, -EBUSY);
    if (!a->send)
        return 0;
    a->dtmf_tx_active = true;
    a->dtmf_tx_event = (uint8_t)event;
    a->dtmf_tx_ends = 0;
    a->dtmf_tx_total = (uint16_t)(duration_ms * (SN_MEDIA_RATE / 1000));
    a->dtmf_tx_duration = (uint16_t)(a->ptime * (SN_MEDIA_RATE / 1000));
    if (a->dtmf_tx_duration >= a->dtmf_tx_total) {
        a->dtmf_tx_duration = a->dtmf_tx_total;
        a->dtmf_tx_ends = 1;
    }
    /* The first packet of an event carries the marker bit (2.5.1.3). */
    dtmf_packet(a, true);
    a->tx_started = true;
    r = sn_ctx_timer_arm(a->ctx, &a->dtmf_timer, (uint64_t)a->ptime * 1000u);
    if (r < 0) {
        a->dtmf_tx_active = false;
        return r;
    }
    publish(a->ctx);
    return 1;
}

/* -- statistics ------------------------------------------------------------ */

SIPNAT_API int sipnat_anchor_get_stats(const sipnat_anchor *a, sipnat_anchor_stats *st)
{
    sipnat_anchor_stats s;
    size_t size;

    SN_RETURN_IF(!a || !st, -EINVAL);
    size = st->size;
    SN_RETURN_IF(size < offsetof(sipnat_anchor_stats, rx_packets) + sizeof s.rx_packets,
                 -EINVAL);
    s = a->st;
    s.size = size < sizeof s ? size : sizeof s;
    if (a->latch.latched) {
        s.latched = 1;
        format_sockaddr(&a->latch.src, s.latched_address, sizeof s.latched_address,
                        &s.latched_port);
        s.rx_ssrc = a->latch.ssrc;
        if (a->latch.rtcp_latched)
            s.latched_rtcp_port = sn_sockaddr_port(&a->latch.rtcp_src);
    }
    s.rx_expected = sn_rtp_rx_expected(&a->rx);
    s.rx_lost = sn_rtp_rx_lost(&a->rx);
    s.rx_jitter = sn_rtp_rx_jitter(&a->rx);
    s.rx_jitter_usec = (uint32_t)((uint64_t)s.rx_jitter * USEC / a->clock);
    s.rr_jitter_usec = (uint32_t)((uint64_t)s.rr_jitter * USEC / a->clock);
    memcpy(st, &s, s.size);
    return 0;
}
