/*
 * libsipnat - NAT-aware SIP user agent library
 *
 * anchor.h: the RTP anchor, a pair of RTP/RTCP sockets of one call that
 * keeps the library in the media path: it latches the peer's media
 * source, relays RTP and RTCP to a bridged anchor, or hands decoded
 * G.711 audio to the host and sends the host's audio and DTMF (see
 * sipnat_anchor(3)).
 */
#ifndef SIPNAT_ANCHOR_H
#define SIPNAT_ANCHOR_H

#include <stddef.h>
#include <stdint.h>

#include <sipnat/common.h>
#include <sipnat/ctx.h>
#include <sipnat/transport.h>

SIPNAT_BEGIN_DECLS

typedef struct sipnat_anchor sipnat_anchor;
typedef struct sipnat_anchor_cfg sipnat_anchor_cfg;

/* sipnat_event.state of SIPNAT_EVENT_MEDIA events. Values never change;
 * new ones are appended. */
typedef enum sipnat_media_state {
    /* The peer's media source was latched (address and port set). */
    SIPNAT_MEDIA_LATCHED = 1,
    /* No media came for the configured time while receiving. */
    SIPNAT_MEDIA_TIMEOUT = 2,
    /* A DTMF event ended (digit and duration_ms set). */
    SIPNAT_MEDIA_DTMF = 3,
    /* SRTP: consecutive received packets failed authentication (wrong
     * key, or a forger); reported once until a packet authenticates. */
    SIPNAT_MEDIA_SRTP_FAILED = 4,
    /* Bridged: the two legs negotiated no codec in common, so the audio
     * of this anchor's peer cannot be relayed to the other leg and is
     * dropped (counted in dropped_payload_type); reported once per codec
     * change. */
    SIPNAT_MEDIA_NO_COMMON_CODEC = 5
} sipnat_media_state;

/* Host mode: decoded audio of one received packet, 16-bit linear PCM,
 * mono, at 8 kHz whatever the codec (G.711, G.722, Opus), valid during
 * the call only. */
typedef void (*sipnat_audio_func)(const int16_t *samples, size_t n,
                                  void *user_data);

/* Counters of one anchor. Append-only: set `size` to sizeof before the
 * call; fields beyond it are not written. */
typedef struct sipnat_anchor_stats {
    size_t size;
    /* Received from the peer and accepted. */
    uint64_t rx_packets;
    uint64_t rx_bytes;
    uint64_t rx_rtcp_packets;
    uint64_t rx_rtcp_bytes;
    /* Dropped on receipt. */
    uint64_t dropped_foreign;        /* RTP/RTCP from a source not latched */
    uint64_t dropped_learning;       /* RTP of a source on probation */
    uint64_t dropped_malformed;      /* not valid RTP/RTCP, or truncated */
    uint64_t dropped_rtcp_foreign_ssrc;
    uint64_t dropped_direction;      /* received while not receiving */
    /* Sent to the peer (relayed, host audio, DTMF, keep-alives). */
    uint64_t tx_packets;
    uint64_t tx_bytes;
    uint64_t tx_rtcp_packets;
    uint64_t tx_rtcp_bytes;
    uint64_t tx_dropped;             /* no destination yet, or send failed */
    /* The latched source. */
    int latched;                     /* 1 once a source is latched */
    char latched_address[SIPNAT_ADDRSTRLEN];
    int latched_port;
    int latched_rtcp_port;           /* 0 until RTCP came */
    uint32_t rx_ssrc;
    /* RFC 3550 A.3 / A.8 on the received stream. */
    uint64_t rx_expected;
    int64_t rx_lost;
    uint32_t rx_jitter;              /* timestamp units */
    uint32_t rx_jitter_usec;
    /* The peer's last RTCP reception report about what it receives. */
    int rr_present;
    uint32_t rr_fraction_lost;       /* 1/256 units */
    int32_t rr_cumulative_lost;
    uint32_t rr_jitter;              /* timestamp units */
    uint32_t rr_jitter_usec;
    /* SRTP/SRTCP (sipnat_anchor_set_srtp), dropped on receipt. */
    uint64_t dropped_srtp_auth;      /* failed authentication */
    uint64_t dropped_srtp_replay;    /* replayed, or older than the window */
    uint64_t tx_srtp_failed;         /* could not be protected: not sent */
    /* Of dropped_srtp_auth, those from a source other than the peer's:
     * they never count toward SIPNAT_MEDIA_SRTP_FAILED. */
    uint64_t dropped_srtp_auth_foreign;
    /* Bridged: received RTP of a payload type the other leg has no
     * number for (no common codec, no telephone-event there): dropped. */
    uint64_t dropped_payload_type;
    /* STUN on the anchor's sockets (a transport's STUN server). */
    uint64_t rx_stun;                /* answers of the STUN server taken */
    uint64_t dropped_stun;           /* STUN refused: malformed, forged,
                                        unmatched, or no server asked */
} sipnat_anchor_stats;

