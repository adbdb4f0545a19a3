/*
 * libsipnat - the only place where sofia-sip is included. Files in
 * lib/sip/ include this; nothing outside lib/sip/ does. GLib is
 * included by lib/sip/stack.c alone.
 */
#ifndef SIPNAT_SIP_SOFIA_H
#define SIPNAT_SIP_SOFIA_H

#include "core/internal.h"

#include <sofia-sip/su.h>
#include <sofia-sip/su_log.h>
#include <sofia-sip/su_tag.h>
#include <sofia-sip/nua.h>
#include <sofia-sip/nua_tag.h>
#include <sofia-sip/sip_status.h>
#include <sofia-sip/tport_tag.h>
#include <sofia-sip/nta_tag.h>
#include <sofia-sip/sip_header.h>
#include <sofia-sip/msg_addr.h>
#include <sofia-sip/url.h>

#include <sys/socket.h>

/* sofia-sip exports these log objects but declares them only in its
 * private headers. */
extern su_log_t nua_log[], nta_log[], tport_log[], soa_log[], sresolv_log[];

/* lib/sip/stack.c: sofia's root, the first loop source of every ctx
 * (sipnat_ctx_new adds it). */
typedef struct sn_stack sn_stack;
sn_stack *sn_stack_of(sipnat_ctx *ctx);
/* The root every NUA instance of a ctx runs on. */
su_root_t *sn_stack_root(sn_stack *stack);
/* The stack's fds or timers may have changed outside a run. */
void sn_stack_refresh(sn_stack *stack);
/* Block up to timeout_ms for stack work (used only by the last unref). */
void sn_stack_wait(sn_stack *stack, int timeout_ms);
/* Every transport of the ctx, open or shutting down. */
struct sipnat_transport **sn_stack_transports(sn_stack *stack);
/* The ctx's SIP Outbound instance ("urn:uuid:...", RFC 5626 4.1), made
 * once per ctx when a registration without one of its own asks. */
const char *sn_stack_instance(sn_stack *stack);
/* Snapshot of the stack's fds, to find the sockets a new NUA bound. */
size_t sn_stack_fds(sn_stack *stack, int *fds, size_t max);

/* lib/sip/transport.c, the stack source's teardown and reap hooks. */
void sn_transports_finish_all(sipnat_ctx *ctx);
void sn_transports_reap(sipnat_ctx *ctx);

typedef struct sn_pending sn_pending;

/* What a NUA handle's magic points to: the first member of each owner. */
typedef enum sn_hkind {
    SN_H_REQUEST = 1,
    SN_H_REGISTRATION = 2,
    SN_H_SESSION = 3
} sn_hkind;
typedef struct sn_hmagic {
    sn_hkind kind;
} sn_hmagic;

/* A TCP/TLS transport's accepted connections (connlimit.c). */
typedef struct sn_connlimit {
    unsigned max;
    unsigned idle_ms;          /* 0: no idle timeout */
    int *fds;                  /* the connections admitted */
    size_t n, cap;
    unsigned long n_cut;       /* shut down: over max or idle */
    sn_timer timer;
} sn_connlimit;
#define SN_CONN_MAX_DEFAULT 256
#define SN_CONN_IDLE_DEFAULT 300
#define SN_SIP_MAX_MESSAGE 65536u      /* bytes */
#define SN_SIP_MESSAGE_TIMEOUT 32000u  /* ms */

struct sipnat_transport {
    unsigned n_ref;
    sipnat_ctx *ctx;          /* NULL once the ctx is gone */
    struct sipnat_transport *next;

    nua_t *nua;
    sipnat_protocol protocol;
    char address[SIPNAT_ADDRSTRLEN];
    int port;
    struct sockaddr_storage bound;
    sipnat_policy *policy;    /* NULL: advertise the bound address */
    bool force_rport;
    int rtp_min, rtp_max;     /* media anchors' port range */
    struct sn_stun *stun;     /* STUN server of the media sockets, or NULL */
    struct sn_turn *turn;     /* TURN server of ICE's relayed candidates, or NULL */

    enum { SN_T_OPEN, SN_T_CLOSING, SN_T_CLOSED } state;
    sipnat_event_func shutdown_func;
    void *shutdown_user_data;
    bool shutdown_reported;

    sn_pending *pending;      /* requests waiting for a final response */
    struct sipnat_registration *registrations; /* started on this transport */
    struct sipnat_endpoint *endpoints;         /* identify order: newest first */
    struct sipnat_session *sessions;           /* every session, any state */
    char learn_refused[2 * SIPNAT_ADDRSTRLEN + 16]; /* logged once */
    sn_timer unregister_timer; /* bounds the unregistering before shutdown */
    sn_connlimit conn;
};

void sn_connlimit_init(sipnat_transport *t, unsigned max, unsigned idle_seconds);
void sn_connlimit_fini(sipnat_transport *t);
/* stack.c: the stack has a new socket (an accepted connection?). */
void sn_connlimit_new_fd(sipnat_transport *transports, int fd);

/* Replace *slot by a copy of value (NULL frees): 0 or -ENOMEM. */
int sn_replace_str(char **slot, const char *value);

/* lib/sip/endpoint.c: the endpoint whose identify matches `addr` (an
 * sn_addr), or NULL. */
struct sipnat_endpoint *sn_endpoint_identify(sipnat_transport *t,
                                             const void *addr);

/* Feed a response's top Via to a learned policy (server: the next hop). */
void sn_transport_learn(sipnat_transport *t, const char *server,
                        sip_t const *sip);

/* lib/sip/session.c: the policy's answer may have changed; established
 * calls whose Contact or media address moved are re-INVITEd. */
void sn_sessions_address_changed(sipnat_transport *t);
/* The network changed: STUN asked again, then as above (calls wait for
 * an address the peer can use). */
void sn_sessions_network_changed(sipnat_transport *t);

/* lib/sip/registration.c */
void sn_registration_nua_event(struct sipnat_registration *reg,
                               nua_event_t event, int status,
                               char const *phrase, nua_handle_t *nh,
                               sip_t const *sip);
/* SIP Outbound over UDP: is a STUN keep-alive of a registration waiting
 * for its answer on fd? And give it one (a datagram stack.c read off the
 * SIP socket before sofia, which would drop it): 1 taken, else 0. */
bool sn_registrations_stun_wanted(sipnat_transport *transports, int fd);
int sn_registrations_take_stun(sipnat_transport *transports, int fd,
                               const uint8_t *buf, size_t len,
                               const struct sockaddr *from);
/* Unregister everything registered on t; true while any is still busy. */
bool sn_registrations_unregister_all(sipnat_transport *t);
/* The transport is going away: end every registration now. */
void sn_registrations_abort_all(sipnat_transport *t);
/* The network changed: every registration refreshes now. */
void sn_registrations_network_changed(sipnat_transport *t);
/* A registration finished unregistering: the transport may proceed. */
void sn_transport_registration_done(sipnat_transport *t);

#endif /* SIPNAT_SIP_SOFIA_H */
