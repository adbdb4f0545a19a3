/*
 * libsipnat - the host-loop bridge.
 *
 * The ctx keeps one set of fds (the sources' poll records and the
 * library's own sockets, every RTP socket among them) and one deadline.
 * Two backends publish them:
 *  - pull: an epoll fd the host polls (sipnat_ctx_get_fd), plus
 *    sipnat_ctx_get_timeout();
 *  - push: the host's watch and timer callbacks, told of changes only.
 * Changes are collected first and published by sn_loop_commit(), so the
 * host sees each fd's final state once per call, never a flicker; only
 * the fds that changed are visited. An fd is found by its number in
 * O(1) (slot[]), so one ready RTP socket costs one wake-up and one
 * lookup however many calls there are.
 */
#include "core/internal.h"

#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

/* Ready fds taken per pull-mode process call. */
#define SN_LOOP_EVENTS 64

uint64_t sn_now_usec(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

struct sn_io *sn_io_find(sipnat_ctx *ctx, int fd)
{
    size_t k;

    if (fd < 0 || (size_t)fd >= ctx->n_slot || !(k = ctx->slot[fd]))
        return NULL;
    return &ctx->io[k - 1];
}

static int grow_slots(sipnat_ctx *ctx, int fd)
{
    size_t n = ctx->n_slot ? ctx->n_slot : 64;
    size_t *v;

    while (n <= (size_t)fd)
        n *= 2;
    v = realloc(ctx->slot, n * sizeof *v);
    if (!v)
        return -ENOMEM;
    memset(v + ctx->n_slot, 0, (n - ctx->n_slot) * sizeof *v);
    ctx->slot = v;
    ctx->n_slot = n;
    return 0;
}

static int mark_dirty(sipnat_ctx *ctx, struct sn_io *io)
{
    if (io->dirty)
        return 0;
    if (ctx->n_dirty == ctx->cap_dirty) {
        size_t cap = ctx->cap_dirty ? ctx->cap_dirty * 2 : 16;
        int *d = realloc(ctx->dirty, cap * sizeof *d);
        if (!d)
            return -ENOMEM;
        ctx->dirty = d;
        ctx->cap_dirty = cap;
    }
    ctx->dirty[ctx->n_dirty++] = io->fd;
    io->dirty = true;
    return 0;
}

static struct sn_io *io_add(sipnat_ctx *ctx, int fd, sn_io_owner owner)
{
    struct sn_io *io;

    if (fd < 0 || ((size_t)fd >= ctx->n_slot && grow_slots(ctx, fd) < 0))
        return NULL;
    if (ctx->n_io == ctx->cap_io) {
        size_t cap = ctx->cap_io ? ctx->cap_io * 2 : 8;
        struct sn_io *n = realloc(ctx->io, cap * sizeof *n);
        if (!n)
            return NULL;
        ctx->io = n;
        ctx->cap_io = cap;
    }
    io = &ctx->io[ctx->n_io++];
    memset(io, 0, sizeof *io);
    io->fd = fd;
    io->owner = owner;
    ctx->slot[fd] = ctx->n_io;
    return io;
}

int sn_io_set(sipnat_ctx *ctx, int fd, unsigned want, sn_io_owner owner,
              sn_io_cb cb, void *cb_arg)
{
    struct sn_io *io = sn_io_find(ctx, fd);
    bool fresh = !io;

    want &= SIPNAT_IO_IN | SIPNAT_IO_OUT;
    if (io && io->owner != owner) {
        /* The fd was closed and its number reused (a source's socket
         * closed before the source withdrew it): a new entry. */
        sn_io_del(ctx, fd);
        io = NULL;
        fresh = true;
    }
    if (fresh && !(io = io_add(ctx, fd, owner)))
        return -ENOMEM;
    if (want != io->reported && mark_dirty(ctx, io) < 0) {
        if (fresh)
            sn_io_del(ctx, fd);
        return -ENOMEM;
    }
    io->want = want;
    io->cb = cb;
    io->cb_arg = cb_arg;
    io->seen = true;
    return 0;
}

static unsigned to_epoll(unsigned ev)
{
    return ((ev & SIPNAT_IO_IN) ? EPOLLIN : 0u) |
           ((ev & SIPNAT_IO_OUT) ? EPOLLOUT : 0u);
}

/* Withdraw an fd from whichever backend has it. */
static void unpublish(sipnat_ctx *ctx, struct sn_io *io)
{
    if (!io->reported)
        return;
    if (ctx->watch_func) {
        sn_cb_enter(ctx);
        ctx->watch_func(ctx, io->fd, SIPNAT_IO_REMOVE, io->host_data,
                        ctx->watch_user_data);
        sn_cb_leave(ctx);
    } else {
        epoll_ctl(ctx->epfd, EPOLL_CTL_DEL, io->fd, NULL);
    }
    io->reported = 0;
    /* The host freed whatever it had attached to this fd. */
    io->host_data = NULL;
}

void sn_io_del(sipnat_ctx *ctx, int fd)
{
    struct sn_io *io = sn_io_find(ctx, fd);
    size_t k;

    if (!io)
        return;
    unpublish(ctx, io);
    /* A pending entry in dirty[] is dropped at the commit: the fd is
     * not found any more (or is another entry, visited for nothing). */
    k = (size_t)(io - ctx->io);
    ctx->slot[fd] = 0;
    if (k != --ctx->n_io) {
        *io = ctx->io[ctx->n_io];
        ctx->slot[io->fd] = k + 1;
    }
}

/* The socket behind fd is replaced by newfd under the same number. The
 * backend's registration belonged to the old socket: withdrawn first,
 * made again at the next commit. */
int sn_io_replace(sipnat_ctx *ctx, int fd, int newfd)
{
    struct sn_io *io = sn_io_find(ctx, fd);
    int r = 0;

    if (!io) {
        close(newfd);
        return -ENOENT;
    }
    unpublish(ctx, io);
    if (dup2(newfd, fd) < 0)
        r = -errno;
    close(newfd);
    if (mark_dirty(ctx, io) < 0 && r == 0)
        r = -ENOMEM;
    return r;
}

static void publish(sipnat_ctx *ctx, struct sn_io *io)
{
    int r;

    if (io->want == io->reported)
        return;
    if (io->want == 0) {
        /* Nothing wanted: keep it out of the backend entirely, so an fd
         * a source stopped polling never wakes the host. */
        unpublish(ctx, io);
        return;
    }
    if (ctx->watch_func) {
        unsigned was = io->reported;
        /* Marked first: the host may sipnat_ctx_assign() from inside. */
        io->reported = io->want;
        sn_cb_enter(ctx);
        r = ctx->watch_func(ctx, io->fd, io->want, was ? io->host_data : NULL,
                            ctx->watch_user_data);
        sn_cb_leave(ctx);
        if (r < 0)
            sn_log(ctx, SIPNAT_LOG_ERR, "sipnat",
                   "watch callback failed for fd %d: %s", io->fd,
                   sipnat_strerror(r));
    } else {
        struct epoll_event ev = {.events = to_epoll(io->want), .data.fd = io->fd};
        r = epoll_ctl(ctx->epfd, io->reported ? EPOLL_CTL_MOD : EPOLL_CTL_ADD,
                      io->fd, &ev);
        if (r < 0 && errno == EEXIST)
            r = epoll_ctl(ctx->epfd, EPOLL_CTL_MOD, io->fd, &ev);
        if (r < 0)
            sn_log(ctx, SIPNAT_LOG_ERR, "sipnat", "epoll_ctl(fd %d): %s",
                   io->fd, sipnat_strerror(errno));
    }
    io->reported = io->want;
}

static int deadline_to_ms(uint64_t deadline)
{
    uint64_t now;

    if (deadline == SN_NO_DEADLINE)
        return -1;
    now = sn_now_usec();
    if (deadline <= now)
        return 0;
    /* Round up: waking before the deadline is a wasted wake-up. */
    uint64_t ms = (deadline - now + 999) / 1000;
    return ms > INT32_MAX ? INT32_MAX : (int)ms;
}

static uint64_t next_deadline(sipnat_ctx *ctx)
{
    uint64_t d = sn_timer_heap_next(&ctx->timers);

    for (sn_source *s = ctx->sources; s; s = s->next)
        if (s->deadline < d)
            d = s->deadline;
    return d;
}

int sn_ctx_timer_arm(sipnat_ctx *ctx, sn_timer *t, uint64_t delay_usec)
{
    return sn_timer_heap_arm(&ctx->timers, t, sn_now_usec() + delay_usec);
}

void sn_ctx_timer_stop(sipnat_ctx *ctx, sn_timer *t)
{
    sn_timer_heap_stop(&ctx->timers, t);
}

void sn_loop_commit(sipnat_ctx *ctx)
{
    /* publish() may call the host, which may not change the fd set. */
    for (size_t i = 0; i < ctx->n_dirty; i++) {
        struct sn_io *io = sn_io_find(ctx, ctx->dirty[i]);
        if (io && io->dirty) {
            io->dirty = false;
            publish(ctx, io);
        }
    }
    ctx->n_dirty = 0;

    if (ctx->timer_func) {
        uint64_t d = next_deadline(ctx);
        /* Sources hand out relative timeouts (GLib does), so the same
         * deadline comes back with a jitter of a millisecond: re-arm the
         * host's timer only when the deadline moved earlier, or later by
         * more than that. */
        if (!ctx->timer_valid || d < ctx->timer_deadline ||
            (ctx->timer_deadline != SN_NO_DEADLINE &&
             d > ctx->timer_deadline + 2000)) {
            ctx->timer_valid = true;
            ctx->timer_deadline = d;
            sn_cb_enter(ctx);
            ctx->timer_func(ctx, deadline_to_ms(d), ctx->timer_user_data);
            sn_cb_leave(ctx);
        }
    }
}

void sn_loop_detach(sipnat_ctx *ctx)
{
    for (size_t i = 0; i < ctx->n_io; i++)
        unpublish(ctx, &ctx->io[i]);
    if (ctx->timer_func && ctx->timer_valid &&
        ctx->timer_deadline != SN_NO_DEADLINE) {
        sn_cb_enter(ctx);
        ctx->timer_func(ctx, -1, ctx->timer_user_data);
        sn_cb_leave(ctx);
    }
    ctx->watch_func = NULL;
    ctx->timer_func = NULL;
}

void sn_loop_free(sipnat_ctx *ctx)
{
    while (ctx->n_io)
        sn_io_del(ctx, ctx->io[0].fd);
    free(ctx->io);
    ctx->io = NULL;
    ctx->cap_io = 0;
    free(ctx->slot);
    ctx->slot = NULL;
    ctx->n_slot = 0;
    free(ctx->dirty);
    ctx->dirty = NULL;
    ctx->n_dirty = ctx->cap_dirty = 0;
    sn_timer_heap_free(&ctx->timers);
}

_Static_assert(sizeof(sigset_t) <= sizeof(((sn_sigpipe *)0)->old_mask),
               "sn_sigpipe too small for sigset_t");

void sn_sigpipe_hold(sipnat_ctx *ctx, sn_sigpipe *s)
{
    sigset_t set, pending;

    s->active = ctx->n_sigpipe > 0;
    if (!s->active)
        return;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set, (sigset_t *)(void *)s->old_mask);
    sigpending(&pending);
    s->pending_before = sigismember(&pending, SIGPIPE) == 1;
}

