/* libsipnat tests - the ICE agent (lib/ice/agent.c): two agents checking
 * against each other over an in-memory network with a clock of its own,
 * where a test decides which paths carry packets (a NAT that drops, an
 * attacker that sprays), and what each side ends up with is asserted:
 * the selected pair, the roles, consent, refusals. */
#include "ice/agent.h"
#include "stun/message.h"

#include <check.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#define ck_assert_ok(expr) ck_assert_int_eq((expr), 0)

#define MAX_SOCKS 8
#define MAX_QUEUE 256

/* A socket of the network: its address, and which agent's base it is. */
typedef struct sock {
    char addr[48];
    uint16_t port;
    int agent; /* 0 A, 1 B, 2 the attacker (no agent) */
    int base;
} sock;

typedef struct dgram {
    int from, to; /* socket indexes */
    uint8_t buf[512];
    size_t len;
} dgram;

typedef struct net {
    sock socks[MAX_SOCKS];
    int n_socks;
    bool blocked[MAX_SOCKS][MAX_SOCKS]; /* from, to */
    dgram q[MAX_QUEUE];
    int head, tail;
    sn_ice_agent *agents[2];
    uint64_t now;
    unsigned to_attacker; /* datagrams an agent sent to the attacker */
} net;

typedef struct sender {
    net *n;
    int agent;
} sender;

static int sock_at(const net *n, const struct sockaddr *sa)
{
    const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
    char a[48];

    if (sa->sa_family != AF_INET)
        return -1;
    inet_ntop(AF_INET, &in->sin_addr, a, sizeof a);
    for (int i = 0; i < n->n_socks; i++)
        if (!strcmp(n->socks[i].addr, a) && n->socks[i].port == ntohs(in->sin_port))
            return i;
    return -1;
}

static int sock_of_base(const net *n, int agent, int base)
{
    for (int i = 0; i < n->n_socks; i++)
        if (n->socks[i].agent == agent && n->socks[i].base == base)
            return i;
    return -1;
}

static void enqueue(net *n, int from, int to, const uint8_t *buf, size_t len)
{
    dgram *d;

    if (to < 0 || n->blocked[from][to] || (n->tail + 1) % MAX_QUEUE == n->head)
        return;
    d = &n->q[n->tail];
    n->tail = (n->tail + 1) % MAX_QUEUE;
    d->from = from;
    d->to = to;
    ck_assert_uint_le(len, sizeof d->buf);
    memcpy(d->buf, buf, len);
    d->len = len;
}

static void on_send(int base, const struct sockaddr *to, const uint8_t *buf, size_t len,
                    void *ud)
{
    sender *s = ud;
    int from = sock_of_base(s->n, s->agent, base), t = sock_at(s->n, to);

    ck_assert_int_ge(from, 0);
    if (t >= 0 && s->n->socks[t].agent == 2)
        s->n->to_attacker++;
    enqueue(s->n, from, t, buf, len);
}

static void sockaddr_of(const sock *k, struct sockaddr_in *sa)
{
    memset(sa, 0, sizeof *sa);
    sa->sin_family = AF_INET;
    sa->sin_port = htons(k->port);
    inet_pton(AF_INET, k->addr, &sa->sin_addr);
}

/* Deliver what is queued, and run both agents' timers, until `until`. */
static void run(net *n, uint64_t until)
{
    while (n->now < until) {
        while (n->head != n->tail) {
            dgram d = n->q[n->head];
            n->head = (n->head + 1) % MAX_QUEUE;
            const sock *to = &n->socks[d.to];
            struct sockaddr_in from;
            sockaddr_of(&n->socks[d.from], &from);
            if (to->agent < 2)
                sn_ice_receive(n->agents[to->agent], to->base, (struct sockaddr *)&from,
                               d.buf, d.len, n->now);
        }
        for (int i = 0; i < 2; i++)
            if (n->agents[i])
                sn_ice_tick(n->agents[i], n->now);
        n->now += 10000; /* 10 ms steps */
    }
}

static int add_sock(net *n, const char *addr, uint16_t port, int agent, int base)
{
    sock *k = &n->socks[n->n_socks];

    snprintf(k->addr, sizeof k->addr, "%s", addr);
    k->port = port;
    k->agent = agent;
    k->base = base;
    return n->n_socks++;
}

