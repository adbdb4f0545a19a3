/*
 * libsipnat - the anchor's receive path: the relay's handler for the
 * sockets of an anchor (relay.h). Per batch: SRTP is checked before
 * anything else, only what authenticates reaches the latch (DESIGN
 * section 5), then DTMF and host audio are taken out and the rest is
 * relayed to the bridged anchor, protected in place when it speaks SRTP,
 * with one sendmmsg(). Events found in a batch go to the host once the
 * batch is sent.
 */
#include "media/anchor.h"

#include <string.h>

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

/* Send the queued batch from the bridged anchor's socket; count it there. */
static void flush_tx(sn_relay_batch *b, sipnat_anchor *peer, bool rtcp, unsigned ntx,
                     uint64_t now)
{
    uint64_t bytes;
    unsigned sent = sn_relay_flush(b, rtcp && !peer->rtcp_mux ? peer->io.rtcp.fd
                                                              : peer->io.rtp.fd,
                                   ntx, &bytes);

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

static void deliver(sipnat_anchor *a, sn_relay_batch *b, uint32_t audio, const pending *p)
{
    int16_t pcm[SN_MEDIA_BUF];

    for (unsigned i = 0; audio && i < SN_MEDIA_BATCH; i++) {
        sn_rtp rtp;
        int got;
        if (!(audio & (1u << i)) || !a->audio_func || a->io.dead || !a->coder.ops)
            continue;
        sn_rtp_parse(b->buf[i], b->rx[i].msg_len, &rtp);
        /* A payload the decoder refuses is not played. */
        got = sn_coder_decode(&a->coder, rtp.payload, rtp.payload_len, pcm, SN_MEDIA_BUF);
        if (got <= 0)
            continue;
        sn_cb_enter(a->ctx);
        a->audio_func(pcm, (size_t)got, a->audio_user_data);
        sn_cb_leave(a->ctx);
    }
    for (unsigned i = 0; i < p->n && !a->io.dead; i++)
        sn_anchor_emit(a, p->ev[i].state, p->ev[i].digit, p->ev[i].ms);
}

/* A packet that did not unprotect: count it. A run of failed
 * authentications from the peer is reported once (a wrong key, most
 * likely); a stranger's failures are only counted, so forged packets
 * cannot end someone else's call. */
static void srtp_rejected(sipnat_anchor *a, int r, const sn_sockaddr *src, bool rtcp,
                          pending *p)
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
    if (!sn_latch_is_peer(&a->latch, src, rtcp)) {
        a->st.dropped_srtp_auth_foreign++;
        return;
    }
    if (++a->srtp_fail_run >= SN_SRTP_FAIL_REPORT && !a->srtp_fail_reported) {
        a->srtp_fail_reported = true;
        pend(p, SIPNAT_MEDIA_SRTP_FAILED, 0, 0);
    }
}

/* Unprotect datagram i in place when the anchor receives SRTP. */
static int srtp_in(sn_relay_batch *b, sipnat_anchor *a, unsigned i, bool rtcp, pending *p)
{
    size_t len = b->rx[i].msg_len;
    int r;

    if (!a->srtp_rx)
        return 0;
    r = sn_srtp_unprotect(a->srtp_rx, b->buf[i], &len, rtcp);
    if (r < 0) {
        srtp_rejected(a, r, &b->rx_addr[i], rtcp, p);
        return r;
    }
    a->srtp_fail_run = 0;
    a->srtp_fail_reported = false;
    b->rx[i].msg_len = (unsigned)len;
    return 0;
}

/* Queue the accepted datagrams of `fwd` for the peer, protected in place
 * when it speaks SRTP, framed for its TURN channel when it has one. */
static unsigned queue_fwd(sn_relay_batch *b, sipnat_anchor *peer, uint32_t fwd, bool rtcp,
                          const sn_sockaddr *dst)
{
    const sn_anchor_channel *c = &peer->chan[rtcp && !peer->rtcp_mux];
    unsigned ntx = 0;

    for (unsigned i = 0; fwd && i < SN_MEDIA_BATCH; i++) {
        size_t len = b->rx[i].msg_len;
        if (!(fwd & (1u << i)))
            continue;
        if (peer->srtp_tx && sn_srtp_protect(peer->srtp_tx, b->buf[i], &len, rtcp) < 0) {
            peer->st.tx_srtp_failed++;
            continue;
        }
        if (c->on)
            sn_relay_queue_channel(b, &ntx, i, len, &c->server, c->number);
        else
            sn_relay_queue(b, &ntx, i, len, dst);
    }
    return ntx;
}

/* Datagram i through SRTP, parsing and the latch, counted; false when
 * it is dropped. */
