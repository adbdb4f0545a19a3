/*
 * libsipnat - the context: lifetime of everything that does I/O, and the
 * list of loop sources the layers above plug into it. The public
 * constructor, sipnat_ctx_new(), is where the layers meet: it lives with
 * the SIP stack (lib/sip/stack.c), which makes a bare ctx here and adds
 * itself as its first source.
 */
#include "core/internal.h"

#include <stdlib.h>
#include <sys/epoll.h>
#include <unistd.h>

int sn_ctx_new(sipnat_ctx **ret)
{
    sipnat_ctx *ctx;
    int r;

    *ret = NULL;
    ctx = calloc(1, sizeof *ctx);
    if (!ctx)
        return -ENOMEM;
    ctx->n_ref = 1;
    ctx->log_level = SIPNAT_LOG_WARNING;
    ctx->timer_deadline = SN_NO_DEADLINE;
    ctx->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (ctx->epfd < 0) {
        r = -errno;
        free(ctx);
        return r;
    }
    *ret = ctx;
    return 0;
}

void sn_source_add(sipnat_ctx *ctx, sn_source *src, const sn_source_ops *ops)
{
    sn_source **pp = &ctx->sources;

    src->ops = ops;
    src->deadline = SN_NO_DEADLINE;
    src->ready = false;
    src->next = NULL;
    while (*pp)
        pp = &(*pp)->next;
    *pp = src;
}

sn_source *sn_source_find(sipnat_ctx *ctx, const sn_source_ops *ops)
{
    for (sn_source *s = ctx->sources; s; s = s->next)
        if (s->ops == ops)
            return s;
    return NULL;
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
    sn_source *s, *next;
    sn_sigpipe sp;

    ctx->dying = true;
    /* What is still open is finished here and now (a SIP stack must not
     * be destroyed under live transactions). */
    for (s = ctx->sources; s; s = s->next)
        if (s->ops->teardown) {
            sn_sigpipe_hold(ctx, &sp);
            s->ops->teardown(s);
            sn_sigpipe_release(&sp);
        }
    /* The host stops watching before the sources close their fds. */
    sn_loop_detach(ctx);
    for (s = ctx->sources; s; s = next) {
        next = s->next;
        if (s->ops->free)
            s->ops->free(s);
    }
    ctx->sources = NULL;
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
