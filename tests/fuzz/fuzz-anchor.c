#define _GNU_SOURCE
/* libsipnat fuzzing - what reaches an RTP anchor from the network: RTP,
 * RTCP, SRTP and SRTCP datagrams sent over loopback to real anchors,
 * read by the ctx's media engine as in a call.
 *
 * Four anchors:
 *   0 plain RTP, bridged to 1;  1 SRTP (AES_CM_128_HMAC_SHA1_80), bridged
 *   to 0 (the SRTP-to-RTP relay); 2 SRTP (AES_CM_128_HMAC_SHA1_32) with
 *   host audio, PCMU and telephone-event 101; 3 plain RTP with host audio,
 *   PCMA and telephone-event 96.
 * Anchors 1 and 3 take RTCP on their RTP socket too (rtcp-mux, RFC 5761),
 * and anchor 0's RTP socket relays through a TURN channel (0x4000) whose
 * server is the peer's RTP socket: its datagrams are ChannelData to be
 * unwrapped (or the server's own STUN), and what anchor 0 sends is framed.
 * Every anchor's peer sends from 127.0.0.1 (one socket for RTP, one for
 * RTCP, as its SDP says); a stranger sends from 127.0.0.2.
 *
 * An input is a list of datagrams: one control byte, a 16-bit length
 * (big-endian, at most 1500), then that many bytes (fewer at the end).
 *   control bits 0-1: anchor; bit 2: RTCP; bit 3: from the stranger;
 *   bit 4: protect it first with the peer's SRTP key (anchors 1 and 2),
 *   so that mutated headers and payloads get past authentication. */
#include "media/crypto_attr.h"
#include "media/srtp.h"
#include "media/anchor.h"

#include <sipnat/sipnat.h>

#include "fuzzutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define N_ANCHORS 4
#define MAX_DATAGRAMS 96

/* The peers' keys (what they send with) and the anchors' own. */
static const char *const peer_key[N_ANCHORS] = {
    NULL, "1 AES_CM_128_HMAC_SHA1_80 inline:d0RmdmcmVCspeEc3QGZiNWpVLFJhQX1cfHAwJSoj",
    "1 AES_CM_128_HMAC_SHA1_32 inline:NzB4d1BINUAvLEw6UzF3WSJ+PSdFcGdUJShpX1Zj", NULL};
static const char *const own_key[N_ANCHORS] = {
    NULL, "1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz",
    "1 AES_CM_128_HMAC_SHA1_32 inline:YkZ5ZU4xSnNwSkFwcHVkVnV3dlNIb1VUSExIenB5", NULL};

static struct {
    sipnat_ctx *ctx;
    int peer_rtp[N_ANCHORS], peer_rtcp[N_ANCHORS];
    int port_rtp[N_ANCHORS], port_rtcp[N_ANCHORS];
    int stranger;
    sn_srtp *keep_nss;
    sipnat_anchor *a[N_ANCHORS];
    sn_srtp *tx[N_ANCHORS];
    int local_port[N_ANCHORS];
    unsigned inputs, per_set;
    unsigned long audio_samples;
    unsigned events;
} g;

static void setup(void)
{
    sn_crypto_key k;
    const char *e = getenv("FUZZ_ANCHOR_INPUTS");

    if (sipnat_ctx_new(&g.ctx) < 0)
        abort();
    /* libsrtp2 on NSS shuts NSS down (and unloads its modules) when its
     * last session goes, and loads it again for the next: one session
     * kept for the process keeps each input from paying for that. */
    if (sn_crypto_parse_attr(peer_key[1], &k) < 0 || sn_srtp_new(&g.keep_nss, &k, false) < 0)
        abort();
    for (int i = 0; i < N_ANCHORS; i++) {
        g.peer_rtp[i] = fuzz_udp_socket("127.0.0.1", &g.port_rtp[i]);
        g.peer_rtcp[i] = fuzz_udp_socket("127.0.0.1", &g.port_rtcp[i]);
    }
    g.stranger = fuzz_udp_socket("127.0.0.2", NULL);
    g.per_set = e && atoi(e) > 0 ? (unsigned)atoi(e) : 1;
}

static void on_audio(const int16_t *samples, size_t n, void *user_data)
{
    (void)user_data;
    for (size_t i = 0; i < n; i++)
        g.audio_samples += (unsigned)(samples[i] & 1);
}

static void on_event(const sipnat_event *ev, void *user_data)
{
    (void)ev;
    (void)user_data;
    g.events++;
}

