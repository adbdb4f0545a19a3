/* libsipnat tests - address-translation policies (public API). */
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static sipnat_advert ask(sipnat_policy *p, const char *dest, int expect)
{
    sipnat_advert_query q = {
        .size = sizeof q,
        .destination = dest,
        .destination_port = 5060,
        .local_address = "192.0.2.10",
        .local_port = 5060,
    };
    sipnat_advert a;

    memset(&a, 0x5a, sizeof a);
    a.size = sizeof a;
    ck_assert_int_eq(sipnat_policy_advertise(p, &q, &a), expect);
    if (expect == 0)
        ck_assert_uint_eq(a.size, sizeof a);
    return a;
}

/* The seed's transport-udp-nat. */
static sipnat_policy *seed_policy(void)
{
    sipnat_policy *p;

    ck_assert_ok(sipnat_policy_new(&p, SIPNAT_POLICY_STATIC));
    ck_assert_ok(sipnat_policy_add_local_net(p, "192.0.2.0/24"));
    ck_assert_ok(sipnat_policy_add_local_net(p, "127.0.0.1/32"));
    ck_assert_ok(sipnat_policy_set_external_signaling_address(p, "198.51.100.5", 0));
    ck_assert_ok(sipnat_policy_set_external_media_address(p, "198.51.100.5"));
    return p;
}

START_TEST(test_static_seed)
{
    sipnat_policy *p = seed_policy();
    sipnat_advert a;
    char line[256];

    ck_assert_int_eq(sipnat_policy_get_type(p), SIPNAT_POLICY_STATIC);
    a = ask(p, "203.0.113.1", 0);
    ck_assert_str_eq(a.signaling_address, "198.51.100.5");
    ck_assert_int_eq(a.signaling_port, 5060);
    ck_assert_str_eq(a.media_address, "198.51.100.5");
    ck_assert_ptr_nonnull(strstr(a.explanation, "external_signaling_address"));
    a = ask(p, "192.0.2.20", 0);
    ck_assert_str_eq(a.signaling_address, "192.0.2.10");
    ck_assert_str_eq(a.media_address, "192.0.2.10");
    ck_assert_ptr_nonnull(strstr(a.explanation, "local_net 192.0.2.0/24"));

    ck_assert_int_gt(sipnat_policy_explain(p, "203.0.113.2", "192.0.2.10", 5060,
                                           line, sizeof line), 0);
    ck_assert_ptr_nonnull(strstr(line, "to 203.0.113.2"));
    ck_assert_ptr_nonnull(strstr(line, "198.51.100.5:5060"));
    ck_assert_int_eq(sipnat_policy_explain(p, "203.0.113.2", "192.0.2.10", 5060,
                                           line, 8), -ENOSPC);
    /* external_signaling_port */
    ck_assert_ok(sipnat_policy_set_external_signaling_address(p, "198.51.100.5", 5070));
    a = ask(p, "203.0.113.1", 0);
    ck_assert_int_eq(a.signaling_port, 5070);
    /* Not for a static policy. */
    ck_assert_int_eq(sipnat_policy_learn(p, "203.0.113.1", "198.51.100.5", 1), -EOPNOTSUPP);
    ck_assert_int_eq(sipnat_policy_get_learned(p, line, sizeof line, NULL), -EOPNOTSUPP);
    sipnat_policy_unref(p);
}
END_TEST

