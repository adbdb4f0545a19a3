/* libsipnat tests - names (lib/dns): RFC 3263 resolution against the
 * test's own DNS responder on 127.0.0.1, which answers crafted packets:
 * NAPTR/SRV/A for a working domain, and truncated messages, wrong ids,
 * huge SRV sets, CNAME and compression-pointer loops, garbage, silence.
 * The internals are hidden in the shared library, so this runner links
 * the static one. */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "dns/dns.h"
#include "dns/lookup.h"

/* -- a DNS message builder ------------------------------------------------ */

typedef struct msg {
    unsigned char b[8192];
    size_t n;
} msg;

static void put8(msg *m, unsigned v) { if (m->n < sizeof m->b) m->b[m->n++] = (unsigned char)v; }
static void put16(msg *m, unsigned v) { put8(m, v >> 8); put8(m, v & 0xff); }
static void put32(msg *m, unsigned long v) { put16(m, (unsigned)(v >> 16)); put16(m, (unsigned)(v & 0xffff)); }

static void put_name(msg *m, const char *name)
{
    while (*name) {
        size_t l = strcspn(name, ".");
        put8(m, (unsigned)l);
        for (size_t i = 0; i < l; i++)
            put8(m, (unsigned char)name[i]);
        name += l;
        if (*name == '.')
            name++;
    }
    put8(m, 0);
}

/* The header and question of an answer to `q`; counts are set later. */
static void begin(msg *m, const unsigned char *q, size_t qlen, size_t qend,
                  unsigned rcode)
{
    (void)qlen;
    memcpy(m->b, q, qend);
    m->n = qend;
    m->b[2] = 0x84 | (q[2] & 0x01); /* QR, AA, RD as asked */
    m->b[3] = 0x80 | (unsigned char)rcode;
    m->b[4] = 0, m->b[5] = 1;
    memset(m->b + 6, 0, 6);
}

static void set_counts(msg *m, unsigned an, unsigned ns)
{
    m->b[6] = (unsigned char)(an >> 8), m->b[7] = (unsigned char)an;
    m->b[8] = (unsigned char)(ns >> 8), m->b[9] = (unsigned char)ns;
}

/* A record owned by the question's name (a pointer to offset 12). */
static size_t rr_head(msg *m, unsigned type, unsigned long ttl)
{
    put16(m, 0xc00c);
    put16(m, type);
    put16(m, 1);
    put32(m, ttl);
    put16(m, 0); /* rdlength, patched by rr_end */
    return m->n;
}

static void rr_end(msg *m, size_t start)
{
    size_t len = m->n - start;
    m->b[start - 2] = (unsigned char)(len >> 8);
    m->b[start - 1] = (unsigned char)len;
}

static void rr_a(msg *m, const char *addr, unsigned long ttl)
{
    size_t s = rr_head(m, SN_DNS_T_A, ttl);
    struct in_addr a;
    inet_pton(AF_INET, addr, &a);
    memcpy(m->b + m->n, &a, 4);
    m->n += 4;
    rr_end(m, s);
}

static void rr_srv(msg *m, unsigned prio, unsigned weight, unsigned port,
                   const char *target, unsigned long ttl)
{
    size_t s = rr_head(m, SN_DNS_T_SRV, ttl);
    put16(m, prio);
    put16(m, weight);
    put16(m, port);
    put_name(m, target);
    rr_end(m, s);
}

static void rr_naptr(msg *m, unsigned order, unsigned pref, const char *flags,
                     const char *service, const char *replacement,
                     unsigned long ttl)
{
    size_t s = rr_head(m, SN_DNS_T_NAPTR, ttl);
    put16(m, order);
    put16(m, pref);
    put8(m, (unsigned)strlen(flags));
    for (const char *p = flags; *p; p++)
        put8(m, (unsigned char)*p);
    put8(m, (unsigned)strlen(service));
    for (const char *p = service; *p; p++)
        put8(m, (unsigned char)*p);
    put8(m, 0); /* regexp */
    put_name(m, replacement);
    rr_end(m, s);
}

static void rr_cname(msg *m, const char *target, unsigned long ttl)
{
    size_t s = rr_head(m, 5, ttl);
    put_name(m, target);
    rr_end(m, s);
}

