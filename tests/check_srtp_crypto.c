/* libsipnat tests - the two crypto paths under libsrtp2 (srtp_ossl.c):
 * libcrypto's ciphers and HMAC registered into libsrtp2, and libsrtp2's
 * own (NSS in Debian's build). Known answers of each type (RFC 3711 B.2,
 * RFC 6188, the GCM specification, RFC 2202), an SRTP packet built from
 * RFC 3711 B.3's keys and checked against a reference computed here with
 * OpenSSL's one-shot AES-CTR and HMAC, and packets protected by one path
 * and unprotected by the other, for every suite. Part of check_srtp. */
#include "config.h"

#include <check.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "media/crypto_attr.h"
#include "media/rtp.h"
#include "media/srtp.h"
#include "media/srtp_ossl.h"

#include "check_srtp_crypto.h"

#define ok(expr) ck_assert_int_eq((expr), 0)

static void hex(const char *s, uint8_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        ck_assert_int_eq(sscanf(s + 2 * i, "%2x", &v), 1);
        out[i] = (uint8_t)v;
    }
}

START_TEST(test_crypto_known_answers)
{
    ok(sn_srtp_ossl_self_test());
    /* Registration reruns them, and libsrtp2 adds the test vectors of the
     * types it replaces. */
    ok(sn_srtp_crypto_select(true));
    ck_assert(sn_srtp_ossl_active());
    ck_assert(strncmp(sn_srtp_crypto_name(), "libcrypto (OpenSSL 3", 20) == 0);
    ok(sn_srtp_crypto_select(false));
    ck_assert(!sn_srtp_ossl_active());
    ck_assert_str_eq(sn_srtp_crypto_name(), "libsrtp2 built-in");
    ok(sn_srtp_crypto_select(true));
}
END_TEST

/* RFC 3711 B.3: master key and salt, and the session keys they derive
 * (cipher key, salt, the first 20 octets of the authentication key). */
#define B3_MASTER "E1F97A0D3E018BE0D64FA32C06DE41390EC675AD498AFEEBB6960B3AABE6"
#define B3_CIPHER "C61E7A93744F39EE10734AFE3FF7A087"
#define B3_SALT "30CBBC08863D8C85D49DB34A9AE1"
#define B3_AUTH "CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4"

/* RFC 3711 3.1, 4.1.1, 4.2: what the SRTP packet of (seq, ssrc, ROC 0)
 * with this payload must be, computed without libsrtp2. */
static size_t reference_packet(uint16_t seq, uint32_t ssrc, const uint8_t *payload,
                               size_t plen, uint8_t *out)
{
    uint8_t key[16], salt[14], auth[20], iv[16] = {0}, roc[4] = {0}, mac[20];
    unsigned maclen = 0;
    int n = 0;
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();

    hex(B3_CIPHER, key, 16);
    hex(B3_SALT, salt, 14);
    hex(B3_AUTH, auth, 20);
    sn_rtp_write_header(out, 0, false, seq, 0x11223344u, ssrc);
    /* IV = (salt * 2^16) XOR (SSRC * 2^64) XOR (index * 2^16) */
    memcpy(iv, salt, 14);
    for (int i = 0; i < 4; i++)
        iv[4 + i] ^= (uint8_t)(ssrc >> (24 - 8 * i));
    iv[12] ^= (uint8_t)(seq >> 8);
    iv[13] ^= (uint8_t)seq;
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(EVP_EncryptInit_ex(c, EVP_aes_128_ctr(), NULL, key, iv), 1);
    ck_assert_int_eq(EVP_EncryptUpdate(c, out + SN_RTP_HEADER, &n, payload, (int)plen), 1);
    EVP_CIPHER_CTX_free(c);
    /* The tag: HMAC-SHA1 over the packet and the ROC, 80 bits. */
    memcpy(out + SN_RTP_HEADER + plen, roc, 4);
    ck_assert_ptr_nonnull(HMAC(EVP_sha1(), auth, 20, out, SN_RTP_HEADER + plen + 4, mac, &maclen));
    memcpy(out + SN_RTP_HEADER + plen, mac, 10);
    return SN_RTP_HEADER + plen + 10;
}

