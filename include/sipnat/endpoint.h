/*
 * libsipnat - NAT-aware SIP user agent library
 *
 * endpoint.h: who is on the other side (Asterisk's `endpoint`, `auth`,
 * `aor` and `identify` sections). Requests arriving at a transport are
 * mapped to an endpoint by their source address (identify), or, for an
 * endpoint with inbound auth, by the user of their From URI, and must then
 * answer a digest challenge. Once a transport has endpoints, a request
 * that maps to none is rejected (403) and logged.
 *
 * An endpoint's AOR (named like the endpoint) takes REGISTER requests
 * from phones: up to max_contacts bindings, each stored with the packet's
 * source when rewrite_contact is on, and qualified with OPTIONS every
 * qualify_frequency seconds.
 */
#ifndef SIPNAT_ENDPOINT_H
#define SIPNAT_ENDPOINT_H

#include <sipnat/common.h>
#include <sipnat/transport.h>

SIPNAT_BEGIN_DECLS

typedef struct sipnat_endpoint sipnat_endpoint;
typedef struct sipnat_endpoint_cfg sipnat_endpoint_cfg;

SIPNAT_API int sipnat_endpoint_cfg_new(sipnat_endpoint_cfg **ret);
SIPNAT_API sipnat_endpoint_cfg *
sipnat_endpoint_cfg_free(sipnat_endpoint_cfg *cfg);
/* Required: the endpoint's name ("sipus_endpoint", "6001"). */
SIPNAT_API int sipnat_endpoint_cfg_set_name(sipnat_endpoint_cfg *cfg,
                                            const char *name);
/* identify's `match`: "203.0.113.1", "203.0.113.0/24",
 * "203.0.113.0/255.255.255.0", "2001:db8::/32" or a host name, whose
 * A/AAAA records are looked up when the endpoint is created. */
SIPNAT_API int sipnat_endpoint_cfg_add_match(sipnat_endpoint_cfg *cfg,
                                             const char *match);
/* Inbound auth (auth_type=userpass): REGISTER and INVITE from this
 * endpoint must answer a digest challenge for `realm` (NULL: "libsipnat")
 * with these credentials. */
SIPNAT_API int sipnat_endpoint_cfg_set_auth(sipnat_endpoint_cfg *cfg,
                                            const char *username,
                                            const char *password,
                                            const char *realm);
/* outbound_auth for calls: answer a 401/407 to our INVITE with these
 * credentials, only for `realm` (NULL: the realm of the first challenge). */
SIPNAT_API int sipnat_endpoint_cfg_set_outbound_auth(sipnat_endpoint_cfg *cfg,
                                                     const char *username,
                                                     const char *password,
                                                     const char *realm);
/* rewrite_contact: store a registered contact with the address and port
 * the REGISTER came from instead of what its Contact says. Default off. */
SIPNAT_API int sipnat_endpoint_cfg_set_rewrite_contact(sipnat_endpoint_cfg *cfg,
                                                       int on);
/* aor max_contacts: bindings a REGISTER may create (0, the default,
 * refuses every REGISTER, as in Asterisk); at most 64. */
SIPNAT_API int sipnat_endpoint_cfg_set_max_contacts(sipnat_endpoint_cfg *cfg,
                                                    unsigned max);
/* aor remove_existing: when a new binding would exceed max_contacts, the
 * one closest to expiry goes instead of refusing the REGISTER. */
SIPNAT_API int sipnat_endpoint_cfg_set_remove_existing(sipnat_endpoint_cfg *cfg,
                                                       int on);
/* aor contact: a permanent contact URI (sip: or sips:). */
SIPNAT_API int sipnat_endpoint_cfg_add_contact(sipnat_endpoint_cfg *cfg,
                                               const char *uri);
/* aor qualify_frequency: OPTIONS every `seconds` to each contact (0: off,
 * the default; at most 86400). */
SIPNAT_API int sipnat_endpoint_cfg_set_qualify_frequency(sipnat_endpoint_cfg *cfg,
                                                         unsigned seconds);
/* aor minimum_expiration, default_expiration, maximum_expiration
 * (defaults 60, 3600, 7200; minimum <= default <= maximum). */
SIPNAT_API int sipnat_endpoint_cfg_set_expiration(sipnat_endpoint_cfg *cfg,
                                                  unsigned minimum,
                                                  unsigned def,
                                                  unsigned maximum);
/* SIPNAT_EVENT_CONTACT events (state: sipnat_contact_state). */
SIPNAT_API int sipnat_endpoint_cfg_set_event_func(sipnat_endpoint_cfg *cfg,
                                                  sipnat_event_func func,
                                                  void *user_data);

typedef enum sipnat_contact_state {
    SIPNAT_CONTACT_ADDED = 1,       /* a REGISTER created a binding */
    SIPNAT_CONTACT_REFRESHED = 2,   /* ... or refreshed or moved one */
    SIPNAT_CONTACT_REMOVED = 3,     /* unregistered, or replaced */
    SIPNAT_CONTACT_EXPIRED = 4,     /* not refreshed in time */
    SIPNAT_CONTACT_REACHABLE = 5,   /* qualify: answered (first, or again) */
    SIPNAT_CONTACT_UNREACHABLE = 6  /* qualify: no answer */
} sipnat_contact_state;

/* A contact as the endpoint holds it; strings are valid until the next
 * call into the library. Append-only: set `size` before the call. */
typedef struct sipnat_contact_info {
    size_t size;
    const char *uri;            /* where requests go (rewritten) */
    const char *registered_uri; /* as the phone sent it; NULL if permanent */
    const char *address;        /* REGISTER's source, or NULL */
    int port;
    const char *user_agent;     /* or NULL */
    unsigned expires;           /* seconds left; 0 for a permanent one */
    int reachable;              /* 1, 0, or -1 when not qualified yet */
    unsigned rtt_usec;          /* last qualify round trip */
} sipnat_contact_info;

SIPNAT_API int sipnat_endpoint_new(sipnat_endpoint **ret,
                                   sipnat_transport *transport,
                                   const sipnat_endpoint_cfg *cfg);
SIPNAT_API sipnat_endpoint *sipnat_endpoint_ref(sipnat_endpoint *ep);
SIPNAT_API sipnat_endpoint *sipnat_endpoint_unref(sipnat_endpoint *ep);
SIPNAT_API const char *sipnat_endpoint_get_name(const sipnat_endpoint *ep);
/* The endpoint's transport (not referenced). */
SIPNAT_API sipnat_transport *
sipnat_endpoint_get_transport(const sipnat_endpoint *ep);
/* The index-th contact (permanent ones first): 0, or -ENOENT past the
 * end. */
SIPNAT_API int sipnat_endpoint_get_contact(sipnat_endpoint *ep, size_t index,
                                           sipnat_contact_info *info);
/* Send the qualify OPTIONS to every contact now; returns how many. */
SIPNAT_API int sipnat_endpoint_qualify(sipnat_endpoint *ep);

/* The endpoint a request from `address` (numeric) maps to: 0 and *ret
 * (not referenced; valid while the endpoint lives), or -ENOENT. */
SIPNAT_API int sipnat_transport_identify(sipnat_transport *t,
                                         const char *address,
                                         sipnat_endpoint **ret);

SIPNAT_END_DECLS

#endif /* SIPNAT_ENDPOINT_H */