static void rr_soa(msg *m, unsigned long ttl, unsigned long minimum)
{
    size_t s = rr_head(m, SN_DNS_T_SOA, ttl);
    put_name(m, "ns.test");
    put_name(m, "hostmaster.test");
    put32(m, 1), put32(m, 3600), put32(m, 600), put32(m, 86400);
    put32(m, minimum);
    rr_end(m, s);
}

/* -- the responder -------------------------------------------------------- */

typedef struct responder {
    int fd;
    int port;
    pthread_t thread;
    atomic_bool stop;
    atomic_uint n_queries;
    atomic_int gw1_ttl;     /* lets a test change gw1's answer */
    char gw1_addr[32];
    pthread_mutex_t lock;
} responder;

static bool qname_is(const char *qname, const char *name)
{
    return strcasecmp(qname, name) == 0;
}

/* Fills `m` with the answer to `qname`/`qtype`, or leaves m->n == 0 for
 * no answer at all. */
static void answer(responder *r, const unsigned char *q, size_t qlen,
                   size_t qend, const char *qname, unsigned qtype, msg *m)
{
    m->n = 0;
    if (qname_is(qname, "silent.test") || qname_is(qname, "_sip._udp.silent.test"))
        return;
    if (qname_is(qname, "wrongid.test")) {
        begin(m, q, qlen, qend, 0);
        m->b[0] ^= 0x5a; /* an id the resolver never sent */
        rr_naptr(m, 10, 10, "s", "SIP+D2U", "_sip._udp.example.test", 60);
        set_counts(m, 1, 0);
        return;
    }
    if (qname_is(qname, "truncated.test")) {
        begin(m, q, qlen, qend, 0);
        rr_naptr(m, 10, 10, "s", "SIP+D2U", "_sip._udp.example.test", 60);
        set_counts(m, 1, 0);
        m->n -= 9; /* cut inside the record */
        return;
    }
    if (qname_is(qname, "tc.test")) {
        /* Truncation flag: the resolver goes to TCP, where nobody listens. */
        begin(m, q, qlen, qend, 0);
        m->b[2] |= 0x02;
        return;
    }
    if (qname_is(qname, "garbage.test")) {
        begin(m, q, qlen, qend, 0);
        set_counts(m, 40, 40);
        for (int i = 0; i < 300; i++)
            put8(m, (unsigned)(i * 37 + 11));
        return;
    }
    if (qname_is(qname, "ptrloop.test")) {
        begin(m, q, qlen, qend, 0);
        set_counts(m, 1, 0);
        /* A name that points at itself. */
        size_t at = m->n;
        put16(m, 0xc000 | (unsigned)at);
        put16(m, qtype), put16(m, 1), put32(m, 60), put16(m, 4), put32(m, 0x7f000001);
        return;
    }
    if (qname_is(qname, "loop.test") || qname_is(qname, "loop2.test")) {
        /* An A question answered only by CNAMEs that point at each other. */
        begin(m, q, qlen, qend, 0);
        if (qtype == SN_DNS_T_A) {
            rr_cname(m, qname_is(qname, "loop.test") ? "loop2.test" : "loop.test", 60);
            /* and the other half of the loop, owned by the target */
            put_name(m, qname_is(qname, "loop.test") ? "loop2.test" : "loop.test");
            put16(m, 5), put16(m, 1), put32(m, 60);
            put16(m, 2); /* rdlength: the pointer below */
            put16(m, 0xc00c);
            set_counts(m, 2, 0);
        } else {
            rr_soa(m, 60, 60);
            set_counts(m, 0, 1);
        }
        return;
    }
    begin(m, q, qlen, qend, 0);
    if (qtype == SN_DNS_T_NAPTR && qname_is(qname, "example.test")) {
        /* TCP comes first by order, but we speak UDP: skipped. */
        rr_naptr(m, 5, 10, "s", "SIP+D2T", "_sip._tcp.example.test", 300);
        rr_naptr(m, 10, 10, "s", "SIP+D2U", "_sip._udp.example.test", 300);
        set_counts(m, 2, 0);
    } else if (qtype == SN_DNS_T_SRV && qname_is(qname, "_sip._udp.example.test")) {
        rr_srv(m, 20, 0, 5070, "gw2.example.test", 300);
        rr_srv(m, 10, 0, 5060, "gw1.example.test", 300);
        set_counts(m, 2, 0);
    } else if (qtype == SN_DNS_T_SRV && (qname_is(qname, "_sip._udp.huge.test") ||
                                         qname_is(qname, "_sip._udp.huger.test"))) {
        unsigned n = 0, count = qname_is(qname, "_sip._udp.huge.test") ? 40 : 200;
        for (unsigned i = 0; i < count; i++, n++) {
            char t[32];
            snprintf(t, sizeof t, "h%u.x", i % 7);
            rr_srv(m, 10 + i % 3, i % 5, 5000 + i, t, 300);
        }
        set_counts(m, n, 0);
    } else if (qtype == SN_DNS_T_SRV && qname_is(qname, "_sip._udp.gone.test")) {
        rr_srv(m, 0, 0, 0, "", 300); /* "." : no SIP here */
        set_counts(m, 1, 0);
    } else if (qtype == SN_DNS_T_A && qname_is(qname, "gw1.example.test")) {
        pthread_mutex_lock(&r->lock);
        rr_a(m, r->gw1_addr, (unsigned long)atomic_load(&r->gw1_ttl));
        pthread_mutex_unlock(&r->lock);
        set_counts(m, 1, 0);
    } else if (qtype == SN_DNS_T_A && qname_is(qname, "gw2.example.test")) {
        rr_a(m, "127.0.0.2", 300);
        rr_a(m, "127.0.0.3", 300);
        set_counts(m, 2, 0);
    } else if (qtype == SN_DNS_T_A && (qname_is(qname, "plain.test") ||
                                       (qname[0] == 'h' && strlen(qname) == 4 &&
                                        qname_is(qname + 2, ".x")))) {
        rr_a(m, "127.0.0.9", 120);
        set_counts(m, 1, 0);
    } else {
        /* NXDOMAIN with an SOA: a negative answer kept for 30 s. */
        m->b[3] = 0x80 | 3;
        rr_soa(m, 600, 30);
        set_counts(m, 0, 1);
    }
}

