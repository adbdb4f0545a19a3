/* libsipnat tests - the RTP anchor (lib/media): G.711, RTP/RTCP parsing
 * and statistics, the latching rules (compiled in: hidden in the shared
 * library), and the public anchor API driven through a ctx on 127.0.0.1
 * with in-process peers. Anchors take ports from 30000-39999 only. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sipnat/sipnat.h>

#include "media/g711.h"
#include "media/latch.h"
#include "media/rtp.h"

#define PORT_MIN 30000
#define PORT_MAX 39999
#define ok(expr) ck_assert_int_eq((expr), 0)

/* -- G.711 ----------------------------------------------------------------- */

START_TEST(test_g711_known_values)
{
    /* Decoder outputs of the G.711 tables (14-bit mu-law, 13-bit A-law
     * values, scaled to 16 bits): zero, smallest steps, largest values. */
    ck_assert_int_eq(sn_g711_ulaw_decode(0xFF), 0);
    ck_assert_int_eq(sn_g711_ulaw_decode(0x7F), 0);
    ck_assert_int_eq(sn_g711_ulaw_decode(0xFE), 8);
    ck_assert_int_eq(sn_g711_ulaw_decode(0x7E), -8);
    ck_assert_int_eq(sn_g711_ulaw_decode(0x80), 32124);
    ck_assert_int_eq(sn_g711_ulaw_decode(0x00), -32124);
    ck_assert_int_eq(sn_g711_ulaw_decode(0xEF), 132); /* segment 1 start: 33 * 4 */
    ck_assert_int_eq(sn_g711_alaw_decode(0xD5), 8);
    ck_assert_int_eq(sn_g711_alaw_decode(0x55), -8);
    ck_assert_int_eq(sn_g711_alaw_decode(0xAA), 32256);
    ck_assert_int_eq(sn_g711_alaw_decode(0x2A), -32256);
    ck_assert_int_eq(sn_g711_alaw_decode(0xC5), 264);   /* segment 1 start: 33 * 8 */
    /* Encoder decision values. */
    ck_assert_uint_eq(sn_g711_ulaw_encode(0), 0xFF);
    ck_assert_uint_eq(sn_g711_ulaw_encode(-1), 0x7F);
    ck_assert_uint_eq(sn_g711_ulaw_encode(-4), 0x7F);
    ck_assert_uint_eq(sn_g711_ulaw_encode(-5), 0x7E);
    ck_assert_uint_eq(sn_g711_ulaw_encode(4), 0xFE);
    ck_assert_uint_eq(sn_g711_ulaw_encode(3), 0xFF);
    ck_assert_uint_eq(sn_g711_ulaw_encode(32767), 0x80);
    ck_assert_uint_eq(sn_g711_ulaw_encode(-32768), 0x00);
    ck_assert_uint_eq(sn_g711_alaw_encode(0), 0xD5);
    ck_assert_uint_eq(sn_g711_alaw_encode(-1), 0x55);
    ck_assert_uint_eq(sn_g711_alaw_encode(32767), 0xAA);
    ck_assert_uint_eq(sn_g711_alaw_encode(-32768), 0x2A);
    ck_assert_int_eq(sn_g711_law_from_name("pcmu"), SN_G711_ULAW);
    ck_assert_int_eq(sn_g711_law_from_name("PCMA"), SN_G711_ALAW);
    ck_assert_int_eq(sn_g711_law_from_name("G722"), SN_G711_NONE);
    ck_assert_int_eq(sn_g711_law_from_name(NULL), SN_G711_NONE);
}
END_TEST

START_TEST(test_g711_round_trip)
{
    /* Every code decodes to a value that encodes back to it (mu-law's
     * negative zero 0x7F comes back as positive zero 0xFF). */
    for (int c = 0; c < 256; c++) {
        uint8_t u = sn_g711_ulaw_encode(sn_g711_ulaw_decode((uint8_t)c));
        ck_assert_msg(u == c || (c == 0x7F && u == 0xFF), "ulaw %02x -> %02x", c, u);
        ck_assert_msg(sn_g711_alaw_encode(sn_g711_alaw_decode((uint8_t)c)) == c, "alaw %02x", c);
    }
    /* Quantisation is monotonic over the whole 16-bit range, and a decoded
     * value is never further from the input than half its step. */
    int prev_u = -40000, prev_a = -40000;
    for (int s = -32768; s <= 32767; s++) {
        int du = sn_g711_ulaw_decode(sn_g711_ulaw_encode((int16_t)s));
        int da = sn_g711_alaw_decode(sn_g711_alaw_encode((int16_t)s));
        ck_assert_int_ge(du, prev_u);
        ck_assert_int_ge(da, prev_a);
        ck_assert_int_le(abs(du - s), 1024);
        ck_assert_int_le(abs(da - s), 1024);
        prev_u = du;
        prev_a = da;
    }
    int16_t in[4] = {0, 1000, -1000, 32000}, out[4];
    uint8_t codes[4];
    sn_g711_encode(SN_G711_ALAW, in, codes, 4);
    sn_g711_decode(SN_G711_ALAW, codes, out, 4);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(out[i], sn_g711_alaw_decode(sn_g711_alaw_encode(in[i])));
}
END_TEST

/* -- RTP / RTCP parsing ---------------------------------------------------- */

static size_t rtp_build(uint8_t *p, uint8_t pt, uint16_t seq, uint32_t ts,
                        uint32_t ssrc, const void *payload, size_t n)
{
    sn_rtp_write_header(p, pt, false, seq, ts, ssrc);
    memcpy(p + SN_RTP_HEADER, payload, n);
    return SN_RTP_HEADER + n;
}

START_TEST(test_rtp_parse)
{
    uint8_t p[64];
    sn_rtp r;

    rtp_build(p, 8, 0x1234, 0xdeadbeef, 0x01020304, "abcd", 4);
    ok(sn_rtp_parse(p, 16, &r));
    ck_assert_uint_eq(r.pt, 8);
    ck_assert_uint_eq(r.seq, 0x1234);
    ck_assert_uint_eq(r.ts, 0xdeadbeef);
    ck_assert_uint_eq(r.ssrc, 0x01020304);
    ck_assert_uint_eq(r.payload_len, 4);
    ck_assert(memcmp(r.payload, "abcd", 4) == 0);
    ck_assert_int_eq(sn_rtp_parse(p, 11, &r), -EBADMSG);
    p[0] = 0x40; /* version 1 */
    ck_assert_int_eq(sn_rtp_parse(p, 16, &r), -EBADMSG);
    p[0] = 0x82; /* two CSRCs: 20 bytes of header */
    ck_assert_int_eq(sn_rtp_parse(p, 16, &r), -EBADMSG);
    ok(sn_rtp_parse(p, 20, &r));
    ck_assert_uint_eq(r.payload_len, 0);
    p[0] = 0x90; /* extension header beyond the end */
    ck_assert_int_eq(sn_rtp_parse(p, 14, &r), -EBADMSG);
    p[12] = 0; p[13] = 0; p[14] = 0; p[15] = 2; /* 2 words: needs 24 */
    ck_assert_int_eq(sn_rtp_parse(p, 20, &r), -EBADMSG);
    ok(sn_rtp_parse(p, 24, &r));
    p[0] = 0xA0; /* padding */
    p[15] = 0;
    p[15] = 4;   /* last byte of 16 says 4 of padding: payload empty */
    ok(sn_rtp_parse(p, 16, &r));
    ck_assert_uint_eq(r.payload_len, 0);
    p[15] = 5;   /* runs into the header */
    ck_assert_int_eq(sn_rtp_parse(p, 16, &r), -EBADMSG);
    p[15] = 0;   /* zero padding count is invalid */
    ck_assert_int_eq(sn_rtp_parse(p, 16, &r), -EBADMSG);
}
END_TEST

static size_t rtcp_rr(uint8_t *p, uint32_t ssrc, bool block)
{
    memset(p, 0, 32);
    p[0] = (uint8_t)(0x80 | (block ? 1 : 0));
    p[1] = 201;
    p[3] = block ? 7 : 1;
    p[4] = (uint8_t)(ssrc >> 24); p[5] = (uint8_t)(ssrc >> 16);
    p[6] = (uint8_t)(ssrc >> 8); p[7] = (uint8_t)ssrc;
    if (block) {
        p[12] = 64;                     /* fraction lost 1/4 */
        p[13] = 0xFF; p[14] = 0xFF; p[15] = 0xFE; /* cumulative -2 */
        p[23] = 80;                     /* jitter 80 */
    }
    return block ? 32 : 8;
}

