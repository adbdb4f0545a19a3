/*
 * libsipnat - the media engine of a ctx (see anchor.h): sockets and
 * ports, and the receive path of every anchor. Per packet there is no
 * allocation, no lock and no system call of its own: datagrams come in
 * by recvmmsg() batches into the engine's buffers and leave by one
 * sendmmsg() per batch, pointing at the same buffers.
 */
#include "media/anchor.h"

#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <unistd.h>

struct sn_media {
    unsigned n_ref;
    sipnat_ctx *ctx;
    int epfd;
    unsigned dispatching;
    sipnat_anchor *zombies;  /* freed while dispatching, released after */
    unsigned cursor;         /* next port pair slot to try */
    struct mmsghdr rx[SN_MEDIA_BATCH];
    struct iovec rx_iov[SN_MEDIA_BATCH];
    sn_sockaddr rx_addr[SN_MEDIA_BATCH];
    struct mmsghdr tx[SN_MEDIA_BATCH];
    struct iovec tx_iov[SN_MEDIA_BATCH];
    uint8_t buf[SN_MEDIA_BATCH][SN_MEDIA_BUF];
};

static void media_ready(sipnat_ctx *ctx, int fd, unsigned revents, void *arg);

int sn_media_get(sipnat_ctx *ctx, sn_media **ret)
{
    sn_media *m;
    int r;

    for (size_t i = 0; i < ctx->n_io; i++)
        if (ctx->io[i].owner == SN_IO_OWN && ctx->io[i].cb == media_ready) {
            m = ctx->io[i].cb_arg;
            m->n_ref++;
            *ret = m;
            return 0;
        }
    m = calloc(1, sizeof *m);
    if (!m)
        return -ENOMEM;
    m->n_ref = 1;
    m->ctx = ctx;
    /* Ports are tried from a random slot on, so that two processes (or
     * two ctx) sharing a range rarely probe the same ports. */
    if (getrandom(&m->cursor, sizeof m->cursor, GRND_NONBLOCK) != sizeof m->cursor)
        m->cursor = (unsigned)getpid() ^ (unsigned)sn_now_usec();
    for (unsigned i = 0; i < SN_MEDIA_BATCH; i++) {
        m->rx_iov[i].iov_base = m->buf[i];
        /* Room after every datagram for an SRTP trailer: packets are
         * protected in place on their way to an SRTP leg. */
        m->rx_iov[i].iov_len = SN_MEDIA_BUF - SN_SRTP_TAILROOM;
    }
    m->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (m->epfd < 0) {
        r = -errno;
        free(m);
        return r;
    }
    r = sn_io_set(ctx, m->epfd, SIPNAT_IO_IN, SN_IO_OWN, media_ready, m);
    if (r < 0) {
        close(m->epfd);
        free(m);
        return r;
    }
    *ret = m;
    return 0;
}

void sn_media_put(sn_media *m)
{
    if (!m || --m->n_ref > 0)
        return;
    sn_io_del(m->ctx, m->epfd);
    close(m->epfd);
    free(m);
}

bool sn_media_defer_free(sn_media *m, sipnat_anchor *a)
{
    if (!m->dispatching)
        return false;
    a->dead = true;
    a->zombie_next = m->zombies;
    m->zombies = a;
    return true;
}

static int open_socket(sipnat_anchor *a, sn_media_sock *s, bool rtcp)
{
    s->a = a;
    s->rtcp = rtcp;
    s->fd = socket(a->cfg.bind.family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    return s->fd < 0 ? -errno : 0;
}

static int bind_port(int fd, const sn_addr *addr, int port)
{
    struct sockaddr_storage ss;
    socklen_t len = sn_addr_to_sockaddr(addr, port, &ss);

    return bind(fd, (struct sockaddr *)&ss, len) < 0 ? -errno : 0;
}

static int watch(sn_media *m, sn_media_sock *s)
{
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = s};

    return epoll_ctl(m->epfd, EPOLL_CTL_ADD, s->fd, &ev) < 0 ? -errno : 0;
}

