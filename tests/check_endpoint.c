/* libsipnat tests - endpoints and identify: which source gets answered. */
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static sipnat_transport *loopback_transport(sipnat_ctx *ctx)
{
    sipnat_transport_cfg *cfg;
    sipnat_transport *t;

    ck_assert_ok(sipnat_transport_cfg_new(&cfg));
    ck_assert_ok(sipnat_transport_cfg_set_bind(cfg, "127.0.0.1", 0));
    ck_assert_ok(sipnat_transport_new(&t, ctx, cfg));
    sipnat_transport_cfg_free(cfg);
    return t;
}

static sipnat_endpoint *endpoint(sipnat_transport *t, const char *name,
                                 const char *m1, const char *m2)
{
    sipnat_endpoint_cfg *cfg;
    sipnat_endpoint *ep;

    ck_assert_ok(sipnat_endpoint_cfg_new(&cfg));
    ck_assert_ok(sipnat_endpoint_cfg_set_name(cfg, name));
    if (m1)
        ck_assert_ok(sipnat_endpoint_cfg_add_match(cfg, m1));
    if (m2)
        ck_assert_ok(sipnat_endpoint_cfg_add_match(cfg, m2));
    ck_assert_ok(sipnat_endpoint_new(&ep, t, cfg));
    sipnat_endpoint_cfg_free(cfg);
    return ep;
}

static int ask(sipnat_ctx *ctx, mock_peer *peer, int port)
{
    int flag = 0;

    mock_peer_send_request(peer, port, "OPTIONS", NULL, NULL);
    for (int k = 0; k < 100 && peer->awaited_status == 0; k++)
        run_pull(ctx, peer, &flag, 20);
    return peer->awaited_status;
}

struct lines {
    int n;
    char last[256];
};

static void catch_log(sipnat_ctx *ctx, int prio, const char *domain,
                      const char *msg, void *ud)
{
    struct lines *l = ud;

    (void)ctx;
    if (strcmp(domain, "endpoint") == 0 && prio == SIPNAT_LOG_NOTICE) {
        l->n++;
        snprintf(l->last, sizeof l->last, "%s", msg);
    }
}

START_TEST(test_identify_gate)
{
    sipnat_ctx *ctx;
    mock_peer peer;
    struct lines log = {0};
    char want[64];

    mock_peer_open(&peer, 0);
    ck_assert_ok(sipnat_ctx_new(&ctx));
    ck_assert_ok(sipnat_ctx_set_log_func(ctx, catch_log, &log));
    ck_assert_ok(sipnat_ctx_set_log_level(ctx, SIPNAT_LOG_NOTICE));
    sipnat_transport *t = loopback_transport(ctx);
    int port = sipnat_transport_get_port(t);

    /* No endpoint yet: everyone is answered, with our Contact. */
    ck_assert_int_eq(ask(ctx, &peer, port), 200);
    snprintf(want, sizeof want, "Contact: <sip:127.0.0.1:%d;transport=udp>", port);
    ck_assert_ptr_nonnull(strstr(peer.last_response, want));

    /* An endpoint for someone else: this source is rejected and logged. */
    sipnat_endpoint *ep = endpoint(t, "sipus_endpoint", "203.0.113.1", "203.0.113.2");
    ck_assert_int_eq(ask(ctx, &peer, port), 403);
    ck_assert_int_eq(log.n, 1);
    ck_assert_ptr_nonnull(strstr(log.last, "OPTIONS from 127.0.0.1:"));
    ck_assert_ptr_nonnull(strstr(log.last, "matches no endpoint"));
    /* INVITE too. */
    mock_peer_send_request(&peer, port, "INVITE", NULL, NULL);
    for (int k = 0; k < 100 && peer.awaited_status == 0; k++)
        run_pull(ctx, &peer, NULL, 20);
    ck_assert_int_eq(peer.awaited_status, 403);

    /* An endpoint for loopback (a CIDR): answered again. */
    sipnat_endpoint *lo = endpoint(t, "loop", "127.0.0.0/8", NULL);
    ck_assert_int_eq(ask(ctx, &peer, port), 200);
    mock_peer_send_request(&peer, port, "INVITE", NULL, NULL);
    for (int k = 0; k < 100 && peer.awaited_status == 0; k++)
        run_pull(ctx, &peer, NULL, 20);
    ck_assert_int_eq(peer.awaited_status, 480); /* identified; no calls yet */

    sipnat_endpoint *found = NULL;
    ck_assert_ok(sipnat_transport_identify(t, "203.0.113.2", &found));
    ck_assert_ptr_eq(found, ep);
    ck_assert_str_eq(sipnat_endpoint_get_name(found), "sipus_endpoint");
    ck_assert_ok(sipnat_transport_identify(t, "127.9.9.9", &found));
    ck_assert_ptr_eq(found, lo);
    ck_assert_int_eq(sipnat_transport_identify(t, "198.51.100.66", &found), -ENOENT);
    ck_assert_ptr_null(found);

    /* Dropping the endpoints: open to all again. */
    sipnat_endpoint_unref(lo);
    ck_assert_int_eq(ask(ctx, &peer, port), 403);
    sipnat_endpoint_unref(ep);
    ck_assert_int_eq(ask(ctx, &peer, port), 200);

    sipnat_transport_unref(t);
    sipnat_ctx_unref(ctx);
    mock_peer_close(&peer);
}
END_TEST