static void *responder_main(void *arg)
{
    responder *r = arg;
    unsigned char q[1500];
    msg *m = malloc(sizeof *m);

    while (!atomic_load(&r->stop)) {
        struct pollfd p = {.fd = r->fd, .events = POLLIN};
        struct sockaddr_storage from;
        socklen_t flen = sizeof from;
        char qname[256];
        size_t off = 12, k = 0;
        ssize_t n;

        if (poll(&p, 1, 20) <= 0)
            continue;
        n = recvfrom(r->fd, q, sizeof q, 0, (struct sockaddr *)&from, &flen);
        if (n < 17)
            continue;
        atomic_fetch_add(&r->n_queries, 1);
        while (off < (size_t)n && q[off] && k < sizeof qname - 70) {
            unsigned l = q[off++];
            if (k)
                qname[k++] = '.';
            for (unsigned i = 0; i < l && off < (size_t)n; i++)
                qname[k++] = (char)q[off++];
        }
        qname[k] = '\0';
        off++;
        if (off + 4 > (size_t)n)
            continue;
        unsigned qtype = (unsigned)q[off] << 8 | q[off + 1];
        answer(r, q, (size_t)n, off + 4, qname, qtype, m);
        if (m->n)
            sendto(r->fd, m->b, m->n, 0, (struct sockaddr *)&from, flen);
    }
    free(m);
    return NULL;
}

static void responder_start(responder *r)
{
    struct sockaddr_in sin = {.sin_family = AF_INET};
    socklen_t len = sizeof sin;

    memset(r, 0, sizeof *r);
    pthread_mutex_init(&r->lock, NULL);
    snprintf(r->gw1_addr, sizeof r->gw1_addr, "127.0.0.1");
    atomic_store(&r->gw1_ttl, 300);
    r->fd = socket(AF_INET, SOCK_DGRAM, 0);
    ck_assert_int_ge(r->fd, 0);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(r->fd, (struct sockaddr *)&sin, sizeof sin), 0);
    getsockname(r->fd, (struct sockaddr *)&sin, &len);
    r->port = ntohs(sin.sin_port);
    ck_assert_int_eq(pthread_create(&r->thread, NULL, responder_main, r), 0);
}