int sn_media_open(sn_media *m, sipnat_anchor *a)
{
    int first = (a->cfg.port_min + 1) & ~1;
    int last = (a->cfg.port_max - 1) & ~1;
    unsigned slots = (unsigned)(last - first) / 2 + 1;
    int r;

    a->rtp.fd = a->rtcp.fd = -1;
    r = open_socket(a, &a->rtp, false);
    if (r == 0)
        r = open_socket(a, &a->rtcp, true);
    for (unsigned i = 0; r == 0 && i < slots; i++) {
        unsigned slot = (m->cursor + i) % slots;
        int port = first + 2 * (int)slot;
        /* A failed bind leaves a UDP socket unbound: the next pair is
         * tried with the same sockets. */
        int b = bind_port(a->rtp.fd, &a->cfg.bind, port);

        if (b == 0) {
            b = bind_port(a->rtcp.fd, &a->cfg.bind, port + 1);
            if (b < 0) {
                /* The RTP socket is bound now: start it over. */
                close(a->rtp.fd);
                r = open_socket(a, &a->rtp, false);
            }
        }
        if (r == 0 && b == 0) {
            a->port = port;
            m->cursor = slot + 1;
            break;
        }
        if (r == 0 && b != -EADDRINUSE && b != -EACCES)
            r = b;
    }
    if (r == 0 && a->port == 0)
        r = -EADDRINUSE;
    if (r == 0)
        r = watch(m, &a->rtp);
    if (r == 0)
        r = watch(m, &a->rtcp);
    if (r < 0)
        sn_media_close(m, a);
    return r;
}

void sn_media_close(sn_media *m, sipnat_anchor *a)
{
    sn_media_sock *socks[2] = {&a->rtp, &a->rtcp};

    for (int i = 0; i < 2; i++) {
        if (socks[i]->fd < 0)
            continue;
        epoll_ctl(m->epfd, EPOLL_CTL_DEL, socks[i]->fd, NULL);
        close(socks[i]->fd);
        socks[i]->fd = -1;
    }
}

/* -- the receive path ------------------------------------------------------ */

/* Events found in a batch, delivered once the batch is sent. */
typedef struct pending {
    unsigned n;
    struct { sipnat_media_state state; char digit; unsigned ms; } ev[8];
} pending;

static void pend(pending *p, sipnat_media_state state, char digit, unsigned ms)
{
    if (p->n < sizeof p->ev / sizeof p->ev[0]) {
        p->ev[p->n].state = state;
        p->ev[p->n].digit = digit;
        p->ev[p->n].ms = ms;
        p->n++;
    }
}

/* RFC 4733: one report per event, at its end; deduplicated by the
 * event's timestamp. An event whose end packets were all lost is
 * reported when the next one starts. */
static void dtmf_in(sipnat_anchor *a, const sn_rtp *rtp, pending *p)
{
    sn_rtp_event ev;

    if (sn_rtp_event_parse(rtp->payload, rtp->payload_len, &ev) < 0 || ev.event > 15)
        return;
    if (!a->dtmf_rx_active || rtp->ts != a->dtmf_rx_ts) {
        /* A late retransmission of an older event: already handled. */
        if (a->dtmf_rx_active && (int32_t)(rtp->ts - a->dtmf_rx_ts) < 0)
            return;
        if (a->dtmf_rx_active && !a->dtmf_rx_done)
            pend(p, SIPNAT_MEDIA_DTMF, sn_dtmf_digit_from_event(a->dtmf_rx_event),
                 a->dtmf_rx_duration * 1000u / SN_MEDIA_RATE);
        a->dtmf_rx_active = true;
        a->dtmf_rx_done = false;
        a->dtmf_rx_ts = rtp->ts;
        a->dtmf_rx_event = ev.event;
        a->dtmf_rx_duration = 0;
    }
    if (ev.duration > a->dtmf_rx_duration)
        a->dtmf_rx_duration = ev.duration;
    if (ev.end && !a->dtmf_rx_done) {
        a->dtmf_rx_done = true;
        pend(p, SIPNAT_MEDIA_DTMF, sn_dtmf_digit_from_event(a->dtmf_rx_event),
             a->dtmf_rx_duration * 1000u / SN_MEDIA_RATE);
    }
}

