/*
 * libsipnat - media descriptions and the RFC 3264 offer/answer model on
 * plain C structs (internal). No sofia-sip here: lib/sip/sdp.c turns SDP
 * text into an sn_sdesc and back; this file decides what to answer.
 *
 * Memory: an sn_sdesc is one flat block with no pointers (it can be
 * copied with `=` or memcpy) of about 12 KB. Numbers live in fixed
 * arrays; every piece of text (addresses, codec names, fmtp, crypto) lives
 * in the description's own string pool and is referred to by an offset
 * (sn_stext); sn_sdesc_str() turns an offset into a C string. The limits:
 *   SN_SDP_MAX_MEDIA   m= lines per description (more: -E2BIG, a 488);
 *   SN_SDP_MAX_FORMATS formats kept per m= line: further formats of a line
 *                      are ignored (counted in n_fmts_dropped), which only
 *                      narrows what we may pick from an offer;
 *   SN_SDP_MAX_CRYPTO  a=crypto lines kept per m= line (more are dropped
 *                      and counted);
 *   SN_SDP_POOL        bytes of text per description (more: -EMSGSIZE).
 *
 * Connection addresses: text plus family (IP4/IP6). An address that is
 * not a numeric literal of its family (an FQDN, or "IP4 ::1") is kept as
 * text with `numeric` false; it never carries media: offer/answer treats
 * a stream with such an address as unacceptable (we do not resolve names
 * in the media path, and RFC 3264 peers send literals in practice).
 * Multicast connections (a TTL after '/') are kept and never accepted.
 */
#ifndef SIPNAT_MEDIA_MDESC_H
#define SIPNAT_MEDIA_MDESC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"
#include "media/crypto_attr.h"

#define SN_SDP_MAX_MEDIA 16
#define SN_SDP_MAX_FORMATS 32
#define SN_SDP_MAX_CRYPTO 4
#define SN_SDP_POOL 4096
#define SN_SDP_MAX_CAND 16
#define SN_MAX_CODECS 8
#define SN_CODEC_NAME_MAX 32

/* Offset of a NUL-terminated string in sn_sdesc.pool; 0 is "". */
typedef uint16_t sn_stext;

/* Direction, from the point of view of whoever wrote the description:
 * bit 0 = it sends, bit 1 = it receives (RFC 3264 section 5.1). */
typedef enum sn_mdir {
    SN_DIR_INACTIVE = 0,
    SN_DIR_SENDONLY = 1,
    SN_DIR_RECVONLY = 2,
    SN_DIR_SENDRECV = 3
} sn_mdir;
#define SN_DIR_SEND 1u
#define SN_DIR_RECV 2u

typedef enum sn_mtype { SN_MT_OTHER = 0, SN_MT_AUDIO, SN_MT_VIDEO } sn_mtype;
typedef enum sn_proto { SN_PROTO_OTHER = 0, SN_PROTO_RTP_AVP, SN_PROTO_RTP_SAVP } sn_proto;

typedef struct sn_maddr {
    int family;        /* AF_INET (IP4), AF_INET6 (IP6); 0: absent */
    bool numeric;      /* `addr` holds the literal; false: FQDN or mismatch */
    bool multicast;    /* the c= line had a TTL / group count */
    sn_addr addr;      /* valid when numeric */
    sn_stext text;     /* as written */
} sn_maddr;

/* One RTP payload type of an m= line, with its a=rtpmap and a=fmtp. */
typedef struct sn_rtpfmt {
    uint8_t pt;            /* 0..127 */
    bool has_rtpmap;       /* an a=rtpmap named it (else: the static table) */
    uint8_t channels;      /* rtpmap encoding parameter; 1 when absent */
    uint32_t rate;         /* clock rate; 0 when unknown */
    sn_stext name;         /* encoding name; "" for a dynamic PT without rtpmap */
    sn_stext fmtp;         /* a=fmtp value; "" when none */
} sn_rtpfmt;

/* RFC 4568 a=crypto:<tag> <suite> <key-params> [<session-params>], kept
 * as written for the SRTP layer: nothing here checks keys. */
typedef struct sn_crypto {
    uint32_t tag;
    sn_stext suite;
    sn_stext params;       /* everything after the suite */
} sn_crypto;

