/*
 * libsipnat - NAT-aware SIP user agent library
 *
 * transport.h: a bound SIP transport (UDP or TCP, IPv4 or IPv6).
 */
#ifndef SIPNAT_TRANSPORT_H
#define SIPNAT_TRANSPORT_H

#include <sipnat/common.h>
#include <sipnat/ctx.h>
#include <sipnat/policy.h>

SIPNAT_BEGIN_DECLS

typedef struct sipnat_transport sipnat_transport;
typedef struct sipnat_transport_cfg sipnat_transport_cfg;

typedef enum sipnat_protocol {
    SIPNAT_PROTOCOL_UDP = 1,
    SIPNAT_PROTOCOL_TCP = 2,
    SIPNAT_PROTOCOL_TLS = 3 /* needs sipnat_transport_cfg_set_tls() */
} sipnat_protocol;

typedef void (*sipnat_event_func)(const sipnat_event *event, void *user_data);

/* Configuration builder: copied by sipnat_transport_new(). */
SIPNAT_API int sipnat_transport_cfg_new(sipnat_transport_cfg **ret);
SIPNAT_API sipnat_transport_cfg *
sipnat_transport_cfg_free(sipnat_transport_cfg *cfg);
SIPNAT_API int sipnat_transport_cfg_set_protocol(sipnat_transport_cfg *cfg,
                                                 sipnat_protocol protocol);
/* address: a numeric IPv4 or IPv6 address ("0.0.0.0", "::" for any);
 * port: 0 to 65535, 0 for an ephemeral port. */
SIPNAT_API int sipnat_transport_cfg_set_bind(sipnat_transport_cfg *cfg,
                                             const char *address, int port);

/* TLS: `cert_dir` holds agent.pem (this side's key and certificate) and
 * cafile.pem (the certificates of the authorities it trusts);
 * `verify_peer` 1 (recommended) refuses servers whose certificate those
 * authorities did not sign. Clients connecting to us need none. */
SIPNAT_API int sipnat_transport_cfg_set_tls(sipnat_transport_cfg *cfg,
                                            const char *cert_dir,
                                            int verify_peer);
/* The address-translation policy deciding, per destination, the Via
 * sent-by and Contact of every message (a reference is taken; NULL: the
 * bound address, as is). */
SIPNAT_API int sipnat_transport_cfg_set_policy(sipnat_transport_cfg *cfg,
                                               sipnat_policy *policy);
/* Answer requests at their source port even without ;rport (Asterisk's
 * force_rport; default on). */
/* TCP and TLS: accept at most `max_connections` connections at once
 * (1-65536, default 256; more are closed at once) and close one that
 * carried no data either way for `idle_timeout` seconds (0: never; at
 * most 86400; default 300). */
SIPNAT_API int sipnat_transport_cfg_set_tcp_limits(sipnat_transport_cfg *cfg,
                                                   unsigned max_connections,
                                                   unsigned idle_timeout);
/* The UDP ports media anchors of this transport's calls take: RTP on an
 * even port, RTCP on the next (default 10000-20000, as the seed's
 * rtp.conf). */
SIPNAT_API int sipnat_transport_cfg_set_rtp_ports(sipnat_transport_cfg *cfg,
                                                  int min, int max);
SIPNAT_API int sipnat_transport_cfg_set_force_rport(sipnat_transport_cfg *cfg,
                                                    int enable);
/* TCP: a CRLF keep-alive (RFC 5626 s.4.4.1) on every connection idle that
 * many seconds, so the NAT keeps its binding; 0 (the default): none. */
SIPNAT_API int sipnat_transport_cfg_set_keepalive(sipnat_transport_cfg *cfg,
                                                  unsigned seconds);
/* A STUN server (RFC 8489; Asterisk's rtp.conf stunaddr): every media
 * socket of this transport's calls asks it for its public address and
 * port before the SDP is written, and again every 20 s while in use.
 * Numeric address; port 0: 3478. NULL address: none (the default). */
SIPNAT_API int sipnat_transport_cfg_set_stun_server(sipnat_transport_cfg *cfg,
                                                    const char *address,
                                                    int port);

/* A TURN server (RFC 8656; Asterisk's rtp.conf turnaddr, turnusername,
 * turnpassword) for the calls of endpoints with ICE: every media socket
 * allocates a relayed address there, offered as a relayed candidate, so
 * that ICE finds a path when both sides are behind NATs that map per
 * destination. UDP to the server, long-term credentials. Numeric
 * address; port 0: 3478. NULL address: none (the default). */
SIPNAT_API int sipnat_transport_cfg_set_turn_server(sipnat_transport_cfg *cfg,
                                                    const char *address, int port,
                                                    const char *username,
                                                    const char *password);

SIPNAT_API int sipnat_transport_new(sipnat_transport **ret, sipnat_ctx *ctx,
                                    const sipnat_transport_cfg *cfg);
SIPNAT_API sipnat_transport *sipnat_transport_ref(sipnat_transport *t);
SIPNAT_API sipnat_transport *sipnat_transport_unref(sipnat_transport *t);

SIPNAT_API int sipnat_transport_get_port(const sipnat_transport *t);
SIPNAT_API int sipnat_transport_get_address(const sipnat_transport *t,
                                            char *buf, size_t size);
SIPNAT_API int sipnat_transport_get_protocol(const sipnat_transport *t);

/* What this transport would advertise to `destination` (a numeric
 * address), and why: one line. */
SIPNAT_API int sipnat_transport_explain(sipnat_transport *t,
                                        const char *destination, char *buf,
                                        size_t size);

/* Send an OPTIONS request to `uri`; `func` receives exactly one
 * SIPNAT_EVENT_RESPONSE, from sipnat_ctx_process*(). */
SIPNAT_API int sipnat_transport_send_options(sipnat_transport *t,
                                             const char *uri,
                                             sipnat_event_func func,
                                             void *user_data);

/* Close asynchronously; `func` (may be NULL) receives one
 * SIPNAT_EVENT_SHUTDOWN when done. Pending requests end first. */
SIPNAT_API int sipnat_transport_shutdown(sipnat_transport *t,
                                         sipnat_event_func func,
                                         void *user_data);

SIPNAT_END_DECLS

#endif /* SIPNAT_TRANSPORT_H */
