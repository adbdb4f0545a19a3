/* libsipnat tests - context lifetime and logging. */
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

START_TEST(test_new_unref)
{
    sipnat_ctx *ctx = NULL;
    int fds = count_fds();

    ck_assert_int_eq(sipnat_ctx_new(NULL), -EINVAL);
    ck_assert_ok(sipnat_ctx_new(&ctx));
    ck_assert_ptr_nonnull(ctx);
    ck_assert_ptr_eq(sipnat_ctx_ref(ctx), ctx);
    ck_assert_ptr_null(sipnat_ctx_unref(ctx));
    /* Still alive after one unref: its fd still works. */
    ck_assert_int_ge(sipnat_ctx_get_fd(ctx), 0);
    ck_assert_ptr_null(sipnat_ctx_unref(ctx));
    ck_assert_ptr_null(sipnat_ctx_ref(NULL));
    ck_assert_ptr_null(sipnat_ctx_unref(NULL));
    ck_assert_int_eq(count_fds(), fds);
}
END_TEST

START_TEST(test_log_level)
{
    sipnat_ctx *ctx;

    ck_assert_ok(sipnat_ctx_new(&ctx));
    ck_assert_int_eq(sipnat_ctx_get_log_level(ctx), SIPNAT_LOG_WARNING);
    ck_assert_ok(sipnat_ctx_set_log_level(ctx, SIPNAT_LOG_DEBUG));
    ck_assert_int_eq(sipnat_ctx_get_log_level(ctx), SIPNAT_LOG_DEBUG);
    ck_assert_ok(sipnat_ctx_set_log_level(ctx, 0));
    ck_assert_int_eq(sipnat_ctx_set_log_level(ctx, -1), -EINVAL);
    ck_assert_int_eq(sipnat_ctx_set_log_level(ctx, 8), -EINVAL);
    ck_assert_int_eq(sipnat_ctx_get_log_level(ctx), 0);
    ck_assert_int_eq(sipnat_ctx_set_log_level(NULL, 3), -EINVAL);
    ck_assert_int_eq(sipnat_ctx_get_log_level(NULL), -EINVAL);
    ck_assert_int_eq(sipnat_ctx_set_log_func(NULL, NULL, NULL), -EINVAL);
    sipnat_ctx_unref(ctx);
}
END_TEST

struct log_capture {
    int n_sofia;
    int n_sipnat;
    int n_other;
    int max_priority;
    char last[256];
};

static void capture(sipnat_ctx *ctx, int prio, const char *domain,
                    const char *msg, void *ud)
{
    struct log_capture *c = ud;

    (void)ctx;
    ck_assert_int_ge(prio, 0);
    ck_assert_int_le(prio, SIPNAT_LOG_DEBUG);
    ck_assert_ptr_nonnull(msg);
    if (strcmp(domain, "sofia") == 0)
        c->n_sofia++;
    else if (strcmp(domain, "transport") == 0 || strcmp(domain, "sipnat") == 0)
        c->n_sipnat++;
    else
        c->n_other++;
    if (prio > c->max_priority)
        c->max_priority = prio;
    snprintf(c->last, sizeof c->last, "%s", msg);
}

/* The SIP stack's own lines reach the host's callback (and so never
 * stderr); a level filters them. */
START_TEST(test_log_capture)
{
    sipnat_ctx *ctx;
    sipnat_transport *t;
    sipnat_transport_cfg *cfg;
    struct log_capture c = {0};
    mock_peer peer;
    event_log ev = {0};
    char uri[64];

    mock_peer_open(&peer, 200);
    ck_assert_ok(sipnat_ctx_new(&ctx));
    ck_assert_ok(sipnat_ctx_set_log_func(ctx, capture, &c));
    ck_assert_ok(sipnat_ctx_set_log_level(ctx, SIPNAT_LOG_DEBUG));
    ck_assert_ok(sipnat_transport_cfg_new(&cfg));
    ck_assert_ok(sipnat_transport_cfg_set_bind(cfg, "127.0.0.1", 0));
    ck_assert_ok(sipnat_transport_new(&t, ctx, cfg));
    sipnat_transport_cfg_free(cfg);
    snprintf(uri, sizeof uri, "sip:probe@127.0.0.1:%d", peer.port);
    ck_assert_ok(sipnat_transport_send_options(t, uri, record_event, &ev));
    run_pull(ctx, &peer, &ev.n, 5000);
    ck_assert_int_eq(ev.status, 200);
    ck_assert_int_gt(c.n_sofia, 0);   /* sofia's debug lines */
    ck_assert_int_gt(c.n_sipnat, 0);  /* ours */
    ck_assert_int_eq(c.max_priority, SIPNAT_LOG_DEBUG);

    /* Level ERR: a successful run produces nothing. */
    memset(&c, 0, sizeof c);
    memset(&ev, 0, sizeof ev);
    ck_assert_ok(sipnat_ctx_set_log_level(ctx, SIPNAT_LOG_ERR));
    ck_assert_ok(sipnat_transport_send_options(t, uri, record_event, &ev));
    run_pull(ctx, &peer, &ev.n, 5000);
    ck_assert_int_eq(ev.status, 200);
    ck_assert_int_eq(c.n_sofia + c.n_sipnat + c.n_other, 0);

    /* No log function: nothing to call, nothing breaks. */
    ck_assert_ok(sipnat_ctx_set_log_func(ctx, NULL, NULL));
    ck_assert_ok(sipnat_ctx_set_log_level(ctx, SIPNAT_LOG_DEBUG));
    memset(&ev, 0, sizeof ev);
    ck_assert_ok(sipnat_transport_send_options(t, uri, record_event, &ev));
    run_pull(ctx, &peer, &ev.n, 5000);
    ck_assert_int_eq(ev.status, 200);
    ck_assert_int_eq(c.n_sofia + c.n_sipnat + c.n_other, 0);

    sipnat_transport_unref(t);
    sipnat_ctx_unref(ctx);
    mock_peer_close(&peer);
}
END_TEST

