/*
 * libsipnat - STUN messages (RFC 8489) on libnice's STUN codec: the only
 * file that includes libnice. Pure: no sockets, no timers, no ctx.
 *
 * An agent remembers the requests it built (libnice keeps 200
 * transactions in 11 KB) so that only a response to one of them is
 * taken.
 */
#ifndef SIPNAT_STUN_MESSAGE_H
#define SIPNAT_STUN_MESSAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define SN_STUN_HDR 20
#define SN_STUN_TID_LEN 12  /* RFC 8489's transaction ID */
#define SN_STUN_KEY_LEN 16  /* magic cookie + ID: how libnice files it */

typedef struct sn_stun_agent sn_stun_agent;

/* RFC 7983's demultiplexing: a first byte of 0-3 and RFC 8489's magic
 * cookie (lib/media keeps its own, sn_rtp_is_stun: it may not use this
 * layer). */
static inline bool sn_stun_looks_like(const uint8_t *p, size_t n)
{
    return n >= SN_STUN_HDR && p[0] < 4 && p[4] == 0x21 && p[5] == 0x12 && p[6] == 0xA4 &&
           p[7] == 0x42;
}

/* An agent for Binding requests to a server (FINGERPRINT on, no
 * credentials). 0, -ENOMEM, or -ELIBBAD when libnice cannot build a
 * message in this process (another library's stun_message_length()
 * shadows libnice's own: sofia-sip's, when it comes first in the
 * lookup order; libsipnat links libnice before sofia-sip). */
int sn_stun_agent_new(sn_stun_agent **ret);
/* The same, with FINGERPRINT (in requests, and demanded of responses) or
 * without: a SIP server's STUN on its SIP port (Kamailio's, for RFC 5626
 * keep-alives) answers without one, and the magic cookie already tells
 * STUN from SIP there. */
int sn_stun_agent_new_fp(sn_stun_agent **ret, bool fingerprint);
void sn_stun_agent_free(sn_stun_agent *a);

/* Build a Binding request into buf (at least 64 bytes) and file it in the
 * agent; tid NULL: a random transaction ID, else that one (known-answer
 * tests). Its key (bytes 4-19) goes to key. The length, or a negative
 * errno. */
int sn_stun_request(sn_stun_agent *a, const uint8_t *tid, uint8_t *buf,
                    size_t size, uint8_t key[SN_STUN_KEY_LEN]);
/* Forget a request filed and never answered. */
void sn_stun_forget(sn_stun_agent *a, const uint8_t key[SN_STUN_KEY_LEN]);

/* Check a response: 0 and the XOR-MAPPED-ADDRESS (or MAPPED-ADDRESS) in
 * *mapped; -EBADMSG not STUN, malformed or its FINGERPRINT wrong; -ESRCH
 * it answers no request of this agent; -EPROTO an unknown
 * comprehension-required attribute, an error response, not a Binding, or
 * no address (the request is then answered and forgotten). */
int sn_stun_response(sn_stun_agent *a, const uint8_t *buf, size_t len,
                     struct sockaddr_storage *mapped);

/* Check a request that carries MESSAGE-INTEGRITY with the short-term
 * credential `password` (RFC 8489 9.1; ICE's connectivity checks): 0, or
 * -EBADMSG (not STUN, malformed, FINGERPRINT wrong, not a Binding
 * request),
 * -EACCES (integrity fails or is missing). The USERNAME goes to user. */
int sn_stun_check_request(const uint8_t *buf, size_t len, const char *password,
                          char *user, size_t user_size);

/* -- ICE connectivity checks (RFC 8445 7.2), short-term credentials --- */

typedef struct sn_ice_stun sn_ice_stun;

int sn_ice_stun_new(sn_ice_stun **ret);
void sn_ice_stun_free(sn_ice_stun *a);

/* Build a check into buf (at least 160 bytes): USERNAME `user`
 * ("RFRAG:LFRAG"), MESSAGE-INTEGRITY with `pwd` (the peer's password; it
 * must stay valid until the check is answered or forgotten: libnice keeps
 * the pointer), PRIORITY, USE-CANDIDATE when `nominate`, ICE-CONTROLLING
 * or ICE-CONTROLLED with `tie`, FINGERPRINT. Its key (bytes 4-19) to key.
 * The length, or a negative errno (-ENOBUFS: 200 checks in flight). */
int sn_ice_stun_check(sn_ice_stun *a, uint8_t *buf, size_t size, const char *user,
                      const char *pwd, bool nominate, bool controlling,
                      uint32_t priority, uint64_t tie, uint8_t key[SN_STUN_KEY_LEN]);
void sn_ice_stun_forget(sn_ice_stun *a, const uint8_t key[SN_STUN_KEY_LEN]);

/* The answer to one of our checks (its key is bytes 4-19 of buf): 0 and
 * the XOR-MAPPED-ADDRESS in *mapped; -EAGAIN a 487 Role Conflict;
 * -EPROTO another error response or no address; -ESRCH it answers no
 * check of ours; -EACCES MESSAGE-INTEGRITY missing or wrong; -EBADMSG not
 * STUN or malformed. Taken (not -ESRCH): the check is off the list. */
int sn_ice_stun_response(sn_ice_stun *a, const uint8_t *buf, size_t len,
                         struct sockaddr_storage *mapped);

/* What a peer's check asked. */
/* Room for the reply to any check RFC 8445 allows (a USERNAME of two
 * 256-character fragments and a colon). */
