/*
 * libsipnat example: drive libsipnat from a libuv loop.
 *
 * PUSH mode: libsipnat tells the host which fds to watch, and for what,
 * through a watch callback, and when to wake it up through a one-shot
 * timer callback. The host keeps one uv_poll_t per fd (attached to the
 * fd with sipnat_ctx_assign(), so the library hands it back on every
 * change) and one uv_timer_t, and reports readiness with
 * sipnat_ctx_process_fd() and expiry with sipnat_ctx_process_timeout().
 * The same design as curl's docs/examples/multi-uv.c.
 *
 * The callbacks only (re)arm libuv handles: they run inside libsipnat,
 * which must never be re-entered from them.
 *
 * The program sends one OPTIONS request and prints the response:
 *
 *   sipnat-example-uv [-b BIND_ADDR] [-t] [-T TIMEOUT_S] [-v] sip:URI
 *
 *   -b  local address to bind (default 127.0.0.1, ephemeral port)
 *   -t  use TCP instead of UDP
 *   -T  give up after this many seconds (default 10)
 *   -v  print libsipnat's log on stderr
 *
 * Exit status: 0 for a 2xx response, 2 on timeout, 1 otherwise.
 *
 * Build: cc uv.c $(pkg-config --cflags --libs libsipnat libuv)
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <sipnat/sipnat.h>
#include <uv.h>

struct options {
    const char *bind; /* -b */
    bool tcp;         /* -t */
    int timeout_s;    /* -T */
    bool verbose;     /* -v */
    const char *uri;
};

/* What the callbacks share with main(). */
struct app {
    uv_loop_t loop;
    uv_timer_t timer;    /* libsipnat's one-shot timer */
    uv_timer_t deadline; /* our overall timeout (-T) */
    sipnat_ctx *ctx;
    sipnat_transport *transport;
    int status;     /* of the response, 0 until then */
    bool failed;    /* an error was reported */
    bool timed_out; /* the deadline fired */
    bool closing;   /* main() is cleaning up */
};

/* One per fd libsipnat asked us to watch: the fd's sipnat_ctx_assign()
 * pointer. */
struct watch {
    uv_poll_t poll;
    int fd;
    struct app *app;
};

static void usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s [-b BIND_ADDR] [-t] [-T TIMEOUT_S] [-v] sip:URI\n",
            prog);
    exit(1);
}

static void parse_options(int argc, char **argv, struct options *o)
{
    char *end;
    long l;
    int c;

    *o = (struct options){.bind = "127.0.0.1", .timeout_s = 10};
    while ((c = getopt(argc, argv, "b:tT:v")) != -1) {
        switch (c) {
        case 'b':
            o->bind = optarg;
            break;
        case 't':
            o->tcp = true;
            break;
        case 'T':
            l = strtol(optarg, &end, 10);
            if (*end != '\0' || l <= 0 || l > 86400)
                usage(argv[0]);
            o->timeout_s = (int)l;
            break;
        case 'v':
            o->verbose = true;
            break;
        default:
            usage(argv[0]);
        }
    }
    if (optind != argc - 1)
        usage(argv[0]);
    o->uri = argv[optind];
}

/* Report a failed call; returns the exit status for main(). */
static int fail(const char *what, int err)
{
    fprintf(stderr, "%s: %s\n", what, sipnat_strerror(err));
    return 1;
}

/* An error inside a callback: report it and leave uv_run(). */
static void fail_in_loop(struct app *app, const char *what, const char *why)
{
    fprintf(stderr, "%s: %s\n", what, why);
    app->failed = true;
    uv_stop(&app->loop);
}

/* The library never prints: its log lines come here, if the host wants. */
static void on_log(sipnat_ctx *ctx, int priority, const char *domain,
                   const char *message, void *user_data)
{
    (void)ctx;
    (void)user_data;
    fprintf(stderr, "<%d> %s: %s\n", priority, domain, message);
}

static void on_event(const sipnat_event *ev, void *user_data)
{
    struct app *app = user_data;
    int r;

    /* The last unrefs end a request still pending (on timeout or error)
     * with a "cancelled" response: nobody waits for it any more. */
    if (app->closing)
        return;

    switch (ev->type) {
    case SIPNAT_EVENT_RESPONSE:
        printf("response: %d %s\n", ev->status, ev->phrase);
        fflush(stdout);
        app->status = ev->status;
        /* Asynchronous: SIPNAT_EVENT_SHUTDOWN arrives when it is done. */
        r = sipnat_transport_shutdown(app->transport, on_event, app);
        if (r < 0)
            fail_in_loop(app, "sipnat_transport_shutdown", sipnat_strerror(r));
        break;
    case SIPNAT_EVENT_SHUTDOWN:
        uv_stop(&app->loop); /* nothing left to do */
        break;
    default:
        break;
    }
}

