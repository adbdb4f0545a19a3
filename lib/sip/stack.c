/*
 * libsipnat - sofia-sip's root as one source of the ctx's loop.
 *
 * sofia runs on a GLib-based root (su_glib) attached to a GMainContext of
 * our own, acquired for the ctx's lifetime and never seen by the host.
 * The context is driven by hand: prepare + query tell which fds to watch
 * and when to come back; poll(…, 0) + check + dispatch run what is due.
 * The fds are mirrored into the ctx's fd set (lib/core/loop.c), so the
 * host only ever sees the library's own epoll fd or its own watches.
 *
 * The stack is a loop source of the ctx (core/internal.h): run is one
 * GLib iteration, reap and teardown finish transports (transport.c),
 * log_level raises sofia's process-global thresholds. sipnat_ctx_new()
 * is here: a ctx is a core ctx with the stack as its first source.
 */
#include "sip/sofia.h"
#include "sip/flow.h"
#include "stun/message.h"

#include <sofia-sip/su_glib.h>
#include <glib.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

/* Caps the work of one process call; the rest is left for the next. */
#define SN_STACK_ROUNDS 32

struct sn_stack {
    sn_source src;           /* first: the ctx's loop source */
    sipnat_ctx *ctx;
    struct sipnat_transport *transports;
    int *mirrored;           /* the fds sync_fds put in the ctx's set */
    size_t n_mirrored;
    GMainContext *gmc;
    su_root_t *root;
    GSource *source;
    GPollFD *fds;
    gint n_fds;
    gint cap_fds;
    gint priority;
    char instance[48];       /* the ctx's SIP Outbound instance URN */
};

/* -- process-global hooks, installed once ---------------------------- */

static pthread_once_t hooks_once = PTHREAD_ONCE_INIT;
static pthread_mutex_t level_lock = PTHREAD_MUTEX_INITIALIZER;
static int sofia_priority = SIPNAT_LOG_WARNING;
static _Thread_local char sofia_line[1024];
static _Thread_local size_t sofia_len;

static su_log_t *const sofia_logs[] = {
    su_log_default, su_log_global, nua_log, nta_log, tport_log, soa_log,
    sresolv_log,
};

/* sofia formats a line in pieces; forward whole lines only. */
__attribute__((format(printf, 2, 0)))
static void sofia_logger(void *stream, char const *fmt, va_list ap)
{
    int n;

    (void)stream;
    n = vsnprintf(sofia_line + sofia_len, sizeof sofia_line - sofia_len, fmt,
                  ap);
    if (n < 0)
        return;
    sofia_len += (size_t)n;
    if (sofia_len >= sizeof sofia_line - 1)
        sofia_len = sizeof sofia_line - 1;
    if (sofia_len == 0 || sofia_line[sofia_len - 1] != '\n') {
        if (sofia_len < sizeof sofia_line - 1)
            return;
    }
    while (sofia_len && (sofia_line[sofia_len - 1] == '\n' ||
                         sofia_line[sofia_len - 1] == '\r'))
        sofia_len--;
    sofia_line[sofia_len] = '\0';
    sofia_len = 0;
    sn_log_raw(sofia_priority, "sofia", sofia_line);
}

static void glib_logger(const gchar *domain, GLogLevelFlags level,
                        const gchar *message, gpointer data)
{
    int prio = (level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL)) ? SIPNAT_LOG_ERR
             : (level & G_LOG_LEVEL_WARNING)                       ? SIPNAT_LOG_WARNING
             : (level & G_LOG_LEVEL_MESSAGE)                       ? SIPNAT_LOG_NOTICE
             : (level & G_LOG_LEVEL_INFO)                          ? SIPNAT_LOG_INFO
                                                                   : SIPNAT_LOG_DEBUG;
    sipnat_ctx *ctx = sn_log_enter(NULL);

    sn_log_leave(ctx);
    if (!ctx) {
        /* Not ours: the host's own GLib message. */
        g_log_default_handler(domain, level, message, data);
        return;
    }
    sn_log_raw(prio, "glib", message);
}

