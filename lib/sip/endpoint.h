/*
 * libsipnat - endpoints inside lib/sip: configuration, identify, and the
 * AOR's contacts (lib/sip/registrar.c).
 */
#ifndef SIPNAT_SIP_ENDPOINT_H
#define SIPNAT_SIP_ENDPOINT_H

#include "sip/sofia.h"
#include "core/addr.h"
#include "dns/dns.h"

#include <sipnat/session.h>

#include <sofia-sip/auth_module.h>

#define SN_MAX_MATCHES 32
#define SN_MAX_STATIC_CONTACTS 16
#define SN_MAX_CONTACTS 64

/* Highest max_sessions (sipnat_endpoint_cfg_set_max_sessions(3)). */
#define SN_MAX_SESSIONS 100000

struct sipnat_endpoint_cfg {
    char *name;
    char *matches[SN_MAX_MATCHES];
    size_t n_matches;
    char *auth_user, *auth_pass, *auth_realm;
    bool rewrite_contact, remove_existing;
    unsigned max_contacts;
    char *contacts[SN_MAX_STATIC_CONTACTS];
    size_t n_contacts;
    unsigned qualify_frequency;
    unsigned exp_min, exp_default, exp_max;
    sipnat_event_func func;
    void *user_data;
    /* calls (lib/sip/session.c) */
    sipnat_incoming_func incoming_func;
    void *incoming_user_data;
    char *codecs;              /* "PCMU,PCMA": allow, in order */
    char *from_user, *from_domain;
    char *media_address;
    char *out_user, *out_pass, *out_realm; /* outbound_auth for calls */
    bool rtp_symmetric, direct_media;
    bool ice;                    /* ice_support */
    bool sdes, sdes_optimistic;  /* media_encryption(_optimistic) */
    unsigned rtp_timeout;
    unsigned max_sessions;       /* 0: no limit */
    unsigned retry_after;        /* of the 503 over max_sessions; 0: none */
};

typedef struct sn_contact {
    struct sn_contact *next;
    uint64_t id;               /* never reused: qualify answers find it */
    char *uri;                 /* where requests go */
    char *registered;          /* as registered; NULL: permanent */
    char *call_id;
    uint32_t cseq;
    char source[SIPNAT_ADDRSTRLEN];
    int source_port;
    char *user_agent;
    uint64_t expires_at;       /* monotonic usec; 0: permanent */
    int reachable;             /* -1 unknown */
    unsigned rtt_usec;
    bool qualifying;
    /* SIP Outbound (RFC 5626): the binding is a flow, known by its
     * instance (the +sip.instance value as sent) and reg-id; uri is then
     * the flow's source, whatever the Contact says. NULL: none. */
    char *instance;
    unsigned reg_id;
} sn_contact;

/* A host name identify entry: the addresses its records gave last,
 * asked again when their TTL runs out. */
typedef struct sn_ident_name {
    struct sipnat_endpoint *ep;
    char *name;
    sn_dns_req req;
    sn_cidr blocks[SN_DNS_MAX_TARGETS];
    size_t n_blocks;
    sn_timer refresh;
} sn_ident_name;

struct sipnat_endpoint {
    unsigned n_ref;
    sipnat_transport *t;
    struct sipnat_endpoint *next; /* in t->endpoints */
    bool linked;
    char *name;
    sn_cidr *blocks;
    size_t n_blocks;
    sn_ident_name *names;      /* host name entries, resolved on the loop */
    size_t n_names;

    sipnat_endpoint_cfg cfg;   /* a private copy (matches not kept) */
    auth_mod_t *auth;          /* NULL: no inbound auth */
    sn_contact *contacts;      /* permanent ones first, then by age */
    unsigned n_dynamic;
    uint64_t next_id;
    sn_timer expiry_timer;
    sn_timer qualify_timer;
    unsigned n_sessions;       /* calls with a live dialog (max_sessions) */
};

/* lib/sip/registrar.c */
int sn_registrar_init(sipnat_endpoint *ep);
void sn_registrar_fini(sipnat_endpoint *ep);
/* Who sent this request: the endpoint identify or, for endpoints with
 * auth, the From user names; NULL if none. *by_user says which. */
sipnat_endpoint *sn_endpoint_for_request(sipnat_transport *t, const void *src,
                                         sip_t const *sip, bool *by_user);
/* Digest check for `ep`: true when the request may proceed; otherwise
 * the request has been answered (401 with a challenge, or 403). */
bool sn_endpoint_authenticate(sipnat_endpoint *ep, nua_t *nua,
                              nua_handle_t *nh, sip_t const *sip);
/* Answer a REGISTER (nua_i_register). */
void sn_registrar_request(sipnat_transport *t, nua_t *nua, nua_handle_t *nh,
                          sip_t const *sip);

#endif /* SIPNAT_SIP_ENDPOINT_H */
