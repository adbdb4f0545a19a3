/* libsipnat tests - transports and the OPTIONS request. */
#include "testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

START_TEST(test_cfg)
{
    sipnat_transport_cfg *cfg;

    ck_assert_int_eq(sipnat_transport_cfg_new(NULL), -EINVAL);
    ck_assert_ok(sipnat_transport_cfg_new(&cfg));
    ck_assert_int_eq(sipnat_transport_cfg_set_protocol(NULL, SIPNAT_PROTOCOL_UDP), -EINVAL);
    ck_assert_int_eq(sipnat_transport_cfg_set_protocol(cfg, 0), -EINVAL);
    ck_assert_int_eq(sipnat_transport_cfg_set_protocol(cfg, 4), -EINVAL);
    ck_assert_ok(sipnat_transport_cfg_set_protocol(cfg, SIPNAT_PROTOCOL_TCP));
    ck_assert_ok(sipnat_transport_cfg_set_protocol(cfg, SIPNAT_PROTOCOL_UDP));
    ck_assert_int_eq(sipnat_transport_cfg_set_bind(NULL, "127.0.0.1", 0), -EINVAL);
    ck_assert_int_eq(sipnat_transport_cfg_set_bind(cfg, NULL, 0), -EINVAL);
    ck_assert_int_eq(sipnat_transport_cfg_set_bind(cfg, "127.0.0.1", -1), -EINVAL);
    ck_assert_int_eq(sipnat_transport_cfg_set_bind(cfg, "127.0.0.1", 65536), -EINVAL);
    ck_assert_int_eq(sipnat_transport_cfg_set_bind(cfg, "localhost", 0), -EINVAL);
    ck_assert_int_eq(sipnat_transport_cfg_set_bind(cfg, "127.0.0.256", 0), -EINVAL);
    ck_assert_int_eq(sipnat_transport_cfg_set_keepalive(NULL, 30), -EINVAL);
    ck_assert_int_eq(sipnat_transport_cfg_set_keepalive(cfg, 86401), -EINVAL);
    ck_assert_int_eq(sipnat_transport_cfg_set_keepalive(cfg, 86400), 0);
    ck_assert_int_eq(sipnat_transport_cfg_set_keepalive(cfg, 0), 0);
    ck_assert_int_eq(sipnat_transport_cfg_set_bind(cfg, "", 0), -EINVAL);
    ck_assert_int_eq(sipnat_transport_cfg_set_bind(cfg, "[::1]", 0), -EINVAL);
    ck_assert_ok(sipnat_transport_cfg_set_bind(cfg, "::1", 65535));
    ck_assert_ok(sipnat_transport_cfg_set_bind(cfg, "0.0.0.0", 0));
    ck_assert_ptr_null(sipnat_transport_cfg_free(cfg));
    ck_assert_ptr_null(sipnat_transport_cfg_free(NULL));
}
END_TEST

static sipnat_transport *open_on(sipnat_ctx *ctx, const char *addr, int port,
                                 sipnat_protocol proto, int *err)
{
    sipnat_transport *t = NULL;
    sipnat_transport_cfg *cfg;

    ck_assert_ok(sipnat_transport_cfg_new(&cfg));
    ck_assert_ok(sipnat_transport_cfg_set_bind(cfg, addr, port));
    ck_assert_ok(sipnat_transport_cfg_set_protocol(cfg, proto));
    *err = sipnat_transport_new(&t, ctx, cfg);
    sipnat_transport_cfg_free(cfg);
    return t;
}

