/*
 * libsipnat - libcrypto ciphers and HMAC-SHA1 for libsrtp2 (see
 * srtp_ossl.h).
 */
/* SHA1_Init/Update/Final: the HMAC below keeps its pad states as plain
 * SHA_CTX structs and copies them per packet. OpenSSL 3 deprecates the
 * low-level digest calls, but its replacements cost: EVP_MAC re-armed
 * with the same key runs at about 2.5x the time here (measured: 555 ns
 * against 214 ns for a 176-byte packet), and copying an EVP_MD_CTX
 * duplicates its provider state, an allocation per packet. */
#define OPENSSL_SUPPRESS_DEPRECATED

#include "media/srtp_ossl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include <srtp2/auth.h>
#include <srtp2/cipher.h>

/* libsrtp2's own types, exported by libsrtp2.so (declared in its
 * crypto/include/cipher_types.h, which is not installed): what
 * sn_srtp_ossl_use(false) puts back. */
extern const srtp_cipher_type_t srtp_aes_icm_128, srtp_aes_icm_192, srtp_aes_icm_256,
    srtp_aes_gcm_128, srtp_aes_gcm_256;
extern const srtp_auth_type_t srtp_hmac;

#define SALT_ICM 14 /* RFC 3711 4.3.1: 112-bit session salt */
#define SALT_GCM 12 /* RFC 7714 8.1: 96-bit */
#define IV_GCM 12

/* --- AES-ICM (RFC 3711 4.1.1, RFC 6188) --------------------------- */

/* What both cipher states start with. */
typedef struct evp_head {
    EVP_CIPHER_CTX *ctx;
    const EVP_CIPHER *evp;
} evp_head;

typedef struct icm_state {
    EVP_CIPHER_CTX *ctx;
    const EVP_CIPHER *evp;
    uint8_t offset[16]; /* the session salt, its two low octets zero */
} icm_state;

typedef struct gcm_state {
    EVP_CIPHER_CTX *ctx;
    const EVP_CIPHER *evp;
    int tag_len;
    int dir; /* srtp_cipher_direction_t of the last set_iv */
} gcm_state;

/* Fetched once per process (never freed: libsrtp2's registry, which
 * points at them, lives as long). */
static EVP_CIPHER *evp_ctr[3], *evp_gcm[2];

/* A cipher and its state in one allocation, as libsrtp2 frees them
 * through our dealloc. */
static srtp_err_status_t cipher_new(srtp_cipher_t **c, const srtp_cipher_type_t *type,
                                    const EVP_CIPHER *evp, int algorithm, int key_len,
                                    size_t state_size)
{
    evp_head *h;
    srtp_cipher_t *cp = calloc(1, sizeof *cp + state_size);
    EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();

    if (!cp || !ctx) {
        free(cp);
        EVP_CIPHER_CTX_free(ctx);
        return srtp_err_status_alloc_fail;
    }
    cp->type = type;
    cp->state = cp + 1;
    cp->key_len = key_len;
    cp->algorithm = algorithm;
    h = cp->state;
    h->ctx = ctx;
    h->evp = evp;
    *c = cp;
    return srtp_err_status_ok;
}

static srtp_err_status_t cipher_free(srtp_cipher_t *c, size_t state_size)
{
    if (!c)
        return srtp_err_status_bad_param;
    EVP_CIPHER_CTX_free(((evp_head *)c->state)->ctx);
    OPENSSL_cleanse(c->state, state_size);
    free(c);
    return srtp_err_status_ok;
}

static const srtp_cipher_type_t icm_128, icm_192, icm_256;

static srtp_err_status_t icm_alloc(srtp_cipher_t **c, int key_len, int tag_len)
{
    (void)tag_len;
    switch (key_len - SALT_ICM) {
    case 16:
        return cipher_new(c, &icm_128, evp_ctr[0], SRTP_AES_ICM_128, key_len, sizeof(icm_state));
    case 24:
        return cipher_new(c, &icm_192, evp_ctr[1], SRTP_AES_ICM_192, key_len, sizeof(icm_state));
    case 32:
        return cipher_new(c, &icm_256, evp_ctr[2], SRTP_AES_ICM_256, key_len, sizeof(icm_state));
    default:
        return srtp_err_status_bad_param;
    }
}

