/* libsipnat tests - limits under abuse: INVITE floods meet max_sessions
 * (503 + Retry-After, no anchor spent), REGISTER floods with random
 * Contacts stay within max_contacts and leave the heap where it was,
 * oversized messages get an answer or are dropped, and TCP peers that
 * send partial headers are bounded in number and time. Everything runs
 * against the library on 127.0.0.1, counted on the wire. */
#include "testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* Live heap bytes: the sanitizer's count under ASan, glibc's otherwise. */
size_t __sanitizer_get_current_allocated_bytes(void) __attribute__((weak));
static size_t heap_in_use(void)
{
    if (__sanitizer_get_current_allocated_bytes)
        return __sanitizer_get_current_allocated_bytes();
    return mallinfo2().uordblks;
}

static long long now_msec(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A UDP client on 127.0.0.1 that counts the responses it gets. */
typedef struct client {
    int fd;
    int port;
    unsigned n_status[700];
    unsigned n_retry_after;     /* 503s with "Retry-After: <want>" */
    char want_retry[32];
    unsigned n_other;
    unsigned char seen503[4096]; /* per "Call-ID: flood-<n>@": counted once */
    int last_status;
} client;

static void client_open(client *c)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t sl = sizeof sa;

    memset(c, 0, sizeof *c);
    c->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(c->fd, 0);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(c->fd, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(getsockname(c->fd, (struct sockaddr *)&sa, &sl), 0);
    c->port = ntohs(sa.sin_port);
}

static void client_read(client *c)
{
    static char buf[70000];
    ssize_t n;

    while ((n = recv(c->fd, buf, sizeof buf - 1, MSG_DONTWAIT)) > 0) {
        int st;
        buf[n] = '\0';
        if (sscanf(buf, "SIP/2.0 %d ", &st) == 1 && st >= 100 && st < 700) {
            const char *id = strstr(buf, "\r\nCall-ID: flood-");
            unsigned k = id ? (unsigned)atoi(id + 17) % 4096 : 0;
            c->last_status = st;
            /* A final response is resent until ACKed: count each once. */
            if (st == 503 && id && c->seen503[k]++)
                continue;
            c->n_status[st]++;
            if (st == 503 && c->want_retry[0] && strstr(buf, c->want_retry))
                c->n_retry_after++;
        } else {
            c->n_other++;
        }
    }
}

static void client_send(client *c, int port, const char *msg, size_t len)
{
    struct sockaddr_in to = {.sin_family = AF_INET};

    to.sin_port = htons((uint16_t)port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(sendto(c->fd, msg, len, 0, (struct sockaddr *)&to, sizeof to),
                     (ssize_t)len);
}

/* Run the ctx for `ms`, reading the client's answers as they come. */
static void run_for(sipnat_ctx *ctx, client *c, int ms)
{
    long long end = now_msec() + ms;

    for (;;) {
        struct pollfd p[2] = {{.fd = sipnat_ctx_get_fd(ctx), .events = POLLIN},
                              {.fd = c ? c->fd : -1, .events = POLLIN}};
        int t, left = (int)(end - now_msec());
        if (left < 0)
            left = 0;
        ck_assert_ok(sipnat_ctx_get_timeout(ctx, &t));
        if (t < 0 || t > left)
            t = left;
        int r = poll(p, 2, t);
        ck_assert_int_ge(r, 0);
        if (c)
            client_read(c);
        ck_assert_int_ge(sipnat_ctx_process(ctx), 0);
        if (r == 0 && now_msec() >= end)
            break;
    }
}

static sipnat_transport *transport(sipnat_ctx *ctx, sipnat_protocol proto)
{
    sipnat_transport_cfg *cfg;
    sipnat_transport *t;

    ck_assert_ok(sipnat_transport_cfg_new(&cfg));
    ck_assert_ok(sipnat_transport_cfg_set_bind(cfg, "127.0.0.1", 0));
    ck_assert_ok(sipnat_transport_cfg_set_protocol(cfg, proto));
    ck_assert_ok(sipnat_transport_cfg_set_rtp_ports(cfg, 42000, 42999));
    ck_assert_ok(sipnat_transport_new(&t, ctx, cfg));
    sipnat_transport_cfg_free(cfg);
    return t;
}

/* -- INVITE floods ------------------------------------------------------ */

typedef struct calls {
    sipnat_session *s[16];
    unsigned n;
} calls;

static void ring_it(sipnat_session *s, void *ud)
{
    calls *c = ud;

    ck_assert_uint_lt(c->n, 16);
    c->s[c->n++] = sipnat_session_ref(s);
    ck_assert_ok(sipnat_session_ring(s));
}

static size_t invite(char *buf, size_t size, int port, int myport, unsigned i)
{
    static const char sdp[] =
        "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        "m=audio 7000 RTP/AVP 0\r\n";
    int n = snprintf(buf, size,
                     "INVITE sip:flood@127.0.0.1:%d SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-inv%u;rport\r\n"
                     "Max-Forwards: 70\r\nFrom: <sip:caller@127.0.0.1>;tag=c%u\r\n"
                     "To: <sip:flood@127.0.0.1>\r\nCall-ID: flood-%u@127.0.0.1\r\n"
                     "CSeq: 1 INVITE\r\nContact: <sip:caller@127.0.0.1:%d>\r\n"
                     "Content-Type: application/sdp\r\nContent-Length: %zu\r\n\r\n%s",
                     port, myport, i, i, i, myport, strlen(sdp), sdp);
    return (size_t)n;
}

START_TEST(test_invite_flood)
{
    sipnat_ctx *ctx;
    sipnat_endpoint_cfg *cfg;
    sipnat_endpoint *ep;
    sipnat_session *out = NULL;
    calls in = {0};
    client c;
    char msg[2048];
    enum { MAX = 3, FLOOD = 300 };

    client_open(&c);
    snprintf(c.want_retry, sizeof c.want_retry, "\r\nRetry-After: 7\r\n");
    ck_assert_ok(sipnat_ctx_new(&ctx));
    sipnat_transport *t = transport(ctx, SIPNAT_PROTOCOL_UDP);
    int port = sipnat_transport_get_port(t);
    ck_assert_ok(sipnat_endpoint_cfg_new(&cfg));
    ck_assert_ok(sipnat_endpoint_cfg_set_name(cfg, "flooded"));
    ck_assert_ok(sipnat_endpoint_cfg_add_match(cfg, "127.0.0.1"));
    ck_assert_ok(sipnat_endpoint_cfg_set_incoming_func(cfg, ring_it, &in));
    ck_assert_int_eq(sipnat_endpoint_cfg_set_max_sessions(NULL, 1, 1), -EINVAL);
    ck_assert_int_eq(sipnat_endpoint_cfg_set_max_sessions(cfg, 100001, 1), -EINVAL);
    ck_assert_int_eq(sipnat_endpoint_cfg_set_max_sessions(cfg, 1, 86401), -EINVAL);
    ck_assert_ok(sipnat_endpoint_cfg_set_max_sessions(cfg, MAX, 7));
    ck_assert_ok(sipnat_endpoint_new(&ep, t, cfg));
    sipnat_endpoint_cfg_free(cfg);
    run_for(ctx, &c, 50);
    int fds = count_fds();

    for (unsigned i = 0; i < FLOOD; i++) {
        size_t n = invite(msg, sizeof msg, port, c.port, i);
        client_send(&c, port, msg, n);
        if (i % 20 == 19)
            run_for(ctx, &c, 5);
    }
    run_for(ctx, &c, 500);
    printf("invite flood: %u INVITEs, %u calls, 180 x%u, 503 x%u (Retry-After x%u)\n",
           FLOOD, in.n, c.n_status[180], c.n_status[503], c.n_retry_after);
    for (int k = 100; k < 700; k++)
        if (c.n_status[k])
            printf("  status %d x%u\n", k, c.n_status[k]);
    fflush(stdout);
    /* MAX calls rang; every other INVITE got 503 with our Retry-After. */
    ck_assert_uint_eq(in.n, MAX);
    ck_assert_uint_eq(c.n_status[180], MAX);
    ck_assert_uint_eq(c.n_status[503], FLOOD - MAX);
    ck_assert_uint_eq(c.n_retry_after, FLOOD - MAX);
    /* The refused ones cost no anchor: two fds per live call only. */
    ck_assert_int_eq(count_fds(), fds + 2 * MAX);
    /* Our own calls count too. */
    ck_assert_int_eq(sipnat_session_call(&out, ep, "sip:x@127.0.0.1:9", NULL, NULL), -EBUSY);

    /* One call ends: the next INVITE rings again. */
    ck_assert_ok(sipnat_session_reject(in.s[0], 486));
    run_for(ctx, &c, 100);
    size_t n = invite(msg, sizeof msg, port, c.port, FLOOD);
    client_send(&c, port, msg, n);
    run_for(ctx, &c, 300);
    ck_assert_uint_eq(in.n, MAX + 1);
    ck_assert_uint_eq(c.n_status[180], MAX + 1);

    for (unsigned i = 0; i < in.n; i++) {
        sipnat_session_hangup(in.s[i]);
        sipnat_session_unref(in.s[i]);
    }
    run_for(ctx, &c, 100);
    sipnat_endpoint_unref(ep);
    sipnat_transport_unref(t);
    sipnat_ctx_unref(ctx);
    close(c.fd);
}
END_TEST

/* -- REGISTER floods -------------------------------------------------- */

static unsigned long rng = 0x7e57;
static unsigned rnd(unsigned n)
{
    rng = rng * 6364136223846793005ul + 1442695040888963407ul;
    return (unsigned)((rng >> 33) % n);
}

static void register_flood(sipnat_ctx *ctx, client *c, int port, const char *user,
                           unsigned from, unsigned count)
{
    char msg[1024];

    for (unsigned i = from; i < from + count; i++) {
        int n = snprintf(msg, sizeof msg,
                         "REGISTER sip:127.0.0.1:%d SIP/2.0\r\n"
                         "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-reg%u;rport\r\n"
                         "Max-Forwards: 70\r\nFrom: <sip:%s@127.0.0.1>;tag=r%u\r\n"
                         "To: <sip:%s@127.0.0.1>\r\nCall-ID: reg-%u-%u@127.0.0.1\r\n"
                         "CSeq: 1 REGISTER\r\n"
                         "Contact: <sip:%s-%u@10.%u.%u.%u:%u;transport=udp>;expires=%u\r\n"
                         "Content-Length: 0\r\n\r\n",
                         port, c->port, i, user, i, user, i, rnd(1u << 30), user, rnd(100000),
                         rnd(256), rnd(256), 1 + rnd(254), 1024 + rnd(60000), 60 + rnd(3000));
        client_send(c, port, msg, (size_t)n);
        if (i % 25 == 24)
            run_for(ctx, c, 2);
    }
    run_for(ctx, c, 200);
}

static int n_contacts(sipnat_endpoint *ep)
{
    sipnat_contact_info ci = {.size = sizeof ci};
    int n = 0;

    while (sipnat_endpoint_get_contact(ep, (size_t)n, &ci) == 0)
        n++;
    return n;
}

static void answer_it(sipnat_session *s, void *ud)
{
    (void)ud;
    ck_assert_ok(sipnat_session_answer(s));
}

static sipnat_endpoint *registrar(sipnat_transport *t, const char *name, const char *match,
                                  unsigned max, int remove_existing)
{
    sipnat_endpoint_cfg *cfg;
    sipnat_endpoint *ep;

    ck_assert_ok(sipnat_endpoint_cfg_new(&cfg));
    ck_assert_ok(sipnat_endpoint_cfg_set_name(cfg, name));
    ck_assert_ok(sipnat_endpoint_cfg_add_match(cfg, match));
    ck_assert_ok(sipnat_endpoint_cfg_set_max_contacts(cfg, max));
    ck_assert_ok(sipnat_endpoint_cfg_set_remove_existing(cfg, remove_existing));
    ck_assert_ok(sipnat_endpoint_cfg_set_incoming_func(cfg, answer_it, NULL));
    ck_assert_ok(sipnat_endpoint_new(&ep, t, cfg));
    sipnat_endpoint_cfg_free(cfg);
    return ep;
}

/* sofia keeps a completed non-INVITE server transaction 32 s (64 T1) to
 * absorb retransmissions: a flood's transactions are gone after that. */
#define TRANSACTIONS_GONE_MS 33500

/* Two floods of `flood` REGISTERs, each with a new random Contact, at an
 * AOR of `max` bindings: round 1 warms every cache and table up to the
 * flood's size; round 2, the same again, must leave the heap where
 * round 1 did (less than 8 bytes per REGISTER), both measured once
 * sofia's transactions are gone. */
static void flood_twice(int remove_existing, unsigned flood, int max)
{
    sipnat_ctx *ctx;
    client c;
    size_t heap[2];

    client_open(&c);
    ck_assert_ok(sipnat_ctx_new(&ctx));
    sipnat_transport *t = transport(ctx, SIPNAT_PROTOCOL_UDP);
    int port = sipnat_transport_get_port(t);
    sipnat_endpoint *ep = registrar(t, "aor", "127.0.0.1", (unsigned)max, remove_existing);

    for (unsigned round = 0; round < 2; round++) {
        register_flood(ctx, &c, port, "aor", round * flood, flood);
        ck_assert_int_eq(n_contacts(ep), max);
        /* remove_existing takes every REGISTER (the oldest binding
         * goes); otherwise the first max are taken, the rest get 403. */
        ck_assert_uint_eq(c.n_status[200], remove_existing ? (round + 1) * flood : (unsigned)max);
        ck_assert_uint_eq(c.n_status[403], remove_existing ? 0 : (round + 1) * flood - (unsigned)max);
        run_for(ctx, &c, TRANSACTIONS_GONE_MS);
        heap[round] = heap_in_use();
    }
    printf("register flood (remove_existing=%d): 2 x %u REGISTERs, %d bindings, heap %zu -> "
           "%zu bytes\n",
           remove_existing, flood, n_contacts(ep), heap[0], heap[1]);
    fflush(stdout);
    ck_assert_msg(heap[1] < heap[0] + 8 * flood, "heap grew %zu -> %zu", heap[0], heap[1]);

    sipnat_endpoint_unref(ep);
    sipnat_transport_unref(t);
    sipnat_ctx_unref(ctx);
    close(c.fd);
}

START_TEST(test_register_flood)
{
    flood_twice(0, 2000, 4);
}
END_TEST

START_TEST(test_register_flood_replace)
{
    flood_twice(1, 1500, 3);
}
END_TEST

/* -- oversized messages ------------------------------------------------ */

START_TEST(test_oversized_udp)
{
    sipnat_ctx *ctx;
    client c;
    static char msg[65600];
    char head[512];

    client_open(&c);
    ck_assert_ok(sipnat_ctx_new(&ctx));
    sipnat_transport *t = transport(ctx, SIPNAT_PROTOCOL_UDP);
    int port = sipnat_transport_get_port(t);
    sipnat_endpoint *ep = registrar(t, "big", "127.0.0.1", 1, 0);
    int sndbuf = 1 << 20;
    setsockopt(c.fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);

    /* 1. A 64 KB datagram: one huge header, within what UDP carries and
     * what the stack takes (SN_SIP_MAX_MESSAGE): a normal answer. */
    int n = snprintf(head, sizeof head,
                     "OPTIONS sip:big@127.0.0.1:%d SIP/2.0\r\n"
                     "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-big1;rport\r\n"
                     "Max-Forwards: 70\r\nFrom: <sip:big@127.0.0.1>;tag=b1\r\n"
                     "To: <sip:big@127.0.0.1>\r\nCall-ID: big1@x\r\nCSeq: 1 OPTIONS\r\n"
                     "X-Big: ",
                     port, c.port);
    memcpy(msg, head, (size_t)n);
    size_t len = 65000;
    memset(msg + n, 'a', len - (size_t)n - 24);
    memcpy(msg + len - 24, "\r\nContent-Length: 0\r\n\r\n", 24);
    client_send(&c, port, msg, len);
    run_for(ctx, &c, 300);
    int big_header = c.last_status;
    /* 2. A body shorter than its Content-Length says. */
    c.last_status = 0;
    n = snprintf(msg, sizeof msg,
                 "MESSAGE sip:big@127.0.0.1:%d SIP/2.0\r\n"
                 "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-big2;rport\r\n"
                 "Max-Forwards: 70\r\nFrom: <sip:big@127.0.0.1>;tag=b2\r\n"
                 "To: <sip:big@127.0.0.1>\r\nCall-ID: big2@x\r\nCSeq: 1 MESSAGE\r\n"
                 "Content-Type: text/plain\r\nContent-Length: 4000000000\r\n\r\nhello",
                 port, c.port);
    client_send(&c, port, msg, (size_t)n);
    run_for(ctx, &c, 300);
    int short_body = c.last_status;
    /* 3. An INVITE with more m= lines than a description holds (16):
     * 488, no call. */
    char body[2048];
    size_t bl = (size_t)sprintf(body, "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n");
    for (int k = 0; k < 20; k++)
        bl += (size_t)sprintf(body + bl, "m=audio %d RTP/AVP 0\r\nc=IN IP4 127.0.0.1\r\n",
                              7000 + 2 * k);
    c.last_status = 0;
    n = snprintf(msg, sizeof msg,
                 "INVITE sip:big@127.0.0.1:%d SIP/2.0\r\n"
                 "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-big3;rport\r\n"
                 "Max-Forwards: 70\r\nFrom: <sip:big@127.0.0.1>;tag=b3\r\n"
                 "To: <sip:big@127.0.0.1>\r\nCall-ID: big3@x\r\nCSeq: 1 INVITE\r\n"
                 "Contact: <sip:big@127.0.0.1:%d>\r\n"
                 "Content-Type: application/sdp\r\nContent-Length: %zu\r\n\r\n%s",
                 port, c.port, c.port, bl, body);
    len = (size_t)n;
    client_send(&c, port, msg, len);
    run_for(ctx, &c, 300);
    int big_sdp = c.last_status;
    printf("oversized udp: 64 KB header -> %d, short body -> %d, 20 m= lines -> %d\n",
           big_header, short_body, big_sdp);
    fflush(stdout);
    ck_assert_int_eq(big_header, 200);
    ck_assert_int_eq(short_body, 400);
    ck_assert_int_eq(big_sdp, 488);
    /* Still alive (the 488 is resent until ACKed: count the 200s). */
    unsigned ok200 = c.n_status[200];
    n = snprintf(msg, sizeof msg,
                 "OPTIONS sip:big@127.0.0.1:%d SIP/2.0\r\n"
                 "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-big4;rport\r\n"
                 "Max-Forwards: 70\r\nFrom: <sip:big@127.0.0.1>;tag=b4\r\n"
                 "To: <sip:big@127.0.0.1>\r\nCall-ID: big4@x\r\nCSeq: 1 OPTIONS\r\n"
                 "Content-Length: 0\r\n\r\n",
                 port, c.port);
    client_send(&c, port, msg, (size_t)n);
    run_for(ctx, &c, 300);
    ck_assert_uint_eq(c.n_status[200], ok200 + 1);

    sipnat_endpoint_unref(ep);
    sipnat_transport_unref(t);
    sipnat_ctx_unref(ctx);
    close(c.fd);
}
END_TEST

/* -- TCP peers that never finish ------------------------------------- */

static int tcp_connect(int port)
{
    struct sockaddr_in to = {.sin_family = AF_INET};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    ck_assert_int_ge(fd, 0);
    to.sin_port = htons((uint16_t)port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&to, sizeof to), 0);
    return fd;
}

/* The library closed its end: EOF or a reset, without blocking. */
static bool closed_by_peer(int fd)
{
    char buf[4096];
    ssize_t n;

    while ((n = recv(fd, buf, sizeof buf, MSG_DONTWAIT)) > 0)
        ;
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

START_TEST(test_tcp_partial_headers)
{
    sipnat_ctx *ctx;
    sipnat_transport_cfg *cfg;
    sipnat_transport *t;
    enum { MAX = 8, PEERS = 20, IDLE = 2 };
    int fd[PEERS], n_closed = 0;
    static const char partial[] = "OPTIONS sip:x@127.0.0.1 SIP/2.0\r\n"
                                  "Via: SIP/2.0/TCP 127.0.0.1:5999;bra";

    ck_assert_ok(sipnat_ctx_new(&ctx));
    ck_assert_ok(sipnat_transport_cfg_new(&cfg));
    ck_assert_ok(sipnat_transport_cfg_set_bind(cfg, "127.0.0.1", 0));
    ck_assert_ok(sipnat_transport_cfg_set_protocol(cfg, SIPNAT_PROTOCOL_TCP));
    ck_assert_int_eq(sipnat_transport_cfg_set_tcp_limits(NULL, 1, 1), -EINVAL);
    ck_assert_int_eq(sipnat_transport_cfg_set_tcp_limits(cfg, 0, 1), -EINVAL);
    ck_assert_int_eq(sipnat_transport_cfg_set_tcp_limits(cfg, 1, 86401), -EINVAL);
    ck_assert_ok(sipnat_transport_cfg_set_tcp_limits(cfg, MAX, IDLE));
    ck_assert_ok(sipnat_transport_new(&t, ctx, cfg));
    sipnat_transport_cfg_free(cfg);
    int port = sipnat_transport_get_port(t);
    run_for(ctx, NULL, 50);
    int fds0 = count_fds();

    /* PEERS connections, each half a header, one after the other. */
    for (int i = 0; i < PEERS; i++) {
        fd[i] = tcp_connect(port);
        ck_assert_int_eq(send(fd[i], partial, sizeof partial - 1, MSG_NOSIGNAL),
                         (ssize_t)(sizeof partial - 1));
        run_for(ctx, NULL, 20);
    }
    run_for(ctx, NULL, 300);
    for (int i = 0; i < PEERS; i++)
        n_closed += closed_by_peer(fd[i]);
    /* Over max_connections: closed at once; the first MAX stay. */
    printf("tcp: %d connections with half a header: %d closed at once\n", PEERS, n_closed);
    fflush(stdout);
    ck_assert_int_eq(n_closed, PEERS - MAX);
    for (int i = 0; i < MAX; i++)
        ck_assert(!closed_by_peer(fd[i]));
    /* The library holds MAX sockets for them (ours: PEERS). */
    ck_assert_int_eq(count_fds(), fds0 + PEERS + MAX);

    /* idle_timeout: the rest go within a tick after IDLE seconds. */
    run_for(ctx, NULL, (IDLE + 2) * 1000);
    n_closed = 0;
    for (int i = 0; i < PEERS; i++)
        n_closed += closed_by_peer(fd[i]);
    printf("tcp: after %d s idle: %d of %d closed\n", IDLE + 2, n_closed, PEERS);
    fflush(stdout);
    ck_assert_int_eq(n_closed, PEERS);
    ck_assert_int_eq(count_fds(), fds0 + PEERS);
    for (int i = 0; i < PEERS; i++)
        close(fd[i]);

    /* Still serving: a whole OPTIONS on a new connection is answered. */
    char msg[512], buf[2048];
    int c = tcp_connect(port), n = snprintf(msg, sizeof msg,
                     "OPTIONS sip:x@127.0.0.1:%d SIP/2.0\r\n"
                     "Via: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bK-tcp1\r\n"
                     "Max-Forwards: 70\r\nFrom: <sip:a@127.0.0.1>;tag=a\r\n"
                     "To: <sip:x@127.0.0.1>\r\nCall-ID: tcp1@x\r\nCSeq: 1 OPTIONS\r\n"
                     "Content-Length: 0\r\n\r\n", port);
    ck_assert_int_eq(send(c, msg, (size_t)n, MSG_NOSIGNAL), n);
    ssize_t got = 0;
    for (int k = 0; k < 50 && got <= 0; k++) {
        run_for(ctx, NULL, 20);
        got = recv(c, buf, sizeof buf - 1, MSG_DONTWAIT);
    }
    ck_assert_int_gt(got, 0);
    buf[got] = '\0';
    ck_assert_msg(strncmp(buf, "SIP/2.0 ", 8) == 0, "%s", buf);
    close(c);

    sipnat_transport_unref(t);
    sipnat_ctx_unref(ctx);
}
END_TEST

/* A body far over SN_SIP_MAX_MESSAGE (64 KB) announced over TCP: the
 * stack refuses or drops it without buffering it, and goes on. */
START_TEST(test_tcp_oversized)
{
    sipnat_ctx *ctx;
    sipnat_transport_cfg *cfg;
    sipnat_transport *t;
    static char chunk[16384];
    char msg[512], buf[4096];

    ck_assert_ok(sipnat_ctx_new(&ctx));
    ck_assert_ok(sipnat_transport_cfg_new(&cfg));
    ck_assert_ok(sipnat_transport_cfg_set_bind(cfg, "127.0.0.1", 0));
    ck_assert_ok(sipnat_transport_cfg_set_protocol(cfg, SIPNAT_PROTOCOL_TCP));
    ck_assert_ok(sipnat_transport_new(&t, ctx, cfg));
    sipnat_transport_cfg_free(cfg);
    int port = sipnat_transport_get_port(t);
    run_for(ctx, NULL, 50);
    size_t heap0 = heap_in_use();

    int c = tcp_connect(port);
    int n = snprintf(msg, sizeof msg,
                     "MESSAGE sip:x@127.0.0.1:%d SIP/2.0\r\n"
                     "Via: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bK-tcp2\r\n"
                     "Max-Forwards: 70\r\nFrom: <sip:a@127.0.0.1>;tag=a\r\n"
                     "To: <sip:x@127.0.0.1>\r\nCall-ID: tcp2@x\r\nCSeq: 1 MESSAGE\r\n"
                     "Content-Type: text/plain\r\nContent-Length: 50000000\r\n\r\n", port);
    ck_assert_int_eq(send(c, msg, (size_t)n, MSG_NOSIGNAL), n);
    memset(chunk, 'z', sizeof chunk);
    size_t sent = 0, peak = 0;
    bool closed = false;
    /* 4 MB of body, as fast as the library reads it. */
    for (int k = 0; k < 4000 && sent < (4u << 20) && !closed; k++) {
        ssize_t w = send(c, chunk, sizeof chunk, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w > 0)
            sent += (size_t)w;
        else if (w < 0 && errno != EAGAIN)
            closed = true;
        run_for(ctx, NULL, 1);
        size_t h = heap_in_use();
        if (h > peak)
            peak = h;
    }
    run_for(ctx, NULL, 200);
    ssize_t got = recv(c, buf, sizeof buf - 1, MSG_DONTWAIT);
    if (got > 0)
        buf[got] = '\0';
    printf("tcp oversized: %zu bytes sent, %s, answer: %.12s, heap peak +%zu\n", sent,
           closed ? "closed" : "open", got > 0 ? buf : "(none)", peak - heap0);
    fflush(stdout);
    /* Refused (a 4xx/5xx, or the connection closed), never buffered. */
    ck_assert(closed || got == 0 || (got > 0 && (buf[8] == '4' || buf[8] == '5')));
    ck_assert_uint_lt(peak - heap0, 1u << 20);
    close(c);

    sipnat_transport_unref(t);
    sipnat_ctx_unref(ctx);
}
END_TEST

Suite *abuse_suite(void);
Suite *abuse_suite(void)
{
    Suite *s = suite_create("abuse");
    TCase *tc = tcase_create("abuse");

    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, test_invite_flood);
    tcase_add_test(tc, test_oversized_udp);
    tcase_add_test(tc, test_tcp_partial_headers);
    tcase_add_test(tc, test_tcp_oversized);
    tcase_add_test(tc, test_register_flood);
    tcase_add_test(tc, test_register_flood_replace);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(abuse_suite());
    int failed;

    srunner_run_all(sr, CK_VERBOSE);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