/* The real port and address come back, as the kernel sees them. */
static void assert_bound(sipnat_transport *t, int family, const char *addr,
                         int type)
{
    char buf[SIPNAT_ADDRSTRLEN];
    int port = sipnat_transport_get_port(t);

    ck_assert_int_gt(port, 0);
    ck_assert_int_lt(port, 65536);
    ck_assert_int_eq(sipnat_transport_get_address(t, buf, sizeof buf),
                     (int)strlen(addr));
    ck_assert_str_eq(buf, addr);
    /* Someone else binding the same port and protocol fails. */
    int s = socket(family, type, 0);
    struct sockaddr_storage ss = {0};
    socklen_t len;
    if (family == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)&ss;
        a->sin_family = AF_INET;
        a->sin_port = htons((uint16_t)port);
        inet_pton(AF_INET, addr, &a->sin_addr);
        len = sizeof *a;
    } else {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
        a->sin6_family = AF_INET6;
        a->sin6_port = htons((uint16_t)port);
        inet_pton(AF_INET6, addr, &a->sin6_addr);
        len = sizeof *a;
    }
    ck_assert_int_eq(bind(s, (struct sockaddr *)&ss, len), -1);
    ck_assert_int_eq(errno, EADDRINUSE);
    close(s);
}

START_TEST(test_bind_variants)
{
    sipnat_ctx *ctx;
    sipnat_transport *t;
    int err;
    char small[4];

    ck_assert_ok(sipnat_ctx_new(&ctx));

    t = open_on(ctx, "127.0.0.1", 0, SIPNAT_PROTOCOL_UDP, &err);
    ck_assert_ok(err);
    assert_bound(t, AF_INET, "127.0.0.1", SOCK_DGRAM);
    ck_assert_int_eq(sipnat_transport_get_protocol(t), SIPNAT_PROTOCOL_UDP);
    ck_assert_int_eq(sipnat_transport_get_address(t, small, sizeof small), -ENOSPC);
    ck_assert_int_eq(sipnat_transport_get_address(t, NULL, 64), -EINVAL);
    ck_assert_ptr_eq(sipnat_transport_ref(t), t);
    sipnat_transport_unref(t);
    sipnat_transport_unref(t);

    t = open_on(ctx, "127.0.0.1", 0, SIPNAT_PROTOCOL_TCP, &err);
    ck_assert_ok(err);
    assert_bound(t, AF_INET, "127.0.0.1", SOCK_STREAM);
    ck_assert_int_eq(sipnat_transport_get_protocol(t), SIPNAT_PROTOCOL_TCP);
    sipnat_transport_unref(t);

    t = open_on(ctx, "::1", 0, SIPNAT_PROTOCOL_UDP, &err);
    ck_assert_ok(err);
    assert_bound(t, AF_INET6, "::1", SOCK_DGRAM);
    sipnat_transport_unref(t);

    t = open_on(ctx, "::1", 0, SIPNAT_PROTOCOL_TCP, &err);
    ck_assert_ok(err);
    assert_bound(t, AF_INET6, "::1", SOCK_STREAM);
    sipnat_transport_unref(t);

    sipnat_ctx_unref(ctx);
}
END_TEST

START_TEST(test_bind_errors)
{
    sipnat_ctx *ctx;
    sipnat_transport *t, *t2;
    int err;

    ck_assert_ok(sipnat_ctx_new(&ctx));
    ck_assert_int_eq(sipnat_transport_new(NULL, ctx, NULL), -EINVAL);
    t = (sipnat_transport *)1;
    ck_assert_int_eq(sipnat_transport_new(&t, NULL, NULL), -EINVAL);
    ck_assert_ptr_null(t);

    /* A fixed port already taken: the bind error itself comes back. */
    t = open_on(ctx, "127.0.0.1", 0, SIPNAT_PROTOCOL_UDP, &err);
    ck_assert_ok(err);
    t2 = open_on(ctx, "127.0.0.1", sipnat_transport_get_port(t),
                 SIPNAT_PROTOCOL_UDP, &err);
    ck_assert_int_eq(err, -EADDRINUSE);
    ck_assert_ptr_null(t2);
    /* An address this host does not have. */
    t2 = open_on(ctx, "192.0.2.123", 0, SIPNAT_PROTOCOL_UDP, &err);
    ck_assert_int_eq(err, -EADDRNOTAVAIL);
    ck_assert_ptr_null(t2);
    /* A fixed, free port works and is the one asked for. */
    int port = sipnat_transport_get_port(t);
    sipnat_transport_unref(t);
    run_pull(ctx, NULL, NULL, 100); /* let the shutdown finish */
    t = open_on(ctx, "127.0.0.1", port, SIPNAT_PROTOCOL_UDP, &err);
    ck_assert_ok(err);
    ck_assert_int_eq(sipnat_transport_get_port(t), port);
    sipnat_transport_unref(t);

    ck_assert_int_eq(sipnat_transport_get_port(NULL), -EINVAL);
    ck_assert_int_eq(sipnat_transport_get_protocol(NULL), -EINVAL);
    ck_assert_ptr_null(sipnat_transport_ref(NULL));
    ck_assert_ptr_null(sipnat_transport_unref(NULL));
    ck_assert_int_eq(sipnat_transport_shutdown(NULL, NULL, NULL), -EINVAL);
    ck_assert_int_eq(sipnat_transport_send_options(NULL, "sip:a@b", NULL, NULL), -EINVAL);
    sipnat_ctx_unref(ctx);
}
END_TEST