static srtp_err_status_t icm_dealloc(srtp_cipher_t *c)
{
    return cipher_free(c, sizeof(icm_state));
}

/* key: the AES key, then the 14-octet salt. */
static srtp_err_status_t icm_init(void *sv, const uint8_t *key)
{
    icm_state *s = sv;
    const EVP_CIPHER *evp = s->evp;

    memset(s->offset, 0, sizeof s->offset);
    memcpy(s->offset, key + EVP_CIPHER_get_key_length(evp), SALT_ICM);
    if (!EVP_EncryptInit_ex(s->ctx, evp, NULL, key, NULL))
        return srtp_err_status_init_fail;
    return srtp_err_status_ok;
}

/* iv: 16 octets (libsrtp2 builds SSRC and packet index, or the key
 * derivation label, into it); the counter is iv XOR offset. */
static srtp_err_status_t icm_set_iv(void *sv, uint8_t *iv, srtp_cipher_direction_t dir)
{
    icm_state *s = sv;
    uint8_t ctr[16];

    (void)dir;
    for (unsigned i = 0; i < 16; i++)
        ctr[i] = s->offset[i] ^ iv[i];
    if (!EVP_EncryptInit_ex(s->ctx, NULL, NULL, NULL, ctr))
        return srtp_err_status_cipher_fail;
    return srtp_err_status_ok;
}

/* In place; successive calls continue the keystream (the key
 * derivation asks for it in pieces). */
static srtp_err_status_t icm_crypt(void *sv, uint8_t *buf, unsigned int *len)
{
    icm_state *s = sv;
    int out = 0;

    if (*len > (unsigned)INT32_MAX || !EVP_EncryptUpdate(s->ctx, buf, &out, buf, (int)*len))
        return srtp_err_status_cipher_fail;
    *len = (unsigned)out;
    return srtp_err_status_ok;
}

/* --- AES-GCM (RFC 7714) ------------------------------------------- */

static const srtp_cipher_type_t gcm_128, gcm_256;

static srtp_err_status_t gcm_alloc(srtp_cipher_t **c, int key_len, int tag_len)
{
    srtp_err_status_t e;

    if (tag_len != 8 && tag_len != 16)
        return srtp_err_status_bad_param;
    switch (key_len - SALT_GCM) {
    case 16:
        e = cipher_new(c, &gcm_128, evp_gcm[0], SRTP_AES_GCM_128, key_len, sizeof(gcm_state));
        break;
    case 32:
        e = cipher_new(c, &gcm_256, evp_gcm[1], SRTP_AES_GCM_256, key_len, sizeof(gcm_state));
        break;
    default:
        return srtp_err_status_bad_param;
    }
    if (e == srtp_err_status_ok) {
        gcm_state *s = (*c)->state;
        s->tag_len = tag_len;
        s->dir = srtp_direction_any;
    }
    return e;
}

static srtp_err_status_t gcm_dealloc(srtp_cipher_t *c)
{
    return cipher_free(c, sizeof(gcm_state));
}

/* key: the AES key (libsrtp2 hands the salt to the IV itself). */
static srtp_err_status_t gcm_init(void *sv, const uint8_t *key)
{
    gcm_state *s = sv;

    s->dir = srtp_direction_any;
    if (!EVP_CipherInit_ex(s->ctx, s->evp, NULL, key, NULL, 1))
        return srtp_err_status_init_fail;
    return srtp_err_status_ok;
}

/* iv: 12 octets. Starts a packet: AAD, then the text, then the tag. */
static srtp_err_status_t gcm_set_iv(void *sv, uint8_t *iv, srtp_cipher_direction_t dir)
{
    gcm_state *s = sv;

    if (dir != srtp_direction_encrypt && dir != srtp_direction_decrypt)
        return srtp_err_status_bad_param;
    s->dir = dir;
    if (!EVP_CipherInit_ex(s->ctx, NULL, NULL, NULL, iv, dir == srtp_direction_encrypt))
        return srtp_err_status_init_fail;
    return srtp_err_status_ok;
}

