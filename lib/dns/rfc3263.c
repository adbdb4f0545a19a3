/*
 * libsipnat - RFC 3263 4: which addresses, ports and in which order a
 * request to a SIP URI's host tries.
 *
 *  - a numeric host: that address, the URI's port or the default;
 *  - a name with a port: its A/AAAA records, that port;
 *  - otherwise NAPTR: the records whose service is the transport we have
 *    (SIP+D2U, SIP+D2T, SIPS+D2T) with flag "s", by order and preference,
 *    name the SRV records; without any, the SRV name is built
 *    (_sip._udp.host, _sip._tcp.host, _sips._tcp.host);
 *  - SRV records by priority and, within one, RFC 2782's weighted
 *    choice; a lone "." target says the service is not offered there;
 *  - no SRV records at all: the host's A/AAAA with the default port;
 *    likewise when the NAPTR or SRV question got no usable answer
 *    (timeout, refusal, a malformed message): a name the hosts file
 *    knows still works without a DNS server, as it did with the
 *    system's resolver.
 * The transport is the one the library's transport object speaks: a
 * NAPTR record for another one is skipped, as RFC 3263 4.1 lets a
 * client skip what it does not support.
 *
 * Each SRV target's addresses are asked in parallel; the answer lists
 * targets in SRV order, each target's addresses in the server's order.
 */
#include "dns/lookup.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SRV_NAMES_MAX 4
#define SRV_USED_MAX SN_DNS_MAX_TARGETS
#define ADDRS_PER_NAME 4

enum stage { ST_NAPTR, ST_SRV, ST_ADDR, ST_DONE };

struct sn_dns_op {
    struct sn_dns *dns;
    struct sn_dns_op *next;      /* every op of the ctx */
    sn_dns_req *req;             /* NULL: cancelled */
    sn_dns_cb cb;
    void *arg;
    sn_dns_query q;
    char host[SN_DNS_NAME_MAX];
    enum stage stage;
    unsigned pending;            /* lookups out, plus one while issuing */
    int error;                   /* first hard error seen */
    long ttl;                    /* smallest positive TTL so far, -1 none */
    bool from_naptr;

    char srv_names[SRV_NAMES_MAX][SN_DNS_NAME_MAX];
    size_t n_srv_names, srv_at;

    sn_dns_srv srv[SRV_USED_MAX]; /* ordered */
    size_t n_srv;
    sn_addr addrs[SRV_USED_MAX][ADDRS_PER_NAME];
    size_t n_addrs[SRV_USED_MAX];

    sn_dns_result *res;
    sn_timer deliver;
};

/* -- SRV ordering ------------------------------------------------------------ */

static int by_priority(const void *a, const void *b)
{
    const sn_dns_srv *x = a, *y = b;

    if (x->priority != y->priority)
        return x->priority < y->priority ? -1 : 1;
    /* RFC 2782: weight-0 records first, so they have a chance too. */
    return (x->weight != 0) - (y->weight != 0);
}

void sn_dns_srv_order(sn_dns_srv *v, size_t n, uint32_t (*rnd)(void *), void *rnd_arg)
{
    size_t i = 0;

    qsort(v, n, sizeof *v, by_priority);
    while (i < n) {
        size_t end = i;
        while (end < n && v[end].priority == v[i].priority)
            end++;
        /* Pick one of [i, end) by weight, swap it to i, go on. */
        for (; i < end; i++) {
            unsigned long sum = 0, run = 0, pick;
            size_t k;
            for (k = i; k < end; k++)
                sum += v[k].weight;
            pick = sum ? (unsigned long)(rnd(rnd_arg) % (sum + 1)) : 0;
            for (k = i; k < end; k++) {
                run += v[k].weight;
                if (run >= pick)
                    break;
            }
            if (k == end)
                k = end - 1;
            if (k != i) {
                /* The pick goes to i; the ones it jumped keep their order. */
                sn_dns_srv t = v[k];
                memmove(&v[i + 1], &v[i], (k - i) * sizeof *v);
                v[i] = t;
            }
        }
    }
}

/* -- delivery --------------------------------------------------------------- */

static void op_unlink(struct sn_dns_op *op)
{
    for (struct sn_dns_op **pp = sn_dns_ops_head(op->dns); *pp; pp = &(*pp)->next)
        if (*pp == op) {
            *pp = op->next;
            return;
        }
}

static void op_free(struct sn_dns_op *op)
{
    op_unlink(op);
    sn_ctx_timer_stop(sn_dns_ctx(op->dns), &op->deliver);
    free(op->res);
    free(op);
}