START_TEST(test_options_bad_uri)
{
    sipnat_ctx *ctx;
    sipnat_transport *t;
    int err;
    static const char *const bad[] = {
        "", "http://example.com/", "sip:", "not a uri", "tel:+123",
        "sip:@", "mailto:a@b",
    };
    char longuri[4096];

    ck_assert_ok(sipnat_ctx_new(&ctx));
    t = open_on(ctx, "127.0.0.1", 0, SIPNAT_PROTOCOL_UDP, &err);
    ck_assert_ok(err);
    ck_assert_int_eq(sipnat_transport_send_options(t, NULL, NULL, NULL), -EINVAL);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(sipnat_transport_send_options(t, bad[i], NULL, NULL) == -EINVAL,
                      "accepted %s", bad[i]);
    memset(longuri, 'a', sizeof longuri - 1);
    memcpy(longuri, "sip:", 4);
    longuri[sizeof longuri - 1] = '\0';
    ck_assert_int_eq(sipnat_transport_send_options(t, longuri, NULL, NULL), -EINVAL);
    sipnat_transport_unref(t);
    sipnat_ctx_unref(ctx);
}
END_TEST

/* Whatever status the peer answers is what the event says. */
START_TEST(test_options_status)
{
    sipnat_ctx *ctx;
    sipnat_transport *t;
    mock_peer peer;
    event_log ev = {0};
    char uri[64];
    int err;

    mock_peer_open(&peer, 404);
    ck_assert_ok(sipnat_ctx_new(&ctx));
    t = open_on(ctx, "127.0.0.1", 0, SIPNAT_PROTOCOL_UDP, &err);
    ck_assert_ok(err);
    snprintf(uri, sizeof uri, "sip:nobody@127.0.0.1:%d", peer.port);
    ck_assert_ok(sipnat_transport_send_options(t, uri, record_event, &ev));
    run_pull(ctx, &peer, &ev.n, 5000);
    ck_assert_int_eq(ev.n, 1);
    ck_assert_int_eq(ev.status, 404);
    ck_assert_str_eq(ev.phrase, "Test Status");
    /* A NULL callback is allowed: fire and forget. */
    ck_assert_ok(sipnat_transport_send_options(t, uri, NULL, NULL));
    run_pull(ctx, &peer, NULL, 300);
    ck_assert_uint_eq(peer.n_requests, 2);
    sipnat_transport_unref(t);
    sipnat_ctx_unref(ctx);
    mock_peer_close(&peer);
}
END_TEST

/* A request without an answer ends with -ECANCELED when the transport
 * shuts down; exactly one event each, the shutdown event after. */
