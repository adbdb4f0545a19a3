/* libsipnat fuzzing - STUN messages (lib/stun/message.c on libnice's
 * codec, and RFC 7983's demultiplexing in lib/media/rtp.c): every input
 * is taken as a response to a Binding request of ours and as a
 * connectivity check with a short-term password, both by the plain STUN
 * agent and by the ICE agent's messages (answer and response).
 *
 * Input: one byte of flags, then the message.
 *   0x01  answer: bytes 4-19 become the key of a request the agent filed
 *         for this input, so that mutations reach the response's
 *         attributes instead of stopping at "answers nothing of ours"
 *   0x02  MESSAGE-INTEGRITY made right (HMAC-SHA1 with the password, the
 *         length field as RFC 8489 14.5 says) wherever the walk meets it
 *   0x04  FINGERPRINT made right wherever the walk meets it
 *   0x08  the length field made right (the input's length - 20) first
 *   0x10  with 0x01: the key is an ICE check's (lib/ice's agent), not a
 *         Binding request's
 *   0x20  ICE: we are the controlling agent
 *   0x40  with 0x01: the key is a signed TURN Allocate's (long-term
 *         credentials; 0x02 then signs with MD5("user:realm:password")),
 *         and the input is also read as a Data indication
 * Checked beyond "no crash": a response taken names an IPv4 or IPv6
 * address; a request taken leaves a terminated USERNAME; nothing that
 * RFC 7983 does not call STUN is taken. */
#include "stun/message.h"
#include "media/rtp.h"

#include <errno.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define F_ANSWER 0x01
#define F_INTEGRITY 0x02
#define F_FINGERPRINT 0x04
#define F_LENGTH 0x08
#define F_ICE_KEY 0x10
#define F_CONTROLLING 0x20
#define F_TURN 0x40

#define ATTR_MESSAGE_INTEGRITY 0x0008
#define ATTR_FINGERPRINT 0x8028
#define FINGERPRINT_XOR 0x5354554eu