/* libuv -> libsipnat: a watched fd is ready. */
static void on_poll(uv_poll_t *poll, int status, int events)
{
    struct watch *w = poll->data;
    struct app *app = w->app;
    unsigned revents = 0;
    int r;

    if (status < 0)
        revents |= SIPNAT_IO_ERR;
    if (events & UV_READABLE)
        revents |= SIPNAT_IO_IN;
    if (events & UV_WRITABLE)
        revents |= SIPNAT_IO_OUT;
    if (events & UV_DISCONNECT)
        revents |= SIPNAT_IO_HUP;
    /* This may close `poll` and its watch (SIPNAT_IO_REMOVE): do not
     * touch them afterwards. */
    r = sipnat_ctx_process_fd(app->ctx, w->fd, revents);
    /* -ENOENT: the library dropped fd a moment ago; nothing to do. */
    if (r < 0 && r != -ENOENT)
        fail_in_loop(app, "sipnat_ctx_process_fd", sipnat_strerror(r));
}

/* libuv -> libsipnat: the library's timer expired. */
static void on_timer(uv_timer_t *timer)
{
    struct app *app = timer->data;
    int r;

    r = sipnat_ctx_process_timeout(app->ctx);
    if (r < 0)
        fail_in_loop(app, "sipnat_ctx_process_timeout", sipnat_strerror(r));
}

/* Our own overall timeout. */
static void on_deadline(uv_timer_t *timer)
{
    struct app *app = timer->data;

    app->timed_out = true;
    uv_stop(&app->loop);
}

static void free_watch(uv_handle_t *handle)
{
    free(handle->data);
}

/* libsipnat -> libuv: start, change or stop watching fd. libuv's error
 * codes are negative errnos on Unix, as libsipnat expects. */
static int on_watch(sipnat_ctx *ctx, int fd, unsigned events, void *fd_data,
                    void *user_data)
{
    struct app *app = user_data;
    struct watch *w = fd_data; /* NULL the first time we hear of fd */
    int uv_events = 0, r;

    if (events & SIPNAT_IO_REMOVE) {
        /* uv_close() stops polling at once, so the library may close
         * the fd right after we return; the memory goes later. */
        if (w)
            uv_close((uv_handle_t *)&w->poll, free_watch);
        return 0;
    }

    if (!w) {
        w = malloc(sizeof *w);
        if (!w) {
            fail_in_loop(app, "malloc", sipnat_strerror(-ENOMEM));
            return -ENOMEM;
        }
        w->fd = fd;
        w->app = app;
        r = uv_poll_init(&app->loop, &w->poll, fd);
        if (r < 0) {
            free(w);
            fail_in_loop(app, "uv_poll_init", uv_strerror(r));
            return r;
        }
        w->poll.data = w;
        r = sipnat_ctx_assign(ctx, fd, w);
        if (r < 0) {
            uv_close((uv_handle_t *)&w->poll, free_watch);
            fail_in_loop(app, "sipnat_ctx_assign", sipnat_strerror(r));
            return r;
        }
    }

    if (events & SIPNAT_IO_IN)
        uv_events |= UV_READABLE;
    if (events & SIPNAT_IO_OUT)
        uv_events |= UV_WRITABLE;
    /* Starting an active uv_poll_t again just changes its events. */
    r = uv_poll_start(&w->poll, uv_events, on_poll);
    if (r < 0)
        fail_in_loop(app, "uv_poll_start", uv_strerror(r));
    return r;
}

/* libsipnat -> libuv: (re)arm or disarm the one-shot timer. */
static int on_timer_change(sipnat_ctx *ctx, int timeout_ms, void *user_data)
{
    struct app *app = user_data;
    int r;

    (void)ctx;
    if (timeout_ms < 0)
        r = uv_timer_stop(&app->timer);
    else /* repeat 0: one-shot; restarting replaces the old timeout */
        r = uv_timer_start(&app->timer, on_timer, (uint64_t)timeout_ms, 0);
    if (r < 0)
        fail_in_loop(app, "uv_timer_start", uv_strerror(r));
    return r;
}