START_TEST(test_rtcp_parse)
{
    uint8_t p[64];
    uint32_t ssrc;
    sn_rtcp_report rr;
    bool has;

    size_t n = rtcp_rr(p, 0xabcdef01, true);
    ok(sn_rtcp_parse(p, n, &ssrc, &rr, &has));
    ck_assert_uint_eq(ssrc, 0xabcdef01);
    ck_assert(has);
    ck_assert_uint_eq(rr.fraction_lost, 64);
    ck_assert_int_eq(rr.cumulative_lost, -2);
    ck_assert_uint_eq(rr.jitter, 80);
    ck_assert_int_eq(sn_rtcp_parse(p, n - 4, &ssrc, &rr, &has), -EBADMSG);
    ck_assert_int_eq(sn_rtcp_parse(p, 4, &ssrc, &rr, &has), -EBADMSG);
    p[1] = 202; /* SDES first is not a valid compound packet */
    ck_assert_int_eq(sn_rtcp_parse(p, n, &ssrc, &rr, &has), -EBADMSG);
    n = rtcp_rr(p, 7, false);
    ok(sn_rtcp_parse(p, n, &ssrc, &rr, &has));
    ck_assert(!has);
}
END_TEST

START_TEST(test_rtp_rx_stats)
{
    sn_rtp_rx s;

    sn_rtp_rx_reset(&s);
    /* 65530..65535, 0..9 with 3 missing (seq 2): a wrap and one loss. */
    for (uint32_t i = 0; i < 16; i++) {
        uint16_t seq = (uint16_t)(65530 + i);
        if (seq == 2)
            continue;
        /* constant transit: no jitter */
        sn_rtp_rx_update(&s, seq, 1000 + 160 * i, 5000 + 160 * i);
    }
    ck_assert_uint_eq(sn_rtp_rx_expected(&s), 16);
    ck_assert_int_eq(sn_rtp_rx_lost(&s), 1);
    ck_assert_uint_eq(sn_rtp_rx_jitter(&s), 0);

    /* Transit alternating by 32: J converges toward 32 (A.8). */
    sn_rtp_rx_reset(&s);
    for (uint32_t i = 0; i < 500; i++)
        sn_rtp_rx_update(&s, (uint16_t)i, 160 * i, 160 * i + (i % 2 ? 32 : 0));
    ck_assert_uint_ge(sn_rtp_rx_jitter(&s), 30);
    ck_assert_uint_le(sn_rtp_rx_jitter(&s), 32);
}
END_TEST

START_TEST(test_rtp_events)
{
    uint8_t p[4];
    sn_rtp_event ev = {.event = 11, .end = true, .volume = 10, .duration = 800}, back;

    sn_rtp_event_write(p, &ev);
    ck_assert_uint_eq(p[1], 0x8A);
    ok(sn_rtp_event_parse(p, 4, &back));
    ck_assert_uint_eq(back.event, 11);
    ck_assert(back.end);
    ck_assert_uint_eq(back.duration, 800);
    ck_assert_int_eq(sn_rtp_event_parse(p, 3, &back), -EBADMSG);
    ck_assert_int_eq(sn_dtmf_event_from_digit('#'), 11);
    ck_assert_int_eq(sn_dtmf_event_from_digit('d'), 15);
    ck_assert_int_eq(sn_dtmf_event_from_digit('x'), -1);
    ck_assert_int_eq(sn_dtmf_event_from_digit(0), -1);
    ck_assert_int_eq(sn_dtmf_digit_from_event(10), '*');
    ck_assert_int_eq(sn_dtmf_digit_from_event(16), 0);
}
END_TEST

/* -- latching rules -------------------------------------------------------- */

static sn_sockaddr SA(const char *ip, int port)
{
    sn_sockaddr s;
    memset(&s, 0, sizeof s);
    s.in.sin_family = AF_INET;
    s.in.sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, ip, &s.in.sin_addr);
    return s;
}

START_TEST(test_latch_rules)
{
    sn_latch l;
    sn_sockaddr peer = SA("192.0.2.20", 4000), evil = SA("198.51.100.66", 4000);
    sn_sockaddr peer_rtcp = SA("192.0.2.20", 4001);

    sn_latch_init(&l, 4, 0);
    /* An interleaving stranger neither latches first nor stops the peer. */
    for (uint16_t i = 0; i < 3; i++) {
        ck_assert_int_eq(sn_latch_rtp(&l, &peer, (uint16_t)(100 + i), 1, 0), SN_LATCH_LEARNING);
        ck_assert_int_eq(sn_latch_rtp(&l, &evil, (uint16_t)(7 * i), 9, 0), SN_LATCH_LEARNING);
    }
    ck_assert_int_eq(sn_latch_rtp(&l, &peer, 103, 1, 0), SN_LATCH_LATCHED);
    ck_assert(l.latched && !l.learning);
    ck_assert_int_eq(sn_latch_rtp(&l, &peer, 104, 1, 0), SN_LATCH_ACCEPT);
    for (uint16_t i = 0; i < 10; i++)
        ck_assert_int_eq(sn_latch_rtp(&l, &evil, i, 9, 0), SN_LATCH_FOREIGN);
    /* Restricted to the peer's hosts: a stranger sending first, in
     * sequence, never latches; the peer latches from any port. */
    sn_latch_init(&l, 4, 0);
    sn_sockaddr hosts[1] = {SA("192.0.2.20", 0)};
    sn_latch_set_hosts(&l, hosts, 1);
    for (uint16_t i = 0; i < 20; i++)
        ck_assert_int_eq(sn_latch_rtp(&l, &evil, i, 9, 0), SN_LATCH_FOREIGN);
    sn_sockaddr nat_port = SA("192.0.2.20", 31337);
    for (uint16_t i = 0; i < 3; i++)
        ck_assert_int_eq(sn_latch_rtp(&l, &nat_port, (uint16_t)(50 + i), 1, 0), SN_LATCH_LEARNING);
    ck_assert_int_eq(sn_latch_rtp(&l, &nat_port, 53, 1, 0), SN_LATCH_LATCHED);
    /* Out of sequence restarts the count. */
    sn_latch_init(&l, 3, 0);
    sn_latch_rtp(&l, &peer, 1, 1, 0);
    sn_latch_rtp(&l, &peer, 2, 1, 0);
    ck_assert_int_eq(sn_latch_rtp(&l, &peer, 5, 1, 0), SN_LATCH_LEARNING);
    sn_latch_rtp(&l, &peer, 6, 1, 0);
    ck_assert_int_eq(sn_latch_rtp(&l, &peer, 7, 1, 0), SN_LATCH_LATCHED);

    /* RTCP: only from the latched host, then only from the latched RTCP
     * source, and only with the latched SSRC. */
    ck_assert_int_eq(sn_latch_rtcp(&l, &evil, 1), SN_LATCH_FOREIGN);
    ck_assert_int_eq(sn_latch_rtcp(&l, &peer_rtcp, 2), SN_LATCH_FOREIGN_SSRC);
    ck_assert_int_eq(sn_latch_rtcp(&l, &peer_rtcp, 1), SN_LATCH_ACCEPT);
    sn_sockaddr other_port = SA("192.0.2.20", 5001);
    ck_assert_int_eq(sn_latch_rtcp(&l, &other_port, 1), SN_LATCH_FOREIGN);

    /* A new window: the old source stays accepted, a new one latches
     * after probation and replaces it; the old one is then foreign. */
    sn_sockaddr moved = SA("192.0.2.21", 6000);
    sn_latch_open(&l, 1000);
    ck_assert_int_eq(sn_latch_rtp(&l, &peer, 8, 1, 1000), SN_LATCH_ACCEPT);
    sn_latch_rtp(&l, &moved, 50, 2, 1000);
    sn_latch_rtp(&l, &moved, 51, 2, 1000);
    ck_assert_int_eq(sn_latch_rtp(&l, &moved, 52, 2, 1000), SN_LATCH_LATCHED);
    ck_assert_int_eq(sn_latch_rtp(&l, &peer, 9, 1, 1000), SN_LATCH_FOREIGN);
    ck_assert(!l.rtcp_latched);
    /* A window in which the old source keeps sending closes once it has
     * done so for the confirmation time. */
    sn_latch_open(&l, 2000);
    ck_assert_int_eq(sn_latch_rtp(&l, &moved, 53, 2, 2000), SN_LATCH_ACCEPT);
    ck_assert(l.learning);
    ck_assert_int_eq(sn_latch_rtp(&l, &moved, 54, 2, 2000 + SN_LATCH_CONFIRM_USEC),
                     SN_LATCH_ACCEPT);
    ck_assert(!l.learning);
    ck_assert_int_eq(sn_latch_rtp(&l, &peer, 10, 1, 3000 + SN_LATCH_CONFIRM_USEC),
                     SN_LATCH_FOREIGN);
}
END_TEST

