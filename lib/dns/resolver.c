/*
 * libsipnat - the ctx's c-ares channel on the ctx's own fds and timers,
 * and a bounded cache of answers that honours their TTLs.
 *
 * c-ares tells which sockets it wants watched (sock_state_cb); they go
 * into the ctx's fd set as the library's own, and its next timeout into
 * one library timer. Nothing here waits: a question goes out and its
 * answer comes back from a later process call.
 */
#include "dns/lookup.h"

#include <ares.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <pthread.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#define SN_DNS_TIMEOUT_MS 2000u
#define SN_DNS_TRIES 2u

typedef struct cache_entry {
    int type;
    char name[SN_DNS_NAME_MAX];
    uint64_t expires;   /* CLOCK_MONOTONIC usec */
    sn_dns_answer ans;  /* ans.rr owned */
} cache_entry;

struct sn_dns {
    sn_source src;          /* first: the ctx's list holds it */
    sipnat_ctx *ctx;
    ares_channel ch;
    bool have_ch;
    bool dying;
    char *servers;          /* the host's, NULL: resolv.conf */
    unsigned timeout_ms, tries;
    bool timeout_set;       /* by the host: resolv.conf's are not read */
    unsigned pending;       /* questions c-ares holds */
    sn_timer timer;
    uint64_t rnd;
    cache_entry cache[SN_DNS_CACHE_MAX];
    size_t n_cache;
    sn_dns_stats stats;
    struct sn_dns_op *ops;
};

typedef struct question {
    struct sn_dns *dns;
    int type;
    char name[SN_DNS_NAME_MAX];
    sn_dns_lookup_cb cb;
    void *arg;
} question;

static void dns_teardown(sn_source *src);
static void dns_release(sn_source *src);
/* The resolver is one of the ctx's loop sources: its fds and its timer are
 * its own (sn_io_set, sn_ctx_timer_arm), the source only gives it a place
 * in the ctx's teardown. Created on first use. */
static const sn_source_ops dns_ops = {.teardown = dns_teardown, .free = dns_release};

static struct sn_dns *dns_of(sipnat_ctx *ctx)
{
    return (struct sn_dns *)sn_source_find(ctx, &dns_ops);
}

sipnat_ctx *sn_dns_ctx(struct sn_dns *dns) { return dns->ctx; }
bool sn_dns_dying(const struct sn_dns *dns) { return dns->dying; }
struct sn_dns_op **sn_dns_ops_head(struct sn_dns *dns) { return &dns->ops; }

uint32_t sn_dns_random(void *arg)
{
    struct sn_dns *dns = arg;
    uint64_t x = dns->rnd;

    /* xorshift64*: weights need a fair spread, not secrecy. */
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    dns->rnd = x;
    return (uint32_t)((x * 0x2545F4914F6CDD1DULL) >> 32);
}

/* -- the channel on the loop ------------------------------------------------ */

static void rearm(struct sn_dns *dns)
{
    struct timeval tv, *t;

    if (!dns->have_ch)
        return;
    t = ares_timeout(dns->ch, NULL, &tv);
    if (!t) {
        sn_ctx_timer_stop(dns->ctx, &dns->timer);
        return;
    }
    sn_ctx_timer_arm(dns->ctx, &dns->timer,
                     (uint64_t)t->tv_sec * 1000000u + (uint64_t)t->tv_usec);
}

