/*
 * libsipnat - an ICE agent (RFC 8445, full; regular nomination; consent
 * freshness, RFC 7675) for one media stream, without I/O of its own: the
 * owner of the sockets hands it every datagram that looks like STUN and
 * a clock, and it answers through a send function. That keeps the
 * anchor's sockets and its relay path as they are (ICE adds nothing per
 * media packet but the source check against the selected pair), and lets
 * the tests run two agents against each other in memory.
 *
 * Sockets are "bases" (RFC 8445 5.1.1.1), numbered by the owner: a host
 * candidate is its base; a server-reflexive candidate names the host base
 * it was learned on (its pairs use that base, RFC 8445 6.1.2.4); a relayed
 * candidate names the base through which the owner relays.
 *
 * What is simplified, and why it is safe for one audio stream: every
 * pair starts Waiting (the freezing of RFC 8445 6.1.2.6 orders checks
 * across streams and foundations; with one stream it only delays them);
 * a retransmitted check is a new transaction. Messages are lib/stun's
 * (libnice's codec).
 */
#ifndef SIPNAT_ICE_AGENT_H
#define SIPNAT_ICE_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "ice/candidate.h"

#define SN_ICE_MAX_LOCAL 8
#define SN_ICE_MAX_REMOTE 24      /* signalled and peer-reflexive */
#define SN_ICE_MAX_PAIRS 64
#define SN_ICE_TA_USEC 50000u     /* RFC 8445 14.2: pacing of new checks */
#define SN_ICE_RTO_USEC 100000u   /* a check's first retransmission */
#define SN_ICE_TRIES 6            /* then the pair has failed (~3.1 s) */
#define SN_ICE_NOMINATE_USEC 200000u /* a valid pair waits this long for a
                                        better one before it is nominated */
#define SN_ICE_TIMEOUT_USEC 15000000u /* no pair selected by then: failed */
#define SN_ICE_CONSENT_USEC 5000000u  /* RFC 7675: a check every 4-6 s ... */
#define SN_ICE_CONSENT_LOST_USEC 30000000u /* ... consent lost after 30 s */

typedef enum sn_ice_state {
    SN_ICE_CHECKING = 0,
    SN_ICE_CONNECTED,     /* a pair is selected for every component */
    SN_ICE_FAILED,        /* no pair worked (or not within the timeout) */
    SN_ICE_DISCONNECTED,  /* consent lost on the selected pair */
} sn_ice_state;

typedef struct sn_ice_agent sn_ice_agent;

/* Send `len` bytes from base `base` to `to`. */
typedef void (*sn_ice_send_func)(int base, const struct sockaddr *to, const uint8_t *buf,
                                 size_t len, void *user_data);

typedef struct sn_ice_cfg {
    bool controlling;     /* the offerer is controlling (RFC 8445 6.1.1) */
    uint64_t tie_breaker; /* random, RFC 8445 16.1 */
    const char *ufrag;    /* our credentials (sn_ice_ufrag_valid/pwd_valid) */
    const char *pwd;
    sn_ice_send_func send;
    void *user_data;
} sn_ice_cfg;

typedef struct sn_ice_stats {
    uint64_t checks_sent;     /* our checks, retransmissions and consent too */
    uint64_t checks_answered; /* the peer's checks we answered */
    uint64_t refused;         /* STUN refused: wrong or no credentials,
                                 malformed, unmatched or asymmetric answers */
    unsigned role_conflicts;
} sn_ice_stats;

int sn_ice_agent_new(sn_ice_agent **ret, const sn_ice_cfg *cfg);
void sn_ice_agent_free(sn_ice_agent *a);

/* Our candidates (before sn_ice_start): 0, -E2BIG, -EINVAL. */
int sn_ice_add_local(sn_ice_agent *a, const sn_ice_cand *c, int base);
/* The peer's credentials and candidates (from its SDP). */
int sn_ice_set_remote_credentials(sn_ice_agent *a, const char *ufrag, const char *pwd);
int sn_ice_add_remote(sn_ice_agent *a, const sn_ice_cand *c);

/* Form the pairs and start checking at `now` (microseconds, any
 * monotonic origin). 0, or -EINVAL (no credentials), -ENOENT (no pair). */
int sn_ice_start(sn_ice_agent *a, uint64_t now);

/* Run what is due at `now`; the next time something is due. */
uint64_t sn_ice_tick(sn_ice_agent *a, uint64_t now);

/* A datagram that arrived on `base` from `from`: 1 a STUN message for
 * the agent (taken, answered), 0 not STUN (media: the owner's), negative
 * a STUN message refused and counted (-EACCES wrong or no credentials:
 * no answer is sent, nothing of the pair leaks; -EBADMSG; -ESRCH). */
int sn_ice_receive(sn_ice_agent *a, int base, const struct sockaddr *from,
                   const uint8_t *buf, size_t len, uint64_t now);

/* Our i-th candidate, in the order added: 0, or -ENOENT past the end. */
int sn_ice_local_at(const sn_ice_agent *a, size_t i, sn_ice_cand *out);

sn_ice_state sn_ice_get_state(const sn_ice_agent *a);
bool sn_ice_is_controlling(const sn_ice_agent *a);
/* The selected pair of `component`: 0, the base and the peer's address
 * (the only source media is taken from); -ENOENT none yet. */
int sn_ice_selected(const sn_ice_agent *a, unsigned component, int *base,
                    struct sockaddr_storage *remote, sn_ice_cand *local_cand,
                    sn_ice_cand *remote_cand);
void sn_ice_get_stats(const sn_ice_agent *a, sn_ice_stats *out);

#endif
