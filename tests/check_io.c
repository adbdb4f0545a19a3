/* libsipnat tests - the host-loop contract: pull and push modes. */
#include "testutil.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static sipnat_transport *open_transport(sipnat_ctx *ctx)
{
    sipnat_transport *t;
    sipnat_transport_cfg *cfg;

    ck_assert_ok(sipnat_transport_cfg_new(&cfg));
    ck_assert_ok(sipnat_transport_cfg_set_bind(cfg, "127.0.0.1", 0));
    ck_assert_ok(sipnat_transport_new(&t, ctx, cfg));
    sipnat_transport_cfg_free(cfg);
    return t;
}

START_TEST(test_invalid_args)
{
    sipnat_ctx *ctx;
    int ms;

    ck_assert_int_eq(sipnat_ctx_get_fd(NULL), -EINVAL);
    ck_assert_int_eq(sipnat_ctx_get_timeout(NULL, &ms), -EINVAL);
    ck_assert_int_eq(sipnat_ctx_process(NULL), -EINVAL);
    ck_assert_int_eq(sipnat_ctx_set_watch_func(NULL, NULL, NULL), -EINVAL);
    ck_assert_int_eq(sipnat_ctx_set_timer_func(NULL, NULL, NULL), -EINVAL);
    ck_assert_int_eq(sipnat_ctx_assign(NULL, 0, NULL), -EINVAL);
    ck_assert_int_eq(sipnat_ctx_process_fd(NULL, 0, SIPNAT_IO_IN), -EINVAL);
    ck_assert_int_eq(sipnat_ctx_process_timeout(NULL), -EINVAL);

    ck_assert_ok(sipnat_ctx_new(&ctx));
    ck_assert_int_eq(sipnat_ctx_get_timeout(ctx, NULL), -EINVAL);
    ck_assert_int_eq(sipnat_ctx_assign(ctx, -1, NULL), -EINVAL);
    ck_assert_int_eq(sipnat_ctx_process_fd(ctx, -1, SIPNAT_IO_IN), -EINVAL);
    ck_assert_int_eq(sipnat_ctx_process_fd(ctx, 0, 0x8000), -EINVAL);
    /* fds the library does not watch */
    ck_assert_int_eq(sipnat_ctx_assign(ctx, 0, NULL), -ENOENT);
    ck_assert_int_eq(sipnat_ctx_process_fd(ctx, 0, SIPNAT_IO_IN), -ENOENT);
    ck_assert_int_eq(sipnat_ctx_process_fd(ctx, 100000, SIPNAT_IO_IN), -ENOENT);
    sipnat_ctx_unref(ctx);
}
END_TEST

START_TEST(test_pull_options)
{
    sipnat_ctx *ctx;
    sipnat_transport *t;
    mock_peer peer;
    event_log ev = {0};
    char uri[64];
    int fd, ms;

    mock_peer_open(&peer, 200);
    ck_assert_ok(sipnat_ctx_new(&ctx));
    fd = sipnat_ctx_get_fd(ctx);
    ck_assert_int_ge(fd, 0);
    /* It is an epoll fd: adding it to another epoll set works. */
    int ep = epoll_create1(0);
    struct epoll_event e = {.events = EPOLLIN};
    ck_assert_int_eq(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e), 0);
    close(ep);
    ck_assert_ok(sipnat_ctx_get_timeout(ctx, &ms));
    ck_assert_int_ge(ms, -1);
    ck_assert_int_ge(sipnat_ctx_process(ctx), 0);

    t = open_transport(ctx);
    snprintf(uri, sizeof uri, "sip:ping@127.0.0.1:%d", peer.port);
    ck_assert_ok(sipnat_transport_send_options(t, uri, record_event, &ev));
    /* The request is queued: the fd must become readable by itself. */
    struct pollfd p = {.fd = fd, .events = POLLIN};
    ck_assert_int_eq(poll(&p, 1, 1000), 1);
    run_pull(ctx, &peer, &ev.n, 5000);
    ck_assert_int_eq(ev.n, 1);
    ck_assert_int_eq(ev.type, SIPNAT_EVENT_RESPONSE);
    ck_assert_int_eq(ev.status, 200);
    ck_assert_int_eq(ev.error, 0);
    ck_assert_str_eq(ev.phrase, "OK");
    ck_assert_str_eq(ev.method, "OPTIONS");
    ck_assert_str_eq(ev.uri, uri);
    /* What crossed the wire. */
    ck_assert_uint_eq(peer.n_requests, 1);
    ck_assert_int_eq(strncmp(peer.last_request, "OPTIONS sip:ping@127.0.0.1:", 27), 0);
    ck_assert_ptr_nonnull(strstr(peer.last_request, "Via: SIP/2.0/UDP 127.0.0.1:"));
    ck_assert_ptr_nonnull(strstr(peer.last_request, "CSeq: "));
    ck_assert_int_eq(count_threads(), 1);

    sipnat_transport_unref(t);
    sipnat_ctx_unref(ctx);
    mock_peer_close(&peer);
}
END_TEST

