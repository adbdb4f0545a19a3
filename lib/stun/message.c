/*
 * libsipnat - STUN messages on libnice's STUN codec (see message.h).
 */
#include "stun/message.h"

#include <stun/stunagent.h>
#include <stun/usages/bind.h>
#include <stun/usages/ice.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

_Static_assert(SN_STUN_KEY_LEN == sizeof(StunTransactionId),
               "libnice files transactions by cookie and ID");

struct sn_stun_agent {
    StunAgent agent;
};

/* What a response may carry that we must understand (RFC 8489 14: the
 * comprehension-required range); the list must outlive the agent. */
static const uint16_t known_attributes[] = {
    STUN_ATTRIBUTE_MAPPED_ADDRESS, STUN_ATTRIBUTE_XOR_MAPPED_ADDRESS,
    STUN_ATTRIBUTE_USERNAME,       STUN_ATTRIBUTE_MESSAGE_INTEGRITY,
    STUN_ATTRIBUTE_ERROR_CODE,     STUN_ATTRIBUTE_UNKNOWN_ATTRIBUTES,
    0,
};

/* A connectivity check may also carry ICE's (RFC 8445 16.1). */
static const uint16_t request_attributes[] = {
    STUN_ATTRIBUTE_USERNAME,      STUN_ATTRIBUTE_MESSAGE_INTEGRITY,
    STUN_ATTRIBUTE_PRIORITY,      STUN_ATTRIBUTE_USE_CANDIDATE,
    0,
};

int sn_stun_request(sn_stun_agent *a, const uint8_t *tid, uint8_t *buf,
                    size_t size, uint8_t key[SN_STUN_KEY_LEN]);

int sn_stun_agent_new(sn_stun_agent **ret)
{
    return sn_stun_agent_new_fp(ret, true);
}

int sn_stun_agent_new_fp(sn_stun_agent **ret, bool fingerprint)
{
    sn_stun_agent *a = calloc(1, sizeof *a);

    *ret = NULL;
    if (!a)
        return -ENOMEM;
    /* libnice's STUN debugging prints to stderr when on: keep it off. */
    stun_debug_disable();
    /* RFC 5389 is RFC 8489's wire format; no credentials on a Binding
     * to a server (RFC 8489 9: the server need not authenticate). */
    stun_agent_init(&a->agent, known_attributes, STUN_COMPATIBILITY_RFC5389,
                    (fingerprint ? STUN_AGENT_USAGE_USE_FINGERPRINT : 0) |
                        STUN_AGENT_USAGE_IGNORE_CREDENTIALS);
    /* sofia-sip exports a stun_message_length() of its own, and libnice
     * calls its one through the PLT: whichever library comes first in the
     * process's lookup order wins. With sofia's, no message can be
     * finished. Found out here, once, rather than per request. */
    uint8_t buf[128], key[SN_STUN_KEY_LEN];
    if (sn_stun_request(a, NULL, buf, sizeof buf, key) < 0) {
        free(a);
        return -ELIBBAD;
    }
    sn_stun_forget(a, key);
    *ret = a;
    return 0;
}

void sn_stun_agent_free(sn_stun_agent *a)
{
    free(a);
}

int sn_stun_request(sn_stun_agent *a, const uint8_t *tid, uint8_t *buf,
                    size_t size, uint8_t key[SN_STUN_KEY_LEN])
{
    StunMessage msg;
    size_t n;

    if (size < 64)
        return -ENOSPC;
    if (!stun_agent_init_request(&a->agent, &msg, buf, size, STUN_BINDING))
        return -ENOMEM;
    if (tid)
        memcpy(buf + 8, tid, SN_STUN_TID_LEN);
    /* Adds the FINGERPRINT and files the transaction (its slot is freed
     * by the matching response or by sn_stun_forget). */
    n = stun_agent_finish_message(&a->agent, &msg, NULL, 0);
    if (!n)
        return -ENOBUFS;
    memcpy(key, buf + 4, SN_STUN_KEY_LEN);
    return (int)n;
}

static void forget(StunAgent *agent, const uint8_t key[SN_STUN_KEY_LEN])
{
    StunTransactionId id;

    memcpy(id, key, sizeof id);
    stun_agent_forget_transaction(agent, id);
}

void sn_stun_forget(sn_stun_agent *a, const uint8_t key[SN_STUN_KEY_LEN])
{
    forget(&a->agent, key);
}