/* -- the anchor through a ctx ---------------------------------------------- */

typedef struct peer {
    int fd;
    int port;
} peer;

static void peer_open(peer *p)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sin;

    p->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    ck_assert_int_ge(p->fd, 0);
    ck_assert_int_eq(bind(p->fd, (struct sockaddr *)&sin, sizeof sin), 0);
    ck_assert_int_eq(getsockname(p->fd, (struct sockaddr *)&sin, &len), 0);
    p->port = ntohs(sin.sin_port);
}

static void peer_send(const peer *p, int port, const void *buf, size_t n)
{
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(sendto(p->fd, buf, n, 0, (struct sockaddr *)&to, sizeof to), (ssize_t)n);
}

static void peer_rtp(const peer *p, int port, uint8_t pt, uint16_t seq, uint32_t ssrc,
                     const char *payload)
{
    uint8_t buf[256];
    size_t n = rtp_build(buf, pt, seq, (uint32_t)seq * 160u, ssrc, payload, strlen(payload));
    peer_send(p, port, buf, n);
}

/* Datagrams waiting at the peer: count, and the last one in buf. */
static int peer_drain(const peer *p, uint8_t *buf, size_t size, size_t *len)
{
    int n = 0;
    ssize_t r;
    uint8_t tmp[2048];

    while ((r = recv(p->fd, buf ? buf : tmp, buf ? size : sizeof tmp, 0)) >= 0) {
        if (len)
            *len = (size_t)r;
        n++;
    }
    return n;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Drive the ctx until it has been idle for idle_ms (every datagram sent
 * on loopback has been handled), or until *done, or max_ms. */
static void run(sipnat_ctx *ctx, int idle_ms, const int *done, int max_ms)
{
    uint64_t end = now_ms() + (uint64_t)max_ms;
    struct pollfd pfd = {.fd = sipnat_ctx_get_fd(ctx), .events = POLLIN};

    while (now_ms() < end && !(done && *done)) {
        int t = -1, left = (int)(end - now_ms());
        sipnat_ctx_get_timeout(ctx, &t);
        if (t < 0 || t > idle_ms)
            t = idle_ms;
        if (t > left)
            t = left;
        int r = poll(&pfd, 1, t);
        sipnat_ctx_process(ctx);
        if (r == 0 && !done && t == idle_ms)
            break;
    }
}
#define settle(ctx) run((ctx), 50, NULL, 2000)

typedef struct events {
    int n, n_latched, n_timeout, n_dtmf;
    char digits[32];
    unsigned durations[32];
    char address[SIPNAT_ADDRSTRLEN];
    int port;
} events;

static void on_event(const sipnat_event *ev, void *user_data)
{
    events *e = user_data;

    ck_assert_int_eq(ev->type, SIPNAT_EVENT_MEDIA);
    ck_assert_ptr_nonnull(ev->phrase);
    e->n++;
    if (ev->state == SIPNAT_MEDIA_LATCHED) {
        e->n_latched++;
        ck_assert_ptr_nonnull(ev->address);
        snprintf(e->address, sizeof e->address, "%s", ev->address);
        e->port = ev->port;
    } else if (ev->state == SIPNAT_MEDIA_TIMEOUT) {
        e->n_timeout++;
    } else if (ev->state == SIPNAT_MEDIA_DTMF && e->n_dtmf < 31) {
        e->durations[e->n_dtmf] = ev->duration_ms;
        e->digits[e->n_dtmf++] = ev->digit;
    }
}

typedef struct fixture {
    sipnat_ctx *ctx;
    sipnat_anchor_cfg *cfg;
    events ev;
} fixture;

static void fx_init(fixture *f)
{
    memset(f, 0, sizeof *f);
    ok(sipnat_ctx_new(&f->ctx));
    ok(sipnat_anchor_cfg_new(&f->cfg));
    ok(sipnat_anchor_cfg_set_bind(f->cfg, "127.0.0.1"));
    ok(sipnat_anchor_cfg_set_port_range(f->cfg, PORT_MIN, PORT_MAX));
    ok(sipnat_anchor_cfg_set_event_func(f->cfg, on_event, &f->ev));
}

static void fx_done(fixture *f)
{
    sipnat_anchor_cfg_free(f->cfg);
    sipnat_ctx_unref(f->ctx);
}

static sipnat_anchor *anchor(fixture *f, int *port)
{
    sipnat_anchor *a = NULL;
    char addr[SIPNAT_ADDRSTRLEN];

    ok(sipnat_anchor_new(&a, f->ctx, f->cfg));
    ok(sipnat_anchor_get_local(a, addr, port));
    ck_assert_str_eq(addr, "127.0.0.1");
    ck_assert_int_eq(*port % 2, 0);
    ck_assert_int_ge(*port, PORT_MIN);
    ck_assert_int_le(*port + 1, PORT_MAX);
    return a;
}

static sipnat_anchor_stats stats(const sipnat_anchor *a)
{
    sipnat_anchor_stats st = {.size = sizeof st};
    ok(sipnat_anchor_get_stats(a, &st));
    return st;
}

START_TEST(test_anchor_latch_probation)
{
    fixture f;
    peer x;
    int port;

    fx_init(&f);
    peer_open(&x);
    sipnat_anchor *a = anchor(&f, &port);
    ok(sipnat_anchor_set_remote(a, "127.0.0.1", x.port, 0));
    for (uint16_t s = 10; s < 13; s++)
        peer_rtp(&x, port, 0, s, 0x1111, "hello");
    settle(f.ctx);
    sipnat_anchor_stats st = stats(a);
    ck_assert_int_eq(st.latched, 0);
    ck_assert_uint_eq(st.dropped_learning, 3);
    ck_assert_uint_eq(st.rx_packets, 0);
    ck_assert_int_eq(f.ev.n_latched, 0);
    peer_rtp(&x, port, 0, 13, 0x1111, "hello");
    settle(f.ctx);
    st = stats(a);
    ck_assert_int_eq(st.latched, 1);
    ck_assert_str_eq(st.latched_address, "127.0.0.1");
    ck_assert_int_eq(st.latched_port, x.port);
    ck_assert_uint_eq(st.rx_ssrc, 0x1111);
    ck_assert_uint_eq(st.rx_packets, 1);
    ck_assert_uint_eq(st.rx_bytes, 17);
    ck_assert_int_eq(f.ev.n_latched, 1);
    ck_assert_str_eq(f.ev.address, "127.0.0.1");
    ck_assert_int_eq(f.ev.port, x.port);
    /* Probation 1 latches on the first packet. */
    ok(sipnat_anchor_cfg_set_probation(f.cfg, 1));
    int port2;
    sipnat_anchor *b = anchor(&f, &port2);
    peer_rtp(&x, port2, 0, 500, 0x2222, "x");
    settle(f.ctx);
    ck_assert_int_eq(stats(b).latched, 1);
    ck_assert_int_eq(f.ev.n_latched, 2);
    sipnat_anchor_unref(b);
    sipnat_anchor_unref(a);
    close(x.fd);
    fx_done(&f);
}
END_TEST

/* X <-> A == B <-> Y, both peers latched. */
typedef struct call {
    fixture f;
    peer x, y, evil;
    sipnat_anchor *a, *b;
    int pa, pb;
} call;

static void call_open(call *c, bool latch)
{
    fx_init(&c->f);
    peer_open(&c->x);
    peer_open(&c->y);
    peer_open(&c->evil);
    c->a = anchor(&c->f, &c->pa);
    c->b = anchor(&c->f, &c->pb);
    ok(sipnat_anchor_set_remote(c->a, "127.0.0.1", c->x.port, c->x.port));
    ok(sipnat_anchor_set_remote(c->b, "127.0.0.1", c->y.port, c->y.port));
    ok(sipnat_anchor_bridge(c->a, c->b));
    if (!latch)
        return;
    for (uint16_t s = 0; s < 4; s++) {
        peer_rtp(&c->x, c->pa, 0, s, 0xAAAA, "x-latch");
        peer_rtp(&c->y, c->pb, 0, s, 0xBBBB, "y-latch");
    }
    settle(c->f.ctx);
    ck_assert_int_eq(stats(c->a).latched, 1);
    ck_assert_int_eq(stats(c->b).latched, 1);
    /* The latching packets were relayed: one each way. */
    ck_assert_int_eq(peer_drain(&c->x, NULL, 0, NULL), 1);
    ck_assert_int_eq(peer_drain(&c->y, NULL, 0, NULL), 1);
}

static void call_close(call *c)
{
    sipnat_anchor_unref(c->a);
    sipnat_anchor_unref(c->b);
    close(c->x.fd);
    close(c->y.fd);
    close(c->evil.fd);
    fx_done(&c->f);
}

START_TEST(test_anchor_relay_both_ways)
{
    call c;
    uint8_t buf[2048];
    size_t len = 0;
    char payload[173];

    call_open(&c, true);
    memset(payload, 'p', 172);
    payload[172] = 0;
    for (uint16_t s = 4; s < 54; s++) {
        snprintf(payload, sizeof payload, "x->y %u", s);
        payload[strlen(payload)] = 'p';
        peer_rtp(&c.x, c.pa, 0, s, 0xAAAA, payload);
    }
    for (uint16_t s = 4; s < 24; s++)
        peer_rtp(&c.y, c.pb, 8, s, 0xBBBB, "y->x");
    settle(c.f.ctx);
    ck_assert_int_eq(peer_drain(&c.y, buf, sizeof buf, &len), 50);
    /* Relayed untouched: SSRC, sequence number, timestamp, payload. */
    sn_rtp r;
    ok(sn_rtp_parse(buf, len, &r));
    ck_assert_uint_eq(r.ssrc, 0xAAAA);
    ck_assert_uint_eq(r.seq, 53);
    ck_assert_uint_eq(r.ts, 53 * 160);
    ck_assert_uint_eq(r.payload_len, 172);
    ck_assert(memcmp(r.payload, "x->y 53", 7) == 0);
    ck_assert_int_eq(peer_drain(&c.x, buf, sizeof buf, &len), 20);
    ok(sn_rtp_parse(buf, len, &r));
    ck_assert_uint_eq(r.pt, 8);
    ck_assert(memcmp(r.payload, "y->x", 4) == 0);

    sipnat_anchor_stats sa = stats(c.a), sb = stats(c.b);
    ck_assert_uint_eq(sa.rx_packets, 1 + 50);
    ck_assert_uint_eq(sb.tx_packets, 1 + 50);
    ck_assert_uint_eq(sb.tx_bytes, 19 + 50 * 184);
    ck_assert_uint_eq(sb.rx_packets, 1 + 20);
    ck_assert_uint_eq(sa.tx_packets, 1 + 20);
    ck_assert_uint_eq(sa.dropped_learning, 3);
    ck_assert_uint_eq(sa.dropped_foreign, 0);
    ck_assert_uint_eq(sa.rx_expected, 51);
    ck_assert_int_eq(sa.rx_lost, 0);

    /* Unbridged: nothing goes through any more. */
    ok(sipnat_anchor_bridge(c.a, NULL));
    peer_rtp(&c.x, c.pa, 0, 54, 0xAAAA, "lost");
    settle(c.f.ctx);
    ck_assert_int_eq(peer_drain(&c.y, NULL, 0, NULL), 0);
    ck_assert_uint_eq(stats(c.a).rx_packets, 52);
    call_close(&c);
}
END_TEST

START_TEST(test_anchor_attacker)
{
    call c;
    uint8_t buf[2048];
    size_t len;
    int got = 0;

    call_open(&c, false);
    /* Before anyone latched: an in-sequence stranger that stops short of
     * probation, then interleaved with the real peer. */
    for (uint16_t s = 0; s < 3; s++)
        peer_rtp(&c.evil, c.pa, 0, s, 0xEEEE, "EVIL");
    for (uint16_t s = 0; s < 4; s++) {
        peer_rtp(&c.x, c.pa, 0, (uint16_t)(100 + s), 0xAAAA, "good");
        peer_rtp(&c.evil, c.pa, 0, (uint16_t)(1000 + 2 * s), 0xEEEE, "EVIL");
    }
    peer_rtp(&c.y, c.pb, 0, 1, 0xBBBB, "y");
    settle(c.f.ctx);
    sipnat_anchor_stats st = stats(c.a);
    ck_assert_int_eq(st.latched, 1);
    ck_assert_int_eq(st.latched_port, c.x.port);
    /* The stranger's last interleaved packet came after the latch. */
    ck_assert_uint_eq(st.dropped_learning, 3 + 3 + 3);
    ck_assert_uint_eq(st.dropped_foreign, 1);
    /* After latching: the stranger, in sequence, many times. */
    for (uint16_t s = 0; s < 20; s++)
        peer_rtp(&c.evil, c.pa, 0, (uint16_t)(2000 + s), 0xEEEE, "EVIL");
    peer_rtp(&c.x, c.pa, 0, 104, 0xAAAA, "good");
    settle(c.f.ctx);
    st = stats(c.a);
    ck_assert_uint_eq(st.dropped_foreign, 1 + 20);
    ck_assert_uint_eq(st.rx_packets, 2);
    ck_assert_int_eq(st.latched_port, c.x.port);
    /* Y saw only the peer's packets (B has no latch: SDP address). */
    while ((len = (size_t)recv(c.y.fd, buf, sizeof buf, 0)) != (size_t)-1) {
        ck_assert(memmem(buf, len, "EVIL", 4) == NULL);
        got++;
    }
    ck_assert_int_eq(got, 2);
    /* Nothing was ever sent to the stranger. */
    ck_assert_int_eq(peer_drain(&c.evil, NULL, 0, NULL), 0);
    /* A new window (re-INVITE): the stranger can take over only with a
     * full probation; the old source stays until then. */
    ok(sipnat_anchor_set_remote(c.a, "127.0.0.1", c.x.port, 0));
    peer_rtp(&c.evil, c.pa, 0, 3000, 0xEEEE, "EVIL");
    peer_rtp(&c.x, c.pa, 0, 105, 0xAAAA, "good");
    settle(c.f.ctx);
    st = stats(c.a);
    ck_assert_uint_eq(st.rx_packets, 3);
    ck_assert_int_eq(st.latched_port, c.x.port);
    call_close(&c);
}
END_TEST

START_TEST(test_anchor_malformed)
{
    call c;
    uint8_t bad[64];

    call_open(&c, true);
    memset(bad, 0, sizeof bad);
    peer_send(&c.x, c.pa, bad, 5);         /* too short */
    bad[0] = 0x40;
    peer_send(&c.x, c.pa, bad, 20);        /* version 1 */
    bad[0] = 0x8F;
    peer_send(&c.x, c.pa, bad, 40);        /* 15 CSRCs run past the end */
    bad[0] = 0x90;
    bad[14] = 0xFF;
    peer_send(&c.x, c.pa, bad, 20);        /* extension past the end */
    bad[0] = 0xA0;
    bad[19] = 200;
    peer_send(&c.x, c.pa, bad, 20);        /* padding past the end */
    char big[3000];
    memset(big, 0, sizeof big);
    big[0] = (char)0x80;
    peer_send(&c.x, c.pa, big, sizeof big); /* larger than any buffer */
    peer_send(&c.x, c.pa + 1, bad, 3);     /* RTCP too short */
    settle(c.f.ctx);
    sipnat_anchor_stats st = stats(c.a);
    ck_assert_uint_eq(st.dropped_malformed, 7);
    ck_assert_uint_eq(st.rx_packets, 1);
    ck_assert_int_eq(peer_drain(&c.y, NULL, 0, NULL), 0);
    call_close(&c);
}
END_TEST

START_TEST(test_anchor_rtcp)
{
    call c;
    uint8_t p[64], buf[256];
    size_t n, len;

    call_open(&c, true);
    /* The peer's RR with its stream's SSRC is relayed and its report kept. */
    n = rtcp_rr(p, 0xAAAA, true);
    peer_send(&c.x, c.pa + 1, p, n);
    /* Another SSRC from the peer, and the right SSRC from a stranger. */
    n = rtcp_rr(p, 0xEEEE, true);
    peer_send(&c.x, c.pa + 1, p, n);
    n = rtcp_rr(p, 0xAAAA, false);
    peer_send(&c.evil, c.pa + 1, p, n);
    settle(c.f.ctx);
    sipnat_anchor_stats st = stats(c.a);
    ck_assert_uint_eq(st.rx_rtcp_packets, 1);
    ck_assert_uint_eq(st.dropped_rtcp_foreign_ssrc, 1);
    ck_assert_uint_eq(st.dropped_foreign, 1);
    ck_assert_int_eq(st.latched_rtcp_port, c.x.port);
    ck_assert_int_eq(st.rr_present, 1);
    ck_assert_uint_eq(st.rr_fraction_lost, 64);
    ck_assert_int_eq(st.rr_cumulative_lost, -2);
    ck_assert_uint_eq(st.rr_jitter, 80);
    ck_assert_uint_eq(st.rr_jitter_usec, 10000);
    ck_assert_int_eq(peer_drain(&c.y, buf, sizeof buf, &len), 1);
    ck_assert_uint_eq(len, 32);
    ck_assert_uint_eq(stats(c.b).tx_rtcp_packets, 1);
    ck_assert_int_eq(peer_drain(&c.evil, NULL, 0, NULL), 0);
    call_close(&c);
}
END_TEST

START_TEST(test_anchor_timeout)
{
    fixture f;
    peer x;
    int port;

    fx_init(&f);
    ok(sipnat_anchor_cfg_set_timeout(f.cfg, 1));
    peer_open(&x);
    sipnat_anchor *a = anchor(&f, &port);
    ok(sipnat_anchor_set_remote(a, "127.0.0.1", x.port, 0));
    run(f.ctx, 5000, &f.ev.n_timeout, 5000);
    ck_assert_int_eq(f.ev.n_timeout, 1);
    /* Once: no second event while silence goes on. */
    run(f.ctx, 1500, NULL, 1500);
    ck_assert_int_eq(f.ev.n_timeout, 1);
    /* Media again, then silence again: a new event. */
    for (uint16_t s = 0; s < 4; s++)
        peer_rtp(&x, port, 0, s, 1, "m");
    settle(f.ctx);
    ck_assert_int_eq(stats(a).latched, 1);
    int two = 0;
    while (f.ev.n_timeout < 2 && two++ < 50)
        run(f.ctx, 100, NULL, 100);
    ck_assert_int_eq(f.ev.n_timeout, 2);
    /* Not receiving (on hold): no timeout. */
    ok(sipnat_anchor_set_direction(a, 1, 0));
    run(f.ctx, 1500, NULL, 1500);
    ck_assert_int_eq(f.ev.n_timeout, 2);
    sipnat_anchor_unref(a);
    close(x.fd);
    fx_done(&f);
}
END_TEST

static void send_event(const peer *p, int port, uint16_t seq, uint32_t ts, uint8_t ev,
                       bool end, uint16_t dur)
{
    uint8_t buf[16];
    sn_rtp_event e = {.event = ev, .end = end, .volume = 10, .duration = dur};
    sn_rtp_write_header(buf, 101, false, seq, ts, 0xAAAA);
    sn_rtp_event_write(buf + 12, &e);
    peer_send(p, port, buf, 16);
}

START_TEST(test_anchor_dtmf_in)
{
    call c;
    uint16_t seq = 4;

    call_open(&c, true);
    ok(sipnat_anchor_set_codec(c.a, 0, "PCMU", 101, 20));
    /* '5': three updates, three end packets. */
    for (int i = 1; i <= 3; i++)
        send_event(&c.x, c.pa, seq++, 8000, 5, false, (uint16_t)(160 * i));
    for (int i = 0; i < 3; i++)
        send_event(&c.x, c.pa, seq++, 8000, 5, true, 800);
    /* '#': its end packets lost; reported when '*' starts. */
    send_event(&c.x, c.pa, seq++, 16000, 11, false, 160);
    send_event(&c.x, c.pa, seq++, 16000, 11, false, 320);
    send_event(&c.x, c.pa, seq++, 24000, 10, false, 160);
    send_event(&c.x, c.pa, seq++, 24000, 10, true, 480);
    /* A late end of '5' changes nothing. */
    send_event(&c.x, c.pa, seq++, 8000, 5, true, 800);
    settle(c.f.ctx);
    ck_assert_int_eq(c.f.ev.n_dtmf, 3);
    ck_assert_int_eq(c.f.ev.digits[0], '5');
    ck_assert_uint_eq(c.f.ev.durations[0], 100);
    ck_assert_int_eq(c.f.ev.digits[1], '#');
    ck_assert_uint_eq(c.f.ev.durations[1], 40);
    ck_assert_int_eq(c.f.ev.digits[2], '*');
    ck_assert_uint_eq(c.f.ev.durations[2], 60);
    /* Telephone events are relayed like any RTP. */
    ck_assert_int_eq(peer_drain(&c.y, NULL, 0, NULL), 11);
    call_close(&c);
}
END_TEST

START_TEST(test_anchor_dtmf_out)
{
    fixture f;
    peer x;
    int port;
    uint8_t buf[256];
    ssize_t n;
    unsigned got = 0, ends = 0, markers = 0;
    uint16_t last_seq = 0;
    uint32_t ts0 = 0;
    uint16_t maxdur = 0;

    fx_init(&f);
    peer_open(&x);
    sipnat_anchor *a = anchor(&f, &port);
    ck_assert_int_eq(sipnat_anchor_send_dtmf(a, '1', 100), -ENOPROTOOPT);
    ok(sipnat_anchor_set_codec(a, 0, "PCMU", 101, 20));
    ck_assert_int_eq(sipnat_anchor_send_dtmf(a, '1', 100), -ENOTCONN);
    ok(sipnat_anchor_set_remote(a, "127.0.0.1", x.port, 0));
    ck_assert_int_eq(sipnat_anchor_send_dtmf(a, '9', 100), 1);
    ck_assert_int_eq(sipnat_anchor_send_dtmf(a, '1', 100), -EBUSY);
    run(f.ctx, 300, NULL, 1000);
    while ((n = recv(x.fd, buf, sizeof buf, 0)) > 0) {
        sn_rtp r;
        sn_rtp_event ev;
        ok(sn_rtp_parse(buf, (size_t)n, &r));
        ck_assert_uint_eq(r.pt, 101);
        ok(sn_rtp_event_parse(r.payload, r.payload_len, &ev));
        ck_assert_uint_eq(ev.event, 9);
        if (got == 0)
            ts0 = r.ts;
        else
            ck_assert_uint_eq(r.seq, (uint16_t)(last_seq + 1));
        ck_assert_uint_eq(r.ts, ts0);
        ck_assert_uint_ge(ev.duration, maxdur);
        maxdur = ev.duration;
        markers += r.marker;
        ends += ev.end;
        last_seq = r.seq;
        got++;
    }
    /* 100 ms at 20 ms: 5 packets up to 800, the last one an end, sent
     * 3 times; the first one marked. */
    ck_assert_uint_eq(got, 7);
    ck_assert_uint_eq(ends, 3);
    ck_assert_uint_eq(markers, 1);
    ck_assert_uint_eq(maxdur, 800);
    ck_assert_uint_eq(stats(a).tx_packets, 7);
    /* Free again; audio after it continues the timestamps past it. */
    int16_t pcm[160] = {0};
    ck_assert_int_eq(sipnat_anchor_send_audio(a, pcm, 160), 1);
    n = recv(x.fd, buf, sizeof buf, 0);
    ck_assert_int_eq(n, 12 + 160);
    sn_rtp r;
    ok(sn_rtp_parse(buf, (size_t)n, &r));
    ck_assert_uint_eq(r.ts, ts0 + 800);
    ck_assert_uint_eq(r.seq, (uint16_t)(last_seq + 1));
    sipnat_anchor_unref(a);
    close(x.fd);
    fx_done(&f);
}
END_TEST

typedef struct audio_in {
    int calls;
    size_t n;
    int16_t first[4];
} audio_in;

static void on_audio(const int16_t *samples, size_t n, void *user_data)
{
    audio_in *in = user_data;
    in->calls++;
    in->n = n;
    memcpy(in->first, samples, sizeof in->first);
}

START_TEST(test_anchor_host_audio)
{
    fixture f;
    peer x;
    int port;
    audio_in in = {0};
    uint8_t buf[512];
    ssize_t n;
    int16_t pcm[160];

    fx_init(&f);
    peer_open(&x);
    sipnat_anchor *a = anchor(&f, &port);
    for (int i = 0; i < 160; i++)
        pcm[i] = (int16_t)(i * 100 - 8000);
    ck_assert_int_eq(sipnat_anchor_send_audio(a, pcm, 160), -ENOPROTOOPT);
    ok(sipnat_anchor_set_codec(a, 8, "PCMA", -1, 20));
    ck_assert_int_eq(sipnat_anchor_send_audio(a, pcm, 160), -ENOTCONN);
    ok(sipnat_anchor_set_audio_func(a, on_audio, &in));
    ok(sipnat_anchor_set_remote(a, "127.0.0.1", x.port, 0));
    /* Out: to the SDP address before latching, encoded, own SSRC. */
    ck_assert_int_eq(sipnat_anchor_send_audio(a, pcm, 160), 1);
    ck_assert_int_eq(sipnat_anchor_send_audio(a, pcm, 160), 1);
    n = recv(x.fd, buf, sizeof buf, 0);
    ck_assert_int_eq(n, 172);
    sn_rtp r1, r2;
    ok(sn_rtp_parse(buf, (size_t)n, &r1));
    ck_assert(r1.marker);
    ck_assert_uint_eq(r1.pt, 8);
    for (int i = 0; i < 160; i++)
        ck_assert_uint_eq(r1.payload[i], sn_g711_alaw_encode(pcm[i]));
    uint8_t buf2[512];
    n = recv(x.fd, buf2, sizeof buf2, 0);
    ok(sn_rtp_parse(buf2, (size_t)n, &r2));
    ck_assert(!r2.marker);
    ck_assert_uint_eq(r2.ssrc, r1.ssrc);
    ck_assert_uint_eq(r2.seq, (uint16_t)(r1.seq + 1));
    ck_assert_uint_eq(r2.ts, r1.ts + 160);
    /* In: decoded per packet, once latched. */
    uint8_t alaw[160];
    sn_g711_encode(SN_G711_ALAW, pcm, alaw, 160);
    for (uint16_t s = 0; s < 6; s++) {
        uint8_t p[200];
        size_t len = rtp_build(p, 8, s, s * 160u, 0x5555, alaw, 160);
        peer_send(&x, port, p, len);
    }
    settle(f.ctx);
    ck_assert_int_eq(in.calls, 3);
    ck_assert_uint_eq(in.n, 160);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(in.first[i], sn_g711_alaw_decode(sn_g711_alaw_encode(pcm[i])));
    /* On hold (not sending): withheld. */
    ok(sipnat_anchor_set_direction(a, 0, 1));
    ck_assert_int_eq(sipnat_anchor_send_audio(a, pcm, 160), 0);
    ck_assert_int_eq(peer_drain(&x, NULL, 0, NULL), 0);
    sipnat_anchor_unref(a);
    close(x.fd);
    fx_done(&f);
}
END_TEST

START_TEST(test_anchor_symmetric)
{
    fixture f;
    peer sdp, nat;
    int port;
    int16_t pcm[80] = {0};

    fx_init(&f);
    peer_open(&sdp);
    peer_open(&nat);
    /* Symmetric (default): after latching, our packets go where the
     * peer's come from, not to its SDP address. */
    sipnat_anchor *a = anchor(&f, &port);
    ok(sipnat_anchor_set_codec(a, 0, "PCMU", -1, 0));
    ok(sipnat_anchor_set_remote(a, "127.0.0.1", sdp.port, 0));
    for (uint16_t s = 0; s < 4; s++)
        peer_rtp(&nat, port, 0, s, 9, "m");
    settle(f.ctx);
    ck_assert_int_eq(sipnat_anchor_send_audio(a, pcm, 80), 1);
    ck_assert_int_eq(peer_drain(&nat, NULL, 0, NULL), 1);
    ck_assert_int_eq(peer_drain(&sdp, NULL, 0, NULL), 0);
    sipnat_anchor_unref(a);
    /* Not symmetric: always the SDP address; received packets are still
     * filtered by the latch. */
    ok(sipnat_anchor_cfg_set_symmetric(f.cfg, 0));
    a = anchor(&f, &port);
    ok(sipnat_anchor_set_codec(a, 0, "PCMU", -1, 0));
    ok(sipnat_anchor_set_remote(a, "127.0.0.1", sdp.port, 0));
    for (uint16_t s = 0; s < 4; s++)
        peer_rtp(&nat, port, 0, s, 9, "m");
    peer_rtp(&sdp, port, 0, 77, 3, "m");
    settle(f.ctx);
    ck_assert_int_eq(sipnat_anchor_send_audio(a, pcm, 80), 1);
    ck_assert_int_eq(peer_drain(&nat, NULL, 0, NULL), 0);
    ck_assert_int_eq(peer_drain(&sdp, NULL, 0, NULL), 1);
    ck_assert_int_eq(stats(a).latched_port, nat.port);
    ck_assert_uint_eq(stats(a).dropped_foreign, 1);
    sipnat_anchor_unref(a);
    close(sdp.fd);
    close(nat.fd);
    fx_done(&f);
}
END_TEST

START_TEST(test_anchor_keepalive)
{
    fixture f;
    peer x;
    int port, got = 0;
    uint8_t buf[64];
    ssize_t n;

    fx_init(&f);
    ok(sipnat_anchor_cfg_set_keepalive(f.cfg, 1));
    peer_open(&x);
    sipnat_anchor *a = anchor(&f, &port);
    ok(sipnat_anchor_set_direction(a, 0, 1));
    ok(sipnat_anchor_set_remote(a, "127.0.0.1", x.port, 0));
    for (int i = 0; i < 40 && !got; i++) {
        run(f.ctx, 100, NULL, 100);
        n = recv(x.fd, buf, sizeof buf, 0);
        if (n > 0) {
            sn_rtp r;
            ok(sn_rtp_parse(buf, (size_t)n, &r));
            ck_assert_uint_eq(r.pt, 13);
            ck_assert_uint_eq(r.payload_len, 1);
            got = 1;
        }
    }
    ck_assert_int_eq(got, 1);
    sipnat_anchor_unref(a);
    close(x.fd);
    fx_done(&f);
}
END_TEST

START_TEST(test_anchor_unref_bridged)
{
    call c;

    call_open(&c, true);
    /* The host drops one side while media flows both ways. */
    peer_rtp(&c.x, c.pa, 0, 4, 0xAAAA, "x");
    peer_rtp(&c.y, c.pb, 0, 4, 0xBBBB, "y");
    c.b = sipnat_anchor_unref(c.b);
    peer_rtp(&c.x, c.pa, 0, 5, 0xAAAA, "x");
    settle(c.f.ctx);
    ck_assert_uint_eq(stats(c.a).rx_packets, 1 + 2);
    /* A bridged pair whose other side goes away inside an event. */
    call_close(&c);
}
END_TEST

/* Dropping the bridged peer from inside an event callback. */
typedef struct dropper {
    sipnat_anchor *victim;
    int n;
} dropper;

static void drop_on_event(const sipnat_event *ev, void *user_data)
{
    dropper *d = user_data;
    (void)ev;
    d->n++;
    d->victim = sipnat_anchor_unref(d->victim);
}

START_TEST(test_anchor_unref_in_callback)
{
    fixture f;
    peer x, y;
    int pa, pb;
    dropper d = {0};

    fx_init(&f);
    peer_open(&x);
    peer_open(&y);
    ok(sipnat_anchor_cfg_set_probation(f.cfg, 1));
    ok(sipnat_anchor_cfg_set_event_func(f.cfg, drop_on_event, &d));
    sipnat_anchor *a = anchor(&f, &pa);
    ok(sipnat_anchor_cfg_set_event_func(f.cfg, NULL, NULL));
    sipnat_anchor *b = anchor(&f, &pb);
    ok(sipnat_anchor_bridge(a, b));
    d.victim = b;
    /* Both ready in one round: a's latch event frees b before b's turn. */
    peer_rtp(&y, pb, 0, 1, 2, "y");
    peer_rtp(&x, pa, 0, 1, 1, "x");
    settle(f.ctx);
    ck_assert_int_eq(d.n, 1);
    ck_assert_ptr_null(d.victim);
    peer_rtp(&x, pa, 0, 2, 1, "x");
    settle(f.ctx);
    ck_assert_uint_eq(stats(a).rx_packets, 2);
    sipnat_anchor_unref(a);
    close(x.fd);
    close(y.fd);
    fx_done(&f);
}
END_TEST

START_TEST(test_anchor_stats_loss)
{
    fixture f;
    peer x;
    int port;

    fx_init(&f);
    peer_open(&x);
    sipnat_anchor *a = anchor(&f, &port);
    for (uint16_t s = 0; s < 4; s++)
        peer_rtp(&x, port, 0, s, 7, "m");
    /* Then 4..23 with 10 and 11 missing. */
    for (uint16_t s = 4; s < 24; s++)
        if (s != 10 && s != 11)
            peer_rtp(&x, port, 0, s, 7, "m");
    settle(f.ctx);
    sipnat_anchor_stats st = stats(a);
    ck_assert_uint_eq(st.rx_packets, 1 + 18);
    ck_assert_uint_eq(st.rx_expected, 21);
    ck_assert_int_eq(st.rx_lost, 2);
    ck_assert_int_eq(st.rr_present, 0);
    /* A short (older) stats record is filled up to its size only. */
    unsigned char raw[sizeof(sipnat_anchor_stats) + 8];
    memset(raw, 0xEE, sizeof raw);
    sipnat_anchor_stats *small = (sipnat_anchor_stats *)(void *)raw;
    small->size = offsetof(sipnat_anchor_stats, rx_bytes);
    ok(sipnat_anchor_get_stats(a, small));
    ck_assert_uint_eq(small->rx_packets, 19);
    ck_assert_uint_eq(raw[offsetof(sipnat_anchor_stats, rx_bytes)], 0xEE);
    sipnat_anchor_unref(a);
    close(x.fd);
    fx_done(&f);
}
END_TEST

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    struct dirent *e;

    ck_assert_ptr_nonnull(d);
    while ((e = readdir(d)))
        n += e->d_name[0] != '.';
    closedir(d);
    return n - 1; /* the directory's own fd */
}