/* -- push mode ------------------------------------------------------- */

#define MAX_W 32
struct host {
    sipnat_ctx *ctx;
    struct { int fd; unsigned events; } w[MAX_W];
    int n_w;
    int n_watch_calls;
    int n_remove;
    int n_timer_calls;
    long long deadline; /* -1: none */
    int assigned_ok;    /* fd_data came back as assigned */
    int reentry_result;
};

static int host_watch(sipnat_ctx *ctx, int fd, unsigned events, void *fd_data,
                      void *ud)
{
    struct host *h = ud;
    int i;

    ck_assert_ptr_eq(ctx, h->ctx);
    h->n_watch_calls++;
    /* Calling back into process from a callback is refused. */
    h->reentry_result = sipnat_ctx_process_timeout(ctx);
    for (i = 0; i < h->n_w; i++)
        if (h->w[i].fd == fd)
            break;
    if (events & SIPNAT_IO_REMOVE) {
        ck_assert_int_lt(i, h->n_w); /* only fds it was told about */
        /* What the host attached comes back, so it can free it. */
        ck_assert(fd_data == (void *)(long)(fd + 1000) ||
                  fd_data == (void *)(long)(fd + 2000));
        h->w[i] = h->w[--h->n_w];
        h->n_remove++;
        return 0;
    }
    if (i == h->n_w) {
        ck_assert_int_lt(h->n_w, MAX_W);
        ck_assert_ptr_null(fd_data);
        h->w[h->n_w].fd = fd;
        h->n_w++;
        /* Attaching from inside the watch callback works (libuv style). */
        ck_assert_int_eq(sipnat_ctx_assign(ctx, fd, (void *)(long)(fd + 2000)), 0);
    } else if (fd_data == (void *)(long)(fd + 1000)) {
        h->assigned_ok++;
    }
    h->w[i].events = events;
    return 0;
}

static int host_timer(sipnat_ctx *ctx, int ms, void *ud)
{
    struct host *h = ud;

    (void)ctx;
    h->n_timer_calls++;
    ck_assert_int_ge(ms, -1);
    h->deadline = ms < 0 ? -1 : mono_ms() + ms;
    return 0;
}

