/*
 * libsipnat - STUN Binding client (see stun.h), on libnice's STUN codec.
 */
#include "stun/stun.h"
#include "media/rtp.h"

#include <stun/stunagent.h>
#include <stun/usages/bind.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define SN_STUN_HDR 20

_Static_assert(SN_STUN_KEY_LEN == sizeof(StunTransactionId),
               "libnice files transactions by cookie and ID");

struct sn_stun {
    unsigned n_ref;
    sipnat_ctx *ctx;
    sn_sockaddr server;
    char name[SIPNAT_ADDRSTRLEN + 8];
    StunAgent agent;
    sn_stun_stats st;
};

/* What a response may carry that we must understand (RFC 8489 14: the
 * comprehension-required range); the list must outlive the agent. */
static const uint16_t known_attributes[] = {
    STUN_ATTRIBUTE_MAPPED_ADDRESS, STUN_ATTRIBUTE_XOR_MAPPED_ADDRESS,
    STUN_ATTRIBUTE_USERNAME,       STUN_ATTRIBUTE_MESSAGE_INTEGRITY,
    STUN_ATTRIBUTE_ERROR_CODE,     STUN_ATTRIBUTE_UNKNOWN_ATTRIBUTES,
    0,
};

int sn_stun_new(sn_stun **ret, sipnat_ctx *ctx, const char *address, int port)
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
    struct sockaddr_storage ss;
    socklen_t n = sn_addr_to_sockaddr(&a, port, &ss);
    memcpy(&s->server, &ss, n);
    snprintf(s->name, sizeof s->name, a.family == AF_INET6 ? "[%s]:%d" : "%s:%d",
             address, port);
    /* libnice's STUN debugging prints to stderr when on: keep it off. */
    stun_debug_disable();
    /* RFC 5389 is RFC 8489's wire format; no credentials on a Binding
     * to a server (RFC 8489 9: the server need not authenticate). */
    stun_agent_init(&s->agent, known_attributes, STUN_COMPATIBILITY_RFC5389,
                    STUN_AGENT_USAGE_USE_FINGERPRINT |
                        STUN_AGENT_USAGE_IGNORE_CREDENTIALS);
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
    if (s && --s->n_ref == 0)
        free(s);
}

const sn_sockaddr *sn_stun_server(const sn_stun *s)
{
    return &s->server;
}

const char *sn_stun_server_name(const sn_stun *s)
{
    return s->name;
}

void sn_stun_get_stats(const sn_stun *s, sn_stun_stats *out)
{
    *out = s->st;
}

bool sn_stun_looks_like(const uint8_t *buf, size_t len)
{
    return sn_rtp_is_stun(buf, len);
}

int sn_stun_build_request(sn_stun *s, const uint8_t *tid, uint8_t *buf,
                          size_t size)
{
    StunMessage msg;
    size_t n;

    SN_RETURN_IF(size < 64, -ENOSPC);
    if (!stun_agent_init_request(&s->agent, &msg, buf, size, STUN_BINDING))
        return -ENOMEM;
    if (tid)
        memcpy(buf + 8, tid, SN_STUN_TID_LEN);
    /* Adds the FINGERPRINT and files the transaction in the agent (its
     * 200 slots are freed by a matching response or by forgetting). */
    n = stun_agent_finish_message(&s->agent, &msg, NULL, 0);
    return n ? (int)n : -ENOBUFS;
}