static sn_ice_cand cand(const char *found, sn_ice_ctype type, const char *addr, uint16_t port,
                        unsigned local_pref)
{
    sn_ice_cand c;

    memset(&c, 0, sizeof c);
    snprintf(c.foundation, sizeof c.foundation, "%s", found);
    c.component = 1;
    c.type = type;
    ck_assert_ok(sn_addr_parse(addr, &c.addr));
    c.port = port;
    c.priority = sn_ice_priority(sn_ice_type_pref(type), local_pref, 1);
    return c;
}

static sender senders[2];

static void agents(net *n, bool a_controls, bool b_controls)
{
    static const char *const ufrag[2] = {"AAAA", "BBBB"};
    static const char *const pwd[2] = {"aaaaaaaaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbbbb"};

    for (int i = 0; i < 2; i++) {
        sn_ice_cfg cfg = {.controlling = i == 0 ? a_controls : b_controls,
                          .tie_breaker = i == 0 ? 0x1111111111111111ULL : 0x2222222222222222ULL,
                          .ufrag = ufrag[i],
                          .pwd = pwd[i],
                          .send = on_send,
                          .user_data = &senders[i]};
        senders[i] = (sender){n, i};
        ck_assert_ok(sn_ice_agent_new(&n->agents[i], &cfg));
    }
    ck_assert_ok(sn_ice_set_remote_credentials(n->agents[0], ufrag[1], pwd[1]));
    ck_assert_ok(sn_ice_set_remote_credentials(n->agents[1], ufrag[0], pwd[0]));
}

/* Both sides learn the other's candidates as SDP would carry them. */
static void exchange(net *n, const sn_ice_cand *ca, size_t na, const int *ba,
                     const sn_ice_cand *cb, size_t nb, const int *bb)
{
    for (size_t i = 0; i < na; i++) {
        ck_assert_ok(sn_ice_add_local(n->agents[0], &ca[i], ba[i]));
        ck_assert_ok(sn_ice_add_remote(n->agents[1], &ca[i]));
    }
    for (size_t i = 0; i < nb; i++) {
        ck_assert_ok(sn_ice_add_local(n->agents[1], &cb[i], bb[i]));
        ck_assert_ok(sn_ice_add_remote(n->agents[0], &cb[i]));
    }
    ck_assert_ok(sn_ice_start(n->agents[0], n->now));
    ck_assert_ok(sn_ice_start(n->agents[1], n->now));
}

static void done(net *n)
{
    sn_ice_agent_free(n->agents[0]);
    sn_ice_agent_free(n->agents[1]);
}

static void ck_selected(net *n, int agent, int want_base, const char *want_remote,
                        uint16_t want_port)
{
    struct sockaddr_storage ss;
    int base = -1;
    char a[48];

    ck_assert_int_eq(sn_ice_get_state(n->agents[agent]), SN_ICE_CONNECTED);
    ck_assert_ok(sn_ice_selected(n->agents[agent], 1, &base, &ss, NULL, NULL));
    ck_assert_int_eq(base, want_base);
    inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, a, sizeof a);
    ck_assert_str_eq(a, want_remote);
    ck_assert_uint_eq(ntohs(((struct sockaddr_in *)&ss)->sin_port), want_port);
}

/* A at a_addr:5000 and B at b_addr:6000, each with its host candidate
 * only; both started. The sockets' indexes in *ah, *bh. */
static void two_hosts(net *n, const char *a_addr, const char *b_addr, bool a_controls,
                      bool b_controls, int *ah, int *bh)
{
    int base0 = 0;

    *ah = add_sock(n, a_addr, 5000, 0, 0);
    *bh = add_sock(n, b_addr, 6000, 1, 0);
    agents(n, a_controls, b_controls);
    sn_ice_cand a = cand("1", SN_ICE_HOST, a_addr, 5000, 65535);
    sn_ice_cand b = cand("1", SN_ICE_HOST, b_addr, 6000, 65535);
    exchange(n, &a, 1, &base0, &b, 1, &base0);
}