/* Send tx[0..n) from fd; returns how many left. A datagram the kernel
 * refuses is dropped, the rest still go. */
static unsigned send_batch(sn_media *m, int fd, unsigned n)
{
    unsigned done = 0, sent = 0;

    while (done < n) {
        int r = sendmmsg(fd, m->tx + done, n - done, 0);
        if (r > 0) {
            done += (unsigned)r;
            sent += (unsigned)r;
        } else if (r < 0 && errno == EINTR) {
            continue;
        } else {
            done++;
        }
    }
    return sent;
}

/* Send the queued batch from the bridged anchor's socket; count it there. */
static void flush_tx(sn_media *m, sipnat_anchor *peer, bool rtcp, unsigned ntx,
                     uint64_t now)
{
    unsigned sent = send_batch(m, rtcp ? peer->rtcp.fd : peer->rtp.fd, ntx);
    uint64_t bytes = 0;

    for (unsigned i = 0; i < sent; i++)
        bytes += m->tx_iov[i].iov_len;
    if (rtcp) {
        peer->st.tx_rtcp_packets += sent;
        peer->st.tx_rtcp_bytes += bytes;
    } else {
        peer->st.tx_packets += sent;
        peer->st.tx_bytes += bytes;
        peer->last_tx = now;
    }
    peer->st.tx_dropped += ntx - sent;
}

static void queue_tx(sn_media *m, unsigned *ntx, unsigned i, size_t len,
                     const sn_sockaddr *dst)
{
    struct msghdr *h = &m->tx[*ntx].msg_hdr;

    m->tx_iov[*ntx].iov_base = m->buf[i];
    m->tx_iov[*ntx].iov_len = len;
    h->msg_name = (void *)dst;
    h->msg_namelen = sn_sockaddr_len(dst);
    h->msg_iov = &m->tx_iov[*ntx];
    h->msg_iovlen = 1;
    h->msg_control = NULL;
    h->msg_controllen = 0;
    h->msg_flags = 0;
    (*ntx)++;
}

static void deliver(sipnat_anchor *a, sn_media *m, uint32_t audio, const pending *p)
{
    int16_t pcm[SN_MEDIA_BUF];

    for (unsigned i = 0; audio && i < SN_MEDIA_BATCH; i++) {
        sn_rtp rtp;
        if (!(audio & (1u << i)) || !a->audio_func || a->dead)
            continue;
        sn_rtp_parse(m->buf[i], m->rx[i].msg_len, &rtp);
        sn_g711_decode(a->law, rtp.payload, pcm, rtp.payload_len);
        sn_cb_enter(a->ctx);
        a->audio_func(pcm, rtp.payload_len, a->audio_user_data);
        sn_cb_leave(a->ctx);
    }
    for (unsigned i = 0; i < p->n && !a->dead; i++)
        sn_anchor_emit(a, p->ev[i].state, p->ev[i].digit, p->ev[i].ms);
}

/* A packet that did not unprotect: count it; a run of failed
 * authentications is reported once (a wrong key, most likely). */
static void srtp_rejected(sipnat_anchor *a, int r, pending *p)
{
    if (r == -EALREADY) {
        a->st.dropped_srtp_replay++;
        return;
    }
    if (r != -EBADMSG) {
        a->st.dropped_malformed++;
        return;
    }
    a->st.dropped_srtp_auth++;
    if (++a->srtp_fail_run >= SN_SRTP_FAIL_REPORT && !a->srtp_fail_reported) {
        a->srtp_fail_reported = true;
        pend(p, SIPNAT_MEDIA_SRTP_FAILED, 0, 0);
    }
}

/* Unprotect datagram i in place when the anchor receives SRTP. */
static int srtp_in(sn_media *m, sipnat_anchor *a, unsigned i, bool rtcp, pending *p)
{
    size_t len = m->rx[i].msg_len;
    int r;

    if (!a->srtp_rx)
        return 0;
    r = sn_srtp_unprotect(a->srtp_rx, m->buf[i], &len, rtcp);
    if (r < 0) {
        srtp_rejected(a, r, p);
        return r;
    }
    a->srtp_fail_run = 0;
    a->srtp_fail_reported = false;
    m->rx[i].msg_len = (unsigned)len;
    return 0;
}