/* Bytes allocated from the heap, small and mmap()ed blocks. */
static size_t heap_bytes(void)
{
    struct mallinfo2 mi = mallinfo2();
    return mi.uordblks + mi.hblkhd;
}

START_TEST(test_anchor_budget)
{
    enum { N = 1000 };
    fixture f;
    static sipnat_anchor *a[N];
    char addr[SIPNAT_ADDRSTRLEN];

    fx_init(&f);
    /* Room for one more anchor created first: the ctx's shared media
     * engine is paid once per ctx, not per anchor. */
    sipnat_anchor *first = NULL;
    ok(sipnat_anchor_new(&first, f.ctx, f.cfg));
    int fds0 = count_fds();
    /* mallinfo2() sees the heap only without a sanitizer's allocator:
     * check that it does before trusting it. */
    size_t probe0 = heap_bytes();
    void *volatile probe = malloc(10000);
    ck_assert_ptr_nonnull(probe);
    bool heap_visible = heap_bytes() >= probe0 + 10000;
    free(probe);
    size_t mem0 = heap_bytes();

    for (int i = 0; i < N; i++) {
        int port;
        ok(sipnat_anchor_new(&a[i], f.ctx, f.cfg));
        ok(sipnat_anchor_get_local(a[i], addr, &port));
        ck_assert_int_eq(port % 2, 0);
    }
    double fds = (double)(count_fds() - fds0) / N;
    double bytes = (double)(heap_bytes() - mem0) / N;
    printf("budget: %d anchors, %.2f fds and %.0f bytes each (heap %s)\n", N, fds,
           bytes, heap_visible ? "measured" : "not visible under this allocator");
    ck_assert(fds <= 4.0);
    ck_assert_int_eq(count_fds() - fds0, 2 * N);
    if (heap_visible)
        ck_assert(bytes <= 16384.0);
    for (int i = 0; i < N; i++)
        a[i] = sipnat_anchor_unref(a[i]);
    sipnat_anchor_unref(first);
    /* The first anchor's two sockets: the ctx's relay holds no fd. */
    ck_assert_int_eq(count_fds(), fds0 - 2);
    fx_done(&f);
}
END_TEST

