/* libsipnat tests - internal pure functions: addresses, CIDR blocks and
 * the static address-translation policy (the seed's topology). These are
 * hidden in the shared library, so this runner compiles them in. */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "core/addr.h"
#include "nat/policy.h"
#include "core/timer.h"
#include "sip/regfsm.h"

static sn_addr A(const char *s)
{
    sn_addr a;
    ck_assert_msg(sn_addr_parse(s, &a) == 0, "parse %s", s);
    return a;
}

static const char *F(const sn_addr *a)
{
    static char buf[4][64];
    static int i;
    i = (i + 1) % 4;
    ck_assert_int_gt(sn_addr_format(a, buf[i], sizeof buf[i]), 0);
    return buf[i];
}

START_TEST(test_addr_parse)
{
    sn_addr a;
    char small[4];

    ck_assert_int_eq(sn_addr_parse("192.0.2.10", &a), 0);
    ck_assert_int_eq(a.family, AF_INET);
    ck_assert_str_eq(F(&a), "192.0.2.10");
    ck_assert_int_eq(sn_addr_parse("[2001:db8::1]", &a), 0);
    ck_assert_int_eq(a.family, AF_INET6);
    ck_assert_str_eq(F(&a), "2001:db8::1");
    ck_assert_int_eq(sn_addr_parse("::ffff:192.0.2.1", &a), 0);
    ck_assert_int_eq(sn_addr_format(&a, small, sizeof small), -ENOSPC);
    static const char *const bad[] = {"", "gw1.example.com", "192.0.2", "192.0.2.256",
                                      "[192.0.2.1]", "[::1", "::1]", "1.2.3.4 ", "[]",
                                      "2001:db8:::1"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(sn_addr_parse(bad[i], &a) == -EINVAL, "accepted '%s'", bad[i]);
    ck_assert_int_eq(sn_addr_parse(NULL, &a), -EINVAL);
    ck_assert_int_eq(sn_addr_parse("1.2.3.4", NULL), -EINVAL);
    sn_addr x = A("192.0.2.1"), y = A("192.0.2.1"), z = A("::1");
    ck_assert(sn_addr_equal(&x, &y));
    ck_assert(!sn_addr_equal(&x, &z));
}
END_TEST

START_TEST(test_private)
{
    static const char *const priv[] = {"10.1.2.3", "172.16.0.1", "172.31.255.255",
                                       "192.168.1.1", "127.0.0.1", "169.254.1.1",
                                       "100.64.0.1", "::1", "fd00::1", "fe80::1"};
    static const char *const pub[] = {"198.51.100.5", "203.0.113.1", "172.32.0.1",
                                      "8.8.8.8", "100.128.0.1", "2001:db8::1"};
    for (size_t i = 0; i < sizeof priv / sizeof priv[0]; i++) {
        sn_addr a = A(priv[i]);
        ck_assert_msg(sn_addr_is_private(&a), "%s not private", priv[i]);
    }
    for (size_t i = 0; i < sizeof pub / sizeof pub[0]; i++) {
        sn_addr a = A(pub[i]);
        ck_assert_msg(!sn_addr_is_private(&a), "%s private", pub[i]);
    }
}
END_TEST

START_TEST(test_cidr)
{
    sn_cidr c;
    char buf[64];

    ck_assert_int_eq(sn_cidr_parse("192.0.2.0/24", &c), 0);
    ck_assert_uint_eq(c.prefix, 24);
    sn_addr in = A("192.0.2.20"), out = A("192.0.3.1"), v6 = A("::1");
    ck_assert(sn_cidr_contains(&c, &in));
    ck_assert(!sn_cidr_contains(&c, &out));
    ck_assert(!sn_cidr_contains(&c, &v6));
    ck_assert_int_gt(sn_cidr_format(&c, buf, sizeof buf), 0);
    ck_assert_str_eq(buf, "192.0.2.0/24");

    ck_assert_int_eq(sn_cidr_parse("192.0.2.0/255.255.255.0", &c), 0);
    ck_assert_uint_eq(c.prefix, 24);
    ck_assert_int_eq(sn_cidr_parse("127.0.0.1", &c), 0);
    ck_assert_uint_eq(c.prefix, 32);
    sn_addr lo = A("127.0.0.1"), lo2 = A("127.0.0.2");
    ck_assert(sn_cidr_contains(&c, &lo));
    ck_assert(!sn_cidr_contains(&c, &lo2));
    ck_assert_int_eq(sn_cidr_parse("0.0.0.0/0", &c), 0);
    ck_assert(sn_cidr_contains(&c, &out));
    ck_assert_int_eq(sn_cidr_parse("172.16.0.0/12", &c), 0);
    sn_addr a1 = A("172.31.1.1"), a2 = A("172.32.0.0");
    ck_assert(sn_cidr_contains(&c, &a1));
    ck_assert(!sn_cidr_contains(&c, &a2));
    ck_assert_int_eq(sn_cidr_parse("2001:db8::/32", &c), 0);
    sn_addr b1 = A("2001:db8:ffff::1"), b2 = A("2001:db9::1");
    ck_assert(sn_cidr_contains(&c, &b1));
    ck_assert(!sn_cidr_contains(&c, &b2));

    static const char *const bad[] = {"192.0.2.0/33", "192.0.2.0/", "192.0.2.1/24",
                                      "192.0.2.0/255.0.255.0", "192.0.2.0/-1",
                                      "192.0.2.0/24x", "gw1.example.com/24",
                                      "2001:db8::/129", "::/255.0.0.0", "/24",
                                      "192.0.2.0/ 24", "192.0.2.0/0x18"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(sn_cidr_parse(bad[i], &c) == -EINVAL, "accepted '%s'", bad[i]);
}
END_TEST

/* The seed's transport: local_net 192.0.2.0/24 and 127.0.0.1/32,
 * external_media_address = external_signaling_address = 198.51.100.5. */
static sn_static_cfg seed_cfg(void)
{
    sn_static_cfg cfg;

    memset(&cfg, 0, sizeof cfg);
    ck_assert_int_eq(sn_static_add_local_net(&cfg, "192.0.2.0/24"), 0);
    ck_assert_int_eq(sn_static_add_local_net(&cfg, "127.0.0.1/32"), 0);
    cfg.ext_signaling = A("198.51.100.5");
    cfg.ext_media = A("198.51.100.5");
    return cfg;
}

START_TEST(test_static_seed)
{
    sn_static_cfg cfg = seed_cfg();
    sn_addr host = A("192.0.2.10");
    sn_decision d;
    char why[256];

    /* To the ITSP: the router's public address, signalling and media. */
    sn_addr itsp = A("203.0.113.1");
    sn_static_decide(&cfg, &itsp, &host, 5060, &host, NULL, &d);
    ck_assert(!d.dest_local);
    ck_assert_str_eq(F(&d.sig_addr), "198.51.100.5");
    ck_assert_int_eq(d.sig_port, 5060);
    ck_assert_int_eq(d.sig_reason, SN_REASON_EXTERNAL);
    ck_assert_str_eq(F(&d.media_addr), "198.51.100.5");
    ck_assert_int_eq(d.media_reason, SN_REASON_EXTERNAL);
    ck_assert_int_gt(sn_decision_explain(&cfg, &itsp, &d, why, sizeof why), 0);
    ck_assert_ptr_nonnull(strstr(why, "to 203.0.113.1"));
    ck_assert_ptr_nonnull(strstr(why, "198.51.100.5:5060"));
    ck_assert_ptr_nonnull(strstr(why, "outside local_net"));

    /* To the phone on the LAN: the host's own address. */
    sn_addr phone = A("192.0.2.20");
    sn_static_decide(&cfg, &phone, &host, 5060, &host, NULL, &d);
    ck_assert(d.dest_local);
    ck_assert_int_eq(d.local_net_match, 0);
    ck_assert_str_eq(F(&d.sig_addr), "192.0.2.10");
    ck_assert_str_eq(F(&d.media_addr), "192.0.2.10");
    ck_assert_int_eq(d.sig_reason, SN_REASON_LOCAL_NET);
    ck_assert_int_gt(sn_decision_explain(&cfg, &phone, &d, why, sizeof why), 0);
    ck_assert_ptr_nonnull(strstr(why, "local_net 192.0.2.0/24"));

    /* To loopback: the second local_net entry. */
    sn_addr lo = A("127.0.0.1");
    sn_static_decide(&cfg, &lo, &host, 5060, &host, NULL, &d);
    ck_assert(d.dest_local);
    ck_assert_int_eq(d.local_net_match, 1);

    /* external_signaling_port replaces the port outside only. */
    cfg.ext_signaling_port = 5070;
    sn_static_decide(&cfg, &itsp, &host, 5060, &host, NULL, &d);
    ck_assert_int_eq(d.sig_port, 5070);
    sn_static_decide(&cfg, &phone, &host, 5060, &host, NULL, &d);
    ck_assert_int_eq(d.sig_port, 5060);

    /* Too small a buffer is an error, not a truncated answer. */
    ck_assert_int_eq(sn_decision_explain(&cfg, &itsp, &d, why, 10), -ENOSPC);
}
END_TEST

START_TEST(test_static_edge_cases)
{
    sn_static_cfg cfg;
    sn_addr host = A("192.0.2.10"), itsp = A("203.0.113.1"), phone = A("192.0.2.20");
    sn_decision d;

    /* No local_net: every destination is outside, even the LAN phone. */
    memset(&cfg, 0, sizeof cfg);
    cfg.ext_signaling = A("198.51.100.5");
    cfg.ext_media = A("198.51.100.5");
    sn_static_decide(&cfg, &phone, &host, 5060, &host, NULL, &d);
    ck_assert(!d.dest_local);
    ck_assert_str_eq(F(&d.sig_addr), "198.51.100.5");
    ck_assert_str_eq(F(&d.media_addr), "198.51.100.5");

    /* local_net but no external addresses: local ones, and says so. */
    memset(&cfg, 0, sizeof cfg);
    ck_assert_int_eq(sn_static_add_local_net(&cfg, "192.0.2.0/24"), 0);
    sn_static_decide(&cfg, &itsp, &host, 5060, &host, NULL, &d);
    ck_assert_str_eq(F(&d.sig_addr), "192.0.2.10");
    ck_assert_int_eq(d.sig_reason, SN_REASON_NO_EXTERNAL);
    ck_assert_int_eq(d.media_reason, SN_REASON_NO_EXTERNAL);

    /* Media on an address outside local_net is not rewritten. */
    cfg = seed_cfg();
    sn_addr pubmedia = A("198.51.100.9");
    sn_static_decide(&cfg, &itsp, &host, 5060, &pubmedia, NULL, &d);
    ck_assert_str_eq(F(&d.media_addr), "198.51.100.9");
    ck_assert_int_eq(d.media_reason, SN_REASON_MEDIA_PUBLIC);

    /* The endpoint's media_address wins, inside and outside. */
    sn_addr forced = A("198.51.100.77");
    sn_static_decide(&cfg, &itsp, &host, 5060, &host, &forced, &d);
    ck_assert_str_eq(F(&d.media_addr), "198.51.100.77");
    ck_assert_int_eq(d.media_reason, SN_REASON_MEDIA_ADDRESS);
    sn_static_decide(&cfg, &phone, &host, 5060, &host, &forced, &d);
    ck_assert_str_eq(F(&d.media_addr), "198.51.100.77");

    /* IPv6 destinations never match IPv4 local_net entries. */
    sn_addr v6 = A("2001:db8::5");
    sn_static_decide(&cfg, &v6, &host, 5060, &host, NULL, &d);
    ck_assert(!d.dest_local);

    /* Capacity and bad entries. */
    memset(&cfg, 0, sizeof cfg);
    for (int i = 0; i < SN_MAX_LOCAL_NET; i++) {
        char net[32];
        snprintf(net, sizeof net, "10.%d.0.0/16", i);
        ck_assert_int_eq(sn_static_add_local_net(&cfg, net), 0);
    }
    ck_assert_int_eq(sn_static_add_local_net(&cfg, "10.200.0.0/16"), -ENOSPC);
    ck_assert_int_eq(sn_static_add_local_net(&cfg, "nonsense"), -EINVAL);
    ck_assert_str_eq(sn_reason_name((sn_reason)99), "unknown");
}
END_TEST

/* -- timers ----------------------------------------------------------- */

#define NT 500
static sn_timer timers[NT];
static int fired_order[NT * 4];
static int n_fired;

static void on_fire(sn_timer *t, void *arg)
{
    (void)t;
    fired_order[n_fired++] = (int)(long)arg;
}

START_TEST(test_timer_heap_order)
{
    sn_timer_heap h = {0};
    uint64_t due[NT];
    unsigned seed = 12345;

    n_fired = 0;
    for (int i = 0; i < NT; i++) {
        seed = seed * 1103515245u + 12345u;
        due[i] = 1000 + (seed >> 8) % 200; /* many equal deadlines */
        sn_timer_init(&timers[i], on_fire, (void *)(long)i);
        ck_assert_int_eq(sn_timer_heap_arm(&h, &timers[i], due[i]), 0);
    }
    /* Stop every third, re-arm every fifth later. */
    for (int i = 0; i < NT; i += 3) {
        sn_timer_heap_stop(&h, &timers[i]);
        ck_assert(!sn_timer_armed(&timers[i]));
    }
    for (int i = 0; i < NT; i += 5) {
        due[i] = 1300 + (unsigned)i % 7;
        ck_assert_int_eq(sn_timer_heap_arm(&h, &timers[i], due[i]), 0);
    }
    ck_assert_uint_eq(sn_timer_heap_run(&h, 999, 1000), 0);
    ck_assert_uint_gt(sn_timer_heap_run(&h, 2000, 100000), 0);
    ck_assert_uint_eq(h.n, 0);
    ck_assert_uint_eq(sn_timer_heap_next(&h), UINT64_MAX);
    /* Fired in deadline order, each armed timer once, stopped ones never. */
    int expect = 0;
    for (int i = 0; i < NT; i++)
        if (i % 3 != 0 || i % 5 == 0)
            expect++;
    ck_assert_int_eq(n_fired, expect);
    for (int k = 1; k < n_fired; k++)
        ck_assert_uint_le(due[fired_order[k - 1]], due[fired_order[k]]);
    sn_timer_heap_free(&h);
}
END_TEST

static sn_timer_heap *self_heap;
static int rearms;
static void rearm_self(sn_timer *t, void *arg)
{
    (void)arg;
    if (++rearms < 5)
        ck_assert_int_eq(sn_timer_heap_arm(self_heap, t, t->due + 10), 0);
}

START_TEST(test_timer_heap_callbacks)
{
    sn_timer_heap h = {0};
    sn_timer a, b, c;

    /* Equal deadlines fire in arming order. */
    n_fired = 0;
    sn_timer_init(&a, on_fire, (void *)1L);
    sn_timer_init(&b, on_fire, (void *)2L);
    sn_timer_init(&c, on_fire, (void *)3L);
    sn_timer_heap_arm(&h, &b, 50);
    sn_timer_heap_arm(&h, &a, 50);
    sn_timer_heap_arm(&h, &c, 50);
    ck_assert_uint_eq(sn_timer_heap_next(&h), 50);
    ck_assert_uint_eq(sn_timer_heap_run(&h, 50, 2), 2); /* the cap holds */
    ck_assert_uint_eq(sn_timer_heap_run(&h, 50, 10), 1);
    ck_assert_int_eq(fired_order[0], 2);
    ck_assert_int_eq(fired_order[1], 1);
    ck_assert_int_eq(fired_order[2], 3);

    /* A callback re-arming its own timer for later: not run again now. */
    self_heap = &h;
    rearms = 0;
    sn_timer_init(&a, rearm_self, NULL);
    sn_timer_heap_arm(&h, &a, 100);
    ck_assert_uint_eq(sn_timer_heap_run(&h, 100, 100), 1);
    ck_assert(sn_timer_armed(&a));
    ck_assert_uint_eq(sn_timer_heap_next(&h), 110);
    ck_assert_uint_eq(sn_timer_heap_run(&h, 1000, 100), 4);
    ck_assert(!sn_timer_armed(&a));
    /* Stopping an idle timer is harmless; free leaves timers idle. */
    sn_timer_heap_stop(&h, &a);
    sn_timer_heap_arm(&h, &b, 7);
    sn_timer_heap_free(&h);
    ck_assert(!sn_timer_armed(&b));
}
END_TEST

/* -- outbound registration decisions --------------------------------- */

static sn_reg reg_new(void (*tweak)(sn_reg_cfg *))
{
    sn_reg_cfg cfg;
    sn_reg r;

    sn_reg_cfg_defaults(&cfg);
    if (tweak)
        tweak(&cfg);
    sn_reg_init(&r, &cfg);
    return r;
}

#define STEP(expr, act, delay)                                         \
    do {                                                               \
        sn_reg_step st_ = (expr);                                      \
        ck_assert_msg(st_.action == (act), "%s: action %d, want %d",   \
                      #expr, st_.action, (act));                       \
        ck_assert(st_.delay_ms == (uint64_t)(delay));                  \
        ck_assert_ptr_nonnull(st_.why);                                \
    } while (0)

START_TEST(test_reg_happy_path)
{
    sn_reg r = reg_new(NULL);
    sn_reg_step st;

    ck_assert_uint_eq(r.cfg.expiration, 3600);
    ck_assert_uint_eq(r.cfg.retry_interval, 60);
    ck_assert_uint_eq(r.cfg.max_retries, 10);
    st = sn_reg_start(&r, 123456789u);
    ck_assert_int_eq(st.action, SN_REG_SEND);
    ck_assert(st.delay_ms <= 10000); /* max_random_initial_delay */
    ck_assert_int_eq(r.state, SN_REG_REGISTERING);
    STEP(sn_reg_on_response(&r, 401, 0, 0, true), SN_REG_AUTHENTICATE, 0);
    STEP(sn_reg_on_response(&r, 200, 3600, 0, true), SN_REG_WAIT, 3595000);
    ck_assert_int_eq(r.state, SN_REG_REGISTERED);
    ck_assert_uint_eq(r.granted, 3600);
    STEP(sn_reg_on_timer(&r), SN_REG_SEND, 0);
    /* A refresh may be challenged again: answered again. */
    STEP(sn_reg_on_response(&r, 407, 0, 0, true), SN_REG_AUTHENTICATE, 0);
    STEP(sn_reg_on_response(&r, 200, 8, 0, true), SN_REG_WAIT, 4000);
    STEP(sn_reg_on_timer(&r), SN_REG_SEND, 0);
    /* No Expires in the 2xx: what we asked for. */
    STEP(sn_reg_on_response(&r, 200, 0, 0, true), SN_REG_WAIT, 3595000);
    STEP(sn_reg_on_response(&r, 200, 0, 0, true), SN_REG_NOTHING, 0); /* stray */
    /* A new public address: register again at once. */
    STEP(sn_reg_refresh_now(&r, "address changed"), SN_REG_SEND, 0);
    ck_assert_int_eq(r.state, SN_REG_REGISTERING);
    STEP(sn_reg_refresh_now(&r, "again"), SN_REG_NOTHING, 0); /* one is out */
    STEP(sn_reg_on_response(&r, 200, 60, 0, true), SN_REG_WAIT, 55000);
    /* Shutdown: unregister, then stopped. */
    STEP(sn_reg_stop(&r), SN_REG_SEND, 0);
    ck_assert_int_eq(r.state, SN_REG_UNREGISTERING);
    STEP(sn_reg_stop(&r), SN_REG_NOTHING, 0);
    STEP(sn_reg_on_response(&r, 401, 0, 0, true), SN_REG_AUTHENTICATE, 0);
    STEP(sn_reg_on_response(&r, 200, 0, 0, true), SN_REG_NOTHING, 0);
    ck_assert_int_eq(r.state, SN_REG_UNREGISTERED);
    STEP(sn_reg_on_timer(&r), SN_REG_NOTHING, 0);
}
END_TEST

/* A wrong password: one answer to the challenge, then failed; the
 * registrar sees 2 REGISTERs, within max_retries + 1. */
START_TEST(test_reg_wrong_password)
{
    sn_reg r = reg_new(NULL);
    int sent = 1;

    sn_reg_start(&r, 0);
    for (int i = 0; i < 100 && r.state != SN_REG_FAILED; i++) {
        sn_reg_step st = sn_reg_on_response(&r, 401, 0, 0, true);
        if (st.action == SN_REG_AUTHENTICATE || st.action == SN_REG_SEND)
            sent++;
        if (st.action == SN_REG_WAIT) {
            sn_reg_on_timer(&r);
            sent++;
        }
    }
    ck_assert_int_eq(r.state, SN_REG_FAILED);
    ck_assert_int_eq(sent, 2);
    ck_assert_int_le(sent, (int)r.cfg.max_retries + 1);
}
END_TEST

static void not_permanent(sn_reg_cfg *c)
{
    c->auth_rejection_permanent = false;
    c->max_retries = 3;
}

START_TEST(test_reg_auth_rejection_temporary)
{
    sn_reg r = reg_new(not_permanent);
    int waits = 0;

    sn_reg_start(&r, 0);
    for (int i = 0; i < 100 && r.state != SN_REG_FAILED; i++) {
        sn_reg_step st = sn_reg_on_response(&r, 401, 0, 0, true);
        if (st.action == SN_REG_WAIT) {
            ck_assert(st.delay_ms == 60000);
            waits++;
            STEP(sn_reg_on_timer(&r), SN_REG_SEND, 0);
        }
    }
    ck_assert_int_eq(waits, 3);
    ck_assert_int_eq(r.state, SN_REG_FAILED);
    /* No credentials for the realm: not answered, and fatal. */
    r = reg_new(NULL);
    sn_reg_start(&r, 0);
    STEP(sn_reg_on_response(&r, 401, 0, 0, false), SN_REG_NOTHING, 0);
    ck_assert_int_eq(r.state, SN_REG_FAILED);
}
END_TEST

/* The registrar is down: a retry every retry_interval, max_retries of
 * them, then failed; a success in between resets the count. */
START_TEST(test_reg_registrar_down)
{
    sn_reg r = reg_new(NULL);
    int waits = 0;

    sn_reg_start(&r, 0);
    for (;;) {
        sn_reg_step st = sn_reg_on_response(&r, 0, 0, 0, true);
        if (st.action != SN_REG_WAIT)
            break;
        ck_assert(st.delay_ms == 60000);
        ck_assert_int_eq(r.state, SN_REG_RETRYING);
        waits++;
        if (waits == 5) { /* it comes back once */
            STEP(sn_reg_on_timer(&r), SN_REG_SEND, 0);
            sn_reg_on_response(&r, 200, 3600, 0, true);
            ck_assert_uint_eq(r.retries, 0);
            sn_reg_on_timer(&r);
            continue;
        }
        STEP(sn_reg_on_timer(&r), SN_REG_SEND, 0);
    }
    ck_assert_int_eq(waits, 5 + 10);
    ck_assert_int_eq(r.state, SN_REG_FAILED);
    STEP(sn_reg_on_timer(&r), SN_REG_NOTHING, 0);
    STEP(sn_reg_refresh_now(&r, "x"), SN_REG_NOTHING, 0);
    /* Only a restart leaves FAILED. */
    ck_assert_int_eq(sn_reg_start(&r, 0).action, SN_REG_SEND);
    /* Other temporary answers. */
    static const int temp[] = {408, 500, 502, 503, 504, 600, 603};
    for (size_t i = 0; i < sizeof temp / sizeof temp[0]; i++) {
        r = reg_new(NULL);
        sn_reg_start(&r, 0);
        STEP(sn_reg_on_response(&r, temp[i], 0, 0, true), SN_REG_WAIT, 60000);
    }
}
END_TEST

static void forbidden_30(sn_reg_cfg *c)
{
    c->forbidden_retry_interval = 30;
    c->fatal_retry_interval = 120;
    c->max_random_initial_delay = 0;
}

START_TEST(test_reg_forbidden_and_fatal)
{
    sn_reg r = reg_new(NULL);

    /* Defaults: 403 and fatal answers end it. */
    sn_reg_start(&r, 0);
    STEP(sn_reg_on_response(&r, 403, 0, 0, true), SN_REG_NOTHING, 0);
    ck_assert_int_eq(r.state, SN_REG_FAILED);
    r = reg_new(NULL);
    sn_reg_start(&r, 0);
    STEP(sn_reg_on_response(&r, 404, 0, 0, true), SN_REG_NOTHING, 0);
    ck_assert_int_eq(r.state, SN_REG_FAILED);

    r = reg_new(forbidden_30);
    STEP(sn_reg_start(&r, 99999), SN_REG_SEND, 0); /* no initial delay */
    STEP(sn_reg_on_response(&r, 403, 0, 0, true), SN_REG_WAIT, 30000);
    STEP(sn_reg_on_timer(&r), SN_REG_SEND, 0);
    STEP(sn_reg_on_response(&r, 488, 0, 0, true), SN_REG_WAIT, 120000);
    ck_assert_uint_eq(r.retries, 2);
    /* 423: again at once with Min-Expires; a useless one is fatal. */
    STEP(sn_reg_on_timer(&r), SN_REG_SEND, 0);
    STEP(sn_reg_on_response(&r, 423, 0, 7200, true), SN_REG_SEND, 0);
    ck_assert_uint_eq(r.expires, 7200);
    STEP(sn_reg_on_response(&r, 423, 0, 60, true), SN_REG_WAIT, 120000);
    ck_assert_str_eq(sn_reg_state_name(SN_REG_RETRYING), "retrying");
    ck_assert_str_eq(sn_reg_state_name((sn_reg_state)42), "unknown");
}
END_TEST

START_TEST(test_reg_stop_while_registering)
{
    sn_reg r = reg_new(NULL);

    sn_reg_start(&r, 0);
    STEP(sn_reg_stop(&r), SN_REG_NOTHING, 0);
    /* It got registered meanwhile: unregister now. */
    STEP(sn_reg_on_response(&r, 200, 3600, 0, true), SN_REG_SEND, 0);
    ck_assert_int_eq(r.state, SN_REG_UNREGISTERING);
    STEP(sn_reg_on_response(&r, 500, 0, 0, true), SN_REG_NOTHING, 0);
    ck_assert_int_eq(r.state, SN_REG_UNREGISTERED);
    /* Or it failed meanwhile: just stopped. */
    r = reg_new(NULL);
    sn_reg_start(&r, 0);
    sn_reg_stop(&r);
    STEP(sn_reg_on_response(&r, 503, 0, 0, true), SN_REG_NOTHING, 0);
    ck_assert_int_eq(r.state, SN_REG_UNREGISTERED);
    /* An unregister challenged twice (or with no credentials) ends. */
    r = reg_new(NULL);
    sn_reg_start(&r, 0);
    sn_reg_on_response(&r, 200, 3600, 0, true);
    STEP(sn_reg_stop(&r), SN_REG_SEND, 0);
    STEP(sn_reg_on_response(&r, 401, 0, 0, true), SN_REG_AUTHENTICATE, 0);
    STEP(sn_reg_on_response(&r, 401, 0, 0, true), SN_REG_NOTHING, 0);
    ck_assert_int_eq(r.state, SN_REG_UNREGISTERED);
    r = reg_new(NULL);
    sn_reg_start(&r, 0);
    sn_reg_on_response(&r, 200, 3600, 0, true);
    sn_reg_stop(&r);
    STEP(sn_reg_on_response(&r, 407, 0, 0, false), SN_REG_NOTHING, 0);
    ck_assert_int_eq(r.state, SN_REG_UNREGISTERED);
    /* Ten-year intervals do not wrap around. */
    r = reg_new(NULL);
    r.cfg.retry_interval = 315360000u;
    sn_reg_start(&r, 0);
    sn_reg_step big = sn_reg_on_response(&r, 503, 0, 0, true);
    ck_assert(big.delay_ms == 315360000ull * 1000u);
    r = reg_new(NULL);
    sn_reg_start(&r, 0);
    big = sn_reg_on_response(&r, 200, 200000000u, 0, true);
    ck_assert(big.delay_ms == (200000000ull - 5) * 1000u);
    /* Stopping a retrying registration sends nothing. */
    r = reg_new(NULL);
    sn_reg_start(&r, 0);
    sn_reg_on_response(&r, 503, 0, 0, true);
    STEP(sn_reg_stop(&r), SN_REG_NOTHING, 0);
    ck_assert_int_eq(r.state, SN_REG_UNREGISTERED);
    STEP(sn_reg_on_timer(&r), SN_REG_NOTHING, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("internal");
    TCase *tc = tcase_create("addr");
    TCase *tp = tcase_create("policy");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, test_addr_parse);
    tcase_add_test(tc, test_private);
    tcase_add_test(tc, test_cidr);
    tcase_add_test(tp, test_static_seed);
    tcase_add_test(tp, test_static_edge_cases);
    TCase *tt = tcase_create("timer");
    tcase_add_test(tt, test_timer_heap_order);
    tcase_add_test(tt, test_timer_heap_callbacks);
    suite_add_tcase(s, tc);
    suite_add_tcase(s, tp);
    suite_add_tcase(s, tt);
    TCase *tr = tcase_create("registration");
    tcase_add_test(tr, test_reg_happy_path);
    tcase_add_test(tr, test_reg_wrong_password);
    tcase_add_test(tr, test_reg_auth_rejection_temporary);
    tcase_add_test(tr, test_reg_registrar_down);
    tcase_add_test(tr, test_reg_forbidden_and_fatal);
    tcase_add_test(tr, test_reg_stop_while_registering);
    suite_add_tcase(s, tr);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_VERBOSE);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