static void deliver(sn_timer *timer, void *arg)
{
    struct sn_dns_op *op = arg;
    sn_dns_result *res = op->res;
    sn_dns_cb cb = op->cb;
    void *cb_arg = op->arg;

    (void)timer;
    op->res = NULL;
    if (op->req)
        op->req->op = NULL;
    op_free(op);
    if (cb)
        cb(res, cb_arg);
    else
        free(res);
}

static void finish(struct sn_dns_op *op)
{
    sipnat_ctx *ctx = sn_dns_ctx(op->dns);

    op->stage = ST_DONE;
    if (!op->req) {
        op_free(op);
        return;
    }
    op->res->ttl = op->ttl < 0 ? 0 : (unsigned)op->ttl;
    if (op->res->n == 0 && !op->res->error)
        op->res->error = op->error ? op->error : -EHOSTUNREACH;
    if (op->res->n)
        op->res->error = 0;
    {
        sn_dns_result *fit = realloc(op->res, sizeof *op->res + op->res->n * sizeof op->res->t[0]);
        if (fit)
            op->res = fit;
    }
    if (sn_ctx_timer_arm(ctx, &op->deliver, 0) < 0) {
        /* No room in the timer heap: deliver now rather than never. */
        deliver(&op->deliver, op);
        return;
    }
    if (!ctx->in_process)
        sn_loop_commit(ctx);
}

static void add_target(struct sn_dns_op *op, const sn_addr *a, int port,
                       const char *host, unsigned priority)
{
    sn_dns_target *t;

    if (op->res->n == SN_DNS_MAX_TARGETS)
        return;
    t = &op->res->t[op->res->n++];
    sn_addr_format(a, t->addr, sizeof t->addr);
    t->port = port;
    t->priority = priority;
    snprintf(t->host, sizeof t->host, "%s", host);
}

static void note_ttl(struct sn_dns_op *op, const sn_dns_answer *ans)
{
    if (!ans->error && ans->n && (op->ttl < 0 || (long)ans->ttl < op->ttl))
        op->ttl = ans->ttl;
}

static void note_error(struct sn_dns_op *op, int error)
{
    /* A timeout says more than "no such name" from another question. */
    if (error && error != -ECANCELED &&
        (!op->error || error == -ETIMEDOUT || op->error == -EHOSTUNREACH))
        op->error = error;
}

/* -- addresses --------------------------------------------------------------- */

static int default_port(const struct sn_dns_op *op)
{
    return op->q.sips || op->q.protocol == SIPNAT_PROTOCOL_TLS ? 5061 : 5060;
}

typedef struct addr_ask {
    struct sn_dns_op *op;
    size_t index;
} addr_ask;

static void addrs_done(struct sn_dns_op *op)
{
    for (size_t i = 0; i < op->n_srv; i++)
        for (size_t k = 0; k < op->n_addrs[i]; k++)
            add_target(op, &op->addrs[i][k], (int)op->srv[i].port,
                       op->srv[i].target, op->srv[i].priority);
    finish(op);
}

static void on_addr(const sn_dns_answer *ans, void *arg)
{
    addr_ask *ask = arg;
    struct sn_dns_op *op = ask->op;
    size_t i = ask->index;

    free(ask);
    note_ttl(op, ans);
    note_error(op, ans->error);
    for (size_t k = 0; !ans->error && k < ans->n && op->n_addrs[i] < ADDRS_PER_NAME; k++)
        op->addrs[i][op->n_addrs[i]++] = ans->rr[k].addr;
    if (--op->pending == 0)
        addrs_done(op);
}

static void ask_addr(struct sn_dns_op *op, size_t i, int type)
{
    addr_ask *ask = malloc(sizeof *ask);

    if (!ask) {
        note_error(op, -ENOMEM);
        return;
    }
    ask->op = op;
    ask->index = i;
    op->pending++;
    sn_dns_lookup(op->dns, op->srv[i].target, type, on_addr, ask);
}

static void start_addrs(struct sn_dns_op *op)
{
    int fam = op->q.family;

    op->stage = ST_ADDR;
    op->pending++; /* held while asking, so a cached answer cannot finish early */
    for (size_t i = 0; i < op->n_srv && op->req; i++) {
        if (fam != AF_INET6)
            ask_addr(op, i, SN_DNS_T_A);
        if (fam != AF_INET)
            ask_addr(op, i, SN_DNS_T_AAAA);
    }
    if (--op->pending == 0)
        addrs_done(op);
}