static const char password[] = "VOkJxbRl1RmTxUk/WvJxBt";
static const char ufrag[] = "evtj"; /* RFC 5769's request names "evtj:h6vY" */
static sn_stun_agent *agent;
static sn_ice_stun *ice;
static sn_turn_stun *turn;

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void wr16(uint8_t *p, size_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* CRC-32 (ISO 3309, as FINGERPRINT uses), bit by bit: inputs are small. */
static uint32_t crc32(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;

    while (n--) {
        c ^= *p++;
        for (int k = 0; k < 8; k++)
            c = c >> 1 ^ (0xedb88320u & -(c & 1u));
    }
    return c ^ 0xffffffffu;
}

/* Make the attributes flags asks for right, in place. */
static void fix_up(uint8_t *m, size_t len, unsigned flags)
{
    size_t off = SN_STUN_HDR;

    if (len < SN_STUN_HDR)
        return;
    if (flags & F_LENGTH)
        wr16(m + 2, len - SN_STUN_HDR);
    while (off + 4 <= len) {
        uint16_t type = rd16(m + off), alen = rd16(m + off + 2);

        if (type == ATTR_MESSAGE_INTEGRITY && alen == 20 && off + 24 <= len &&
            (flags & F_INTEGRITY)) {
            /* HMAC over what precedes it, the length field counting up to
             * the end of MESSAGE-INTEGRITY. */
            uint8_t saved[2] = {m[2], m[3]};
            unsigned int mlen = 20;
            wr16(m + 2, off + 24 - SN_STUN_HDR);
            uint8_t ltk[16];
            unsigned int klen = sizeof ltk;
            static const char creds[] = "fuzz:lab.test:relay-secret";
            if (flags & F_TURN) {
                if (!EVP_Digest(creds, strlen(creds), ltk, &klen, EVP_md5(), NULL))
                    abort();
            }
            if (!HMAC(EVP_sha1(), (flags & F_TURN) ? (const void *)ltk : password,
                      (flags & F_TURN) ? 16 : (int)strlen(password), m, off, m + off + 4,
                      &mlen))
                abort();
            m[2] = saved[0];
            m[3] = saved[1];
        }
        if (type == ATTR_FINGERPRINT && alen == 4 && off + 8 <= len &&
            (flags & F_FINGERPRINT)) {
            uint32_t c = crc32(m, off) ^ FINGERPRINT_XOR;
            m[off + 4] = (uint8_t)(c >> 24);
            m[off + 5] = (uint8_t)(c >> 16);
            m[off + 6] = (uint8_t)(c >> 8);
            m[off + 7] = (uint8_t)c;
        }
        off += 4 + (((size_t)alen + 3) & ~(size_t)3);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t key[SN_STUN_KEY_LEN], req[256], *m;
    struct sockaddr_storage mapped;
    char user[64];
    unsigned flags;
    size_t len;
    bool filed = false;
    int r;

    if (size < 1)
        return 0;
    if (!agent && sn_stun_agent_new(&agent) < 0)
        abort(); /* libnice shadowed: nothing here would be tested */
    flags = data[0];
    len = size - 1;
    m = malloc(len ? len : 1);
    if (!m)
        return 0;
    memcpy(m, data + 1, len);

    if (!ice && sn_ice_stun_new(&ice) < 0)
        abort();
    if (!turn && sn_turn_stun_new(&turn) < 0)
        abort();
    bool ice_filed = false, turn_filed = false;
    if ((flags & F_ANSWER) && len >= SN_STUN_HDR) {
        if (flags & F_TURN) {
            sn_turn_req treq = {.method = SN_TURN_ALLOCATE, .lifetime = 600, .user = "fuzz",
                                .pwd = "relay-secret", .realm = "lab.test",
                                .nonce = "n0nce"};
            uint8_t tbuf[SN_TURN_REQ_MAX];
            if (sn_turn_stun_request(turn, &treq, tbuf, sizeof tbuf, key) < 0)
                abort();
            turn_filed = true;
        } else if (flags & F_ICE_KEY) {
            if (sn_ice_stun_check(ice, req, sizeof req, "h6vY:evtj", password, false,
                                  flags & F_CONTROLLING, 1, 7, key) < 0)
                abort();
            ice_filed = true;
        } else {
            if (sn_stun_request(agent, NULL, req, sizeof req, key) < 0)
                abort(); /* every request filed here is answered or forgotten */
            filed = true;
        }
        memcpy(m + 4, key, SN_STUN_KEY_LEN);
    }
    fix_up(m, len, flags);

    r = sn_stun_response(agent, m, len, &mapped);
    if (r == 0) {
        if (!sn_rtp_is_stun(m, len))
            abort(); /* the demultiplexer would never have handed it over */
        if (mapped.ss_family != AF_INET && mapped.ss_family != AF_INET6)
            abort();
    } else if (r != -EBADMSG && r != -ESRCH && r != -EPROTO) {
        abort();
    }
    if (filed)
        sn_stun_forget(agent, key);

    r = sn_ice_stun_response(ice, m, len, &mapped);
    if (r == 0 && mapped.ss_family != AF_INET && mapped.ss_family != AF_INET6)
        abort();
    if (r != 0 && r != -EBADMSG && r != -ESRCH && r != -EPROTO && r != -EACCES &&
        r != -EAGAIN)
        abort();
    if (ice_filed)
        sn_ice_stun_forget(ice, key);
    {
        struct sockaddr_in from = {.sin_family = AF_INET, .sin_port = htons(5060),
                                   .sin_addr.s_addr = htonl(0xc0000201)};
        uint8_t out[256];
        size_t out_len = sizeof out;
        sn_ice_request ireq;
        bool controlling = flags & F_CONTROLLING;
        r = sn_ice_stun_answer(ice, m, len, ufrag, password, (struct sockaddr *)&from,
                               &controlling, 7, out, &out_len, &ireq);
        if (r >= 0) {
            /* Whatever we answer is STUN of its own size, and a success
             * answers a Binding request of the class it claims. */
            if (out_len < SN_STUN_HDR || out_len > sizeof out || !sn_rtp_is_stun(out, out_len) ||
                (size_t)(out[2] << 8 | out[3]) + SN_STUN_HDR != out_len)
                abort();
            if (r == 0 && !sn_rtp_is_stun(m, len))
                abort();
        } else if (r != -EBADMSG && r != -EACCES && r != -ENOSPC) {
            abort();
        }
    }

    {
        sn_turn_answer ans;
        struct sockaddr_storage peer;
        const uint8_t *d;
        size_t dlen;
        r = sn_turn_stun_response(turn, m, len, &ans);
        if (r == 0) {
            if (!sn_rtp_is_stun(m, len) || (ans.error && (ans.error < 300 || ans.error > 699)))
                abort();
            if (!memchr(ans.realm, '\0', sizeof ans.realm) ||
                !memchr(ans.nonce, '\0', sizeof ans.nonce))
                abort();
            if (ans.have_relayed && ans.relayed.ss_family != AF_INET &&
                ans.relayed.ss_family != AF_INET6)
                abort();
        } else if (r != -EBADMSG && r != -ESRCH && r != -EPROTO && r != -EACCES) {
            abort();
        }
        if (turn_filed && r != 0)
            sn_turn_stun_forget(turn, key);
        r = sn_turn_stun_data(turn, m, len, &peer, &d, &dlen);
        if (r == 0) {
            /* The payload lies inside the message. */
            if (d < m || d + dlen > m + len ||
                (peer.ss_family != AF_INET && peer.ss_family != AF_INET6))
                abort();
        } else if (r != -EBADMSG) {
            abort();
        }
    }

    memset(user, 'x', sizeof user);
    r = sn_stun_check_request(m, len, password, user, sizeof user);
    if (r == 0) {
        if (!memchr(user, '\0', sizeof user) || !sn_rtp_is_stun(m, len))
            abort();
    } else if (r != -EBADMSG && r != -EACCES) {
        abort();
    }
    free(m);
    return 0;
}