/* The same packet from both paths, and both paths take it back. */
START_TEST(test_crypto_rfc3711_packet)
{
    sn_crypto_key k = {.tag = 1, .suite = SN_SRTP_AES_CM_128_HMAC_SHA1_80, .key_len = 30};
    uint8_t payload[160], want[256], p[256 + SN_SRTP_TAILROOM];

    hex(B3_MASTER, k.key, 30);
    for (unsigned i = 0; i < sizeof payload; i++)
        payload[i] = (uint8_t)(i * 7 + 1);
    for (int path = 0; path < 2; path++) {
        sn_srtp *tx, *rx;

        ok(sn_srtp_crypto_select(path == 0));
        ok(sn_srtp_new(&tx, &k, false));
        ok(sn_srtp_new(&rx, &k, true));
        for (uint16_t seq = 0x1230; seq < 0x1238; seq++) {
            size_t wlen = reference_packet(seq, 0xcafe0001u, payload, sizeof payload, want);
            size_t len = SN_RTP_HEADER + sizeof payload;

            sn_rtp_write_header(p, 0, false, seq, 0x11223344u, 0xcafe0001u);
            memcpy(p + SN_RTP_HEADER, payload, sizeof payload);
            ok(sn_srtp_protect(tx, p, &len, false));
            ck_assert_uint_eq(len, wlen);
            ck_assert(memcmp(p, want, wlen) == 0);
            ok(sn_srtp_unprotect(rx, p, &len, false));
            ck_assert_uint_eq(len, SN_RTP_HEADER + sizeof payload);
            ck_assert(memcmp(p + SN_RTP_HEADER, payload, sizeof payload) == 0);
        }
        sn_srtp_free(tx);
        sn_srtp_free(rx);
    }
    ok(sn_srtp_crypto_select(true));
}
END_TEST

/* Protect n RTP and RTCP packets with `tx`, unprotect them with `rx`;
 * the protected bytes go to out (n slots of 256) for comparison. */
static void cross(sn_srtp *tx, sn_srtp *rx, uint8_t (*out)[256], size_t *lens, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        bool rtcp = i % 4 == 3;
        uint8_t p[256], plain[200];
        size_t plen = rtcp ? 28 : 12 + 20 * (i % 9), len = plen;

        if (rtcp) {
            static const uint8_t rr[8] = {0x80, 201, 0, 6, 0x00, 0x00, 0x51, 0x50};
            memset(plain, (int)i, sizeof plain);
            memcpy(plain, rr, sizeof rr);
        } else {
            sn_rtp_write_header(plain, 0, false, (uint16_t)(100 + i), i * 160u, 0x5150);
            memset(plain + SN_RTP_HEADER, (int)i, plen - SN_RTP_HEADER);
        }
        memcpy(p, plain, plen);
        ok(sn_srtp_protect(tx, p, &len, rtcp));
        memcpy(out[i], p, len);
        lens[i] = len;
        ok(sn_srtp_unprotect(rx, p, &len, rtcp));
        ck_assert_uint_eq(len, plen);
        ck_assert(memcmp(p, plain, plen) == 0);
    }
}

START_TEST(test_crypto_paths_interoperate)
{
    enum { N = 40 };
    static uint8_t a[N][256], b[N][256];
    size_t alen[N], blen[N];

    for (int s = 1; s <= SN_SRTP_SUITES; s++) {
        sn_crypto_key k;
        sn_srtp *tx_ossl, *rx_ossl, *tx_nss, *rx_nss;

        if (!sn_srtp_suite_available((sn_srtp_suite)s))
            continue;
        ok(sn_crypto_key_random(&k, 1, (sn_srtp_suite)s));
        ok(sn_srtp_crypto_select(true));
        ok(sn_srtp_new(&tx_ossl, &k, false));
        ok(sn_srtp_new(&rx_ossl, &k, true));
        ok(sn_srtp_crypto_select(false));
        ok(sn_srtp_new(&tx_nss, &k, false));
        ok(sn_srtp_new(&rx_nss, &k, true));
        /* libcrypto protects, libsrtp2's own unprotects, and back. */
        cross(tx_ossl, rx_nss, a, alen, N);
        cross(tx_nss, rx_ossl, b, blen, N);
        for (unsigned i = 0; i < N; i++) {
            ck_assert_uint_eq(alen[i], blen[i]);
            ck_assert_msg(memcmp(a[i], b[i], alen[i]) == 0, "suite %d packet %u differs", s, i);
        }
        sn_srtp_free(tx_ossl);
        sn_srtp_free(rx_ossl);
        sn_srtp_free(tx_nss);
        sn_srtp_free(rx_nss);
    }
    ok(sn_srtp_crypto_select(true));
}
END_TEST

TCase *srtp_crypto_tcase(void)
{
    TCase *tc = tcase_create("crypto paths");

    tcase_add_test(tc, test_crypto_known_answers);
    tcase_add_test(tc, test_crypto_rfc3711_packet);
    tcase_add_test(tc, test_crypto_paths_interoperate);
    return tc;
}