static sipnat_anchor *make_anchor(int i)
{
    sipnat_anchor_cfg *cfg;
    sipnat_anchor *a;

    if (sipnat_anchor_cfg_new(&cfg) < 0 || sipnat_anchor_cfg_set_bind(cfg, "127.0.0.1") < 0 ||
        sipnat_anchor_cfg_set_port_range(cfg, 40000, 60000) < 0 ||
        sipnat_anchor_cfg_set_probation(cfg, 1 + (unsigned)(i & 1)) < 0 ||
        sipnat_anchor_cfg_set_event_func(cfg, on_event, NULL) < 0 ||
        sipnat_anchor_new(&a, g.ctx, cfg) < 0)
        abort();
    sipnat_anchor_cfg_free(cfg);
    if (sipnat_anchor_set_remote(a, "127.0.0.1", g.port_rtp[i], g.port_rtcp[i]) < 0 ||
        sipnat_anchor_restrict_sources(a, "127.0.0.1") < 0)
        abort();
    if (own_key[i] && sipnat_anchor_set_srtp(a, own_key[i], peer_key[i]) < 0)
        abort();
    if (i == 2 && (sipnat_anchor_set_codec(a, 0, "PCMU", 101, 20) < 0 ||
                   sipnat_anchor_set_audio_func(a, on_audio, NULL) < 0))
        abort();
    if (i == 3 && (sipnat_anchor_set_codec(a, 8, "PCMA", 96, 20) < 0 ||
                   sipnat_anchor_set_audio_func(a, on_audio, NULL) < 0))
        abort();
    return a;
}

/* Let the ctx read everything that arrived (bounded). */
static void run(void)
{
    for (int round = 0; round < 16; round++) {
        struct pollfd p = {.fd = sipnat_ctx_get_fd(g.ctx), .events = POLLIN};
        if (poll(&p, 1, 0) <= 0)
            break;
        if (sipnat_ctx_process(g.ctx) < 0)
            abort();
    }
}

/* Fresh anchors (and peer SRTP senders). */
static void open_all(void)
{
    for (int i = 0; i < N_ANCHORS; i++) {
        char addr[SIPNAT_ADDRSTRLEN];
        sn_crypto_key k;
        g.a[i] = make_anchor(i);
        if (sipnat_anchor_get_local(g.a[i], addr, &g.local_port[i]) < 0)
            abort();
        if (peer_key[i] && (sn_crypto_parse_attr(peer_key[i], &k) < 0 ||
                            sn_srtp_new(&g.tx[i], &k, false) < 0))
            abort();
    }
    if (sipnat_anchor_bridge(g.a[0], g.a[1]) < 0)
        abort();
    sn_anchor_set_rtcp_mux(g.a[1], true);
    sn_anchor_set_rtcp_mux(g.a[3], true);
    struct sockaddr_in srv = {.sin_family = AF_INET, .sin_port = htons((uint16_t)g.port_rtp[0]),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (sn_anchor_set_channel(g.a[0], false, (struct sockaddr *)&srv, 0x4000,
                              (struct sockaddr *)&srv) < 0)
        abort();
}

static void close_all(void)
{
    for (int i = 0; i < N_ANCHORS; i++) {
        sipnat_anchor_stats st = {.size = sizeof st};
        if (sipnat_anchor_get_stats(g.a[i], &st) < 0)
            abort();
        g.a[i] = sipnat_anchor_unref(g.a[i]);
        g.tx[i] = sn_srtp_free(g.tx[i]);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t pkt[1500 + SN_SRTP_TAILROOM];
    unsigned sent = 0;

    if (!g.ctx)
        setup();
    if (!g.a[0])
        open_all();

    while (size >= 3 && sent < MAX_DATAGRAMS) {
        unsigned ctl = data[0], target = ctl & 3;
        bool rtcp = ctl & 4;
        size_t len = ((size_t)data[1] << 8 | data[2]) % 1501;
        struct sockaddr_in to = {.sin_family = AF_INET};
        int from;

        data += 3;
        size -= 3;
        if (len > size)
            len = size;
        memcpy(pkt, data, len);
        data += len;
        size -= len;
        if ((ctl & 16) && g.tx[target])
            (void)sn_srtp_protect(g.tx[target], pkt, &len, rtcp);
        from = ctl & 8 ? g.stranger : rtcp ? g.peer_rtcp[target] : g.peer_rtp[target];
        to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        to.sin_port = htons((uint16_t)(g.local_port[target] + rtcp));
        if (sendto(from, pkt, len, 0, (struct sockaddr *)&to, sizeof to) >= 0)
            sent++;
        if (sent % 24 == 0)
            run();
    }
    run();
    for (int i = 0; i < N_ANCHORS; i++) {
        fuzz_drain(g.peer_rtp[i]);
        fuzz_drain(g.peer_rtcp[i]);
    }
    fuzz_drain(g.stranger);
    /* Setting up anchors and SRTP sessions costs more than the packets:
     * they last FUZZ_ANCHOR_INPUTS inputs (1 when replaying: each input
     * then starts from fresh anchors, as its crash report expects). */
    if (++g.inputs >= g.per_set) {
        g.inputs = 0;
        close_all();
    }
    return 0;
}