static void forget(sn_stun_binding *b)
{
    if (b->pending)
        stun_agent_forget_transaction(&b->stun->agent, b->key);
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
    n = sn_stun_build_request(s, NULL, buf, sizeof buf);
    if (n < 0)
        return n;
    memcpy(b->key, buf + 4, SN_STUN_KEY_LEN);
    b->pending = true;
    s->st.requests++;
    if (sendto(b->fd, buf, (size_t)n, MSG_DONTWAIT, &s->server.sa,
               sn_sockaddr_len(&s->server)) < 0) {
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

int sn_stun_binding_take(sn_stun_binding *b, const uint8_t *buf, size_t len,
                         const sn_sockaddr *from)
{
    sn_stun *s = b->stun;
    StunMessage msg;
    struct sockaddr_storage mapped, alt;
    socklen_t mlen = sizeof mapped, alen = sizeof alt;

    if (!s)
        return -ESRCH;
    if (!sn_sockaddr_equal(from, &s->server))
        return refuse(s, -EPERM, "not from the server");
    if (!b->pending)
        return refuse(s, -ESRCH, "no request in flight");
    if (len < SN_STUN_HDR || memcmp(buf + 4, b->key, SN_STUN_KEY_LEN) != 0)
        return refuse(s, -ESRCH, "answers no request of this socket");
    switch (stun_agent_validate(&s->agent, &msg, buf, len, NULL, NULL)) {
    case STUN_VALIDATION_SUCCESS:
        break;
    case STUN_VALIDATION_UNMATCHED_RESPONSE:
        return refuse(s, -ESRCH, "answers no request of ours");
    case STUN_VALIDATION_UNKNOWN_ATTRIBUTE:
        return refuse(s, -EPROTO, "unknown comprehension-required attribute");
    default:
        return refuse(s, -EBADMSG, "malformed, or its FINGERPRINT is wrong");
    }
    if (stun_message_get_method(&msg) != STUN_BINDING)
        return refuse(s, -EPROTO, "not a Binding response");
    /* The agent took the transaction: it is answered, whatever follows. */
    b->pending = false;
    if (stun_usage_bind_process(&msg, (struct sockaddr *)&mapped, &mlen,
                                (struct sockaddr *)&alt, &alen) !=
            STUN_USAGE_BIND_RETURN_SUCCESS ||
        (mapped.ss_family != AF_INET && mapped.ss_family != AF_INET6)) {
        /* An error response (ALTERNATE-SERVER included: we ask one server)
         * or a success without a mapped address. */
        s->st.refused++;
        sn_log(s->ctx, SIPNAT_LOG_NOTICE, "stun",
               "%s answered without a mapped address (error response?)",
               s->name);
        sn_ctx_timer_arm(s->ctx, &b->timer, SN_STUN_REFRESH_USEC);
        if (!b->settled)
            report(b, false);
        return -EPROTO;
    }
    sn_sockaddr m;
    memset(&m, 0, sizeof m);
    memcpy(&m, &mapped, mlen < sizeof m ? mlen : sizeof m);
    bool changed = !b->have_mapped || !sn_sockaddr_equal(&m, &b->mapped);
    b->mapped = m;
    b->have_mapped = true;
    b->learned_at = time(NULL);
    b->tries = 0;
    s->st.responses++;
    sn_ctx_timer_arm(s->ctx, &b->timer, SN_STUN_REFRESH_USEC);
    if (!b->settled || changed)
        report(b, true);
    return 1;
}

/* Short-term credential: the key is the password itself (RFC 8489
 * 9.1.1); libnice asks for it through this function. */
static bool password_of(StunAgent *agent, StunMessage *message,
                        uint8_t *username, uint16_t username_len,
                        uint8_t **password, size_t *password_len, void *ud)
{
    (void)agent;
    (void)message;
    (void)username;
    (void)username_len;
    *password = (uint8_t *)ud;
    *password_len = strlen(ud);
    return true;
}

int sn_stun_check_request(const uint8_t *buf, size_t len, const char *password,
                          char *user, size_t user_size)
{
    StunAgent *agent;
    StunMessage msg;
    uint16_t ulen = 0;
    int r = 0;

    SN_RETURN_IF(!buf || !password || !user || user_size == 0, -EINVAL);
    user[0] = '\0';
    if (!sn_stun_looks_like(buf, len))
        return -EBADMSG;
    agent = malloc(sizeof *agent); /* 11 KB: not on the stack */
    if (!agent)
        return -ENOMEM;
    stun_agent_init(agent, known_attributes, STUN_COMPATIBILITY_RFC5389,
                    STUN_AGENT_USAGE_SHORT_TERM_CREDENTIALS |
                        STUN_AGENT_USAGE_USE_FINGERPRINT);
    switch (stun_agent_validate(agent, &msg, buf, len, password_of,
                                (void *)password)) {
    case STUN_VALIDATION_SUCCESS:
        break;
    case STUN_VALIDATION_UNAUTHORIZED:
    case STUN_VALIDATION_UNAUTHORIZED_BAD_REQUEST:
        r = -EACCES;
        break;
    default:
        r = -EBADMSG;
        break;
    }
    if (r == 0 && stun_message_get_class(&msg) != STUN_REQUEST)
        r = -EBADMSG;
    if (r == 0) {
        const void *u = stun_message_find(&msg, STUN_ATTRIBUTE_USERNAME, &ulen);
        if (u && ulen < user_size) {
            memcpy(user, u, ulen);
            user[ulen] = '\0';
        }
    }
    free(agent);
    return r;
}
