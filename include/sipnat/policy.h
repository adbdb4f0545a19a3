/*
 * libsipnat - NAT-aware SIP user agent library
 *
 * policy.h: address translation. A policy answers one question, per
 * destination: which address and port to advertise for signalling (Via
 * sent-by, Contact) and which address for media (SDP o=, c=, a=rtcp).
 * Built-in policies follow Asterisk's local_net / external_*_address
 * semantics (static) or learn the public address from the Via
 * received/rport of responses (learned); the host can supply its own
 * (callback), through a versioned table of operations.
 */
#ifndef SIPNAT_POLICY_H
#define SIPNAT_POLICY_H

#include <sipnat/common.h>

SIPNAT_BEGIN_DECLS

typedef struct sipnat_policy sipnat_policy;

typedef enum sipnat_policy_type {
    SIPNAT_POLICY_STATIC = 1,  /* local_net + external_* addresses */
    SIPNAT_POLICY_LEARNED = 2, /* local_net + the address responses show */
    SIPNAT_POLICY_CALLBACK = 3 /* the host's own function */
} sipnat_policy_type;

/* The question. Addresses are numeric. */
typedef struct sipnat_advert_query {
    size_t size;               /* sizeof(sipnat_advert_query) of the caller */
    const char *destination;   /* next hop, after DNS */
    int destination_port;
    const char *local_address; /* the transport's own address */
    int local_port;
    const char *media_address; /* local media address; NULL: local_address */
} sipnat_advert_query;

/* The answer. The caller sets `size` to sizeof(sipnat_advert) before
 * asking; the library writes no further than that. */
typedef struct sipnat_advert {
    size_t size;
    char signaling_address[SIPNAT_ADDRSTRLEN];
    int signaling_port;
    char media_address[SIPNAT_ADDRSTRLEN];
    char explanation[256];     /* why, one line, for logs and humans */
} sipnat_advert;

#define SIPNAT_POLICY_OPS_VERSION 1

/* A host policy. The library copies the table; fields are only ever
 * appended, with a new version number. */
typedef struct sipnat_policy_ops {
    unsigned version; /* SIPNAT_POLICY_OPS_VERSION */
    /* Fill `answer` (its size is set, the rest zeroed, the explanation
     * may be left empty). Return 0 or a negative errno. */
    int (*advertise)(const sipnat_advert_query *query, sipnat_advert *answer,
                     void *user_data);
    /* Called once at the policy's last unref; may be NULL. */
    void (*destroy)(void *user_data);
} sipnat_policy_ops;

SIPNAT_API int sipnat_policy_new(sipnat_policy **ret, sipnat_policy_type type);
SIPNAT_API int sipnat_policy_new_callback(sipnat_policy **ret,
                                          const sipnat_policy_ops *ops,
                                          void *user_data);
SIPNAT_API sipnat_policy *sipnat_policy_ref(sipnat_policy *policy);
SIPNAT_API sipnat_policy *sipnat_policy_unref(sipnat_policy *policy);
SIPNAT_API int sipnat_policy_get_type(const sipnat_policy *policy);

/* Static and learned policies. */
SIPNAT_API int sipnat_policy_add_local_net(sipnat_policy *policy,
                                           const char *cidr);
SIPNAT_API int sipnat_policy_set_external_signaling_address(
    sipnat_policy *policy, const char *address, int port);
SIPNAT_API int sipnat_policy_set_external_media_address(sipnat_policy *policy,
                                                        const char *address);

/* Learned policy: what a response's top Via said (received, rport) when
 * sent to `server`. Returns 1 when the advertised address changed (the
 * caller re-registers), 0 when not. */
SIPNAT_API int sipnat_policy_learn(sipnat_policy *policy, const char *server,
                                   const char *received, int rport);
SIPNAT_API int sipnat_policy_get_learned(const sipnat_policy *policy,
                                         char *buf, size_t size, int *port);

SIPNAT_API int sipnat_policy_advertise(sipnat_policy *policy,
                                       const sipnat_advert_query *query,
                                       sipnat_advert *answer);
/* One line: what would be advertised to `destination`, and why. */
SIPNAT_API int sipnat_policy_explain(sipnat_policy *policy,
                                     const char *destination,
                                     const char *local_address, int local_port,
                                     char *buf, size_t size);

SIPNAT_END_DECLS

#endif /* SIPNAT_POLICY_H */