static void responder_stop(responder *r)
{
    atomic_store(&r->stop, true);
    pthread_join(r->thread, NULL);
    close(r->fd);
    pthread_mutex_destroy(&r->lock);
}

/* -- driving a ctx ---------------------------------------------------------- */

typedef struct got {
    bool done;
    sn_dns_result *res;
} got;

static void on_result(sn_dns_result *res, void *arg)
{
    got *g = arg;
    g->done = true;
    g->res = res;
}

static uint64_t now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Runs the ctx until g->done or `ms`; returns the longest process call
 * in microseconds. */
static uint64_t run(sipnat_ctx *ctx, got *g, int ms)
{
    uint64_t end = now_us() + (uint64_t)ms * 1000u, longest = 0;

    while (!g->done && now_us() < end) {
        struct pollfd p = {.fd = sipnat_ctx_get_fd(ctx), .events = POLLIN};
        int t;
        sipnat_ctx_get_timeout(ctx, &t);
        if (t < 0 || t > 50)
            t = 50;
        poll(&p, 1, t);
        uint64_t a = now_us();
        sipnat_ctx_process(ctx);
        uint64_t d = now_us() - a;
        if (d > longest)
            longest = d;
    }
    return longest;
}

static void log_line(sipnat_ctx *ctx, int priority, const char *domain,
                     const char *message, void *user_data)
{
    (void)ctx, (void)priority, (void)user_data;
    fprintf(stderr, "%s: %s\n", domain, message);
}

static sipnat_ctx *ctx_for(responder *r)
{
    sipnat_ctx *ctx;
    char servers[64];

    ck_assert_int_eq(sipnat_ctx_new(&ctx), 0);
    if (getenv("DNS_DEBUG")) {
        sipnat_ctx_set_log_func(ctx, log_line, NULL);
        sipnat_ctx_set_log_level(ctx, SIPNAT_LOG_DEBUG);
    }
    snprintf(servers, sizeof servers, "127.0.0.1:%d", r->port);
    ck_assert_int_eq(sipnat_ctx_set_dns_servers(ctx, servers), 0);
    ck_assert_int_eq(sipnat_ctx_set_dns_timeout(ctx, 150, 1), 0);
    return ctx;
}

static sn_dns_result *resolve(sipnat_ctx *ctx, const char *host, int port,
                              int ms, uint64_t *longest)
{
    sn_dns_req req = {0};
    sn_dns_query q = {.host = host, .port = port, .protocol = SIPNAT_PROTOCOL_UDP,
                      .family = AF_INET};
    got g = {0};
    uint64_t l;

    ck_assert_int_eq(sn_dns_resolve(ctx, &req, &q, on_result, &g), 0);
    /* Never answered inside the call that asked. */
    ck_assert(!g.done);
    l = run(ctx, &g, ms);
    if (longest)
        *longest = l;
    ck_assert_msg(g.done, "%s: no result in %d ms", host, ms);
    ck_assert(!sn_dns_busy(&req));
    return g.res;
}

/* -- tests -------------------------------------------------------------------- */