START_TEST(test_anchor_ports)
{
    fixture f;
    sipnat_anchor *a = NULL, *b = NULL, *c = NULL;
    int pa, pb;
    char addr[SIPNAT_ADDRSTRLEN];

    fx_init(&f);
    /* 31001-31004: the even ports 31002 only (31004 has no 31005). */
    ok(sipnat_anchor_cfg_set_port_range(f.cfg, 31001, 31004));
    ok(sipnat_anchor_new(&a, f.ctx, f.cfg));
    ok(sipnat_anchor_get_local(a, addr, &pa));
    ck_assert_int_eq(pa, 31002);
    ck_assert_int_eq(sipnat_anchor_new(&b, f.ctx, f.cfg), -EADDRINUSE);
    ck_assert_ptr_null(b);
    /* A port in use by someone else is skipped. */
    ok(sipnat_anchor_cfg_set_port_range(f.cfg, 31002, 31005));
    ok(sipnat_anchor_new(&c, f.ctx, f.cfg));
    ok(sipnat_anchor_get_local(c, addr, &pb));
    ck_assert_int_eq(pb, 31004);
    sipnat_anchor_unref(c);
    sipnat_anchor_unref(a);
    /* IPv6 bind, and an address of the other family refused. */
    ok(sipnat_anchor_cfg_set_bind(f.cfg, "::1"));
    ok(sipnat_anchor_cfg_set_port_range(f.cfg, PORT_MIN, PORT_MAX));
    if (sipnat_anchor_new(&a, f.ctx, f.cfg) == 0) {
        ok(sipnat_anchor_get_local(a, addr, &pa));
        ck_assert_str_eq(addr, "::1");
        ck_assert_int_eq(sipnat_anchor_set_remote(a, "127.0.0.1", 4000, 0), -EAFNOSUPPORT);
        ok(sipnat_anchor_set_remote(a, "[::1]", 4000, 0));
        a = sipnat_anchor_unref(a);
    } else {
        /* No IPv6 loopback on this host: the failure is an errno. */
        ck_assert_ptr_null(a);
    }
    fx_done(&f);
}
END_TEST

