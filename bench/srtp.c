/* libsipnat benchmark - SRTP relay through two bridged anchors against
 * raw libsrtp2 in the same run. Build and run on demand:
 *   make bench/srtp && ./bench/srtp [packets] [suite]
 * X sends SRTP (160-byte G.711 payloads) to anchor A, bridged to B, which
 * sends it on protected with another key to Y. Only the time spent in
 * sipnat_ctx_process() is counted (recvmmsg, unprotect, latching,
 * protect, sendmmsg), for the same traffic with SRTP on both legs and
 * with plain RTP (the bare relay), then a loop of libsrtp2 protect plus
 * unprotect of the same packets. The target: the SRTP relay's cost per
 * packet within 10 % of the plain relay plus one protect/unprotect pair. */
#include "config.h"

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

#include "media/crypto_attr.h"
#include "media/rtp.h"
#include "media/srtp.h"

#define BATCH 32
#define PAYLOAD 160

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int udp(int *port)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sin;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    int big = 4 << 20;

    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof sin) < 0 ||
        getsockname(fd, (struct sockaddr *)&sin, &len) < 0) {
        perror("socket");
        exit(1);
    }
    *port = ntohs(sin.sin_port);
    return fd;
}

static void die(const char *what, int r)
{
    if (r < 0) {
        fprintf(stderr, "%s: %s\n", what, sipnat_strerror(r));
        exit(1);
    }
}

/* Relay `n` packets X -> A == B -> Y; returns ns spent in process. */
static double relay(unsigned n, sn_srtp_suite suite, unsigned *delivered)
{
    sipnat_ctx *ctx;
    sipnat_anchor_cfg *cfg;
    sipnat_anchor *a, *b;
    char addr[SIPNAT_ADDRSTRLEN], kx[SN_CRYPTO_ATTR_MAX], ka[SN_CRYPTO_ATTR_MAX],
        ky[SN_CRYPTO_ATTR_MAX], kb[SN_CRYPTO_ATTR_MAX];
    sn_crypto_key x_tx, a_tx, y_rx, b_tx;
    sn_srtp *xs = NULL;
    int px, py, pa, pb;
    int fx = udp(&px), fy = udp(&py);
    uint64_t spent = 0;
    uint8_t buf[2048];

    die("ctx", sipnat_ctx_new(&ctx));
    die("cfg", sipnat_anchor_cfg_new(&cfg));
    die("bind", sipnat_anchor_cfg_set_bind(cfg, "127.0.0.1"));
    die("range", sipnat_anchor_cfg_set_port_range(cfg, 46000, 46999));
    die("anchor", sipnat_anchor_new(&a, ctx, cfg));
    die("anchor", sipnat_anchor_new(&b, ctx, cfg));
    sipnat_anchor_get_local(a, addr, &pa);
    sipnat_anchor_get_local(b, addr, &pb);
    if (suite) {
        sn_crypto_key_random(&x_tx, 1, suite);
        sn_crypto_key_random(&a_tx, 1, suite);
        sn_crypto_key_random(&y_rx, 1, suite);
        sn_crypto_key_random(&b_tx, 1, suite);
        sn_crypto_format_attr(&x_tx, kx, sizeof kx);
        sn_crypto_format_attr(&a_tx, ka, sizeof ka);
        sn_crypto_format_attr(&y_rx, ky, sizeof ky);
        sn_crypto_format_attr(&b_tx, kb, sizeof kb);
        die("srtp a", sipnat_anchor_set_srtp(a, ka, kx));
        die("srtp b", sipnat_anchor_set_srtp(b, kb, ky));
        die("srtp x", sn_srtp_new(&xs, &x_tx, false));
    }
    die("remote", sipnat_anchor_set_remote(a, "127.0.0.1", px, px + 1));
    die("remote", sipnat_anchor_set_remote(b, "127.0.0.1", py, py + 1));
    die("bridge", sipnat_anchor_bridge(a, b));

    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)pa),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    *delivered = 0;
    for (unsigned sent = 0; sent < n;) {
        for (unsigned i = 0; i < BATCH && sent < n; i++, sent++) {
            size_t len = SN_RTP_HEADER + PAYLOAD;
            sn_rtp_write_header(buf, 0, false, (uint16_t)sent, sent * 160u, 0x5150);
            memset(buf + SN_RTP_HEADER, 0xd5, PAYLOAD);
            if (xs)
                sn_srtp_protect(xs, buf, &len, false);
            sendto(fx, buf, len, 0, (struct sockaddr *)&to, sizeof to);
        }
        uint64_t t0 = now_ns();
        sipnat_ctx_process(ctx);
        spent += now_ns() - t0;
        while (recv(fy, buf, sizeof buf, 0) > 0)
            (*delivered)++;
    }
    for (int i = 0; i < 5; i++) {
        uint64_t t0 = now_ns();
        sipnat_ctx_process(ctx);
        spent += now_ns() - t0;
        usleep(1000);
        while (recv(fy, buf, sizeof buf, 0) > 0)
            (*delivered)++;
    }
    sn_srtp_free(xs);
    sipnat_anchor_unref(a);
    sipnat_anchor_unref(b);
    sipnat_anchor_cfg_free(cfg);
    sipnat_ctx_unref(ctx);
    close(fx);
    close(fy);
    return (double)spent;
}

