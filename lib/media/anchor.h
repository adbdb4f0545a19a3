/*
 * libsipnat - the RTP anchor's internals, shared by anchor.c (objects,
 * configuration, timers, host audio and DTMF out) and anchor_rx.c (the
 * receive path: SRTP checks, latching, DTMF in, relaying to the bridged
 * anchor). An anchor is per-call state on top of a port pair of the
 * ctx's relay (relay.h), which moves its datagrams and knows nothing of
 * anchors.
 */
#ifndef SIPNAT_MEDIA_ANCHOR_H
#define SIPNAT_MEDIA_ANCHOR_H

#include "core/internal.h"
#include "core/addr.h"
#include "media/coder.h"
#include "media/latch.h"
#include "media/relay.h"
#include "media/rtp.h"
#include "media/srtp.h"

#include <stddef.h>
#include <sys/socket.h>

#define SN_MEDIA_RATE 8000  /* the host audio's rate and telephone-event clock */
#define SN_MEDIA_MAX_SAMPLES 1440 /* per send_audio call (180 ms) */
#define SN_RTP_PT_CN 13
#define SN_PT_DROP 0xFF

_Static_assert(SN_SRTP_TAILROOM <= SN_MEDIA_TAILROOM,
               "the relay keeps no room for SRTP's trailer");

struct sipnat_anchor_cfg {
    sn_addr bind;
    int port_min;
    int port_max;
    bool symmetric;
    unsigned probation;
    unsigned timeout;   /* seconds, 0 = off */
    unsigned keepalive; /* seconds, 0 = off */
    sipnat_event_func func;
    void *user_data;
};

/* A STUN datagram (RFC 7983 demultiplexing) arrived on the anchor's RTP
 * (rtcp false) or RTCP socket, straight from `from` or (relayed) from the
 * peer `from` through the socket's TURN channel: 1 taken, negative
 * refused. Must not free the anchor. */
typedef int (*sn_anchor_stun_func)(sipnat_anchor *a, bool rtcp, bool relayed,
                                   const uint8_t *buf, size_t len,
                                   const sn_sockaddr *from, void *user_data);

/* A TURN channel (RFC 8656 12) of one socket: everything for the peer
 * leaves framed as ChannelData to the server, and ChannelData from the
 * server on this channel is the peer's, as if it came from it. */
typedef struct sn_anchor_channel {
    bool on;
    uint16_t number;
    sn_sockaddr server;
    sn_sockaddr peer;
} sn_anchor_channel;

struct sipnat_anchor {
    unsigned n_ref;
    sipnat_ctx *ctx;
    sn_relay *relay;
    sn_relay_pair io;              /* its sockets; io.dead: freed meanwhile */
    sipnat_anchor_cfg cfg;

    /* The peer as signalled (SDP). */
    bool have_remote;
    sn_sockaddr sdp_rtp;
    sn_sockaddr sdp_rtcp;
    bool send;
    bool recv;
    int pt;
    sn_coder coder;                /* the codec of pt, host audio */
    uint32_t clock;                /* pt's RTP clock (8000 before a codec) */
    int dtmf_pt;
    unsigned ptime;
    /* Bridged, both legs with a codec: the payload type a packet of ours
     * leaves with on the peer's leg, by the number it came with here
     * (SN_PT_DROP: the peer's leg has no number for it); built when a
     * codec or the bridge changes, used per packet without a lookup. */
    bool pt_mapped;
    bool no_common_codec;
    bool no_common_reported;
    uint8_t pt_map[128];

    sn_latch latch;
    /* SRTP: both set, or neither (plain RTP). */
    sn_srtp *srtp_tx;              /* what we send to the peer */
    sn_srtp *srtp_rx;              /* what the peer sends */
    sn_crypto_key tx_key;
    sn_crypto_key rx_key;
    unsigned srtp_fail_run;        /* consecutive failed authentications */
    bool srtp_fail_reported;
    struct sipnat_anchor *peer;    /* bridged anchor (not referenced) */
    sipnat_audio_func audio_func;
    void *audio_user_data;

    /* Receiving. */
    sn_rtp_rx rx;
    uint64_t last_rx;              /* usec */
    bool timeout_reported;
    bool dtmf_rx_active;           /* an event is being received */
    bool dtmf_rx_done;             /* and was reported */
    uint8_t dtmf_rx_event;
    uint16_t dtmf_rx_duration;
    uint32_t dtmf_rx_ts;