/* Host name entries are resolved on the loop: run it until `address`
 * is identified (or 3 s pass). */
static int identify_soon(sipnat_ctx *ctx, sipnat_transport *t,
                         const char *address, sipnat_endpoint **found)
{
    static const int never = 0;
    int r = -ENOENT;

    for (int i = 0; i < 150 && (r = sipnat_transport_identify(t, address, found)) == -ENOENT; i++)
        run_pull(ctx, NULL, &never, 20);
    return r;
}

START_TEST(test_match_forms)
{
    sipnat_ctx *ctx;
    sipnat_endpoint *found;

    ck_assert_ok(sipnat_ctx_new(&ctx));
    /* No DNS server (a closed port refuses at once): the hosts file. */
    ck_assert_ok(sipnat_ctx_set_dns_servers(ctx, "127.0.0.1:9"));
    sipnat_transport *t = loopback_transport(ctx);
    sipnat_endpoint *a = endpoint(t, "mask", "10.1.0.0/255.255.0.0", "2001:db8::/32");
    sipnat_endpoint *b = endpoint(t, "byname", "localhost", NULL);
    /* Not before the answer: resolution never blocks the caller. */
    ck_assert_int_eq(sipnat_transport_identify(t, "127.0.0.1", &found), -ENOENT);
    ck_assert_ok(identify_soon(ctx, t, "127.0.0.1", &found)); /* via the hosts file */
    ck_assert_ptr_eq(found, b);
    ck_assert_ok(sipnat_transport_identify(t, "10.1.200.3", &found));
    ck_assert_ptr_eq(found, a);
    ck_assert_ok(sipnat_transport_identify(t, "2001:db8:1::9", &found));
    ck_assert_ptr_eq(found, a);
    ck_assert_int_eq(sipnat_transport_identify(t, "10.2.0.1", &found), -ENOENT);
    ck_assert_ok(sipnat_transport_identify(t, "127.0.0.1", &found)); /* via the hosts file */
    ck_assert_ptr_eq(found, b);
    ck_assert_int_eq(sipnat_transport_identify(t, "not-an-address", &found), -EINVAL);
    ck_assert_int_eq(sipnat_transport_identify(NULL, "127.0.0.1", &found), -EINVAL);
    ck_assert_int_eq(sipnat_transport_identify(t, "127.0.0.1", NULL), -EINVAL);
    ck_assert_ptr_eq(sipnat_endpoint_ref(a), a);
    sipnat_endpoint_unref(a);
    sipnat_endpoint_unref(a);
    sipnat_endpoint_unref(b);
    sipnat_transport_unref(t);
    sipnat_ctx_unref(ctx);
}
END_TEST