static unsigned sofia_level_for(int priority)
{
    switch (priority) {
    case SIPNAT_LOG_DEBUG:
        return 9;
    case SIPNAT_LOG_INFO:
        return 5;
    case SIPNAT_LOG_NOTICE:
        return 3;
    case SIPNAT_LOG_WARNING:
        return 2;
    default:
        return 1;
    }
}

static void set_sofia_levels(int priority)
{
    for (size_t i = 0; i < sizeof sofia_logs / sizeof sofia_logs[0]; i++)
        su_log_set_level(sofia_logs[i], sofia_level_for(priority));
}

static void install_hooks(void)
{
    struct sigaction old;

    /* su_init() ignores SIGPIPE process-wide; the host decides that, and
     * sofia's transports send with MSG_NOSIGNAL anyway. */
    sigaction(SIGPIPE, NULL, &old);
    su_init();
    sigaction(SIGPIPE, &old, NULL);

    for (size_t i = 0; i < sizeof sofia_logs / sizeof sofia_logs[0]; i++)
        su_log_redirect(sofia_logs[i], sofia_logger, NULL);
    set_sofia_levels(sofia_priority);
    g_log_set_handler("GLib", G_LOG_LEVEL_MASK | G_LOG_FLAG_FATAL |
                      G_LOG_FLAG_RECURSION, glib_logger, NULL);
}

static void set_log_level(int priority)
{
    pthread_once(&hooks_once, install_hooks);
    pthread_mutex_lock(&level_lock);
    if (priority > sofia_priority) {
        sofia_priority = priority;
        set_sofia_levels(priority);
    }
    pthread_mutex_unlock(&level_lock);
}

/* -- the GMainContext cycle ------------------------------------------ */

static unsigned to_sipnat_events(gushort ev)
{
    return ((ev & (G_IO_IN | G_IO_PRI)) ? SIPNAT_IO_IN : 0u) |
           ((ev & G_IO_OUT) ? SIPNAT_IO_OUT : 0u);
}

/* prepare + query: afterwards fds[] and the deadline are current. */
static void prepare(sn_stack *s)
{
    gint timeout = -1, n;

    g_main_context_prepare(s->gmc, &s->priority);
    for (;;) {
        n = g_main_context_query(s->gmc, s->priority, &timeout, s->fds,
                                 s->cap_fds);
        if (n <= s->cap_fds)
            break;
        GPollFD *nf = realloc(s->fds, (size_t)n * sizeof *nf);
        if (!nf) {
            n = s->cap_fds; /* keep what fits; retried on the next round */
            break;
        }
        s->fds = nf;
        s->cap_fds = n;
    }
    s->n_fds = n;
    s->src.deadline =
        timeout < 0 ? SN_NO_DEADLINE
                    : sn_now_usec() + (uint64_t)timeout * 1000u;
}

/* Mirror fds[] into the ctx's fd set: only the stack's own entries are
 * visited (GLib may list an fd twice: the wants add up). */
