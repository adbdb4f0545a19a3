/*
 * libsipnat - RTP/RTCP parsing and receive statistics.
 */
#include "media/rtp.h"

#include <errno.h>
#include <string.h>

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

int sn_rtp_parse(const uint8_t *p, size_t n, sn_rtp *out)
{
    size_t off, end = n;

    if (n < SN_RTP_HEADER || (p[0] >> 6) != 2)
        return -EBADMSG;
    off = SN_RTP_HEADER + 4u * (p[0] & 0x0F);
    if (off > n)
        return -EBADMSG;
    if (p[0] & 0x10) { /* extension: 4-byte header, length in words */
        if (off + 4 > n)
            return -EBADMSG;
        off += 4 + 4u * rd16(p + off + 2);
        if (off > n)
            return -EBADMSG;
    }
    if (p[0] & 0x20) { /* padding: the last byte counts it, itself included */
        uint8_t pad = p[n - 1];
        if (pad == 0 || pad > n - off)
            return -EBADMSG;
        end -= pad;
    }
    out->marker = (p[1] & 0x80) != 0;
    out->pt = p[1] & 0x7F;
    out->seq = rd16(p + 2);
    out->ts = rd32(p + 4);
    out->ssrc = rd32(p + 8);
    out->payload = p + off;
    out->payload_len = end - off;
    return 0;
}

bool sn_rtp_is_stun(const uint8_t *p, size_t n)
{
    return n >= 20 && p[0] < 4 && p[4] == 0x21 && p[5] == 0x12 && p[6] == 0xA4 &&
           p[7] == 0x42;
}

void sn_rtp_write_header(uint8_t *p, uint8_t pt, bool marker, uint16_t seq,
                         uint32_t ts, uint32_t ssrc)
{
    p[0] = 0x80;
    p[1] = (uint8_t)((marker ? 0x80 : 0) | (pt & 0x7F));
    wr16(p + 2, seq);
    wr32(p + 4, ts);
    wr32(p + 8, ssrc);
}

int sn_rtcp_parse(const uint8_t *p, size_t n, uint32_t *ssrc,
                  sn_rtcp_report *report, bool *has_report)
{
    size_t off = 0;
    unsigned pt, count;

    if (has_report)
        *has_report = false;
    if (n < 8 || (p[0] >> 6) != 2)
        return -EBADMSG;
    pt = p[1];
    /* RFC 3550 A.2: a compound packet starts with SR or RR, unpadded. */
    if ((pt != 200 && pt != 201) || (p[0] & 0x20))
        return -EBADMSG;
    while (off < n) {
        size_t len;
        if (n - off < 4 || (p[off] >> 6) != 2)
            return -EBADMSG;
        len = 4u * ((size_t)rd16(p + off + 2) + 1);
        if (len > n - off)
            return -EBADMSG;
        off += len;
    }
    count = p[0] & 0x1F;
    *ssrc = rd32(p + 4);
    if (count && report && has_report) {
        size_t blk = pt == 200 ? 28 : 8;
        size_t first_len = 4u * ((size_t)rd16(p + 2) + 1);
        if (blk + 24 <= first_len) {
            const uint8_t *b = p + blk;
            uint32_t lost = rd32(b + 4) & 0xFFFFFFu;
            report->ssrc = rd32(b);
            report->fraction_lost = b[4];
            /* 24-bit two's complement */
            report->cumulative_lost = (lost & 0x800000u) ? (int32_t)lost - 0x1000000
                                                         : (int32_t)lost;
            report->highest_seq = rd32(b + 8);
            report->jitter = rd32(b + 12);
            *has_report = true;
        }
    }
    return 0;
}

int sn_rtp_event_parse(const uint8_t *payload, size_t n, sn_rtp_event *out)
{
    if (n < 4)
        return -EBADMSG;
    out->event = payload[0];
    out->end = (payload[1] & 0x80) != 0;
    out->volume = payload[1] & 0x3F;
    out->duration = rd16(payload + 2);
    return 0;
}

void sn_rtp_event_write(uint8_t *p, const sn_rtp_event *ev)
{
    p[0] = ev->event;
    p[1] = (uint8_t)((ev->end ? 0x80 : 0) | (ev->volume & 0x3F));
    wr16(p + 2, ev->duration);
}

static const char dtmf_digits[] = "0123456789*#ABCD";

int sn_dtmf_event_from_digit(char digit)
{
    if (digit >= 'a' && digit <= 'd')
        digit = (char)(digit - 'a' + 'A');
    for (int i = 0; i < 16; i++)
        if (digit == dtmf_digits[i] && digit)
            return i;
    return -1;
}

char sn_dtmf_digit_from_event(unsigned event)
{
    return event < 16 ? dtmf_digits[event] : 0;
}

/* -- receive statistics ---------------------------------------------------- */

#define MAX_DROPOUT 3000
#define MAX_MISORDER 100
#define SEQ_MOD (1u << 16)

void sn_rtp_rx_reset(sn_rtp_rx *s)
{
    memset(s, 0, sizeof *s);
}

static void rx_init(sn_rtp_rx *s, uint16_t seq)
{
    s->base_seq = seq;
    s->max_seq = seq;
    s->bad_seq = SEQ_MOD + 1;
    s->cycles = 0;
    s->received = 0;
    s->started = true;
}

void sn_rtp_rx_update(sn_rtp_rx *s, uint16_t seq, uint32_t ts, uint32_t arrival)
{
    uint16_t udelta = (uint16_t)(seq - s->max_seq);

    if (!s->started) {
        rx_init(s, seq);
    } else if (udelta < MAX_DROPOUT) {
        if (seq < s->max_seq)
            s->cycles += SEQ_MOD;
        s->max_seq = seq;
    } else if (udelta <= SEQ_MOD - MAX_MISORDER) {
        /* A large jump: restart the count if the next packet follows it
         * (the source restarted), else ignore this one (A.1). */
        if (seq == s->bad_seq) {
            rx_init(s, seq);
            s->transit_valid = 0;
        } else {
            s->bad_seq = (seq + 1u) & (SEQ_MOD - 1);
            return;
        }
    }
    /* else a duplicate or reordered packet: counted, no sequence change */
    s->received++;

    int64_t transit = (int64_t)arrival - (int64_t)ts;
    if (s->transit_valid) {
        int64_t d = transit - s->transit;
        /* both clocks wrap at 2^32: the difference is taken modulo that */
        d = (int32_t)(uint32_t)d;
        if (d < 0)
            d = -d;
        /* J += (|D| - J) / 16, in units of 1/16 */
        s->jitter += (uint64_t)d - ((s->jitter + 8) >> 4);
    }
    s->transit = transit;
    s->transit_valid = 1;
}

uint64_t sn_rtp_rx_expected(const sn_rtp_rx *s)
{
    if (!s->started)
        return 0;
    return (uint64_t)s->cycles + s->max_seq - s->base_seq + 1;
}

int64_t sn_rtp_rx_lost(const sn_rtp_rx *s)
{
    return (int64_t)sn_rtp_rx_expected(s) - (int64_t)s->received;
}

uint32_t sn_rtp_rx_jitter(const sn_rtp_rx *s)
{
    return (uint32_t)(s->jitter >> 4);
}