START_TEST(test_shutdown_cancels)
{
    sipnat_ctx *ctx;
    sipnat_transport *t;
    mock_peer peer;
    event_log ev = {0}, sev = {0};
    char uri[64];
    int err;

    mock_peer_open(&peer, 0); /* never answers */
    ck_assert_ok(sipnat_ctx_new(&ctx));
    t = open_on(ctx, "127.0.0.1", 0, SIPNAT_PROTOCOL_UDP, &err);
    ck_assert_ok(err);
    snprintf(uri, sizeof uri, "sip:silent@127.0.0.1:%d", peer.port);
    ck_assert_ok(sipnat_transport_send_options(t, uri, record_event, &ev));
    run_pull(ctx, &peer, NULL, 200);
    ck_assert_uint_ge(peer.n_requests, 1);
    ck_assert_int_eq(ev.n, 0);
    ck_assert_ok(sipnat_transport_shutdown(t, record_event, &sev));
    ck_assert_int_eq(sipnat_transport_send_options(t, uri, NULL, NULL), -ESHUTDOWN);
    run_pull(ctx, &peer, &sev.n, 5000);
    ck_assert_int_eq(ev.n, 1);
    ck_assert_int_eq(ev.status, 0);
    ck_assert_int_eq(ev.error, -ECANCELED);
    ck_assert_int_eq(sev.n, 1);
    ck_assert_int_eq(sev.type, SIPNAT_EVENT_SHUTDOWN);
    ck_assert_int_eq(sipnat_transport_shutdown(t, NULL, NULL), -EALREADY);
    run_pull(ctx, &peer, NULL, 200);
    ck_assert_int_eq(ev.n, 1);
    sipnat_transport_unref(t);
    sipnat_ctx_unref(ctx);
    mock_peer_close(&peer);
}
END_TEST

/* OPTIONS over TCP to a peer that does not listen: a final failure
 * status, not a hang. */
START_TEST(test_options_unreachable_tcp)
{
    sipnat_ctx *ctx;
    sipnat_transport *t;
    event_log ev = {0};
    int err;

    char uri[96];
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t alen = sizeof a;
    /* A port this test holds bound but never listens on: refused. */
    int s = socket(AF_INET, SOCK_STREAM, 0);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(getsockname(s, (struct sockaddr *)&a, &alen), 0);
    snprintf(uri, sizeof uri, "sip:x@127.0.0.1:%d;transport=tcp", ntohs(a.sin_port));

    ck_assert_ok(sipnat_ctx_new(&ctx));
    t = open_on(ctx, "127.0.0.1", 0, SIPNAT_PROTOCOL_TCP, &err);
    ck_assert_ok(err);
    ck_assert_ok(sipnat_transport_send_options(t, uri, record_event, &ev));
    run_pull(ctx, NULL, &ev.n, 10000);
    ck_assert_int_eq(ev.n, 1);
    ck_assert_int_eq(ev.status, 503); /* the stack's own, immediate answer */
    close(s);
    sipnat_transport_unref(t);
    sipnat_ctx_unref(ctx);
}
END_TEST

/* Requests arriving at a bare transport get a final answer each, and no
 * handle is left behind (ASan would see it at unref). */

START_TEST(test_incoming_requests)
{
    sipnat_ctx *ctx;
    sipnat_transport *t;
    mock_peer peer;
    int err, port, flag = 0;
    static const struct { const char *method, *extra, *body; int lo, hi; } req[] = {
        {"OPTIONS", NULL, NULL, 200, 200},
        {"MESSAGE", "Content-Type: text/plain\r\n", "hello", 200, 299},
        {"INVITE", "Content-Type: application/sdp\r\n",
         "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
         "t=0 0\r\nm=audio 4000 RTP/AVP 0\r\n", 480, 480},
        {"REGISTER", NULL, NULL, 400, 699},
    };

    mock_peer_open(&peer, 0);
    ck_assert_ok(sipnat_ctx_new(&ctx));
    t = open_on(ctx, "127.0.0.1", 0, SIPNAT_PROTOCOL_UDP, &err);
    ck_assert_ok(err);
    port = sipnat_transport_get_port(t);
    for (size_t i = 0; i < sizeof req / sizeof req[0]; i++) {
        mock_peer_send_request(&peer, port, req[i].method, req[i].extra, req[i].body);
        for (int k = 0; k < 100 && peer.awaited_status == 0; k++)
            run_pull(ctx, &peer, &flag, 20);
        ck_assert_msg(peer.awaited_status >= req[i].lo && peer.awaited_status <= req[i].hi,
                      "%s answered %d", req[i].method, peer.awaited_status);
    }
    sipnat_transport_unref(t);
    sipnat_ctx_unref(ctx);
    mock_peer_close(&peer);
}
END_TEST