/* Queue the accepted datagrams of `fwd` for the peer, protected in place
 * when it speaks SRTP. */
static unsigned queue_fwd(sn_media *m, sipnat_anchor *peer, uint32_t fwd, bool rtcp,
                          const sn_sockaddr *dst)
{
    unsigned ntx = 0;

    for (unsigned i = 0; fwd && i < SN_MEDIA_BATCH; i++) {
        size_t len = m->rx[i].msg_len;
        if (!(fwd & (1u << i)))
            continue;
        if (peer->srtp_tx && sn_srtp_protect(peer->srtp_tx, m->buf[i], &len, rtcp) < 0) {
            peer->st.tx_srtp_failed++;
            continue;
        }
        queue_tx(m, &ntx, i, len, dst);
    }
    return ntx;
}

static void rtp_in(sn_media *m, sipnat_anchor *a, unsigned n, uint64_t now)
{
    sipnat_anchor *peer = a->peer;
    const sn_sockaddr *dst = peer && peer->send ? sn_anchor_rtp_dest(peer) : NULL;
    uint32_t arrival = (uint32_t)(now * (SN_MEDIA_RATE / 1000) / 1000);
    uint32_t audio = 0, fwd = 0;
    unsigned ntx, nofwd = 0;
    pending p = {0};

    for (unsigned i = 0; i < n; i++) {
        size_t len = m->rx[i].msg_len;
        sn_rtp rtp;

        if (m->rx[i].msg_hdr.msg_flags & MSG_TRUNC) {
            a->st.dropped_malformed++;
            continue;
        }
        /* Only packets that authenticate reach the latch. */
        if (srtp_in(m, a, i, false, &p) < 0)
            continue;
        if (sn_rtp_parse(m->buf[i], m->rx[i].msg_len, &rtp) < 0) {
            a->st.dropped_malformed++;
            continue;
        }
        switch (sn_latch_rtp(&a->latch, &m->rx_addr[i], rtp.seq, rtp.ssrc, now)) {
        case SN_LATCH_LEARNING:
            a->st.dropped_learning++;
            continue;
        case SN_LATCH_FOREIGN:
        case SN_LATCH_FOREIGN_SSRC:
            a->st.dropped_foreign++;
            continue;
        case SN_LATCH_LATCHED:
            sn_rtp_rx_reset(&a->rx);
            a->dtmf_rx_active = false;
            pend(&p, SIPNAT_MEDIA_LATCHED, 0, 0);
            break;
        case SN_LATCH_ACCEPT:
            break;
        }
        a->st.rx_packets++;
        a->st.rx_bytes += len;
        sn_rtp_rx_update(&a->rx, rtp.seq, rtp.ts, arrival);
        a->last_rx = now;
        a->timeout_reported = false;
        if (!a->recv) {
            a->st.dropped_direction++;
            continue;
        }
        if (a->dtmf_pt >= 0 && rtp.pt == a->dtmf_pt)
            dtmf_in(a, &rtp, &p);
        else if (a->audio_func && a->law && rtp.pt == a->pt)
            audio |= 1u << i;
        if (dst)
            fwd |= 1u << i;
        else if (peer)
            nofwd++;
    }
    if (audio && fwd && peer->srtp_tx) {
        /* The host hears the plain audio before it is protected in place
         * for the peer; its callback may have unbridged or freed us. */
        pending none = {0};
        deliver(a, m, audio, &none);
        audio = 0;
        if (a->dead || a->peer != peer)
            fwd = 0;
    }
    ntx = fwd ? queue_fwd(m, peer, fwd, false, dst) : 0;
    if (ntx)
        flush_tx(m, peer, false, ntx, now);
    if (peer)
        peer->st.tx_dropped += nofwd;
    if (audio || p.n)
        deliver(a, m, audio, &p);
}

