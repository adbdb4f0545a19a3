/*
 * libsipnat - NAT-aware SIP user agent library
 *
 * ctx.h: the context that owns every object doing I/O, and its
 * integration with the host's event loop (see sipnat_io(3)).
 */
#ifndef SIPNAT_CTX_H
#define SIPNAT_CTX_H

#include <sipnat/common.h>

SIPNAT_BEGIN_DECLS

typedef struct sipnat_ctx sipnat_ctx;

/* Events for the watch callback and sipnat_ctx_process_fd(); the values
 * are poll(2)'s POLLIN/POLLOUT, so they may be passed through unchanged. */
#define SIPNAT_IO_IN 0x001
#define SIPNAT_IO_OUT 0x004
#define SIPNAT_IO_ERR 0x008
#define SIPNAT_IO_HUP 0x010
/* Given to the watch callback alone: stop watching this fd. */
#define SIPNAT_IO_REMOVE 0x100

typedef void (*sipnat_log_func)(sipnat_ctx *ctx, int priority,
                                const char *domain, const char *message,
                                void *user_data);

/* Push mode. `events` is SIPNAT_IO_IN and/or SIPNAT_IO_OUT, or
 * SIPNAT_IO_REMOVE. `fd_data` is what the host attached to this fd with
 * sipnat_ctx_assign() (NULL until then). Return 0, or a negative errno
 * that the library reports and logs. */
typedef int (*sipnat_watch_func)(sipnat_ctx *ctx, int fd, unsigned events,
                                 void *fd_data, void *user_data);
/* Push mode: (re)arm the host's one-shot timer to fire in timeout_ms
 * milliseconds (0: as soon as possible), or disarm it (-1). */
typedef int (*sipnat_timer_func)(sipnat_ctx *ctx, int timeout_ms,
                                 void *user_data);

SIPNAT_API int sipnat_ctx_new(sipnat_ctx **ret);
SIPNAT_API sipnat_ctx *sipnat_ctx_ref(sipnat_ctx *ctx);
SIPNAT_API sipnat_ctx *sipnat_ctx_unref(sipnat_ctx *ctx);

SIPNAT_API int sipnat_ctx_set_log_func(sipnat_ctx *ctx, sipnat_log_func func,
                                       void *user_data);
SIPNAT_API int sipnat_ctx_set_log_level(sipnat_ctx *ctx, int priority);
SIPNAT_API int sipnat_ctx_get_log_level(const sipnat_ctx *ctx);

/* Pull mode. */
SIPNAT_API int sipnat_ctx_get_fd(sipnat_ctx *ctx);
SIPNAT_API int sipnat_ctx_get_timeout(sipnat_ctx *ctx, int *timeout_ms);
SIPNAT_API int sipnat_ctx_process(sipnat_ctx *ctx);

/* Push mode. */
SIPNAT_API int sipnat_ctx_set_watch_func(sipnat_ctx *ctx,
                                         sipnat_watch_func func,
                                         void *user_data);
SIPNAT_API int sipnat_ctx_set_timer_func(sipnat_ctx *ctx,
                                         sipnat_timer_func func,
                                         void *user_data);
SIPNAT_API int sipnat_ctx_assign(sipnat_ctx *ctx, int fd, void *fd_data);
SIPNAT_API int sipnat_ctx_process_fd(sipnat_ctx *ctx, int fd,
                                     unsigned revents);
SIPNAT_API int sipnat_ctx_process_timeout(sipnat_ctx *ctx);

/* The host's interfaces or addresses changed (a new network, a new
 * lease): every transport forgets the public addresses it learned and
 * its STUN mappings, every registration refreshes (removing the stale
 * binding), and established calls are re-INVITEd once the new address
 * is known. Not from inside a library callback (-EBUSY). */
SIPNAT_API int sipnat_ctx_network_changed(sipnat_ctx *ctx);

SIPNAT_END_DECLS

#endif /* SIPNAT_CTX_H */
