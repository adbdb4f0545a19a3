/*
 * libsipnat - SRTP on libsrtp2 (see srtp.h).
 */
#include "media/srtp.h"
#include "media/srtp_ossl.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <srtp2/srtp.h>

struct sn_srtp {
    srtp_t ctx;
};

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static bool available[SN_SRTP_SUITES + 1];

static int create(srtp_t *out, const sn_crypto_key *k, bool inbound);

/* srtp_init() fails when it already ran in this process (the host, or
 * another copy of this code, initialised libsrtp2: its debug module is
 * then registered twice), and libsrtp2 works all the same. So its result
 * is not trusted either way: a suite is available when a session of it
 * can be created. */
static void init(void)
{
    sn_crypto_key k = {0};
    const char *want = getenv("SIPNAT_SRTP_CRYPTO");

    (void)srtp_init();
    /* libcrypto's ciphers unless the process asks for libsrtp2's own;
     * if libsrtp2 refuses them (a failed self test), its own stay. */
    if (!want || strcmp(want, "libsrtp2") != 0)
        (void)sn_srtp_ossl_use(true);
    for (unsigned i = 1; i <= SN_SRTP_SUITES; i++) {
        srtp_t ctx;
        k.suite = (sn_srtp_suite)i;
        k.key_len = sn_srtp_suite_key_len(k.suite);
        /* A fixed, non-zero key: only whether the suite runs matters. */
        memset(k.key, 0x5a, k.key_len);
        if (create(&ctx, &k, false) == 0) {
            available[i] = true;
            srtp_dealloc(ctx);
        }
    }
}

/* The libsrtp2 policy of a suite; false if this libsrtp2 has no setter
 * for it. */
static bool set_crypto(sn_srtp_suite suite, srtp_crypto_policy_t *rtp,
                       srtp_crypto_policy_t *rtcp)
{
    switch (suite) {
    case SN_SRTP_AES_CM_128_HMAC_SHA1_80:
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(rtp);
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(rtcp);
        return true;
    case SN_SRTP_AES_CM_128_HMAC_SHA1_32:
        /* RFC 4568 6.2.2: SRTCP keeps the 80-bit tag. */
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(rtp);
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(rtcp);
        return true;
    case SN_SRTP_AEAD_AES_128_GCM:
        srtp_crypto_policy_set_aes_gcm_128_16_auth(rtp);
        srtp_crypto_policy_set_aes_gcm_128_16_auth(rtcp);
        return true;
    case SN_SRTP_AEAD_AES_256_GCM:
        srtp_crypto_policy_set_aes_gcm_256_16_auth(rtp);
        srtp_crypto_policy_set_aes_gcm_256_16_auth(rtcp);
        return true;
    default:
        return false;
    }
}

static int create(srtp_t *out, const sn_crypto_key *k, bool inbound)
{
    srtp_policy_t pol;
    uint8_t key[SN_SRTP_KEY_MAX];

    memset(&pol, 0, sizeof pol);
    if (k->key_len != sn_srtp_suite_key_len(k->suite) ||
        !set_crypto(k->suite, &pol.rtp, &pol.rtcp))
        return -EINVAL;
    memcpy(key, k->key, k->key_len);
    pol.ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
    pol.key = key;
    pol.window_size = 128;
    pol.allow_repeat_tx = 0;
    srtp_err_status_t e = srtp_create(out, &pol);
    memset(key, 0, sizeof key);
    if (e == srtp_err_status_alloc_fail)
        return -ENOMEM;
    return e == srtp_err_status_ok ? 0 : -ENOTSUP;
}

const char *sn_srtp_crypto_name(void)
{
    pthread_once(&init_once, init);
    return sn_srtp_ossl_name();
}

int sn_srtp_crypto_select(bool libcrypto)
{
    pthread_once(&init_once, init);
    return sn_srtp_ossl_use(libcrypto);
}

bool sn_srtp_suite_available(sn_srtp_suite suite)
{
    if ((unsigned)suite == 0 || (unsigned)suite > SN_SRTP_SUITES)
        return false;
    pthread_once(&init_once, init);
    return available[suite];
}

int sn_srtp_new(sn_srtp **ret, const sn_crypto_key *k, bool inbound)
{
    sn_srtp *s;
    int r;

    if (!ret || !k)
        return -EINVAL;
    *ret = NULL;
    if (!sn_srtp_suite_available(k->suite))
        return -ENOTSUP;
    s = calloc(1, sizeof *s);
    if (!s)
        return -ENOMEM;
    r = create(&s->ctx, k, inbound);
    if (r < 0) {
        free(s);
        return r;
    }
    *ret = s;
    return 0;
}

sn_srtp *sn_srtp_free(sn_srtp *s)
{
    if (s) {
        srtp_dealloc(s->ctx);
        free(s);
    }
    return NULL;
}

int sn_srtp_protect(sn_srtp *s, uint8_t *p, size_t *len, bool rtcp)
{
    int n;
    srtp_err_status_t e;

    if (*len > INT_MAX - SN_SRTP_TAILROOM)
        return -EINVAL;
    n = (int)*len;
    e = rtcp ? srtp_protect_rtcp(s->ctx, p, &n) : srtp_protect(s->ctx, p, &n);
    if (e != srtp_err_status_ok)
        return e == srtp_err_status_bad_param ? -EINVAL : -EIO;
    *len = (size_t)n;
    return 0;
}

int sn_srtp_unprotect(sn_srtp *s, uint8_t *p, size_t *len, bool rtcp)
{
    int n;
    srtp_err_status_t e;

    if (*len > INT_MAX)
        return -EINVAL;
    n = (int)*len;
    e = rtcp ? srtp_unprotect_rtcp(s->ctx, p, &n) : srtp_unprotect(s->ctx, p, &n);
    switch (e) {
    case srtp_err_status_ok:
        *len = (size_t)n;
        return 0;
    case srtp_err_status_replay_fail:
    case srtp_err_status_replay_old:
        return -EALREADY;
    case srtp_err_status_auth_fail:
        return -EBADMSG;
    default:
        return -EINVAL;
    }
}