static void rtcp_in(sn_media *m, sipnat_anchor *a, unsigned n)
{
    sipnat_anchor *peer = a->peer;
    sn_sockaddr tmp;
    const sn_sockaddr *dst = peer ? sn_anchor_rtcp_dest(peer, &tmp) : NULL;
    uint32_t fwd = 0;
    unsigned ntx;
    pending p = {0};

    for (unsigned i = 0; i < n; i++) {
        size_t len = m->rx[i].msg_len;
        sn_rtcp_report rr;
        bool has_rr;
        uint32_t ssrc;

        if (m->rx[i].msg_hdr.msg_flags & MSG_TRUNC) {
            a->st.dropped_malformed++;
            continue;
        }
        if (srtp_in(m, a, i, true, &p) < 0)
            continue;
        if (sn_rtcp_parse(m->buf[i], m->rx[i].msg_len, &ssrc, &rr, &has_rr) < 0) {
            a->st.dropped_malformed++;
            continue;
        }
        switch (sn_latch_rtcp(&a->latch, &m->rx_addr[i], ssrc)) {
        case SN_LATCH_FOREIGN_SSRC:
            a->st.dropped_rtcp_foreign_ssrc++;
            continue;
        case SN_LATCH_ACCEPT:
        case SN_LATCH_LATCHED:
            break;
        default:
            a->st.dropped_foreign++;
            continue;
        }
        a->st.rx_rtcp_packets++;
        a->st.rx_rtcp_bytes += len;
        if (has_rr) {
            a->st.rr_present = 1;
            a->st.rr_fraction_lost = rr.fraction_lost;
            a->st.rr_cumulative_lost = rr.cumulative_lost;
            a->st.rr_jitter = rr.jitter;
        }
        if (dst)
            fwd |= 1u << i;
        else if (peer)
            peer->st.tx_dropped++;
    }
    ntx = fwd ? queue_fwd(m, peer, fwd, true, dst) : 0;
    if (ntx)
        flush_tx(m, peer, true, ntx, sn_now_usec());
    if (p.n)
        deliver(a, m, 0, &p);
}

static void sock_ready(sn_media *m, sn_media_sock *s, uint64_t now)
{
    int n;

    for (unsigned i = 0; i < SN_MEDIA_BATCH; i++) {
        struct msghdr *h = &m->rx[i].msg_hdr;
        h->msg_name = &m->rx_addr[i];
        h->msg_namelen = sizeof m->rx_addr[i];
        h->msg_iov = &m->rx_iov[i];
        h->msg_iovlen = 1;
        h->msg_control = NULL;
        h->msg_controllen = 0;
        h->msg_flags = 0;
    }
    /* One batch per socket and wake-up: a flooded socket cannot starve
     * the others, and stays readable for the next round. */
    n = recvmmsg(s->fd, m->rx, SN_MEDIA_BATCH, MSG_DONTWAIT, NULL);
    if (n <= 0)
        return;
    if (s->rtcp)
        rtcp_in(m, s->a, (unsigned)n);
    else
        rtp_in(m, s->a, (unsigned)n, now);
}

static void media_ready(sipnat_ctx *ctx, int fd, unsigned revents, void *arg)
{
    sn_media *m = arg;
    struct epoll_event evs[SN_MEDIA_EVENTS];
    int n;

    (void)ctx;
    (void)fd;
    (void)revents;
    m->n_ref++;
    m->dispatching++;
    n = epoll_wait(m->epfd, evs, SN_MEDIA_EVENTS, 0);
    if (n > 0) {
        uint64_t now = sn_now_usec();
        for (int i = 0; i < n; i++) {
            sn_media_sock *s = evs[i].data.ptr;
            /* An earlier callback of this round may have freed it. */
            if (!s->a->dead)
                sock_ready(m, s, now);
        }
    }
    if (--m->dispatching == 0)
        while (m->zombies) {
            sipnat_anchor *a = m->zombies;
            m->zombies = a->zombie_next;
            sn_anchor_free(a);
        }
    sn_media_put(m);
}