/* -- what the policy puts on the wire ------------------------------- */

static sipnat_transport *open_with_policy(sipnat_ctx *ctx, const char *addr,
                                          sipnat_policy *policy, int force_rport)
{
    sipnat_transport *t;
    sipnat_transport_cfg *cfg;

    ck_assert_ok(sipnat_transport_cfg_new(&cfg));
    ck_assert_ok(sipnat_transport_cfg_set_bind(cfg, addr, 0));
    ck_assert_ok(sipnat_transport_cfg_set_policy(cfg, policy));
    if (force_rport >= 0)
        ck_assert_ok(sipnat_transport_cfg_set_force_rport(cfg, force_rport));
    ck_assert_ok(sipnat_transport_new(&t, ctx, cfg));
    sipnat_transport_cfg_free(cfg); /* the transport keeps its own ref */
    return t;
}

static int ping(sipnat_ctx *ctx, sipnat_transport *t, mock_peer *peer)
{
    event_log ev = {0};
    char uri[64];

    snprintf(uri, sizeof uri, "sip:ping@127.0.0.1:%d", peer->port);
    ck_assert_ok(sipnat_transport_send_options(t, uri, record_event, &ev));
    run_pull(ctx, peer, &ev.n, 5000);
    ck_assert_int_eq(ev.n, 1);
    return ev.status;
}

/* Header line `name` of a message, without the name. */
static const char *header(const char *msg, const char *name, char *buf, size_t size)
{
    char key[64];
    const char *p, *e;

    snprintf(key, sizeof key, "\r\n%s: ", name);
    p = strstr(msg, key);
    ck_assert_msg(p != NULL, "no %s in %s", name, msg);
    p += strlen(key);
    e = strstr(p, "\r\n");
    snprintf(buf, size, "%.*s", (int)(e ? e - p : (long)strlen(p)), p);
    return buf;
}

START_TEST(test_policy_static_on_wire)
{
    sipnat_ctx *ctx;
    sipnat_policy *pol;
    sipnat_transport *t;
    mock_peer peer;
    char via[256], contact[256], from[256], want[128], line[256];

    mock_peer_open(&peer, 200);
    ck_assert_ok(sipnat_ctx_new(&ctx));
    /* 127.0.0.1 is outside this local_net: it gets the external address. */
    ck_assert_ok(sipnat_policy_new(&pol, SIPNAT_POLICY_STATIC));
    ck_assert_ok(sipnat_policy_add_local_net(pol, "10.0.0.0/8"));
    ck_assert_ok(sipnat_policy_set_external_signaling_address(pol, "198.51.100.5", 0));
    t = open_with_policy(ctx, "127.0.0.1", pol, -1);
    sipnat_policy_unref(pol); /* the transport keeps it */
    int port = sipnat_transport_get_port(t);

    ck_assert_int_eq(ping(ctx, t, &peer), 200);
    header(peer.last_request, "Via", via, sizeof via);
    header(peer.last_request, "Contact", contact, sizeof contact);
    header(peer.last_request, "From", from, sizeof from);
    snprintf(want, sizeof want, "SIP/2.0/UDP 198.51.100.5:%d;rport;branch=", port);
    ck_assert_msg(strncmp(via, want, strlen(want)) == 0, "Via: %s", via);
    snprintf(want, sizeof want, "<sip:198.51.100.5:%d;transport=udp>", port);
    ck_assert_str_eq(contact, want);
    ck_assert_ptr_nonnull(strstr(from, "198.51.100.5"));
    /* The bound address:port appears nowhere in the request. */
    snprintf(want, sizeof want, "127.0.0.1:%d", port);
    ck_assert_msg(strstr(peer.last_request, want) == NULL, "%s in %s", want,
                  peer.last_request);

    ck_assert_int_gt(sipnat_transport_explain(t, "127.0.0.1", line, sizeof line), 0);
    ck_assert_ptr_nonnull(strstr(line, "198.51.100.5"));
    ck_assert_int_gt(sipnat_transport_explain(t, "10.1.2.3", line, sizeof line), 0);
    ck_assert_ptr_nonnull(strstr(line, "local_net 10.0.0.0/8"));
    ck_assert_int_eq(sipnat_transport_explain(t, "not-an-address", line, sizeof line), -EINVAL);
    ck_assert_int_eq(sipnat_transport_explain(t, "10.1.2.3", line, 5), -ENOSPC);
    ck_assert_int_eq(sipnat_transport_explain(NULL, "10.1.2.3", line, sizeof line), -EINVAL);
    ck_assert_int_eq(sipnat_transport_explain(t, NULL, line, sizeof line), -EINVAL);

    sipnat_transport_unref(t);
    sipnat_ctx_unref(ctx);
    mock_peer_close(&peer);
}
END_TEST

