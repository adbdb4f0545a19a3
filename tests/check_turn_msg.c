/* libsipnat tests - TURN messages (RFC 8656, lib/stun/message.c): the
 * Allocate and its 401 round, the long-term key (RFC 8489 9.2.2:
 * MD5(username ":" realm ":" password)) checked against a server side
 * written here with OpenSSL, signed and forged answers, Send and Data
 * indications, and malformed ones (each refused). Part of check_stun. */
#include "stun/message.h"

#include <check.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#define USER "sipnat"
#define PASS "relay-secret"
#define REALM "lab.test"
#define NONCE "a1b2c3d4e5f6"

/* -- a TURN server's side of the wire ---------------------------------- */

typedef struct msg {
    uint8_t b[512];
    size_t n;
} msg;

static void put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void start(msg *m, unsigned type, const uint8_t *tid_from)
{
    memset(m, 0, sizeof *m);
    put16(m->b, type);
    memcpy(m->b + 4, tid_from + 4, 16); /* cookie and transaction ID */
    m->n = 20;
}

static void attr(msg *m, unsigned type, const void *v, size_t len)
{
    put16(m->b + m->n, type);
    put16(m->b + m->n + 2, (unsigned)len);
    memcpy(m->b + m->n + 4, v, len);
    m->n += 4 + ((len + 3) & ~(size_t)3);
    put16(m->b + 2, (unsigned)(m->n - 20));
}

static void xor_addr(msg *m, unsigned type, const char *ip, unsigned port)
{
    uint8_t v[8] = {0, 1};
    struct in_addr a;

    inet_pton(AF_INET, ip, &a);
    put16(v + 2, port ^ 0x2112);
    memcpy(v + 4, &a, 4);
    for (int i = 0; i < 4; i++)
        v[4 + i] ^= m->b[4 + i];
    attr(m, type, v, sizeof v);
}

static void long_term_key(uint8_t key[16])
{
    unsigned n = 16;
    const char *s = USER ":" REALM ":" PASS;

    ck_assert(EVP_Digest(s, strlen(s), key, &n, EVP_md5(), NULL));
}

/* MESSAGE-INTEGRITY over everything before it, length counting it. */
static void sign(msg *m, const uint8_t key[16])
{
    uint8_t mac[20];
    unsigned n = 20;

    put16(m->b + 2, (unsigned)(m->n - 20 + 24));
    ck_assert_ptr_nonnull(HMAC(EVP_sha1(), key, 16, m->b, m->n, mac, &n));
    attr(m, 0x0008, mac, 20);
}

static const uint8_t *find(const uint8_t *b, size_t n, unsigned type, size_t *len)
{
    size_t off = 20;

    while (off + 4 <= n) {
        unsigned t = (unsigned)(b[off] << 8 | b[off + 1]);
        size_t l = (size_t)b[off + 2] << 8 | b[off + 3];
        if (t == type) {
            *len = l;
            return b + off + 4;
        }
        off += 4 + ((l + 3) & ~(size_t)3);
    }
    return NULL;
}

static int answer_401(sn_turn_stun *a, const uint8_t *req, sn_turn_answer *ans)
{
    msg m;
    uint8_t err[4 + 12] = {0, 0, 4, 1};

    memcpy(err + 4, "Unauthorized", 12);
    start(&m, 0x0113, req);
    attr(&m, 0x0009, err, sizeof err);
    attr(&m, 0x0014, REALM, strlen(REALM));
    attr(&m, 0x0015, NONCE, strlen(NONCE));
    return sn_turn_stun_response(a, m.b, m.n, ans);
}

/* The Allocate round: unauthenticated, 401 with realm and nonce, then
 * signed with the long-term key, answered with the relayed address. */