static void on_timer(sn_timer *timer, void *arg)
{
    struct sn_dns *dns = arg;

    (void)timer;
    ares_process_fd(dns->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
    rearm(dns);
}

static void on_io(sipnat_ctx *ctx, int fd, unsigned revents, void *arg)
{
    struct sn_dns *dns = arg;
    bool rd = revents & (SIPNAT_IO_IN | SIPNAT_IO_ERR | SIPNAT_IO_HUP);

    (void)ctx;
    ares_process_fd(dns->ch, rd ? fd : ARES_SOCKET_BAD,
                    (revents & SIPNAT_IO_OUT) ? fd : ARES_SOCKET_BAD);
    rearm(dns);
}

static void on_sock_state(void *data, ares_socket_t fd, int readable,
                          int writable)
{
    struct sn_dns *dns = data;
    unsigned want = (readable ? SIPNAT_IO_IN : 0u) | (writable ? SIPNAT_IO_OUT : 0u);

    if (!want) {
        sn_io_del(dns->ctx, fd);
        return;
    }
    if (sn_io_set(dns->ctx, fd, want, SN_IO_OWN, on_io, dns) < 0)
        sn_log(dns->ctx, SIPNAT_LOG_ERR, "dns", "cannot watch DNS socket %d", fd);
}

/* resolv.conf's "options timeout:N attempts:N" (and RES_OPTIONS, as the
 * system's resolver reads them). c-ares 1.18 parses the servers of the
 * file but does not hand these two back (ares_save_options() reports its
 * own defaults, 5 s and 4 tries: over a minute for one question), so
 * they are read here; without them the library's defaults stay. */
static void apply_resolv_options(struct sn_dns *dns, const char *line)
{
    char buf[256], *save = NULL;

    snprintf(buf, sizeof buf, "%s", line);
    for (char *tok = strtok_r(buf, " \t\r\n", &save); tok;
         tok = strtok_r(NULL, " \t\r\n", &save)) {
        char *end;
        unsigned long v;
        if (strncmp(tok, "timeout:", 8) == 0) {
            v = strtoul(tok + 8, &end, 10);
            if (!*end && v >= 1 && v <= 30)
                dns->timeout_ms = (unsigned)v * 1000u;
        } else if (strncmp(tok, "attempts:", 9) == 0) {
            v = strtoul(tok + 9, &end, 10);
            if (!*end && v >= 1 && v <= 5)
                dns->tries = (unsigned)v;
        }
    }
}

static void resolv_conf_timeouts(struct sn_dns *dns)
{
    FILE *f = fopen("/etc/resolv.conf", "re");
    char line[256];
    const char *env = getenv("RES_OPTIONS");

    if (f) {
        while (fgets(line, sizeof line, f))
            if (strncmp(line, "options", 7) == 0 && (line[7] == ' ' || line[7] == '\t'))
                apply_resolv_options(dns, line + 7);
        fclose(f);
    }
    if (env)
        apply_resolv_options(dns, env);
}

static int channel_open(struct sn_dns *dns)
{
    struct ares_options o;
    int mask = ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
               ARES_OPT_FLAGS | ARES_OPT_EDNSPSZ;
    int r;

    if (dns->have_ch)
        return 0;
    if (!dns->timeout_set)
        resolv_conf_timeouts(dns);
    memset(&o, 0, sizeof o);
    o.sock_state_cb = on_sock_state;
    o.sock_state_cb_data = dns;
    o.timeout = (int)dns->timeout_ms;
    o.tries = (int)dns->tries;
    /* Names are asked as given: no search list for SIP hosts. EDNS0 lets
     * an SRV set larger than 512 bytes come over UDP (1232: the size the
     * DNS flag day of 2020 settled on); c-ares refuses a UDP answer
     * larger than what it advertised. */
    o.flags = ARES_FLAG_NOSEARCH | ARES_FLAG_EDNS;
    o.ednspsz = 1232;
    r = ares_init_options(&dns->ch, &o, mask);
    if (r != ARES_SUCCESS) {
        sn_log(dns->ctx, SIPNAT_LOG_ERR, "dns", "c-ares: %s", ares_strerror(r));
        return r == ARES_ENOMEM ? -ENOMEM : -EIO;
    }
    if (dns->servers &&
        (r = ares_set_servers_ports_csv(dns->ch, dns->servers)) != ARES_SUCCESS) {
        ares_destroy(dns->ch);
        return -EINVAL;
    }
    dns->have_ch = true;
    return 0;
}

static void channel_close(struct sn_dns *dns)
{
    if (!dns->have_ch)
        return;
    /* Every question still out is answered with ARES_EDESTRUCTION now. */
    ares_destroy(dns->ch);
    dns->have_ch = false;
    sn_ctx_timer_stop(dns->ctx, &dns->timer);
}

/* -- the cache -------------------------------------------------------------- */

static void entry_clear(cache_entry *e)
{
    free(e->ans.rr);
    memset(e, 0, sizeof *e);
}

static cache_entry *cache_find(struct sn_dns *dns, const char *name, int type)
{
    uint64_t now = sn_now_usec();

    for (size_t i = 0; i < dns->n_cache; i++) {
        cache_entry *e = &dns->cache[i];
        if (e->type != type || strcasecmp(e->name, name) != 0)
            continue;
        if (e->expires > now)
            return e;
        /* Expired: gone, so the next question goes to the server. */
        entry_clear(e);
        dns->cache[i] = dns->cache[--dns->n_cache];
        memset(&dns->cache[dns->n_cache], 0, sizeof dns->cache[0]);
        return NULL;
    }
    return NULL;
}

static void cache_put(struct sn_dns *dns, const char *name, int type,
                      const sn_dns_answer *ans)
{
    cache_entry *e = NULL;

    if (ans->ttl == 0 || (ans->error && ans->error != -EHOSTUNREACH))
        return;
    for (size_t i = 0; i < dns->n_cache; i++)
        if (dns->cache[i].type == type && strcasecmp(dns->cache[i].name, name) == 0)
            e = &dns->cache[i];
    if (!e && dns->n_cache < SN_DNS_CACHE_MAX)
        e = &dns->cache[dns->n_cache++];
    if (!e) {
        /* Full: the entry closest to expiry makes room. */
        e = &dns->cache[0];
        for (size_t i = 1; i < dns->n_cache; i++)
            if (dns->cache[i].expires < e->expires)
                e = &dns->cache[i];
    }
    entry_clear(e);
    if (ans->n && !(e->ans.rr = malloc(ans->n * sizeof *ans->rr))) {
        /* Not cached: the answer still reaches its asker. */
        *e = dns->cache[--dns->n_cache];
        memset(&dns->cache[dns->n_cache], 0, sizeof dns->cache[0]);
        return;
    }
    if (ans->n)
        memcpy(e->ans.rr, ans->rr, ans->n * sizeof *ans->rr);
    e->ans.n = ans->n;
    e->ans.error = ans->error;
    e->ans.ttl = ans->ttl;
    e->type = type;
    snprintf(e->name, sizeof e->name, "%s", name);
    e->expires = sn_now_usec() + (uint64_t)ans->ttl * 1000000u;
}

void sn_dns_flush(sipnat_ctx *ctx)
{
    struct sn_dns *dns = dns_of(ctx);

    if (!dns)
        return;
    for (size_t i = 0; i < dns->n_cache; i++)
        entry_clear(&dns->cache[i]);
    dns->n_cache = 0;
}

void sn_dns_get_stats(sipnat_ctx *ctx, sn_dns_stats *out)
{
    struct sn_dns *dns = dns_of(ctx);

    memset(out, 0, sizeof *out);
    if (!dns)
        return;
    *out = dns->stats;
    out->cache_entries = dns->n_cache;
}

/* -- answers ---------------------------------------------------------------- */

static int status_error(int status)
{
    switch (status) {
    case ARES_SUCCESS:
        return 0;
    case ARES_ENODATA:
    case ARES_ENOTFOUND:
        return -EHOSTUNREACH;
    case ARES_ETIMEOUT:
        return -ETIMEDOUT;
    case ARES_ENOMEM:
        return -ENOMEM;
    case ARES_EDESTRUCTION:
    case ARES_ECANCELLED:
        return -ECANCELED;
    default: /* refused, server failure, bad response, connection refused */
        return -EPROTO;
    }
}

static bool name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;

    if (n == 0 || n >= SN_DNS_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f)
            return false;
    }
    return true;
}

