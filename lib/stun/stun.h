/*
 * libsipnat - STUN (RFC 8489) address discovery: which public address and
 * port a NAT gives one of our UDP sockets, asked of a STUN server with a
 * Binding request sent from that very socket.
 *
 * The messages are libnice's STUN library (message.c; Debian
 * libnice-dev: its stun/ part is plain C, no GLib main loop): it builds
 * requests with a FINGERPRINT, checks responses (FINGERPRINT, unknown
 * comprehension-required attributes, that the response answers a request
 * we sent) and reads XOR-MAPPED-ADDRESS. What is ours (this file): when to
 * ask, how often to retransmit, when to give up, refreshing, and counting
 * what is refused.
 *
 * One sn_stun per transport that names a server (its agent remembers the
 * transactions in flight: 11 KB, so one per transport, not per socket);
 * one sn_stun_binding per socket, living inside its owner. The socket's
 * owner receives the datagrams (the anchor's receive path) and hands
 * those that look like STUN (RFC 7983: lib/media/rtp.h) to
 * sn_stun_binding_take.
 * Nothing here knows SIP or the media: lib/core only (timers, log,
 * addresses); the sockets are their owners', handed over as descriptors.
 */
#ifndef SIPNAT_STUN_STUN_H
#define SIPNAT_STUN_STUN_H

#include "core/internal.h"
#include "core/addr.h"
#include "stun/message.h"

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define SN_STUN_PORT 3478
/* Retransmissions of a Binding request (RFC 8489 7.2.1 with a short RTO:
 * the SDP waits for the answer): sent at 0, 100, 300 ms, given up at
 * 700 ms. */
#define SN_STUN_RTO_USEC 100000u
#define SN_STUN_TRIES 3
#define SN_STUN_GIVEUP_MS 700u
/* Refresh of a learned mapping while the socket is in use (NATs forget
 * idle UDP bindings after 30 s or more; RFC 4787 REQ-5 says >= 2 min,
 * many home routers keep 30 s). */
#define SN_STUN_REFRESH_USEC (20u * 1000000u)

typedef struct sn_stun sn_stun;
typedef struct sn_stun_binding sn_stun_binding;

typedef struct sn_stun_stats {
    uint64_t requests;   /* Binding requests sent, retransmissions too */
    uint64_t responses;  /* success responses taken */
    uint64_t refused;    /* STUN-looking datagrams refused (malformed,
                            forged, unmatched, wrong source, errors) */
    uint64_t timeouts;   /* requests given up */
} sn_stun_stats;

/* The binding's first answer (or its giving up, ok false), and every
 * later change of the mapping. */
typedef void (*sn_stun_func)(sn_stun_binding *b, bool ok, void *user_data);

struct sn_stun_binding {
    sn_stun *stun;                 /* referenced while started */
    int fd;
    uint8_t key[SN_STUN_KEY_LEN];  /* the request in flight (bytes 4-19) */
    bool pending;                  /* a request is in flight */
    bool settled;                  /* the first outcome was reported */
    bool have_mapped;
    unsigned tries;
    struct sockaddr_storage mapped; /* what the server saw */
    time_t learned_at;             /* wall clock, for explanations */
    sn_timer timer;                /* retransmission, or the next refresh */
    sn_stun_func func;
    void *user_data;
};

/* A client of the server at `address` (numeric) and `port`. */
int sn_stun_new(sn_stun **ret, sipnat_ctx *ctx, const char *address, int port);
/* The same, with or without FINGERPRINT (sn_stun_agent_new_fp). */
int sn_stun_new_fp(sn_stun **ret, sipnat_ctx *ctx, const char *address, int port,
                   bool fingerprint);
sn_stun *sn_stun_ref(sn_stun *s);
void sn_stun_unref(sn_stun *s);
/* "203.0.113.3:3478" */
const char *sn_stun_server_name(const sn_stun *s);
void sn_stun_get_stats(const sn_stun *s, sn_stun_stats *out);

/* Ask for fd's mapping now (retransmitting, then refreshing every
 * SN_STUN_REFRESH_USEC); func reports the outcome. 0 or a negative errno
 * (the request could not be sent: func is not called). */
int sn_stun_binding_start(sn_stun_binding *b, sn_stun *s, int fd,
                          sn_stun_func func, void *user_data);
/* Stop asking; the binding may be freed after. Safe on a binding never
 * started (zeroed). */
void sn_stun_binding_stop(sn_stun_binding *b);
/* A datagram that looks like STUN arrived on b's socket from `from`:
 * 1 taken (a response to our request: the mapping is known), negative
 * refused and counted (-EBADMSG malformed or failing FINGERPRINT, -EPERM
 * not from the server, -ESRCH not answering our request, -EPROTO an
 * error response or no XOR-MAPPED-ADDRESS). */
int sn_stun_binding_take(sn_stun_binding *b, const uint8_t *buf, size_t len,
                         const struct sockaddr *from);

#endif