START_TEST(test_endpoint_invalid)
{
    sipnat_endpoint_cfg *cfg;
    sipnat_endpoint *ep;
    sipnat_ctx *ctx;

    ck_assert_int_eq(sipnat_endpoint_cfg_new(NULL), -EINVAL);
    ck_assert_ok(sipnat_endpoint_cfg_new(&cfg));
    ck_assert_int_eq(sipnat_endpoint_cfg_set_name(NULL, "x"), -EINVAL);
    ck_assert_int_eq(sipnat_endpoint_cfg_set_name(cfg, NULL), -EINVAL);
    ck_assert_int_eq(sipnat_endpoint_cfg_set_name(cfg, ""), -EINVAL);
    ck_assert_int_eq(sipnat_endpoint_cfg_set_name(cfg, "two words"), -EINVAL);
    ck_assert_int_eq(sipnat_endpoint_cfg_set_name(cfg, "a[b]"), -EINVAL);
    ck_assert_int_eq(sipnat_endpoint_cfg_add_match(cfg, NULL), -EINVAL);
    ck_assert_int_eq(sipnat_endpoint_cfg_add_match(NULL, "1.2.3.4"), -EINVAL);
    static const char *const bad[] = {"203.0.113.1/33", "203.0.113.1/24", "300.1.1.1",
                                      "-bad.example", "a b", "1.2.3.4.5", "", "x/y"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(sipnat_endpoint_cfg_add_match(cfg, bad[i]) == -EINVAL, "accepted %s", bad[i]);
    for (int i = 0; i < 32; i++)
        ck_assert_ok(sipnat_endpoint_cfg_add_match(cfg, "192.0.2.1"));
    ck_assert_int_eq(sipnat_endpoint_cfg_add_match(cfg, "192.0.2.2"), -ENOSPC);

    ck_assert_ok(sipnat_ctx_new(&ctx));
    sipnat_transport *t = loopback_transport(ctx);
    ep = (sipnat_endpoint *)1;
    ck_assert_int_eq(sipnat_endpoint_new(&ep, t, cfg), -EINVAL); /* no name */
    ck_assert_ptr_null(ep);
    ck_assert_int_eq(sipnat_endpoint_new(NULL, t, cfg), -EINVAL);
    ck_assert_int_eq(sipnat_endpoint_new(&ep, NULL, cfg), -EINVAL);
    ck_assert_int_eq(sipnat_endpoint_new(&ep, t, NULL), -EINVAL);
    ck_assert_ok(sipnat_endpoint_cfg_set_name(cfg, "6001"));
    ck_assert_ok(sipnat_endpoint_new(&ep, t, cfg));
    sipnat_endpoint *dup;
    ck_assert_int_eq(sipnat_endpoint_new(&dup, t, cfg), -EEXIST);
    sipnat_endpoint_cfg_free(cfg);
    /* A name that does not resolve: the endpoint exists, matches nobody,
     * and its name is asked again later. */
    ck_assert_ok(sipnat_endpoint_cfg_new(&cfg));
    ck_assert_ok(sipnat_endpoint_cfg_set_name(cfg, "ghost"));
    ck_assert_ok(sipnat_endpoint_cfg_add_match(cfg, "no-such-host.invalid"));
    ck_assert_ok(sipnat_ctx_set_dns_servers(ctx, "127.0.0.1:9"));
    ck_assert_ok(sipnat_endpoint_new(&dup, t, cfg));
    sipnat_endpoint *none;
    ck_assert_int_eq(identify_soon(ctx, t, "127.0.0.1", &none), -ENOENT);
    sipnat_endpoint_unref(dup);
    sipnat_endpoint_cfg_free(cfg);
    ck_assert_ptr_null(sipnat_endpoint_get_name(NULL));
    ck_assert_ptr_null(sipnat_endpoint_ref(NULL));
    ck_assert_ptr_null(sipnat_endpoint_unref(NULL));
    ck_assert_ptr_null(sipnat_endpoint_cfg_free(NULL));
    sipnat_endpoint_unref(ep);
    sipnat_transport_unref(t);
    sipnat_ctx_unref(ctx);
}
END_TEST

Suite *endpoint_suite(void)
{
    Suite *s = suite_create("endpoint");
    TCase *tc = tcase_create("endpoint");

    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_identify_gate);
    tcase_add_test(tc, test_match_forms);
    tcase_add_test(tc, test_endpoint_invalid);
    suite_add_tcase(s, tc);
    return s;
}