START_TEST(test_naptr_srv_a)
{
    responder r;
    sipnat_ctx *ctx;
    sn_dns_result *res;
    sn_dns_stats st;
    unsigned before;

    responder_start(&r);
    ctx = ctx_for(&r);
    res = resolve(ctx, "example.test", 0, 3000, NULL);
    ck_assert_int_eq(res->error, 0);
    /* gw1 (priority 10) first, then gw2's two addresses (priority 20). */
    ck_assert_uint_eq(res->n, 3);
    ck_assert_str_eq(res->t[0].addr, "127.0.0.1");
    ck_assert_int_eq(res->t[0].port, 5060);
    ck_assert_str_eq(res->t[0].host, "gw1.example.test");
    ck_assert_uint_eq(res->t[0].priority, 10);
    ck_assert_str_eq(res->t[1].addr, "127.0.0.2");
    ck_assert_int_eq(res->t[1].port, 5070);
    ck_assert_str_eq(res->t[2].addr, "127.0.0.3");
    ck_assert_str_eq(res->t[2].host, "gw2.example.test");
    ck_assert_uint_eq(res->ttl, 300);
    free(res);

    /* The same again comes from the cache: no query on the wire. */
    before = atomic_load(&r.n_queries);
    res = resolve(ctx, "example.test", 0, 1000, NULL);
    ck_assert_uint_eq(res->n, 3);
    ck_assert_uint_eq(atomic_load(&r.n_queries), before);
    free(res);
    sn_dns_get_stats(ctx, &st);
    ck_assert_uint_ge(st.cache_hits, 4);

    /* A port in the URI: A only, that port. A numeric host: no lookup. */
    res = resolve(ctx, "gw2.example.test", 5999, 1000, NULL);
    ck_assert_uint_eq(res->n, 2);
    ck_assert_int_eq(res->t[0].port, 5999);
    free(res);
    before = atomic_load(&r.n_queries);
    res = resolve(ctx, "192.0.2.7", 0, 1000, NULL);
    ck_assert_uint_eq(res->n, 1);
    ck_assert_str_eq(res->t[0].addr, "192.0.2.7");
    ck_assert_int_eq(res->t[0].port, 5060);
    ck_assert_uint_eq(atomic_load(&r.n_queries), before);
    free(res);

    /* No NAPTR, no SRV: the name's own A record on 5060. */
    res = resolve(ctx, "plain.test", 0, 1000, NULL);
    ck_assert_int_eq(res->error, 0);
    ck_assert_uint_eq(res->n, 1);
    ck_assert_str_eq(res->t[0].addr, "127.0.0.9");
    ck_assert_int_eq(res->t[0].port, 5060);
    free(res);

    /* No such name at all; and SRV "." (no SIP service there). */
    res = resolve(ctx, "nowhere.test", 0, 1000, NULL);
    ck_assert_int_eq(res->error, -EHOSTUNREACH);
    ck_assert_uint_eq(res->n, 0);
    free(res);
    res = resolve(ctx, "gone.test", 0, 1000, NULL);
    ck_assert_int_eq(res->error, -EHOSTUNREACH);
    free(res);

    sipnat_ctx_unref(ctx);
    responder_stop(&r);
}
END_TEST

START_TEST(test_ttl_followed)
{
    responder r;
    sipnat_ctx *ctx;
    sn_dns_result *res;

    responder_start(&r);
    atomic_store(&r.gw1_ttl, 1);
    ctx = ctx_for(&r);
    res = resolve(ctx, "gw1.example.test", 5060, 1000, NULL);
    ck_assert_str_eq(res->t[0].addr, "127.0.0.1");
    ck_assert_uint_eq(res->ttl, 1);
    free(res);
    pthread_mutex_lock(&r.lock);
    snprintf(r.gw1_addr, sizeof r.gw1_addr, "127.0.0.5");
    pthread_mutex_unlock(&r.lock);
    /* Within the TTL: the cached answer. */
    res = resolve(ctx, "gw1.example.test", 5060, 1000, NULL);
    ck_assert_str_eq(res->t[0].addr, "127.0.0.1");
    free(res);
    usleep(1100 * 1000);
    /* After it: the new address. */
    res = resolve(ctx, "gw1.example.test", 5060, 1000, NULL);
    ck_assert_str_eq(res->t[0].addr, "127.0.0.5");
    free(res);
    sipnat_ctx_unref(ctx);
    responder_stop(&r);
}
END_TEST

