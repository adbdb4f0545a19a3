/*
 * libsipnat - the relay: the media engine of a ctx. It owns UDP port
 * pairs (RTP on an even port, RTCP on the odd one after it), watches
 * them, and moves datagrams in recvmmsg()/sendmmsg() batches through one
 * set of preallocated buffers per ctx. It knows nothing of what the
 * datagrams mean: a ready socket's batch goes to its pair's handler (the
 * anchor's receive path, anchor_rx.c), which may queue datagrams of the
 * batch to send and flush them from any pair's socket.
 *
 * Per packet there is no allocation, no lock and no system call of its
 * own. A pair freed while its handler runs is released (its release
 * function called) once the handler has returned.
 */
#ifndef SIPNAT_MEDIA_RELAY_H
#define SIPNAT_MEDIA_RELAY_H

#include "core/internal.h"
#include "core/addr.h"
#include "media/latch.h"

#include <sys/socket.h>

#define SN_MEDIA_BATCH 32   /* datagrams per recvmmsg/sendmmsg */
#define SN_MEDIA_BUF 2048   /* bytes per datagram buffer; larger ones are malformed */
#define SN_MEDIA_EVENTS 64  /* ready sockets taken per wake-up */
/* Room kept after every received datagram, for a trailer added in place
 * on its way out (SRTP's authentication tag and MKI). */
#define SN_MEDIA_TAILROOM 32

typedef struct sn_relay sn_relay;
typedef struct sn_relay_pair sn_relay_pair;

/* One batch: what was received (rx, rx_addr, buf) and what is queued to
 * be sent (tx, pointing into buf). */
typedef struct sn_relay_batch {
    struct mmsghdr rx[SN_MEDIA_BATCH];
    struct iovec rx_iov[SN_MEDIA_BATCH];
    sn_sockaddr rx_addr[SN_MEDIA_BATCH];
    struct mmsghdr tx[SN_MEDIA_BATCH];
    struct iovec tx_iov[SN_MEDIA_BATCH][2]; /* [0] a TURN channel's header, or the datagram */
    uint8_t tx_chan[SN_MEDIA_BATCH][4];
    uint8_t buf[SN_MEDIA_BATCH][SN_MEDIA_BUF];
} sn_relay_batch;

/* n datagrams arrived on the pair's RTP (rtcp false) or RTCP socket. */
typedef void (*sn_relay_func)(sn_relay_pair *p, bool rtcp, sn_relay_batch *b,
                              unsigned n, uint64_t now);
/* The pair's owner may free it now (see sn_relay_defer). */
typedef void (*sn_relay_release_func)(sn_relay_pair *p);

typedef struct sn_relay_sock {
    sn_relay *relay;
    sn_relay_pair *pair;
    int fd;
    bool rtcp;
} sn_relay_sock;

/* Lives inside its owner (the anchor). */
struct sn_relay_pair {
    sn_relay_sock rtp;
    sn_relay_sock rtcp;
    int port;                      /* the RTP port; 0 while unbound */
    bool dead;                     /* released while the relay dispatched */
    sn_relay_pair *zombie_next;
    sn_relay_func on_rx;
    sn_relay_release_func release;
};

/* The relay of a ctx, made on first use, freed with the ctx. */
int sn_relay_get(sipnat_ctx *ctx, sn_relay **ret);
/* Bind an even/odd pair in [min, max] on `bind` and watch both sockets.
 * 0, -EADDRINUSE (no free pair), or a socket error. */
int sn_relay_open(sn_relay *r, sn_relay_pair *p, const sn_addr *bind,
                  int port_min, int port_max);
/* Stop watching and close both sockets. */
void sn_relay_close(sn_relay *r, sn_relay_pair *p);
/* True while a handler runs: the pair is marked dead, and its release
 * function runs when the handler returns. False: release it now. */
bool sn_relay_defer(sn_relay *r, sn_relay_pair *p);

/* Queue datagram i of the batch (len bytes, maybe changed in place) to
 * dst as the next of *ntx; dst must stay valid until the flush. */
void sn_relay_queue(sn_relay_batch *b, unsigned *ntx, unsigned i, size_t len,
                    const sn_sockaddr *dst);
/* The same, framed as TURN ChannelData (RFC 8656 12.4) on `channel`, to
 * the TURN server `server`. */
void sn_relay_queue_channel(sn_relay_batch *b, unsigned *ntx, unsigned i, size_t len,
                            const sn_sockaddr *server, uint16_t channel);
/* Send the first ntx queued datagrams from fd; returns how many left,
 * and their bytes in *bytes. A datagram the kernel refuses is dropped,
 * the rest still go. */
unsigned sn_relay_flush(sn_relay_batch *b, int fd, unsigned ntx, uint64_t *bytes);

static inline socklen_t sn_sockaddr_len(const sn_sockaddr *s)
{
    return s->sa.sa_family == AF_INET6 ? sizeof s->in6 : sizeof s->in;
}

#endif
