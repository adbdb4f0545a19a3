/*
 * libsipnat - NAT-aware SIP user agent library
 *
 * registration.h: outbound registration (Asterisk's `registration`
 * section): REGISTER to a registrar, answer its digest challenge, refresh
 * before expiry, retry after failures by Asterisk's rules, keep the NAT
 * binding alive, re-register when the advertised address changes, and
 * unregister on stop.
 */
#ifndef SIPNAT_REGISTRATION_H
#define SIPNAT_REGISTRATION_H

#include <sipnat/common.h>
#include <sipnat/transport.h>

SIPNAT_BEGIN_DECLS

typedef struct sipnat_registration sipnat_registration;
typedef struct sipnat_registration_cfg sipnat_registration_cfg;

typedef enum sipnat_registration_state {
    SIPNAT_REGISTRATION_IDLE = 0,
    SIPNAT_REGISTRATION_REGISTERING = 1,
    SIPNAT_REGISTRATION_REGISTERED = 2,
    SIPNAT_REGISTRATION_RETRYING = 3,    /* event.retry_after says when */
    SIPNAT_REGISTRATION_FAILED = 4,      /* gave up; start() again to retry */
    SIPNAT_REGISTRATION_UNREGISTERING = 5,
    SIPNAT_REGISTRATION_UNREGISTERED = 6
} sipnat_registration_state;

SIPNAT_API int sipnat_registration_cfg_new(sipnat_registration_cfg **ret);
SIPNAT_API sipnat_registration_cfg *
sipnat_registration_cfg_free(sipnat_registration_cfg *cfg);
/* Required: the registrar ("sip:gw1.example.com") and the address of
 * record ("sip:1112223333@gw1.example.com"). */
SIPNAT_API int sipnat_registration_cfg_set_server_uri(
    sipnat_registration_cfg *cfg, const char *uri);
SIPNAT_API int sipnat_registration_cfg_set_client_uri(
    sipnat_registration_cfg *cfg, const char *uri);
/* The user part of the Contact (default: the client URI's user). */
SIPNAT_API int sipnat_registration_cfg_set_contact_user(
    sipnat_registration_cfg *cfg, const char *user);
/* Send every REGISTER through this proxy instead of the server URI. */
SIPNAT_API int sipnat_registration_cfg_set_outbound_proxy(
    sipnat_registration_cfg *cfg, const char *uri);
/* Digest credentials; sent only when the challenge's realm is `realm`
 * (NULL: any realm). */
SIPNAT_API int sipnat_registration_cfg_set_credentials(
    sipnat_registration_cfg *cfg, const char *username, const char *password,
    const char *realm);
/* Seconds; Asterisk's names and defaults (3600, 60, 0, 0, 10, 1, 10). */
SIPNAT_API int sipnat_registration_cfg_set_expiration(
    sipnat_registration_cfg *cfg, unsigned seconds);
SIPNAT_API int sipnat_registration_cfg_set_retry_interval(
    sipnat_registration_cfg *cfg, unsigned seconds);
SIPNAT_API int sipnat_registration_cfg_set_forbidden_retry_interval(
    sipnat_registration_cfg *cfg, unsigned seconds);
SIPNAT_API int sipnat_registration_cfg_set_fatal_retry_interval(
    sipnat_registration_cfg *cfg, unsigned seconds);
SIPNAT_API int sipnat_registration_cfg_set_max_retries(
    sipnat_registration_cfg *cfg, unsigned count);
SIPNAT_API int sipnat_registration_cfg_set_auth_rejection_permanent(
    sipnat_registration_cfg *cfg, int enable);
SIPNAT_API int sipnat_registration_cfg_set_max_random_initial_delay(
    sipnat_registration_cfg *cfg, unsigned seconds);
/* Add ;line=<token> to the Contact, to tell inbound calls apart. */
SIPNAT_API int sipnat_registration_cfg_set_line(sipnat_registration_cfg *cfg,
                                                int enable);
/* OPTIONS to the registrar every `seconds` (0: off, the default) while
 * registered: keeps a UDP NAT binding open and notices a lost one. */
SIPNAT_API int sipnat_registration_cfg_set_keepalive(
    sipnat_registration_cfg *cfg, unsigned seconds);
/* SIP Outbound (RFC 5626): the Contact carries ;reg-id and
 * ;+sip.instance, REGISTER says Supported: outbound, path; over TCP the
 * registration keeps its connection (its flow) with CRLF pings, over UDP
 * (to a registrar that says Require: outbound) with STUN Binding
 * requests, and repairs a failed flow by registering again over a new
 * one. Off by default. */
SIPNAT_API int sipnat_registration_cfg_set_outbound(sipnat_registration_cfg *cfg,
                                                    int enable);
/* The instance, "urn:uuid:" and an RFC 4122 UUID; keep it across
 * restarts. NULL (the default): one the ctx makes for all its
 * registrations. */
SIPNAT_API int sipnat_registration_cfg_set_instance_id(sipnat_registration_cfg *cfg,
                                                       const char *urn);
/* The flow's reg-id, 1 (the default) to 2147483647: distinct per
 * registrar (or per outbound proxy) of one instance. */
SIPNAT_API int sipnat_registration_cfg_set_reg_id(sipnat_registration_cfg *cfg,
                                                  unsigned reg_id);

/* `func` receives SIPNAT_EVENT_REGISTRATION events (state, status,
 * expires, retry_after); it may be NULL. */
SIPNAT_API int sipnat_registration_new(sipnat_registration **ret,
                                       sipnat_transport *transport,
                                       const sipnat_registration_cfg *cfg,
                                       sipnat_event_func func,
                                       void *user_data);
SIPNAT_API sipnat_registration *
sipnat_registration_ref(sipnat_registration *reg);
SIPNAT_API sipnat_registration *
sipnat_registration_unref(sipnat_registration *reg);
SIPNAT_API int sipnat_registration_start(sipnat_registration *reg);
/* Unregister when registered; then the state is UNREGISTERED. */
SIPNAT_API int sipnat_registration_stop(sipnat_registration *reg);
SIPNAT_API int sipnat_registration_get_state(const sipnat_registration *reg);
SIPNAT_API const char *
sipnat_registration_state_name(sipnat_registration_state state);

SIPNAT_END_DECLS

#endif /* SIPNAT_REGISTRATION_H */