void sn_sigpipe_release(sn_sigpipe *s)
{
    sigset_t set, pending;
    struct timespec zero = {0, 0};

    if (!s->active)
        return;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    sigpending(&pending);
    /* Ours to swallow only if it was not already waiting for the host. */
    if (!s->pending_before && sigismember(&pending, SIGPIPE) == 1)
        sigtimedwait(&set, NULL, &zero);
    pthread_sigmask(SIG_SETMASK, (sigset_t *)(void *)s->old_mask, NULL);
}

/* A ready fd: its callback runs now; a source's fd marks the source to
 * run after the fds and timers. */
static void dispatch_fd(sipnat_ctx *ctx, int fd, unsigned revents)
{
    struct sn_io *io = sn_io_find(ctx, fd);

    if (!io)
        return; /* withdrawn by an earlier callback of this round */
    if (io->owner == SN_IO_OWN && io->cb) {
        io->cb(ctx, fd, revents, io->cb_arg);
        ctx->n_dispatched++;
    } else if (io->owner == SN_IO_SOURCE && io->cb_arg) {
        ((sn_source *)io->cb_arg)->ready = true;
    }
}

/* The sources that are due (or all: the host's timer fired), then their
 * reap hooks. */
static void run_sources(sipnat_ctx *ctx, bool all)
{
    uint64_t now = sn_now_usec();
    sn_sigpipe sp;

    for (sn_source *s = ctx->sources; s; s = s->next) {
        if (!s->ops->run || !(all || s->ready || s->deadline <= now))
            continue;
        s->ready = false;
        sn_sigpipe_hold(ctx, &sp);
        ctx->n_dispatched += s->ops->run(s);
        sn_sigpipe_release(&sp);
    }
    for (sn_source *s = ctx->sources; s; s = s->next)
        if (s->ops->reap)
            s->ops->reap(s);
}

