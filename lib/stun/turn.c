/*
 * libsipnat - TURN client (see turn.h): the messages are message.c's,
 * the sockets their owners', the timers the ctx's.
 */
#include "stun/turn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

struct sn_turn {
    unsigned n_ref;
    sipnat_ctx *ctx;
    struct sockaddr_storage server_sa;
    socklen_t server_len;
    char name[SIPNAT_ADDRSTRLEN + 8];
    char user[256];
    char pwd[256];
    sn_turn_stun *agent;
    sn_turn_stats st;
};

int sn_turn_new(sn_turn **ret, sipnat_ctx *ctx, const char *address, int port,
                const char *user, const char *password)
{
    sn_addr a;
    sn_turn *t;
    int r;

    *ret = NULL;
    SN_RETURN_IF(!ctx || !address || !user || !password || port < 1 || port > 65535,
                 -EINVAL);
    SN_RETURN_IF(sn_addr_parse(address, &a) < 0, -EINVAL);
    SN_RETURN_IF(!user[0] || strlen(user) >= sizeof t->user ||
                     strlen(password) >= sizeof t->pwd,
                 -EINVAL);
    t = calloc(1, sizeof *t);
    if (!t)
        return -ENOMEM;
    t->n_ref = 1;
    t->ctx = ctx;
    t->server_len = sn_addr_to_sockaddr(&a, port, &t->server_sa);
    snprintf(t->name, sizeof t->name, a.family == AF_INET6 ? "[%s]:%d" : "%s:%d", address,
             port);
    snprintf(t->user, sizeof t->user, "%s", user);
    snprintf(t->pwd, sizeof t->pwd, "%s", password);
    if ((r = sn_turn_stun_new(&t->agent)) < 0) {
        free(t);
        return r;
    }
    *ret = t;
    return 0;
}

sn_turn *sn_turn_ref(sn_turn *t)
{
    if (t)
        t->n_ref++;
    return t;
}

void sn_turn_unref(sn_turn *t)
{
    if (t && --t->n_ref == 0) {
        sn_turn_stun_free(t->agent);
        free(t);
    }
}

const char *sn_turn_server_name(const sn_turn *t)
{
    return t->name;
}

const struct sockaddr *sn_turn_server_sa(const sn_turn *t)
{
    return (const struct sockaddr *)&t->server_sa;
}

void sn_turn_get_stats(const sn_turn *t, sn_turn_stats *out)
{
    *out = t->st;
}

static void transmit(sn_turn_alloc *a, sn_turn_tx *tx)
{
    sn_turn *t = a->turn;

    t->st.requests++;
    if (sendto(a->fd, tx->buf, tx->len, MSG_DONTWAIT, (const struct sockaddr *)&t->server_sa,
               t->server_len) < 0)
        sn_log(t->ctx, SIPNAT_LOG_DEBUG, "turn", "to %s: %s", t->name, strerror(errno));
}

static void tx_forget(sn_turn_alloc *a, sn_turn_tx *tx)
{
    if (tx->pending)
        sn_turn_stun_forget(a->turn->agent, tx->key);
    tx->pending = false;
}

static void rearm(sn_turn_alloc *a);

/* Build and send the request of slot `k`. */
static int request(sn_turn_alloc *a, unsigned k)
{
    sn_turn *t = a->turn;
    sn_turn_tx *tx = &a->tx[k];
    sn_turn_req req = {.lifetime = -1};
    struct sockaddr_storage sa[SN_TURN_MAX_PERMS];
    int n;

    tx_forget(a, tx);
    if (a->authenticated) {
        req.user = t->user;
        req.pwd = t->pwd;
        req.realm = a->realm;
        req.nonce = a->nonce;
    }
    switch (k) {
    case SN_TURN_TX_ALLOC:
        req.method = a->state == SN_TURN_READY ? SN_TURN_REFRESH : SN_TURN_ALLOCATE;
        req.lifetime = a->tx_lifetime;
        break;
    case SN_TURN_TX_PERM:
        req.method = SN_TURN_PERMISSION;
        for (unsigned i = 0; i < a->n_perm; i++) {
            sn_addr_to_sockaddr(&a->perm[i], 0, &sa[i]);
            req.peers[i] = (const struct sockaddr *)&sa[i];
        }
        req.n_peers = a->n_perm;
        a->n_perm_asked = a->n_perm;
        break;
    case SN_TURN_TX_CHAN:
        req.method = SN_TURN_CHANNEL_BIND;
        req.channel = SN_TURN_CHANNEL;
        req.peers[0] = (const struct sockaddr *)&a->chan_peer;
        req.n_peers = 1;
        break;
    }
    n = sn_turn_stun_request(t->agent, &req, tx->buf, sizeof tx->buf, tx->key);
    if (n < 0) {
        sn_log(t->ctx, SIPNAT_LOG_WARNING, "turn", "no request to %s: %s", t->name,
               sipnat_strerror(n));
        return n;
    }
    tx->len = (size_t)n;
    tx->pending = true;
    tx->tries = 1;
    tx->due = sn_now_usec() + SN_TURN_RTO_USEC;
    transmit(a, tx);
    return 0;
}