static void run_push(struct host *h, mock_peer *peer, const int *done, int timeout_ms)
{
    long long end = mono_ms() + timeout_ms;

    while (!*done && mono_ms() < end) {
        struct pollfd p[MAX_W + 1];
        int n = h->n_w, t = (int)(end - mono_ms());

        for (int i = 0; i < n; i++) {
            p[i].fd = h->w[i].fd;
            p[i].events = (short)h->w[i].events; /* same values as poll's */
            p[i].revents = 0;
        }
        p[n].fd = peer->fd;
        p[n].events = POLLIN;
        if (h->deadline >= 0 && h->deadline - mono_ms() < t)
            t = (int)(h->deadline - mono_ms());
        if (t < 0)
            t = 0;
        ck_assert_int_ge(poll(p, (nfds_t)n + 1, t), 0);
        if (p[n].revents & POLLIN)
            mock_peer_serve(peer);
        for (int i = 0; i < n; i++)
            if (p[i].revents)
                ck_assert_int_ge(sipnat_ctx_process_fd(h->ctx, p[i].fd,
                                                       (unsigned)p[i].revents),
                                 0);
        if (h->deadline >= 0 && mono_ms() >= h->deadline) {
            h->deadline = -1;
            ck_assert_int_ge(sipnat_ctx_process_timeout(h->ctx), 0);
        }
    }
}

START_TEST(test_push_options)
{
    struct host h = {.deadline = -1};
    sipnat_transport *t;
    mock_peer peer;
    event_log ev = {0};
    char uri[64];

    mock_peer_open(&peer, 200);
    ck_assert_ok(sipnat_ctx_new(&h.ctx));
    ck_assert_ok(sipnat_ctx_set_watch_func(h.ctx, host_watch, &h));
    /* Told at once about the fds it must watch (the stack's wake-up fd). */
    ck_assert_int_ge(h.n_w, 1);
    ck_assert_int_eq(h.reentry_result, -EBUSY);
    ck_assert_int_eq(sipnat_ctx_get_fd(h.ctx), -EBUSY);
    ck_assert_int_eq(sipnat_ctx_process(h.ctx), -EBUSY);
    ck_assert_ok(sipnat_ctx_set_timer_func(h.ctx, host_timer, &h));
    ck_assert_int_eq(h.n_timer_calls, 1);

    t = open_transport(h.ctx);
    ck_assert_int_ge(h.n_w, 2); /* plus the SIP socket */
    for (int i = 0; i < h.n_w; i++)
        ck_assert_ok(sipnat_ctx_assign(h.ctx, h.w[i].fd, (void *)(long)(h.w[i].fd + 1000)));

    snprintf(uri, sizeof uri, "sip:push@127.0.0.1:%d", peer.port);
    ck_assert_ok(sipnat_transport_send_options(t, uri, record_event, &ev));
    run_push(&h, &peer, &ev.n, 5000);
    ck_assert_int_eq(ev.n, 1);
    ck_assert_int_eq(ev.status, 200);
    ck_assert_uint_eq(peer.n_requests, 1);

    /* Shut down in push mode: the SIP socket is withdrawn with REMOVE. */
    int done = 0, watched = h.n_w;
    event_log sev = {0};
    ck_assert_ok(sipnat_transport_shutdown(t, record_event, &sev));
    ck_assert_int_eq(sipnat_transport_shutdown(t, NULL, NULL), -EALREADY);
    run_push(&h, &peer, &sev.n, 5000);
    ck_assert_int_eq(sev.type, SIPNAT_EVENT_SHUTDOWN);
    ck_assert_int_eq(sev.status, 200);
    done = h.n_remove;
    ck_assert_int_ge(done, 1);
    ck_assert_int_lt(h.n_w, watched);
    ck_assert_int_eq(count_threads(), 1);

    /* Back to pull mode: everything is withdrawn from the host. */
    ck_assert_ok(sipnat_ctx_set_watch_func(h.ctx, NULL, NULL));
    ck_assert_int_eq(h.n_w, 0);
    ck_assert_int_ge(sipnat_ctx_get_fd(h.ctx), 0);
    ck_assert_ok(sipnat_ctx_set_timer_func(h.ctx, NULL, NULL));
    sipnat_transport_unref(t);
    sipnat_ctx_unref(h.ctx);
    mock_peer_close(&peer);
}
END_TEST