/* A learned policy takes received/rport from the answer, and the next
 * request advertises exactly that. */
START_TEST(test_policy_learned_on_wire)
{
    sipnat_ctx *ctx;
    sipnat_policy *pol;
    sipnat_transport *t;
    mock_peer peer;
    char via[256], contact[256], buf[64];
    int port = 0;

    mock_peer_open(&peer, 200);
    snprintf(peer.received, sizeof peer.received, "198.51.100.7");
    peer.rport = 40000;
    ck_assert_ok(sipnat_ctx_new(&ctx));
    ck_assert_ok(sipnat_policy_new(&pol, SIPNAT_POLICY_LEARNED));
    t = open_with_policy(ctx, "127.0.0.1", pol, -1);

    ck_assert_int_eq(ping(ctx, t, &peer), 200);
    header(peer.last_request, "Via", via, sizeof via);
    ck_assert_msg(strncmp(via, "SIP/2.0/UDP 127.0.0.1:", 22) == 0, "Via: %s", via);
    ck_assert_int_eq(sipnat_policy_get_learned(pol, buf, sizeof buf, &port), 12);
    ck_assert_str_eq(buf, "198.51.100.7");
    ck_assert_int_eq(port, 40000);

    ck_assert_int_eq(ping(ctx, t, &peer), 200);
    header(peer.last_request, "Via", via, sizeof via);
    header(peer.last_request, "Contact", contact, sizeof contact);
    ck_assert_msg(strncmp(via, "SIP/2.0/UDP 198.51.100.7:40000;rport", 36) == 0,
                  "Via: %s", via);
    ck_assert_str_eq(contact, "<sip:198.51.100.7:40000;transport=udp>");
    sipnat_policy_unref(pol);
    sipnat_transport_unref(t);
    sipnat_ctx_unref(ctx);
    mock_peer_close(&peer);
}
END_TEST

/* Bound to the wildcard, the Via names the address the kernel sends
 * from to that destination, never 0.0.0.0. */
START_TEST(test_wildcard_bind_source)
{
    sipnat_ctx *ctx;
    sipnat_transport *t;
    mock_peer peer;
    char via[256];

    mock_peer_open(&peer, 200);
    ck_assert_ok(sipnat_ctx_new(&ctx));
    t = open_with_policy(ctx, "0.0.0.0", NULL, -1);
    char addr[SIPNAT_ADDRSTRLEN];
    ck_assert_int_eq(sipnat_transport_get_address(t, addr, sizeof addr), 7);
    ck_assert_str_eq(addr, "0.0.0.0");
    ck_assert_int_eq(ping(ctx, t, &peer), 200);
    header(peer.last_request, "Via", via, sizeof via);
    ck_assert_msg(strncmp(via, "SIP/2.0/UDP 127.0.0.1:", 22) == 0, "Via: %s", via);
    sipnat_transport_unref(t);
    sipnat_ctx_unref(ctx);
    mock_peer_close(&peer);
}
END_TEST

/* force_rport: a request whose Via names another port and no rport is
 * still answered at its source port; without it, at the Via's port. */