START_TEST(test_invalid)
{
    sipnat_policy *p = seed_policy();
    sipnat_advert a;
    sipnat_advert_query q = {.size = sizeof q, .destination = "203.0.113.1",
                             .local_address = "192.0.2.10", .local_port = 5060};
    char buf[64];

    ck_assert_int_eq(sipnat_policy_new(NULL, SIPNAT_POLICY_STATIC), -EINVAL);
    sipnat_policy *x = (sipnat_policy *)1;
    ck_assert_int_eq(sipnat_policy_new(&x, SIPNAT_POLICY_CALLBACK), -EINVAL);
    ck_assert_ptr_null(x);
    ck_assert_int_eq(sipnat_policy_new(&x, 0), -EINVAL);
    ck_assert_int_eq(sipnat_policy_new_callback(NULL, NULL, NULL), -EINVAL);
    ck_assert_int_eq(sipnat_policy_new_callback(&x, NULL, NULL), -EINVAL);
    ck_assert_ptr_null(sipnat_policy_ref(NULL));
    ck_assert_ptr_null(sipnat_policy_unref(NULL));
    ck_assert_int_eq(sipnat_policy_get_type(NULL), -EINVAL);
    ck_assert_int_eq(sipnat_policy_add_local_net(NULL, "10.0.0.0/8"), -EINVAL);
    ck_assert_int_eq(sipnat_policy_add_local_net(p, NULL), -EINVAL);
    ck_assert_int_eq(sipnat_policy_add_local_net(p, "192.0.2.0/33"), -EINVAL);
    ck_assert_int_eq(sipnat_policy_add_local_net(p, "192.0.2.1/24"), -EINVAL);
    ck_assert_int_eq(sipnat_policy_set_external_signaling_address(NULL, "1.2.3.4", 0), -EINVAL);
    ck_assert_int_eq(sipnat_policy_set_external_signaling_address(p, "gw.example", 0), -EINVAL);
    ck_assert_int_eq(sipnat_policy_set_external_signaling_address(p, "1.2.3.4", 65536), -EINVAL);
    ck_assert_int_eq(sipnat_policy_set_external_signaling_address(p, "1.2.3.4", -1), -EINVAL);
    ck_assert_int_eq(sipnat_policy_set_external_media_address(p, NULL), -EINVAL);
    ck_assert_int_eq(sipnat_policy_set_external_media_address(NULL, "1.2.3.4"), -EINVAL);
    ck_assert_int_eq(sipnat_policy_set_external_media_address(p, "1.2.3"), -EINVAL);
    ck_assert_int_eq(sipnat_policy_advertise(NULL, &q, &a), -EINVAL);
    ck_assert_int_eq(sipnat_policy_advertise(p, NULL, &a), -EINVAL);
    ck_assert_int_eq(sipnat_policy_advertise(p, &q, NULL), -EINVAL);
    a.size = sizeof a;
    q.size = 4;
    ck_assert_int_eq(sipnat_policy_advertise(p, &q, &a), -EINVAL);
    q.size = sizeof q;
    a.size = 8; /* an answer too small for version 1 */
    ck_assert_int_eq(sipnat_policy_advertise(p, &q, &a), -EINVAL);
    a.size = sizeof a;
    ask(p, "gw1.example.com", -EINVAL); /* a name: resolve first */
    q.size = sizeof q;
    q.local_port = 0;
    ck_assert_int_eq(sipnat_policy_advertise(p, &q, &a), -EINVAL);
    q.local_port = 5060;
    q.media_address = "not an address";
    ck_assert_int_eq(sipnat_policy_advertise(p, &q, &a), -EINVAL);
    ck_assert_int_eq(sipnat_policy_explain(NULL, "1.2.3.4", "192.0.2.10", 5060, buf, sizeof buf), -EINVAL);
    ck_assert_int_eq(sipnat_policy_explain(p, "1.2.3.4", "192.0.2.10", 5060, NULL, 10), -EINVAL);
    ck_assert_int_eq(sipnat_policy_explain(p, "1.2.3.4", "192.0.2.10", 5060, buf, 0), -EINVAL);
    ck_assert_int_eq(sipnat_policy_explain(p, NULL, "192.0.2.10", 5060, buf, sizeof buf), -EINVAL);
    ck_assert_int_eq(sipnat_policy_learn(NULL, "1.2.3.4", "1.2.3.5", 0), -EINVAL);
    ck_assert_int_eq(sipnat_policy_get_learned(NULL, buf, sizeof buf, NULL), -EINVAL);
    ck_assert_ptr_eq(sipnat_policy_ref(p), p);
    sipnat_policy_unref(p);
    sipnat_policy_unref(p);
}
END_TEST

