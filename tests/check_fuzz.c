/* libsipnat tests - hostile input at a transport: malformed and mutated
 * SIP messages must leave it running and answering. */
#include "testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define N_MESSAGES 12000

static const char *const templates[] = {
    "OPTIONS sip:test@127.0.0.1:%d SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-f%u;rport\r\n"
    "Max-Forwards: 70\r\n"
    "From: <sip:fuzz@127.0.0.1>;tag=f%u\r\n"
    "To: <sip:test@127.0.0.1>\r\n"
    "Call-ID: fuzz-%u@127.0.0.1\r\n"
    "CSeq: 1 OPTIONS\r\n"
    "Content-Length: 0\r\n\r\n",

    "INVITE sip:test@127.0.0.1:%d SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-f%u\r\n"
    "Max-Forwards: 70\r\n"
    "From: \"Fuzz\" <sip:fuzz@127.0.0.1>;tag=f%u\r\n"
    "To: <sip:test@127.0.0.1>\r\n"
    "Call-ID: fuzz-%u@127.0.0.1\r\n"
    "CSeq: 7 INVITE\r\n"
    "Contact: <sip:fuzz@127.0.0.1>\r\n"
    "Content-Type: application/sdp\r\n"
    "Content-Length: 129\r\n\r\n"
    "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 4000 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\n",

    "REGISTER sip:127.0.0.1:%d SIP/2.0\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-f%u\r\n"
    "From: <sip:6001@127.0.0.1>;tag=f%u\r\n"
    "To: <sip:6001@127.0.0.1>\r\n"
    "Call-ID: fuzz-%u@127.0.0.1\r\n"
    "CSeq: 1 REGISTER\r\n"
    "Contact: <sip:6001@192.0.2.20:5060>;expires=3600\r\n"
    "Authorization: Digest username=\"6001\", realm=\"x\", nonce=\"n\", uri=\"sip:x\", response=\"00\"\r\n"
    "Content-Length: 0\r\n\r\n",

    "SIP/2.0 200 OK\r\n"
    "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-f%u;received=1.2.3.4;rport=%d\r\n"
    "From: <sip:fuzz@127.0.0.1>;tag=f%u\r\n"
    "To: <sip:test@127.0.0.1>;tag=x\r\n"
    "Call-ID: fuzz-%u@127.0.0.1\r\n"
    "CSeq: 1 OPTIONS\r\n"
    "Content-Length: 0\r\n\r\n",
};

/* Deterministic, so a failure is reproducible. */
static unsigned long rng = 0x5eed;
static unsigned rnd(unsigned n)
{
    rng = rng * 6364136223846793005ul + 1442695040888963407ul;
    return (unsigned)((rng >> 33) % n);
}

static const char *const bad_lines[] = {
    "Via: SIP/2.0/UDP\r\n", "Via: garbage;;;;==\r\n", "Via: SIP/3.0/XYZ [::1:5060\r\n",
    "CSeq: abc OPTIONS\r\n", "CSeq: 4294967296 OPTIONS\r\n", "CSeq: 1\r\n",
    "CSeq: -1 INVITE\r\n", "Content-Length: -5\r\n", "Content-Length: 99999999\r\n",
    "Max-Forwards: 0\r\n", "From: <sip:\r\n", "To: \"unterminated\r\n",
    "Call-ID: \r\n", ": no name\r\n", "Contact: *\r\n", "Expires: 1e9\r\n",
    "Route: <sip:127.0.0.1;lr>, <sip:[::1;lr>\r\n", "\r\n\r\n", "Via: SIP/2.0/UDP 127.0.0.1:99999\r\n",
};

/* Build one hostile message into buf; returns its length. */
static size_t make_message(char *buf, size_t size, int port, int myport, unsigned i)
{
    char base[2048];
    int n;
    unsigned t = rnd(sizeof templates / sizeof templates[0]);

    /* The table's formats are fixed strings of this file, each taking
     * exactly these arguments. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    if (t == 3)
        n = snprintf(base, sizeof base, templates[t], myport, i, myport, i, i);
    else
        n = snprintf(base, sizeof base, templates[t], port, myport, i, i, i);
#pragma GCC diagnostic pop
    size_t len = (size_t)n;

    switch (rnd(8)) {
    case 0: /* truncated anywhere */
        len = rnd((unsigned)len + 1);
        break;
    case 1: /* random byte flips */
        for (unsigned k = 0, m = 1 + rnd(8); k < m && len; k++)
            base[rnd((unsigned)len)] = (char)rnd(256);
        break;
    case 2: { /* an oversized header */
        size_t extra = 4000 + rnd(20000);
        if (extra > size - len - 64)
            extra = size - len - 64;
        char *p = strstr(base, "\r\n");
        size_t head = p ? (size_t)(p - base) + 2 : 0;
        size_t w = 0;
        memcpy(buf, base, head);
        w = head;
        w += (size_t)snprintf(buf + w, size - w, "X-Big: ");
        memset(buf + w, 'A' + (int)rnd(26), extra);
        w += extra;
        memcpy(buf + w, "\r\n", 2);
        w += 2;
        memcpy(buf + w, base + head, len - head);
        return w + len - head;
    }
    case 3: { /* a bad header line inserted after the request line */
        const char *bad = bad_lines[rnd(sizeof bad_lines / sizeof bad_lines[0])];
        char *p = strstr(base, "\r\n");
        size_t head = p ? (size_t)(p - base) + 2 : 0;
        size_t bl = strlen(bad);
        memcpy(buf, base, head);
        memcpy(buf + head, bad, bl);
        memcpy(buf + head + bl, base + head, len - head);
        return len + bl;
    }
    case 4: /* pure garbage; a third of it shaped like STUN (first byte 0
             * or 1), which sofia hands to its own STUN code */
        len = rnd(1400);
        for (size_t k = 0; k < len; k++)
            base[k] = (char)rnd(256);
        if (len >= 20 && rnd(3) == 0) {
            base[0] = (char)rnd(2);
            base[1] = (char)rnd(3);
        }
        break;
    case 5: /* a header line duplicated many times */
        for (unsigned k = 0, m = 50 + rnd(200); k < m && len + 40 < sizeof base; k++)
            len += (size_t)snprintf(base + len, sizeof base - len, "Via: SIP/2.0/UDP 10.%u.0.1\r\n", k);
        break;
    case 6: /* line endings mangled */
        for (size_t k = 0; k < len; k++)
            if (base[k] == '\r' && rnd(2))
                base[k] = rnd(2) ? '\n' : ' ';
        break;
    default: /* a slice of the middle */
        if (len > 10) {
            size_t a = rnd((unsigned)len / 2), b = a + rnd((unsigned)(len - a));
            memmove(base + a, base + b, len - b);
            len -= b - a;
        }
        break;
    }
    if (len > size)
        len = size;
    memcpy(buf, base, len);
    return len;
}

