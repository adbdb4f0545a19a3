/*
 * libsipnat example: drive libsipnat from a libevent loop.
 *
 * PUSH mode: libsipnat tells the host which fds to watch, and for what,
 * through a watch callback, and when to wake it up through a one-shot
 * timer callback. The host keeps one persistent struct event per fd
 * (attached to the fd with sipnat_ctx_assign(), so the library hands it
 * back on every change) and one evtimer, and reports readiness with
 * sipnat_ctx_process_fd() and expiry with sipnat_ctx_process_timeout().
 * The same design as curl's docs/examples/multi-event.c.
 *
 * The callbacks only (re)arm libevent events: they run inside
 * libsipnat, which must never be re-entered from them.
 *
 * The program sends one OPTIONS request and prints the response:
 *
 *   sipnat-example-libevent [-b BIND_ADDR] [-t] [-T TIMEOUT_S] [-v] sip:URI
 *
 *   -b  local address to bind (default 127.0.0.1, ephemeral port)
 *   -t  use TCP instead of UDP
 *   -T  give up after this many seconds (default 10)
 *   -v  print libsipnat's log on stderr
 *
 * Exit status: 0 for a 2xx response, 2 on timeout, 1 otherwise.
 *
 * Build: cc libevent.c $(pkg-config --cflags --libs libsipnat libevent)
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/event.h>
#include <sipnat/sipnat.h>

struct options {
    const char *bind; /* -b */
    bool tcp;         /* -t */
    int timeout_s;    /* -T */
    bool verbose;     /* -v */
    const char *uri;
};

/* What the callbacks share with main(). */
struct app {
    struct event_base *base;
    struct event *timer;    /* libsipnat's one-shot timer */
    struct event *deadline; /* our overall timeout (-T) */
    sipnat_ctx *ctx;
    sipnat_transport *transport;
    int status;     /* of the response, 0 until then */
    bool failed;    /* an error was reported */
    bool timed_out; /* the deadline fired */
    bool closing;   /* main() is cleaning up */
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

/* An error inside a callback: report it and leave the event loop. */
static void fail_in_loop(struct app *app, const char *what, const char *why)
{
    fprintf(stderr, "%s: %s\n", what, why);
    app->failed = true;
    event_base_loopbreak(app->base);
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
        event_base_loopbreak(app->base); /* nothing left to do */
        break;
    default:
        break;
    }
}

/* libevent -> libsipnat: a watched fd is ready. libevent has no flags
 * for errors or hang-ups: it reports them as readable and writable. */
static void on_fd(evutil_socket_t fd, short what, void *arg)
{
    struct app *app = arg;
    unsigned revents = 0;
    int r;

    if (what & EV_READ)
        revents |= SIPNAT_IO_IN;
    if (what & EV_WRITE)
        revents |= SIPNAT_IO_OUT;
    /* This may free the struct event that called us (SIPNAT_IO_REMOVE):
     * libevent allows that, and we do not touch it afterwards. */
    r = sipnat_ctx_process_fd(app->ctx, fd, revents);
    /* -ENOENT: the library dropped fd a moment ago; nothing to do. */
    if (r < 0 && r != -ENOENT)
        fail_in_loop(app, "sipnat_ctx_process_fd", sipnat_strerror(r));
}

/* libevent -> libsipnat: the library's timer expired. */
static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    struct app *app = arg;
    int r;

    (void)fd;
    (void)what;
    r = sipnat_ctx_process_timeout(app->ctx);
    if (r < 0)
        fail_in_loop(app, "sipnat_ctx_process_timeout", sipnat_strerror(r));
}

/* Our own overall timeout. */
static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
    struct app *app = arg;

    (void)fd;
    (void)what;
    app->timed_out = true;
    event_base_loopbreak(app->base);
}

/* libsipnat -> libevent: start, change or stop watching fd. */
static int on_watch(sipnat_ctx *ctx, int fd, unsigned events, void *fd_data,
                    void *user_data)
{
    struct app *app = user_data;
    struct event *ev = fd_data; /* NULL the first time we hear of fd */
    short what = EV_PERSIST;
    int r;

    if (events & SIPNAT_IO_REMOVE) {
        /* event_free() deletes the event at once: the library may close
         * the fd right after we return. */
        if (ev)
            event_free(ev);
        return 0;
    }

    if (events & SIPNAT_IO_IN)
        what |= EV_READ;
    if (events & SIPNAT_IO_OUT)
        what |= EV_WRITE;

    /* libevent's own errors are just -1: report them as -EIO. */
    if (ev) {
        /* New interest: a deleted (non-pending) event may be assigned
         * afresh. */
        event_del(ev);
        if (event_assign(ev, app->base, fd, what, on_fd, app) < 0) {
            fail_in_loop(app, "event_assign", "failed");
            return -EIO;
        }
    } else {
        ev = event_new(app->base, fd, what, on_fd, app);
        if (!ev) {
            fail_in_loop(app, "event_new", "failed");
            return -ENOMEM;
        }
        r = sipnat_ctx_assign(ctx, fd, ev);
        if (r < 0) {
            event_free(ev);
            fail_in_loop(app, "sipnat_ctx_assign", sipnat_strerror(r));
            return r;
        }
    }
    if (event_add(ev, NULL) < 0) { /* no timeout: watch until told */
        fail_in_loop(app, "event_add", "failed");
        return -EIO;
    }
    return 0;
}

/* libsipnat -> libevent: (re)arm or disarm the one-shot timer. */
static int on_timer_change(sipnat_ctx *ctx, int timeout_ms, void *user_data)
{
    struct app *app = user_data;
    struct timeval tv;

    (void)ctx;
    if (timeout_ms < 0) {
        if (evtimer_del(app->timer) < 0) {
            fail_in_loop(app, "evtimer_del", "failed");
            return -EIO;
        }
        return 0;
    }
    tv.tv_sec = timeout_ms / 1000;
    tv.tv_usec = (timeout_ms % 1000) * 1000;
    /* Adding a pending timer again reschedules it. */
    if (evtimer_add(app->timer, &tv) < 0) {
        fail_in_loop(app, "evtimer_add", "failed");
        return -EIO;
    }
    return 0;
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
    struct timeval tv = {0};
    int r, ret = 1;

    parse_options(argc, argv, &o);

    app.base = event_base_new();
    if (app.base)
        app.timer = evtimer_new(app.base, on_timer, &app);
    if (app.timer)
        app.deadline = evtimer_new(app.base, on_deadline, &app);
    if (!app.deadline) {
        fprintf(stderr, "cannot set up libevent\n");
        goto out;
    }

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
    /* A callback may have failed during the calls above. */
    if (app.failed)
        goto out;

    tv.tv_sec = o.timeout_s;
    if (evtimer_add(app.deadline, &tv) < 0) {
        fprintf(stderr, "evtimer_add failed\n");
        goto out;
    }

    /* Returns after event_base_loopbreak(): shutdown done, error or
     * timeout. */
    if (event_base_dispatch(app.base) < 0) {
        fprintf(stderr, "event_base_dispatch failed\n");
        goto out;
    }

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
     * ctx unref calls on_watch with SIPNAT_IO_REMOVE for every fd and
     * disarms the timer, so the events go before the base. */
    sipnat_transport_unref(app.transport);
    sipnat_ctx_unref(app.ctx);
    if (app.deadline)
        event_free(app.deadline);
    if (app.timer)
        event_free(app.timer);
    if (app.base)
        event_base_free(app.base);
    return ret;
}