static void nop_audio(const int16_t *s, size_t n, void *u)
{
    (void)s; (void)n; (void)u;
}

START_TEST(test_anchor_invalid)
{
    fixture f;
    sipnat_anchor *a = NULL, *other = NULL;
    sipnat_ctx *ctx2 = NULL;
    char addr[SIPNAT_ADDRSTRLEN];
    int port;
    int16_t pcm[10] = {0};
    sipnat_anchor_stats st = {.size = sizeof st};

    fx_init(&f);
    ck_assert_int_eq(sipnat_anchor_cfg_new(NULL), -EINVAL);
    ck_assert_ptr_null(sipnat_anchor_cfg_free(NULL));
    ck_assert_int_eq(sipnat_anchor_cfg_set_bind(NULL, "127.0.0.1"), -EINVAL);
    ck_assert_int_eq(sipnat_anchor_cfg_set_bind(f.cfg, NULL), -EINVAL);
    ck_assert_int_eq(sipnat_anchor_cfg_set_bind(f.cfg, "localhost"), -EINVAL);
    ck_assert_int_eq(sipnat_anchor_cfg_set_port_range(NULL, 10000, 20000), -EINVAL);
    ck_assert_int_eq(sipnat_anchor_cfg_set_port_range(f.cfg, 0, 20000), -EINVAL);
    ck_assert_int_eq(sipnat_anchor_cfg_set_port_range(f.cfg, 20000, 10000), -EINVAL);
    ck_assert_int_eq(sipnat_anchor_cfg_set_port_range(f.cfg, 10000, 65536), -EINVAL);
    ck_assert_int_eq(sipnat_anchor_cfg_set_port_range(f.cfg, 10001, 10002), -EINVAL);
    ck_assert_int_eq(sipnat_anchor_cfg_set_symmetric(NULL, 1), -EINVAL);
    ck_assert_int_eq(sipnat_anchor_cfg_set_symmetric(f.cfg, 2), -EINVAL);
    ck_assert_int_eq(sipnat_anchor_cfg_set_probation(NULL, 4), -EINVAL);
    ck_assert_int_eq(sipnat_anchor_cfg_set_probation(f.cfg, 0), -EINVAL);
    ck_assert_int_eq(sipnat_anchor_cfg_set_probation(f.cfg, 1001), -EINVAL);
    ck_assert_int_eq(sipnat_anchor_cfg_set_timeout(NULL, 1), -EINVAL);
    ck_assert_int_eq(sipnat_anchor_cfg_set_timeout(f.cfg, 86401), -EINVAL);
    ck_assert_int_eq(sipnat_anchor_cfg_set_keepalive(NULL, 1), -EINVAL);
    ck_assert_int_eq(sipnat_anchor_cfg_set_keepalive(f.cfg, 3601), -EINVAL);
    ck_assert_int_eq(sipnat_anchor_cfg_set_event_func(NULL, on_event, NULL), -EINVAL);

    ck_assert_int_eq(sipnat_anchor_new(NULL, f.ctx, f.cfg), -EINVAL);
    a = (sipnat_anchor *)&f;
    ck_assert_int_eq(sipnat_anchor_new(&a, NULL, f.cfg), -EINVAL);
    ck_assert_ptr_null(a);
    ck_assert_int_eq(sipnat_anchor_new(&a, f.ctx, NULL), -EINVAL);
    ck_assert_ptr_null(sipnat_anchor_ref(NULL));
    ck_assert_ptr_null(sipnat_anchor_unref(NULL));
    ok(sipnat_anchor_new(&a, f.ctx, f.cfg));

    ck_assert_int_eq(sipnat_anchor_get_local(NULL, addr, &port), -EINVAL);
    ck_assert_int_eq(sipnat_anchor_get_local(a, NULL, &port), -EINVAL);
    ck_assert_int_eq(sipnat_anchor_get_local(a, addr, NULL), -EINVAL);
    ck_assert_int_eq(sipnat_anchor_set_remote(NULL, "127.0.0.1", 4000, 0), -EINVAL);
    ck_assert_int_eq(sipnat_anchor_set_remote(a, NULL, 4000, 0), -EINVAL);
    ck_assert_int_eq(sipnat_anchor_set_remote(a, "example.com", 4000, 0), -EINVAL);
    ck_assert_int_eq(sipnat_anchor_set_remote(a, "127.0.0.1", 0, 0), -EINVAL);
    ck_assert_int_eq(sipnat_anchor_set_remote(a, "127.0.0.1", 65536, 0), -EINVAL);
    ck_assert_int_eq(sipnat_anchor_set_remote(a, "127.0.0.1", 4000, -1), -EINVAL);
    ck_assert_int_eq(sipnat_anchor_set_remote(a, "127.0.0.1", 65535, 0), -EINVAL);
    ck_assert_int_eq(sipnat_anchor_set_direction(NULL, 1, 1), -EINVAL);
    ck_assert_int_eq(sipnat_anchor_set_direction(a, 2, 1), -EINVAL);
    ck_assert_int_eq(sipnat_anchor_set_direction(a, 1, -1), -EINVAL);
    ck_assert_int_eq(sipnat_anchor_set_codec(NULL, 0, "PCMU", -1, 20), -EINVAL);
    ck_assert_int_eq(sipnat_anchor_set_codec(a, 0, NULL, -1, 20), -EINVAL);
    ck_assert_int_eq(sipnat_anchor_set_codec(a, 128, "PCMU", -1, 20), -EINVAL);
    ck_assert_int_eq(sipnat_anchor_set_codec(a, -1, "PCMU", -1, 20), -EINVAL);
    ck_assert_int_eq(sipnat_anchor_set_codec(a, 0, "PCMU", 0, 20), -EINVAL);
    ck_assert_int_eq(sipnat_anchor_set_codec(a, 0, "PCMU", 128, 20), -EINVAL);
    ck_assert_int_eq(sipnat_anchor_set_codec(a, 0, "PCMU", -2, 20), -EINVAL);
    ck_assert_int_eq(sipnat_anchor_set_codec(a, 0, "PCMU", 101, 15), -EINVAL);
    ck_assert_int_eq(sipnat_anchor_set_codec(a, 0, "PCMU", 101, 190), -EINVAL);
    ck_assert_int_eq(sipnat_anchor_set_codec(a, 9, "G722", 101, 20), -ENOTSUP);
    ck_assert_int_eq(sipnat_anchor_bridge(NULL, a), -EINVAL);
    ck_assert_int_eq(sipnat_anchor_bridge(a, a), -EINVAL);
    ok(sipnat_ctx_new(&ctx2));
    ok(sipnat_anchor_new(&other, ctx2, f.cfg));
    ck_assert_int_eq(sipnat_anchor_bridge(a, other), -EINVAL);
    ck_assert_int_eq(sipnat_anchor_set_audio_func(NULL, nop_audio, NULL), -EINVAL);
    ck_assert_int_eq(sipnat_anchor_send_audio(NULL, pcm, 10), -EINVAL);
    ck_assert_int_eq(sipnat_anchor_send_audio(a, NULL, 10), -EINVAL);
    ck_assert_int_eq(sipnat_anchor_send_audio(a, pcm, 0), -EINVAL);
    ck_assert_int_eq(sipnat_anchor_send_audio(a, pcm, 1441), -EINVAL);
    ck_assert_int_eq(sipnat_anchor_send_dtmf(NULL, '1', 100), -EINVAL);
    ck_assert_int_eq(sipnat_anchor_send_dtmf(a, 'x', 100), -EINVAL);
    ck_assert_int_eq(sipnat_anchor_send_dtmf(a, '1', 5), -EINVAL);
    ck_assert_int_eq(sipnat_anchor_send_dtmf(a, '1', 8001), -EINVAL);
    ck_assert_int_eq(sipnat_anchor_get_stats(NULL, &st), -EINVAL);
    ck_assert_int_eq(sipnat_anchor_get_stats(a, NULL), -EINVAL);
    st.size = 4;
    ck_assert_int_eq(sipnat_anchor_get_stats(a, &st), -EINVAL);
    sipnat_anchor_unref(other);
    sipnat_ctx_unref(ctx2);
    sipnat_anchor_unref(a);
    fx_done(&f);
}
END_TEST

