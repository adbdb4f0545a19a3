/*
 * libsipnat - internal declarations shared by lib/core and lib/sip.
 *
 * lib/core knows nothing of sofia-sip or GLib: the SIP stack is reached
 * through the sn_stack_* functions (lib/sip/stack.c), which report the
 * fds and the deadline they need back to the loop (lib/core/loop.c).
 */
#ifndef SIPNAT_INTERNAL_H
#define SIPNAT_INTERNAL_H

#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include <sipnat/sipnat.h>

#include "core/timer.h"

#define SN_NO_DEADLINE UINT64_MAX

typedef struct sn_stack sn_stack;

/* Owner of an entry in the ctx's fd set. */
typedef enum sn_io_owner {
    SN_IO_STACK = 1, /* an fd of the SIP stack (GLib poll record) */
    SN_IO_OWN = 2    /* a socket of the library's own (RTP, later) */
} sn_io_owner;

typedef void (*sn_io_cb)(sipnat_ctx *ctx, int fd, unsigned revents, void *arg);

struct sn_io {
    int fd;
    unsigned want;      /* SIPNAT_IO_IN|OUT wanted now */
    unsigned reported;  /* what the backend (epoll or host) has */
    sn_io_owner owner;
    bool seen;          /* mark for the stack's sync pass */
    void *host_data;    /* sipnat_ctx_assign() */
    sn_io_cb cb;
    void *cb_arg;
};

struct sipnat_ctx {
    unsigned n_ref;
    int epfd;

    int log_level;
    sipnat_log_func log_func;
    void *log_user_data;

    sipnat_watch_func watch_func;
    void *watch_user_data;
    sipnat_timer_func timer_func;
    void *timer_user_data;
    bool timer_valid;        /* timer_deadline was given to timer_func */
    uint64_t timer_deadline; /* CLOCK_MONOTONIC usec, SN_NO_DEADLINE */

    struct sn_io *io;
    size_t n_io;
    size_t cap_io;

    unsigned in_callback;  /* > 0 while a host callback runs */
    unsigned in_process;   /* > 0 inside a process call: events go out now */
    unsigned n_tls;        /* TLS transports: SIGPIPE is held while sofia runs */
    bool dying;            /* last unref under way */
    unsigned n_dispatched; /* counted during one process call */

    uint64_t stack_deadline; /* CLOCK_MONOTONIC usec, SN_NO_DEADLINE */
    sn_timer_heap timers;    /* the library's own timers */
    sn_stack *stack;

    /* Every transport of this ctx, open or shutting down. */
    struct sipnat_transport *transports;
};

/* time.c-free helpers */
uint64_t sn_now_usec(void);

/* log.c */
void sn_log(sipnat_ctx *ctx, int priority, const char *domain,
            const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void sn_logv(sipnat_ctx *ctx, int priority, const char *domain,
             const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));
/* The ctx that foreign (sofia, GLib) log lines of this thread belong to. */
sipnat_ctx *sn_log_enter(sipnat_ctx *ctx);
void sn_log_leave(sipnat_ctx *prev);
void sn_log_raw(int priority, const char *domain, const char *line);

/* loop.c: the fd set and its two backends. */
int sn_io_set(sipnat_ctx *ctx, int fd, unsigned want, sn_io_owner owner,
              sn_io_cb cb, void *cb_arg);
void sn_io_del(sipnat_ctx *ctx, int fd);
struct sn_io *sn_io_find(sipnat_ctx *ctx, int fd);
/* After anything changed the fd set or the deadline: tell the backend. */
void sn_loop_commit(sipnat_ctx *ctx);
/* Withdraw every fd and the timer from the host (last unref). */
void sn_loop_detach(sipnat_ctx *ctx);
void sn_loop_free(sipnat_ctx *ctx);

/* OpenSSL writes with write(2): a peer closing a TLS connection raises
 * SIGPIPE in the writing thread. While a ctx has TLS transports, the
 * library blocks SIGPIPE around the stack's work and swallows one that
 * arrived meanwhile, leaving the host's disposition untouched (curl does
 * the same). */
typedef struct sn_sigpipe {
    bool active;
    bool pending_before;
    unsigned char old_mask[128]; /* sigset_t, kept opaque here */
} sn_sigpipe;
void sn_sigpipe_hold(sipnat_ctx *ctx, sn_sigpipe *s);
void sn_sigpipe_release(sn_sigpipe *s);

/* The library's own timers (registration retries, keep-alives, …):
 * fire from the process functions, delay_usec after now. */
int sn_ctx_timer_arm(sipnat_ctx *ctx, sn_timer *t, uint64_t delay_usec);
void sn_ctx_timer_stop(sipnat_ctx *ctx, sn_timer *t);

/* Host callbacks run inside these, so re-entrant process calls are caught. */
static inline void sn_cb_enter(sipnat_ctx *ctx) { ctx->in_callback++; }
static inline void sn_cb_leave(sipnat_ctx *ctx) { ctx->in_callback--; }

/* lib/sip/stack.c */
int sn_stack_new(sipnat_ctx *ctx, sn_stack **ret);
void sn_stack_free(sn_stack *stack);
/* Run everything due in the stack; returns how many dispatches. */
unsigned sn_stack_run(sn_stack *stack);
/* The stack's fds or timers may have changed outside a run. */
void sn_stack_refresh(sn_stack *stack);
/* sofia-sip's log thresholds are process-global: raise them to cover
 * the most verbose ctx. */
void sn_stack_set_log_level(int priority);
/* Block up to timeout_ms for stack work (used only by the last unref). */
void sn_stack_wait(sn_stack *stack, int timeout_ms);

/* lib/sip/transport.c */
void sn_transports_finish_all(sipnat_ctx *ctx);
void sn_transports_reap(sipnat_ctx *ctx);
/* lib/sip/connlimit.c: the stack has a new socket (stack.c tells). */
void sn_connlimit_new_fd(sipnat_ctx *ctx, int fd);

/* Validation helpers */
#define SN_RETURN_IF(cond, err) \
    do {                        \
        if (cond)               \
            return (err);       \
    } while (0)

#endif /* SIPNAT_INTERNAL_H */