/* Bind a transport as the options say and send the request. */
static int start(struct app *app, const struct options *o)
{
    sipnat_transport_cfg *cfg;
    int r;

    r = sipnat_transport_cfg_new(&cfg);
    if (r < 0)
        return fail("sipnat_transport_cfg_new", r);
    r = sipnat_transport_cfg_set_protocol(cfg, o->tcp ? SIPNAT_PROTOCOL_TCP
                                                      : SIPNAT_PROTOCOL_UDP);
    if (r < 0) {
        sipnat_transport_cfg_free(cfg);
        return fail("sipnat_transport_cfg_set_protocol", r);
    }
    /* Port 0: any free port. */
    r = sipnat_transport_cfg_set_bind(cfg, o->bind, 0);
    if (r < 0) {
        sipnat_transport_cfg_free(cfg);
        return fail("sipnat_transport_cfg_set_bind", r);
    }
    r = sipnat_transport_new(&app->transport, app->ctx, cfg);
    sipnat_transport_cfg_free(cfg); /* the transport keeps a copy */
    if (r < 0)
        return fail("sipnat_transport_new", r);

    r = sipnat_transport_send_options(app->transport, o->uri, on_event, app);
    if (r < 0)
        return fail("sipnat_transport_send_options", r);
    return 0;
}

int main(int argc, char **argv)
{
    struct options o;
    struct app app = {0};
    int r, ret = 1;

    parse_options(argc, argv, &o);

    r = uv_loop_init(&app.loop);
    if (r < 0) {
        fprintf(stderr, "uv_loop_init: %s\n", uv_strerror(r));
        return 1;
    }
    /* uv_timer_init() cannot fail. */
    uv_timer_init(&app.loop, &app.timer);
    uv_timer_init(&app.loop, &app.deadline);
    app.timer.data = &app;
    app.deadline.data = &app;

    r = sipnat_ctx_new(&app.ctx);
    if (r < 0) {
        ret = fail("sipnat_ctx_new", r);
        goto out;
    }
    if (o.verbose) {
        r = sipnat_ctx_set_log_func(app.ctx, on_log, NULL);
        if (r == 0)
            r = sipnat_ctx_set_log_level(app.ctx, SIPNAT_LOG_DEBUG);
        if (r < 0) {
            ret = fail("sipnat_ctx_set_log_func", r);
            goto out;
        }
    }

    /* Switch to push mode. on_watch runs at once for the fds the ctx
     * already has, and later whenever they change. */
    r = sipnat_ctx_set_watch_func(app.ctx, on_watch, &app);
    if (r < 0) {
        ret = fail("sipnat_ctx_set_watch_func", r);
        goto out;
    }
    r = sipnat_ctx_set_timer_func(app.ctx, on_timer_change, &app);
    if (r < 0) {
        ret = fail("sipnat_ctx_set_timer_func", r);
        goto out;
    }

    if (start(&app, &o) != 0)
        goto out;

    r = uv_timer_start(&app.deadline, on_deadline, o.timeout_s * 1000ULL, 0);
    if (r < 0) {
        fprintf(stderr, "uv_timer_start: %s\n", uv_strerror(r));
        goto out;
    }

    /* A callback may have failed during the calls above. */
    if (app.failed)
        goto out;

    /* Returns after uv_stop(): shutdown done, error or timeout. */
    uv_run(&app.loop, UV_RUN_DEFAULT);

    if (app.failed) {
        ret = 1;
    } else if (app.timed_out) {
        printf("timeout\n");
        ret = 2;
    } else {
        ret = app.status >= 200 && app.status < 300 ? 0 : 1;
    }

out:
    app.closing = true;
    /* Unref finishes whatever shutdown is still under way; the last
     * ctx unref calls on_watch with SIPNAT_IO_REMOVE for every fd. */
    sipnat_transport_unref(app.transport);
    sipnat_ctx_unref(app.ctx);
    uv_close((uv_handle_t *)&app.timer, NULL);
    uv_close((uv_handle_t *)&app.deadline, NULL);
    /* Let the close callbacks run, then the loop can go. uv_run()
     * returns non-zero, having done nothing, when a callback called
     * uv_stop() outside it (an error during setup): run it again. */
    while (uv_run(&app.loop, UV_RUN_DEFAULT) != 0)
        ;
    r = uv_loop_close(&app.loop);
    if (r < 0) {
        fprintf(stderr, "uv_loop_close: %s\n", uv_strerror(r));
        ret = 1;
    }
    return ret;
}
