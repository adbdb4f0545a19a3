/* libsipnat tests - calls behind STUN (sipnat_transport_cfg_set_stun_server):
 * a STUN server of the test on 127.0.0.1 reports a NAT's mapping for each
 * media socket (198.51.100.9, its port + 10000, RTCP + 10006); the SDP
 * that reaches the mock peer names that mapping, forged or malformed
 * answers are refused and counted, a silent server costs the SDP its
 * mapping but not the call, and the policy explains where the address
 * came from. */
#include "testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAPPED_IP 0xc6336409u /* 198.51.100.9 */

/* -- a STUN server (RFC 8489 Binding, FINGERPRINT) of the test -------- */

typedef struct stun_server {
    int fd, port;
    int other_fd;         /* a second socket: answers from the wrong source */
    bool silent;          /* never answer */
    bool garbage;         /* forged and damaged answers before each good one */
    unsigned requests;
    unsigned shift_after; /* requests answered before the NAT's mapping moves */
} stun_server;

static uint32_t crc32_of(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;

    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (0xedb88320u & (0u - (c & 1u)));
    }
    return ~c;
}

static void put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
    put16(p, v >> 16);
    put16(p + 2, v & 0xffff);
}

/* A success response to `req` naming ip:port; its length. */
static size_t stun_answer(const uint8_t *req, uint8_t *out, uint32_t ip, unsigned port)
{
    put16(out, 0x0101);
    put16(out + 2, 12 + 8);
    memcpy(out + 4, req + 4, 16); /* cookie and transaction ID */
    put16(out + 20, 0x0020);      /* XOR-MAPPED-ADDRESS */
    put16(out + 22, 8);
    out[24] = 0;
    out[25] = 1;
    put16(out + 26, port ^ 0x2112);
    put32(out + 28, ip ^ 0x2112a442u);
    put16(out + 32, 0x8028); /* FINGERPRINT */
    put16(out + 34, 4);
    put32(out + 36, crc32_of(out, 32) ^ 0x5354554eu);
    return 40;
}

static int udp_socket(int *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

    ck_assert_int_ge(fd, 0);
    ck_assert_ok(bind(fd, (struct sockaddr *)&a, sizeof a));
    ck_assert_ok(getsockname(fd, (struct sockaddr *)&a, &len));
    *port = ntohs(a.sin_port);
    return fd;
}

static void stun_open(stun_server *st)
{
    int other;

    memset(st, 0, sizeof *st);
    st->fd = udp_socket(&st->port);
    st->other_fd = udp_socket(&other);
}

static void stun_close(stun_server *st)
{
    close(st->fd);
    close(st->other_fd);
}

static void stun_serve(stun_server *st)
{
    uint8_t req[512], out[64];
    struct sockaddr_in from;
    socklen_t flen = sizeof from;
    ssize_t n;

    while ((n = recvfrom(st->fd, req, sizeof req, 0, (struct sockaddr *)&from, &flen)) > 0) {
        if (n < 20 || req[0] != 0 || req[1] != 1)
            continue;
        st->requests++;
        if (st->silent)
            continue;
        unsigned sport = ntohs(from.sin_port);
        unsigned mport = sport + (sport % 2 ? 10006 : 10000);
        if (st->shift_after && st->requests > st->shift_after)
            mport += 100; /* the NAT forgot us and mapped us anew */
        size_t len = stun_answer(req, out, MAPPED_IP, mport);
        if (st->garbage) {
            uint8_t bad[64];
            /* The mapped port changed in flight: FINGERPRINT fails. */
            memcpy(bad, out, len);
            bad[27] ^= 1;
            sendto(st->fd, bad, len, 0, (struct sockaddr *)&from, flen);
            /* Another transaction's answer. */
            memcpy(bad, out, len);
            bad[19] ^= 1;
            put32(bad + 36, crc32_of(bad, 32) ^ 0x5354554eu);
            sendto(st->fd, bad, len, 0, (struct sockaddr *)&from, flen);
            /* The right answer from a source that is not the server. */
            sendto(st->other_fd, out, len, 0, (struct sockaddr *)&from, flen);
        }
        sendto(st->fd, out, len, 0, (struct sockaddr *)&from, flen);
    }
}

