/*
 * libsipnat example: drive libsipnat from a GLib main loop.
 *
 * PUSH mode: libsipnat tells the host which fds to watch, and for what,
 * through a watch callback, and when to wake it up through a one-shot
 * timer callback. Here each watched fd is a g_unix_fd_add_full() source
 * whose id is attached to the fd with sipnat_ctx_assign(), and the timer
 * is a g_timeout_add() source. Readiness goes back with
 * sipnat_ctx_process_fd(), expiry with sipnat_ctx_process_timeout().
 * The same design as curl's docs/examples/ghiper.c.
 *
 * libsipnat runs its SIP stack in a private GMainContext of its own; the
 * host's loop here is the default context, and the two never meet.
 *
 * The callbacks only (re)arm GLib sources: they run inside libsipnat,
 * which must never be re-entered from them.
 *
 * The program sends one OPTIONS request and prints the response:
 *
 *   sipnat-example-glib [-b BIND_ADDR] [-t] [-T TIMEOUT_S] [-v] sip:URI
 *
 *   -b  local address to bind (default 127.0.0.1, ephemeral port)
 *   -t  use TCP instead of UDP
 *   -T  give up after this many seconds (default 10)
 *   -v  print libsipnat's log on stderr
 *
 * Exit status: 0 for a 2xx response, 2 on timeout, 1 otherwise.
 *
 * Build: cc glib.c $(pkg-config --cflags --libs libsipnat glib-2.0)
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <glib-unix.h>
#include <glib.h>
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
    GMainLoop *loop;
    guint timer_id;    /* libsipnat's one-shot timer, 0 when disarmed */
    guint deadline_id; /* our overall timeout (-T), 0 once fired */
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

/* An error inside a callback: report it and leave the main loop. */
static void fail_in_loop(struct app *app, const char *what, int err)
{
    fail(what, err);
    app->failed = true;
    g_main_loop_quit(app->loop);
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
            fail_in_loop(app, "sipnat_transport_shutdown", r);
        break;
    case SIPNAT_EVENT_SHUTDOWN:
        g_main_loop_quit(app->loop); /* nothing left to do */
        break;
    default:
        break;
    }
}

/* GLib -> libsipnat: a watched fd is ready. */
static gboolean on_fd(gint fd, GIOCondition cond, gpointer user_data)
{
    struct app *app = user_data;
    unsigned revents = 0;
    int r;

    if (cond & G_IO_IN)
        revents |= SIPNAT_IO_IN;
    if (cond & G_IO_OUT)
        revents |= SIPNAT_IO_OUT;
    if (cond & (G_IO_ERR | G_IO_NVAL))
        revents |= SIPNAT_IO_ERR;
    if (cond & G_IO_HUP)
        revents |= SIPNAT_IO_HUP;
    r = sipnat_ctx_process_fd(app->ctx, fd, revents);
    /* -ENOENT: the library dropped fd a moment ago; nothing to do. */
    if (r < 0 && r != -ENOENT)
        fail_in_loop(app, "sipnat_ctx_process_fd", r);
    /* Always keep the source: it belongs to libsipnat's watch, which
     * removes it (SIPNAT_IO_REMOVE), possibly during the call above,
     * and GLib allows a source to be removed from its own callback. */
    return G_SOURCE_CONTINUE;
}

/* GLib -> libsipnat: the library's timer expired. */
static gboolean on_timer(gpointer user_data)
{
    struct app *app = user_data;
    int r;

    /* One-shot: returning G_SOURCE_REMOVE destroys this source. Forget
     * it first, as processing may arm a new timer. */
    app->timer_id = 0;
    r = sipnat_ctx_process_timeout(app->ctx);
    if (r < 0)
        fail_in_loop(app, "sipnat_ctx_process_timeout", r);
    return G_SOURCE_REMOVE;
}

/* Our own overall timeout. */
static gboolean on_deadline(gpointer user_data)
{
    struct app *app = user_data;

    app->deadline_id = 0;
    app->timed_out = true;
    g_main_loop_quit(app->loop);
    return G_SOURCE_REMOVE;
}

/* libsipnat -> GLib: start, change or stop watching fd. The fd's
 * sipnat_ctx_assign() pointer is its source id (never 0). */
static int on_watch(sipnat_ctx *ctx, int fd, unsigned events, void *fd_data,
                    void *user_data)
{
    struct app *app = user_data;
    guint id = GPOINTER_TO_UINT(fd_data); /* 0 the first time */
    GIOCondition cond = 0;
    int r;

    /* A source's condition cannot be changed through its id: replace
     * the source on every change. */
    if (id)
        g_source_remove(id);
    if (events & SIPNAT_IO_REMOVE)
        return 0; /* the fd may be closed once we return */

    if (events & SIPNAT_IO_IN)
        cond |= G_IO_IN;
    if (events & SIPNAT_IO_OUT)
        cond |= G_IO_OUT;
    id = g_unix_fd_add_full(G_PRIORITY_DEFAULT, fd, cond, on_fd, app, NULL);
    r = sipnat_ctx_assign(ctx, fd, GUINT_TO_POINTER(id));
    if (r < 0) {
        g_source_remove(id);
        fail_in_loop(app, "sipnat_ctx_assign", r);
    }
    return r;
}

/* libsipnat -> GLib: (re)arm or disarm the one-shot timer. */
static int on_timer_change(sipnat_ctx *ctx, int timeout_ms, void *user_data)
{
    struct app *app = user_data;

    (void)ctx;
    if (app->timer_id) {
        g_source_remove(app->timer_id);
        app->timer_id = 0;
    }
    if (timeout_ms >= 0)
        app->timer_id = g_timeout_add((guint)timeout_ms, on_timer, app);
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
    int r, ret = 1;

    parse_options(argc, argv, &o);

    /* NULL: the default GMainContext, the one a GLib program already
     * runs (GTK, GStreamer, ...). */
    app.loop = g_main_loop_new(NULL, FALSE);

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

    app.deadline_id =
        g_timeout_add((guint)o.timeout_s * 1000, on_deadline, &app);

    /* Returns after g_main_loop_quit(): shutdown done, error or timeout. */
    g_main_loop_run(app.loop);

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
     * disarms the timer. */
    sipnat_transport_unref(app.transport);
    sipnat_ctx_unref(app.ctx);
    if (app.deadline_id)
        g_source_remove(app.deadline_id);
    g_main_loop_unref(app.loop);
    return ret;
}
