/* libsipnat benchmark - SRTP: the two crypto paths under libsrtp2, the
 * SRTP relay against the plain relay, and a stranger flooding an SRTP
 * leg. Build and run on demand (see bench/README):
 *   make bench/srtp && ./bench/srtp --streams 1000
 *
 * 1. protect+unprotect pairs per second of one core (the thread's CPU
 *    clock) over N streams, each its own pair of libsrtp2 sessions, the
 *    packets round robin over the streams: with libcrypto's ciphers
 *    registered into libsrtp2 (srtp_ossl.c, the default) and with
 *    libsrtp2's own (NSS in Debian's build), in the same run.
 * 2. N streams X -> A_i == B_i -> Y through 2N bridged anchors, plain RTP
 *    and then SRTP on both legs (A_i unprotects, B_i protects with
 *    another key): the CPU time spent in sipnat_ctx_process() per
 *    delivered packet (recvmmsg, unprotect, latching, protect, sendmmsg).
 * 3. A stranger on another address (127.0.0.2) sends forged SRTP to one
 *    stream's anchor at --flood-pps while --flood-streams streams carry
 *    audio at 50 packets/s each, paced in 1 ms ticks, against the same
 *    run without the stranger: the CPU per dropped packet, and whether
 *    every audio packet still arrived.
 * Loopback only; every phase is bounded in packets and time. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sipnat/sipnat.h>

#include "media/crypto_attr.h"
#include "media/rtp.h"
#include "media/srtp.h"

#define BATCH 32
#define PAYLOAD 160
#define PORT_MIN 50000
#define PORT_MAX 59999
#define MAX_STREAMS 2000

static uint64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what, int r)
{
    if (r < 0) {
        fprintf(stderr, "%s: %s\n", what, sipnat_strerror(r));
        exit(1);
    }
}

static int udp(const char *host, int *port)
{
    struct sockaddr_in sin = {.sin_family = AF_INET};
    socklen_t len = sizeof sin;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    int big = 8 << 20;

    inet_pton(AF_INET, host, &sin.sin_addr);
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

/* ---- 1. raw protect + unprotect ------------------------------------- */

/* Pairs per second of CPU over `streams` session pairs. */
static double raw(unsigned n, unsigned streams, sn_srtp_suite suite)
{
    sn_srtp **tx = calloc(streams, sizeof *tx), **rx = calloc(streams, sizeof *rx);
    uint8_t buf[SN_RTP_HEADER + PAYLOAD + SN_SRTP_TAILROOM];
    uint64_t t0;
    double ns;

    if (!tx || !rx)
        die("raw", -ENOMEM);
    for (unsigned s = 0; s < streams; s++) {
        sn_crypto_key k;
        sn_crypto_key_random(&k, 1, suite);
        die("raw tx", sn_srtp_new(&tx[s], &k, false));
        die("raw rx", sn_srtp_new(&rx[s], &k, true));
    }
    t0 = cpu_ns();
    for (unsigned i = 0; i < n; i++) {
        unsigned s = i % streams, seq = i / streams;
        size_t len = SN_RTP_HEADER + PAYLOAD;
        sn_rtp_write_header(buf, 0, false, (uint16_t)seq, seq * 160u, 0x10000u + s);
        memset(buf + SN_RTP_HEADER, 0xd5, PAYLOAD);
        if (sn_srtp_protect(tx[s], buf, &len, false) < 0 ||
            sn_srtp_unprotect(rx[s], buf, &len, false) < 0) {
            fprintf(stderr, "raw: packet %u failed\n", i);
            exit(1);
        }
    }
    ns = (double)(cpu_ns() - t0);
    for (unsigned s = 0; s < streams; s++) {
        sn_srtp_free(tx[s]);
        sn_srtp_free(rx[s]);
    }
    free(tx);
    free(rx);
    return n / (ns / 1e9);
}

/* ---- 2. and 3. the relay ---------------------------------------------- */

typedef struct relay {
    sipnat_ctx *ctx;
    sipnat_anchor_cfg *cfg;
    unsigned streams;
    sipnat_anchor **a, **b;
    struct sockaddr_in *to; /* A_i's RTP address */
    sn_srtp **xs;           /* the sender's sessions, one per stream (one key) */
    int fx, fy;
    unsigned failed_events; /* SIPNAT_MEDIA_SRTP_FAILED seen */
    uint64_t spent;         /* CPU ns inside sipnat_ctx_process() */
    unsigned delivered;
} relay;

static void on_event(const sipnat_event *ev, void *user_data)
{
    relay *r = user_data;
    if (ev->type == SIPNAT_EVENT_MEDIA && ev->state == SIPNAT_MEDIA_SRTP_FAILED)
        r->failed_events++;
}