/* -- the library's side ----------------------------------------------- */

typedef struct call_log {
    int n;
    int last_state;
    int last_status;
    bool established;
    sipnat_session *incoming; /* referenced */
} call_log;

static void on_event(const sipnat_event *ev, void *ud)
{
    call_log *l = ud;

    l->n++;
    l->last_state = ev->state;
    l->last_status = ev->status;
    if (ev->state == SIPNAT_SESSION_ESTABLISHED)
        l->established = true;
}

static void on_incoming(sipnat_session *s, void *ud)
{
    call_log *l = ud;

    l->incoming = sipnat_session_ref(s);
    ck_assert_ok(sipnat_session_set_event_func(s, on_event, l));
    /* Answered at once: the 200 waits for STUN all the same. */
    ck_assert_ok(sipnat_session_answer(s));
    ck_assert_int_eq(sipnat_session_answer(s), -EALREADY);
}

static char log_lines[8192];

static void on_log(sipnat_ctx *ctx, int prio, const char *domain, const char *msg,
                   void *ud)
{
    (void)ctx;
    (void)prio;
    (void)ud;
    size_t l = strlen(log_lines);
    snprintf(log_lines + l, sizeof log_lines - l, "%s: %s\n", domain, msg);
}

typedef struct rig {
    sipnat_ctx *ctx;
    sipnat_policy *pol;
    sipnat_transport *t;
    sipnat_endpoint *ep;
    mock_peer peer;
    stun_server st;
} rig;

static void rig_open(rig *r, call_log *incoming)
{
    sipnat_transport_cfg *cfg;
    sipnat_endpoint_cfg *ec;

    log_lines[0] = '\0';
    stun_open(&r->st);
    mock_peer_open(&r->peer, 200);
    ck_assert_ok(sipnat_ctx_new(&r->ctx));
    sipnat_ctx_set_log_func(r->ctx, on_log, NULL);
    sipnat_ctx_set_log_level(r->ctx, SIPNAT_LOG_INFO);
    /* Static, no external_*: STUN is the only source of a public address. */
    ck_assert_ok(sipnat_policy_new(&r->pol, SIPNAT_POLICY_STATIC));
    ck_assert_ok(sipnat_transport_cfg_new(&cfg));
    ck_assert_ok(sipnat_transport_cfg_set_bind(cfg, "127.0.0.1", 0));
    ck_assert_ok(sipnat_transport_cfg_set_rtp_ports(cfg, 42000, 42999));
    ck_assert_ok(sipnat_transport_cfg_set_policy(cfg, r->pol));
    ck_assert_int_eq(sipnat_transport_cfg_set_stun_server(cfg, "stun.example.com", 0),
                     -EINVAL);
    ck_assert_int_eq(sipnat_transport_cfg_set_stun_server(cfg, "127.0.0.1", 65536),
                     -EINVAL);
    ck_assert_int_eq(sipnat_transport_cfg_set_stun_server(NULL, "127.0.0.1", 0), -EINVAL);
    ck_assert_ok(sipnat_transport_cfg_set_stun_server(cfg, "127.0.0.1", r->st.port));
    ck_assert_ok(sipnat_transport_new(&r->t, r->ctx, cfg));
    sipnat_transport_cfg_free(cfg);
    ck_assert_ok(sipnat_endpoint_cfg_new(&ec));
    ck_assert_ok(sipnat_endpoint_cfg_set_name(ec, "peer"));
    ck_assert_ok(sipnat_endpoint_cfg_add_match(ec, "127.0.0.1"));
    ck_assert_ok(sipnat_endpoint_cfg_set_codecs(ec, "ulaw"));
    if (incoming)
        ck_assert_ok(sipnat_endpoint_cfg_set_incoming_func(ec, on_incoming, incoming));
    ck_assert_ok(sipnat_endpoint_new(&r->ep, r->t, ec));
    sipnat_endpoint_cfg_free(ec);
    snprintf(r->peer.sdp, sizeof r->peer.sdp, "%s",
             "v=0\r\no=mock 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
             "t=0 0\r\nm=audio 7000 RTP/AVP 0\r\na=sendrecv\r\n");
}

