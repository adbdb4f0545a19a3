/*
 * libsipnat - names to next hops (RFC 3263), asynchronously, on the ctx's
 * own fds and timers.
 *
 * lib/dns uses lib/core only and never calls lib/sip; lib/sip calls it.
 * c-ares does the wire work (sockets, retries, server rotation, TCP on
 * truncation, response-id and question checks, record parsing); this
 * layer adds a bounded TTL cache and the RFC 3263 procedure: NAPTR, then
 * SRV ordered by priority and weight (RFC 2782), then A/AAAA. The answer
 * is an ordered list of targets to try one after the other (failover).
 *
 * A request belongs to its caller (embedded in a registration, a call,
 * an identify rule): sn_dns_cancel() detaches it at any time, the ctx's
 * teardown detaches all. The callback never runs inside the call that
 * started the request, always from a later process call.
 */
#ifndef SIPNAT_DNS_DNS_H
#define SIPNAT_DNS_DNS_H

#include "core/internal.h"
#include "core/addr.h"

#include <stddef.h>

#define SN_DNS_MAX_TARGETS 16   /* addresses handed to a caller */
#define SN_DNS_NAME_MAX 256     /* a host name, NUL included */

typedef struct sn_dns_target {
    char addr[SIPNAT_ADDRSTRLEN]; /* numeric */
    int port;
    char host[SN_DNS_NAME_MAX];   /* the name this address is of (SRV target) */
    unsigned priority;            /* SRV priority, 0 without SRV */
} sn_dns_target;

typedef struct sn_dns_result {
    int error;          /* 0, -EHOSTUNREACH (no such name or records),
                           -ETIMEDOUT (no server answered), -EPROTO
                           (malformed or refused answers), -ENOMEM */
    unsigned ttl;       /* seconds the answer may be kept (smallest TTL) */
    size_t n;
    sn_dns_target t[];  /* n of them (at most SN_DNS_MAX_TARGETS): a call
                           keeps its answer for failover, so it is sized
                           to what it holds */
} sn_dns_result;

/* What to resolve: a SIP URI's host part. */
typedef struct sn_dns_query {
    const char *host;   /* name or numeric address (IPv6 without brackets) */
    int port;           /* the URI's explicit port, 0 for none */
    int protocol;       /* SIPNAT_PROTOCOL_*: the one transport we can use */
    int family;         /* AF_INET, AF_INET6 or AF_UNSPEC */
    bool sips;
    bool address_only;  /* A/AAAA only (identify host names) */
} sn_dns_query;

/* Takes ownership of `res` (free() it). */
typedef void (*sn_dns_cb)(sn_dns_result *res, void *arg);

struct sn_dns_op;
typedef struct sn_dns_req {
    struct sn_dns_op *op; /* NULL while idle */
} sn_dns_req;

/* Starts a resolution; `req` must be idle. 0, -EINVAL, -ENOMEM. */
int sn_dns_resolve(sipnat_ctx *ctx, sn_dns_req *req, const sn_dns_query *q,
                   sn_dns_cb cb, void *arg);
static inline bool sn_dns_busy(const sn_dns_req *req) { return req->op != NULL; }
/* The callback will not run; NULL-safe, idle-safe. */
void sn_dns_cancel(sn_dns_req *req);

/* Order SRV records by priority, then RFC 2782's weighted random choice
 * within a priority. `rnd` gives uniform values (tests make it fixed). */
typedef struct sn_dns_srv {
    unsigned priority, weight, port;
    char target[SN_DNS_NAME_MAX];
} sn_dns_srv;
void sn_dns_srv_order(sn_dns_srv *v, size_t n, uint32_t (*rnd)(void *), void *rnd_arg);

/* The smallest TTL of the answer records of `type` in a DNS message, or
 * for a negative answer the SOA's negative TTL (RFC 2308); -1 if none.
 * Bounded by the message: never reads outside it. */
long sn_dns_msg_ttl(const unsigned char *msg, size_t len, int type);

/* Counters, for tests and logs. */
typedef struct sn_dns_stats {
    unsigned long queries;      /* sent to a server */
    unsigned long cache_hits;
    unsigned long refused;      /* malformed, or a failure a server reported */
    unsigned long timeouts;
    size_t cache_entries;
} sn_dns_stats;
void sn_dns_get_stats(sipnat_ctx *ctx, sn_dns_stats *out);
/* Drop every cached answer. */
void sn_dns_flush(sipnat_ctx *ctx);

#endif