static void report(sn_turn_alloc *a, sn_turn_event ev)
{
    if (a->func)
        a->func(a, ev, a->user_data);
}

static void fail(sn_turn_alloc *a, const char *why)
{
    sn_log(a->turn->ctx, SIPNAT_LOG_WARNING, "turn", "no relayed address from %s: %s",
           a->turn->name, why);
    for (unsigned k = 0; k < SN_TURN_TX_N; k++)
        tx_forget(a, &a->tx[k]);
    a->state = SN_TURN_FAILED;
    a->chan_bound = false;
    a->n_perm_installed = 0;
    report(a, SN_TURN_EV_FAILED);
}

/* What is due: retransmissions, then refreshes and new permissions. */
static void on_timer(sn_timer *tm, void *arg)
{
    sn_turn_alloc *a = arg;
    uint64_t now = sn_now_usec();
    (void)tm;

    for (unsigned k = 0; k < SN_TURN_TX_N; k++) {
        sn_turn_tx *tx = &a->tx[k];
        if (!tx->pending || tx->due > now)
            continue;
        if (tx->tries >= SN_TURN_TRIES) {
            a->turn->st.timeouts++;
            tx_forget(a, tx);
            if (k == SN_TURN_TX_ALLOC) {
                fail(a, "no answer");
                return;
            }
            sn_log(a->turn->ctx, SIPNAT_LOG_NOTICE, "turn", "%s did not answer a %s",
                   a->turn->name, k == SN_TURN_TX_PERM ? "CreatePermission" : "ChannelBind");
            continue;
        }
        tx->due = now + ((uint64_t)SN_TURN_RTO_USEC << tx->tries);
        tx->tries++;
        transmit(a, tx);
    }
    if (a->state == SN_TURN_READY) {
        if (!a->tx[SN_TURN_TX_ALLOC].pending && now >= a->refresh_at) {
            a->tx_lifetime = SN_TURN_LIFETIME;
            request(a, SN_TURN_TX_ALLOC);
        }
        if (!a->tx[SN_TURN_TX_PERM].pending && a->n_perm &&
            (a->n_perm_installed < a->n_perm || now >= a->perm_refresh_at))
            request(a, SN_TURN_TX_PERM);
        if (!a->tx[SN_TURN_TX_CHAN].pending && a->chan_wanted &&
            (!a->chan_bound || now >= a->chan_refresh_at))
            request(a, SN_TURN_TX_CHAN);
    }
    rearm(a);
}

static void rearm(sn_turn_alloc *a)
{
    uint64_t now = sn_now_usec(), next = UINT64_MAX;

    if (!a->turn || a->state == SN_TURN_FAILED)
        return;
    for (unsigned k = 0; k < SN_TURN_TX_N; k++)
        if (a->tx[k].pending && a->tx[k].due < next)
            next = a->tx[k].due;
    if (a->state == SN_TURN_READY) {
        if (!a->tx[SN_TURN_TX_ALLOC].pending && a->refresh_at < next)
            next = a->refresh_at;
        if (!a->tx[SN_TURN_TX_PERM].pending && a->n_perm) {
            uint64_t p = a->n_perm_installed < a->n_perm ? now : a->perm_refresh_at;
            if (p < next)
                next = p;
        }
        if (!a->tx[SN_TURN_TX_CHAN].pending && a->chan_wanted) {
            uint64_t c = a->chan_bound ? a->chan_refresh_at : now;
            if (c < next)
                next = c;
        }
    }
    if (next == UINT64_MAX)
        sn_ctx_timer_stop(a->turn->ctx, &a->timer);
    else
        sn_ctx_timer_arm(a->turn->ctx, &a->timer, next > now ? next - now : 0);
}

