/*
 * libsipnat - address-translation decisions (internal).
 *
 * Pure functions: given the configuration, a destination and the local
 * addresses, which address and port to advertise for signalling (Via
 * sent-by, Contact) and for media (SDP o=/c=/a=rtcp), and why. lib/sip
 * and lib/media apply the answer; nothing here knows sofia-sip.
 */
#ifndef SIPNAT_NAT_POLICY_H
#define SIPNAT_NAT_POLICY_H

#include "core/addr.h"

#include <time.h>

#define SN_MAX_LOCAL_NET 32

typedef enum sn_reason {
    SN_REASON_LOCAL_NET = 1,  /* destination inside local_net: no rewrite */
    SN_REASON_EXTERNAL,       /* outside local_net: the external_* address */
    SN_REASON_NO_EXTERNAL,    /* outside, but no external_* configured */
    SN_REASON_MEDIA_PUBLIC,   /* media address not inside local_net: kept */
    SN_REASON_MEDIA_ADDRESS   /* the endpoint's media_address, always */
} sn_reason;

/* Asterisk's transport options: local_net, external_signaling_address
 * (+ _port), external_media_address. */
typedef struct sn_static_cfg {
    sn_cidr local_net[SN_MAX_LOCAL_NET];
    size_t n_local_net;
    sn_addr ext_signaling;     /* family 0: not set */
    int ext_signaling_port;    /* 0: the transport's own port */
    sn_addr ext_media;         /* family 0: not set */
} sn_static_cfg;

typedef struct sn_decision {
    bool dest_local;           /* destination matched local_net */
    int local_net_match;       /* index of the matching entry, or -1 */
    sn_addr sig_addr;
    int sig_port;
    sn_reason sig_reason;
    sn_addr media_addr;
    sn_reason media_reason;
} sn_decision;

/* Add a local_net entry ("192.0.2.0/24"); -EINVAL, -ENOSPC when full. */
int sn_static_add_local_net(sn_static_cfg *cfg, const char *cidr);

/* media_override: the endpoint's media_address, or NULL. */
void sn_static_decide(const sn_static_cfg *cfg, const sn_addr *dest,
                      const sn_addr *local_sig, int local_port,
                      const sn_addr *local_media,
                      const sn_addr *media_override, sn_decision *out);

/* One line for the log and for "why does the peer see this address". */
int sn_decision_explain(const sn_static_cfg *cfg, const sn_addr *dest,
                        const sn_decision *d, char *buf, size_t size);

const char *sn_reason_name(sn_reason r);

/* Would advertising `address` to `destination` show an address from
 * behind the NAT (inside local_net, or private) to a destination outside
 * (not in local_net, not private)? Then no answer is known that the
 * outside could use (a static policy without external_* address, a
 * learned one that has learned nothing yet) and the caller sends no
 * address at all. Host callback policies: never (the host decides). */
struct sipnat_policy;
bool sn_policy_exposes(const struct sipnat_policy *p, const char *destination,
                       const char *address);
/* STUN (the transport's server, asked from a media socket): the public
 * address `mapped` that `server` ("203.0.113.3:3478") reported at `at`.
 * A static or learned policy advertises it for media where no
 * external_media_address applies, and for signalling where neither
 * external_signaling_address nor a learned address does. */
void sn_policy_stun_learned(struct sipnat_policy *p, const char *server,
                            const sn_addr *mapped, time_t at);
/* The network changed (sipnat_ctx_network_changed): forget every address
 * learned (Via received/rport, STUN); the next responses tell anew. */
void sn_policy_forget(struct sipnat_policy *p);

#endif