START_TEST(test_force_rport)
{
    for (int force = 1; force >= 0; force--) {
        sipnat_ctx *ctx;
        sipnat_transport *t;
        mock_peer peer;
        int flag = 0;

        mock_peer_open(&peer, 0);
        snprintf(peer.via_sent_by, sizeof peer.via_sent_by, "127.0.0.1:9");
        ck_assert_ok(sipnat_ctx_new(&ctx));
        t = open_with_policy(ctx, "127.0.0.1", NULL, force);
        mock_peer_send_request(&peer, sipnat_transport_get_port(t), "OPTIONS", NULL, NULL);
        for (int k = 0; k < 25 && peer.awaited_status == 0; k++)
            run_pull(ctx, &peer, &flag, 20);
        if (force)
            ck_assert_int_eq(peer.awaited_status, 200);
        else
            ck_assert_int_eq(peer.awaited_status, 0); /* went to port 9 */
        sipnat_transport_unref(t);
        sipnat_ctx_unref(ctx);
        mock_peer_close(&peer);
    }
    sipnat_transport_cfg *cfg;
    ck_assert_ok(sipnat_transport_cfg_new(&cfg));
    ck_assert_int_eq(sipnat_transport_cfg_set_force_rport(cfg, 2), -EINVAL);
    ck_assert_int_eq(sipnat_transport_cfg_set_force_rport(NULL, 1), -EINVAL);
    ck_assert_int_eq(sipnat_transport_cfg_set_policy(NULL, NULL), -EINVAL);
    ck_assert_ok(sipnat_transport_cfg_set_policy(cfg, NULL));
    sipnat_transport_cfg_free(cfg);
}
END_TEST

/* -- TLS ---------------------------------------------------------------- */

/* A self-signed certificate in sofia's layout: agent.pem (key and
 * certificate) and cafile.pem (what this side trusts: itself). */
static void make_cert_dir(char *dir, size_t size)
{
    char cmd[1024];

    snprintf(dir, size, "/tmp/sipnat-tls-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(cmd, sizeof cmd,
             "cd %s && openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem "
             "-out cert.pem -days 2 -subj /CN=127.0.0.1 >/dev/null 2>&1 && "
             "cat key.pem cert.pem > agent.pem && cp cert.pem cafile.pem",
             dir);
    ck_assert_msg(system(cmd) == 0, "openssl could not make a certificate");
}