static srtp_err_status_t gcm_set_aad(void *sv, const uint8_t *aad, uint32_t len)
{
    gcm_state *s = sv;
    int out;

    if (len > (uint32_t)INT32_MAX || !EVP_CipherUpdate(s->ctx, NULL, &out, aad, (int)len))
        return srtp_err_status_algo_fail;
    return srtp_err_status_ok;
}

static srtp_err_status_t gcm_encrypt(void *sv, uint8_t *buf, unsigned int *len)
{
    gcm_state *s = sv;
    int out;

    if (s->dir != srtp_direction_encrypt || *len > (unsigned)INT32_MAX ||
        !EVP_CipherUpdate(s->ctx, buf, &out, buf, (int)*len))
        return srtp_err_status_cipher_fail;
    return srtp_err_status_ok;
}

static srtp_err_status_t gcm_get_tag(void *sv, uint8_t *tag, uint32_t *len)
{
    gcm_state *s = sv;
    uint8_t none[16];
    int out;

    if (s->dir != srtp_direction_encrypt || !EVP_CipherFinal_ex(s->ctx, none, &out) ||
        !EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_AEAD_GET_TAG, s->tag_len, tag))
        return srtp_err_status_algo_fail;
    *len = (uint32_t)s->tag_len;
    return srtp_err_status_ok;
}

/* buf holds the ciphertext and then the tag; *len shrinks by the tag. */
static srtp_err_status_t gcm_decrypt(void *sv, uint8_t *buf, unsigned int *len)
{
    gcm_state *s = sv;
    uint8_t none[16];
    int out, n;

    if (s->dir != srtp_direction_decrypt || *len < (unsigned)s->tag_len ||
        *len > (unsigned)INT32_MAX)
        return srtp_err_status_bad_param;
    n = (int)*len - s->tag_len;
    if (!EVP_CIPHER_CTX_ctrl(s->ctx, EVP_CTRL_AEAD_SET_TAG, s->tag_len, buf + n) ||
        !EVP_CipherUpdate(s->ctx, buf, &out, buf, n))
        return srtp_err_status_cipher_fail;
    if (EVP_CipherFinal_ex(s->ctx, none, &out) <= 0)
        return srtp_err_status_auth_fail;
    *len = (unsigned)n;
    return srtp_err_status_ok;
}

/* --- HMAC-SHA1 (RFC 2104), with precomputed pad states ------------- */

typedef struct hmac_state {
    SHA_CTX inner0, outer0; /* after the key XOR ipad / opad block */
    SHA_CTX work;           /* the packet being authenticated */
} hmac_state;

static const srtp_auth_type_t hmac_sha1;

static srtp_err_status_t hmac_alloc(srtp_auth_t **a, int key_len, int out_len)
{
    srtp_auth_t *ap;

    if (out_len < 0 || out_len > SHA_DIGEST_LENGTH || key_len < 0)
        return srtp_err_status_bad_param;
    ap = calloc(1, sizeof *ap + sizeof(hmac_state));
    if (!ap)
        return srtp_err_status_alloc_fail;
    ap->type = &hmac_sha1;
    ap->state = ap + 1;
    ap->out_len = out_len;
    ap->key_len = key_len;
    ap->prefix_len = 0;
    *a = ap;
    return srtp_err_status_ok;
}

static srtp_err_status_t hmac_dealloc(srtp_auth_t *a)
{
    OPENSSL_cleanse(a->state, sizeof(hmac_state));
    free(a);
    return srtp_err_status_ok;
}

static srtp_err_status_t hmac_init(void *sv, const uint8_t *key, int key_len)
{
    hmac_state *s = sv;
    uint8_t k[SHA_CBLOCK] = {0}, pad[SHA_CBLOCK];

    if (key_len < 0)
        return srtp_err_status_bad_param;
    if (key_len > SHA_CBLOCK)
        SHA1(key, (size_t)key_len, k);
    else
        memcpy(k, key, (size_t)key_len);
    for (unsigned i = 0; i < SHA_CBLOCK; i++)
        pad[i] = k[i] ^ 0x36;
    SHA1_Init(&s->inner0);
    SHA1_Update(&s->inner0, pad, sizeof pad);
    for (unsigned i = 0; i < SHA_CBLOCK; i++)
        pad[i] = k[i] ^ 0x5c;
    SHA1_Init(&s->outer0);
    SHA1_Update(&s->outer0, pad, sizeof pad);
    s->work = s->inner0;
    OPENSSL_cleanse(k, sizeof k);
    OPENSSL_cleanse(pad, sizeof pad);
    return srtp_err_status_ok;
}