START_TEST(test_hostile_udp)
{
    sipnat_ctx *ctx;
    sipnat_transport *t;
    sipnat_transport_cfg *cfg;
    mock_peer peer;
    static char buf[65000];
    struct sockaddr_in to = {.sin_family = AF_INET};
    int port, flag = 0;
    unsigned sent = 0;

    mock_peer_open(&peer, 0);
    ck_assert_ok(sipnat_ctx_new(&ctx));
    ck_assert_ok(sipnat_transport_cfg_new(&cfg));
    ck_assert_ok(sipnat_transport_cfg_set_bind(cfg, "127.0.0.1", 0));
    ck_assert_ok(sipnat_transport_new(&t, ctx, cfg));
    sipnat_transport_cfg_free(cfg);
    port = sipnat_transport_get_port(t);
    to.sin_port = htons((uint16_t)port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);

    /* The library never writes to stderr: catch anything that does. */
    fflush(stderr);
    int saved_stderr = dup(2);
    FILE *catcher = tmpfile();
    ck_assert_ptr_nonnull(catcher);
    dup2(fileno(catcher), 2);

    for (unsigned i = 0; i < N_MESSAGES; i++) {
        size_t len = make_message(buf, sizeof buf, port, peer.port, i);
        if (sendto(peer.fd, buf, len, 0, (struct sockaddr *)&to, sizeof to) >= 0)
            sent++;
        /* Let the library read what arrived, so nothing is lost to a full
         * socket buffer (the point is to parse them all). */
        if (i % 50 == 49)
            run_pull(ctx, &peer, &flag, 5);
    }
    run_pull(ctx, &peer, &flag, 500);
    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    long written = ftell(catcher) >= 0 ? (fseek(catcher, 0, SEEK_END), ftell(catcher)) : -1;
    if (written > 0) {
        char sample[200] = "";
        rewind(catcher);
        ck_assert_ptr_nonnull(fgets(sample, sizeof sample, catcher));
        ck_abort_msg("%ld bytes on stderr, e.g. %s", written, sample);
    }
    fclose(catcher);
    printf("hostile: %u messages sent, %u answers seen, stderr silent\n", sent,
           peer.n_responses);
    ck_assert_uint_ge(sent, 10000);
    /* Malformed requests got answers (400 and friends), not silence only. */
    ck_assert_uint_gt(peer.n_responses, 100);

    /* Still alive: a valid OPTIONS gets its 200 (matched by Call-ID:
     * answers to mutated Vias may land on any loopback port, this one
     * included). */
    mock_peer_close(&peer);
    mock_peer_open(&peer, 200);
    mock_peer_send_request(&peer, port, "OPTIONS", NULL, NULL);
    for (int k = 0; k < 100 && peer.awaited_status == 0; k++)
        run_pull(ctx, &peer, &flag, 20);
    ck_assert_int_eq(peer.awaited_status, 200);
    /* And it still sends: an OPTIONS of its own gets through. */
    event_log ev = {0};
    char uri[64];
    snprintf(uri, sizeof uri, "sip:after@127.0.0.1:%d", peer.port);
    ck_assert_ok(sipnat_transport_send_options(t, uri, record_event, &ev));
    run_pull(ctx, &peer, &ev.n, 5000);
    ck_assert_int_eq(ev.status, 200);
    ck_assert_int_eq(count_threads(), 1);

    sipnat_transport_unref(t);
    sipnat_ctx_unref(ctx);
    mock_peer_close(&peer);
}
END_TEST

Suite *fuzz_suite(void)
{
    Suite *s = suite_create("hostile");
    TCase *tc = tcase_create("hostile");

    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_hostile_udp);
    suite_add_tcase(s, tc);
    return s;
}
