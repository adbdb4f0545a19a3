/*
 * libsipnat - lib/core's internal interface, for the layers above it.
 *
 * lib/core is a generic loop: a set of fds, the library's own timers,
 * and loop sources. It knows no layer above it; they plug themselves in:
 *  - an fd with a callback (SN_IO_OWN): readiness calls it (the relay's
 *    sockets, lib/media/relay.c);
 *  - a loop source (sn_source): fds it polls itself (SN_IO_SOURCE), a
 *    deadline, and hooks: run (one of its fds is ready or its deadline
 *    came), reap (after every process pass), teardown (the ctx's last
 *    unref, while the host still watches), free, log level. The SIP
 *    stack is one (lib/sip/stack.c);
 *  - timers (sn_ctx_timer_arm) and logging (sn_log).
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

typedef struct sn_source sn_source;

/* Owner of an entry in the ctx's fd set. */
typedef enum sn_io_owner {
    SN_IO_SOURCE = 1, /* polled by a loop source: readiness runs it
                         (cb NULL, cb_arg the sn_source) */
    SN_IO_OWN = 2     /* readiness calls cb (a socket of the library's own) */
} sn_io_owner;

typedef void (*sn_io_cb)(sipnat_ctx *ctx, int fd, unsigned revents, void *arg);

struct sn_io {
    int fd;
    unsigned want;      /* SIPNAT_IO_IN|OUT wanted now */
    unsigned reported;  /* what the backend (epoll or host) has */
    sn_io_owner owner;
    bool seen;          /* mark for a source's sync pass */
    bool dirty;         /* want changed since the last commit */
    unsigned acc;       /* scratch for a source's sync pass */
    void *host_data;    /* sipnat_ctx_assign() */
    sn_io_cb cb;
    void *cb_arg;
};

/* A loop source's hooks; any may be NULL. */
typedef struct sn_source_ops {
    /* Do what is due; returns how many dispatches. Runs when one of the
     * source's fds is ready, its deadline has come, or the host's timer
     * fired. SIGPIPE is held meanwhile when the ctx asks for it. */
    unsigned (*run)(sn_source *src);
    /* After every process pass: finish objects whose shutdown ended. */
    void (*reap)(sn_source *src);
    /* The ctx's last unref, the host still watching: finish everything. */
    void (*teardown)(sn_source *src);
    /* After the host stopped watching: release the source itself. */
    void (*free)(sn_source *src);
    /* sipnat_ctx_set_log_level() */
    void (*log_level)(sn_source *src, int priority);
} sn_source_ops;

/* Lives inside its owner; added once, kept until the ctx is freed. */
struct sn_source {
    const sn_source_ops *ops;
    uint64_t deadline;  /* CLOCK_MONOTONIC usec, SN_NO_DEADLINE */
    bool ready;         /* one of its fds was ready: run it */
    sn_source *next;
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
    size_t *slot;          /* by fd: 1 + its index in io[], 0 for none */
    size_t n_slot;
    int *dirty;            /* fds whose want changed since the last commit */
    size_t n_dirty;
    size_t cap_dirty;

    unsigned in_callback;  /* > 0 while a host callback runs */
    unsigned in_process;   /* > 0 inside a process call: events go out now */
    unsigned n_sigpipe;    /* > 0: hold SIGPIPE while sources run (TLS) */
    bool dying;            /* last unref under way */
    unsigned n_dispatched; /* counted during one process call */

    sn_timer_heap timers;    /* the library's own timers */
    sn_source *sources;      /* in the order they were added */
};

uint64_t sn_now_usec(void);

/* ctx.c: a ctx with no source yet (sipnat_ctx_new adds the layers'). */
int sn_ctx_new(sipnat_ctx **ret);
/* Plug a source in (ops copied by reference); it stays until the ctx is
 * freed. The first source added is torn down first. */
void sn_source_add(sipnat_ctx *ctx, sn_source *src, const sn_source_ops *ops);
/* The source added with these ops, or NULL. */
sn_source *sn_source_find(sipnat_ctx *ctx, const sn_source_ops *ops);

/* log.c */
void sn_log(sipnat_ctx *ctx, int priority, const char *domain,
            const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void sn_logv(sipnat_ctx *ctx, int priority, const char *domain,
             const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));
/* The ctx that foreign (sofia, GLib) log lines of this thread belong to. */
sipnat_ctx *sn_log_enter(sipnat_ctx *ctx);
void sn_log_leave(sipnat_ctx *prev);
void sn_log_raw(int priority, const char *domain, const char *line);

/* loop.c: the fd set and its two backends. sn_io_set adds or changes an
 * fd (found in O(1) by its number); the backend hears of it at the next
 * sn_loop_commit. sn_io_del withdraws it at once: call it before close. */
int sn_io_set(sipnat_ctx *ctx, int fd, unsigned want, sn_io_owner owner,
              sn_io_cb cb, void *cb_arg);
void sn_io_del(sipnat_ctx *ctx, int fd);
struct sn_io *sn_io_find(sipnat_ctx *ctx, int fd);
/* dup2(newfd, fd), newfd closed in any case; the backend hears of the new socket
 * at the next commit. 0 or a negative errno (fd not in the set). */
int sn_io_replace(sipnat_ctx *ctx, int fd, int newfd);
/* rebind.c: every socket of the set bound to an address the host no
 * longer has moves to the host's new address, same port, same fd
 * (connected TCP is shut down instead), except those bound to one of
 * keep[] (address and port). The number moved or shut. */
struct sockaddr_storage;
unsigned sn_ctx_rebind_vanished(sipnat_ctx *ctx,
                                const struct sockaddr_storage *keep,
                                size_t n_keep);
/* After anything changed the fd set or the deadline: tell the backend. */
void sn_loop_commit(sipnat_ctx *ctx);
/* Withdraw every fd and the timer from the host (last unref). */
void sn_loop_detach(sipnat_ctx *ctx);
void sn_loop_free(sipnat_ctx *ctx);

/* OpenSSL writes with write(2): a peer closing a TLS connection raises
 * SIGPIPE in the writing thread. While n_sigpipe > 0 (a TLS transport),
 * the library blocks SIGPIPE around its sources' work and swallows one that
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

/* Validation helpers */
#define SN_RETURN_IF(cond, err) \
    do {                        \
        if (cond)               \
            return (err);       \
    } while (0)

#endif /* SIPNAT_INTERNAL_H */
