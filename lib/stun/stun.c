/*
 * libsipnat - STUN Binding client (see stun.h): the messages are
 * message.c's, the sockets their owners', the timers the ctx's.
 */
#include "stun/stun.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct sn_stun {
    unsigned n_ref;
    sipnat_ctx *ctx;
    sn_addr server;
    int server_port;
    struct sockaddr_storage server_sa;
    socklen_t server_len;
    char name[SIPNAT_ADDRSTRLEN + 8];
    sn_stun_agent *agent;
    sn_stun_stats st;
};

int sn_stun_new(sn_stun **ret, sipnat_ctx *ctx, const char *address, int port)
{
    return sn_stun_new_fp(ret, ctx, address, port, true);
}

int sn_stun_new_fp(sn_stun **ret, sipnat_ctx *ctx, const char *address, int port,
                   bool fingerprint)
{
    sn_addr a;
    sn_stun *s;

    *ret = NULL;
    SN_RETURN_IF(!ctx || !address || port < 1 || port > 65535, -EINVAL);
    SN_RETURN_IF(sn_addr_parse(address, &a) < 0, -EINVAL);
    s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    s->n_ref = 1;
    s->ctx = ctx;
    s->server = a;
    s->server_port = port;
    s->server_len = sn_addr_to_sockaddr(&a, port, &s->server_sa);
    snprintf(s->name, sizeof s->name, a.family == AF_INET6 ? "[%s]:%d" : "%s:%d",
             address, port);
    int r = sn_stun_agent_new_fp(&s->agent, fingerprint);
    if (r < 0) {
        free(s);
        return r;
    }
    *ret = s;
    return 0;
}

sn_stun *sn_stun_ref(sn_stun *s)
{
    if (s)
        s->n_ref++;
    return s;
}

void sn_stun_unref(sn_stun *s)
{
    if (s && --s->n_ref == 0) {
        sn_stun_agent_free(s->agent);
        free(s);
    }
}

const char *sn_stun_server_name(const sn_stun *s)
{
    return s->name;
}

void sn_stun_get_stats(const sn_stun *s, sn_stun_stats *out)
{
    *out = s->st;
}

static void forget(sn_stun_binding *b)
{
    if (b->pending)
        sn_stun_forget(b->stun->agent, b->key);
    b->pending = false;
}

static void report(sn_stun_binding *b, bool ok)
{
    b->settled = true;
    if (b->func)
        b->func(b, ok, b->user_data);
}

static int send_request(sn_stun_binding *b)
{
    sn_stun *s = b->stun;
    uint8_t buf[128];
    int n;

    forget(b);
    n = sn_stun_request(s->agent, NULL, buf, sizeof buf, b->key);
    if (n < 0) {
        sn_log(s->ctx, SIPNAT_LOG_WARNING, "stun", "no Binding request to %s: %s",
               s->name, sipnat_strerror(n));
        return n;
    }
    b->pending = true;
    s->st.requests++;
    if (sendto(b->fd, buf, (size_t)n, MSG_DONTWAIT,
               (const struct sockaddr *)&s->server_sa, s->server_len) < 0) {
        /* Lost like a datagram: the retransmission tries again. */
        sn_log(s->ctx, SIPNAT_LOG_DEBUG, "stun", "Binding to %s: %s", s->name,
               strerror(errno));
    }
    return 0;
}