static void remove_cert_dir(const char *dir)
{
    char cmd[512];

    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static sipnat_transport *tls_transport(sipnat_ctx *ctx, const char *dir)
{
    sipnat_transport_cfg *cfg;
    sipnat_transport *t;

    ck_assert_ok(sipnat_transport_cfg_new(&cfg));
    ck_assert_ok(sipnat_transport_cfg_set_bind(cfg, "127.0.0.1", 0));
    ck_assert_ok(sipnat_transport_cfg_set_protocol(cfg, SIPNAT_PROTOCOL_TLS));
    ck_assert_ok(sipnat_transport_cfg_set_tls(cfg, dir, 1));
    ck_assert_ok(sipnat_transport_new(&t, ctx, cfg));
    sipnat_transport_cfg_free(cfg);
    return t;
}

START_TEST(test_tls)
{
    char dir_a[64], dir_b[64], uri[64];
    sipnat_transport_cfg *cfg;
    sipnat_transport *t;
    sipnat_ctx *ctx;
    event_log ev = {0};

    ck_assert_ok(sipnat_transport_cfg_new(&cfg));
    ck_assert_int_eq(sipnat_transport_cfg_set_tls(NULL, "/x", 1), -EINVAL);
    ck_assert_int_eq(sipnat_transport_cfg_set_tls(cfg, NULL, 1), -EINVAL);
    ck_assert_int_eq(sipnat_transport_cfg_set_tls(cfg, "", 1), -EINVAL);
    ck_assert_int_eq(sipnat_transport_cfg_set_tls(cfg, "/x", 2), -EINVAL);
    ck_assert_ok(sipnat_transport_cfg_set_protocol(cfg, SIPNAT_PROTOCOL_TLS));
    ck_assert_ok(sipnat_ctx_new(&ctx));
    /* TLS without certificates: refused. */
    ck_assert_int_eq(sipnat_transport_new(&t, ctx, cfg), -EINVAL);
    sipnat_transport_cfg_free(cfg);

    make_cert_dir(dir_a, sizeof dir_a);
    make_cert_dir(dir_b, sizeof dir_b);
    sipnat_transport *server = tls_transport(ctx, dir_a);
    sipnat_transport *client = tls_transport(ctx, dir_a); /* trusts the server */
    sipnat_transport *stranger = tls_transport(ctx, dir_b); /* does not */
    ck_assert_int_eq(sipnat_transport_get_protocol(server), SIPNAT_PROTOCOL_TLS);

    snprintf(uri, sizeof uri, "sips:ping@127.0.0.1:%d", sipnat_transport_get_port(server));
    ck_assert_ok(sipnat_transport_send_options(client, uri, record_event, &ev));
    run_pull(ctx, NULL, &ev.n, 5000);
    ck_assert_int_eq(ev.n, 1);
    ck_assert_int_eq(ev.status, 200);

    /* A certificate the peer's authorities did not sign: the handshake
     * fails, so no answer comes (sofia keeps retrying until its
     * transaction timers end it); the shutdown then cancels it. */
    memset(&ev, 0, sizeof ev);
    ck_assert_ok(sipnat_transport_send_options(stranger, uri, record_event, &ev));
    run_pull(ctx, NULL, &ev.n, 3000);
    ck_assert(ev.n == 0 || ev.status != 200);
    event_log sev = {0};
    ck_assert_ok(sipnat_transport_shutdown(stranger, record_event, &sev));
    run_pull(ctx, NULL, &sev.n, 5000);
    ck_assert_int_eq(ev.n, 1);
    ck_assert_int_ne(ev.status, 200);

    /* The same stranger not verifying: accepted (no client certificate
     * is demanded), so verification is what refused it above. */
    sipnat_transport_cfg *lax;
    sipnat_transport *careless;
    ck_assert_ok(sipnat_transport_cfg_new(&lax));
    ck_assert_ok(sipnat_transport_cfg_set_bind(lax, "127.0.0.1", 0));
    ck_assert_ok(sipnat_transport_cfg_set_protocol(lax, SIPNAT_PROTOCOL_TLS));
    ck_assert_ok(sipnat_transport_cfg_set_tls(lax, dir_b, 0));
    ck_assert_ok(sipnat_transport_new(&careless, ctx, lax));
    sipnat_transport_cfg_free(lax);
    memset(&ev, 0, sizeof ev);
    ck_assert_ok(sipnat_transport_send_options(careless, uri, record_event, &ev));
    run_pull(ctx, NULL, &ev.n, 5000);
    ck_assert_int_eq(ev.status, 200);
    sipnat_transport_unref(careless);

    /* The host's SIGPIPE disposition is still its own (the default). */
    struct sigaction sa;
    ck_assert_int_eq(sigaction(SIGPIPE, NULL, &sa), 0);
    ck_assert_ptr_eq((void *)sa.sa_handler, (void *)SIG_DFL);

    sipnat_transport_unref(stranger);
    sipnat_transport_unref(client);
    sipnat_transport_unref(server);
    sipnat_ctx_unref(ctx);
    remove_cert_dir(dir_a);
    remove_cert_dir(dir_b);
}
END_TEST

Suite *transport_suite(void)
{
    Suite *s = suite_create("transport");
    TCase *tc = tcase_create("transport");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_cfg);
    tcase_add_test(tc, test_bind_variants);
    tcase_add_test(tc, test_bind_errors);
    tcase_add_test(tc, test_options_bad_uri);
    tcase_add_test(tc, test_options_status);
    tcase_add_test(tc, test_shutdown_cancels);
    tcase_add_test(tc, test_options_unreachable_tcp);
    tcase_add_test(tc, test_incoming_requests);
    tcase_add_test(tc, test_policy_static_on_wire);
    tcase_add_test(tc, test_policy_learned_on_wire);
    tcase_add_test(tc, test_wildcard_bind_source);
    tcase_add_test(tc, test_force_rport);
    tcase_add_test(tc, test_tls);
    suite_add_tcase(s, tc);
    return s;
}