/* Host candidates that reach each other: the host pair, both sides. */
START_TEST(test_host_pair)
{
    net n = {0};
    int ah, bh;
    two_hosts(&n, "192.0.2.10", "192.0.2.20", true, false, &ah, &bh);
    run(&n, 2000000);
    ck_selected(&n, 0, 0, "192.0.2.20", 6000);
    ck_selected(&n, 1, 0, "192.0.2.10", 5000);
    ck_assert(sn_ice_is_controlling(n.agents[0]));
    ck_assert(!sn_ice_is_controlling(n.agents[1]));
    sn_ice_stats st;
    sn_ice_get_stats(n.agents[0], &st);
    ck_assert_uint_gt(st.checks_sent, 0);
    ck_assert_uint_eq(st.refused, 0);
    done(&n);
}
END_TEST

/* Only the relayed path works (host to host is dropped, as between two
 * symmetric NATs): the pair through the relay is the one selected, on
 * both sides, although the host pair has the higher priority. */
START_TEST(test_relay_only)
{
    net n = {0};
    int ah = add_sock(&n, "192.0.2.10", 5000, 0, 0);   /* A's host */
    int ar = add_sock(&n, "203.0.113.3", 49170, 0, 1); /* A's relayed address */
    int bh = add_sock(&n, "10.0.0.20", 6000, 1, 0);    /* B's host */
    n.blocked[ah][bh] = n.blocked[bh][ah] = true;
    (void)ar;
    agents(&n, true, false);
    sn_ice_cand ac[2] = {cand("1", SN_ICE_HOST, "192.0.2.10", 5000, 65535),
                         cand("2", SN_ICE_RELAY, "203.0.113.3", 49170, 65535)};
    int ab[2] = {0, 1};
    sn_ice_cand b = cand("1", SN_ICE_HOST, "10.0.0.20", 6000, 65535);
    int bb = 0;
    exchange(&n, ac, 2, ab, &b, 1, &bb);
    run(&n, 6000000);
    ck_selected(&n, 0, 1, "10.0.0.20", 6000);
    ck_selected(&n, 1, 0, "203.0.113.3", 49170);
    sn_ice_cand lc;
    ck_assert_ok(sn_ice_selected(n.agents[0], 1, NULL, NULL, &lc, NULL));
    ck_assert_int_eq(lc.type, SN_ICE_RELAY);
    done(&n);
}
END_TEST

/* A peer-reflexive candidate: B's checks come from a NAT mapping it
 * never signalled (only its host address was in the SDP). A learns the
 * source from the check and answers through it. */
START_TEST(test_peer_reflexive)
{
    net n = {0};
    int ah = add_sock(&n, "198.51.100.1", 5000, 0, 0);
    int bh = add_sock(&n, "10.0.0.20", 6000, 1, 0);
    agents(&n, false, true); /* B controls this time */
    sn_ice_cand a = cand("1", SN_ICE_HOST, "198.51.100.1", 5000, 65535);
    /* B signals a candidate that does not exist on the network... */
    sn_ice_cand b = cand("1", SN_ICE_HOST, "10.9.9.9", 6000, 65535);
    int base0 = 0;
    (void)ah;
    (void)bh;
    exchange(&n, &a, 1, &base0, &b, 1, &base0);
    /* ... so only B's own checks, from 10.0.0.20:6000, can open the way. */
    run(&n, 6000000);
    ck_selected(&n, 0, 0, "10.0.0.20", 6000);
    ck_selected(&n, 1, 0, "198.51.100.1", 5000);
    sn_ice_cand rc;
    ck_assert_ok(sn_ice_selected(n.agents[0], 1, NULL, NULL, NULL, &rc));
    ck_assert_int_eq(rc.type, SN_ICE_PRFLX);
    done(&n);
}
END_TEST

/* Both sides think they control: the 487 and the tie-breakers settle it
 * (RFC 8445 7.3.1.1), and the call connects with one controlling side. */
START_TEST(test_role_conflict)
{
    net n = {0};
    int ah, bh;
    two_hosts(&n, "192.0.2.10", "192.0.2.20", true, true, &ah, &bh);
    run(&n, 3000000);
    ck_assert_int_eq(sn_ice_get_state(n.agents[0]), SN_ICE_CONNECTED);
    ck_assert_int_eq(sn_ice_get_state(n.agents[1]), SN_ICE_CONNECTED);
    /* B's tie-breaker is larger: B keeps control, A yields. */
    ck_assert(!sn_ice_is_controlling(n.agents[0]));
    ck_assert(sn_ice_is_controlling(n.agents[1]));
    sn_ice_stats st;
    sn_ice_get_stats(n.agents[0], &st);
    ck_assert_uint_ge(st.role_conflicts, 1);
    done(&n);
}
END_TEST