static srtp_err_status_t hmac_start(void *sv)
{
    hmac_state *s = sv;

    s->work = s->inner0;
    return srtp_err_status_ok;
}

static srtp_err_status_t hmac_update(void *sv, const uint8_t *msg, int len)
{
    hmac_state *s = sv;

    if (len < 0)
        return srtp_err_status_bad_param;
    SHA1_Update(&s->work, msg, (size_t)len);
    return srtp_err_status_ok;
}

static srtp_err_status_t hmac_compute(void *sv, const uint8_t *msg, int len, int tag_len,
                                      uint8_t *tag)
{
    hmac_state *s = sv;
    uint8_t h[SHA_DIGEST_LENGTH];

    if (len < 0 || tag_len < 0 || tag_len > SHA_DIGEST_LENGTH)
        return srtp_err_status_bad_param;
    SHA1_Update(&s->work, msg, (size_t)len);
    SHA1_Final(h, &s->work);
    s->work = s->outer0;
    SHA1_Update(&s->work, h, sizeof h);
    SHA1_Final(h, &s->work);
    memcpy(tag, h, (size_t)tag_len);
    return srtp_err_status_ok;
}

/* --- Known answers each type is checked with on registration -------- */

/* RFC 3711 B.2: AES-CM keystream, key then salt, 2 blocks. */
static const uint8_t icm128_key[30] = {
    0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f,
    0x3c, 0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd};
static const uint8_t icm128_ks[32] = {
    0xe0, 0x3e, 0xad, 0x09, 0x35, 0xc9, 0x5e, 0x80, 0xe1, 0x66, 0xb1, 0x6d, 0xd9, 0x2b, 0x4e, 0xb4,
    0xd2, 0x35, 0x13, 0x16, 0x2b, 0x02, 0xd0, 0xf7, 0x2a, 0x43, 0xa2, 0xfe, 0x4a, 0x5f, 0x97, 0xab};
/* RFC 6188 7.2 and 7.1: AES-192 and AES-256 counter mode, same salt. */
static const uint8_t icm192_key[38] = {
    0xea, 0xb2, 0x34, 0x76, 0x4e, 0x51, 0x7b, 0x2d, 0x3d, 0x16, 0x0d, 0x58, 0x7d,
    0x8c, 0x86, 0x21, 0x97, 0x40, 0xf6, 0x5f, 0x99, 0xb6, 0xbc, 0xf7, 0xf0, 0xf1,
    0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd};
static const uint8_t icm192_ks[32] = {
    0x35, 0x09, 0x6c, 0xba, 0x46, 0x10, 0x02, 0x8d, 0xc1, 0xb5, 0x75, 0x03, 0x80, 0x4c, 0xe3, 0x7c,
    0x5d, 0xe9, 0x86, 0x29, 0x1d, 0xcc, 0xe1, 0x61, 0xd5, 0x16, 0x5e, 0xc4, 0x56, 0x8f, 0x5c, 0x9a};
static const uint8_t icm256_key[46] = {
    0x57, 0xf8, 0x2f, 0xe3, 0x61, 0x3f, 0xd1, 0x70, 0xa8, 0x5e, 0xc9, 0x3c, 0x40, 0xb1, 0xf0, 0x92,
    0x2e, 0xc4, 0xcb, 0x0d, 0xc0, 0x25, 0xb5, 0x82, 0x72, 0x14, 0x7c, 0xc4, 0x38, 0x94, 0x4a, 0x98,
    0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd};
