/*
 * libsipnat - RFC 4568 SDES keying: the a=crypto attribute's suite and
 * key parameters, parsed into keys and printed back (internal). Pure C:
 * no libsrtp2 here (lib/media/srtp.c turns an sn_crypto_key into a
 * libsrtp2 session).
 *
 * What is accepted, from the line's value after the tag and suite:
 *   inline:<base64 master key || master salt>[|<lifetime>]
 * with exactly the key length of the suite, in standard base64 with its
 * padding; the lifetime as a decimal or "2^N", 1 <= lifetime <= 2^48
 * (libsrtp2 enforces its own, lower, key usage limits on top). Refused,
 * so that the next a=crypto line is tried (and a 488 when none is left):
 * an MKI (`|1:4`; keys are never changed under a call, so we have no use
 * for one), more than one key parameter, any key method but inline, and
 * every session parameter but WSH (UNENCRYPTED_*, KDR, FEC_* change what
 * is protected, and we do not offer them).
 */
#ifndef SIPNAT_MEDIA_CRYPTO_ATTR_H
#define SIPNAT_MEDIA_CRYPTO_ATTR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum sn_srtp_suite {
    SN_SRTP_NONE = 0,
    SN_SRTP_AES_CM_128_HMAC_SHA1_80,
    SN_SRTP_AES_CM_128_HMAC_SHA1_32,
    SN_SRTP_AEAD_AES_128_GCM,
    SN_SRTP_AEAD_AES_256_GCM,
} sn_srtp_suite;
#define SN_SRTP_SUITES 4            /* suites 1..SN_SRTP_SUITES */

#define SN_SRTP_KEY_MAX 44          /* 256-bit key and 96-bit salt */
#define SN_CRYPTO_ATTR_MAX 128      /* a printed a=crypto value, with NUL */

/* One direction's master key and salt, as RFC 4568 carries them. */
typedef struct sn_crypto_key {
    uint32_t tag;
    sn_srtp_suite suite;
    uint8_t key[SN_SRTP_KEY_MAX];   /* master key || master salt */
    size_t key_len;
} sn_crypto_key;

/* The suite's RFC 4568 / RFC 7714 name, "" for SN_SRTP_NONE. */
const char *sn_srtp_suite_name(sn_srtp_suite suite);
/* Case-sensitive as RFC 4568's grammar; SN_SRTP_NONE when unknown. */
sn_srtp_suite sn_srtp_suite_from_name(const char *name);
/* Bytes of master key plus salt; 0 for SN_SRTP_NONE. */
size_t sn_srtp_suite_key_len(sn_srtp_suite suite);

/* Parse the part of an a=crypto value after the suite (key parameters
 * and session parameters, as sn_crypto.params holds it). 0 and *out set;
 * -ENOTSUP for an unknown suite or a parameter we refuse (MKI, several
 * keys, another key method, a session parameter); -EINVAL when the text
 * is malformed (bad base64, wrong key length, bad lifetime). */
int sn_crypto_parse(uint32_t tag, const char *suite, const char *params,
                    sn_crypto_key *out);
/* A whole a=crypto value: "<tag> <suite> <params>". Same returns. */
int sn_crypto_parse_attr(const char *value, sn_crypto_key *out);

/* "inline:<base64>" into buf: the length written, or -ENOSPC. */
int sn_crypto_format_params(const sn_crypto_key *k, char *buf, size_t size);
/* "<tag> <suite> inline:<base64>" into buf: the length, or -ENOSPC. */
int sn_crypto_format_attr(const sn_crypto_key *k, char *buf, size_t size);

/* Wipe a key (explicit_bzero, not optimised away). */
void sn_crypto_key_clear(sn_crypto_key *k);

/* A fresh key of `suite` from getrandom(): 0, -EINVAL, or the error of
 * getrandom() (never a weaker source). */
int sn_crypto_key_random(sn_crypto_key *k, uint32_t tag, sn_srtp_suite suite);

#endif