/* An attacker next to A sprays checks without credentials, with a wrong
 * password, forged answers, and RTP at A's candidate during the checks:
 * nothing is answered (so nothing of the pair leaks), each is refused and
 * counted, and the selected pair is the genuine one. */
START_TEST(test_attacker)
{
    net n = {0};
    int ah, bh;
    two_hosts(&n, "192.0.2.10", "192.0.2.20", true, false, &ah, &bh);
    int x = add_sock(&n, "198.51.100.66", 4444, 2, 0);

    /* Checks as the attacker can make them: it knows A's ufrag (it may
     * have seen the SDP) but not A's password. */
    sn_ice_stun *xs;
    ck_assert_ok(sn_ice_stun_new(&xs));
    uint8_t buf[256], key[SN_STUN_KEY_LEN], rtp[172] = {0x80, 0x00};
    int sent = 0;
    for (int i = 0; i < 50; i++) {
        int len = sn_ice_stun_check(xs, buf, sizeof buf, "AAAA:BBBB",
                                    "wrongwrongwrongwrongwr", true, false, 1, 7, key);
        ck_assert_int_gt(len, 0);
        sn_ice_stun_forget(xs, key);
        enqueue(&n, x, ah, buf, (size_t)len);
        /* A forged answer: a Binding success that answers nothing. */
        uint8_t forged[32] = {0x01, 0x01, 0x00, 0x0c, 0x21, 0x12, 0xa4, 0x42};
        forged[8] = (uint8_t)i;
        forged[20] = 0x00;
        forged[21] = 0x20;
        forged[23] = 0x08;
        enqueue(&n, x, ah, forged, sizeof forged);
        enqueue(&n, x, ah, rtp, sizeof rtp);
        sent += 2;
        run(&n, n.now + 20000);
    }
    /* Without USERNAME at all. */
    uint8_t bare[20] = {0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42, 9};
    enqueue(&n, x, ah, bare, sizeof bare);
    sent++;
    run(&n, 3000000);
    ck_selected(&n, 0, 0, "192.0.2.20", 6000);
    ck_assert_uint_eq(n.to_attacker, 0);
    sn_ice_stats st;
    sn_ice_get_stats(n.agents[0], &st);
    ck_assert_uint_ge(st.refused, (unsigned)sent);
    /* The RTP was not STUN: the agent left it to the anchor. */
    struct sockaddr_in from;
    sockaddr_of(&n.socks[x], &from);
    ck_assert_int_eq(sn_ice_receive(n.agents[0], 0, (struct sockaddr *)&from, rtp, sizeof rtp,
                                    n.now),
                     0);
    sn_ice_stun_free(xs);
    done(&n);
}
END_TEST

/* Consent (RFC 7675): once the path stops answering, the selected pair
 * loses consent within 30 s, and checking stops: DISCONNECTED. */
START_TEST(test_consent_lost)
{
    net n = {0};
    int ah, bh;
    two_hosts(&n, "192.0.2.10", "192.0.2.20", true, false, &ah, &bh);
    run(&n, 2000000);
    ck_assert_int_eq(sn_ice_get_state(n.agents[0]), SN_ICE_CONNECTED);
    /* 20 s more with the path open: consent is refreshed. */
    run(&n, 22000000);
    ck_assert_int_eq(sn_ice_get_state(n.agents[0]), SN_ICE_CONNECTED);
    n.blocked[bh][ah] = true;
    run(&n, 22000000 + 23000000);
    ck_assert_int_eq(sn_ice_get_state(n.agents[0]), SN_ICE_CONNECTED);
    run(&n, 22000000 + 31000000);
    ck_assert_int_eq(sn_ice_get_state(n.agents[0]), SN_ICE_DISCONNECTED);
    done(&n);
}
END_TEST

