/*
 * libsipnat - TURN client (RFC 8656) over UDP: a relayed address on a TURN
 * server for one of our UDP sockets, for ICE's relayed candidates (RFC
 * 8445 5.1.1.2) when both sides sit behind NATs that map per destination.
 *
 * The messages are message.c's (libnice's STUN codec, long-term
 * credentials); what is here is ours: the Allocate with its 401/438
 * round, retransmission, refreshing the allocation, the permissions and
 * the channel before they expire, and releasing the allocation at the
 * end. As with STUN Binding (stun.h), the socket is its owner's: the
 * owner sends nothing for us but hands over what arrives from the server
 * (sn_turn_alloc_take), and what is relayed to or from a peer through
 * ChannelData is the owner's too (the anchor frames it on its media path,
 * with the channel bound here).
 *
 * One sn_turn per transport that names a server (the credentials, the
 * transaction list, the counters); one sn_turn_alloc per socket, living
 * inside its owner. lib/core only.
 */
#ifndef SIPNAT_STUN_TURN_H
#define SIPNAT_STUN_TURN_H

#include "core/internal.h"
#include "core/addr.h"
#include "stun/message.h"

#include <stddef.h>
#include <stdint.h>

#define SN_TURN_RTO_USEC 200000u     /* first retransmission, then doubling */
#define SN_TURN_TRIES 5              /* sent at 0, .2, .6, 1.4, 3 s; given up at 6.2 s */
#define SN_TURN_LIFETIME 600         /* asked for, seconds (RFC 8656 default) */
#define SN_TURN_PERM_USEC (240u * 1000000u)  /* permissions last 300 s */
#define SN_TURN_CHAN_USEC (540u * 1000000u)  /* channels last 600 s */
#define SN_TURN_MAX_PERMS SN_TURN_MAX_PEERS
#define SN_TURN_CHANNEL 0x4000       /* the channel number we bind */
#define SN_TURN_DATA_MAX 1500        /* the largest datagram sent in a Send indication */

typedef struct sn_turn sn_turn;
typedef struct sn_turn_alloc sn_turn_alloc;

typedef struct sn_turn_stats {
    uint64_t requests;      /* sent, retransmissions too */
    uint64_t responses;     /* answers taken (success or error) */
    uint64_t allocations;   /* allocations made */
    uint64_t data_in;       /* Data indications taken */
    uint64_t sends;         /* Send indications built */
    uint64_t refused;       /* from the server's address, refused: malformed,
                               unmatched, wrongly signed */
    uint64_t timeouts;      /* requests given up */
} sn_turn_stats;

typedef enum sn_turn_state {
    SN_TURN_IDLE = 0,
    SN_TURN_ALLOCATING,
    SN_TURN_READY,       /* relayed address known, refreshed */
    SN_TURN_FAILED,      /* no allocation: refused, or no answer */
} sn_turn_state;

typedef enum sn_turn_event {
    SN_TURN_EV_ALLOCATED,   /* READY: relayed (and mapped) known */
    SN_TURN_EV_FAILED,      /* the allocation failed or was lost */
    SN_TURN_EV_CHANNEL,     /* the channel to chan_peer is bound */
} sn_turn_event;

typedef void (*sn_turn_func)(sn_turn_alloc *t, sn_turn_event ev, void *user_data);

/* One request in flight of a kind (the same bytes are retransmitted: a
 * new transaction would look like a second Allocate to the server). */
typedef struct sn_turn_tx {
    bool pending;
    unsigned tries;
    uint64_t due;                  /* usec, the next retransmission */
    uint8_t key[SN_STUN_KEY_LEN];
    size_t len;
    uint8_t buf[SN_TURN_REQ_MAX];
} sn_turn_tx;

enum { SN_TURN_TX_ALLOC, SN_TURN_TX_PERM, SN_TURN_TX_CHAN, SN_TURN_TX_N };

struct sn_turn_alloc {
    sn_turn *turn;                 /* referenced while started */
    int fd;
    sn_turn_state state;
    bool authenticated;            /* realm and nonce known */
    char realm[SN_TURN_REALM_MAX];
    char nonce[SN_TURN_NONCE_MAX];
    struct sockaddr_storage relayed;
    struct sockaddr_storage mapped;  /* the NAT's mapping, as the server saw it */
    bool have_mapped;
    uint32_t lifetime;
    uint64_t refresh_at;
    sn_turn_tx tx[SN_TURN_TX_N];
    int32_t tx_lifetime;           /* what the allocate/refresh in flight asks */
    /* Permissions, by peer address (the port does not count). */
    sn_addr perm[SN_TURN_MAX_PERMS];
    unsigned n_perm;
    unsigned n_perm_installed;     /* the first n are installed */
    unsigned n_perm_asked;         /* what the request in flight covers */
    uint64_t perm_refresh_at;
    /* The channel (one: the selected pair's peer). */
    bool chan_wanted;
    bool chan_bound;
    struct sockaddr_storage chan_peer;
    uint64_t chan_refresh_at;
    sn_timer timer;
    sn_turn_func func;
    void *user_data;
};

/* A client of the server at `address` (numeric) and `port`, with the
 * long-term credentials `user` and `password`. */
int sn_turn_new(sn_turn **ret, sipnat_ctx *ctx, const char *address, int port,
                const char *user, const char *password);
sn_turn *sn_turn_ref(sn_turn *t);
void sn_turn_unref(sn_turn *t);
const char *sn_turn_server_name(const sn_turn *t);
const struct sockaddr *sn_turn_server_sa(const sn_turn *t);
void sn_turn_get_stats(const sn_turn *t, sn_turn_stats *out);

/* Allocate a relayed address for fd now; func reports the outcome and
 * later events. 0 or a negative errno (func is not called). */
int sn_turn_alloc_start(sn_turn_alloc *a, sn_turn *t, int fd, sn_turn_func func,
                        void *user_data);
/* Release the allocation (a Refresh with LIFETIME 0, not waited for)
 * and stop; the struct may be freed after. Safe on one never started. */
void sn_turn_alloc_stop(sn_turn_alloc *a);
/* Let `peer`'s address send to us through the relay (CreatePermission,
 * refreshed): 0, -E2BIG (SN_TURN_MAX_PERMS addresses already). */
int sn_turn_alloc_permit(sn_turn_alloc *a, const struct sockaddr *peer);
/* Bind SN_TURN_CHANNEL to `peer` (permitting it too); SN_TURN_EV_CHANNEL
 * when the server agreed. The one channel moves to another peer. */
int sn_turn_alloc_bind(sn_turn_alloc *a, const struct sockaddr *peer);
/* Send `data` to `peer` through the relay (a Send indication; `peer`
 * needs a permission). 0 or a negative errno. */
int sn_turn_alloc_send(sn_turn_alloc *a, const struct sockaddr *peer, const uint8_t *data,
                       size_t len);
/* A STUN-looking datagram arrived on a's socket from `from`: 1 a
 * response taken, 2 a Data indication (the peer and its payload, pointing
 * into buf), -ESRCH not from the server or answering nothing of ours
 * (someone else's STUN), other negatives refused and counted. */
int sn_turn_alloc_take(sn_turn_alloc *a, const uint8_t *buf, size_t len,
                       const struct sockaddr *from, struct sockaddr_storage *peer,
                       const uint8_t **data, size_t *dlen);

#endif
