/*
 * libsipnat - the RTP anchor's internals, shared by anchor.c (objects,
 * configuration, timers, host audio and DTMF out) and relay.c (the media
 * engine of a ctx: sockets, the receive path, relaying).
 *
 * Every anchor of a ctx shares one media engine: one epoll fd holding all
 * the anchors' sockets, entered in the ctx's fd set as a single SN_IO_OWN
 * source, and one set of preallocated recvmmsg/sendmmsg buffers. A ready
 * engine hands its whole batch of ready sockets to the relay in one
 * wake-up, so the ctx's fd set stays small however many calls there are
 * and no lookup by fd is made per packet (the epoll entry points at the
 * socket). The engine is found again through the ctx's fd set (its entry's
 * callback is media_ready) and lives as long as an anchor uses it.
 */
#ifndef SIPNAT_MEDIA_ANCHOR_H
#define SIPNAT_MEDIA_ANCHOR_H

#include "core/internal.h"
#include "core/addr.h"
#include "media/g711.h"
#include "media/latch.h"
#include "media/rtp.h"
#include "media/srtp.h"

#include <sys/socket.h>

#define SN_MEDIA_BATCH 32   /* datagrams per recvmmsg/sendmmsg */
#define SN_MEDIA_BUF 2048   /* bytes per datagram buffer; larger ones are malformed */
#define SN_MEDIA_EVENTS 64  /* ready sockets taken per wake-up */
#define SN_MEDIA_RATE 8000  /* G.711 and telephone-event clock */
#define SN_MEDIA_MAX_SAMPLES 1440 /* per send_audio call (180 ms) */
#define SN_RTP_PT_CN 13

typedef struct sn_media sn_media;

typedef struct sn_media_sock {
    struct sipnat_anchor *a;
    int fd;
    bool rtcp;
} sn_media_sock;

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

struct sipnat_anchor {
    unsigned n_ref;
    bool dead;                     /* freed while the engine dispatched */
    struct sipnat_anchor *zombie_next;
    sipnat_ctx *ctx;
    sn_media *media;
    sipnat_anchor_cfg cfg;
    sn_media_sock rtp;
    sn_media_sock rtcp;
    int port;

    /* The peer as signalled (SDP). */
    bool have_remote;
    sn_sockaddr sdp_rtp;
    sn_sockaddr sdp_rtcp;
    bool send;
    bool recv;
    int pt;
    sn_g711_law law;
    int dtmf_pt;
    unsigned ptime;

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

    sn_timer timeout_timer;
    sn_timer keepalive_timer;
    sn_timer dtmf_timer;

    sipnat_anchor_stats st;        /* the counters; the rest filled on demand */
};

/* relay.c: the engine of a ctx. */
int sn_media_get(sipnat_ctx *ctx, sn_media **ret);
void sn_media_put(sn_media *m);
/* Bind an even/odd pair in [min, max] and watch both sockets. */
int sn_media_open(sn_media *m, sipnat_anchor *a);
/* Stop watching and close both sockets. */
void sn_media_close(sn_media *m, sipnat_anchor *a);
/* True while the engine dispatches: the anchor's memory must wait. */
bool sn_media_defer_free(sn_media *m, sipnat_anchor *a);

/* anchor.c, for relay.c */
const sn_sockaddr *sn_anchor_rtp_dest(const sipnat_anchor *a);
const sn_sockaddr *sn_anchor_rtcp_dest(const sipnat_anchor *a, sn_sockaddr *tmp);
void sn_anchor_emit(sipnat_anchor *a, sipnat_media_state state, char digit,
                    unsigned duration_ms);
void sn_anchor_free(sipnat_anchor *a);
/* Key the anchor: tx protects what it sends, rx checks what it receives;
 * both NULL: plain RTP. The same keys again keep the running sessions
 * (their rollover counters and replay windows). 0, -EINVAL (only one),
 * -ENOTSUP (suite not available here), -ENOMEM. */
int sn_anchor_set_srtp_keys(sipnat_anchor *a, const sn_crypto_key *tx,
                            const sn_crypto_key *rx);

static inline socklen_t sn_sockaddr_len(const sn_sockaddr *s)
{
    return s->sa.sa_family == AF_INET6 ? sizeof s->in6 : sizeof s->in;
}

#endif