static void relay_open(relay *r, unsigned streams, sn_srtp_suite suite)
{
    char addr[SIPNAT_ADDRSTRLEN], kx[SN_CRYPTO_ATTR_MAX], ka[SN_CRYPTO_ATTR_MAX],
        ky[SN_CRYPTO_ATTR_MAX], kb[SN_CRYPTO_ATTR_MAX];
    sn_crypto_key x_tx, a_tx, y_rx, b_tx;
    int px, py;

    memset(r, 0, sizeof *r);
    r->streams = streams;
    r->a = calloc(streams, sizeof *r->a);
    r->b = calloc(streams, sizeof *r->b);
    r->to = calloc(streams, sizeof *r->to);
    if (!r->a || !r->b || !r->to)
        die("relay", -ENOMEM);
    r->fx = udp("127.0.0.1", &px);
    r->fy = udp("127.0.0.1", &py);
    die("ctx", sipnat_ctx_new(&r->ctx));
    die("cfg", sipnat_anchor_cfg_new(&r->cfg));
    die("bind", sipnat_anchor_cfg_set_bind(r->cfg, "127.0.0.1"));
    die("range", sipnat_anchor_cfg_set_port_range(r->cfg, PORT_MIN, PORT_MAX));
    die("events", sipnat_anchor_cfg_set_event_func(r->cfg, on_event, r));
    if (suite) {
        sn_crypto_key_random(&x_tx, 1, suite);
        sn_crypto_key_random(&a_tx, 1, suite);
        sn_crypto_key_random(&y_rx, 1, suite);
        sn_crypto_key_random(&b_tx, 1, suite);
        sn_crypto_format_attr(&x_tx, kx, sizeof kx);
        sn_crypto_format_attr(&a_tx, ka, sizeof ka);
        sn_crypto_format_attr(&y_rx, ky, sizeof ky);
        sn_crypto_format_attr(&b_tx, kb, sizeof kb);
        r->xs = calloc(streams, sizeof *r->xs);
        if (!r->xs)
            die("relay", -ENOMEM);
        /* A session per stream: one session with 1,000 SSRCs would walk
         * its stream list per packet, evicting the relay's caches. */
        for (unsigned i = 0; i < streams; i++)
            die("srtp x", sn_srtp_new(&r->xs[i], &x_tx, false));
    }
    for (unsigned i = 0; i < streams; i++) {
        int pa;
        die("anchor", sipnat_anchor_new(&r->a[i], r->ctx, r->cfg));
        die("anchor", sipnat_anchor_new(&r->b[i], r->ctx, r->cfg));
        sipnat_anchor_get_local(r->a[i], addr, &pa);
        if (suite) {
            die("srtp a", sipnat_anchor_set_srtp(r->a[i], ka, kx));
            die("srtp b", sipnat_anchor_set_srtp(r->b[i], kb, ky));
        }
        die("remote", sipnat_anchor_set_remote(r->a[i], "127.0.0.1", px, px + 1));
        die("remote", sipnat_anchor_set_remote(r->b[i], "127.0.0.1", py, py + 1));
        /* As sessions do: only the signalled host may latch. */
        die("restrict", sipnat_anchor_restrict_sources(r->a[i], NULL));
        die("bridge", sipnat_anchor_bridge(r->a[i], r->b[i]));
        r->to[i] = (struct sockaddr_in){.sin_family = AF_INET,
                                        .sin_port = htons((uint16_t)pa),
                                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    }
}

static void relay_close(relay *r)
{
    for (unsigned i = 0; r->xs && i < r->streams; i++)
        sn_srtp_free(r->xs[i]);
    free(r->xs);
    for (unsigned i = 0; i < r->streams; i++) {
        sipnat_anchor_unref(r->a[i]);
        sipnat_anchor_unref(r->b[i]);
    }
    sipnat_anchor_cfg_free(r->cfg);
    sipnat_ctx_unref(r->ctx);
    close(r->fx);
    close(r->fy);
    free(r->a);
    free(r->b);
    free(r->to);
}

static void send_audio(relay *r, unsigned stream, unsigned seq)
{
    uint8_t buf[SN_RTP_HEADER + PAYLOAD + SN_SRTP_TAILROOM];
    size_t len = SN_RTP_HEADER + PAYLOAD;

    sn_rtp_write_header(buf, 0, false, (uint16_t)seq, seq * 160u, 0x10000u + stream);
    memset(buf + SN_RTP_HEADER, 0xd5, PAYLOAD);
    if (r->xs)
        sn_srtp_protect(r->xs[stream], buf, &len, false);
    sendto(r->fx, buf, len, 0, (struct sockaddr *)&r->to[stream], sizeof r->to[stream]);
}

/* Process until the ctx has nothing ready (it takes one batch per socket
 * per round), as a host's loop would. */
static void process(relay *r)
{
    uint8_t buf[2048];
    struct pollfd p = {.fd = sipnat_ctx_get_fd(r->ctx), .events = POLLIN};
    int rounds = 0;

    do {
        uint64_t t0 = cpu_ns();
        sipnat_ctx_process(r->ctx);
        r->spent += cpu_ns() - t0;
    } while (++rounds < 64 && poll(&p, 1, 0) > 0);
    while (recv(r->fy, buf, sizeof buf, 0) > 0)
        r->delivered++;
}

static void drain(relay *r)
{
    for (int i = 0; i < 5; i++) {
        process(r);
        usleep(1000);
    }
    process(r);
}

/* n packets round robin over the streams, BATCH at a time; ns per
 * delivered packet. */
static double relay_run(unsigned n, unsigned streams, sn_srtp_suite suite, unsigned *delivered)
{
    relay r;
    double ns;

    relay_open(&r, streams, suite);
    for (unsigned sent = 0; sent < n;) {
        for (unsigned i = 0; i < BATCH && sent < n; i++, sent++)
            send_audio(&r, sent % streams, sent / streams);
        process(&r);
    }
    drain(&r);
    *delivered = r.delivered;
    ns = r.delivered ? (double)r.spent / r.delivered : 0;
    relay_close(&r);
    return ns;
}

typedef struct flood_result {
    double cpu_ns;       /* in process(), whole run */
    unsigned audio_sent, delivered, forged_sent;
    uint64_t dropped;    /* on the flooded anchor: foreign + failed auth */
    uint64_t auth_failed;
    unsigned failed_events;
} flood_result;

/* `streams` streams of audio at 50 packets/s for `seconds`; with pps > 0
 * a stranger sends forged SRTP (the real stream's SSRC, random
 * sequence, payload and tag) to stream 0's anchor at pps. */
static void flood_run(unsigned streams, unsigned seconds, unsigned pps, flood_result *out)
{
    relay r;
    int ps;
    int fs = udp("127.0.0.2", &ps);
    unsigned ticks = seconds * 1000, seq = 0;
    uint64_t start = mono_ns();
    uint8_t forged[SN_RTP_HEADER + PAYLOAD + 10];
    sipnat_anchor_stats st = {.size = sizeof st};

    relay_open(&r, streams, SN_SRTP_AES_CM_128_HMAC_SHA1_80);
    memset(out, 0, sizeof *out);
    srand(1);
    for (unsigned t = 0; t < ticks; t++) {
        struct timespec until;
        uint64_t due = start + (uint64_t)(t + 1) * 1000000u;

        /* Stream i's packet at ticks i, i + 20, ... */
        for (unsigned i = t % 20; i < streams; i += 20) {
            send_audio(&r, i, t / 20);
            out->audio_sent++;
        }
        /* The stranger starts once the streams latched (200 ms). */
        for (unsigned k = 0; pps && t >= 200 && k < pps / 1000; k++) {
            for (unsigned j = 0; j < sizeof forged; j++)
                forged[j] = (uint8_t)rand();
            sn_rtp_write_header(forged, 0, false, (uint16_t)seq, seq * 160u, 0x10000u);
            seq++;
            sendto(fs, forged, sizeof forged, 0, (struct sockaddr *)&r.to[0], sizeof r.to[0]);
            out->forged_sent++;
        }
        process(&r);
        until.tv_sec = (time_t)(due / 1000000000u);
        until.tv_nsec = (long)(due % 1000000000u);
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL);
    }
    drain(&r);
    sipnat_anchor_get_stats(r.a[0], &st);
    out->cpu_ns = (double)r.spent;
    out->delivered = r.delivered;
    out->dropped = st.dropped_foreign + st.dropped_srtp_auth;
    out->auth_failed = st.dropped_srtp_auth;
    out->failed_events = r.failed_events;
    relay_close(&r);
    close(fs);
}