SIPNAT_API int sipnat_anchor_cfg_new(sipnat_anchor_cfg **ret);
SIPNAT_API sipnat_anchor_cfg *sipnat_anchor_cfg_free(sipnat_anchor_cfg *cfg);
SIPNAT_API int sipnat_anchor_cfg_set_bind(sipnat_anchor_cfg *cfg,
                                          const char *address);
SIPNAT_API int sipnat_anchor_cfg_set_port_range(sipnat_anchor_cfg *cfg,
                                                int min, int max);
SIPNAT_API int sipnat_anchor_cfg_set_symmetric(sipnat_anchor_cfg *cfg, int on);
SIPNAT_API int sipnat_anchor_cfg_set_probation(sipnat_anchor_cfg *cfg,
                                               unsigned packets);
SIPNAT_API int sipnat_anchor_cfg_set_timeout(sipnat_anchor_cfg *cfg,
                                             unsigned seconds);
SIPNAT_API int sipnat_anchor_cfg_set_keepalive(sipnat_anchor_cfg *cfg,
                                               unsigned seconds);
SIPNAT_API int sipnat_anchor_cfg_set_event_func(sipnat_anchor_cfg *cfg,
                                                sipnat_event_func func,
                                                void *user_data);

SIPNAT_API int sipnat_anchor_new(sipnat_anchor **ret, sipnat_ctx *ctx,
                                 const sipnat_anchor_cfg *cfg);
SIPNAT_API sipnat_anchor *sipnat_anchor_ref(sipnat_anchor *a);
SIPNAT_API sipnat_anchor *sipnat_anchor_unref(sipnat_anchor *a);

SIPNAT_API int sipnat_anchor_get_local(const sipnat_anchor *a,
                                       char address[SIPNAT_ADDRSTRLEN],
                                       int *rtp_port);
SIPNAT_API int sipnat_anchor_set_remote(sipnat_anchor *a, const char *address,
                                        int rtp_port, int rtcp_port);
/* Only sources on the host of the last sipnat_anchor_set_remote() or on
 * `address` (the host the peer's signalling comes from; NULL: the SDP's
 * host alone) may latch, at any port; others are dropped and counted as
 * foreign however they send. Sessions set this for every call. */
SIPNAT_API int sipnat_anchor_restrict_sources(sipnat_anchor *a,
                                              const char *address);
SIPNAT_API int sipnat_anchor_set_direction(sipnat_anchor *a, int send,
                                           int recv);
SIPNAT_API int sipnat_anchor_set_codec(sipnat_anchor *a, int payload_type,
                                       const char *name,
                                       int dtmf_payload_type,
                                       unsigned ptime_ms);
SIPNAT_API int sipnat_anchor_set_srtp(sipnat_anchor *a, const char *tx_crypto,
                                      const char *rx_crypto);
SIPNAT_API int sipnat_anchor_srtp_suite_supported(const char *suite);
SIPNAT_API int sipnat_anchor_bridge(sipnat_anchor *a, sipnat_anchor *b);

SIPNAT_API int sipnat_anchor_set_audio_func(sipnat_anchor *a,
                                            sipnat_audio_func func,
                                            void *user_data);
SIPNAT_API int sipnat_anchor_send_audio(sipnat_anchor *a,
                                        const int16_t *samples, size_t n);
SIPNAT_API int sipnat_anchor_send_dtmf(sipnat_anchor *a, char digit,
                                       unsigned duration_ms);

SIPNAT_API int sipnat_anchor_get_stats(const sipnat_anchor *a,
                                       sipnat_anchor_stats *st);

SIPNAT_END_DECLS

#endif /* SIPNAT_ANCHOR_H */