START_TEST(test_learned)
{
    sipnat_policy *p;
    sipnat_advert a;
    char buf[SIPNAT_ADDRSTRLEN];
    int port = -1;

    ck_assert_ok(sipnat_policy_new(&p, SIPNAT_POLICY_LEARNED));
    ck_assert_ok(sipnat_policy_add_local_net(p, "192.0.2.0/24"));
    ck_assert_int_eq(sipnat_policy_set_external_signaling_address(p, "1.2.3.4", 0), -EOPNOTSUPP);
    ck_assert_int_eq(sipnat_policy_get_learned(p, buf, sizeof buf, &port), -ENOENT);
    /* Nothing learned yet: the local address, and it says so. */
    a = ask(p, "203.0.113.1", 0);
    ck_assert_str_eq(a.signaling_address, "192.0.2.10");
    ck_assert_ptr_nonnull(strstr(a.explanation, "nothing learned yet"));

    /* The registrar saw us at the router's mapped address and port. */
    ck_assert_int_eq(sipnat_policy_learn(p, "203.0.113.1", "198.51.100.5", 40001), 1);
    /* The same answer again (the re-REGISTER's response): no change, so
     * no second re-REGISTER. */
    ck_assert_int_eq(sipnat_policy_learn(p, "203.0.113.1", "198.51.100.5", 40001), 0);
    ck_assert_int_eq(sipnat_policy_get_learned(p, buf, sizeof buf, &port), 12);
    ck_assert_str_eq(buf, "198.51.100.5");
    ck_assert_int_eq(port, 40001);
    a = ask(p, "203.0.113.1", 0);
    ck_assert_str_eq(a.signaling_address, "198.51.100.5");
    ck_assert_int_eq(a.signaling_port, 40001);
    ck_assert_str_eq(a.media_address, "198.51.100.5");
    ck_assert_ptr_nonnull(strstr(a.explanation, "learned from the Via received/rport of 203.0.113.1"));
    /* The LAN phone still gets the local address. */
    a = ask(p, "192.0.2.20", 0);
    ck_assert_str_eq(a.signaling_address, "192.0.2.10");
    ck_assert_int_eq(a.signaling_port, 5060);

    /* An ALG reporting a private address from a public server: ignored. */
    ck_assert_int_eq(sipnat_policy_learn(p, "203.0.113.1", "192.168.1.7", 5060), -EPERM);
    a = ask(p, "203.0.113.1", 0);
    ck_assert_str_eq(a.signaling_address, "198.51.100.5");
    /* No rport in the Via: the address is learned, the port stays ours. */
    ck_assert_int_eq(sipnat_policy_learn(p, "203.0.113.1", "198.51.100.6", 0), 1);
    a = ask(p, "203.0.113.1", 0);
    ck_assert_str_eq(a.signaling_address, "198.51.100.6");
    ck_assert_int_eq(a.signaling_port, 5060);
    /* Bad input. */
    ck_assert_int_eq(sipnat_policy_learn(p, "203.0.113.1", "garbage", 1), -EINVAL);
    ck_assert_int_eq(sipnat_policy_learn(p, "203.0.113.1", "198.51.100.5", 70000), -EINVAL);
    ck_assert_int_eq(sipnat_policy_learn(p, NULL, "198.51.100.5", 1), -EINVAL);
    sipnat_policy_unref(p);
}
END_TEST

/* A NAT (or an attacker) that keeps changing its story must not make the
 * library re-register in a loop: after 4 changes within a minute the
 * address is held. */
START_TEST(test_learned_flapping)
{
    sipnat_policy *p;
    int changes = 0, held = 0;

    ck_assert_ok(sipnat_policy_new(&p, SIPNAT_POLICY_LEARNED));
    for (int i = 0; i < 20; i++) {
        int r = sipnat_policy_learn(p, "203.0.113.1", "198.51.100.5", 40000 + i);
        if (r == 1)
            changes++;
        else if (r == -EAGAIN)
            held++;
        else
            ck_abort_msg("unexpected %d", r);
    }
    ck_assert_int_eq(changes, 4);
    ck_assert_int_eq(held, 16);
    /* Private server, private answer (a LAN registrar): believed. */
    sipnat_policy *q;
    ck_assert_ok(sipnat_policy_new(&q, SIPNAT_POLICY_LEARNED));
    ck_assert_int_eq(sipnat_policy_learn(q, "10.0.0.1", "10.0.0.99", 5062), 1);
    /* No local_net: the learned address goes everywhere, and says so;
     * IPv6 comes in brackets. */
    ck_assert_int_eq(sipnat_policy_learn(q, "10.0.0.1", "fd00::7", 5062), 1);
    sipnat_advert_query v6q = {.size = sizeof v6q, .destination = "fd00::1",
                               .local_address = "fd00::2", .local_port = 5060};
    sipnat_advert a = {.size = sizeof a};
    ck_assert_ok(sipnat_policy_advertise(q, &v6q, &a));
    ck_assert_str_eq(a.signaling_address, "fd00::7");
    ck_assert_ptr_nonnull(strstr(a.explanation, "signalling [fd00::7]:5062"));
    ck_assert_ptr_nonnull(strstr(a.explanation, "no local_net (all outside)"));
    sipnat_policy_unref(q);
    sipnat_policy_unref(p);
}
END_TEST

