/* libsipnat tests - SRTP (lib/media/srtp.c, crypto_attr.c; compiled in,
 * since they are hidden in the shared library): RFC 4568 a=crypto
 * parsing, libsrtp2 sessions, and anchors that protect and unprotect per
 * leg, driven through a ctx on 127.0.0.1 with in-process peers that speak
 * SRTP through their own libsrtp2 sessions. Ports 40000-44999 only. */
#include "config.h"

#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sipnat/sipnat.h>

#include "core/addr.h"
#include "media/crypto_attr.h"
#include "media/mdesc.h"
#include "media/rtp.h"
#include "media/srtp.h"

#include "check_srtp_crypto.h"

#define PORT_MIN 40000
#define PORT_MAX 44999
#define ok(expr) ck_assert_int_eq((expr), 0)

/* A key of RFC 4568's example, 30 bytes. */
#define KEY80 "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"

/* -- a=crypto parsing ------------------------------------------------------ */

START_TEST(test_crypto_parse_good)
{
    sn_crypto_key k, k2;
    char buf[SN_CRYPTO_ATTR_MAX];

    ok(sn_crypto_parse_attr("1 AES_CM_128_HMAC_SHA1_80 inline:" KEY80, &k));
    ck_assert_uint_eq(k.tag, 1);
    ck_assert_int_eq(k.suite, SN_SRTP_AES_CM_128_HMAC_SHA1_80);
    ck_assert_uint_eq(k.key_len, 30);
    ck_assert_uint_eq(k.key[0], 0x3d); /* "PS1u" is "=-n" */
    ck_assert_uint_eq(k.key[29], 0x51);
    /* Printed back identically. */
    ck_assert_int_eq(sn_crypto_format_attr(&k, buf, sizeof buf),
                     (int)strlen("1 AES_CM_128_HMAC_SHA1_80 inline:" KEY80));
    ck_assert_str_eq(buf, "1 AES_CM_128_HMAC_SHA1_80 inline:" KEY80);
    /* Lifetimes up to 2^48, as a power or a decimal; WSH. */
    ok(sn_crypto_parse(7, "AES_CM_128_HMAC_SHA1_32", "inline:" KEY80 "|2^31", &k2));
    ck_assert_int_eq(k2.suite, SN_SRTP_AES_CM_128_HMAC_SHA1_32);
    ck_assert(memcmp(k.key, k2.key, 30) == 0);
    ok(sn_crypto_parse(7, "AES_CM_128_HMAC_SHA1_80", "inline:" KEY80 "|2^48", &k2));
    ok(sn_crypto_parse(7, "AES_CM_128_HMAC_SHA1_80", "inline:" KEY80 "|281474976710656", &k2));
    ok(sn_crypto_parse(7, "AES_CM_128_HMAC_SHA1_80", "inline:" KEY80 "|1048576 WSH=64", &k2));
    /* Every suite: random keys round-trip through the printed form. */
    for (int s = 1; s <= SN_SRTP_SUITES; s++) {
        ok(sn_crypto_key_random(&k, (uint32_t)s, (sn_srtp_suite)s));
        ck_assert_int_gt(sn_crypto_format_attr(&k, buf, sizeof buf), 0);
        ok(sn_crypto_parse_attr(buf, &k2));
        ck_assert_int_eq(k2.suite, s);
        ck_assert_uint_eq(k2.key_len, sn_srtp_suite_key_len((sn_srtp_suite)s));
        ck_assert(memcmp(k.key, k2.key, k.key_len) == 0);
    }
    ck_assert_int_eq(sn_crypto_key_random(&k, 1, SN_SRTP_NONE), -EINVAL);
    ck_assert_int_eq(sn_crypto_format_attr(&k2, buf, 20), -ENOSPC);
}
END_TEST

START_TEST(test_crypto_parse_bad)
{
    static const struct { const char *v; int err; } cases[] = {
        /* unknown suites */
        {"1 F8_128_HMAC_SHA1_80 inline:" KEY80, -ENOTSUP},
        {"1 aes_cm_128_hmac_sha1_80 inline:" KEY80, -ENOTSUP},
        {"1 AES_CM_128_HMAC_SHA1_80_AND_A_VERY_LONG_SUFFIX inline:" KEY80, -ENOTSUP},
        /* bad base64 and wrong key lengths */
        {"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVB!", -EINVAL},
        {"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVB", -EINVAL},
        {"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBRAAAA", -EINVAL},
        {"1 AES_CM_128_HMAC_SHA1_80 inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVB=", -EINVAL},
        {"1 AEAD_AES_256_GCM inline:" KEY80, -EINVAL},
        {"1 AEAD_AES_128_GCM inline:" KEY80, -EINVAL},
        {"1 AES_CM_128_HMAC_SHA1_80 inline:", -EINVAL},
        /* missing inline:, another method, no key parameter */
        {"1 AES_CM_128_HMAC_SHA1_80 " KEY80, -EINVAL},
        {"1 AES_CM_128_HMAC_SHA1_80 uri:http://example.com/key", -ENOTSUP},
        {"1 AES_CM_128_HMAC_SHA1_80", -EINVAL},
        {"1 AES_CM_128_HMAC_SHA1_80 ", -EINVAL},
        /* lifetimes */
        {"1 AES_CM_128_HMAC_SHA1_80 inline:" KEY80 "|2^49", -EINVAL},
        {"1 AES_CM_128_HMAC_SHA1_80 inline:" KEY80 "|281474976710657", -EINVAL},
        {"1 AES_CM_128_HMAC_SHA1_80 inline:" KEY80 "|0", -EINVAL},
        {"1 AES_CM_128_HMAC_SHA1_80 inline:" KEY80 "|2^", -EINVAL},
        {"1 AES_CM_128_HMAC_SHA1_80 inline:" KEY80 "|2^x", -EINVAL},
        {"1 AES_CM_128_HMAC_SHA1_80 inline:" KEY80 "|", -EINVAL},
        {"1 AES_CM_128_HMAC_SHA1_80 inline:" KEY80 "|99999999999999999999999", -EINVAL},
        /* MKI: refused when well-formed, malformed otherwise */
        {"1 AES_CM_128_HMAC_SHA1_80 inline:" KEY80 "|1:4", -ENOTSUP},
        {"1 AES_CM_128_HMAC_SHA1_80 inline:" KEY80 "|2^20|1:4", -ENOTSUP},
        {"1 AES_CM_128_HMAC_SHA1_80 inline:" KEY80 "|2^20|1:", -EINVAL},
        {"1 AES_CM_128_HMAC_SHA1_80 inline:" KEY80 "|2^20|:4", -EINVAL},
        {"1 AES_CM_128_HMAC_SHA1_80 inline:" KEY80 "|2^20|14", -EINVAL},
        {"1 AES_CM_128_HMAC_SHA1_80 inline:" KEY80 "|2^20|1:4|9", -EINVAL},
        /* several key parameters; session parameters */
        {"1 AES_CM_128_HMAC_SHA1_80 inline:" KEY80 "|2^20|1:4;inline:" KEY80 "|2^20|2:4", -ENOTSUP},
        {"1 AES_CM_128_HMAC_SHA1_80 inline:" KEY80 " UNENCRYPTED_SRTP", -ENOTSUP},
        {"1 AES_CM_128_HMAC_SHA1_80 inline:" KEY80 " KDR=1", -ENOTSUP},
        {"1 AES_CM_128_HMAC_SHA1_80 inline:" KEY80 " WSH=x", -EINVAL},
        /* tags */
        {"AES_CM_128_HMAC_SHA1_80 inline:" KEY80, -EINVAL},
        {"1234567890 AES_CM_128_HMAC_SHA1_80 inline:" KEY80, -EINVAL},
        {"1x AES_CM_128_HMAC_SHA1_80 inline:" KEY80, -EINVAL},
        {"", -EINVAL},
        {"1 ", -EINVAL},
    };
    sn_crypto_key k;

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        ck_assert_msg(sn_crypto_parse_attr(cases[i].v, &k) == cases[i].err,
                      "case %zu \"%s\": %d", i, cases[i].v, sn_crypto_parse_attr(cases[i].v, &k));
    ck_assert_int_eq(sn_crypto_parse_attr(NULL, &k), -EINVAL);
    ck_assert_int_eq(sn_crypto_parse(1, NULL, "", &k), -EINVAL);
}
END_TEST