START_TEST(test_hostile)
{
    static const struct {
        const char *host;
        int port;
        int error;
    } cases[] = {
        {"truncated.test", 0, -EPROTO},   /* a record cut short */
        {"tc.test", 0, -EPROTO},          /* TC set, TCP refused */
        {"garbage.test", 0, -EPROTO},     /* counts that lie */
        {"ptrloop.test", 5060, -EPROTO},  /* name pointer to itself */
        {"wrongid.test", 0, -ETIMEDOUT},  /* answers nobody asked for */
        {"loop.test", 5060, -EHOSTUNREACH}, /* CNAME loop, no address */
        {"huger.test", 0, -EPROTO},       /* 200 SRV records: over the size asked */
    };
    responder r;
    sipnat_ctx *ctx;
    sn_dns_stats st;

    responder_start(&r);
    ctx = ctx_for(&r);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        sn_dns_result *res = resolve(ctx, cases[i].host, cases[i].port, 3000, NULL);
        ck_assert_msg(res->error == cases[i].error, "%s: %d, not %d", cases[i].host,
                      res->error, cases[i].error);
        ck_assert_uint_eq(res->n, 0);
        free(res);
    }
    sn_dns_get_stats(ctx, &st);
    ck_assert_uint_ge(st.refused, 4);
    ck_assert_uint_ge(st.timeouts, 1);

    /* 40 SRV records: ordered, cut to what a caller can use. */
    sn_dns_result *res = resolve(ctx, "huge.test", 0, 3000, NULL);
    ck_assert_int_eq(res->error, 0);
    ck_assert_uint_eq(res->n, SN_DNS_MAX_TARGETS);
    for (size_t i = 1; i < res->n; i++)
        ck_assert_uint_le(res->t[i - 1].priority, res->t[i].priority);
    free(res);
    sn_dns_get_stats(ctx, &st);
    ck_assert_uint_le(st.cache_entries, SN_DNS_CACHE_MAX);
    sipnat_ctx_unref(ctx);
    responder_stop(&r);
}
END_TEST

/* The DNS server drops every query: the resolution fails with a timeout,
 * and no process call waited for it (a blocking lookup would hold one
 * call for the whole resolver timeout). */
START_TEST(test_silent_server_never_blocks)
{
    responder r;
    sipnat_ctx *ctx;
    uint64_t longest = 0;
    sn_dns_result *res;

    responder_start(&r);
    ctx = ctx_for(&r);
    res = resolve(ctx, "silent.test", 0, 3000, &longest);
    ck_assert_int_eq(res->error, -ETIMEDOUT);
    ck_assert_uint_ge(atomic_load(&r.n_queries), 1);
    ck_assert_msg(longest < 10000, "a process call took %llu us",
                  (unsigned long long)longest);
    free(res);
    sipnat_ctx_unref(ctx);
    responder_stop(&r);
}
END_TEST

/* Cancelled requests never hear back; a ctx freed with questions out
 * tells the others -ECANCELED; nothing leaks (LSan). */
START_TEST(test_cancel_and_teardown)
{
    responder r;
    sipnat_ctx *ctx;
    sn_dns_req a = {0}, b = {0};
    sn_dns_query q = {.host = "silent.test", .protocol = SIPNAT_PROTOCOL_UDP,
                      .family = AF_INET};
    got ga = {0}, gb = {0};

    responder_start(&r);
    ctx = ctx_for(&r);
    ck_assert_int_eq(sn_dns_resolve(ctx, &a, &q, on_result, &ga), 0);
    ck_assert_int_eq(sn_dns_resolve(ctx, &a, &q, on_result, &ga), -EINVAL); /* busy */
    q.host = "example.test";
    ck_assert_int_eq(sn_dns_resolve(ctx, &b, &q, on_result, &gb), 0);
    sn_dns_cancel(&b);
    sn_dns_cancel(&b);
    ck_assert(!sn_dns_busy(&b));
    run(ctx, &gb, 50);
    ck_assert(!gb.done);
    /* Servers cannot change with a question out. */
    ck_assert_int_eq(sipnat_ctx_set_dns_servers(ctx, "127.0.0.1:53"), -EBUSY);
    /* The ctx going away tells the request still waiting. */
    sipnat_ctx_unref(ctx);
    ck_assert(ga.done);
    ck_assert_int_eq(ga.res->error, -ECANCELED);
    free(ga.res);
    ck_assert(!sn_dns_busy(&a));
    responder_stop(&r);
}
END_TEST