static unsigned epoll_to_io(uint32_t ev)
{
    return ((ev & EPOLLIN) ? SIPNAT_IO_IN : 0u) |
           ((ev & EPOLLOUT) ? SIPNAT_IO_OUT : 0u) |
           ((ev & EPOLLERR) ? SIPNAT_IO_ERR : 0u) |
           ((ev & EPOLLHUP) ? SIPNAT_IO_HUP : 0u);
}

/* One pass of everything due: the library's own sockets (the one the host
 * reported, or in pull mode every ready one), timers, the sources, then
 * their reap hooks. A source (the SIP stack's GLib iteration: several
 * system calls) runs only when one of its fds is ready or its deadline
 * has come, so a wake-up for RTP costs the relay and nothing else.
 * `all` runs every source (the host's timer fired, or it could not
 * tell). */
static int process(sipnat_ctx *ctx, int fd, unsigned revents, bool poll_own,
                   bool all)
{
    sipnat_ctx *prev = sn_log_enter(ctx);

    ctx->in_process++;
    ctx->n_dispatched = 0;
    if (fd >= 0)
        dispatch_fd(ctx, fd, revents);
    if (poll_own) {
        /* The sources' fds are polled by the sources themselves (the SIP
         * stack needs the revents per GLib record); here whether one is
         * ready, and our own sockets. */
        struct epoll_event evs[SN_LOOP_EVENTS];
        int n = epoll_wait(ctx->epfd, evs, SN_LOOP_EVENTS, 0);
        for (int i = 0; i < n; i++)
            dispatch_fd(ctx, evs[i].data.fd, epoll_to_io(evs[i].events));
    }
    /* Timers armed by these callbacks for "now" wait for the next call:
     * the cap keeps one call bounded. */
    ctx->n_dispatched += sn_timer_heap_run(&ctx->timers, sn_now_usec(), 64);
    run_sources(ctx, all);
    ctx->in_process--;
    sn_loop_commit(ctx);
    sn_log_leave(prev);
    return (int)ctx->n_dispatched;
}

