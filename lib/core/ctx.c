/*
 * libsipnat - the context: lifetime of everything that does I/O.
 */
#include "core/internal.h"

#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

SIPNAT_API int sipnat_ctx_new(sipnat_ctx **ret)
{
    sipnat_ctx *ctx;
    int r;

    SN_RETURN_IF(!ret, -EINVAL);
    *ret = NULL;

    ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return -ENOMEM;
    ctx->n_ref = 1;
    ctx->log_level = SIPNAT_LOG_WARNING;
    ctx->stack_deadline = SN_NO_DEADLINE;
    ctx->timer_deadline = SN_NO_DEADLINE;
    ctx->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (ctx->epfd < 0) {
        r = -errno;
        free(ctx);
        return r;
    }

    sipnat_ctx *prev = sn_log_enter(ctx);
    r = sn_stack_new(ctx, &ctx->stack);
    if (r == 0)
        sn_loop_commit(ctx);
    sn_log_leave(prev);
    if (r < 0) {
        sn_loop_free(ctx);
        close(ctx->epfd);
        free(ctx);
        return r;
    }
    *ret = ctx;
    return 0;
}

SIPNAT_API sipnat_ctx *sipnat_ctx_ref(sipnat_ctx *ctx)
{
    if (ctx)
        ctx->n_ref++;
    return ctx;
}

static void ctx_free(sipnat_ctx *ctx)
{
    sipnat_ctx *prev = sn_log_enter(ctx);

    sn_sigpipe sp;

    ctx->dying = true;
    sn_sigpipe_hold(ctx, &sp);
    /* Transports still open are shut down here and now: the stack must
     * not be destroyed under a live NUA instance. */
    sn_transports_finish_all(ctx);
    sn_sigpipe_release(&sp);
    /* Its sockets leave the fd set; requests still waiting are dropped. */
    if (ctx->dns_free)
        ctx->dns_free(ctx);
    /* The host stops watching before the stack closes its fds. */
    sn_loop_detach(ctx);
    sn_stack_free(ctx->stack);
    ctx->stack = NULL;
    sn_log_leave(prev);

    sn_loop_free(ctx);
    close(ctx->epfd);
    free(ctx);
}

SIPNAT_API sipnat_ctx *sipnat_ctx_unref(sipnat_ctx *ctx)
{
    if (!ctx)
        return NULL;
    if (--ctx->n_ref == 0)
        ctx_free(ctx);
    return NULL;
}