/* 100 cycles of create, bind, shut down, unref: no fd left open and (under
 * ASan) no leak. */
/* sofia-sip opens /dev/urandom once per process, on first use, and keeps
 * it: one warm-up cycle before counting. */
static void warm_up(void)
{
    sipnat_ctx *ctx;
    sipnat_transport *t;
    sipnat_transport_cfg *cfg;

    ck_assert_ok(sipnat_ctx_new(&ctx));
    ck_assert_ok(sipnat_transport_cfg_new(&cfg));
    ck_assert_ok(sipnat_transport_cfg_set_bind(cfg, "127.0.0.1", 0));
    ck_assert_ok(sipnat_transport_new(&t, ctx, cfg));
    sipnat_transport_cfg_free(cfg);
    sipnat_transport_unref(t);
    sipnat_ctx_unref(ctx);
}

static void shutdown_done(const sipnat_event *ev, void *ud)
{
    ck_assert_int_eq(ev->type, SIPNAT_EVENT_SHUTDOWN);
    ck_assert_int_eq(ev->status, 200);
    (*(int *)ud)++;
}

START_TEST(test_cycles_no_fd_leak)
{
    int before;

    warm_up();
    before = count_fds();

    for (int i = 0; i < 100; i++) {
        sipnat_ctx *ctx;
        sipnat_transport *t;
        sipnat_transport_cfg *cfg;
        int done = 0;

        ck_assert_ok(sipnat_ctx_new(&ctx));
        ck_assert_ok(sipnat_transport_cfg_new(&cfg));
        ck_assert_ok(sipnat_transport_cfg_set_bind(cfg, "127.0.0.1", 0));
        if (i % 2)
            ck_assert_ok(sipnat_transport_cfg_set_protocol(cfg, SIPNAT_PROTOCOL_TCP));
        ck_assert_ok(sipnat_transport_new(&t, ctx, cfg));
        sipnat_transport_cfg_free(cfg);
        ck_assert_ok(sipnat_transport_shutdown(t, shutdown_done, &done));
        run_pull(ctx, NULL, &done, 5000);
        ck_assert_int_eq(done, 1);
        sipnat_transport_unref(t);
        sipnat_ctx_unref(ctx);
    }
    ck_assert_int_eq(count_fds(), before);
    ck_assert_int_eq(count_threads(), 1);
}
END_TEST

/* Unref everything without a shutdown: the ctx finishes it. */
START_TEST(test_unref_without_shutdown)
{
    int before;

    warm_up();
    before = count_fds();

    for (int i = 0; i < 20; i++) {
        sipnat_ctx *ctx;
        sipnat_transport *t;
        sipnat_transport_cfg *cfg;

        ck_assert_ok(sipnat_ctx_new(&ctx));
        ck_assert_ok(sipnat_transport_cfg_new(&cfg));
        ck_assert_ok(sipnat_transport_cfg_set_bind(cfg, "127.0.0.1", 0));
        ck_assert_ok(sipnat_transport_new(&t, ctx, cfg));
        sipnat_transport_cfg_free(cfg);
        if (i % 2) {
            /* transport first: its shutdown is finished by the ctx */
            sipnat_transport_unref(t);
            sipnat_ctx_unref(ctx);
        } else {
            /* ctx first: the transport the host holds becomes dead */
            sipnat_ctx_unref(ctx);
            ck_assert_int_eq(sipnat_transport_send_options(t, "sip:a@127.0.0.1", NULL, NULL),
                             -ESHUTDOWN);
            ck_assert_int_eq(sipnat_transport_shutdown(t, NULL, NULL), -ESHUTDOWN);
            ck_assert_int_eq(sipnat_transport_get_port(t), -ESHUTDOWN);
            ck_assert_int_eq(sipnat_transport_get_protocol(t), -ESHUTDOWN);
            char buf[SIPNAT_ADDRSTRLEN];
            ck_assert_int_eq(sipnat_transport_get_address(t, buf, sizeof buf), -ESHUTDOWN);
            sipnat_transport_unref(t);
        }
    }
    ck_assert_int_eq(count_fds(), before);
}
END_TEST

Suite *ctx_suite(void)
{
    Suite *s = suite_create("ctx");
    TCase *tc = tcase_create("ctx");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_new_unref);
    tcase_add_test(tc, test_log_level);
    tcase_add_test(tc, test_log_capture);
    tcase_add_test(tc, test_cycles_no_fd_leak);
    tcase_add_test(tc, test_unref_without_shutdown);
    suite_add_tcase(s, tc);
    return s;
}