static bool rtp_accept(sn_relay_batch *b, sipnat_anchor *a, unsigned i, uint64_t now,
                       uint32_t arrival, sn_rtp *rtp, pending *p)
{
    size_t len = b->rx[i].msg_len;

    if (b->rx[i].msg_hdr.msg_flags & MSG_TRUNC) {
        a->st.dropped_malformed++;
        return false;
    }
    /* The source before the crypto: a flood from elsewhere costs an
     * address comparison per packet, not an authentication. */
    if (!sn_latch_rtp_may_pass(&a->latch, &b->rx_addr[i])) {
        a->st.dropped_foreign++;
        return false;
    }
    /* Only packets that authenticate reach the latch. */
    if (srtp_in(b, a, i, false, p) < 0)
        return false;
    if (sn_rtp_parse(b->buf[i], b->rx[i].msg_len, rtp) < 0) {
        a->st.dropped_malformed++;
        return false;
    }
    switch (sn_latch_rtp(&a->latch, &b->rx_addr[i], rtp->seq, rtp->ssrc, now)) {
    case SN_LATCH_LEARNING:
        a->st.dropped_learning++;
        return false;
    case SN_LATCH_FOREIGN:
    case SN_LATCH_FOREIGN_SSRC:
        a->st.dropped_foreign++;
        return false;
    case SN_LATCH_LATCHED:
        sn_rtp_rx_reset(&a->rx);
        a->dtmf_rx_active = false;
        pend(p, SIPNAT_MEDIA_LATCHED, 0, 0);
        break;
    case SN_LATCH_ACCEPT:
        break;
    }
    a->st.rx_packets++;
    a->st.rx_bytes += len;
    sn_rtp_rx_update(&a->rx, rtp->seq, rtp->ts, arrival);
    a->last_rx = now;
    a->timeout_reported = false;
    return true;
}

/* Renumber a packet for the bridged leg (anchor.h: pt_map), in place and
 * before any SRTP protection: false when the other leg has no number for
 * it (dropped, counted; no codec in common is reported once). */
static bool relay_pt(sipnat_anchor *a, uint8_t *pkt, const sn_rtp *rtp, pending *p)
{
    uint8_t out;

    if (!a->pt_mapped)
        return true;
    out = a->pt_map[rtp->pt];
    if (out == SN_PT_DROP) {
        a->st.dropped_payload_type++;
        if (rtp->pt == a->pt && a->no_common_codec && !a->no_common_reported) {
            a->no_common_reported = true;
            pend(p, SIPNAT_MEDIA_NO_COMMON_CODEC, 0, 0);
        }
        return false;
    }
    pkt[1] = (uint8_t)((pkt[1] & 0x80) | out);
    return true;
}

/* Datagram i came from the TURN server of the socket's channel: the
 * peer's ChannelData is unwrapped in place, as if the peer had sent it
 * (*relayed); the server's own STUN stays as it is. False: dropped. */
static bool unchannel(sn_relay_batch *b, sipnat_anchor *a, unsigned i, bool rtcp,
                      bool *relayed)
{
    const sn_anchor_channel *c = &a->chan[rtcp];
    uint8_t *p = b->buf[i];
    size_t n = b->rx[i].msg_len, len;

    *relayed = false;
    if (!sn_sockaddr_equal(&b->rx_addr[i], &c->server) || n < 1 || p[0] < 0x40 ||
        p[0] > 0x4F)
        return true;
    len = (size_t)p[2] << 8 | p[3];
    if (n < 4 || (uint16_t)(p[0] << 8 | p[1]) != c->number || len > n - 4 ||
        (b->rx[i].msg_hdr.msg_flags & MSG_TRUNC)) {
        a->st.dropped_malformed++;
        return false;
    }
    memmove(p, p + 4, len);
    b->rx[i].msg_len = (unsigned)len;
    b->rx_addr[i] = c->peer;
    *relayed = true;
    return true;
}

/* Datagram i is STUN for whoever asked a server through this socket:
 * true when it was taken out of the media path (taken or refused). */
static bool stun_in(sn_relay_batch *b, sipnat_anchor *a, unsigned i, bool rtcp, bool relayed)
{
    if (!a->stun_func || !sn_rtp_is_stun(b->buf[i], b->rx[i].msg_len) ||
        (b->rx[i].msg_hdr.msg_flags & MSG_TRUNC))
        return false;
    if (a->stun_func(a, rtcp, relayed, b->buf[i], b->rx[i].msg_len, &b->rx_addr[i],
                     a->stun_user_data) > 0)
        a->st.rx_stun++;
    else
        a->st.dropped_stun++;
    return true;
}

static void rtcp_in(sn_relay_batch *b, sipnat_anchor *a, unsigned n, uint32_t muxed);

/* RFC 5761 4: on a muxed socket, payload types 64-95 (with the marker:
 * 192-223, RTCP's packet types) are RTCP. */