/* One name, one port: the fallback, or a URI with a port. */
static void start_host_addrs(struct sn_dns_op *op, int port)
{
    memset(&op->srv[0], 0, sizeof op->srv[0]);
    snprintf(op->srv[0].target, sizeof op->srv[0].target, "%s", op->host);
    op->srv[0].port = (unsigned)port;
    op->n_srv = 1;
    start_addrs(op);
}

/* The NAPTR or SRV answer came: false when it was dealt with here (a
 * cancelled request ends; no usable answer falls back to the name's own
 * addresses: the hosts file may know it, or its A records answer). */
static bool answer_usable(struct sn_dns_op *op, const sn_dns_answer *ans)
{
    op->pending--;
    note_ttl(op, ans);
    if (ans->error == -ECANCELED || !op->req) {
        finish(op);
        return false;
    }
    if (ans->error && ans->error != -EHOSTUNREACH) {
        note_error(op, ans->error);
        start_host_addrs(op, default_port(op));
        return false;
    }
    return true;
}

/* -- SRV ---------------------------------------------------------------------- */

static void ask_srv(struct sn_dns_op *op);

static void on_srv(const sn_dns_answer *ans, void *arg)
{
    struct sn_dns_op *op = arg;
    sn_dns_srv all[SN_DNS_RR_MAX];
    size_t n = 0;

    if (!answer_usable(op, ans))
        return;
    for (size_t i = 0; !ans->error && i < ans->n; i++) {
        memset(&all[n], 0, sizeof all[n]);
        all[n].priority = ans->rr[i].priority;
        all[n].weight = ans->rr[i].weight;
        all[n].port = ans->rr[i].port;
        snprintf(all[n].target, sizeof all[n].target, "%s", ans->rr[i].name);
        if (all[n].port == 0)
            continue;
        n++;
    }
    if (n == 1 && strcmp(all[0].target, ".") == 0) {
        note_error(op, -EHOSTUNREACH); /* RFC 2782: decidedly not available */
        finish(op);
        return;
    }
    if (n == 0) {
        if (++op->srv_at < op->n_srv_names) {
            ask_srv(op);
            return;
        }
        start_host_addrs(op, default_port(op));
        return;
    }
    sn_dns_srv_order(all, n, sn_dns_random, op->dns);
    op->n_srv = 0;
    for (size_t i = 0; i < n && op->n_srv < SRV_USED_MAX; i++)
        if (strcmp(all[i].target, ".") != 0)
            op->srv[op->n_srv++] = all[i];
    start_addrs(op);
}

static void ask_srv(struct sn_dns_op *op)
{
    op->stage = ST_SRV;
    op->pending++;
    sn_dns_lookup(op->dns, op->srv_names[op->srv_at], SN_DNS_T_SRV, on_srv, op);
}

/* -- NAPTR -------------------------------------------------------------------- */

static const char *service_for(const struct sn_dns_op *op)
{
    return op->q.protocol == SIPNAT_PROTOCOL_TLS   ? "SIPS+D2T"
         : op->q.protocol == SIPNAT_PROTOCOL_TCP ? "SIP+D2T"
                                                 : "SIP+D2U";
}

static const char *srv_prefix(const struct sn_dns_op *op)
{
    return op->q.protocol == SIPNAT_PROTOCOL_TLS   ? "_sips._tcp"
         : op->q.protocol == SIPNAT_PROTOCOL_TCP ? "_sip._tcp"
                                                 : "_sip._udp";
}

static int by_order(const void *a, const void *b)
{
    const sn_dns_rr *x = a, *y = b;

    if (x->order != y->order)
        return x->order < y->order ? -1 : 1;
    return x->preference < y->preference ? -1 : x->preference > y->preference;
}

static void on_naptr(const sn_dns_answer *ans, void *arg)
{
    struct sn_dns_op *op = arg;
    sn_dns_rr rr[SN_DNS_RR_MAX];
    size_t n = 0;

    if (!answer_usable(op, ans))
        return;
    for (size_t i = 0; !ans->error && i < ans->n; i++)
        if (strcasecmp(ans->rr[i].service, service_for(op)) == 0 &&
            strcasecmp(ans->rr[i].flags, "s") == 0)
            rr[n++] = ans->rr[i];
    qsort(rr, n, sizeof rr[0], by_order);
    op->n_srv_names = 0;
    for (size_t i = 0; i < n && op->n_srv_names < SRV_NAMES_MAX; i++)
        snprintf(op->srv_names[op->n_srv_names++], SN_DNS_NAME_MAX, "%s", rr[i].name);
    op->from_naptr = op->n_srv_names > 0;
    if (!op->n_srv_names) {
        int w = snprintf(op->srv_names[0], SN_DNS_NAME_MAX, "%s.%s",
                         srv_prefix(op), op->host);
        if (w < 0 || w >= SN_DNS_NAME_MAX) {
            start_host_addrs(op, default_port(op));
            return;
        }
        op->n_srv_names = 1;
    }
    op->srv_at = 0;
    ask_srv(op);
}