#define SN_ICE_REPLY_MAX 640

typedef struct sn_ice_request {
    uint32_t priority;     /* PRIORITY */
    bool use_candidate;    /* USE-CANDIDATE */
    bool role_switched;    /* a role conflict made us change *controlling */
} sn_ice_request;

/* A check from the peer, on a socket whose local credentials are
 * `ufrag`/`pwd`: its USERNAME must be "<ufrag>:..." and its
 * MESSAGE-INTEGRITY right. 0: the reply (a success with
 * XOR-MAPPED-ADDRESS `from`, signed) is in out (out_len bytes), req says
 * what was asked; 1: the reply is a 487 Role Conflict (RFC 8445 7.3.1.1:
 * we keep our role), nothing else to do; -EACCES (wrong or no
 * credentials: no reply at all, so nothing leaks), -EBADMSG (not a
 * Binding request, malformed), -ENOSPC (the reply, which echoes the
 * USERNAME, would not fit *out_len; SN_ICE_REPLY_MAX bytes always do).
 * *controlling is our role, switched on a conflict we lose. */
int sn_ice_stun_answer(sn_ice_stun *a, const uint8_t *buf, size_t len,
                       const char *ufrag, const char *pwd, const struct sockaddr *from,
                       bool *controlling, uint64_t tie, uint8_t *out, size_t *out_len,
                       sn_ice_request *req);

/* -- TURN (RFC 8656) over UDP, long-term credentials (RFC 8489 9.2) --- */

typedef struct sn_turn_stun sn_turn_stun;

typedef enum sn_turn_method {
    SN_TURN_ALLOCATE = 0x003,
    SN_TURN_REFRESH = 0x004,
    SN_TURN_PERMISSION = 0x008,   /* CreatePermission */
    SN_TURN_CHANNEL_BIND = 0x009,
} sn_turn_method;

#define SN_TURN_MAX_PEERS 8        /* XOR-PEER-ADDRESSes per request */
#define SN_TURN_REALM_MAX 128      /* RFC 8489 14.9: < 128 characters */
#define SN_TURN_NONCE_MAX 256      /* RFC 8489 14.10: < 128 characters;
                                      the room is for the UTF-8 bytes */
#define SN_TURN_REQ_MAX 600        /* room for any request built here */

typedef struct sn_turn_req {
    sn_turn_method method;
    const char *user;     /* NULL: unauthenticated (the first Allocate) */
    const char *pwd;      /* must outlive the transaction (libnice keeps it) */
    const char *realm;    /* the server's, from its 401 or 438 */
    const char *nonce;
    int32_t lifetime;     /* LIFETIME in seconds; -1: none */
    const struct sockaddr *peers[SN_TURN_MAX_PEERS]; /* XOR-PEER-ADDRESS */
    unsigned n_peers;
    uint16_t channel;     /* CHANNEL-NUMBER (0x4000-0x4FFF); 0: none */
} sn_turn_req;

typedef struct sn_turn_answer {
    sn_turn_method method;
    int error;            /* 0: a success response; else its ERROR-CODE */
    char realm[SN_TURN_REALM_MAX];
    char nonce[SN_TURN_NONCE_MAX];
    bool have_relayed;    /* XOR-RELAYED-ADDRESS */
    bool have_mapped;     /* XOR-MAPPED-ADDRESS: the NAT's mapping */
    struct sockaddr_storage relayed;
    struct sockaddr_storage mapped;
    uint32_t lifetime;    /* LIFETIME, 0 when absent */
} sn_turn_answer;

int sn_turn_stun_new(sn_turn_stun **ret);
void sn_turn_stun_free(sn_turn_stun *a);

/* Build a request into buf (SN_TURN_REQ_MAX bytes always do) and file
 * it; REQUESTED-TRANSPORT UDP on an Allocate; MESSAGE-INTEGRITY with the
 * key MD5(user:realm:pwd) once user, realm and nonce are known. Its key
 * (bytes 4-19) to key. The length, or -EINVAL, -ENOSPC, -ENOBUFS. */
int sn_turn_stun_request(sn_turn_stun *a, const sn_turn_req *req, uint8_t *buf,
                         size_t size, uint8_t key[SN_STUN_KEY_LEN]);
void sn_turn_stun_forget(sn_turn_stun *a, const uint8_t key[SN_STUN_KEY_LEN]);

/* A response to one of our requests: 0 and *ans (a success, or an error
 * response: ans->error); -ESRCH it answers no request of ours; -EACCES
 * MESSAGE-INTEGRITY wrong or missing where it must be; -EPROTO an
 * unknown comprehension-required attribute; -EBADMSG not STUN, malformed,
 * not a response. Taken (not -ESRCH): the request is off the list. */
int sn_turn_stun_response(sn_turn_stun *a, const uint8_t *buf, size_t len,
                          sn_turn_answer *ans);

/* A Data indication (RFC 8656 11.6): 0, the peer it came from and its
 * DATA (pointing into buf); -EBADMSG anything else or malformed. */
int sn_turn_stun_data(sn_turn_stun *a, const uint8_t *buf, size_t len,
                      struct sockaddr_storage *peer, const uint8_t **data, size_t *dlen);
/* A Send indication to `peer` carrying `data`: its length, or -ENOSPC
 * (it needs dlen + 48 bytes), -EINVAL. */
int sn_turn_stun_send(sn_turn_stun *a, uint8_t *buf, size_t size, const struct sockaddr *peer,
                      const uint8_t *data, size_t dlen);

#endif