int sn_stun_response(sn_stun_agent *a, const uint8_t *buf, size_t len,
                     struct sockaddr_storage *mapped)
{
    StunMessage msg;
    struct sockaddr_storage alt;
    socklen_t slen = sizeof *mapped, alen = sizeof alt;

    switch (stun_agent_validate(&a->agent, &msg, buf, len, NULL, NULL)) {
    case STUN_VALIDATION_SUCCESS:
        break;
    case STUN_VALIDATION_UNMATCHED_RESPONSE:
        return -ESRCH;
    case STUN_VALIDATION_UNKNOWN_ATTRIBUTE:
        return -EPROTO;
    default:
        return -EBADMSG;
    }
    /* Validated: the agent took the transaction off its list. */
    if (stun_message_get_method(&msg) != STUN_BINDING)
        return -EPROTO;
    /* An error response (ALTERNATE-SERVER too: we ask one server) or a
     * success without an address. */
    memset(mapped, 0, sizeof *mapped);
    if (stun_usage_bind_process(&msg, (struct sockaddr *)mapped, &slen,
                                (struct sockaddr *)&alt, &alen) !=
            STUN_USAGE_BIND_RETURN_SUCCESS ||
        (mapped->ss_family != AF_INET && mapped->ss_family != AF_INET6))
        return -EPROTO;
    return 0;
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