/* -- requests ----------------------------------------------------------------- */

/* -- requests ----------------------------------------------------------------- */

static void start(struct sn_dns_op *op)
{
    sn_addr a;

    if (sn_addr_parse(op->host, &a) == 0) {
        /* RFC 3263 4.2: a numeric host is used as it is. */
        add_target(op, &a, op->q.port ? op->q.port : default_port(op), op->host, 0);
        finish(op);
    } else if (op->q.port || op->q.address_only) {
        start_host_addrs(op, op->q.port ? op->q.port : default_port(op));
    } else {
        op->stage = ST_NAPTR;
        op->pending++;
        sn_dns_lookup(op->dns, op->host, SN_DNS_T_NAPTR, on_naptr, op);
    }
}

int sn_dns_resolve(sipnat_ctx *ctx, sn_dns_req *req, const sn_dns_query *q,
                   sn_dns_cb cb, void *arg)
{
    struct sn_dns *dns;
    struct sn_dns_op *op;
    size_t n;

    SN_RETURN_IF(!ctx || !req || !q || !q->host || !cb || req->op, -EINVAL);
    n = strlen(q->host);
    SN_RETURN_IF(n == 0 || n >= SN_DNS_NAME_MAX - 12, -EINVAL);
    SN_RETURN_IF(q->port < 0 || q->port > 65535, -EINVAL);
    if (!(dns = sn_dns_get(ctx)))
        return -ENOMEM;
    if (sn_dns_dying(dns))
        return -ESHUTDOWN;
    if (!(op = calloc(1, sizeof *op)) ||
        !(op->res = calloc(1, sizeof *op->res + SN_DNS_MAX_TARGETS * sizeof op->res->t[0]))) {
        free(op);
        return -ENOMEM;
    }
    op->dns = dns;
    op->req = req;
    op->cb = cb;
    op->arg = arg;
    op->q = *q;
    snprintf(op->host, sizeof op->host, "%s", q->host);
    if (n > 1 && op->host[n - 1] == '.')
        op->host[n - 1] = '\0';
    op->q.host = op->host;
    op->ttl = -1;
    sn_timer_init(&op->deliver, deliver, op);
    op->next = *sn_dns_ops_head(dns);
    *sn_dns_ops_head(dns) = op;
    req->op = op;
    start(op);
    return 0;
}

void sn_dns_cancel(sn_dns_req *req)
{
    struct sn_dns_op *op = req ? req->op : NULL;

    if (!op)
        return;
    req->op = NULL;
    op->req = NULL;
    op->cb = NULL;
    if (op->stage == ST_DONE)
        op_free(op); /* its delivery was due: never mind */
    /* else: freed when its last outstanding lookup comes back */
}

/* The ctx is going away: every request still waiting hears -ECANCELED
 * now, so its owner can end what it holds (a call waiting for its next
 * hop ends there). */
void sn_dns_ops_detach_all(struct sn_dns *dns)
{
    struct sn_dns_op *op;

    while (1) {
        sn_dns_cb cb = NULL;
        void *arg = NULL;
        for (op = *sn_dns_ops_head(dns); op; op = op->next)
            if (op->req)
                break;
        if (!op)
            break;
        op->req->op = NULL;
        op->req = NULL;
        cb = op->cb;
        arg = op->arg;
        op->cb = NULL;
        if (op->stage == ST_DONE)
            op_free(op);
        sn_dns_result *res = calloc(1, sizeof *res);
        if (res && cb) {
            res->error = -ECANCELED;
            cb(res, arg);
        } else {
            free(res);
        }
    }
    for (struct sn_dns_op *next; (op = *sn_dns_ops_head(dns)) != NULL; op = next) {
        next = op->next;
        if (op->stage != ST_DONE)
            break; /* freed by its lookups' ECANCELED, when the channel closes */
        op_free(op);
    }
}