typedef struct watched {
    int fds[64];
    int n;
} watched;

static int on_watch(sipnat_ctx *ctx, int fd, unsigned ev_mask, void *fd_data, void *user_data)
{
    watched *w = user_data;
    (void)ctx;
    (void)fd_data;
    for (int i = 0; i < w->n; i++)
        if (w->fds[i] == fd) {
            if (ev_mask & SIPNAT_IO_REMOVE)
                w->fds[i] = w->fds[--w->n];
            return 0;
        }
    if (!(ev_mask & SIPNAT_IO_REMOVE) && w->n < 64)
        w->fds[w->n++] = fd;
    return 0;
}

/* The watched fd bound to this port. */
static int fd_of_port(const watched *w, int port)
{
    for (int i = 0; i < w->n; i++) {
        struct sockaddr_in sin;
        socklen_t len = sizeof sin;
        if (getsockname(w->fds[i], (struct sockaddr *)&sin, &len) == 0 &&
            sin.sin_family == AF_INET && ntohs(sin.sin_port) == port)
            return w->fds[i];
    }
    return -1;
}

START_TEST(test_anchor_push_mode)
{
    /* Push mode: the host watches every anchor socket itself, and hands
     * a ready one straight back. */
    fixture f;
    watched w = {.n = 0};
    int port, port_c;
    peer x;

    fx_init(&f);
    peer_open(&x);
    ok(sipnat_ctx_set_watch_func(f.ctx, on_watch, &w));
    int before = w.n;
    ok(sipnat_anchor_cfg_set_probation(f.cfg, 1));
    sipnat_anchor *a = anchor(&f, &port);
    ck_assert_int_eq(w.n, before + 2);
    ck_assert_int_ge(fd_of_port(&w, port), 0);
    ck_assert_int_ge(fd_of_port(&w, port + 1), 0);
    sipnat_anchor *b = anchor(&f, &port), *c = anchor(&f, &port_c);
    ck_assert_int_eq(w.n, before + 6);
    int rtp_fd = fd_of_port(&w, port_c);
    ck_assert_int_ge(rtp_fd, 0);
    peer_rtp(&x, port_c, 0, 1, 1, "m");
    struct pollfd pfd = {.fd = rtp_fd, .events = POLLIN};
    ck_assert_int_eq(poll(&pfd, 1, 2000), 1);
    ck_assert_int_ge(sipnat_ctx_process_fd(f.ctx, rtp_fd, SIPNAT_IO_IN), 1);
    ck_assert_uint_eq(stats(c).rx_packets, 1);
    ck_assert_int_eq(f.ev.n_latched, 1);
    sipnat_anchor_unref(c);
    ck_assert_int_eq(fd_of_port(&w, port_c), -1);
    sipnat_anchor_unref(b);
    ck_assert_int_eq(w.n, before + 2);
    sipnat_anchor_unref(a);
    /* The last anchor of the ctx takes its sockets with it. */
    ck_assert_int_eq(w.n, before);
    close(x.fd);
    fx_done(&f);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("media");
    TCase *tc = tcase_create("codec");
    TCase *ta = tcase_create("anchor");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, test_g711_known_values);
    tcase_add_test(tc, test_g711_round_trip);
    tcase_add_test(tc, test_rtp_parse);
    tcase_add_test(tc, test_rtcp_parse);
    tcase_add_test(tc, test_rtp_rx_stats);
    tcase_add_test(tc, test_rtp_events);
    tcase_add_test(tc, test_latch_rules);
    suite_add_tcase(s, tc);

    tcase_set_timeout(ta, 30);
    tcase_add_test(ta, test_anchor_latch_probation);
    tcase_add_test(ta, test_anchor_relay_both_ways);
    tcase_add_test(ta, test_anchor_attacker);
    tcase_add_test(ta, test_anchor_malformed);
    tcase_add_test(ta, test_anchor_rtcp);
    tcase_add_test(ta, test_anchor_timeout);
    tcase_add_test(ta, test_anchor_dtmf_in);
    tcase_add_test(ta, test_anchor_dtmf_out);
    tcase_add_test(ta, test_anchor_host_audio);
    tcase_add_test(ta, test_anchor_symmetric);
    tcase_add_test(ta, test_anchor_keepalive);
    tcase_add_test(ta, test_anchor_unref_bridged);
    tcase_add_test(ta, test_anchor_unref_in_callback);
    tcase_add_test(ta, test_anchor_stats_loss);
    tcase_add_test(ta, test_anchor_budget);
    tcase_add_test(ta, test_anchor_ports);
    tcase_add_test(ta, test_anchor_invalid);
    tcase_add_test(ta, test_anchor_push_mode);
    suite_add_tcase(s, ta);

    sr = srunner_create(s);
    srunner_run_all(sr, CK_VERBOSE);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