typedef struct sn_mline {
    sn_mtype type;
    sn_stext type_name;    /* "audio", "video", "image", ... */
    uint16_t port;         /* 0: rejected / disabled */
    uint16_t n_ports;      /* m=audio 4000/2: 2; otherwise 1 */
    sn_proto proto;
    sn_stext proto_name;   /* as written, e.g. "RTP/AVP", "udptl" */
    /* RTP protocols: payload types. */
    sn_rtpfmt fmts[SN_SDP_MAX_FORMATS];
    uint8_t n_fmts;
    uint16_t n_fmts_dropped;
    /* Other protocols: the format list as written ("t38"). */
    sn_stext fmt_text;
    sn_maddr conn;         /* media-level c=; family 0: the session's */
    uint16_t rtcp_port;    /* a=rtcp; 0: none (RTCP goes to port + 1) */
    sn_maddr rtcp_addr;    /* a=rtcp address; family 0: the connection's */
    sn_mdir dir;           /* media attribute, else session attribute */
    uint16_t ptime;        /* ms; 0: absent */
    uint16_t maxptime;     /* ms; 0: absent */
    bool rtcp_mux;
    sn_crypto crypto[SN_SDP_MAX_CRYPTO];
    uint8_t n_crypto;
    uint16_t n_crypto_dropped;
    /* ICE (RFC 8839), what the peer sent: a=ice-ufrag and a=ice-pwd of
     * this line ("" when absent: then the session's apply); every
     * a=candidate that lib/ice/candidate.c takes, as written. Malformed
     * or unusable ones (TCP, mDNS names), invalid credentials and
     * candidates beyond SN_SDP_MAX_CAND are ignored and counted, the
     * first one's reason kept for the log: the call goes on without
     * them. */
    sn_stext ice_ufrag, ice_pwd;
    sn_stext cand[SN_SDP_MAX_CAND];
    uint8_t n_cand;
    uint16_t n_ice_ignored;
    sn_stext ice_ignored_why;
} sn_mline;

typedef struct sn_sdesc {
    sn_stext username;     /* o= */
    uint64_t sess_id;
    uint64_t sess_version;
    sn_maddr origin;       /* o= address */
    sn_stext name;         /* s= */
    sn_maddr conn;         /* session-level c=; family 0: none */
    sn_mdir dir;           /* session-level direction attribute */
    sn_stext ice_ufrag, ice_pwd; /* session-level ICE credentials */
    bool ice_lite;         /* a=ice-lite (RFC 8445 2.5) */
    uint16_t n_ice_ignored; /* session-level attributes ignored, as below */
    sn_stext ice_ignored_why;
    sn_mline m[SN_SDP_MAX_MEDIA];
    size_t n_media;
    size_t pool_used;
    char pool[SN_SDP_POOL];
} sn_sdesc;

/* A codec we are willing to use, in our order of preference. */
typedef struct sn_codec {
    char name[SN_CODEC_NAME_MAX];  /* encoding name, matched case-insensitively */
    uint32_t rate;
    uint8_t channels;
    uint8_t pt;            /* the payload type our own offers use */
    const char *fmtp;      /* our a=fmtp for it (a static string), or NULL */
} sn_codec;

/* What an endpoint allows (Asterisk's allow/disallow, in allow order). */
typedef struct sn_media_prefs {
    sn_codec codecs[SN_MAX_CODECS];
    size_t n_codecs;
    bool dtmf;             /* RFC 4733 telephone-event */
    uint8_t dtmf_pt;       /* its payload type in our offers (101) */
    uint16_t ptime;        /* the a=ptime we ask for (20) */
    /* SRTP with SDES keys (Asterisk's media_encryption=sdes): offer
     * RTP/SAVP with an a=crypto per key and accept only SRTP; with
     * `optimistic`, offer RTP/AVP with the same a=crypto lines and accept
     * either. `keys`: ours, one per suite, in our order of preference
     * (suites this libsrtp2 runs); the offer's tags are 1..n_keys. */
    bool sdes;
    bool optimistic;
    sn_crypto_key keys[SN_SRTP_SUITES];
    size_t n_keys;
    /* RTCP on the RTP port (RFC 5761): offered (the RTCP port still
     * named for a peer without it) and accepted when offered. */
    bool rtcp_mux;
} sn_media_prefs;

/* Where we receive, as the NAT policy decided to advertise it. */
typedef struct sn_local_addr {
    sn_addr addr;
    uint16_t rtp_port;
    uint16_t rtcp_port;    /* 0: none announced (port + 1 implied) */
} sn_local_addr;

/* What the RTP anchor needs from a completed offer/answer. */
typedef struct sn_negotiated {
    int mline;             /* index of the audio m= line in use */
    sn_proto proto;
    sn_addr remote;        /* where to send RTP (0.0.0.0 for old hold) */
    uint16_t rtp_port;
    sn_addr rtcp_remote;   /* a=rtcp address, else `remote` */
    uint16_t rtcp_port;    /* a=rtcp port, else rtp_port + 1 (rtp_port with mux) */
    bool rtcp_mux;         /* both sides offered/answered a=rtcp-mux */
    int pt;                /* payload type we send (the peer's number) */
    char codec[SN_CODEC_NAME_MAX];
    uint32_t rate;
    int dtmf_pt;           /* the peer's telephone-event PT, or -1 */
    uint16_t ptime;        /* the peer's a=ptime, else 20 */
    bool send;             /* we may send to the peer */
    bool recv;             /* the peer may send to us */
    bool srtp;             /* SDES keys agreed: */
    sn_crypto_key tx_key;  /* ours, what we send is protected with */
    sn_crypto_key rx_key;  /* the peer's */
    bool held;             /* the peer put us on hold: it does not receive
                            * (sendonly, inactive or c=0.0.0.0); from
                            * sn_mdesc_accept_answer() only when our offer
                            * wanted to send */
} sn_negotiated;

/* Pool and builders. -------------------------------------------------- */

