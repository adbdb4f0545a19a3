/*
 * libsipnat - where a request goes and what it says about us.
 *
 * sofia-sip resolves the next hop and writes the Via with no hook in
 * between, so the decision is taken here first: the next hop is resolved
 * by lib/dns (RFC 3263, asynchronously: sn_hops), pinned with an IP-literal NUTAG_PROXY, and the transport's
 * policy answers which address:port goes into the Via sent-by and the
 * Contact for exactly that destination. NTATAG_USER_VIA keeps our Via as
 * given (its ";rport" stops nta from overwriting the port).
 */
#ifndef SIPNAT_SIP_ROUTE_H
#define SIPNAT_SIP_ROUTE_H

#include "sip/sofia.h"
#include "dns/dns.h"

typedef struct sn_route {
    char dest[SIPNAT_ADDRSTRLEN]; /* next hop, numeric */
    int dest_port;
    char local[SIPNAT_ADDRSTRLEN]; /* our address toward dest (system's) */
    char via[SIPNAT_ADDRSTRLEN + 64];      /* SIPTAG_VIA_STR */
    char contact[SIPNAT_ADDRSTRLEN + 160]; /* SIPTAG_CONTACT_STR */
    char proxy[SIPNAT_ADDRSTRLEN + 48];    /* NUTAG_PROXY */
    char explanation[256];
} sn_route;

/* A sip: or sips: URI with a host. */
bool sn_sip_uri_ok(const char *uri);

/* For a numeric destination. */
int sn_route_for_addr(sipnat_transport *t, const char *dest, int dest_port,
                      const char *user, sn_route *out);

/* The next hops of a request to a URI (RFC 3263, lib/dns), in the
 * order to try them, and which one is being tried. Lives inside the
 * object that sends (registration, call, OPTIONS). */
typedef struct sn_hops {
    sn_dns_req req;
    sn_dns_result *res;      /* NULL until resolved */
    size_t at;               /* the target tried now */
    uint64_t expires;        /* CLOCK_MONOTONIC usec: resolve again after */
    void (*cb)(void *arg, int error);
    void *arg;
} sn_hops;

/* Resolve the next hop of `uri` (its maddr, else its host) for the
 * transport's protocol and family; `cb` runs from a later process call
 * with 0 or the resolution's error (-EHOSTUNREACH, -ETIMEDOUT, -EPROTO).
 * A previous answer is dropped. 0, -EINVAL, -ENOMEM. */
int sn_hops_resolve(sn_hops *h, sipnat_transport *t, const char *uri,
                    void (*cb)(void *arg, int error), void *arg);
/* An answer that is still within its TTL. */
bool sn_hops_fresh(const sn_hops *h);
/* The route toward the target tried now. */
int sn_hops_route(sn_hops *h, sipnat_transport *t, const char *user,
                  sn_route *out);
/* Move on to the next target: false when none is left (then back at
 * the first, for the next attempt). */
bool sn_hops_next(sn_hops *h);
/* The target tried now, or NULL. */
const sn_dns_target *sn_hops_target(const sn_hops *h);
/* A final status after which the next target is tried (RFC 3263 4.3,
 * RFC 3261 21.5.4): 503, and 408 (sofia's own answer to a timeout; a
 * transport error is its 503). */
static inline bool sn_failover_status(int status)
{
    return status == 503 || status == 408;
}
/* The URI's next hop (maddr or host) when it is a numeric address:
 * 0, else -EINVAL (a name, or not a URI). */
int sn_uri_numeric_host(const char *uri, char *buf, size_t size);
/* Cancel and forget. */
void sn_hops_clear(sn_hops *h);

#endif