static const uint8_t icm256_ks[32] = {
    0x92, 0xbd, 0xd2, 0x8a, 0x93, 0xc3, 0xf5, 0x25, 0x11, 0xc6, 0x77, 0xd0, 0x8b, 0x55, 0x15, 0xa4,
    0x9d, 0xa7, 0x1b, 0x23, 0x78, 0xa8, 0x54, 0xf6, 0x70, 0x50, 0x75, 0x6d, 0xed, 0x16, 0x5b, 0xac};
static uint8_t icm_iv0[16]; /* index 0, SSRC 0 */
static const uint8_t zeros[64];

#define ICM_CASE(name, key)                                                          \
    static const srtp_cipher_test_case_t name##_case = {                            \
        (int)sizeof key, key, icm_iv0, 32, zeros, 32, name##_ks, 0, NULL, 0, NULL}
ICM_CASE(icm128, icm128_key);
ICM_CASE(icm192, icm192_key);
ICM_CASE(icm256, icm256_key);

/* The GCM specification's test cases 4 (AES-128) and 16 (AES-256): 60
 * octets of text, 20 of AAD, a 16-octet tag; key then a 12-octet salt
 * (unused by the cipher). */
static const uint8_t gcm_text[60] = {
    0xd9, 0x31, 0x32, 0x25, 0xf8, 0x84, 0x06, 0xe5, 0xa5, 0x59, 0x09, 0xc5, 0xaf, 0xf5, 0x26,
    0x9a, 0x86, 0xa7, 0xa9, 0x53, 0x15, 0x34, 0xf7, 0xda, 0x2e, 0x4c, 0x30, 0x3d, 0x8a, 0x31,
    0x8a, 0x72, 0x1c, 0x3c, 0x0c, 0x95, 0x95, 0x68, 0x09, 0x53, 0x2f, 0xcf, 0x0e, 0x24, 0x49,
    0xa6, 0xb5, 0x25, 0xb1, 0x6a, 0xed, 0xf5, 0xaa, 0x0d, 0xe6, 0x57, 0xba, 0x63, 0x7b, 0x39};
static const uint8_t gcm_aad[20] = {0xfe, 0xed, 0xfa, 0xce, 0xde, 0xad, 0xbe, 0xef, 0xfe, 0xed,
                                    0xfa, 0xce, 0xde, 0xad, 0xbe, 0xef, 0xab, 0xad, 0xda, 0xd2};
static uint8_t gcm_iv[12] = {0xca, 0xfe, 0xba, 0xbe, 0xfa, 0xce,
                             0xdb, 0xad, 0xde, 0xca, 0xf8, 0x88};
static const uint8_t gcm128_key[28] = {0xfe, 0xff, 0xe9, 0x92, 0x86, 0x65, 0x73, 0x1c,
                                       0x6d, 0x6a, 0x8f, 0x94, 0x67, 0x30, 0x83, 0x08};
static const uint8_t gcm256_key[44] = {
    0xfe, 0xff, 0xe9, 0x92, 0x86, 0x65, 0x73, 0x1c, 0x6d, 0x6a, 0x8f, 0x94, 0x67, 0x30, 0x83, 0x08,
    0xfe, 0xff, 0xe9, 0x92, 0x86, 0x65, 0x73, 0x1c, 0x6d, 0x6a, 0x8f, 0x94, 0x67, 0x30, 0x83, 0x08};
static const uint8_t gcm128_out[76] = {
    0x42, 0x83, 0x1e, 0xc2, 0x21, 0x77, 0x74, 0x24, 0x4b, 0x72, 0x21, 0xb7, 0x84, 0xd0, 0xd4,
    0x9c, 0xe3, 0xaa, 0x21, 0x2f, 0x2c, 0x02, 0xa4, 0xe0, 0x35, 0xc1, 0x7e, 0x23, 0x29, 0xac,
    0xa1, 0x2e, 0x21, 0xd5, 0x14, 0xb2, 0x54, 0x66, 0x93, 0x1c, 0x7d, 0x8f, 0x6a, 0x5a, 0xac,
    0x84, 0xaa, 0x05, 0x1b, 0xa3, 0x0b, 0x39, 0x6a, 0x0a, 0xac, 0x97, 0x3d, 0x58, 0xe0, 0x91,
    0x5b, 0xc9, 0x4f, 0xbc, 0x32, 0x21, 0xa5, 0xdb, 0x94, 0xfa, 0xe9, 0x5a, 0xe7, 0x12, 0x1a, 0x47};