static void sync_fds(sn_stack *s)
{
    sipnat_ctx *ctx = s->ctx;
    int *now = s->n_fds ? malloc((size_t)s->n_fds * sizeof *now) : NULL;
    size_t n_now = 0;

    for (size_t i = 0; i < s->n_mirrored; i++) {
        struct sn_io *io = sn_io_find(ctx, s->mirrored[i]);
        if (io && io->owner == SN_IO_SOURCE) {
            io->seen = false;
            io->acc = 0;
        }
    }
    for (gint i = 0; i < s->n_fds; i++) {
        struct sn_io *io = sn_io_find(ctx, s->fds[i].fd);
        if (!io) {
            if (sn_io_set(ctx, s->fds[i].fd, 0, SN_IO_SOURCE, NULL, &s->src) < 0 ||
                !(io = sn_io_find(ctx, s->fds[i].fd))) {
                sn_log(ctx, SIPNAT_LOG_ERR, "sipnat", "out of memory for fd %d",
                       s->fds[i].fd);
                continue;
            }
            io->acc = 0;
            /* A connection accepted, perhaps: within its limits? */
            sn_connlimit_new_fd(s->transports, s->fds[i].fd);
        } else if (io->owner != SN_IO_SOURCE) {
            continue;
        } else if (!io->seen) {
            io->acc = 0;
        }
        io->seen = true;
        io->acc |= to_sipnat_events(s->fds[i].events);
        if (now)
            now[n_now++] = s->fds[i].fd;
    }
    for (gint i = 0; i < s->n_fds; i++) {
        struct sn_io *io = sn_io_find(ctx, s->fds[i].fd);
        if (io && io->owner == SN_IO_SOURCE && io->acc != io->want)
            sn_io_set(ctx, io->fd, io->acc, SN_IO_SOURCE, NULL, &s->src);
    }
    for (size_t i = 0; i < s->n_mirrored; i++) {
        struct sn_io *io = sn_io_find(ctx, s->mirrored[i]);
        if (io && io->owner == SN_IO_SOURCE && !io->seen)
            sn_io_del(ctx, s->mirrored[i]);
    }
    if (now || !s->n_fds) {
        free(s->mirrored);
        s->mirrored = now;
        s->n_mirrored = n_now;
    }
}

/* SIP Outbound's STUN keep-alives go out from the SIP socket and their
 * answers come back to it, where sofia's UDP transport would read and
 * drop them (without its STUN server it has no use for STUN): before
 * sofia reads, the answers a registration awaits are taken off the
 * socket (RFC 5626 8, RFC 7983: STUN and SIP told apart by their first
 * byte). An fd left empty is not handed to sofia as readable. */
static void take_stun(sn_stack *s)
{
    for (gint i = 0; i < s->n_fds; i++) {
        GPollFD *p = &s->fds[i];

        if (!(p->revents & G_IO_IN) || !sn_registrations_stun_wanted(s->transports, p->fd))
            continue;
        for (int k = 0; k < 8; k++) {
            uint8_t buf[512];
            struct sockaddr_storage from;
            socklen_t fl = sizeof from;
            ssize_t n = recvfrom(p->fd, buf, sizeof buf, MSG_PEEK | MSG_DONTWAIT,
                                 (struct sockaddr *)&from, &fl);

            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                p->revents &= (gushort)~G_IO_IN;
                break;
            }
            if (n < 0 || !sn_stun_looks_like(buf, (size_t)n))
                break;
            fl = sizeof from;
            n = recvfrom(p->fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
            if (n >= SN_STUN_HDR)
                sn_registrations_take_stun(s->transports, p->fd, buf, (size_t)n,
                                           (struct sockaddr *)&from);
        }
    }
}

static unsigned stack_run(sn_stack *s)
{
    unsigned dispatched = 0;

    for (int round = 0; round < SN_STACK_ROUNDS; round++) {
        gboolean ready;

        if (s->n_fds > 0) {
            poll((struct pollfd *)s->fds, (nfds_t)s->n_fds, 0);
            take_stun(s);
        }
        ready = g_main_context_check(s->gmc, s->priority, s->fds, s->n_fds);
        if (ready) {
            g_main_context_dispatch(s->gmc);
            dispatched++;
        }
        prepare(s);
        if (!ready)
            break;
    }
    sync_fds(s);
    return dispatched;
}

void sn_stack_refresh(sn_stack *s)
{
    /* Close the open cycle with nothing ready, then start a new one. */
    for (gint i = 0; i < s->n_fds; i++)
        s->fds[i].revents = 0;
    g_main_context_check(s->gmc, s->priority, s->fds, s->n_fds);
    prepare(s);
    sync_fds(s);
}

