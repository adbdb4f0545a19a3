/*
 * libsipnat example: drive libsipnat from the host's own epoll loop.
 *
 * PULL mode, the simplest integration: libsipnat gives the host a single
 * fd that becomes readable whenever the library has work, and the time
 * of its next deadline. The host adds that fd to its epoll set, sleeps
 * in epoll_wait() no longer than sipnat_ctx_get_timeout() says, and
 * calls sipnat_ctx_process() each time it wakes up.
 *
 * The program sends one OPTIONS request and prints the response:
 *
 *   sipnat-example-epoll [-b BIND_ADDR] [-t] [-T TIMEOUT_S] [-v] sip:URI
 *
 *   -b  local address to bind (default 127.0.0.1, ephemeral port)
 *   -t  use TCP instead of UDP
 *   -T  give up after this many seconds (default 10)
 *   -v  print libsipnat's log on stderr
 *
 * Exit status: 0 for a 2xx response, 2 on timeout, 1 otherwise.
 *
 * Build: cc epoll.c $(pkg-config --cflags --libs libsipnat)
 */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

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
    sipnat_ctx *ctx;
    sipnat_transport *transport;
    int status;   /* of the response, 0 until then */
    bool done;    /* the transport has shut down: leave the loop */
    bool failed;  /* an error was reported: leave the loop */
    bool closing; /* main() is cleaning up */
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

/* The library never prints: its log lines come here, if the host wants. */
static void on_log(sipnat_ctx *ctx, int priority, const char *domain,
                   const char *message, void *user_data)
{
    (void)ctx;
    (void)user_data;
    fprintf(stderr, "<%d> %s: %s\n", priority, domain, message);
}

/* Called from sipnat_ctx_process(): only record, print and ask for
 * things here, never process from within a callback. */
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
        if (r < 0) {
            fail("sipnat_transport_shutdown", r);
            app->failed = true;
        }
        break;
    case SIPNAT_EVENT_SHUTDOWN:
        app->done = true;
        break;
    default:
        break;
    }
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

static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* The host's loop: one epoll set holding libsipnat's fd (and, in a real
 * program, the host's own fds). Returns 0, 1 on error, 2 on timeout. */
static int run(struct app *app, int epfd, int timeout_s)
{
    long long deadline = now_ms() + timeout_s * 1000LL;

    while (!app->done && !app->failed) {
        struct epoll_event evs[8];
        long long left = deadline - now_ms();
        int ms, n, r;

        if (left <= 0) {
            printf("timeout\n");
            return 2;
        }
        /* Sleep until the library's next deadline (-1: none, else
         * rounded up so we do not wake too early), or our own. */
        r = sipnat_ctx_get_timeout(app->ctx, &ms);
        if (r < 0)
            return fail("sipnat_ctx_get_timeout", r);
        if (ms < 0 || ms > left)
            ms = (int)left;

        n = epoll_wait(epfd, evs, 8, ms);
        if (n < 0 && errno != EINTR)
            return fail("epoll_wait", -errno);
        /* A real host would dispatch its own fds from evs[] here. The
         * library's fd needs no look: whether it is readable or a
         * deadline passed, sipnat_ctx_process() does what is due. */
        r = sipnat_ctx_process(app->ctx);
        if (r < 0)
            return fail("sipnat_ctx_process", r);
    }
    return app->failed ? 1 : 0;
}

int main(int argc, char **argv)
{
    struct options o;
    struct app app = {0};
    struct epoll_event ev = {.events = EPOLLIN};
    int epfd = -1, fd, r, ret = 1;

    parse_options(argc, argv, &o);

    epfd = epoll_create1(EPOLL_CLOEXEC);
    if (epfd < 0)
        return fail("epoll_create1", -errno);

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

    /* One fd stands for all of the library's sockets and timers. */
    fd = sipnat_ctx_get_fd(app.ctx);
    if (fd < 0) {
        ret = fail("sipnat_ctx_get_fd", fd);
        goto out;
    }
    ev.data.fd = fd;
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        ret = fail("epoll_ctl", -errno);
        goto out;
    }

    if (start(&app, &o) != 0)
        goto out;

    r = run(&app, epfd, o.timeout_s);
    if (r != 0)
        ret = r;
    else
        ret = app.status >= 200 && app.status < 300 ? 0 : 1;

out:
    app.closing = true;
    /* Unref finishes whatever shutdown is still under way. */
    sipnat_transport_unref(app.transport);
    sipnat_ctx_unref(app.ctx);
    close(epfd);
    return ret;
}