/* The last unref of a ctx in push mode withdraws every fd and the timer. */
START_TEST(test_push_unref_withdraws)
{
    struct host h = {.deadline = -1};
    sipnat_transport *t;

    ck_assert_ok(sipnat_ctx_new(&h.ctx));
    ck_assert_ok(sipnat_ctx_set_watch_func(h.ctx, host_watch, &h));
    ck_assert_ok(sipnat_ctx_set_timer_func(h.ctx, host_timer, &h));
    t = open_transport(h.ctx);
    ck_assert_int_ge(h.n_w, 2);
    sipnat_transport_unref(t);
    sipnat_ctx_unref(h.ctx);
    ck_assert_int_eq(h.n_w, 0);
    ck_assert_int_eq(h.deadline, -1);
}
END_TEST

/* An idle ctx with an open transport must not spin: at most two
 * wake-ups a second, measured over 5 s. */
START_TEST(test_idle_wakeups)
{
    sipnat_ctx *ctx;
    sipnat_transport *t;
    long long start;
    int wakes;

    ck_assert_ok(sipnat_ctx_new(&ctx));
    t = open_transport(ctx);
    run_pull(ctx, NULL, NULL, 200); /* let start-up work settle */
    start = mono_ms();
    wakes = run_pull(ctx, NULL, NULL, 5200);
    long long elapsed = mono_ms() - start;
    printf("idle: %d wake-ups in %lld ms\n", wakes, elapsed);
    ck_assert_int_ge(elapsed, 5000);
    ck_assert_int_le(wakes, (int)(2 * elapsed / 1000));
    ck_assert_int_eq(count_threads(), 1);
    sipnat_transport_unref(t);
    sipnat_ctx_unref(ctx);
}
END_TEST

/* A process call from inside an event callback is refused. */
static void reenter(const sipnat_event *ev, void *ud)
{
    sipnat_ctx *ctx = ud;

    (void)ev;
    ck_assert_int_eq(sipnat_ctx_process(ctx), -EBUSY);
    ck_assert_int_eq(sipnat_ctx_process_timeout(ctx), -EBUSY);
    ck_assert_int_eq(sipnat_ctx_set_watch_func(ctx, NULL, NULL), -EBUSY);
    ck_assert_int_eq(sipnat_ctx_set_timer_func(ctx, NULL, NULL), -EBUSY);
    sipnat_transport *t = (sipnat_transport *)1;
    ck_assert_int_eq(sipnat_transport_new(&t, ctx, NULL), -EBUSY);
    ck_assert_ptr_null(t);
}

static int reentered;
static void reenter_count(const sipnat_event *ev, void *ud)
{
    reenter(ev, ud);
    reentered++;
}

START_TEST(test_no_reentry)
{
    sipnat_ctx *ctx;
    sipnat_transport *t;
    mock_peer peer;
    char uri[64];

    mock_peer_open(&peer, 200);
    ck_assert_ok(sipnat_ctx_new(&ctx));
    t = open_transport(ctx);
    snprintf(uri, sizeof uri, "sip:re@127.0.0.1:%d", peer.port);
    ck_assert_ok(sipnat_transport_send_options(t, uri, reenter_count, ctx));
    run_pull(ctx, &peer, &reentered, 5000);
    ck_assert_int_eq(reentered, 1);
    sipnat_transport_unref(t);
    sipnat_ctx_unref(ctx);
    mock_peer_close(&peer);
}
END_TEST

Suite *io_suite(void)
{
    Suite *s = suite_create("io");
    TCase *tc = tcase_create("io");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_invalid_args);
    tcase_add_test(tc, test_pull_options);
    tcase_add_test(tc, test_push_options);
    tcase_add_test(tc, test_push_unref_withdraws);
    tcase_add_test(tc, test_idle_wakeups);
    tcase_add_test(tc, test_no_reentry);
    suite_add_tcase(s, tc);
    return s;
}
