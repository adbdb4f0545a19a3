/*
 * libsipnat - NAT-aware SIP user agent library
 *
 * session.h: calls. A session is one INVITE dialog of an endpoint, with its
 * SDP (the library's own offer/answer, addresses from the transport's
 * policy) and its media anchor (the library stays in the media path:
 * Asterisk's direct_media=no).
 */
#ifndef SIPNAT_SESSION_H
#define SIPNAT_SESSION_H

#include <sipnat/common.h>
#include <sipnat/endpoint.h>
#include <sipnat/anchor.h>

SIPNAT_BEGIN_DECLS

typedef struct sipnat_session sipnat_session;

typedef enum sipnat_session_state {
    SIPNAT_SESSION_INCOMING = 1,      /* an INVITE arrived, not answered yet */
    SIPNAT_SESSION_CALLING = 2,       /* our INVITE is out */
    SIPNAT_SESSION_RINGING = 3,       /* 180 sent or received */
    SIPNAT_SESSION_EARLY_MEDIA = 4,   /* 183 with an answer received */
    SIPNAT_SESSION_ESTABLISHED = 5,   /* answered (200 and ACK) */
    SIPNAT_SESSION_HELD = 6,          /* on hold (by us or by the peer) */
    SIPNAT_SESSION_RESUMED = 7,       /* off hold again */
    SIPNAT_SESSION_MEDIA_CHANGED = 8, /* the peer's media moved (re-INVITE) */
    SIPNAT_SESSION_TERMINATED = 9,    /* over: status and phrase say why */
    /* Bridged to a call that negotiated no codec in common with this
     * one: this call's audio is not relayed to it (a notice: the state
     * stays what it was). */
    SIPNAT_SESSION_NO_COMMON_CODEC = 10
} sipnat_session_state;

/* An incoming call of an endpoint: the session is valid until its
 * TERMINATED event returns (take a reference to keep it longer). Set its
 * event function here, then ring, answer or reject it, now or later. */
typedef void (*sipnat_incoming_func)(sipnat_session *session, void *user_data);

/* Endpoint options for calls (Asterisk's names). */
SIPNAT_API int sipnat_endpoint_cfg_set_incoming_func(sipnat_endpoint_cfg *cfg,
                                                     sipnat_incoming_func func,
                                                     void *user_data);
/* allow, in order of preference: "ulaw,alaw" or "PCMU,PCMA" (default
 * "ulaw,alaw"); telephone-event is always offered. */
SIPNAT_API int sipnat_endpoint_cfg_set_codecs(sipnat_endpoint_cfg *cfg,
                                              const char *allow);
/* from_user and from_domain of outgoing calls. */
SIPNAT_API int sipnat_endpoint_cfg_set_from(sipnat_endpoint_cfg *cfg,
                                            const char *user,
                                            const char *domain);
SIPNAT_API int sipnat_endpoint_cfg_set_rtp_symmetric(sipnat_endpoint_cfg *cfg,
                                                     int on);
/* direct_media (default off): two bridged calls whose peers can reach each
 * other are re-INVITEd to talk directly; otherwise the anchors relay. */
SIPNAT_API int sipnat_endpoint_cfg_set_direct_media(sipnat_endpoint_cfg *cfg,
                                                    int on);
/* ice_support (default off): ICE (RFC 8445) on the call's media: our
 * SDP carries credentials and candidates (host, and server-reflexive
 * with the transport's STUN server), and when the peer's SDP does too,
 * connectivity checks pick the path; media then comes from the selected
 * pair only. Without ICE in the peer's SDP the call goes on as without. */
SIPNAT_API int sipnat_endpoint_cfg_set_ice(sipnat_endpoint_cfg *cfg, int on);
/* media_encryption: SRTP with SDES keys (RFC 4568) or none. Values never
 * change; new ones are appended. */
typedef enum sipnat_media_encryption {
    SIPNAT_MEDIA_ENCRYPTION_NO = 0,
    SIPNAT_MEDIA_ENCRYPTION_SDES = 1
} sipnat_media_encryption;
SIPNAT_API int sipnat_endpoint_cfg_set_media_encryption(sipnat_endpoint_cfg *cfg,
                                                        sipnat_media_encryption enc);
/* media_encryption_optimistic: with SDES, offer RTP/AVP with keys and
 * accept plain RTP too. */
SIPNAT_API int sipnat_endpoint_cfg_set_media_encryption_optimistic(sipnat_endpoint_cfg *cfg,
                                                                   int on);
/* media_address: the local address the SDP names (before the policy's
 * external_media_address for destinations outside local_net). */
SIPNAT_API int sipnat_endpoint_cfg_set_media_address(sipnat_endpoint_cfg *cfg,
                                                     const char *address);
/* At most `max` calls at once (0, the default: no limit; at most
 * 100000); an INVITE over it is answered 503 with Retry-After:
 * `retry_after` seconds (0: no Retry-After), and sipnat_session_call()
 * fails with -EBUSY. */
SIPNAT_API int sipnat_endpoint_cfg_set_max_sessions(sipnat_endpoint_cfg *cfg,
                                                   unsigned max,
                                                   unsigned retry_after);
/* rtp_timeout: end a call whose media stopped for `seconds` (0: never). */
SIPNAT_API int sipnat_endpoint_cfg_set_rtp_timeout(sipnat_endpoint_cfg *cfg,
                                                   unsigned seconds);

/* Call `uri` (NULL: the endpoint's first reachable contact). */
SIPNAT_API int sipnat_session_call(sipnat_session **ret, sipnat_endpoint *ep,
                                   const char *uri, sipnat_event_func func,
                                   void *user_data);
SIPNAT_API sipnat_session *sipnat_session_ref(sipnat_session *s);
SIPNAT_API sipnat_session *sipnat_session_unref(sipnat_session *s);
SIPNAT_API int sipnat_session_set_event_func(sipnat_session *s,
                                             sipnat_event_func func,
                                             void *user_data);
SIPNAT_API int sipnat_session_ring(sipnat_session *s);
SIPNAT_API int sipnat_session_answer(sipnat_session *s);
SIPNAT_API int sipnat_session_reject(sipnat_session *s, int status);
/* CANCEL, BYE or 486, whichever the state calls for. */
SIPNAT_API int sipnat_session_hangup(sipnat_session *s);
SIPNAT_API int sipnat_session_hold(sipnat_session *s);
SIPNAT_API int sipnat_session_resume(sipnat_session *s);
/* Relay media between two sessions' anchors (NULL b: stop). */
SIPNAT_API int sipnat_session_bridge(sipnat_session *a, sipnat_session *b);

SIPNAT_API int sipnat_session_get_state(const sipnat_session *s);
SIPNAT_API const char *sipnat_session_state_name(int state);
SIPNAT_API sipnat_endpoint *sipnat_session_get_endpoint(const sipnat_session *s);
SIPNAT_API const char *sipnat_session_get_remote_uri(const sipnat_session *s);
/* The session's media: audio frames in and out, statistics. Not
 * referenced; valid while the session lives. */
SIPNAT_API sipnat_anchor *sipnat_session_get_anchor(const sipnat_session *s);

SIPNAT_END_DECLS

#endif /* SIPNAT_SESSION_H */