static size_t parse_addrs(const unsigned char *buf, int len, int type,
                          sn_dns_rr *rr, long *ttl, int *st)
{
    struct ares_addrttl a4[SN_DNS_RR_MAX];
    struct ares_addr6ttl a6[SN_DNS_RR_MAX];
    int n = SN_DNS_RR_MAX;
    size_t k = 0;

    if (type == SN_DNS_T_A)
        *st = ares_parse_a_reply(buf, len, NULL, a4, &n);
    else
        *st = ares_parse_aaaa_reply(buf, len, NULL, a6, &n);
    if (*st != ARES_SUCCESS)
        return 0;
    for (int i = 0; i < n && k < SN_DNS_RR_MAX; i++, k++) {
        int t = type == SN_DNS_T_A ? a4[i].ttl : a6[i].ttl;
        memset(&rr[k], 0, sizeof rr[k]);
        if (type == SN_DNS_T_A) {
            rr[k].addr.family = AF_INET;
            memcpy(rr[k].addr.bytes, &a4[i].ipaddr, 4);
        } else {
            rr[k].addr.family = AF_INET6;
            memcpy(rr[k].addr.bytes, &a6[i].ip6addr, 16);
        }
        if (*ttl < 0 || t < *ttl)
            *ttl = t < 0 ? 0 : t;
    }
    return k;
}