    if (!buf || !password || !user || user_size == 0)
        return -EINVAL;
    user[0] = '\0';
    agent = calloc(1, sizeof *agent); /* 11 KB: not on the stack */
    if (!agent)
        return -ENOMEM;
    stun_agent_init(agent, request_attributes, STUN_COMPATIBILITY_RFC5389,
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
    /* A connectivity check is a Binding request (RFC 8445 7.2.2); any
     * other method, however well signed, is not one. */
    if (r == 0 && (stun_message_get_class(&msg) != STUN_REQUEST ||
                   stun_message_get_method(&msg) != STUN_BINDING))
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

/* -- ICE connectivity checks ------------------------------------------- */

/* What a check or its answer may carry (RFC 8445 16.1, RFC 8489 14). */
static const uint16_t ice_attributes[] = {
    STUN_ATTRIBUTE_USERNAME,        STUN_ATTRIBUTE_MESSAGE_INTEGRITY,
    STUN_ATTRIBUTE_XOR_MAPPED_ADDRESS, STUN_ATTRIBUTE_MAPPED_ADDRESS,
    STUN_ATTRIBUTE_ERROR_CODE,      STUN_ATTRIBUTE_UNKNOWN_ATTRIBUTES,
    STUN_ATTRIBUTE_PRIORITY,        STUN_ATTRIBUTE_USE_CANDIDATE,
    0,
};

struct sn_ice_stun {
    StunAgent checks;  /* our checks in flight (their keys: the peer's pwd) */
    StunAgent answers; /* the peer's checks (short-term credentials) */
};

int sn_ice_stun_new(sn_ice_stun **ret)
{
    sn_ice_stun *a = calloc(1, sizeof *a);

    *ret = NULL;
    if (!a)
        return -ENOMEM;
    stun_debug_disable();
    /* Answers to our checks: the key is the one we signed with (libnice
     * files it with the transaction); not SHORT_TERM_CREDENTIALS, which
     * would also ask answers for a USERNAME that RFC 8445 does not put
     * there (baresip and browsers leave it out). */
    stun_agent_init(&a->checks, ice_attributes, STUN_COMPATIBILITY_RFC5389,
                    STUN_AGENT_USAGE_USE_FINGERPRINT);
    stun_agent_init(&a->answers, ice_attributes, STUN_COMPATIBILITY_RFC5389,
                    STUN_AGENT_USAGE_SHORT_TERM_CREDENTIALS |
                        STUN_AGENT_USAGE_USE_FINGERPRINT);
    *ret = a;
    return 0;
}

void sn_ice_stun_free(sn_ice_stun *a)
{
    free(a);
}

int sn_ice_stun_check(sn_ice_stun *a, uint8_t *buf, size_t size, const char *user,
                      const char *pwd, bool nominate, bool controlling,
                      uint32_t priority, uint64_t tie, uint8_t key[SN_STUN_KEY_LEN])
{
    StunMessage msg;
    size_t n;

    if (!a || !buf || !user || !pwd || !key)
        return -EINVAL;
    if (size < 160)
        return -ENOSPC;
    n = stun_usage_ice_conncheck_create(&a->checks, &msg, buf, size, (const uint8_t *)user,
                                        strlen(user), (const uint8_t *)pwd, strlen(pwd),
                                        nominate, controlling, priority, tie, NULL,
                                        STUN_USAGE_ICE_COMPATIBILITY_RFC5245);
    if (!n)
        return -ENOBUFS;
    memcpy(key, buf + 4, SN_STUN_KEY_LEN);
    return (int)n;
}

void sn_ice_stun_forget(sn_ice_stun *a, const uint8_t key[SN_STUN_KEY_LEN])
{
    forget(&a->checks, key);
}

/* How libnice judged an answer to one of our signed requests. */
static int answer_errno(StunValidationStatus v)
{
    switch (v) {
    case STUN_VALIDATION_SUCCESS:
        return 0;
    case STUN_VALIDATION_UNMATCHED_RESPONSE:
        return -ESRCH;
    case STUN_VALIDATION_UNAUTHORIZED:
    case STUN_VALIDATION_UNAUTHORIZED_BAD_REQUEST:
        return -EACCES;
    case STUN_VALIDATION_UNKNOWN_ATTRIBUTE:
        return -EPROTO;
    default:
        return -EBADMSG;
    }
}

/* Whether the message (already length-checked by the caller's
 * validation, or not yet) holds an attribute of `type`: a bounded walk. */
static bool has_attribute(const uint8_t *buf, size_t len, uint16_t type)
{
    size_t off = SN_STUN_HDR, end;

    if (len < SN_STUN_HDR)
        return false;
    end = SN_STUN_HDR + ((size_t)buf[2] << 8 | buf[3]);
    if (end > len)
        return false;
    while (off + 4 <= end) {
        uint16_t t = (uint16_t)(buf[off] << 8 | buf[off + 1]);
        size_t alen = (size_t)buf[off + 2] << 8 | buf[off + 3];
        if (t == type)
            return true;
        off += 4 + ((alen + 3) & ~(size_t)3);
    }
    return false;
}

int sn_ice_stun_response(sn_ice_stun *a, const uint8_t *buf, size_t len,
                         struct sockaddr_storage *mapped)
{
    StunMessage msg;
    socklen_t slen = sizeof *mapped;

    if (!a || !buf || !mapped)
        return -EINVAL;
    /* libnice checks the integrity of an answer with the key of its
     * check, and reads the attribute without looking for it first. */
    if (!has_attribute(buf, len, STUN_ATTRIBUTE_MESSAGE_INTEGRITY))
        return stun_message_validate_buffer_length(buf, len, true) == (int)len ? -EACCES
                                                                               : -EBADMSG;
    int r = answer_errno(stun_agent_validate(&a->checks, &msg, buf, len, NULL, NULL));
    if (r < 0)
        return r;
    if (stun_message_get_class(&msg) == STUN_REQUEST ||
        stun_message_get_class(&msg) == STUN_INDICATION)
        return -EBADMSG;
    memset(mapped, 0, sizeof *mapped);
    switch (stun_usage_ice_conncheck_process(&msg, mapped, &slen,
                                             STUN_USAGE_ICE_COMPATIBILITY_RFC5245)) {
    case STUN_USAGE_ICE_RETURN_SUCCESS:
        return mapped->ss_family == AF_INET || mapped->ss_family == AF_INET6 ? 0 : -EPROTO;
    case STUN_USAGE_ICE_RETURN_ROLE_CONFLICT:
        return -EAGAIN;
    default:
        return -EPROTO;
    }
}

typedef struct local_creds {
    const char *ufrag, *pwd;
} local_creds;

/* The peer's check names us first: "<our ufrag>:<theirs>". */
static bool local_password(StunAgent *agent, StunMessage *message, uint8_t *username,
                           uint16_t username_len, uint8_t **password,
                           size_t *password_len, void *ud)
{
    const local_creds *c = ud;
    size_t n = strlen(c->ufrag);

    (void)agent;
    (void)message;
    if (username_len <= n || memcmp(username, c->ufrag, n) != 0 || username[n] != ':')
        return false;
    *password = (uint8_t *)c->pwd;
    *password_len = strlen(c->pwd);
    return true;
}

int sn_ice_stun_answer(sn_ice_stun *a, const uint8_t *buf, size_t len,
                       const char *ufrag, const char *pwd, const struct sockaddr *from,
                       bool *controlling, uint64_t tie, uint8_t *out, size_t *out_len,
                       sn_ice_request *req)
{
    local_creds creds = {ufrag, pwd};
    StunMessage msg, reply;
    bool control;
    StunUsageIceReturn ret;

    if (!a || !buf || !ufrag || !pwd || !from || !controlling || !out || !out_len || !req)
        return -EINVAL;
    memset(req, 0, sizeof *req);
    switch (stun_agent_validate(&a->answers, &msg, buf, len, local_password, &creds)) {
    case STUN_VALIDATION_SUCCESS:
        break;
    case STUN_VALIDATION_UNAUTHORIZED:
    case STUN_VALIDATION_UNAUTHORIZED_BAD_REQUEST:
        return -EACCES;
    default:
        return -EBADMSG;
    }
    if (stun_message_get_class(&msg) != STUN_REQUEST ||
        stun_message_get_method(&msg) != STUN_BINDING)
        return -EBADMSG;
    /* The reply echoes the USERNAME: it must fit out, or libnice's reply
     * builder ends in an assertion (found by fuzz-stun: a 205-byte
     * USERNAME and a 256-byte buffer aborted the process). Header,
     * XOR-MAPPED-ADDRESS (IPv6), USERNAME, MESSAGE-INTEGRITY, FINGERPRINT. */
    uint16_t ulen = 0;
    stun_message_find(&msg, STUN_ATTRIBUTE_USERNAME, &ulen);
    if (SN_STUN_HDR + 24 + 4 + (((size_t)ulen + 3) & ~(size_t)3) + 24 + 8 > *out_len)
        return -ENOSPC;
    control = *controlling;
    struct sockaddr_storage src;
    memset(&src, 0, sizeof src);
    memcpy(&src, from, from->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                   : sizeof(struct sockaddr_in));
    ret = stun_usage_ice_conncheck_create_reply(
        &a->answers, &msg, &reply, out, out_len, &src,
        from->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                    : sizeof(struct sockaddr_in),
        &control, tie, STUN_USAGE_ICE_COMPATIBILITY_RFC5245);
    if ((ret != STUN_USAGE_ICE_RETURN_SUCCESS && ret != STUN_USAGE_ICE_RETURN_ROLE_CONFLICT) ||
        *out_len == 0)
        return -EBADMSG;
    /* libnice says SUCCESS for the 487 it built when we keep our role. */
    if (stun_message_get_class(&reply) == STUN_ERROR)
        return 1;
    req->role_switched = control != *controlling;
    *controlling = control;
    req->priority = stun_usage_ice_conncheck_priority(&msg);
    req->use_candidate = stun_usage_ice_conncheck_use_candidate(&msg);
    return 0;
}

/* -- TURN --------------------------------------------------------------- */

/* What a TURN response or indication may carry (RFC 8656 18, RFC 8489
 * 14): PASSWORD-ALGORITHMS and SOFTWARE are comprehension-optional. */
static const uint16_t turn_attributes[] = {
    STUN_ATTRIBUTE_XOR_RELAYED_ADDRESS, STUN_ATTRIBUTE_XOR_MAPPED_ADDRESS,
    STUN_ATTRIBUTE_MAPPED_ADDRESS,      STUN_ATTRIBUTE_LIFETIME,
    STUN_ATTRIBUTE_REALM,               STUN_ATTRIBUTE_NONCE,
    STUN_ATTRIBUTE_USERNAME,            STUN_ATTRIBUTE_MESSAGE_INTEGRITY,
    STUN_ATTRIBUTE_ERROR_CODE,          STUN_ATTRIBUTE_UNKNOWN_ATTRIBUTES,
    STUN_ATTRIBUTE_XOR_PEER_ADDRESS,    STUN_ATTRIBUTE_DATA,
    STUN_ATTRIBUTE_CHANNEL_NUMBER,      STUN_ATTRIBUTE_RESERVATION_TOKEN,
    0,
};

struct sn_turn_stun {
    StunAgent agent;
};

int sn_turn_stun_new(sn_turn_stun **ret)
{
    sn_turn_stun *a = calloc(1, sizeof *a);

    *ret = NULL;
    if (!a)
        return -ENOMEM;
    stun_debug_disable();
    /* Long-term credentials: libnice derives the key from USERNAME and
     * REALM in the message, files it with the transaction and checks
     * the response's MESSAGE-INTEGRITY with it; 401 and 438 come
     * unsigned. No FINGERPRINT: RFC 8656 does not ask for it, and the
     * server's Data indications need not carry one. */
    stun_agent_init(&a->agent, turn_attributes, STUN_COMPATIBILITY_RFC5389,
                    STUN_AGENT_USAGE_LONG_TERM_CREDENTIALS);
    *ret = a;
    return 0;
}

void sn_turn_stun_free(sn_turn_stun *a)
{
    free(a);
}

static socklen_t sa_len(const struct sockaddr *sa)
{
    return sa->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                     : sizeof(struct sockaddr_in);
}

static int append_peer(StunMessage *msg, const struct sockaddr *peer)
{
    struct sockaddr_storage ss;

    if (!peer || (peer->sa_family != AF_INET && peer->sa_family != AF_INET6))
        return -EINVAL;
    memset(&ss, 0, sizeof ss);
    memcpy(&ss, peer, sa_len(peer));
    return stun_message_append_xor_addr(msg, STUN_ATTRIBUTE_XOR_PEER_ADDRESS, &ss,
                                        sa_len(peer)) == STUN_MESSAGE_RETURN_SUCCESS
               ? 0
               : -ENOSPC;
}

static int append_str(StunMessage *msg, StunAttribute type, const char *v)
{
    return stun_message_append_bytes(msg, type, v, strlen(v)) == STUN_MESSAGE_RETURN_SUCCESS
               ? 0
               : -ENOSPC;
}

int sn_turn_stun_request(sn_turn_stun *a, const sn_turn_req *req, uint8_t *buf,
                         size_t size, uint8_t key[SN_STUN_KEY_LEN])
{
    StunMessage msg;
    bool auth;
    size_t n;
    int r = 0;

    if (!a || !req || !buf || !key || req->n_peers > SN_TURN_MAX_PEERS ||
        (req->channel && (req->channel < 0x4000 || req->channel > 0x4FFF)))
        return -EINVAL;
    if (size < 64)
        return -ENOSPC;
    auth = req->user && req->pwd && req->realm && req->nonce;
    if (auth && (strlen(req->user) > 508 || strlen(req->realm) >= SN_TURN_REALM_MAX ||
                 strlen(req->nonce) >= SN_TURN_NONCE_MAX))
        return -EINVAL;
    if (!stun_agent_init_request(&a->agent, &msg, buf, size, (StunMethod)req->method))
        return -ENOSPC;
    if (req->method == SN_TURN_ALLOCATE &&
        stun_message_append32(&msg, STUN_ATTRIBUTE_REQUESTED_TRANSPORT, 17u << 24) !=
            STUN_MESSAGE_RETURN_SUCCESS)
        return -ENOSPC;
    if (req->lifetime >= 0 &&
        stun_message_append32(&msg, STUN_ATTRIBUTE_LIFETIME, (uint32_t)req->lifetime) !=
            STUN_MESSAGE_RETURN_SUCCESS)
        return -ENOSPC;
    if (req->channel &&
        stun_message_append32(&msg, STUN_ATTRIBUTE_CHANNEL_NUMBER,
                              (uint32_t)req->channel << 16) != STUN_MESSAGE_RETURN_SUCCESS)
        return -ENOSPC;
    for (unsigned i = 0; i < req->n_peers && r == 0; i++)
        r = append_peer(&msg, req->peers[i]);
    if (r == 0 && auth)
        r = append_str(&msg, STUN_ATTRIBUTE_USERNAME, req->user);
    if (r == 0 && auth)
        r = append_str(&msg, STUN_ATTRIBUTE_REALM, req->realm);
    if (r == 0 && auth)
        r = append_str(&msg, STUN_ATTRIBUTE_NONCE, req->nonce);
    if (r < 0)
        return r;
    n = stun_agent_finish_message(&a->agent, &msg,
                                  auth ? (const uint8_t *)req->pwd : NULL,
                                  auth ? strlen(req->pwd) : 0);
    if (!n)
        return -ENOBUFS;
    memcpy(key, buf + 4, SN_STUN_KEY_LEN);
    return (int)n;
}

void sn_turn_stun_forget(sn_turn_stun *a, const uint8_t key[SN_STUN_KEY_LEN])
{
    forget(&a->agent, key);
}

static void copy_str(const StunMessage *msg, StunAttribute type, char *out, size_t size)
{
    uint16_t n = 0;
    const void *v = stun_message_find(msg, type, &n);

    out[0] = '\0';
    if (v && n < size) {
        memcpy(out, v, n);
        out[n] = '\0';
    }
}

int sn_turn_stun_response(sn_turn_stun *a, const uint8_t *buf, size_t len,
                          sn_turn_answer *ans)
{
    StunMessage msg;
    socklen_t slen;

    if (!a || !buf || !ans)
        return -EINVAL;
    memset(ans, 0, sizeof *ans);
    if (len < SN_STUN_HDR || (buf[0] & 0x01) == 0)
        return -EBADMSG; /* a request or an indication: not an answer */
    int r = answer_errno(stun_agent_validate(&a->agent, &msg, buf, len, NULL, NULL));
    if (r < 0)
        return r;
    ans->method = (sn_turn_method)stun_message_get_method(&msg);
    if (stun_message_get_class(&msg) == STUN_ERROR) {
        if (stun_message_find_error(&msg, &ans->error) != STUN_MESSAGE_RETURN_SUCCESS ||
            ans->error < 300 || ans->error > 699)
            ans->error = 500;
        copy_str(&msg, STUN_ATTRIBUTE_REALM, ans->realm, sizeof ans->realm);
        copy_str(&msg, STUN_ATTRIBUTE_NONCE, ans->nonce, sizeof ans->nonce);
        return 0;
    }
    /* A success that is signed wrongly was refused above; one that is not
     * signed at all answers an authenticated request only if the key
     * was not ours to check: refuse it (RFC 8489 9.2.5). */
    if (!stun_message_has_attribute(&msg, STUN_ATTRIBUTE_MESSAGE_INTEGRITY))
        return -EACCES;
    slen = sizeof ans->relayed;
    ans->have_relayed = stun_message_find_xor_addr(&msg, STUN_ATTRIBUTE_XOR_RELAYED_ADDRESS,
                                                   &ans->relayed, &slen) ==
                        STUN_MESSAGE_RETURN_SUCCESS;
    slen = sizeof ans->mapped;
    ans->have_mapped = stun_message_find_xor_addr(&msg, STUN_ATTRIBUTE_XOR_MAPPED_ADDRESS,
                                                  &ans->mapped, &slen) ==
                       STUN_MESSAGE_RETURN_SUCCESS;
    if (stun_message_find32(&msg, STUN_ATTRIBUTE_LIFETIME, &ans->lifetime) !=
        STUN_MESSAGE_RETURN_SUCCESS)
        ans->lifetime = 0;
    return 0;
}

int sn_turn_stun_data(sn_turn_stun *a, const uint8_t *buf, size_t len,
                      struct sockaddr_storage *peer, const uint8_t **data, size_t *dlen)
{
    StunMessage msg;
    socklen_t slen = sizeof *peer;
    uint16_t n = 0;

    if (!a || !buf || !peer || !data || !dlen)
        return -EINVAL;
    /* Class indication (0b10) and method Data (0x007): 0x0017. */
    if (len < SN_STUN_HDR || buf[0] != 0x00 || buf[1] != 0x17)
        return -EBADMSG;
    if (stun_agent_validate(&a->agent, &msg, buf, len, NULL, NULL) !=
        STUN_VALIDATION_SUCCESS)
        return -EBADMSG;
    memset(peer, 0, sizeof *peer);
    if (stun_message_find_xor_addr(&msg, STUN_ATTRIBUTE_XOR_PEER_ADDRESS, peer, &slen) !=
            STUN_MESSAGE_RETURN_SUCCESS ||
        (peer->ss_family != AF_INET && peer->ss_family != AF_INET6))
        return -EBADMSG;
    *data = stun_message_find(&msg, STUN_ATTRIBUTE_DATA, &n);
    if (!*data)
        return -EBADMSG;
    *dlen = n;
    return 0;
}

int sn_turn_stun_send(sn_turn_stun *a, uint8_t *buf, size_t size, const struct sockaddr *peer,
                      const uint8_t *data, size_t dlen)
{
    StunMessage msg;
    int r;

    if (!a || !buf || !peer || !data || dlen > 0xFFFF)
        return -EINVAL;
    if (size < dlen + 48)
        return -ENOSPC;
    if (!stun_agent_init_indication(&a->agent, &msg, buf, size, STUN_IND_SEND))
        return -ENOSPC;
    if ((r = append_peer(&msg, peer)) < 0)
        return r;
    if (stun_message_append_bytes(&msg, STUN_ATTRIBUTE_DATA, data, dlen) !=
        STUN_MESSAGE_RETURN_SUCCESS)
        return -ENOSPC;
    size_t n = stun_agent_finish_message(&a->agent, &msg, NULL, 0);
    return n ? (int)n : -ENOSPC;
}