static const uint8_t gcm256_out[76] = {
    0x52, 0x2d, 0xc1, 0xf0, 0x99, 0x56, 0x7d, 0x07, 0xf4, 0x7f, 0x37, 0xa3, 0x2a, 0x84, 0x42,
    0x7d, 0x64, 0x3a, 0x8c, 0xdc, 0xbf, 0xe5, 0xc0, 0xc9, 0x75, 0x98, 0xa2, 0xbd, 0x25, 0x55,
    0xd1, 0xaa, 0x8c, 0xb0, 0x8e, 0x48, 0x59, 0x0d, 0xbb, 0x3d, 0xa7, 0xb0, 0x8b, 0x10, 0x56,
    0x82, 0x88, 0x38, 0xc5, 0xf6, 0x1e, 0x63, 0x93, 0xba, 0x7a, 0x0a, 0xbc, 0xc9, 0xf6, 0x62,
    0x76, 0xfc, 0x6e, 0xce, 0x0f, 0x4e, 0x17, 0x68, 0xcd, 0xdf, 0x88, 0x53, 0xbb, 0x2d, 0x55, 0x1b};
static const srtp_cipher_test_case_t gcm128_case = {
    28, gcm128_key, gcm_iv, 60, gcm_text, 76, gcm128_out, 20, gcm_aad, 16, NULL};
static const srtp_cipher_test_case_t gcm256_case = {
    44, gcm256_key, gcm_iv, 60, gcm_text, 76, gcm256_out, 20, gcm_aad, 16, NULL};

/* RFC 2202 test cases 1 and 6 (a key longer than a block). */
static const uint8_t hmac1_key[20] = {0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
                                      0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
                                      0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b};
static const uint8_t hmac1_tag[20] = {0xb6, 0x17, 0x31, 0x86, 0x55, 0x05, 0x72,
                                      0x64, 0xe2, 0x8b, 0xc0, 0xb6, 0xfb, 0x37,
                                      0x8c, 0x8e, 0xf1, 0x46, 0xbe, 0x00};
static uint8_t hmac6_key[80];
static const uint8_t hmac6_tag[20] = {0xaa, 0x4a, 0xe5, 0xe1, 0x52, 0x72, 0xd0,
                                      0x0e, 0x95, 0x70, 0x56, 0x37, 0xce, 0x8a,
                                      0x3b, 0x55, 0xed, 0x40, 0x21, 0x12};
static const char hmac6_data[] = "Test Using Larger Than Block-Size Key - Hash Key First";
static const srtp_auth_test_case_t hmac6_case = {
    80, hmac6_key, 54, (const uint8_t *)hmac6_data, 20, hmac6_tag, NULL};
static const srtp_auth_test_case_t hmac1_case = {
    20, hmac1_key, 8, (const uint8_t *)"Hi There", 20, hmac1_tag, &hmac6_case};

/* --- The types ------------------------------------------------------ */