START_TEST(test_settings)
{
    sipnat_ctx *ctx;
    static const char *const bad[] = {"", "dns.example", "1.2.3.4:0", "1.2.3.4:65536",
                                      "[::1", "[1.2.3.4]:53", "1.2.3.4,,", "::1:53x",
                                      "1.2.3.4:53 ", "1,2,3,4,5,6,7,8,9"};

    ck_assert_int_eq(sipnat_ctx_new(&ctx), 0);
    ck_assert_int_eq(sipnat_ctx_set_dns_servers(NULL, "127.0.0.1"), -EINVAL);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(sipnat_ctx_set_dns_servers(ctx, bad[i]) == -EINVAL,
                      "accepted '%s'", bad[i]);
    ck_assert_int_eq(sipnat_ctx_set_dns_servers(ctx, "192.0.2.53,[2001:db8::53]:5353,198.51.100.53:53"), 0);
    ck_assert_int_eq(sipnat_ctx_set_dns_servers(ctx, NULL), 0);
    ck_assert_int_eq(sipnat_ctx_set_dns_timeout(ctx, 9, 1), -EINVAL);
    ck_assert_int_eq(sipnat_ctx_set_dns_timeout(ctx, 100, 0), -EINVAL);
    ck_assert_int_eq(sipnat_ctx_set_dns_timeout(ctx, 60001, 1), -EINVAL);
    ck_assert_int_eq(sipnat_ctx_set_dns_timeout(ctx, 100, 11), -EINVAL);
    ck_assert_int_eq(sipnat_ctx_set_dns_timeout(NULL, 100, 1), -EINVAL);
    ck_assert_int_eq(sipnat_ctx_set_dns_timeout(ctx, 500, 3), 0);
    sipnat_ctx_unref(ctx);
}
END_TEST

/* Identify by host name: resolved on the loop, and asked again when the
 * TTL runs out, so a changed A record is followed (public API only). */
START_TEST(test_identify_follows_ttl)
{
    responder r;
    sipnat_ctx *ctx;
    sipnat_transport_cfg *tc;
    sipnat_transport *t;
    sipnat_endpoint_cfg *ec;
    sipnat_endpoint *ep, *found = NULL;
    got never = {0};
    int i;

    responder_start(&r);
    atomic_store(&r.gw1_ttl, 1);
    ctx = ctx_for(&r);
    ck_assert_int_eq(sipnat_transport_cfg_new(&tc), 0);
    ck_assert_int_eq(sipnat_transport_cfg_set_bind(tc, "127.0.0.1", 0), 0);
    ck_assert_int_eq(sipnat_transport_new(&t, ctx, tc), 0);
    sipnat_transport_cfg_free(tc);
    ck_assert_int_eq(sipnat_endpoint_cfg_new(&ec), 0);
    ck_assert_int_eq(sipnat_endpoint_cfg_set_name(ec, "itsp"), 0);
    ck_assert_int_eq(sipnat_endpoint_cfg_add_match(ec, "gw1.example.test"), 0);
    ck_assert_int_eq(sipnat_endpoint_new(&ep, t, ec), 0);
    sipnat_endpoint_cfg_free(ec);
    /* Nothing before the answer: the lookup never blocked the call. */
    ck_assert_int_eq(sipnat_transport_identify(t, "127.0.0.1", &found), -ENOENT);
    for (i = 0; i < 100 && sipnat_transport_identify(t, "127.0.0.1", &found) != 0; i++)
        run(ctx, &never, 20);
    ck_assert_ptr_eq(found, ep);
    pthread_mutex_lock(&r.lock);
    snprintf(r.gw1_addr, sizeof r.gw1_addr, "127.0.0.5");
    pthread_mutex_unlock(&r.lock);
    /* TTL 1 s: the new address within a little more than that. */
    for (i = 0; i < 150 && sipnat_transport_identify(t, "127.0.0.5", &found) != 0; i++)
        run(ctx, &never, 20);
    ck_assert_msg(i < 150, "the changed record was not followed");
    ck_assert_ptr_eq(found, ep);
    ck_assert_int_eq(sipnat_transport_identify(t, "127.0.0.1", &found), -ENOENT);
    sipnat_endpoint_unref(ep);
    sipnat_transport_unref(t);
    sipnat_ctx_unref(ctx);
    responder_stop(&r);
}
END_TEST

static uint32_t lcg(void *arg)
{
    uint64_t *s = arg;
    *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (uint32_t)(*s >> 33);
}