static void rig_close(rig *r)
{
    sipnat_endpoint_unref(r->ep);
    sipnat_transport_unref(r->t);
    sipnat_policy_unref(r->pol);
    sipnat_ctx_unref(r->ctx);
    mock_peer_close(&r->peer);
    stun_close(&r->st);
}

/* Run the loop, the peer and the STUN server for up to ms, or until *flag. */
static void pump(rig *r, const bool *flag, int ms)
{
    for (int k = 0; k < ms / 10 && !(flag && *flag); k++) {
        run_pull(r->ctx, &r->peer, NULL, 10);
        stun_serve(&r->st);
    }
}

/* Call the mock peer through the rig. */
static sipnat_session *call_peer(rig *r, call_log *log)
{
    sipnat_session *s;
    char uri[64];

    snprintf(uri, sizeof uri, "sip:6001@127.0.0.1:%d", r->peer.port);
    ck_assert_ok(sipnat_session_call(&s, r->ep, uri, on_event, log));
    ck_assert_int_eq(sipnat_session_get_state(s), SIPNAT_SESSION_CALLING);
    return s;
}

/* Hang up (when not done yet), let the BYE go, and take the rig down. */
static void end_and_close(rig *r, sipnat_session *s)
{
    if (sipnat_session_get_state(s) != SIPNAT_SESSION_TERMINATED)
        ck_assert_ok(sipnat_session_hangup(s));
    pump(r, NULL, 300);
    sipnat_session_unref(s);
    rig_close(r);
}

/* The m= port of an SDP body. */
static int m_port(const char *msg)
{
    const char *m = strstr(msg, "m=audio ");

    ck_assert_ptr_nonnull(m);
    return atoi(m + 8);
}

static int local_port(sipnat_session *s)
{
    char addr[SIPNAT_ADDRSTRLEN];
    int port = 0;

    ck_assert_ok(sipnat_anchor_get_local(sipnat_session_get_anchor(s), addr, &port));
    return port;
}

START_TEST(test_stun_outgoing)
{
    rig r;
    call_log log = {0};
    char want[128], why[512];

    rig_open(&r, NULL);
    r.st.garbage = true;
    sipnat_session *s = call_peer(&r, &log);
    pump(&r, &log.established, 3000);
    ck_assert_msg(log.established, "requests %u, log:\n%s", r.st.requests, log_lines);
    /* Both sockets asked once; their answers came before the INVITE. */
    ck_assert_uint_eq(r.st.requests, 2);
    int local = local_port(s);
    const char *sdp = strstr(r.peer.last_invite, "\r\n\r\nv=0");
    ck_assert_ptr_nonnull(sdp);
    ck_assert_ptr_nonnull(strstr(sdp, "c=IN IP4 198.51.100.9\r\n"));
    ck_assert_int_eq(m_port(sdp), local + 10000);
    snprintf(want, sizeof want, "a=rtcp:%d IN IP4 198.51.100.9", local + 1 + 10006);
    ck_assert_ptr_nonnull(strstr(sdp, want));
    /* No local address in the SDP; Via and Contact name STUN's address
     * with the transport's own port. */
    ck_assert_ptr_null(strstr(sdp, "127.0.0.1"));
    snprintf(want, sizeof want, "Via: SIP/2.0/UDP 198.51.100.9:%d;",
             sipnat_transport_get_port(r.t));
    ck_assert_msg(strstr(r.peer.last_invite, want) != NULL, "%s", r.peer.last_invite);
    snprintf(want, sizeof want, "198.51.100.9:%d", sipnat_transport_get_port(r.t));
    ck_assert_msg(strstr(strstr(r.peer.last_invite, "\r\nContact: "), want) != NULL, "%s",
                  r.peer.last_invite);
    /* The forged and damaged answers were refused and counted. */
    sipnat_anchor_stats st = {.size = sizeof st};
    ck_assert_ok(sipnat_anchor_get_stats(sipnat_session_get_anchor(s), &st));
    ck_assert_uint_eq(st.rx_stun, 2);
    ck_assert_uint_eq(st.dropped_stun, 6);
    ck_assert_uint_eq(st.dropped_malformed, 0);
    /* Why the peer sees this address. */
    ck_assert_int_gt(sipnat_transport_explain(r.t, "203.0.113.1", why, sizeof why), 0);
    snprintf(want, sizeof want, "learned by STUN from 127.0.0.1:%d at ", r.st.port);
    ck_assert_msg(strstr(why, want) && strstr(why, "media 198.51.100.9"), "%s", why);
    char pwhy[512];
    ck_assert_int_gt(sipnat_policy_explain(r.pol, "203.0.113.1", "192.0.2.10", 5060, pwhy,
                                           sizeof pwhy),
                     0);
    ck_assert_msg(strstr(pwhy, want) != NULL, "%s", pwhy);
    ck_assert_ptr_nonnull(strstr(log_lines, "is 198.51.100.9:"));
    end_and_close(&r, s);
}
END_TEST