static size_t parse_srv(const unsigned char *buf, int len, sn_dns_rr *rr, int *st)
{
    struct ares_srv_reply *list = NULL;
    size_t k = 0;

    *st = ares_parse_srv_reply(buf, len, &list);
    for (struct ares_srv_reply *s = list; s && k < SN_DNS_RR_MAX; s = s->next) {
        if (!name_ok(s->host) && strcmp(s->host, "") != 0)
            continue;
        memset(&rr[k], 0, sizeof rr[k]);
        rr[k].priority = s->priority;
        rr[k].weight = s->weight;
        rr[k].port = s->port;
        /* c-ares writes the root "." as an empty name. */
        snprintf(rr[k].name, sizeof rr[k].name, "%s", s->host[0] ? s->host : ".");
        k++;
    }
    if (list)
        ares_free_data(list);
    return k;
}

static size_t parse_naptr(const unsigned char *buf, int len, sn_dns_rr *rr, int *st)
{
    struct ares_naptr_reply *list = NULL;
    size_t k = 0;

    *st = ares_parse_naptr_reply(buf, len, &list);
    for (struct ares_naptr_reply *p = list; p && k < SN_DNS_RR_MAX; p = p->next) {
        if (strlen((char *)p->flags) >= sizeof rr[k].flags ||
            strlen((char *)p->service) >= sizeof rr[k].service ||
            !name_ok(p->replacement))
            continue; /* not one a SIP client can follow */
        memset(&rr[k], 0, sizeof rr[k]);
        rr[k].order = p->order;
        rr[k].preference = p->preference;
        snprintf(rr[k].flags, sizeof rr[k].flags, "%s", (char *)p->flags);
        snprintf(rr[k].service, sizeof rr[k].service, "%s", (char *)p->service);
        snprintf(rr[k].name, sizeof rr[k].name, "%s", p->replacement);
        k++;
    }
    if (list)
        ares_free_data(list);
    return k;
}

static unsigned clamp_ttl(long ttl, unsigned max)
{
    return ttl < 0 ? 0 : ttl > (long)max ? max : (unsigned)ttl;
}

static void on_answer(void *arg, int status, int timeouts, unsigned char *buf,
                      int len)
{
    question *q = arg;
    struct sn_dns *dns = q->dns;
    sn_dns_rr rr[SN_DNS_RR_MAX];
    sn_dns_answer ans = {.rr = rr};
    long ttl = -1;
    int st = status;

    (void)timeouts;
    dns->pending--;
    ans.error = status_error(status);
    if (status == ARES_SUCCESS && buf && len > 0) {
        if (q->type == SN_DNS_T_A || q->type == SN_DNS_T_AAAA)
            ans.n = parse_addrs(buf, len, q->type, rr, &ttl, &st);
        else if (q->type == SN_DNS_T_SRV)
            ans.n = parse_srv(buf, len, rr, &st);
        else
            ans.n = parse_naptr(buf, len, rr, &st);
        if (q->type == SN_DNS_T_SRV || q->type == SN_DNS_T_NAPTR)
            ttl = sn_dns_msg_ttl(buf, (size_t)len, q->type);
        ans.error = st == ARES_ENODATA ? -EHOSTUNREACH : status_error(st);
        if (ans.error == -EHOSTUNREACH)
            ttl = sn_dns_msg_ttl(buf, (size_t)len, q->type);
        ans.ttl = clamp_ttl(ttl, ans.error ? SN_DNS_NEG_TTL_MAX : SN_DNS_TTL_MAX);
    } else if (ans.error == -EHOSTUNREACH && buf && len > 0) {
        ans.ttl = clamp_ttl(sn_dns_msg_ttl(buf, (size_t)len, q->type),
                            SN_DNS_NEG_TTL_MAX);
    }
    if (ans.error == -ETIMEDOUT)
        dns->stats.timeouts++;
    else if (ans.error == -EPROTO)
        dns->stats.refused++;
    if (ans.error && ans.error != -ECANCELED)
        sn_log(dns->ctx, SIPNAT_LOG_DEBUG, "dns", "%s type %d: %s", q->name,
               q->type, ares_strerror(st));
    if (ans.error != -ECANCELED)
        cache_put(dns, q->name, q->type, &ans);
    q->cb(&ans, q->arg);
    free(q);
}