/* Nothing gets through: FAILED, within the agent's timeout. */
START_TEST(test_no_path)
{
    net n = {0};
    int ah, bh;
    two_hosts(&n, "192.0.2.10", "10.0.0.20", true, false, &ah, &bh);
    n.blocked[ah][bh] = n.blocked[bh][ah] = true;
    run(&n, SN_ICE_TIMEOUT_USEC + 100000);
    ck_assert_int_eq(sn_ice_get_state(n.agents[0]), SN_ICE_FAILED);
    ck_assert_int_eq(sn_ice_get_state(n.agents[1]), SN_ICE_FAILED);
    ck_assert_int_eq(sn_ice_selected(n.agents[0], 1, NULL, NULL, NULL, NULL), -ENOENT);
    done(&n);
}
END_TEST

/* A check whose USERNAME makes the reply larger than the buffer given
 * is refused with -ENOSPC (libnice's reply builder would abort the
 * process: found by fuzz-stun), and answered when the buffer is
 * SN_ICE_REPLY_MAX, which holds the reply to any check RFC 8445 allows. */
START_TEST(test_long_username)
{
    sn_ice_stun *a, *b;
    uint8_t check[768], out[SN_ICE_REPLY_MAX], key[SN_STUN_KEY_LEN];
    char user[520];
    struct sockaddr_in from = {.sin_family = AF_INET, .sin_port = htons(4000)};
    sn_ice_request req;
    bool controlling = false;
    size_t out_len;
    int n;

    ck_assert_ok(sn_ice_stun_new(&a));
    ck_assert_ok(sn_ice_stun_new(&b));
    inet_pton(AF_INET, "192.0.2.9", &from.sin_addr);
    /* "AAAA:" and 256 characters of the peer's fragment. */
    memcpy(user, "AAAA:", 5);
    memset(user + 5, 'z', 256);
    user[261] = '\0';
    n = sn_ice_stun_check(b, check, sizeof check, user, "aaaaaaaaaaaaaaaaaaaaaa", false, true,
                          1, 9, key);
    ck_assert_int_gt(n, 261);
    out_len = 256;
    ck_assert_int_eq(sn_ice_stun_answer(a, check, (size_t)n, "AAAA", "aaaaaaaaaaaaaaaaaaaaaa",
                                        (struct sockaddr *)&from, &controlling, 7, out,
                                        &out_len, &req),
                     -ENOSPC);
    out_len = sizeof out;
    ck_assert_int_eq(sn_ice_stun_answer(a, check, (size_t)n, "AAAA", "aaaaaaaaaaaaaaaaaaaaaa",
                                        (struct sockaddr *)&from, &controlling, 7, out,
                                        &out_len, &req),
                     0);
    ck_assert_uint_gt(out_len, 261);
    sn_ice_stun_free(a);
    sn_ice_stun_free(b);
}
END_TEST

/* The API refuses what it cannot use. */
START_TEST(test_agent_refuses)
{
    sn_ice_agent *a;
    sn_ice_cfg cfg = {.ufrag = "abc", .pwd = "aaaaaaaaaaaaaaaaaaaaaa", .send = on_send};

    ck_assert_int_eq(sn_ice_agent_new(&a, &cfg), -EINVAL); /* ufrag too short */
    cfg.ufrag = "abcd";
    ck_assert_ok(sn_ice_agent_new(&a, &cfg));
    ck_assert_int_eq(sn_ice_start(a, 0), -EINVAL); /* no remote credentials */
    ck_assert_int_eq(sn_ice_set_remote_credentials(a, "x", "y"), -EINVAL);
    ck_assert_ok(sn_ice_set_remote_credentials(a, "wxyz", "bbbbbbbbbbbbbbbbbbbbbb"));
    ck_assert_int_eq(sn_ice_start(a, 0), -ENOENT); /* no pair */
    sn_ice_agent_free(a);
}
END_TEST

void ice_agent_tests(Suite *s);

void ice_agent_tests(Suite *s)
{
    TCase *tc = tcase_create("agent");

    tcase_add_test(tc, test_host_pair);
    tcase_add_test(tc, test_relay_only);
    tcase_add_test(tc, test_peer_reflexive);
    tcase_add_test(tc, test_role_conflict);
    tcase_add_test(tc, test_attacker);
    tcase_add_test(tc, test_consent_lost);
    tcase_add_test(tc, test_no_path);
    tcase_add_test(tc, test_agent_refuses);
    tcase_add_test(tc, test_long_username);
    tcase_set_timeout(tc, 30);
    suite_add_tcase(s, tc);
}