#define ICM_TYPE(name, id, desc)                                                          \
    static const srtp_cipher_type_t name = {icm_alloc,  icm_dealloc, icm_init, NULL,      \
                                            icm_crypt,  icm_crypt,   icm_set_iv, NULL,   \
                                            desc,       &name##_tcase, id}
#define icm_128_tcase icm128_case
#define icm_192_tcase icm192_case
#define icm_256_tcase icm256_case
ICM_TYPE(icm_128, SRTP_AES_ICM_128, "AES-128 counter mode (libcrypto)");
ICM_TYPE(icm_192, SRTP_AES_ICM_192, "AES-192 counter mode (libcrypto)");
ICM_TYPE(icm_256, SRTP_AES_ICM_256, "AES-256 counter mode (libcrypto)");

static const srtp_cipher_type_t gcm_128 = {
    gcm_alloc,   gcm_dealloc, gcm_init, gcm_set_aad, gcm_encrypt, gcm_decrypt, gcm_set_iv,
    gcm_get_tag, "AES-128 GCM (libcrypto)", &gcm128_case, SRTP_AES_GCM_128};
static const srtp_cipher_type_t gcm_256 = {
    gcm_alloc,   gcm_dealloc, gcm_init, gcm_set_aad, gcm_encrypt, gcm_decrypt, gcm_set_iv,
    gcm_get_tag, "AES-256 GCM (libcrypto)", &gcm256_case, SRTP_AES_GCM_256};

static const srtp_auth_type_t hmac_sha1 = {
    hmac_alloc, hmac_dealloc, hmac_init, hmac_compute, hmac_update, hmac_start,
    "HMAC-SHA1 (libcrypto)", &hmac1_case, SRTP_HMAC_SHA1};

/* --- Registration ----------------------------------------------------- */

typedef struct cipher_pair {
    const srtp_cipher_type_t *ours, *theirs;
    srtp_cipher_type_id_t id;
} cipher_pair;

static const cipher_pair ciphers[] = {
    {&icm_128, &srtp_aes_icm_128, SRTP_AES_ICM_128},
    {&icm_192, &srtp_aes_icm_192, SRTP_AES_ICM_192},
    {&icm_256, &srtp_aes_icm_256, SRTP_AES_ICM_256},
    {&gcm_128, &srtp_aes_gcm_128, SRTP_AES_GCM_128},
    {&gcm_256, &srtp_aes_gcm_256, SRTP_AES_GCM_256},
};
#define N_CIPHERS (sizeof ciphers / sizeof ciphers[0])

static bool active;
static char name[64] = "libsrtp2 built-in";

static bool fetch_all(void)
{
    static const char *const ctr[3] = {"AES-128-CTR", "AES-192-CTR", "AES-256-CTR"};
    static const char *const gcm[2] = {"AES-128-GCM", "AES-256-GCM"};

    for (unsigned i = 0; i < 3; i++)
        if (!evp_ctr[i] && !(evp_ctr[i] = EVP_CIPHER_fetch(NULL, ctr[i], NULL)))
            return false;
    for (unsigned i = 0; i < 2; i++)
        if (!evp_gcm[i] && !(evp_gcm[i] = EVP_CIPHER_fetch(NULL, gcm[i], NULL)))
            return false;
    memset(hmac6_key, 0xaa, sizeof hmac6_key);
    return true;
}

static int register_set(bool libcrypto)
{
    unsigned done = 0;
    srtp_err_status_t e = srtp_err_status_ok;

    for (; done < N_CIPHERS && e == srtp_err_status_ok; done++) {
        const cipher_pair *c = &ciphers[done];
        e = srtp_replace_cipher_type(libcrypto ? c->ours : c->theirs, c->id);
    }
    if (e == srtp_err_status_ok)
        e = srtp_replace_auth_type(libcrypto ? &hmac_sha1 : &srtp_hmac, SRTP_HMAC_SHA1);
    if (e == srtp_err_status_ok)
        return 0;
    /* Put back what was there: the set stays one piece. */
    for (unsigned i = 0; i < done; i++) {
        const cipher_pair *c = &ciphers[i];
        (void)srtp_replace_cipher_type(active ? c->ours : c->theirs, c->id);
    }
    return -EIO;
}

int sn_srtp_ossl_use(bool libcrypto)
{
    int r;

    if (libcrypto && !fetch_all())
        return -EIO;
    r = register_set(libcrypto);
    if (r < 0)
        return r;
    active = libcrypto;
    if (libcrypto)
        snprintf(name, sizeof name, "libcrypto (%s)", OpenSSL_version(OPENSSL_VERSION));
    else
        snprintf(name, sizeof name, "libsrtp2 built-in");
    return 0;
}

int sn_srtp_ossl_self_test(void)
{
    if (!fetch_all())
        return -EIO;
    for (unsigned i = 0; i < N_CIPHERS; i++)
        if (srtp_cipher_type_self_test(ciphers[i].ours) != srtp_err_status_ok)
            return -EIO;
    return srtp_auth_type_self_test(&hmac_sha1) == srtp_err_status_ok ? 0 : -EIO;
}

const char *sn_srtp_ossl_name(void)
{
    return name;
}

bool sn_srtp_ossl_active(void)
{
    return active;
}
