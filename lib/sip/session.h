/*
 * libsipnat - calls inside lib/sip: the INVITE dialog (session.c) and its
 * media, SDP and anchor (session_media.c).
 */
#ifndef SIPNAT_SIP_SESSION_H
#define SIPNAT_SIP_SESSION_H

#include "sip/endpoint.h"
#include "sip/route.h"

#include <sipnat/session.h>

/* What an offer or answer from the peer changed. */
typedef struct sn_media_change {
    bool remote_hold;  /* the peer sends nothing to us (sendonly/inactive) */
    bool moved;        /* its media address or port changed */
} sn_media_change;

typedef struct sn_session_media sn_session_media;

/* The media of a session: an anchor on the transport's RTP ports, bound
 * to `local` (the address the system uses toward the peer). */
int sn_media_new(sn_session_media **ret, sipnat_session *s, const char *local);
void sn_media_free(sn_session_media *m);
sipnat_anchor *sn_media_anchor(sn_session_media *m);
/* Our offer naming `addr` (hold: sendonly). *sdp is malloc'ed. */
int sn_media_offer(sn_session_media *m, const char *addr, bool hold, char **sdp);
/* The peer's media address and port from its SDP, or -ENOTCONN. */
int sn_media_peer(sn_session_media *m, char *addr, size_t len, int *port);
/* ICE selected the media's path (ice_support, and the peer did ICE). */
bool sn_media_ice_selected(const sn_session_media *m);
/* SRTP negotiated or required: no direct media (our keys, not theirs). */
bool sn_media_encrypted(sn_session_media *m);
/* Direct media: an offer naming another peer's media address and port
 * instead of our anchor; the anchor idles once it is answered. */
int sn_media_offer_direct(sn_session_media *m, const char *addr, int port,
                          char **sdp);
/* The peer's offer: 0 and our answer in *sdp (malloc'ed); or a negative
 * errno with *status the response to refuse it with (400, 488) and *why. */
int sn_media_take_offer(sn_session_media *m, const char *offer, size_t len,
                        const char *addr, bool hold, char **sdp, int *status,
                        char *why, size_t why_len, sn_media_change *change);
/* The peer's answer to our offer. */
int sn_media_take_answer(sn_session_media *m, const char *answer, size_t len,
                         char *why, size_t why_len, sn_media_change *change);

/* lib/sip/session.c, from the transport's NUA callback. */
void sn_session_nua_event(struct sipnat_session *s, nua_event_t event,
                          int status, char const *phrase, nua_handle_t *nh,
                          sip_t const *sip, tagi_t tags[]);
/* An INVITE on a new handle: true when a session took it. */
bool sn_session_incoming(sipnat_transport *t, nua_t *nua, nua_handle_t *nh,
                         sip_t const *sip, sipnat_endpoint *ep);

/* The anchor saw no media for rtp_timeout (status 408), or SRTP that never
 * authenticates (488): end the call with that status and reason. */
void sn_session_no_common_codec(struct sipnat_session *s);
void sn_session_media_failed(struct sipnat_session *s, int status,
                             const char *why);
/* Where the peer's signalling comes from / goes to (numeric). */
const char *sn_session_peer_address(struct sipnat_session *s);
/* The endpoint of a session, for session_media.c. */
sipnat_endpoint *sn_session_endpoint(struct sipnat_session *s);

/* STUN: the media's first answers are in (or given up); the session
 * sends what waited for them (the INVITE, or the 200 answering one). */
bool sn_media_stun_waiting(const sn_session_media *m);
/* Would an offer naming `addr` now show another address or port than
 * our last description (a STUN mapping that moved)? */
bool sn_media_moved(const sn_session_media *m, const char *addr);
/* Our re-INVITE for an address change was answered: the peer's media
 * may come from another source now (a new learning window, same peer). */
void sn_media_relatch(sn_session_media *m);
/* A media socket's STUN mapping changed: the peer hears of it. */
void sn_session_media_moved(struct sipnat_session *s);
/* The network changed: ask STUN for the media sockets' mappings anew. */
void sn_media_network_changed(sn_session_media *m);
void sn_session_stun_ready(struct sipnat_session *s);

#endif /* SIPNAT_SIP_SESSION_H */