/* The hosts file first, as the system's resolver does: a local file,
 * read anew each time (no TTL to honour), never a wait on the network. */
static bool from_hosts_file(struct sn_dns *dns, const char *name, int type,
                            sn_dns_lookup_cb cb, void *arg)
{
    struct hostent *h = NULL;
    sn_dns_rr rr[8];
    sn_dns_answer ans = {.rr = rr};
    int fam = type == SN_DNS_T_A ? AF_INET : AF_INET6;

    if (ares_gethostbyname_file(dns->ch, name, fam, &h) != ARES_SUCCESS || !h)
        return false;
    for (size_t i = 0; h->h_addr_list[i] && ans.n < 8; i++) {
        if (h->h_addrtype != fam || h->h_length != (fam == AF_INET ? 4 : 16))
            break;
        memset(&rr[ans.n], 0, sizeof rr[0]);
        rr[ans.n].addr.family = fam;
        memcpy(rr[ans.n].addr.bytes, h->h_addr_list[i], (size_t)h->h_length);
        ans.n++;
    }
    ares_free_hostent(h);
    if (!ans.n)
        return false;
    cb(&ans, arg);
    return true;
}

void sn_dns_lookup(struct sn_dns *dns, const char *name, int type,
                   sn_dns_lookup_cb cb, void *arg)
{
    cache_entry *e;
    question *q;
    sn_dns_answer fail = {.error = -ENOMEM};

    if ((type == SN_DNS_T_A || type == SN_DNS_T_AAAA) && channel_open(dns) == 0 &&
        from_hosts_file(dns, name, type, cb, arg))
        return;
    if ((e = cache_find(dns, name, type)) != NULL) {
        dns->stats.cache_hits++;
        cb(&e->ans, arg);
        return;
    }
    if (dns->dying) {
        fail.error = -ECANCELED;
        cb(&fail, arg);
        return;
    }
    if ((fail.error = channel_open(dns)) < 0 || !(q = calloc(1, sizeof *q))) {
        cb(&fail, arg);
        return;
    }
    q->dns = dns;
    q->type = type;
    q->cb = cb;
    q->arg = arg;
    snprintf(q->name, sizeof q->name, "%s", name);
    dns->pending++;
    dns->stats.queries++;
    ares_query(dns->ch, name, 1 /* C_IN */, type, on_answer, q);
    rearm(dns);
    if (!dns->ctx->in_process)
        sn_loop_commit(dns->ctx);
}

/* -- lifetime and the host's settings ---------------------------------------- */

/* The ctx's last unref, after the transports (added first) finished:
 * its sockets leave the fd set and requests still waiting are dropped. */
static void dns_teardown(sn_source *src)
{
    struct sn_dns *dns = (struct sn_dns *)src;

    dns->dying = true;
    sn_dns_ops_detach_all(dns);
    channel_close(dns);
    sn_dns_flush(dns->ctx);
}

static void dns_release(sn_source *src)
{
    struct sn_dns *dns = (struct sn_dns *)src;

    free(dns->servers);
    free(dns);
}

/* ares_library_init() is not thread-safe and ctx may live in several
 * threads: once per process, never cleaned up (it holds nothing on
 * Linux). */
static pthread_once_t ares_once = PTHREAD_ONCE_INIT;
static int ares_init_status;

static void ares_init_once(void) { ares_init_status = ares_library_init(ARES_LIB_INIT_ALL); }