static void on_timer(sn_timer *t, void *arg)
{
    sn_stun_binding *b = arg;
    sn_stun *s = b->stun;
    (void)t;

    if (b->pending && b->tries >= SN_STUN_TRIES) {
        /* Given up: no answer to any of the tries. */
        forget(b);
        s->st.timeouts++;
        sn_log(s->ctx, SIPNAT_LOG_NOTICE, "stun",
               "no answer from %s after %u tries (%u ms)", s->name, b->tries,
               SN_STUN_GIVEUP_MS);
        b->tries = 0;
        sn_ctx_timer_arm(s->ctx, &b->timer, SN_STUN_REFRESH_USEC);
        if (!b->settled)
            report(b, false);
        return;
    }
    if (!b->pending)
        b->tries = 0; /* a refresh: a new transaction */
    if (send_request(b) < 0) {
        sn_ctx_timer_arm(s->ctx, &b->timer, SN_STUN_REFRESH_USEC);
        return;
    }
    /* 0, 100, 300 ms: the RTO doubles; the last try waits 2 RTO more. */
    uint64_t wait = SN_STUN_RTO_USEC << b->tries;
    b->tries++;
    if (b->tries == SN_STUN_TRIES)
        wait = SN_STUN_RTO_USEC << SN_STUN_TRIES;
    sn_ctx_timer_arm(s->ctx, &b->timer, wait);
}

int sn_stun_binding_start(sn_stun_binding *b, sn_stun *s, int fd,
                          sn_stun_func func, void *user_data)
{
    memset(b, 0, sizeof *b);
    b->stun = sn_stun_ref(s);
    b->fd = fd;
    b->func = func;
    b->user_data = user_data;
    sn_timer_init(&b->timer, on_timer, b);
    on_timer(&b->timer, b);
    if (!sn_timer_armed(&b->timer)) {
        sn_stun_binding_stop(b);
        return -ENOMEM;
    }
    return 0;
}

void sn_stun_binding_stop(sn_stun_binding *b)
{
    if (!b->stun)
        return;
    forget(b);
    sn_ctx_timer_stop(b->stun->ctx, &b->timer);
    sn_stun_unref(b->stun);
    b->stun = NULL;
    b->func = NULL;
}

static int refuse(sn_stun *s, int why, const char *what)
{
    s->st.refused++;
    sn_log(s->ctx, SIPNAT_LOG_DEBUG, "stun", "refused a STUN message: %s", what);
    return why;
}

/* The same address and port (a, b: AF_INET or AF_INET6). */
static bool same_endpoint(const struct sockaddr *a, const struct sockaddr *b)
{
    sn_addr x, y;
    int xp, yp;

    return sn_addr_from_sockaddr(a, &x, &xp) == 0 &&
           sn_addr_from_sockaddr(b, &y, &yp) == 0 && xp == yp && sn_addr_equal(&x, &y);
}

int sn_stun_binding_take(sn_stun_binding *b, const uint8_t *buf, size_t len,
                         const struct sockaddr *from)
{
    sn_stun *s = b->stun;
    struct sockaddr_storage m;
    int r;

    if (!s)
        return -ESRCH;
    if (!same_endpoint(from, (const struct sockaddr *)&s->server_sa))
        return refuse(s, -EPERM, "not from the server");
    if (!b->pending || len < SN_STUN_HDR ||
        memcmp(buf + 4, b->key, SN_STUN_KEY_LEN) != 0)
        return refuse(s, -ESRCH, "answers no request of this socket");
    r = sn_stun_response(s->agent, buf, len, &m);
    if (r == -EBADMSG || r == -ESRCH)
        return refuse(s, r, r == -ESRCH ? "answers no request of ours"
                                        : "malformed, or its FINGERPRINT is wrong");
    /* Answered: taken off the agent's list, whatever it said. */
    b->pending = false;
    b->tries = 0;
    sn_ctx_timer_arm(s->ctx, &b->timer, SN_STUN_REFRESH_USEC);
    if (r < 0) {
        s->st.refused++;
        sn_log(s->ctx, SIPNAT_LOG_NOTICE, "stun",
               "%s answered without a mapped address (an error response?)",
               s->name);
        if (!b->settled)
            report(b, false);
        return r;
    }
    bool changed = !b->have_mapped ||
                   !same_endpoint((const struct sockaddr *)&m,
                                  (const struct sockaddr *)&b->mapped);
    b->mapped = m;
    b->have_mapped = true;
    b->learned_at = time(NULL);
    s->st.responses++;
    if (!b->settled || changed)
        report(b, true);
    return 1;
}