void sn_stack_wait(sn_stack *s, int timeout_ms)
{
    int ms = timeout_ms;
    uint64_t d = s->src.deadline;

    if (d != SN_NO_DEADLINE) {
        uint64_t now = sn_now_usec();
        int until = d <= now ? 0 : (int)((d - now + 999) / 1000);
        if (until < ms)
            ms = until;
    }
    if (s->n_fds > 0)
        poll((struct pollfd *)s->fds, (nfds_t)s->n_fds, ms);
    stack_run(s);
}

su_root_t *sn_stack_root(sn_stack *s)
{
    return s->root;
}

size_t sn_stack_fds(sn_stack *s, int *fds, size_t max)
{
    size_t n = 0;

    for (gint i = 0; i < s->n_fds && n < max; i++)
        fds[n++] = s->fds[i].fd;
    return n;
}

const char *sn_stack_instance(sn_stack *s)
{
    if (!s->instance[0])
        sn_flow_new_instance(s->instance, sizeof s->instance);
    return s->instance;
}

sn_stack *sn_stack_of(sipnat_ctx *ctx)
{
    return (sn_stack *)ctx->sources; /* the first source, see sipnat_ctx_new */
}

struct sipnat_transport **sn_stack_transports(sn_stack *s)
{
    return &s->transports;
}

/* -- the ctx's loop source ------------------------------------------- */

static unsigned source_run(sn_source *src)
{
    return stack_run((sn_stack *)src);
}

static void source_reap(sn_source *src)
{
    sn_transports_reap(((sn_stack *)src)->ctx);
}

static void source_teardown(sn_source *src)
{
    sn_transports_finish_all(((sn_stack *)src)->ctx);
}

static void source_free(sn_source *src)
{
    sn_stack *s = (sn_stack *)src;

    /* The root drops the port's reference; detaching drops the context's,
     * the last one, and finalizes the port. */
    su_root_destroy(s->root);
    g_source_destroy(s->source);
    g_main_context_release(s->gmc);
    g_main_context_unref(s->gmc);
    free(s->fds);
    free(s->mirrored);
    free(s);
}

static void source_log_level(sn_source *src, int priority)
{
    (void)src;
    set_log_level(priority);
}

static const sn_source_ops stack_ops = {
    .run = source_run,
    .reap = source_reap,
    .teardown = source_teardown,
    .free = source_free,
    .log_level = source_log_level,
};

static int stack_new(sipnat_ctx *ctx)
{
    sn_stack *s;

    pthread_once(&hooks_once, install_hooks);

    s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    s->ctx = ctx;
    s->gmc = g_main_context_new();
    /* Ours for the ctx's lifetime: no other thread may run it. */
    g_main_context_acquire(s->gmc);
    s->root = su_glib_root_create(NULL);
    if (!s->root) {
        g_main_context_release(s->gmc);
        g_main_context_unref(s->gmc);
        free(s);
        return -ENOMEM;
    }
    /* Without this, nua_create() would start a thread for the stack. */
    su_root_threading(s->root, 0);
    s->source = su_glib_root_gsource(s->root);
    g_source_attach(s->source, s->gmc);
    sn_source_add(ctx, &s->src, &stack_ops);
    prepare(s);
    sync_fds(s);
    return 0;
}

SIPNAT_API int sipnat_ctx_new(sipnat_ctx **ret)
{
    sipnat_ctx *ctx;
    int r;

    SN_RETURN_IF(!ret, -EINVAL);
    *ret = NULL;
    r = sn_ctx_new(&ctx);
    if (r < 0)
        return r;
    /* The stack is the first source: sn_stack_of() counts on it. */
    sipnat_ctx *prev = sn_log_enter(ctx);
    r = stack_new(ctx);
    if (r == 0)
        sn_loop_commit(ctx);
    sn_log_leave(prev);
    if (r < 0) {
        sipnat_ctx_unref(ctx);
        return r;
    }
    *ret = ctx;
    return 0;
}