struct sn_dns *sn_dns_get(sipnat_ctx *ctx)
{
    struct sn_dns *dns = dns_of(ctx);

    if (dns)
        return dns;
    pthread_once(&ares_once, ares_init_once);
    if (ares_init_status != ARES_SUCCESS)
        return NULL;
    if (!(dns = calloc(1, sizeof *dns)))
        return NULL;
    dns->ctx = ctx;
    dns->timeout_ms = SN_DNS_TIMEOUT_MS;
    dns->tries = SN_DNS_TRIES;
    sn_timer_init(&dns->timer, on_timer, dns);
    if (getrandom(&dns->rnd, sizeof dns->rnd, 0) != sizeof dns->rnd)
        dns->rnd = sn_now_usec();
    dns->rnd |= 1;
    sn_source_add(ctx, &dns->src, &dns_ops);
    return dns;
}

/* "addr[:port]" or "[addr6]:port", comma-separated, at most 8. */
static bool servers_ok(const char *s)
{
    char buf[512], *save = NULL;
    unsigned n = 0;

    if (strlen(s) >= sizeof buf || !*s || s[0] == ',' ||
        s[strlen(s) - 1] == ',' || strstr(s, ",,"))
        return false;
    snprintf(buf, sizeof buf, "%s", s);
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char host[64];
        const char *port = NULL;
        sn_addr a;
        if (++n > 8)
            return false;
        if (tok[0] == '[') {
            char *end = strchr(tok, ']');
            if (!end || (end[1] && end[1] != ':'))
                return false;
            snprintf(host, sizeof host, "%.*s", (int)(end - tok - 1), tok + 1);
            port = end[1] ? end + 2 : NULL;
            if (sn_addr_parse(host, &a) < 0 || a.family != AF_INET6)
                return false;
        } else {
            char *colon = strchr(tok, ':');
            if (colon && strchr(colon + 1, ':')) {
                if (sn_addr_parse(tok, &a) < 0) /* bare IPv6, no port */
                    return false;
            } else {
                snprintf(host, sizeof host, "%.*s",
                         (int)(colon ? (size_t)(colon - tok) : strlen(tok)), tok);
                port = colon ? colon + 1 : NULL;
                if (sn_addr_parse(host, &a) < 0 || a.family != AF_INET)
                    return false;
            }
        }
        if (port) {
            char *end;
            unsigned long p = strtoul(port, &end, 10);
            if (!*port || *end || p < 1 || p > 65535)
                return false;
        }
    }
    return n > 0;
}

/* A changed setting applies to the next question: the channel is rebuilt
 * when idle; with questions out it cannot change (c-ares's rule). */
static int reopen(struct sn_dns *dns)
{
    if (dns->pending)
        return -EBUSY;
    channel_close(dns);
    sn_dns_flush(dns->ctx);
    return 0;
}

SIPNAT_API int sipnat_ctx_set_dns_servers(sipnat_ctx *ctx, const char *servers)
{
    struct sn_dns *dns;
    char *copy = NULL;
    int r;

    SN_RETURN_IF(!ctx || (servers && !servers_ok(servers)), -EINVAL);
    SN_RETURN_IF(ctx->in_callback && (dns = dns_of(ctx)) && dns->pending, -EBUSY);
    if (!(dns = sn_dns_get(ctx)))
        return -ENOMEM;
    if (servers && !(copy = strdup(servers)))
        return -ENOMEM;
    if ((r = reopen(dns)) < 0) {
        free(copy);
        return r;
    }
    free(dns->servers);
    dns->servers = copy;
    return 0;
}

SIPNAT_API int sipnat_ctx_set_dns_timeout(sipnat_ctx *ctx, unsigned timeout_ms,
                                          unsigned tries)
{
    struct sn_dns *dns;
    int r;

    SN_RETURN_IF(!ctx || timeout_ms < 10 || timeout_ms > 60000 || tries < 1 ||
                     tries > 10,
                 -EINVAL);
    if (!(dns = sn_dns_get(ctx)))
        return -ENOMEM;
    if ((r = reopen(dns)) < 0)
        return r;
    dns->timeout_ms = timeout_ms;
    dns->tries = tries;
    dns->timeout_set = true;
    return 0;
}
