/* libsipnat fuzzing - whole SIP messages sent over UDP to a running
 * endpoint: a ctx with a UDP transport on 127.0.0.1 (port 0) and two
 * endpoints, processed the way a host does. Every 256 inputs a valid
 * OPTIONS must still get its 200.
 *
 * The first input byte picks the sender: bit 0 clear, 127.0.0.1 (no
 * identify match: requests find endpoint "6001" by their From user; it
 * has digest auth and takes up to 4 registrations); set, 127.0.0.3
 * (identified as endpoint "6002": no auth, 2 registrations, calls
 * answered, rung or rejected in turn). The rest is the datagram.
 *
 * Answers go where the message says (Via, Contact, SDP): run it in a
 * network namespace of its own (tests/fuzz/run.sh does) so that nothing
 * leaves the machine. */
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
#include <time.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_SESSIONS 8
#define ALIVE_EVERY 256

static struct {
    sipnat_ctx *ctx;
    sipnat_transport *t;
    sipnat_endpoint *ep[2];
    int port;
    int client[2];   /* 127.0.0.1, 127.0.0.3 */
    int prober;      /* sends the liveness OPTIONS */
    int prober_port;
    sipnat_session *sessions[MAX_SESSIONS];
    unsigned n_sessions, n_incoming;
    unsigned long inputs;
} g;

static void on_incoming(sipnat_session *s, void *user_data)
{
    (void)user_data;
    switch (g.n_incoming++ % 3) {
    case 0:
        (void)sipnat_session_answer(s);
        break;
    case 1:
        (void)sipnat_session_ring(s);
        break;
    default:
        (void)sipnat_session_reject(s, 486);
        return;
    }
    if (g.n_sessions < MAX_SESSIONS)
        g.sessions[g.n_sessions++] = sipnat_session_ref(s);
    else
        (void)sipnat_session_reject(s, 503);
}

static sipnat_endpoint *endpoint(const char *name, const char *match, unsigned contacts)
{
    sipnat_endpoint_cfg *cfg;
    sipnat_endpoint *ep;

    if (sipnat_endpoint_cfg_new(&cfg) < 0 || sipnat_endpoint_cfg_set_name(cfg, name) < 0 ||
        sipnat_endpoint_cfg_set_max_contacts(cfg, contacts) < 0 ||
        sipnat_endpoint_cfg_set_remove_existing(cfg, contacts > 2) < 0 ||
        sipnat_endpoint_cfg_set_incoming_func(cfg, on_incoming, NULL) < 0 ||
        sipnat_endpoint_cfg_set_rtp_timeout(cfg, 5) < 0)
        abort();
    if (match ? sipnat_endpoint_cfg_add_match(cfg, match) < 0
              : sipnat_endpoint_cfg_set_auth(cfg, name, "secret", "fuzz") < 0)
        abort();
    if (sipnat_endpoint_new(&ep, g.t, cfg) < 0)
        abort();
    sipnat_endpoint_cfg_free(cfg);
    return ep;
}

static void setup(void)
{
    sipnat_transport_cfg *tc;

    if (sipnat_ctx_new(&g.ctx) < 0 || sipnat_transport_cfg_new(&tc) < 0 ||
        sipnat_transport_cfg_set_bind(tc, "127.0.0.1", 0) < 0 ||
        sipnat_transport_cfg_set_rtp_ports(tc, 40000, 41000) < 0 ||
        sipnat_transport_new(&g.t, g.ctx, tc) < 0)
        abort();
    sipnat_transport_cfg_free(tc);
    g.port = sipnat_transport_get_port(g.t);
    g.ep[0] = endpoint("6001", NULL, 4);
    g.ep[1] = endpoint("6002", "127.0.0.3", 2);
    g.client[0] = fuzz_udp_socket("127.0.0.1", NULL);
    g.client[1] = fuzz_udp_socket("127.0.0.3", NULL);
    g.prober = fuzz_udp_socket("127.0.0.3", &g.prober_port);
}

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Process what is due; wait up to `ms` for more. */
static void run(int ms)
{
    long long end = now_ms() + ms;

    for (int round = 0; round < 64; round++) {
        struct pollfd p = {.fd = sipnat_ctx_get_fd(g.ctx), .events = POLLIN};
        int t, left = (int)(end - now_ms());
        if (sipnat_ctx_get_timeout(g.ctx, &t) < 0)
            abort();
        if (left < 0)
            left = 0;
        if (t < 0 || t > left)
            t = left;
        if (poll(&p, 1, t) <= 0 && now_ms() >= end)
            break;
        if (sipnat_ctx_process(g.ctx) < 0)
            abort();
    }
}

static void send_to_us(int fd, const void *p, size_t len)
{
    struct sockaddr_in to = {.sin_family = AF_INET};

    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = htons((uint16_t)g.port);
    (void)sendto(fd, p, len, 0, (struct sockaddr *)&to, sizeof to);
}

/* A valid OPTIONS gets its 200 within two seconds, else the stack is
 * wedged: abort, which the fuzzer reports as a crash. */
static void still_alive(void)
{
    char msg[512], buf[4096], callid[32];
    long long end = now_ms() + 2000;
    int n;

    snprintf(callid, sizeof callid, "alive-%lu", g.inputs);
    n = snprintf(msg, sizeof msg,
                 "OPTIONS sip:probe@127.0.0.1:%d SIP/2.0\r\n"
                 "Via: SIP/2.0/UDP 127.0.0.3:%d;branch=z9hG4bK-%s;rport\r\n"
                 "Max-Forwards: 70\r\nFrom: <sip:probe@127.0.0.3>;tag=p\r\n"
                 "To: <sip:probe@127.0.0.1>\r\nCall-ID: %s\r\nCSeq: 1 OPTIONS\r\n"
                 "Content-Length: 0\r\n\r\n",
                 g.port, g.prober_port, callid, callid);
    fuzz_drain(g.prober);
    send_to_us(g.prober, msg, (size_t)n);
    while (now_ms() < end) {
        run(20);
        ssize_t r;
        while ((r = recv(g.prober, buf, sizeof buf - 1, MSG_DONTWAIT)) > 0) {
            buf[r] = '\0';
            if (strncmp(buf, "SIP/2.0 200 ", 12) == 0 && strstr(buf, callid))
                return;
            if (getenv("FUZZ_SIP_DEBUG"))
                fprintf(stderr, "prober got: %.200s\n", buf);
        }
    }
    fprintf(stderr, "fuzz-sip: no 200 to OPTIONS after %lu inputs\n", g.inputs);
    abort();
}

/* Calls the fuzzer left open end, oldest first, so that they stay few. */
static void trim_sessions(unsigned keep)
{
    while (g.n_sessions > keep) {
        sipnat_session *s = g.sessions[0];
        int st = sipnat_session_get_state(s);
        memmove(g.sessions, g.sessions + 1, --g.n_sessions * sizeof g.sessions[0]);
        if (st == SIPNAT_SESSION_INCOMING || st == SIPNAT_SESSION_RINGING)
            (void)sipnat_session_reject(s, 480);
        else if (st != SIPNAT_SESSION_TERMINATED)
            (void)sipnat_session_hangup(s);
        sipnat_session_unref(s);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!g.ctx)
        setup();
    if (size < 1)
        return 0;
    send_to_us(g.client[data[0] & 1], data + 1, size - 1);
    run(0);
    fuzz_drain(g.client[0]);
    fuzz_drain(g.client[1]);
    trim_sessions(MAX_SESSIONS / 2);
    if (++g.inputs % ALIVE_EVERY == 0)
        still_alive();
    return 0;
}