int sn_turn_alloc_start(sn_turn_alloc *a, sn_turn *t, int fd, sn_turn_func func,
                        void *user_data)
{
    int r;

    memset(a, 0, sizeof *a);
    a->turn = sn_turn_ref(t);
    a->fd = fd;
    a->func = func;
    a->user_data = user_data;
    a->state = SN_TURN_ALLOCATING;
    a->tx_lifetime = SN_TURN_LIFETIME;
    sn_timer_init(&a->timer, on_timer, a);
    if ((r = request(a, SN_TURN_TX_ALLOC)) < 0) {
        sn_turn_unref(a->turn);
        a->turn = NULL;
        return r;
    }
    rearm(a);
    return 0;
}

void sn_turn_alloc_stop(sn_turn_alloc *a)
{
    sn_turn *t = a->turn;

    if (!t)
        return;
    if (a->state == SN_TURN_READY) {
        /* RFC 8656 7.2: a Refresh with LIFETIME 0 deletes the allocation;
         * its answer is not waited for (the socket closes next). */
        a->tx_lifetime = 0;
        if (request(a, SN_TURN_TX_ALLOC) == 0)
            sn_log(t->ctx, SIPNAT_LOG_DEBUG, "turn", "released the allocation at %s",
                   t->name);
    }
    for (unsigned k = 0; k < SN_TURN_TX_N; k++)
        tx_forget(a, &a->tx[k]);
    sn_ctx_timer_stop(t->ctx, &a->timer);
    sn_turn_unref(t);
    a->turn = NULL;
    a->func = NULL;
    a->state = SN_TURN_IDLE;
}

int sn_turn_alloc_permit(sn_turn_alloc *a, const struct sockaddr *peer)
{
    sn_addr x;
    int port;

    SN_RETURN_IF(!a->turn || !peer, -EINVAL);
    SN_RETURN_IF(sn_addr_from_sockaddr(peer, &x, &port) < 0, -EINVAL);
    for (unsigned i = 0; i < a->n_perm; i++)
        if (sn_addr_equal(&a->perm[i], &x))
            return 0;
    if (a->n_perm == SN_TURN_MAX_PERMS)
        return -E2BIG;
    a->perm[a->n_perm++] = x;
    rearm(a);
    return 0;
}

int sn_turn_alloc_bind(sn_turn_alloc *a, const struct sockaddr *peer)
{
    int r;

    SN_RETURN_IF(!a->turn || !peer ||
                     (peer->sa_family != AF_INET && peer->sa_family != AF_INET6),
                 -EINVAL);
    if ((r = sn_turn_alloc_permit(a, peer)) < 0 && r != -E2BIG)
        return r;
    tx_forget(a, &a->tx[SN_TURN_TX_CHAN]);
    memset(&a->chan_peer, 0, sizeof a->chan_peer);
    memcpy(&a->chan_peer, peer,
           peer->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                       : sizeof(struct sockaddr_in));
    a->chan_wanted = true;
    a->chan_bound = false;
    rearm(a);
    return 0;
}

int sn_turn_alloc_send(sn_turn_alloc *a, const struct sockaddr *peer, const uint8_t *data,
                       size_t len)
{
    sn_turn *t = a->turn;
    uint8_t buf[SN_TURN_DATA_MAX + 48];
    int n;

    SN_RETURN_IF(!t || a->state != SN_TURN_READY, -ENOTCONN);
    n = sn_turn_stun_send(t->agent, buf, sizeof buf, peer, data, len);
    if (n < 0)
        return n;
    t->st.sends++;
    if (sendto(a->fd, buf, (size_t)n, MSG_DONTWAIT, (const struct sockaddr *)&t->server_sa,
               t->server_len) < 0)
        return -errno;
    return 0;
}

static bool same_endpoint(const struct sockaddr *x, const struct sockaddr *y)
{
    sn_addr p, q;
    int pp, qp;

    return sn_addr_from_sockaddr(x, &p, &pp) == 0 && sn_addr_from_sockaddr(y, &q, &qp) == 0 &&
           pp == qp && sn_addr_equal(&p, &q);
}

static int refuse(sn_turn *t, int why, const char *what)
{
    t->st.refused++;
    sn_log(t->ctx, SIPNAT_LOG_DEBUG, "turn", "refused a message from %s: %s", t->name, what);
    return why;
}