START_TEST(test_srv_order)
{
    uint64_t seed = 42;
    unsigned first[3] = {0, 0, 0};

    for (int round = 0; round < 2000; round++) {
        sn_dns_srv v[5] = {
            {.priority = 20, .weight = 1, .port = 1, .target = "c"},
            {.priority = 10, .weight = 90, .port = 2, .target = "a90"},
            {.priority = 10, .weight = 0, .port = 3, .target = "a0"},
            {.priority = 10, .weight = 10, .port = 4, .target = "a10"},
            {.priority = 30, .weight = 0, .port = 5, .target = "d"},
        };
        sn_dns_srv_order(v, 5, lcg, &seed);
        /* Priorities never mix. */
        ck_assert_uint_eq(v[0].priority, 10);
        ck_assert_uint_eq(v[2].priority, 10);
        ck_assert_str_eq(v[3].target, "c");
        ck_assert_str_eq(v[4].target, "d");
        first[v[0].port - 2]++;
    }
    /* RFC 2782: chosen in proportion to weight (90:10, zero rarely). */
    ck_assert_msg(first[0] > 1650 && first[0] < 1950, "90: %u", first[0]);
    ck_assert_msg(first[2] > 120 && first[2] < 320, "10: %u", first[2]);
    ck_assert_msg(first[1] < 40, "0: %u", first[1]);
}
END_TEST

START_TEST(test_msg_ttl)
{
    msg m;
    unsigned char q[64];
    size_t qend;

    memset(q, 0, sizeof q);
    q[5] = 1;
    {
        msg t = {.n = 12};
        memcpy(t.b, q, 12);
        put_name(&t, "example.test");
        put16(&t, SN_DNS_T_SRV);
        put16(&t, 1);
        qend = t.n;
        memcpy(q, t.b, qend);
    }
    begin(&m, q, qend, qend, 0);
    rr_srv(&m, 10, 0, 5060, "a.test", 300);
    rr_srv(&m, 10, 0, 5060, "b.test", 120);
    rr_a(&m, "127.0.0.1", 5);
    set_counts(&m, 3, 0);
    ck_assert_int_eq(sn_dns_msg_ttl(m.b, m.n, SN_DNS_T_SRV), 120);
    ck_assert_int_eq(sn_dns_msg_ttl(m.b, m.n, SN_DNS_T_A), 5);
    /* Every prefix of the message: never beyond it, never a crash. */
    for (size_t cut = 0; cut < m.n; cut++) {
        long v = sn_dns_msg_ttl(m.b, cut, SN_DNS_T_SRV);
        ck_assert(v == -1 || v == 300 || v == 120);
    }
    /* A TTL with the top bit set counts as zero (RFC 2181). */
    begin(&m, q, qend, qend, 0);
    rr_srv(&m, 10, 0, 5060, "a.test", 0x80000000UL);
    set_counts(&m, 1, 0);
    ck_assert_int_eq(sn_dns_msg_ttl(m.b, m.n, SN_DNS_T_SRV), 0);
    /* Negative: min(SOA TTL, MINIMUM). */
    begin(&m, q, qend, qend, 3);
    rr_soa(&m, 600, 30);
    set_counts(&m, 0, 1);
    ck_assert_int_eq(sn_dns_msg_ttl(m.b, m.n, SN_DNS_T_SRV), 30);
    /* Counts far beyond the bytes present. */
    set_counts(&m, 65535, 65535);
    ck_assert_int_le(sn_dns_msg_ttl(m.b, m.n, SN_DNS_T_SRV), 30);
    ck_assert_int_eq(sn_dns_msg_ttl(NULL, 0, SN_DNS_T_SRV), -1);
}
END_TEST

static Suite *dns_suite(void)
{
    Suite *s = suite_create("dns");
    TCase *tc = tcase_create("resolve");

    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_msg_ttl);
    tcase_add_test(tc, test_srv_order);
    tcase_add_test(tc, test_settings);
    tcase_add_test(tc, test_naptr_srv_a);
    tcase_add_test(tc, test_ttl_followed);
    tcase_add_test(tc, test_hostile);
    tcase_add_test(tc, test_silent_server_never_blocks);
    tcase_add_test(tc, test_cancel_and_teardown);
    tcase_add_test(tc, test_identify_follows_ttl);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(dns_suite());
    int failed;

    srunner_run_all(sr, CK_VERBOSE);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
