/*
 * libsipnat - RTP and RTCP on the wire (RFC 3550), RFC 4733 telephone
 * events, and the receive statistics of RFC 3550 appendix A. Pure
 * functions on caller-owned memory: no I/O, no allocation.
 */
#ifndef SIPNAT_MEDIA_RTP_H
#define SIPNAT_MEDIA_RTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SN_RTP_HEADER 12

typedef struct sn_rtp {
    uint8_t pt;
    bool marker;
    uint16_t seq;
    uint32_t ts;
    uint32_t ssrc;
    const uint8_t *payload; /* after CSRCs and extension */
    size_t payload_len;     /* without padding */
} sn_rtp;

/* Validate and split an RTP packet. 0, or -EBADMSG when it is shorter
 * than its header, not version 2, or its CSRC list, extension or padding
 * run past its end. */
int sn_rtp_parse(const uint8_t *p, size_t n, sn_rtp *out);

/* RFC 7983's demultiplexing: first byte 0-3 and RFC 5389's magic cookie
 * at offset 4, at least a STUN header long: STUN, not RTP or RTCP. */
bool sn_rtp_is_stun(const uint8_t *p, size_t n);

/* Write a 12-byte header (no CSRC, no extension) into p. */
void sn_rtp_write_header(uint8_t *p, uint8_t pt, bool marker, uint16_t seq,
                         uint32_t ts, uint32_t ssrc);

/* A reception report block (RFC 3550 6.4.1), as received. */
typedef struct sn_rtcp_report {
    uint32_t ssrc;          /* the source it reports on */
    uint8_t fraction_lost;  /* 1/256 units */
    int32_t cumulative_lost;
    uint32_t highest_seq;
    uint32_t jitter;        /* timestamp units */
} sn_rtcp_report;

/* Validate a compound RTCP packet (first part SR or RR, version 2,
 * lengths adding up to n) and return its sender SSRC in *ssrc and, if
 * report is not NULL and the first part carries a report block, the
 * first block in *report (*has_report says whether). 0 or -EBADMSG. */
int sn_rtcp_parse(const uint8_t *p, size_t n, uint32_t *ssrc,
                  sn_rtcp_report *report, bool *has_report);

/* RFC 4733 telephone-event payload. */
typedef struct sn_rtp_event {
    uint8_t event;     /* 0-15 are DTMF */
    bool end;
    uint8_t volume;    /* -dBm0, 0-63 */
    uint16_t duration; /* timestamp units */
} sn_rtp_event;

int sn_rtp_event_parse(const uint8_t *payload, size_t n, sn_rtp_event *out);
void sn_rtp_event_write(uint8_t *p, const sn_rtp_event *ev);
/* '0'-'9', '*', '#', 'A'-'D' to event codes 0-15 and back; -1 / 0 when
 * not a DTMF symbol. */
int sn_dtmf_event_from_digit(char digit);
char sn_dtmf_digit_from_event(unsigned event);

/* Receive statistics of one source: sequence numbers (appendix A.1/A.3)
 * and interarrival jitter (A.8). */
typedef struct sn_rtp_rx {
    bool started;
    uint16_t max_seq;
    uint32_t cycles;     /* count of seq wraps << 16 */
    uint32_t base_seq;
    uint32_t bad_seq;
    uint64_t received;
    uint64_t transit_valid;
    int64_t transit;     /* last arrival minus timestamp */
    uint64_t jitter;     /* timestamp units << 4 (A.8 fixed point) */
} sn_rtp_rx;

void sn_rtp_rx_reset(sn_rtp_rx *s);
/* One packet with sequence number seq and timestamp ts arrived at
 * arrival (timestamp units of the same clock). */
void sn_rtp_rx_update(sn_rtp_rx *s, uint16_t seq, uint32_t ts, uint32_t arrival);
uint64_t sn_rtp_rx_expected(const sn_rtp_rx *s);
int64_t sn_rtp_rx_lost(const sn_rtp_rx *s);
uint32_t sn_rtp_rx_jitter(const sn_rtp_rx *s);

#endif