/* -- libsrtp2 sessions ----------------------------------------------------- */

static void key_pair(sn_srtp_suite suite, sn_crypto_key *k)
{
    ok(sn_crypto_key_random(k, 1, suite));
}

START_TEST(test_srtp_suites)
{
    /* What this libsrtp2 runs is found at run time; the AES-CM suites
     * are in every build, GCM only with a GCM-capable crypto backend. */
    ck_assert(sn_srtp_suite_available(SN_SRTP_AES_CM_128_HMAC_SHA1_80));
    ck_assert(sn_srtp_suite_available(SN_SRTP_AES_CM_128_HMAC_SHA1_32));
    ck_assert(!sn_srtp_suite_available(SN_SRTP_NONE));
    ck_assert_int_eq(sipnat_anchor_srtp_suite_supported("AES_CM_128_HMAC_SHA1_80"), 1);
    ck_assert_int_eq(sipnat_anchor_srtp_suite_supported("AEAD_AES_128_GCM"),
                     sn_srtp_suite_available(SN_SRTP_AEAD_AES_128_GCM));
    ck_assert_int_eq(sipnat_anchor_srtp_suite_supported("NULL_HMAC_SHA1_80"), -ENOTSUP);
    ck_assert_int_eq(sipnat_anchor_srtp_suite_supported(NULL), -EINVAL);
    fprintf(stderr, "libsrtp2 suites here: GCM-128 %s, GCM-256 %s\n",
            sn_srtp_suite_available(SN_SRTP_AEAD_AES_128_GCM) ? "yes" : "no",
            sn_srtp_suite_available(SN_SRTP_AEAD_AES_256_GCM) ? "yes" : "no");
}
END_TEST

/* Protect and unprotect RTP and RTCP with every available suite: the
 * trailer fits SN_SRTP_TAILROOM; tampering, replays and other keys fail. */
START_TEST(test_srtp_round_trip)
{
    for (int s = 1; s <= SN_SRTP_SUITES; s++) {
        sn_crypto_key k, other;
        sn_srtp *tx, *rx, *rx_other;
        uint8_t p[200 + SN_SRTP_TAILROOM], copy[sizeof p], plain[200];
        size_t len, clen;

        if (!sn_srtp_suite_available((sn_srtp_suite)s))
            continue;
        key_pair((sn_srtp_suite)s, &k);
        key_pair((sn_srtp_suite)s, &other);
        ok(sn_srtp_new(&tx, &k, false));
        ok(sn_srtp_new(&rx, &k, true));
        ok(sn_srtp_new(&rx_other, &other, true));
        for (uint16_t seq = 1; seq < 5; seq++) {
            sn_rtp_write_header(plain, 0, false, seq, seq * 160u, 0x1234);
            memset(plain + SN_RTP_HEADER, 0x40 + seq, 188);
            memcpy(p, plain, 200);
            len = 200;
            ok(sn_srtp_protect(tx, p, &len, false));
            ck_assert_uint_gt(len, 200);
            ck_assert_uint_le(len, 200 + SN_SRTP_TAILROOM);
            ck_assert(memcmp(p + SN_RTP_HEADER, plain + SN_RTP_HEADER, 188) != 0);
            memcpy(copy, p, len);
            clen = len;
            ck_assert_int_eq(sn_srtp_unprotect(rx_other, copy, &clen, false), -EBADMSG);
            memcpy(copy, p, len);
            clen = len;
            copy[len - 1] ^= 1;
            ck_assert_int_eq(sn_srtp_unprotect(rx, copy, &clen, false), -EBADMSG);
            memcpy(copy, p, len);
            clen = len;
            ok(sn_srtp_unprotect(rx, p, &len, false));
            ck_assert_uint_eq(len, 200);
            ck_assert(memcmp(p, plain, 200) == 0);
            ck_assert_int_eq(sn_srtp_unprotect(rx, copy, &clen, false), -EALREADY);
        }
        /* SRTCP: an RR, with its index and tag. */
        uint8_t rr[8] = {0x80, 201, 0, 1, 0, 0, 0x12, 0x34};
        memcpy(p, rr, 8);
        len = 8;
        ok(sn_srtp_protect(tx, p, &len, true));
        ck_assert_uint_le(len, 8 + SN_SRTP_TAILROOM);
        memcpy(copy, p, len);
        clen = len;
        ok(sn_srtp_unprotect(rx, p, &len, true));
        ck_assert_uint_eq(len, 8);
        ck_assert(memcmp(p, rr, 8) == 0);
        ck_assert_int_eq(sn_srtp_unprotect(rx, copy, &clen, true), -EALREADY);
        /* Not SRTP at all. */
        len = 3;
        ck_assert_int_eq(sn_srtp_unprotect(rx, p, &len, false), -EINVAL);
        sn_srtp_free(tx);
        sn_srtp_free(rx);
        sn_srtp_free(rx_other);
    }
    sn_srtp *x = NULL;
    sn_crypto_key none = {0};
    ck_assert_int_eq(sn_srtp_new(&x, &none, false), -ENOTSUP);
    ck_assert_ptr_null(sn_srtp_free(NULL));
}
END_TEST

