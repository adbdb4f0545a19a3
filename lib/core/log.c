/*
 * libsipnat - logging into the host's callback.
 *
 * The library never writes to stderr. Its own lines go to the ctx's log
 * function. Foreign libraries (sofia-sip, GLib) log through
 * process-global hooks that their layer installs once; those forward a
 * line with sn_log_raw() to the ctx that is running in this thread at
 * that moment (sn_log_enter/leave bracket every call into them). Their
 * thresholds follow the ctx's level through the sources' log_level hook.
 */
#include "core/internal.h"

#include <stdio.h>
#include <string.h>

static _Thread_local sipnat_ctx *current_ctx;

sipnat_ctx *sn_log_enter(sipnat_ctx *ctx)
{
    sipnat_ctx *prev = current_ctx;
    current_ctx = ctx;
    return prev;
}

void sn_log_leave(sipnat_ctx *prev)
{
    current_ctx = prev;
}

static void deliver(sipnat_ctx *ctx, int priority, const char *domain,
                    const char *msg)
{
    if (!ctx || !ctx->log_func || priority > ctx->log_level)
        return;
    /* A log callback is a host callback like any other. */
    sn_cb_enter(ctx);
    ctx->log_func(ctx, priority, domain, msg, ctx->log_user_data);
    sn_cb_leave(ctx);
}

void sn_logv(sipnat_ctx *ctx, int priority, const char *domain,
             const char *fmt, va_list ap)
{
    char buf[1024];

    if (!ctx || !ctx->log_func || priority > ctx->log_level)
        return;
    vsnprintf(buf, sizeof buf, fmt, ap);
    deliver(ctx, priority, domain, buf);
}

void sn_log(sipnat_ctx *ctx, int priority, const char *domain,
            const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    sn_logv(ctx, priority, domain, fmt, ap);
    va_end(ap);
}

/* A foreign line for whichever ctx runs in this thread. */
void sn_log_raw(int priority, const char *domain, const char *line)
{
    deliver(current_ctx, priority, domain, line);
}

SIPNAT_API int sipnat_ctx_set_log_func(sipnat_ctx *ctx, sipnat_log_func func,
                                       void *user_data)
{
    SN_RETURN_IF(!ctx, -EINVAL);
    ctx->log_func = func;
    ctx->log_user_data = user_data;
    return 0;
}

SIPNAT_API int sipnat_ctx_set_log_level(sipnat_ctx *ctx, int priority)
{
    SN_RETURN_IF(!ctx, -EINVAL);
    SN_RETURN_IF(priority < 0 || priority > SIPNAT_LOG_DEBUG, -EINVAL);
    ctx->log_level = priority;
    for (sn_source *s = ctx->sources; s; s = s->next)
        if (s->ops->log_level)
            s->ops->log_level(s, priority);
    return 0;
}

SIPNAT_API int sipnat_ctx_get_log_level(const sipnat_ctx *ctx)
{
    SN_RETURN_IF(!ctx, -EINVAL);
    return ctx->log_level;
}