    /* Our own stream: host audio, DTMF, keep-alives. */
    uint32_t ssrc;
    uint16_t seq;
    uint32_t ts;
    bool tx_started;               /* marker on the first packet */
    uint64_t last_tx;              /* usec, anything sent */
    bool dtmf_tx_active;
    uint8_t dtmf_tx_event;
    uint8_t dtmf_tx_ends;          /* end packets sent */
    uint16_t dtmf_tx_duration;     /* sent so far, timestamp units */
    uint16_t dtmf_tx_total;

    /* STUN: whoever asks a server through our sockets (lib/sip for
     * lib/stun); NULL: STUN-looking datagrams are malformed RTP. */
    sn_anchor_stun_func stun_func;
    void *stun_user_data;
    sn_anchor_channel chan[2];     /* RTP's, RTCP's */
    bool rtcp_mux;                 /* RFC 5761: RTCP on the RTP socket */

    sn_timer timeout_timer;
    sn_timer keepalive_timer;
    sn_timer dtmf_timer;

    sipnat_anchor_stats st;        /* the counters; the rest filled on demand */
};

static inline sipnat_anchor *sn_anchor_of(sn_relay_pair *p)
{
    return (sipnat_anchor *)(void *)((char *)p - offsetof(sipnat_anchor, io));
}

/* anchor_rx.c: the relay's handler for an anchor's sockets. */
void sn_anchor_rx(sn_relay_pair *p, bool rtcp, sn_relay_batch *b, unsigned n,
                  uint64_t now);

/* anchor.c, for anchor_rx.c */
/* Rebuild the payload type maps of a and its bridged peer. */
void sn_anchor_map_pts(sipnat_anchor *a);
const sn_sockaddr *sn_anchor_rtp_dest(const sipnat_anchor *a);
const sn_sockaddr *sn_anchor_rtcp_dest(const sipnat_anchor *a, sn_sockaddr *tmp);
void sn_anchor_emit(sipnat_anchor *a, sipnat_media_state state, char digit,
                    unsigned duration_ms);
/* Hand STUN datagrams to func (NULL: stop). */
void sn_anchor_set_stun_func(sipnat_anchor *a, sn_anchor_stun_func func,
                             void *user_data);
/* Relay the RTP (rtcp false) or RTCP socket's traffic with the peer
 * through TURN channel `number` on `server` (number 0: straight again).
 * 0 or -EINVAL. */
int sn_anchor_set_channel(sipnat_anchor *a, bool rtcp, const struct sockaddr *server,
                          uint16_t number, const struct sockaddr *peer);
/* RTCP on the RTP socket, both ways (RFC 5761), or on its own again. */
void sn_anchor_set_rtcp_mux(sipnat_anchor *a, bool on);
/* Send from the RTP or RTCP socket to dst, through the socket's channel
 * when one is on. */
ssize_t sn_anchor_sendto(sipnat_anchor *a, bool rtcp, const void *p, size_t len,
                         const sn_sockaddr *dst);
/* Open the NAT's filter toward the signalled peer at once: one comfort
 * noise packet (RFC 6263 4.2) to its RTP address. A NAT that filters by
 * address and port (Linux's, most home routers) lets the peer in only
 * after we sent to it, and a peer packet that comes first takes the
 * mapping STUN reported. 0 or a negative errno. */
int sn_anchor_open_path(sipnat_anchor *a);
/* Open a learning window at the signalled peer's address again, as a new
 * remote address does (after an offer/answer for our own address change:
 * the NATs on the way may now show the peer's media from another source).
 * Probation, SRTP authentication and the allowed hosts apply as ever. */
void sn_anchor_relatch(sipnat_anchor *a);
/* Key the anchor: tx protects what it sends, rx checks what it receives;
 * both NULL: plain RTP. The same keys again keep the running sessions
 * (their rollover counters and replay windows). 0, -EINVAL (only one),
 * -ENOTSUP (suite not available here), -ENOMEM. */
int sn_anchor_set_srtp_keys(sipnat_anchor *a, const sn_crypto_key *tx,
                            const sn_crypto_key *rx);

#endif