/* A server that never answers: the INVITE goes out once STUN gives up,
 * naming the local address and port, and a log line says so. */
START_TEST(test_stun_timeout)
{
    rig r;
    call_log log = {0};

    rig_open(&r, NULL);
    r.st.silent = true;
    sipnat_session *s = call_peer(&r, &log);
    pump(&r, &log.established, 5000);
    ck_assert(log.established);
    ck_assert_uint_eq(r.st.requests, 6); /* 3 tries per socket */
    const char *sdp = strstr(r.peer.last_invite, "\r\n\r\nv=0");
    ck_assert_ptr_nonnull(sdp);
    ck_assert_ptr_nonnull(strstr(sdp, "c=IN IP4 127.0.0.1\r\n"));
    ck_assert_int_eq(m_port(sdp), local_port(s));
    char want[64];
    snprintf(want, sizeof want, "a=rtcp:%d", local_port(s) + 1);
    ck_assert_ptr_nonnull(strstr(sdp, want));
    ck_assert_msg(strstr(log_lines, "no answer from 127.0.0.1:") != NULL, "%s", log_lines);
    ck_assert_ptr_nonnull(strstr(log_lines, "no mapping from"));
    end_and_close(&r, s);
}
END_TEST

/* Hung up while the INVITE waits for STUN: nothing was sent, nothing is. */
START_TEST(test_stun_hangup_waiting)
{
    rig r;
    call_log log = {0};

    rig_open(&r, NULL);
    r.st.silent = true;
    sipnat_session *s = call_peer(&r, &log);
    ck_assert_ok(sipnat_session_hangup(s));
    ck_assert_int_eq(log.last_state, SIPNAT_SESSION_TERMINATED);
    ck_assert_int_eq(log.last_status, 487);
    ck_assert_int_eq(sipnat_session_hangup(s), -EALREADY);
    pump(&r, NULL, 1200);
    ck_assert_uint_eq(r.peer.n_requests, 0);
    sipnat_session_unref(s);
    rig_close(&r);
}
END_TEST

/* An INVITE from the peer, answered at once by the host: the 200 goes
 * out when STUN answered, naming the mapping. */