START_TEST(test_turn_allocate)
{
    sn_turn_stun *a;
    sn_turn_answer ans;
    uint8_t buf[SN_TURN_REQ_MAX], key[SN_STUN_KEY_LEN], ltk[16];
    sn_turn_req req = {.method = SN_TURN_ALLOCATE, .lifetime = 600};
    size_t len;
    const uint8_t *v;
    int n;

    ck_assert_int_eq(sn_turn_stun_new(&a), 0);
    n = sn_turn_stun_request(a, &req, buf, sizeof buf, key);
    ck_assert_int_gt(n, 20);
    ck_assert_int_eq(buf[0] << 8 | buf[1], 0x0003);
    v = find(buf, (size_t)n, 0x0019, &len); /* REQUESTED-TRANSPORT: UDP */
    ck_assert(v && len == 4 && v[0] == 17);
    ck_assert_ptr_null(find(buf, (size_t)n, 0x0008, &len)); /* not signed yet */
    ck_assert_int_eq(answer_401(a, buf, &ans), 0);
    ck_assert_int_eq(ans.error, 401);
    ck_assert_str_eq(ans.realm, REALM);
    ck_assert_str_eq(ans.nonce, NONCE);
    /* Answered once: a second copy answers nothing. */
    ck_assert_int_eq(answer_401(a, buf, &ans), -ESRCH);

    req.user = USER;
    req.pwd = PASS;
    req.realm = REALM;
    req.nonce = NONCE;
    n = sn_turn_stun_request(a, &req, buf, sizeof buf, key);
    ck_assert_int_gt(n, 20);
    v = find(buf, (size_t)n, 0x0006, &len);
    ck_assert(v && len == strlen(USER) && memcmp(v, USER, len) == 0);
    ck_assert_ptr_nonnull(find(buf, (size_t)n, 0x0014, &len));
    ck_assert_ptr_nonnull(find(buf, (size_t)n, 0x0015, &len));
    /* The server's check of our MESSAGE-INTEGRITY, with its own key. */
    long_term_key(ltk);
    v = find(buf, (size_t)n, 0x0008, &len);
    ck_assert(v && len == 20);
    {
        uint8_t copy[SN_TURN_REQ_MAX], mac[20];
        unsigned ml = 20;
        size_t upto = (size_t)(v - 4 - buf);
        memcpy(copy, buf, upto);
        put16(copy + 2, (unsigned)(upto - 20 + 24));
        HMAC(EVP_sha1(), ltk, 16, copy, upto, mac, &ml);
        ck_assert_mem_eq(mac, v, 20);
    }
    /* A success signed with another key: refused, still pending. */
    msg m;
    uint8_t wrong[16];
    memcpy(wrong, ltk, 16);
    wrong[0] ^= 1;
    start(&m, 0x0103, buf);
    xor_addr(&m, 0x0016, "203.0.113.3", 49160);
    sign(&m, wrong);
    ck_assert_int_eq(sn_turn_stun_response(a, m.b, m.n, &ans), -EACCES);
    /* Unsigned: refused too. */
    start(&m, 0x0103, buf);
    xor_addr(&m, 0x0016, "203.0.113.3", 49160);
    ck_assert_int_eq(sn_turn_stun_response(a, m.b, m.n, &ans), -EACCES);
    /* The genuine one. */
    uint8_t life[4] = {0, 0, 0x02, 0x58};
    start(&m, 0x0103, buf);
    xor_addr(&m, 0x0016, "203.0.113.3", 49160);
    xor_addr(&m, 0x0020, "198.51.100.5", 24818);
    attr(&m, 0x000D, life, 4);
    sign(&m, ltk);
    ck_assert_int_eq(sn_turn_stun_response(a, m.b, m.n, &ans), 0);
    ck_assert_int_eq(ans.error, 0);
    ck_assert_int_eq(ans.method, SN_TURN_ALLOCATE);
    ck_assert(ans.have_relayed && ans.have_mapped);
    const struct sockaddr_in *r4 = (const struct sockaddr_in *)&ans.relayed;
    const struct sockaddr_in *m4 = (const struct sockaddr_in *)&ans.mapped;
    ck_assert_int_eq(ntohs(r4->sin_port), 49160);
    ck_assert_uint_eq(ntohl(r4->sin_addr.s_addr), 0xCB007103u);
    ck_assert_int_eq(ntohs(m4->sin_port), 24818);
    ck_assert_uint_eq(ans.lifetime, 600);
    sn_turn_stun_free(a);
}
END_TEST

/* CreatePermission with several peers and ChannelBind carry what they
 * must; bad arguments are refused before anything is built. */
START_TEST(test_turn_requests)
{
    sn_turn_stun *a;
    uint8_t buf[SN_TURN_REQ_MAX], key[SN_STUN_KEY_LEN];
    struct sockaddr_in p1 = {.sin_family = AF_INET, .sin_port = htons(4000)};
    struct sockaddr_in p2 = p1;
    sn_turn_req req = {.method = SN_TURN_PERMISSION, .lifetime = -1, .user = USER,
                       .pwd = PASS, .realm = REALM, .nonce = NONCE};
    size_t len, off;
    int n, peers = 0;

    inet_pton(AF_INET, "198.51.100.7", &p1.sin_addr);
    inet_pton(AF_INET, "10.0.0.20", &p2.sin_addr);
    req.peers[0] = (const struct sockaddr *)&p1;
    req.peers[1] = (const struct sockaddr *)&p2;
    req.n_peers = 2;
    ck_assert_int_eq(sn_turn_stun_new(&a), 0);
    n = sn_turn_stun_request(a, &req, buf, sizeof buf, key);
    ck_assert_int_gt(n, 0);
    ck_assert_int_eq(buf[0] << 8 | buf[1], 0x0008);
    for (off = 20; off + 4 <= (size_t)n; off += 4 + ((len + 3) & ~(size_t)3)) {
        len = (size_t)buf[off + 2] << 8 | buf[off + 3];
        peers += (buf[off] << 8 | buf[off + 1]) == 0x0012;
    }
    ck_assert_int_eq(peers, 2);
    sn_turn_stun_forget(a, key);

    req.method = SN_TURN_CHANNEL_BIND;
    req.n_peers = 1;
    req.channel = 0x4000;
    n = sn_turn_stun_request(a, &req, buf, sizeof buf, key);
    ck_assert_int_gt(n, 0);
    const uint8_t *v = find(buf, (size_t)n, 0x000C, &len);
    ck_assert(v && len == 4 && v[0] == 0x40 && v[1] == 0x00);
    sn_turn_stun_forget(a, key);

    req.channel = 0x3FFF; /* below the channel range */
    ck_assert_int_eq(sn_turn_stun_request(a, &req, buf, sizeof buf, key), -EINVAL);
    req.channel = 0x4000;
    req.n_peers = SN_TURN_MAX_PEERS + 1;
    ck_assert_int_eq(sn_turn_stun_request(a, &req, buf, sizeof buf, key), -EINVAL);
    req.n_peers = 1;
    ck_assert_int_eq(sn_turn_stun_request(a, &req, buf, 16, key), -ENOSPC);
    sn_turn_stun_free(a);
}
END_TEST

