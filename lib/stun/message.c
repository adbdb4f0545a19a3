/*
 * libsipnat - STUN messages on libnice's STUN codec (see message.h).
 */
#include "stun/message.h"

#include <stun/stunagent.h>
#include <stun/usages/bind.h>

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

void sn_stun_forget(sn_stun_agent *a, const uint8_t key[SN_STUN_KEY_LEN])
{
    StunTransactionId id;

    memcpy(id, key, sizeof id);
    stun_agent_forget_transaction(&a->agent, id);
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