void sn_sdesc_init(sn_sdesc *d);
const char *sn_sdesc_str(const sn_sdesc *d, sn_stext s);
/* Copy len bytes of s into the pool: 0, or -EMSGSIZE when it is full. */
int sn_sdesc_intern(sn_sdesc *d, sn_stext *out, const char *s, size_t len);
/* Set an address from its SDP address type ("IP4"/"IP6" as AF_*) and
 * text: 0, or -EMSGSIZE. A non-literal stays text with numeric false. */
int sn_maddr_set(sn_sdesc *d, sn_maddr *a, int family, const char *text,
                 bool multicast);
/* From a numeric address: 0 or -EMSGSIZE/-EINVAL. */
int sn_maddr_from_addr(sn_sdesc *d, sn_maddr *a, const sn_addr *addr);
/* The connection that applies to m= line i: media-level, else session. */
const sn_maddr *sn_mline_conn(const sn_sdesc *d, size_t i);
/* Name and rate of an RTP/AVP static payload type (RFC 3551 table 4),
 * NULL for a dynamic or unassigned one. */
const char *sn_static_pt_name(unsigned pt, uint32_t *rate);
sn_mdir sn_mdir_reverse(sn_mdir d);
const char *sn_mdir_name(sn_mdir d);

/* Preferences. ------------------------------------------------------- */

/* PCMU, PCMA; telephone-event 101; ptime 20. */
void sn_media_prefs_default(sn_media_prefs *p);
/* Asterisk's allow list, e.g. "ulaw,alaw" or "PCMA,PCMU" (the names:
 * ulaw/pcmu, alaw/pcma, g722, gsm, g729, opus): replaces the codec list. 0, or
 * -EINVAL for an unknown or repeated name, -ENOSPC for too many. */
int sn_media_prefs_allow(sn_media_prefs *p, const char *allow);

/* Offer/answer (RFC 3264). -------------------------------------------- */

/* Our offer: one audio m= line (RTP/AVP) with prefs' codecs in order,
 * telephone-event/8000 "0-16" when prefs->dtmf, a=ptime, a=rtcp when
 * ours->rtcp_port, and `direction`. Origin: username "-", id/version 0
 * (see sn_mdesc_stamp). 0, -EINVAL (no codec, no address) or -EMSGSIZE. */
int sn_mdesc_offer(const sn_media_prefs *prefs, const sn_local_addr *ours,
                   sn_mdir direction, sn_sdesc *offer);

/* Answer `offer`. The first acceptable audio stream (RTP/AVP, non-zero
 * port, a single port, a numeric unicast address of ours' family, and a
 * codec of prefs) is answered with ONE codec: the first of prefs the
 * offer also has (our order wins, as Asterisk's default does; one codec
 * so the peer cannot switch codecs under the anchor), with the offerer's
 * payload type number, plus telephone-event with the offerer's PT when
 * both sides want it (at the codec's clock rate, else at 8000). Direction: RFC 3264
 * section 6.1's reverse of the offer's, masked by our own `direction`
 * (hold); an offer with c=0.0.0.0 (or ::) cannot receive, so its receive
 * bit is dropped first. Every other m= line is answered rejected (port 0,
 * its first format) in the same position. Returns 0; -ENOTSUP when no
 * stream is acceptable (answer 488); -EINVAL for bad arguments;
 * -EMSGSIZE. *answer is unspecified on error. */
int sn_mdesc_answer(const sn_sdesc *offer, const sn_media_prefs *prefs,
                    const sn_local_addr *ours, sn_mdir direction,
                    sn_sdesc *answer);

/* Check the peer's answer to our offer and compute the result: -EPROTO
 * when the answer breaks RFC 3264 (another m= line count or media type or
 * protocol, a port on a line we offered with port 0, a format we did not
 * offer, a direction the offer did not allow); -ENOTSUP when it is valid
 * but leaves no usable audio (rejected, FQDN address); 0 and *out filled. */
int sn_mdesc_accept_answer(const sn_sdesc *our_offer, const sn_sdesc *answer,
                           sn_negotiated *out);

/* The result of an exchange from our point of view: `local` is what we
 * sent (offer or answer), `remote` what the peer sent. The codec is the
 * first of the peer's formats that we listed too; we send with the peer's
 * payload type. 0, or -ENOTSUP when no audio stream is active on both.
 * Answerer's view: `held` means the peer does not receive; the offerer
 * uses sn_mdesc_accept_answer(), which knows whose hold it is. */
int sn_mdesc_result(const sn_sdesc *local, const sn_sdesc *remote,
                    sn_negotiated *out);

/* Give `next` (a description we are about to send) its origin: with no
 * previous one, username "-" and id = version = `new_id`; otherwise the
 * previous username and id, and the previous version plus one if the
 * content changed (RFC 3264 section 8), the same version if not. Returns
 * 1 when changed (or first), 0 when unchanged, -EMSGSIZE. */
int sn_mdesc_stamp(sn_sdesc *next, const sn_sdesc *prev, uint64_t new_id);

/* Same content (everything but o= version), comparing text by value. */
bool sn_sdesc_same(const sn_sdesc *a, const sn_sdesc *b);

#endif