/* DNS load balancing behind a symmetric NAT: each server of the name sees
 * another public port. What server B saw never changes what server A is
 * told, so a registration to A does not flap with every answer from B;
 * a destination that reported nothing gets the newest report. */
START_TEST(test_learned_per_server)
{
    sipnat_policy *p;
    sipnat_advert a;

    ck_assert_ok(sipnat_policy_new(&p, SIPNAT_POLICY_LEARNED));
    ck_assert_ok(sipnat_policy_add_local_net(p, "192.0.2.0/24"));
    ck_assert_int_eq(sipnat_policy_learn(p, "203.0.113.1", "198.51.100.5", 40001), 1);
    ck_assert_int_eq(sipnat_policy_learn(p, "203.0.113.2", "198.51.100.5", 40999), 1);
    /* A's answer again: nothing changed for A. */
    ck_assert_int_eq(sipnat_policy_learn(p, "203.0.113.1", "198.51.100.5", 40001), 0);
    a = ask(p, "203.0.113.1", 0);
    ck_assert_int_eq(a.signaling_port, 40001);
    ck_assert_ptr_nonnull(strstr(a.explanation, "received/rport of 203.0.113.1"));
    a = ask(p, "203.0.113.2", 0);
    ck_assert_int_eq(a.signaling_port, 40999);
    ck_assert_ptr_nonnull(strstr(a.explanation, "received/rport of 203.0.113.2"));
    a = ask(p, "203.0.113.9", 0);
    ck_assert_int_eq(a.signaling_port, 40999);
    /* B flapping holds B's address only; A still learns. */
    for (int i = 0; i < 8; i++)
        sipnat_policy_learn(p, "203.0.113.2", "198.51.100.5", 41000 + i);
    ck_assert_int_eq(sipnat_policy_learn(p, "203.0.113.2", "198.51.100.5", 42000), -EAGAIN);
    ck_assert_int_eq(sipnat_policy_learn(p, "203.0.113.1", "198.51.100.5", 40002), 1);
    a = ask(p, "203.0.113.1", 0);
    ck_assert_int_eq(a.signaling_port, 40002);
    /* More servers than entries: the least recently changed goes. */
    for (int i = 0; i < 12; i++) {
        char srv[32];
        snprintf(srv, sizeof srv, "203.0.113.%d", 100 + i);
        ck_assert_int_eq(sipnat_policy_learn(p, srv, "198.51.100.5", 43000 + i), 1);
    }
    a = ask(p, "203.0.113.111", 0);
    ck_assert_int_eq(a.signaling_port, 43011);
    sipnat_policy_unref(p);
}
END_TEST

/* An ALG (or a broken server) reporting an address from behind the NAT:
 * a private one from a public server, or one inside local_net from a
 * server outside it. Never adopted; a LAN server's report of a LAN
 * address is believed for the LAN, but never offered to the outside. */
START_TEST(test_learned_alg)
{
    sipnat_policy *p;
    sipnat_advert a;
    char buf[SIPNAT_ADDRSTRLEN];

    ck_assert_ok(sipnat_policy_new(&p, SIPNAT_POLICY_LEARNED));
    ck_assert_ok(sipnat_policy_add_local_net(p, "192.0.2.0/24"));
    ck_assert_int_eq(sipnat_policy_learn(p, "203.0.113.1", "10.1.2.3", 5060), -EPERM);
    ck_assert_int_eq(sipnat_policy_learn(p, "203.0.113.1", "192.0.2.10", 5060), -EPERM);
    /* Loopback and private servers are not "outside local_net" for the
     * private check, but are for local_net. */
    ck_assert_int_eq(sipnat_policy_learn(p, "127.0.0.1", "192.0.2.10", 5060), -EPERM);
    ck_assert_int_eq(sipnat_policy_get_learned(p, buf, sizeof buf, NULL), -ENOENT);
    a = ask(p, "203.0.113.1", 0);
    ck_assert_ptr_nonnull(strstr(a.explanation, "nothing learned yet"));
    /* A registrar on the LAN saw us at our LAN address: true, for it. */
    ck_assert_int_eq(sipnat_policy_learn(p, "192.0.2.1", "192.0.2.10", 5062), 1);
    a = ask(p, "192.0.2.1", 0);
    ck_assert_int_eq(a.signaling_port, 5060); /* inside local_net: no rewrite */
    a = ask(p, "203.0.113.1", 0);
    ck_assert_ptr_nonnull(strstr(a.explanation, "nothing learned yet"));
    ck_assert_int_eq(sipnat_policy_learn(p, "203.0.113.1", "198.51.100.5", 40001), 1);
    a = ask(p, "203.0.113.7", 0);
    ck_assert_str_eq(a.signaling_address, "198.51.100.5");
    ck_assert_int_eq(a.signaling_port, 40001);
    sipnat_policy_unref(p);
}
END_TEST