static void usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s [--streams N (1-%d)] [--packets N] [--suite NAME]\n"
            "          [--flood-pps N] [--flood-streams N] [--flood-seconds N]\n",
            argv0, MAX_STREAMS);
    exit(2);
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"streams", required_argument, NULL, 's'},  {"packets", required_argument, NULL, 'n'},
        {"suite", required_argument, NULL, 'u'},    {"flood-pps", required_argument, NULL, 'f'},
        {"flood-streams", required_argument, NULL, 'F'},
        {"flood-seconds", required_argument, NULL, 'S'}, {NULL, 0, NULL, 0}};
    unsigned n = 200000, streams = 1, flood_pps = 50000, flood_streams = 20, flood_seconds = 3;
    sn_srtp_suite suite = SN_SRTP_AES_CM_128_HMAC_SHA1_80;
    unsigned got_plain, got_srtp, got_nss;
    struct rlimit rl;
    int c;

    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 's': streams = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'n': n = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'u': suite = sn_srtp_suite_from_name(optarg); break;
        case 'f': flood_pps = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'F': flood_streams = (unsigned)strtoul(optarg, NULL, 10); break;
        case 'S': flood_seconds = (unsigned)strtoul(optarg, NULL, 10); break;
        default: usage(argv[0]);
        }
    }
    if (optind < argc || n < 1000 || n > 50000000u || streams < 1 || streams > MAX_STREAMS ||
        !sn_srtp_suite_available(suite) || flood_pps > 200000 || flood_streams < 1 ||
        flood_streams > MAX_STREAMS || flood_seconds < 1 || flood_seconds > 60)
        usage(argv[0]);
    /* 2 anchors of 2 sockets per stream. */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }

    printf("suite %s, %u streams, %u packets of %u bytes payload\n",
           sn_srtp_suite_name(suite), streams, n, PAYLOAD);
    /* 1. Both crypto paths, same packets, same process. */
    die("libcrypto", sn_srtp_crypto_select(true));
    double ossl = raw(n, streams, suite);
    die("libsrtp2", sn_srtp_crypto_select(false));
    double nss = raw(n / 10 > 1000 ? n / 10 : 1000, streams, suite);
    printf("protect+unprotect, one core:\n");
    printf("  libsrtp2 built-in:   %9.0f pairs/s\n", nss);
    die("libcrypto", sn_srtp_crypto_select(true));
    printf("  %s: %9.0f pairs/s\n", sn_srtp_crypto_name(), ossl);
    printf("  libcrypto / built-in = %.1fx (target >= 15x at 1000 streams)\n", ossl / nss);

    /* 2. The relay: plain and SRTP on libcrypto alternately, three
     * times each, the best of each (the machine's noise only adds), and
     * once SRTP on libsrtp2's own (slow: fewer packets). */
    double ns_plain = 0, ns_srtp = 0;
    got_plain = got_srtp = 0;
    for (int round = 0; round < 3; round++) {
        unsigned g;
        double p = relay_run(n / 3, streams, SN_SRTP_NONE, &g);
        got_plain += g;
        ns_plain = round == 0 || p < ns_plain ? p : ns_plain;
        p = relay_run(n / 3, streams, suite, &g);
        got_srtp += g;
        ns_srtp = round == 0 || p < ns_srtp ? p : ns_srtp;
    }
    die("libsrtp2", sn_srtp_crypto_select(false));
    double ns_nss = relay_run(n / 40 > 1000 ? n / 40 : 1000, streams, suite, &got_nss);
    die("libcrypto", sn_srtp_crypto_select(true));
    printf("relay, CPU in sipnat_ctx_process() per delivered packet (best of 3):\n");
    printf("  plain RTP:             %7.0f ns  (%u delivered)\n", ns_plain, got_plain);
    printf("  SRTP, libcrypto:       %7.0f ns  (%u delivered)\n", ns_srtp, got_srtp);
    printf("  SRTP, built-in:        %7.0f ns  (%u delivered)\n", ns_nss, got_nss);
    printf("  SRTP (libcrypto) / plain = %.2fx (target <= 1.3x)\n", ns_srtp / ns_plain);
    printf("  SRTP relay added cost / raw pair = %.2f\n", (ns_srtp - ns_plain) / (1e9 / ossl));

    /* 3. A stranger floods one SRTP leg. */
    if (flood_pps) {
        flood_result base, fl;
        flood_run(flood_streams, flood_seconds, 0, &base);
        flood_run(flood_streams, flood_seconds, flood_pps, &fl);
        printf("stranger flood: %u pps of forged SRTP from 127.0.0.2 at one of %u streams "
               "(50 pps each), %u s:\n", flood_pps, flood_streams, flood_seconds);
        printf("  audio without flood: %u sent, %u delivered; with flood: %u sent, %u "
               "delivered\n", base.audio_sent, base.delivered, fl.audio_sent, fl.delivered);
        printf("  forged: %u sent, %llu dropped (%llu of them after failing authentication), "
               "SRTP_FAILED events %u\n", fl.forged_sent, (unsigned long long)fl.dropped,
               (unsigned long long)fl.auth_failed, fl.failed_events);
        printf("  CPU per dropped packet: %.0f ns\n",
               fl.dropped ? (fl.cpu_ns - base.cpu_ns) / (double)fl.dropped : 0.0);
    }
    return 0;
}