/* -- anchors with SRTP legs ------------------------------------------------ */

/* A peer on 127.0.0.1; with keys it speaks SRTP: tx for what it sends,
 * rx for what the anchor sends it. */
typedef struct peer {
    int fd;
    int port;
    sn_srtp *tx, *rx;
    sn_crypto_key ktx, krx;
} peer;

static void peer_open_at(peer *p, sn_srtp_suite suite, const char *host)
{
    struct sockaddr_in sin = {.sin_family = AF_INET};
    socklen_t len = sizeof sin;

    ck_assert_int_eq(inet_pton(AF_INET, host, &sin.sin_addr), 1);

    memset(p, 0, sizeof *p);
    p->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    ck_assert_int_ge(p->fd, 0);
    ok(bind(p->fd, (struct sockaddr *)&sin, sizeof sin));
    ok(getsockname(p->fd, (struct sockaddr *)&sin, &len));
    p->port = ntohs(sin.sin_port);
    if (suite == SN_SRTP_NONE)
        return;
    ok(sn_crypto_key_random(&p->ktx, 1, suite));
    ok(sn_crypto_key_random(&p->krx, 1, suite));
    ok(sn_srtp_new(&p->tx, &p->ktx, false));
    ok(sn_srtp_new(&p->rx, &p->krx, true));
}

static void peer_open(peer *p, sn_srtp_suite suite)
{
    peer_open_at(p, suite, "127.0.0.1");
}

static void peer_close(peer *p)
{
    sn_srtp_free(p->tx);
    sn_srtp_free(p->rx);
    close(p->fd);
}

/* Key the anchor's leg to p: it sends with p's rx key and checks p's tx key. */
static int anchor_key(sipnat_anchor *a, const peer *p)
{
    char tx[SN_CRYPTO_ATTR_MAX], rx[SN_CRYPTO_ATTR_MAX];

    ck_assert_int_gt(sn_crypto_format_attr(&p->krx, tx, sizeof tx), 0);
    ck_assert_int_gt(sn_crypto_format_attr(&p->ktx, rx, sizeof rx), 0);
    return sipnat_anchor_set_srtp(a, tx, rx);
}

static void send_raw(const peer *p, int port, const void *buf, size_t n)
{
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    ck_assert_int_eq(sendto(p->fd, buf, n, 0, (struct sockaddr *)&to, sizeof to), (ssize_t)n);
}

/* One RTP packet of p's stream: "<tag> <seq>" padded to 160 bytes of
 * payload, protected when p speaks SRTP; the wire bytes in out. */
static size_t peer_rtp(const peer *p, int port, uint16_t seq, uint32_t ssrc,
                       const char *tag, uint8_t *out)
{
    uint8_t buf[SN_RTP_HEADER + 160 + SN_SRTP_TAILROOM];
    size_t n = SN_RTP_HEADER + 160;

    sn_rtp_write_header(buf, 0, false, seq, seq * 160u, ssrc);
    memset(buf + SN_RTP_HEADER, '.', 160);
    snprintf((char *)buf + SN_RTP_HEADER, 160, "%s %u", tag, seq);
    if (p->tx)
        ok(sn_srtp_protect(p->tx, buf, &n, false));
    send_raw(p, port, buf, n);
    if (out)
        memcpy(out, buf, n);
    return n;
}

static void peer_rr(const peer *p, int port, uint32_t ssrc)
{
    uint8_t buf[8 + SN_SRTP_TAILROOM] = {0x80, 201, 0, 1, (uint8_t)(ssrc >> 24),
                                         (uint8_t)(ssrc >> 16), (uint8_t)(ssrc >> 8),
                                         (uint8_t)ssrc};
    size_t n = 8;

    if (p->tx)
        ok(sn_srtp_protect(p->tx, buf, &n, true));
    send_raw(p, port, buf, n);
}

/* Receive everything waiting at p, unprotected when p speaks SRTP, and
 * check each payload starts with `tag`: the number of good packets. */