static bool is_muxed_rtcp(const uint8_t *p, size_t n)
{
    return n >= 8 && (p[0] >> 6) == 2 && p[1] >= 192 && p[1] <= 223;
}

static void rtp_in(sn_relay_batch *b, sipnat_anchor *a, unsigned n, uint64_t now)
{
    sipnat_anchor *peer = a->peer;
    const sn_sockaddr *dst = peer && peer->send ? sn_anchor_rtp_dest(peer) : NULL;
    uint32_t arrival = (uint32_t)(now * (a->clock / 1000) / 1000);
    uint32_t audio = 0, fwd = 0, muxed = 0;
    unsigned ntx, nofwd = 0;
    pending p = {0};

    for (unsigned i = 0; i < n; i++) {
        sn_rtp rtp;
        bool relayed = false;

        if (a->chan[0].on && !unchannel(b, a, i, false, &relayed))
            continue;
        if (stun_in(b, a, i, false, relayed))
            continue;
        if (a->rtcp_mux && is_muxed_rtcp(b->buf[i], b->rx[i].msg_len)) {
            muxed |= 1u << i;
            continue;
        }
        if (!rtp_accept(b, a, i, now, arrival, &rtp, &p))
            continue;
        if (!a->recv) {
            a->st.dropped_direction++;
            continue;
        }
        if (a->dtmf_pt >= 0 && rtp.pt == a->dtmf_pt)
            dtmf_in(a, &rtp, &p);
        else if (a->audio_func && a->coder.ops && rtp.pt == a->pt)
            audio |= 1u << i;
        if (dst && relay_pt(a, b->buf[i], &rtp, &p))
            fwd |= 1u << i;
        else if (peer && !dst)
            nofwd++;
    }
    if (audio && fwd && peer->srtp_tx) {
        /* The host hears the plain audio before it is protected in place
         * for the peer; its callback may have unbridged or freed us. */
        pending none = {0};
        deliver(a, b, audio, &none);
        audio = 0;
        if (a->io.dead || a->peer != peer)
            fwd = 0;
    }
    ntx = fwd ? queue_fwd(b, peer, fwd, false, dst) : 0;
    if (ntx)
        flush_tx(b, peer, false, ntx, now);
    if (peer)
        peer->st.tx_dropped += nofwd;
    if (audio || p.n)
        deliver(a, b, audio, &p);
    /* The batch's RTCP, once its RTP is sent (the queue is free again). */
    if (muxed && !a->io.dead)
        rtcp_in(b, a, n, muxed);
}

/* RTCP datagrams of the batch: all n from the RTCP socket (muxed 0), or
 * those of `muxed` found on the RTP socket (already demultiplexed). */
static void rtcp_in(sn_relay_batch *b, sipnat_anchor *a, unsigned n, uint32_t muxed)
{
    sipnat_anchor *peer = a->peer;
    sn_sockaddr tmp;
    const sn_sockaddr *dst = peer ? sn_anchor_rtcp_dest(peer, &tmp) : NULL;
    uint32_t fwd = 0;
    unsigned ntx;
    pending p = {0};

    for (unsigned i = 0; i < n; i++) {
        size_t len = b->rx[i].msg_len;
        sn_rtcp_report rr;
        bool has_rr;
        uint32_t ssrc;
        bool relayed = false;

        if (muxed) {
            if (!(muxed & (1u << i)))
                continue;
        } else {
            if (a->chan[1].on && !unchannel(b, a, i, true, &relayed))
                continue;
            len = b->rx[i].msg_len;
            if (stun_in(b, a, i, true, relayed))
                continue;
        }
        if (b->rx[i].msg_hdr.msg_flags & MSG_TRUNC) {
            a->st.dropped_malformed++;
            continue;
        }
        if (!sn_latch_rtcp_may_pass(&a->latch, &b->rx_addr[i])) {
            a->st.dropped_foreign++;
            continue;
        }
        if (srtp_in(b, a, i, true, &p) < 0)
            continue;
        if (sn_rtcp_parse(b->buf[i], b->rx[i].msg_len, &ssrc, &rr, &has_rr) < 0) {
            a->st.dropped_malformed++;
            continue;
        }
        switch (sn_latch_rtcp(&a->latch, &b->rx_addr[i], ssrc)) {
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
    ntx = fwd ? queue_fwd(b, peer, fwd, true, dst) : 0;
    if (ntx)
        flush_tx(b, peer, true, ntx, sn_now_usec());
    if (p.n)
        deliver(a, b, 0, &p);
}

void sn_anchor_rx(sn_relay_pair *p, bool rtcp, sn_relay_batch *b, unsigned n,
                  uint64_t now)
{
    if (rtcp)
        rtcp_in(b, sn_anchor_of(p), n, 0);
    else
        rtp_in(b, sn_anchor_of(p), n, now);
}