SIPNAT_API int sipnat_ctx_get_fd(sipnat_ctx *ctx)
{
    SN_RETURN_IF(!ctx, -EINVAL);
    SN_RETURN_IF(ctx->watch_func, -EBUSY);
    return ctx->epfd;
}

SIPNAT_API int sipnat_ctx_get_timeout(sipnat_ctx *ctx, int *timeout_ms)
{
    SN_RETURN_IF(!ctx || !timeout_ms, -EINVAL);
    *timeout_ms = deadline_to_ms(next_deadline(ctx));
    return 0;
}

SIPNAT_API int sipnat_ctx_process(sipnat_ctx *ctx)
{
    SN_RETURN_IF(!ctx, -EINVAL);
    SN_RETURN_IF(ctx->in_callback || ctx->dying || ctx->watch_func, -EBUSY);
    return process(ctx, -1, 0, true, false);
}

SIPNAT_API int sipnat_ctx_set_watch_func(sipnat_ctx *ctx,
                                         sipnat_watch_func func,
                                         void *user_data)
{
    SN_RETURN_IF(!ctx, -EINVAL);
    SN_RETURN_IF(ctx->in_callback, -EBUSY);

    /* Withdraw everything from the old backend, then publish anew. */
    for (size_t i = 0; i < ctx->n_io; i++)
        unpublish(ctx, &ctx->io[i]);
    ctx->watch_func = func;
    ctx->watch_user_data = user_data;
    for (size_t i = 0; i < ctx->n_io; i++) {
        if (!func)
            ctx->io[i].host_data = NULL;
        ctx->io[i].dirty = false;
        publish(ctx, &ctx->io[i]);
    }
    sn_loop_commit(ctx);
    return 0;
}

SIPNAT_API int sipnat_ctx_set_timer_func(sipnat_ctx *ctx,
                                         sipnat_timer_func func,
                                         void *user_data)
{
    SN_RETURN_IF(!ctx, -EINVAL);
    SN_RETURN_IF(ctx->in_callback, -EBUSY);
    ctx->timer_func = func;
    ctx->timer_user_data = user_data;
    ctx->timer_valid = false;
    sn_loop_commit(ctx);
    return 0;
}

SIPNAT_API int sipnat_ctx_assign(sipnat_ctx *ctx, int fd, void *fd_data)
{
    struct sn_io *io;

    SN_RETURN_IF(!ctx || fd < 0, -EINVAL);
    io = sn_io_find(ctx, fd);
    SN_RETURN_IF(!io || !io->reported, -ENOENT);
    io->host_data = fd_data;
    return 0;
}

SIPNAT_API int sipnat_ctx_process_fd(sipnat_ctx *ctx, int fd, unsigned revents)
{
    const unsigned known = SIPNAT_IO_IN | SIPNAT_IO_OUT | SIPNAT_IO_ERR |
                           SIPNAT_IO_HUP;

    SN_RETURN_IF(!ctx || fd < 0 || (revents & ~known), -EINVAL);
    SN_RETURN_IF(ctx->in_callback || ctx->dying, -EBUSY);
    SN_RETURN_IF(!sn_io_find(ctx, fd), -ENOENT);
    return process(ctx, fd, revents, false, false);
}

SIPNAT_API int sipnat_ctx_process_timeout(sipnat_ctx *ctx)
{
    SN_RETURN_IF(!ctx, -EINVAL);
    SN_RETURN_IF(ctx->in_callback || ctx->dying, -EBUSY);
    /* The one-shot timer fired: whatever the host had is now spent. */
    ctx->timer_valid = false;
    return process(ctx, -1, 0, false, true);
}