static int peer_recv(const peer *p, const char *tag, bool rtcp)
{
    uint8_t buf[2048];
    ssize_t r;
    int n = 0;

    while ((r = recv(p->fd, buf, sizeof buf, 0)) >= 0) {
        size_t len = (size_t)r;
        sn_rtp rtp;
        if (p->rx)
            ok(sn_srtp_unprotect(p->rx, buf, &len, rtcp));
        if (rtcp) {
            uint32_t ssrc;
            bool has;
            ok(sn_rtcp_parse(buf, len, &ssrc, NULL, &has));
        } else {
            ok(sn_rtp_parse(buf, len, &rtp));
            ck_assert_uint_eq(rtp.payload_len, 160);
            ck_assert_msg(strncmp((const char *)rtp.payload, tag, strlen(tag)) == 0,
                          "payload %.20s, want %s", rtp.payload, tag);
        }
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

/* Drive the ctx until it has been idle for 50 ms. */
static void settle(sipnat_ctx *ctx)
{
    uint64_t end = now_ms() + 2000;
    struct pollfd pfd = {.fd = sipnat_ctx_get_fd(ctx), .events = POLLIN};

    while (now_ms() < end) {
        int t = -1;
        sipnat_ctx_get_timeout(ctx, &t);
        if (t < 0 || t > 50)
            t = 50;
        int r = poll(&pfd, 1, t);
        sipnat_ctx_process(ctx);
        if (r == 0 && t == 50)
            break;
    }
}

typedef struct events {
    int n_latched, n_srtp_failed;
} events;

static void on_event(const sipnat_event *ev, void *user_data)
{
    events *e = user_data;

    ck_assert_int_eq(ev->type, SIPNAT_EVENT_MEDIA);
    if (ev->state == SIPNAT_MEDIA_LATCHED)
        e->n_latched++;
    else if (ev->state == SIPNAT_MEDIA_SRTP_FAILED) {
        ck_assert_str_eq(ev->phrase, "SRTP authentication failing");
        e->n_srtp_failed++;
    }
}

/* X <-> A == B <-> Y; each leg SRTP with `sx` / `sy`, or plain. */
typedef struct call {
    sipnat_ctx *ctx;
    sipnat_anchor_cfg *cfg;
    events ev;
    peer x, y, evil;
    sipnat_anchor *a, *b;
    int pa, pb;
} call;

static sipnat_anchor_stats stats(const sipnat_anchor *a)
{
    sipnat_anchor_stats st = {.size = sizeof st};
    ok(sipnat_anchor_get_stats(a, &st));
    return st;
}

static void call_open(call *c, sn_srtp_suite sx, sn_srtp_suite sy, bool latch)
{
    char addr[SIPNAT_ADDRSTRLEN];

    memset(c, 0, sizeof *c);
    ok(sipnat_ctx_new(&c->ctx));
    ok(sipnat_anchor_cfg_new(&c->cfg));
    ok(sipnat_anchor_cfg_set_bind(c->cfg, "127.0.0.1"));
    ok(sipnat_anchor_cfg_set_port_range(c->cfg, PORT_MIN, PORT_MAX));
    ok(sipnat_anchor_cfg_set_event_func(c->cfg, on_event, &c->ev));
    peer_open(&c->x, sx);
    peer_open(&c->y, sy);
    peer_open(&c->evil, SN_SRTP_NONE);
    ok(sipnat_anchor_new(&c->a, c->ctx, c->cfg));
    ok(sipnat_anchor_new(&c->b, c->ctx, c->cfg));
    ok(sipnat_anchor_get_local(c->a, addr, &c->pa));
    ok(sipnat_anchor_get_local(c->b, addr, &c->pb));
    if (sx)
        ok(anchor_key(c->a, &c->x));
    if (sy)
        ok(anchor_key(c->b, &c->y));
    ok(sipnat_anchor_set_remote(c->a, "127.0.0.1", c->x.port, c->x.port));
    ok(sipnat_anchor_set_remote(c->b, "127.0.0.1", c->y.port, c->y.port));
    ok(sipnat_anchor_bridge(c->a, c->b));
    if (!latch)
        return;
    for (uint16_t s = 0; s < 4; s++) {
        peer_rtp(&c->x, c->pa, s, 0xAAAA, "x-latch", NULL);
        peer_rtp(&c->y, c->pb, s, 0xBBBB, "y-latch", NULL);
    }
    settle(c->ctx);
    ck_assert_int_eq(stats(c->a).latched, 1);
    ck_assert_int_eq(stats(c->b).latched, 1);
    ck_assert_int_eq(peer_recv(&c->x, "y-latch", false), 1);
    ck_assert_int_eq(peer_recv(&c->y, "x-latch", false), 1);
}

static void call_close(call *c)
{
    sipnat_anchor_unref(c->a);
    sipnat_anchor_unref(c->b);
    peer_close(&c->x);
    peer_close(&c->y);
    peer_close(&c->evil);
    sipnat_anchor_cfg_free(c->cfg);
    sipnat_ctx_unref(c->ctx);
}

/* Bytes of SRTP authentication tag (RFC 3711, RFC 7714). */
static size_t tag_len(sn_srtp_suite s)
{
    return s == SN_SRTP_NONE ? 0 : s == SN_SRTP_AES_CM_128_HMAC_SHA1_32 ? 4
         : s == SN_SRTP_AES_CM_128_HMAC_SHA1_80 ? 10 : 16;
}

/* Traffic both ways, RTP and RTCP, payloads intact at the far end. */
static void both_ways(sn_srtp_suite sx, sn_srtp_suite sy)
{
    call c;

    call_open(&c, sx, sy, true);
    for (uint16_t s = 4; s < 44; s++)
        peer_rtp(&c.x, c.pa, s, 0xAAAA, "x->y", NULL);
    for (uint16_t s = 4; s < 24; s++)
        peer_rtp(&c.y, c.pb, s, 0xBBBB, "y->x", NULL);
    settle(c.ctx);
    ck_assert_int_eq(peer_recv(&c.y, "x->y", false), 40);
    ck_assert_int_eq(peer_recv(&c.x, "y->x", false), 20);
    peer_rr(&c.x, c.pa + 1, 0xAAAA);
    peer_rr(&c.y, c.pb + 1, 0xBBBB);
    settle(c.ctx);
    ck_assert_int_eq(peer_recv(&c.y, "", true), 1);
    ck_assert_int_eq(peer_recv(&c.x, "", true), 1);

    sipnat_anchor_stats sa = stats(c.a), sb = stats(c.b);
    ck_assert_uint_eq(sa.rx_packets, 41);
    ck_assert_uint_eq(sb.tx_packets, 41);
    ck_assert_uint_eq(sb.rx_packets, 21);
    ck_assert_uint_eq(sa.tx_packets, 21);
    ck_assert_uint_eq(sa.rx_rtcp_packets, 1);
    ck_assert_uint_eq(sb.tx_rtcp_packets, 1);
    ck_assert_uint_eq(sa.dropped_srtp_auth + sb.dropped_srtp_auth, 0);
    ck_assert_uint_eq(sa.dropped_srtp_replay + sb.dropped_srtp_replay, 0);
    ck_assert_uint_eq(sa.tx_srtp_failed + sb.tx_srtp_failed, 0);
    /* Wire sizes: 172 bytes of RTP, plus the tag on SRTP legs. */
    ck_assert_uint_eq(sa.rx_bytes, 41 * (172 + tag_len(sx)));
    ck_assert_uint_eq(sb.tx_bytes, 41 * (172 + tag_len(sy)));
    ck_assert_uint_eq(sb.rx_bytes, 21 * (172 + tag_len(sy)));
    ck_assert_uint_eq(sa.tx_bytes, 21 * (172 + tag_len(sx)));
    call_close(&c);
}

START_TEST(test_anchor_srtp_to_srtp)
{
    both_ways(SN_SRTP_AES_CM_128_HMAC_SHA1_80, SN_SRTP_AES_CM_128_HMAC_SHA1_80);
    both_ways(SN_SRTP_AES_CM_128_HMAC_SHA1_32, SN_SRTP_AES_CM_128_HMAC_SHA1_80);
    if (sn_srtp_suite_available(SN_SRTP_AEAD_AES_128_GCM))
        both_ways(SN_SRTP_AEAD_AES_128_GCM, SN_SRTP_AES_CM_128_HMAC_SHA1_32);
    if (sn_srtp_suite_available(SN_SRTP_AEAD_AES_256_GCM))
        both_ways(SN_SRTP_AEAD_AES_256_GCM, SN_SRTP_AEAD_AES_256_GCM);
}
END_TEST

START_TEST(test_anchor_srtp_to_rtp)
{
    both_ways(SN_SRTP_AES_CM_128_HMAC_SHA1_80, SN_SRTP_NONE);
    both_ways(SN_SRTP_NONE, SN_SRTP_AES_CM_128_HMAC_SHA1_80);
}
END_TEST

/* Payload types renumbered between a plain leg (telephone-event 101) and
 * an SRTP leg (96): the byte is rewritten before the packet is protected,
 * so the far end authenticates it and sees its own number. */
static void send_pt(const peer *p, int port, uint8_t pt, uint16_t seq, uint32_t ssrc)
{
    uint8_t buf[SN_RTP_HEADER + 4 + SN_SRTP_TAILROOM] = {0};
    size_t n = SN_RTP_HEADER + 4;

    sn_rtp_write_header(buf, pt, false, seq, 4000, ssrc);
    buf[SN_RTP_HEADER] = 7; /* event 7, no end, volume 0 */
    if (p->tx)
        ok(sn_srtp_protect(p->tx, buf, &n, false));
    send_raw(p, port, buf, n);
}

static int recv_pt(const peer *p)
{
    uint8_t buf[2048];
    ssize_t r = recv(p->fd, buf, sizeof buf, 0);
    size_t len;
    sn_rtp rtp;

    ck_assert_int_gt(r, 0);
    len = (size_t)r;
    if (p->rx)
        ok(sn_srtp_unprotect(p->rx, buf, &len, false));
    ok(sn_rtp_parse(buf, len, &rtp));
    ck_assert_uint_eq(rtp.payload[0], 7);
    return rtp.pt;
}

START_TEST(test_anchor_srtp_pt_map)
{
    call c;

    call_open(&c, SN_SRTP_NONE, SN_SRTP_AES_CM_128_HMAC_SHA1_80, true);
    ok(sipnat_anchor_set_codec(c.a, 0, "PCMU", 101, 20));
    ok(sipnat_anchor_set_codec(c.b, 0, "PCMU", 96, 20));
    send_pt(&c.x, c.pa, 101, 4, 0xAAAA);
    send_pt(&c.y, c.pb, 96, 4, 0xBBBB);
    settle(c.ctx);
    ck_assert_int_eq(recv_pt(&c.y), 96);
    ck_assert_int_eq(recv_pt(&c.x), 101);
    ck_assert_uint_eq(stats(c.b).tx_srtp_failed, 0);
    ck_assert_uint_eq(stats(c.b).dropped_srtp_auth, 0);
    call_close(&c);
}
END_TEST

START_TEST(test_anchor_srtp_attacks)
{
    call c;
    uint8_t wire[SN_RTP_HEADER + 160 + SN_SRTP_TAILROOM];
    size_t n;

    call_open(&c, SN_SRTP_AES_CM_128_HMAC_SHA1_80, SN_SRTP_NONE, true);
    /* A real packet, relayed once. */
    n = peer_rtp(&c.x, c.pa, 4, 0xAAAA, "real", wire);
    settle(c.ctx);
    ck_assert_int_eq(peer_recv(&c.y, "real", false), 1);
    /* Its replay, from the peer and from a stranger. */
    send_raw(&c.x, c.pa, wire, n);
    send_raw(&c.evil, c.pa, wire, n);
    /* A forged tag on the next sequence number. */
    n = peer_rtp(&c.evil, c.pa, 5, 0xAAAA, "forged", wire);
    memset(wire + n, 0xA5, 10);
    send_raw(&c.evil, c.pa, wire, n + 10);
    /* The peer's own packet with its tag flipped. */
    wire[0] = 0;
    n = peer_rtp(&c.x, c.pa, 6, 0xAAAA, "x", NULL);
    (void)n;
    settle(c.ctx);
    ck_assert_int_eq(peer_recv(&c.y, "x 6", false), 1);
    {
        uint8_t buf[SN_RTP_HEADER + 160 + SN_SRTP_TAILROOM];
        size_t m = SN_RTP_HEADER + 160;
        sn_rtp_write_header(buf, 0, false, 7, 7 * 160u, 0xAAAA);
        memset(buf + SN_RTP_HEADER, 'e', 160);
        ok(sn_srtp_protect(c.x.tx, buf, &m, false));
        buf[m - 1] ^= 0x80;
        send_raw(&c.x, c.pa, buf, m);
        /* A plausible stranger on its own SSRC, sequence in order. */
        for (uint16_t s = 0; s < 8; s++)
            peer_rtp(&c.evil, c.pa, s, 0xE111, "evil", NULL);
        /* And a short SRTCP packet from the stranger. */
        uint8_t rr[8 + 14] = {0x80, 201, 0, 1, 0, 0, 0xAA, 0xAA};
        send_raw(&c.evil, c.pa + 1, rr, sizeof rr);
    }
    settle(c.ctx);
    ck_assert_int_eq(peer_recv(&c.y, "", false), 0);
    ck_assert_int_eq(peer_recv(&c.y, "", true), 0);
    sipnat_anchor_stats sa = stats(c.a);
    /* The stranger's replay, forgeries (plain, and with a made-up tag)
     * and stream never reached the crypto: dropped on their source. */
    ck_assert_uint_eq(sa.dropped_srtp_replay, 1);
    ck_assert_uint_eq(sa.dropped_foreign, 1 + 2 + 8);
    ck_assert_uint_eq(sa.dropped_srtp_auth, 1);
    ck_assert_uint_eq(sa.dropped_srtp_auth_foreign, 0);
    ck_assert_uint_eq(sa.dropped_learning, 3);
    ck_assert_uint_eq(sa.rx_packets, 1 + 2);
    ck_assert_uint_eq(stats(c.b).tx_packets, 1 + 2);
    ck_assert_str_eq(sa.latched_address, "127.0.0.1");
    ck_assert_int_eq(sa.latched_port, c.x.port);
    ck_assert_int_eq(c.ev.n_srtp_failed, 0);
    call_close(&c);
}
END_TEST

START_TEST(test_anchor_srtp_wrong_key)
{
    call c;
    sn_crypto_key wrong;

    call_open(&c, SN_SRTP_AES_CM_128_HMAC_SHA1_80, SN_SRTP_NONE, false);
    /* The peer sends with a key the anchor was not given. */
    sn_srtp_free(c.x.tx);
    ok(sn_crypto_key_random(&wrong, 1, SN_SRTP_AES_CM_128_HMAC_SHA1_80));
    ok(sn_srtp_new(&c.x.tx, &wrong, false));
    for (uint16_t s = 0; s < 40; s++)
        peer_rtp(&c.x, c.pa, s, 0xAAAA, "x", NULL);
    settle(c.ctx);
    sipnat_anchor_stats sa = stats(c.a);
    ck_assert_int_eq(sa.latched, 0);
    ck_assert_uint_eq(sa.rx_packets, 0);
    ck_assert_uint_eq(sa.dropped_learning, 0);
    ck_assert_uint_eq(sa.dropped_srtp_auth, 40);
    ck_assert_int_eq(peer_recv(&c.y, "", false), 0);
    /* Reported once for the run. */
    ck_assert_int_eq(c.ev.n_srtp_failed, 1);
    ck_assert_int_eq(c.ev.n_latched, 0);
    /* Keyed right (the same key the peer uses now): it latches, and a
     * later run of failures is reported again. */
    char tx[SN_CRYPTO_ATTR_MAX], rx[SN_CRYPTO_ATTR_MAX];
    ck_assert_int_gt(sn_crypto_format_attr(&c.x.krx, tx, sizeof tx), 0);
    ck_assert_int_gt(sn_crypto_format_attr(&wrong, rx, sizeof rx), 0);
    ok(sipnat_anchor_set_srtp(c.a, tx, rx));
    for (uint16_t s = 40; s < 44; s++)
        peer_rtp(&c.x, c.pa, s, 0xAAAA, "x", NULL);
    settle(c.ctx);
    ck_assert_int_eq(stats(c.a).latched, 1);
    ck_assert_int_eq(c.ev.n_latched, 1);
    ok(sipnat_anchor_set_srtp(c.a, rx, tx)); /* swapped: the peer's key fails again */
    for (uint16_t s = 44; s < 44 + SN_SRTP_FAIL_REPORT; s++)
        peer_rtp(&c.x, c.pa, s, 0xAAAA, "x", NULL);
    settle(c.ctx);
    ck_assert_int_eq(c.ev.n_srtp_failed, 2);
    call_close(&c);
}
END_TEST

/* n forged SRTP packets of the peer's stream (its SSRC, the sequence
 * numbers it will use, a made-up tag) from p. */
static void forge(const peer *p, int port, uint16_t seq0, unsigned n, bool rtcp)
{
    for (unsigned i = 0; i < n; i++) {
        uint8_t buf[SN_RTP_HEADER + 160 + 10];
        if (rtcp) {
            uint8_t rr[8 + 4 + 10] = {0x80, 201, 0, 1, 0, 0, 0xAA, 0xAA, 0x80, 0, 0, (uint8_t)i};
            send_raw(p, port, rr, sizeof rr);
            continue;
        }
        sn_rtp_write_header(buf, 0, false, (uint16_t)(seq0 + i), (seq0 + i) * 160u, 0xAAAA);
        for (unsigned j = SN_RTP_HEADER; j < sizeof buf; j++)
            buf[j] = (uint8_t)(j * 31 + i);
        send_raw(p, port, buf, sizeof buf);
    }
}

/* A stranger spraying forged SRTP at the anchor's port must not
 * end the call. Strangers on other hosts are dropped on their address
 * before the crypto, in and out of a learning window; one on the peer's
 * host while a window is open is authenticated, fails, and is counted
 * apart. The call keeps its audio both ways all along, and a wrong key
 * from the peer itself is still reported. */
START_TEST(test_anchor_srtp_stranger)
{
    call c;
    peer far, near;
    uint16_t seq = 0;
    sipnat_anchor_stats sa;

    call_open(&c, SN_SRTP_AES_CM_128_HMAC_SHA1_80, SN_SRTP_AES_CM_128_HMAC_SHA1_80, false);
    peer_open_at(&far, SN_SRTP_NONE, "127.0.0.2");
    peer_open(&near, SN_SRTP_NONE);
    /* As sessions do: only the signalled host may latch. */
    ok(sipnat_anchor_restrict_sources(c.a, NULL));
    ok(sipnat_anchor_restrict_sources(c.b, NULL));
    /* Before the peer's first packet, and between its packets. */
    forge(&far, c.pa, 0, 40, false);
    for (; seq < 4; seq++) {
        forge(&far, c.pa, seq, 8, false);
        peer_rtp(&c.x, c.pa, seq, 0xAAAA, "x", NULL);
        peer_rtp(&c.y, c.pb, seq, 0xBBBB, "y", NULL);
    }
    settle(c.ctx);
    sa = stats(c.a);
    ck_assert_int_eq(sa.latched, 1);
    ck_assert_int_eq(sa.latched_port, c.x.port);
    ck_assert_uint_eq(sa.dropped_foreign, 40 + 32);
    ck_assert_uint_eq(sa.dropped_srtp_auth, 0);
    ck_assert_int_eq(peer_recv(&c.y, "x", false), 1);
    ck_assert_int_eq(peer_recv(&c.x, "y", false), 1);
    /* During the call: both strangers, RTP and SRTCP, many times the
     * 16 failures that would end it. */
    for (int round = 0; round < 10; round++, seq++) {
        forge(&far, c.pa, seq, 20, false);
        forge(&near, c.pa, seq, 20, false);
        forge(&near, c.pa + 1, 0, 2, true);
        peer_rtp(&c.x, c.pa, seq, 0xAAAA, "x", NULL);
        peer_rtp(&c.y, c.pb, seq, 0xBBBB, "y", NULL);
        settle(c.ctx); /* within the sockets' buffers */
    }
    /* All RTP of both dropped on its source; the near one's SRTCP, from
     * the latched host before the peer's RTCP latched, is checked and
     * fails as a stranger's. */
    sa = stats(c.a);
    ck_assert_uint_eq(sa.dropped_foreign, 72 + 10 * 40);
    ck_assert_uint_eq(sa.dropped_srtp_auth, 10 * 2);
    ck_assert_uint_eq(sa.dropped_srtp_auth_foreign, 10 * 2);
    ck_assert_int_eq(peer_recv(&c.y, "x", false), 10);
    ck_assert_int_eq(peer_recv(&c.x, "y", false), 10);
    /* The peer's RTCP latches (the near stranger's SRTCP is dropped on
     * its source from then on); a new learning window (the signalling
     * named the address again) lets the near stranger's RTP through to
     * the crypto, where it fails as a stranger's. */
    peer_rr(&c.x, c.pa + 1, 0xAAAA);
    settle(c.ctx);
    ck_assert_int_eq(peer_recv(&c.y, "", true), 1);
    ok(sipnat_anchor_set_remote(c.a, "127.0.0.1", c.x.port, c.x.port));
    for (int round = 0; round < 5; round++, seq++) {
        forge(&near, c.pa, seq, 20, false);
        forge(&near, c.pa + 1, 0, 4, true);
        forge(&far, c.pa, seq, 20, false);
        peer_rtp(&c.x, c.pa, seq, 0xAAAA, "x", NULL);
        peer_rtp(&c.y, c.pb, seq, 0xBBBB, "y", NULL);
        settle(c.ctx);
    }
    sa = stats(c.a);
    ck_assert_uint_eq(sa.dropped_srtp_auth, 20 + 5 * 20);
    ck_assert_uint_eq(sa.dropped_srtp_auth_foreign, 20 + 5 * 20);
    ck_assert_uint_eq(sa.dropped_foreign, 72 + 400 + 5 * (20 + 4));
    ck_assert_int_eq(sa.latched_port, c.x.port);
    ck_assert_uint_eq(sa.rx_rtcp_packets, 1);
    ck_assert_int_eq(peer_recv(&c.y, "x", false), 5);
    ck_assert_int_eq(peer_recv(&c.x, "y", false), 5);
    ck_assert_int_eq(c.ev.n_srtp_failed, 0);
    ck_assert_uint_eq(stats(c.b).dropped_srtp_auth + stats(c.b).dropped_foreign, 0);

    /* The peer itself with a wrong key: reported once. */
    sn_crypto_key wrong;
    sn_srtp_free(c.x.tx);
    ok(sn_crypto_key_random(&wrong, 1, SN_SRTP_AES_CM_128_HMAC_SHA1_80));
    ok(sn_srtp_new(&c.x.tx, &wrong, false));
    for (unsigned i = 0; i < SN_SRTP_FAIL_REPORT; i++, seq++)
        peer_rtp(&c.x, c.pa, seq, 0xAAAA, "x", NULL);
    settle(c.ctx);
    ck_assert_int_eq(c.ev.n_srtp_failed, 1);
    ck_assert_uint_eq(stats(c.a).dropped_srtp_auth_foreign, 20 + 5 * 20);
    peer_close(&far);
    peer_close(&near);
    call_close(&c);
}
END_TEST

START_TEST(test_anchor_srtp_invalid)
{
    call c;
    char good[SN_CRYPTO_ATTR_MAX], gcm[SN_CRYPTO_ATTR_MAX];
    sn_crypto_key k;

    call_open(&c, SN_SRTP_NONE, SN_SRTP_NONE, false);
    ok(sn_crypto_key_random(&k, 1, SN_SRTP_AES_CM_128_HMAC_SHA1_80));
    ck_assert_int_gt(sn_crypto_format_attr(&k, good, sizeof good), 0);
    ok(sn_crypto_key_random(&k, 1, SN_SRTP_AEAD_AES_128_GCM));
    ck_assert_int_gt(sn_crypto_format_attr(&k, gcm, sizeof gcm), 0);
    ck_assert_int_eq(sipnat_anchor_set_srtp(NULL, good, good), -EINVAL);
    ck_assert_int_eq(sipnat_anchor_set_srtp(c.a, good, NULL), -EINVAL);
    ck_assert_int_eq(sipnat_anchor_set_srtp(c.a, NULL, good), -EINVAL);
    ck_assert_int_eq(sipnat_anchor_set_srtp(c.a, good, "1 AES_CM_128_HMAC_SHA1_80 inline:x"),
                     -EINVAL);
    ck_assert_int_eq(sipnat_anchor_set_srtp(c.a, good, "1 AES_CM_128_HMAC_SHA1_80 inline:"
                                                       KEY80 "|1:4"), -ENOTSUP);
    /* One suite per leg. */
    ck_assert_int_eq(sipnat_anchor_set_srtp(c.a, good, gcm), -EINVAL);
    ok(sipnat_anchor_set_srtp(c.a, good, good));
    ok(sipnat_anchor_set_srtp(c.a, good, good)); /* the same again: kept */
    ok(sipnat_anchor_set_srtp(c.a, NULL, NULL)); /* plain again */
    call_close(&c);
}
END_TEST


/* -- offer/answer with a=crypto -------------------------------------------- */

static void prefs_sdes(sn_media_prefs *p, bool sdes, bool optimistic)
{
    sn_media_prefs_default(p);
    p->sdes = sdes;
    p->optimistic = optimistic;
    ok(sn_crypto_key_random(&p->keys[0], 0, SN_SRTP_AES_CM_128_HMAC_SHA1_80));
    ok(sn_crypto_key_random(&p->keys[1], 0, SN_SRTP_AES_CM_128_HMAC_SHA1_32));
    p->n_keys = 2;
}

static sn_local_addr local_at(const char *ip, uint16_t port)
{
    sn_local_addr l = {.rtp_port = port};
    ok(sn_addr_parse(ip, &l.addr));
    return l;
}

static bool same(const sn_crypto_key *a, const sn_crypto_key *b)
{
    return a->suite == b->suite && a->key_len == b->key_len &&
           memcmp(a->key, b->key, a->key_len) == 0;
}

START_TEST(test_oa_savp)
{
    static sn_sdesc offer, answer;
    sn_media_prefs pa, pb;
    sn_local_addr la = local_at("192.0.2.1", 4000), lb = local_at("192.0.2.2", 5000);
    sn_negotiated na, nb;

    prefs_sdes(&pa, true, false);
    prefs_sdes(&pb, true, false);
    ok(sn_mdesc_offer(&pa, &la, SN_DIR_SENDRECV, &offer));
    ck_assert_int_eq(offer.m[0].proto, SN_PROTO_RTP_SAVP);
    ck_assert_str_eq(sn_sdesc_str(&offer, offer.m[0].proto_name), "RTP/SAVP");
    ck_assert_uint_eq(offer.m[0].n_crypto, 2);
    ck_assert_uint_eq(offer.m[0].crypto[1].tag, 2);
    ck_assert_str_eq(sn_sdesc_str(&offer, offer.m[0].crypto[1].suite), "AES_CM_128_HMAC_SHA1_32");
    /* The answerer prefers _32 only: answered under the offer's tag 2. */
    pb.keys[0] = pb.keys[1];
    pb.n_keys = 1;
    ok(sn_mdesc_answer(&offer, &pb, &lb, SN_DIR_SENDRECV, &answer));
    ck_assert_int_eq(answer.m[0].proto, SN_PROTO_RTP_SAVP);
    ck_assert_str_eq(sn_sdesc_str(&answer, answer.m[0].proto_name), "RTP/SAVP");
    ck_assert_uint_eq(answer.m[0].n_crypto, 1);
    ck_assert_uint_eq(answer.m[0].crypto[0].tag, 2);
    ok(sn_mdesc_result(&answer, &offer, &nb));
    ok(sn_mdesc_accept_answer(&offer, &answer, &na));
    ck_assert(na.srtp && nb.srtp);
    ck_assert(same(&na.tx_key, &pa.keys[1]));
    ck_assert(same(&nb.tx_key, &pb.keys[0]));
    ck_assert(same(&na.rx_key, &nb.tx_key));
    ck_assert(same(&nb.rx_key, &na.tx_key));
    /* A plain answerer cannot take RTP/SAVP: 488. */
    prefs_sdes(&pb, false, false);
    ck_assert_int_eq(sn_mdesc_answer(&offer, &pb, &lb, SN_DIR_SENDRECV, &answer), -ENOTSUP);
    /* Neither can one with no key of an offered suite. */
    prefs_sdes(&pb, true, false);
    ok(sn_crypto_key_random(&pb.keys[0], 0, SN_SRTP_AEAD_AES_256_GCM));
    pb.n_keys = 1;
    ck_assert_int_eq(sn_mdesc_answer(&offer, &pb, &lb, SN_DIR_SENDRECV, &answer), -ENOTSUP);
    /* An answer to our SAVP offer without a=crypto is unusable. */
    prefs_sdes(&pb, true, false);
    ok(sn_mdesc_answer(&offer, &pb, &lb, SN_DIR_SENDRECV, &answer));
    answer.m[0].n_crypto = 0;
    ck_assert_int_eq(sn_mdesc_accept_answer(&offer, &answer, &na), -ENOTSUP);
}
END_TEST

START_TEST(test_oa_optimistic)
{
    static sn_sdesc offer, answer;
    sn_media_prefs pa, pb;
    sn_local_addr la = local_at("192.0.2.1", 4000), lb = local_at("192.0.2.2", 5000);
    sn_negotiated na, nb;

    prefs_sdes(&pa, true, true);
    ok(sn_mdesc_offer(&pa, &la, SN_DIR_SENDRECV, &offer));
    ck_assert_int_eq(offer.m[0].proto, SN_PROTO_RTP_AVP);
    ck_assert_uint_eq(offer.m[0].n_crypto, 2);
    /* A plain answerer ignores the keys: plain RTP both sides. */
    prefs_sdes(&pb, false, false);
    ok(sn_mdesc_answer(&offer, &pb, &lb, SN_DIR_SENDRECV, &answer));
    ck_assert_uint_eq(answer.m[0].n_crypto, 0);
    ok(sn_mdesc_accept_answer(&offer, &answer, &na));
    ck_assert(!na.srtp);
    /* An optimistic answerer takes them: RTP/AVP with a=crypto. */
    prefs_sdes(&pb, true, true);
    ok(sn_mdesc_answer(&offer, &pb, &lb, SN_DIR_SENDRECV, &answer));
    ck_assert_int_eq(answer.m[0].proto, SN_PROTO_RTP_AVP);
    ck_assert_uint_eq(answer.m[0].n_crypto, 1);
    ck_assert_uint_eq(answer.m[0].crypto[0].tag, 1);
    ok(sn_mdesc_accept_answer(&offer, &answer, &na));
    ok(sn_mdesc_result(&answer, &offer, &nb));
    ck_assert(na.srtp && nb.srtp);
    ck_assert(same(&na.rx_key, &pb.keys[0]));
    ck_assert(same(&nb.rx_key, &pa.keys[0]));
    /* A strict SDES answerer refuses a plain offer, takes RTP/AVP with
     * a=crypto only when optimistic. */
    prefs_sdes(&pa, false, false);
    ok(sn_mdesc_offer(&pa, &la, SN_DIR_SENDRECV, &offer));
    prefs_sdes(&pb, true, false);
    ck_assert_int_eq(sn_mdesc_answer(&offer, &pb, &lb, SN_DIR_SENDRECV, &answer), -ENOTSUP);
    prefs_sdes(&pb, true, true);
    ok(sn_mdesc_answer(&offer, &pb, &lb, SN_DIR_SENDRECV, &answer));
    ck_assert_uint_eq(answer.m[0].n_crypto, 0);
}
END_TEST

/* Every malformed or refused a=crypto line of an offer is skipped; an
 * offer with nothing else is answered 488. */
START_TEST(test_oa_bad_crypto)
{
    static const char *const bad[] = {
        "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVB!",
        "inline:PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtx",
        "inline:" KEY80 "|2^49",
        "inline:" KEY80 "|1:4",
        "inline:" KEY80 "|2^20|1:4;inline:" KEY80 "|2^20|2:4",
        KEY80,
        "inline:" KEY80 " UNENCRYPTED_SRTCP",
        "",
    };
    static sn_sdesc offer, answer;
    sn_media_prefs pa, pb;
    sn_local_addr la = local_at("192.0.2.1", 4000), lb = local_at("192.0.2.2", 5000);

    prefs_sdes(&pa, true, false);
    prefs_sdes(&pb, true, false);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ok(sn_mdesc_offer(&pa, &la, SN_DIR_SENDRECV, &offer));
        sn_mline *m = &offer.m[0];
        ok(sn_sdesc_intern(&offer, &m->crypto[0].params, bad[i], strlen(bad[i])));
        m->n_crypto = 1;
        ck_assert_msg(sn_mdesc_answer(&offer, &pb, &lb, SN_DIR_SENDRECV, &answer) == -ENOTSUP,
                      "case %zu", i);
        /* With a good line after it, that one is taken. */
        m->n_crypto = 2;
        ok(sn_mdesc_answer(&offer, &pb, &lb, SN_DIR_SENDRECV, &answer));
        ck_assert_uint_eq(answer.m[0].crypto[0].tag, 2);
    }
    /* An unknown suite too. */
    ok(sn_mdesc_offer(&pa, &la, SN_DIR_SENDRECV, &offer));
    ok(sn_sdesc_intern(&offer, &offer.m[0].crypto[0].suite, "F8_128_HMAC_SHA1_80", 19));
    offer.m[0].n_crypto = 1;
    ck_assert_int_eq(sn_mdesc_answer(&offer, &pb, &lb, SN_DIR_SENDRECV, &answer), -ENOTSUP);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("srtp");
    TCase *tc = tcase_create("crypto");
    TCase *ta = tcase_create("anchor");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, test_crypto_parse_good);
    tcase_add_test(tc, test_crypto_parse_bad);
    tcase_add_test(tc, test_srtp_suites);
    tcase_add_test(tc, test_srtp_round_trip);
    tcase_add_test(tc, test_oa_savp);
    tcase_add_test(tc, test_oa_optimistic);
    tcase_add_test(tc, test_oa_bad_crypto);
    suite_add_tcase(s, tc);

    tcase_set_timeout(ta, 30);
    tcase_add_test(ta, test_anchor_srtp_to_srtp);
    tcase_add_test(ta, test_anchor_srtp_to_rtp);
    tcase_add_test(ta, test_anchor_srtp_pt_map);
    tcase_add_test(ta, test_anchor_srtp_attacks);
    tcase_add_test(ta, test_anchor_srtp_wrong_key);
    tcase_add_test(ta, test_anchor_srtp_stranger);
    tcase_add_test(ta, test_anchor_srtp_invalid);
    suite_add_tcase(s, ta);
    suite_add_tcase(s, srtp_crypto_tcase());

    sr = srunner_create(s);
    srunner_run_all(sr, CK_VERBOSE);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
