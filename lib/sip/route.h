/*
 * libsipnat - where a request goes and what it says about us.
 *
 * sofia-sip resolves the next hop and writes the Via with no hook in
 * between, so the decision is taken here first: the next hop is resolved
 * (numeric), pinned with an IP-literal NUTAG_PROXY, and the transport's
 * policy answers which address:port goes into the Via sent-by and the
 * Contact for exactly that destination. NTATAG_USER_VIA keeps our Via as
 * given (its ";rport" stops nta from overwriting the port).
 */
#ifndef SIPNAT_SIP_ROUTE_H
#define SIPNAT_SIP_ROUTE_H

#include "sip/sofia.h"

typedef struct sn_route {
    char dest[SIPNAT_ADDRSTRLEN]; /* next hop, numeric */
    int dest_port;
    char local[SIPNAT_ADDRSTRLEN]; /* our address toward dest (system's) */
    char via[SIPNAT_ADDRSTRLEN + 64];      /* SIPTAG_VIA_STR */
    char contact[SIPNAT_ADDRSTRLEN + 160]; /* SIPTAG_CONTACT_STR */
    char proxy[SIPNAT_ADDRSTRLEN + 48];    /* NUTAG_PROXY */
    char explanation[256];
    /* The policy knows no address the destination could use (nothing
     * learned yet, no external address): Via and Contact name
     * SN_ROUTE_NO_HOST instead of our address behind the NAT, and the
     * response's received/rport (RFC 3581) tells us where we are. */
    bool hidden;
} sn_route;

/* RFC 6761's reserved name: resolves nowhere, tells nothing. */
#define SN_ROUTE_NO_HOST "sipnat.invalid"

/* For a request to `uri`; `user` goes into the Contact (may be NULL).
 * -EINVAL for a URI that is not sip:/sips:, -EHOSTUNREACH when its host
 * does not resolve, or what the policy said. */
int sn_route_for_uri(sipnat_transport *t, const char *uri, const char *user,
                     sn_route *out);
/* A sip: or sips: URI with a host. */
bool sn_sip_uri_ok(const char *uri);

/* For a numeric destination. */
int sn_route_for_addr(sipnat_transport *t, const char *dest, int dest_port,
                      const char *user, sn_route *out);

#endif