/* libsrtp2 alone: protect and unprotect n packets; ns. */
static double raw(unsigned n, sn_srtp_suite suite)
{
    sn_crypto_key k;
    sn_srtp *tx, *rx;
    uint8_t buf[SN_RTP_HEADER + PAYLOAD + SN_SRTP_TAILROOM];
    uint64_t t0;

    sn_crypto_key_random(&k, 1, suite);
    die("raw tx", sn_srtp_new(&tx, &k, false));
    die("raw rx", sn_srtp_new(&rx, &k, true));
    t0 = now_ns();
    for (unsigned i = 0; i < n; i++) {
        size_t len = SN_RTP_HEADER + PAYLOAD;
        sn_rtp_write_header(buf, 0, false, (uint16_t)i, i * 160u, 0x5150);
        memset(buf + SN_RTP_HEADER, 0xd5, PAYLOAD);
        if (sn_srtp_protect(tx, buf, &len, false) < 0 || sn_srtp_unprotect(rx, buf, &len, false) < 0) {
            fprintf(stderr, "raw: packet %u failed\n", i);
            exit(1);
        }
    }
    double ns = (double)(now_ns() - t0);
    sn_srtp_free(tx);
    sn_srtp_free(rx);
    return ns;
}

int main(int argc, char **argv)
{
    unsigned n = argc > 1 ? (unsigned)strtoul(argv[1], NULL, 10) : 200000;
    sn_srtp_suite suite = argc > 2 ? sn_srtp_suite_from_name(argv[2])
                                   : SN_SRTP_AES_CM_128_HMAC_SHA1_80;
    unsigned got_plain, got_srtp;

    if (n < 1000 || n > 60000u * 1000u || !sn_srtp_suite_available(suite)) {
        fprintf(stderr, "usage: %s [packets >= 1000] [suite available here]\n", argv[0]);
        return 2;
    }
    double plain = relay(n, SN_SRTP_NONE, &got_plain);
    double srtp = relay(n, suite, &got_srtp);
    double pair = raw(n, suite);
    double ns_plain = plain / got_plain, ns_srtp = srtp / got_srtp, ns_pair = pair / n;

    printf("suite %s, %u packets of %u bytes payload\n", sn_srtp_suite_name(suite), n, PAYLOAD);
    printf("plain relay:          %8.0f ns/packet  %9.0f packets/s (%u delivered)\n",
           ns_plain, 1e9 / ns_plain, got_plain);
    printf("SRTP relay:           %8.0f ns/packet  %9.0f packets/s (%u delivered)\n",
           ns_srtp, 1e9 / ns_srtp, got_srtp);
    printf("raw protect+unprotect:%8.0f ns/pair    %9.0f pairs/s\n", ns_pair, 1e9 / ns_pair);
    printf("SRTP relay / (plain relay + raw pair) = %.3f (target <= 1.10)\n",
           ns_srtp / (ns_plain + ns_pair));
    printf("SRTP relay added cost / raw pair      = %.3f\n", (ns_srtp - ns_plain) / ns_pair);
    return 0;
}