START_TEST(test_stun_incoming)
{
    rig r;
    call_log log = {0};
    char msg[2048], want[96];
    const char *offer = "v=0\r\no=mock 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
                        "t=0 0\r\nm=audio 7000 RTP/AVP 0\r\na=sendrecv\r\n";

    rig_open(&r, &log);
    int port = sipnat_transport_get_port(r.t);
    snprintf(msg, sizeof msg,
             "INVITE sip:19998887777@127.0.0.1:%d SIP/2.0\r\n"
             "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-stun-in;rport\r\n"
             "Max-Forwards: 70\r\nFrom: <sip:2025550100@127.0.0.1>;tag=caller\r\n"
             "To: <sip:19998887777@127.0.0.1>\r\nCall-ID: stun-in\r\nCSeq: 1 INVITE\r\n"
             "Contact: <sip:2025550100@127.0.0.1:%d>\r\n"
             "Content-Type: application/sdp\r\nContent-Length: %zu\r\n\r\n%s",
             port, r.peer.port, r.peer.port, strlen(offer), offer);
    mock_peer_send_raw(&r.peer, port, msg, "stun-in");
    for (int k = 0; k < 300 && r.peer.awaited_status == 0; k++) {
        run_pull(r.ctx, &r.peer, NULL, 10);
        stun_serve(&r.st);
    }
    ck_assert_int_eq(r.peer.awaited_status, 200);
    ck_assert(log.established);
    ck_assert_ptr_nonnull(log.incoming);
    const char *sdp = strstr(r.peer.last_response, "\r\n\r\nv=0");
    ck_assert_ptr_nonnull(sdp);
    int local = local_port(log.incoming);
    ck_assert_ptr_nonnull(strstr(sdp, "c=IN IP4 198.51.100.9\r\n"));
    ck_assert_int_eq(m_port(sdp), local + 10000);
    snprintf(want, sizeof want, "a=rtcp:%d IN IP4 198.51.100.9", local + 1 + 10006);
    ck_assert_ptr_nonnull(strstr(sdp, want));
    snprintf(want, sizeof want, "Contact: <sip:198.51.100.9:%d", port);
    ck_assert_msg(strstr(r.peer.last_response, want) != NULL, "%s", r.peer.last_response);
    /* The path toward the peer was opened at once: one comfort noise
     * packet to its SDP address (RFC 6263), before any RTP of ours. */
    sipnat_anchor_stats st = {.size = sizeof st};
    ck_assert_ok(sipnat_anchor_get_stats(sipnat_session_get_anchor(log.incoming), &st));
    ck_assert_uint_ge(st.tx_packets, 1);
    ck_assert_uint_eq(st.rx_stun, 2);
    end_and_close(&r, log.incoming);
}
END_TEST

/* While the call lasts each socket asks again (every 20 s): the mapping is
 * kept fresh, and a moved one reaches the peer in one re-INVITE naming the
 * new ports (the same refresh again sends nothing more). */
START_TEST(test_stun_refresh)
{
    rig r;
    call_log log = {0};
    char want[96];

    rig_open(&r, NULL);
    r.st.shift_after = 2;
    sipnat_session *s = call_peer(&r, &log);
    pump(&r, &log.established, 3000);
    ck_assert(log.established);
    ck_assert_uint_eq(r.st.requests, 2);
    ck_assert_uint_eq(r.peer.n_invite, 1);
    int local = local_port(s);
    ck_assert_int_eq(m_port(r.peer.last_invite), local + 10000);
    pump(&r, NULL, 21000);
    ck_assert_uint_eq(r.st.requests, 4);
    ck_assert_msg(strstr(log_lines, "our address changed: re-INVITE") != NULL, "%s", log_lines);
    sipnat_anchor_stats st = {.size = sizeof st};
    ck_assert_ok(sipnat_anchor_get_stats(sipnat_session_get_anchor(s), &st));
    ck_assert_uint_eq(st.rx_stun, 4);
    ck_assert_uint_eq(st.dropped_stun, 0);
    ck_assert_uint_eq(r.peer.n_invite, 2);
    ck_assert_int_eq(m_port(r.peer.last_invite), local + 10100);
    snprintf(want, sizeof want, "a=rtcp:%d IN IP4 198.51.100.9", local + 1 + 10106);
    ck_assert_msg(strstr(r.peer.last_invite, want) != NULL, "%s", r.peer.last_invite);
    end_and_close(&r, s);
}
END_TEST

Suite *stun_calls_suite(void)
{
    Suite *s = suite_create("stun_calls");
    TCase *tc = tcase_create("stun");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_stun_outgoing);
    tcase_add_test(tc, test_stun_timeout);
    tcase_add_test(tc, test_stun_hangup_waiting);
    tcase_add_test(tc, test_stun_incoming);
    tcase_add_test(tc, test_stun_refresh);
    suite_add_tcase(s, tc);
    return s;
}