struct cb_state {
    int calls;
    int destroyed;
    int mode; /* 0 good, 1 error, 2 bad address, 3 bad port */
};

static int host_advertise(const sipnat_advert_query *q, sipnat_advert *a, void *ud)
{
    struct cb_state *s = ud;

    s->calls++;
    ck_assert_uint_ge(q->size, sizeof *q);
    ck_assert_uint_eq(a->size, sizeof *a);
    if (s->mode == 1)
        return -EHOSTUNREACH;
    snprintf(a->signaling_address, sizeof a->signaling_address, "%s",
             s->mode == 2 ? "not-an-address" : "198.51.100.99");
    a->signaling_port = s->mode == 3 ? 0 : 5999;
    snprintf(a->media_address, sizeof a->media_address, "198.51.100.98");
    return 0;
}

static void host_destroy(void *ud)
{
    ((struct cb_state *)ud)->destroyed++;
}

START_TEST(test_callback)
{
    struct cb_state s = {0};
    sipnat_policy_ops ops = {.version = SIPNAT_POLICY_OPS_VERSION,
                             .advertise = host_advertise,
                             .destroy = host_destroy};
    sipnat_policy *p;
    sipnat_advert a;

    ops.version = 99;
    ck_assert_int_eq(sipnat_policy_new_callback(&p, &ops, &s), -EPROTO);
    ops.version = SIPNAT_POLICY_OPS_VERSION;
    ck_assert_ok(sipnat_policy_new_callback(&p, &ops, &s));
    ops.advertise = NULL; /* the table was copied */
    ck_assert_int_eq(sipnat_policy_get_type(p), SIPNAT_POLICY_CALLBACK);
    ck_assert_int_eq(sipnat_policy_add_local_net(p, "10.0.0.0/8"), -EOPNOTSUPP);
    ck_assert_int_eq(sipnat_policy_learn(p, "1.2.3.4", "1.2.3.5", 1), -EOPNOTSUPP);

    a = ask(p, "203.0.113.1", 0);
    ck_assert_str_eq(a.signaling_address, "198.51.100.99");
    ck_assert_int_eq(a.signaling_port, 5999);
    ck_assert_str_eq(a.media_address, "198.51.100.98");
    ck_assert_ptr_nonnull(strstr(a.explanation, "host callback"));
    s.mode = 1;
    ask(p, "203.0.113.1", -EHOSTUNREACH);
    s.mode = 2;
    ask(p, "203.0.113.1", -EBADMSG);
    s.mode = 3;
    ask(p, "203.0.113.1", -EBADMSG);
    ck_assert_int_eq(s.calls, 4);
    sipnat_policy_ref(p);
    sipnat_policy_unref(p);
    ck_assert_int_eq(s.destroyed, 0);
    sipnat_policy_unref(p);
    ck_assert_int_eq(s.destroyed, 1);
}
END_TEST

Suite *policy_suite(void)
{
    Suite *s = suite_create("policy");
    TCase *tc = tcase_create("policy");

    tcase_add_test(tc, test_static_seed);
    tcase_add_test(tc, test_invalid);
    tcase_add_test(tc, test_learned);
    tcase_add_test(tc, test_learned_flapping);
    tcase_add_test(tc, test_learned_per_server);
    tcase_add_test(tc, test_learned_alg);
    tcase_add_test(tc, test_callback);
    suite_add_tcase(s, tc);
    return s;
}