static void on_answer(sn_turn_alloc *a, unsigned k, const sn_turn_answer *ans)
{
    sn_turn *t = a->turn;
    uint64_t now = sn_now_usec();

    if (ans->error == 401 || ans->error == 438) {
        /* The realm and nonce to sign with (RFC 8489 9.2.4): once for a
         * 401 (a second means wrong credentials), as often as the server
         * says the nonce is stale. */
        if ((ans->error == 401 && a->authenticated) || !ans->realm[0] || !ans->nonce[0]) {
            if (k == SN_TURN_TX_ALLOC)
                fail(a, ans->error == 401 ? "401 Unauthorized (wrong credentials?)"
                                          : "438 without a nonce");
            return;
        }
        snprintf(a->realm, sizeof a->realm, "%s", ans->realm);
        snprintf(a->nonce, sizeof a->nonce, "%s", ans->nonce);
        a->authenticated = true;
        request(a, k);
        return;
    }
    if (ans->error) {
        sn_log(t->ctx, SIPNAT_LOG_NOTICE, "turn", "%s answered a %s with %d", t->name,
               k == SN_TURN_TX_ALLOC ? "Allocate/Refresh"
               : k == SN_TURN_TX_PERM ? "CreatePermission" : "ChannelBind",
               ans->error);
        if (k == SN_TURN_TX_ALLOC && a->tx_lifetime != 0)
            fail(a, "the server refused the allocation");
        if (k == SN_TURN_TX_CHAN)
            a->chan_wanted = false;
        return;
    }
    switch (k) {
    case SN_TURN_TX_ALLOC: {
        bool first = a->state == SN_TURN_ALLOCATING;
        if (first) {
            if (!ans->have_relayed) {
                fail(a, "no XOR-RELAYED-ADDRESS in the answer");
                return;
            }
            a->relayed = ans->relayed;
            a->have_mapped = ans->have_mapped;
            if (ans->have_mapped)
                a->mapped = ans->mapped;
            a->state = SN_TURN_READY;
            t->st.allocations++;
        }
        a->lifetime = ans->lifetime ? ans->lifetime : SN_TURN_LIFETIME;
        /* Refreshed a minute before it would expire (at half of a short
         * lifetime). */
        a->refresh_at = now + (a->lifetime > 120 ? a->lifetime - 60 : a->lifetime / 2) *
                                  1000000ull;
        if (first)
            report(a, SN_TURN_EV_ALLOCATED);
        break;
    }
    case SN_TURN_TX_PERM:
        a->n_perm_installed = a->n_perm_asked;
        a->perm_refresh_at = now + SN_TURN_PERM_USEC;
        break;
    case SN_TURN_TX_CHAN: {
        bool new_bind = !a->chan_bound;
        a->chan_bound = true;
        a->chan_refresh_at = now + SN_TURN_CHAN_USEC;
        if (new_bind)
            report(a, SN_TURN_EV_CHANNEL);
        break;
    }
    }
}

int sn_turn_alloc_take(sn_turn_alloc *a, const uint8_t *buf, size_t len,
                       const struct sockaddr *from, struct sockaddr_storage *peer,
                       const uint8_t **data, size_t *dlen)
{
    sn_turn *t = a->turn;
    sn_turn_answer ans;
    unsigned k;
    int r;

    if (!t || !same_endpoint(from, (const struct sockaddr *)&t->server_sa))
        return -ESRCH;
    if (len >= SN_STUN_HDR && buf[0] == 0x00 && buf[1] == 0x17) {
        if (a->state != SN_TURN_READY)
            return refuse(t, -EPROTO, "a Data indication without an allocation");
        if ((r = sn_turn_stun_data(t->agent, buf, len, peer, data, dlen)) < 0)
            return refuse(t, r, "a malformed Data indication");
        t->st.data_in++;
        return 2;
    }
    for (k = 0; k < SN_TURN_TX_N; k++)
        if (a->tx[k].pending && len >= SN_STUN_HDR &&
            memcmp(buf + 4, a->tx[k].key, SN_STUN_KEY_LEN) == 0)
            break;
    if (k == SN_TURN_TX_N)
        return -ESRCH; /* maybe the STUN server's, on the same address */
    r = sn_turn_stun_response(t->agent, buf, len, &ans);
    if (r == -ESRCH)
        return -ESRCH;
    if (r < 0)
        return refuse(t, r, r == -EACCES ? "its MESSAGE-INTEGRITY is wrong or missing"
                            : r == -EPROTO ? "an unknown comprehension-required attribute"
                                           : "malformed");
    /* Answered: libnice took it off its list. */
    a->tx[k].pending = false;
    if (ans.method != (k == SN_TURN_TX_ALLOC  ? (a->state == SN_TURN_READY ? SN_TURN_REFRESH
                                                                          : SN_TURN_ALLOCATE)
                       : k == SN_TURN_TX_PERM ? SN_TURN_PERMISSION
                                              : SN_TURN_CHANNEL_BIND))
        return refuse(t, -EPROTO, "answers another method");
    t->st.responses++;
    on_answer(a, k, &ans);
    rearm(a);
    return 1;
}
