/*
 * libsipnat - NAT-aware SIP user agent library
 *
 * endpoint.h: who is on the other side (Asterisk's `endpoint` and
 * `identify` sections). Requests arriving at a transport are mapped to an
 * endpoint by their source address; once a transport has endpoints, a
 * request from an address no endpoint matches is rejected (403) and
 * logged.
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

SIPNAT_API int sipnat_endpoint_new(sipnat_endpoint **ret,
                                   sipnat_transport *transport,
                                   const sipnat_endpoint_cfg *cfg);
SIPNAT_API sipnat_endpoint *sipnat_endpoint_ref(sipnat_endpoint *ep);
SIPNAT_API sipnat_endpoint *sipnat_endpoint_unref(sipnat_endpoint *ep);
SIPNAT_API const char *sipnat_endpoint_get_name(const sipnat_endpoint *ep);

/* The endpoint a request from `address` (numeric) maps to: 0 and *ret
 * (not referenced; valid while the endpoint lives), or -ENOENT. */
SIPNAT_API int sipnat_transport_identify(sipnat_transport *t,
                                         const char *address,
                                         sipnat_endpoint **ret);

SIPNAT_END_DECLS

#endif /* SIPNAT_ENDPOINT_H */