/* A Send indication, read back as the server would relay its DATA: the
 * same bytes as a Data indication give the peer and the payload; broken
 * ones are refused. */
START_TEST(test_turn_indications)
{
    sn_turn_stun *a;
    uint8_t buf[256], bad[256];
    struct sockaddr_in peer = {.sin_family = AF_INET, .sin_port = htons(37955)};
    struct sockaddr_storage got;
    const uint8_t *data;
    size_t dlen;
    int n;

    inet_pton(AF_INET, "198.51.100.7", &peer.sin_addr);
    ck_assert_int_eq(sn_turn_stun_new(&a), 0);
    n = sn_turn_stun_send(a, buf, sizeof buf, (const struct sockaddr *)&peer,
                          (const uint8_t *)"hello", 5);
    ck_assert_int_gt(n, 20);
    ck_assert_int_eq(buf[0] << 8 | buf[1], 0x0016);
    /* A Send indication is not a Data indication. */
    ck_assert_int_eq(sn_turn_stun_data(a, buf, (size_t)n, &got, &data, &dlen), -EBADMSG);
    buf[1] = 0x17;
    ck_assert_int_eq(sn_turn_stun_data(a, buf, (size_t)n, &got, &data, &dlen), 0);
    ck_assert_uint_eq(dlen, 5);
    ck_assert_mem_eq(data, "hello", 5);
    ck_assert_int_eq(ntohs(((struct sockaddr_in *)&got)->sin_port), 37955);
    ck_assert_uint_eq(((struct sockaddr_in *)&got)->sin_addr.s_addr, peer.sin_addr.s_addr);
    /* Truncated, a length beyond the datagram, no DATA, no peer: each
     * refused. */
    ck_assert_int_eq(sn_turn_stun_data(a, buf, (size_t)n - 4, &got, &data, &dlen), -EBADMSG);
    memcpy(bad, buf, (size_t)n);
    put16(bad + 2, (unsigned)(n - 20 + 8));
    ck_assert_int_eq(sn_turn_stun_data(a, bad, (size_t)n, &got, &data, &dlen), -EBADMSG);
    msg m;
    start(&m, 0x0017, buf);
    xor_addr(&m, 0x0012, "198.51.100.7", 37955);
    ck_assert_int_eq(sn_turn_stun_data(a, m.b, m.n, &got, &data, &dlen), -EBADMSG);
    start(&m, 0x0017, buf);
    attr(&m, 0x0013, "hello", 5);
    ck_assert_int_eq(sn_turn_stun_data(a, m.b, m.n, &got, &data, &dlen), -EBADMSG);
    /* An answer to nothing of ours. */
    sn_turn_answer ans;
    start(&m, 0x0103, buf);
    ck_assert_int_eq(sn_turn_stun_response(a, m.b, m.n, &ans), -ESRCH);
    /* A request is no answer. */
    start(&m, 0x0003, buf);
    ck_assert_int_eq(sn_turn_stun_response(a, m.b, m.n, &ans), -EBADMSG);
    ck_assert_int_eq(sn_turn_stun_send(a, buf, 40, (const struct sockaddr *)&peer,
                                       (const uint8_t *)"hello", 5),
                     -ENOSPC);
    sn_turn_stun_free(a);
}
END_TEST

TCase *turn_msg_tcase(void);
TCase *turn_msg_tcase(void)
{
    TCase *tc = tcase_create("turn");

    tcase_add_test(tc, test_turn_allocate);
    tcase_add_test(tc, test_turn_requests);
    tcase_add_test(tc, test_turn_indications);
    return tc;
}
