/*
 * libsipnat - libcrypto (OpenSSL 3) ciphers and HMAC for libsrtp2
 * (internal; included by srtp.c and the tests only).
 *
 * Debian's libsrtp2 is built on NSS, whose AES counter mode sets up a
 * new cipher context for every packet: with many streams it runs at a
 * fraction of what the same libsrtp2 does on OpenSSL. libsrtp2 lets a
 * program swap the implementation behind each cipher and authentication
 * id (srtp_replace_cipher_type(), srtp_replace_auth_type(), from the
 * installed srtp2/cipher.h and srtp2/auth.h), so this file registers
 * libcrypto's AES-ICM (128, 192, 256 bit keys), AES-GCM (128, 256) and
 * an HMAC-SHA1 in their place. libsrtp2 keeps the protocol: the packet
 * format, key derivation (which runs on the AES-ICM registered here) and
 * replay protection.
 *
 * Every cipher and HMAC state is set up once, when libsrtp2 creates the
 * stream's keys: one EVP_CIPHER_CTX per cipher, re-armed with the
 * packet's IV; the HMAC keeps the SHA-1 states after the key's inner
 * and outer pads and copies them (plain structs) for each packet.
 * Nothing is allocated per packet.
 *
 * libsrtp2's crypto kernel is process-global: registration is too. It
 * runs once, from srtp.c's pthread_once initialisation, after
 * srtp_init(). libsrtp2 checks every replacement against its own test
 * vectors and against those of the type it replaces before accepting it.
 */
#ifndef SIPNAT_MEDIA_SRTP_OSSL_H
#define SIPNAT_MEDIA_SRTP_OSSL_H

#include <stdbool.h>

/* Register the libcrypto types (libcrypto true) or put libsrtp2's own
 * back (false). 0, or -EIO when libsrtp2 refused one (its self test
 * failed): whatever was registered before is then restored. Not
 * thread-safe with sessions being created meanwhile. */
int sn_srtp_ossl_use(bool libcrypto);

/* Run the known answers of every libcrypto type (RFC 3711 B.2, RFC 6188
 * 7.1 and 7.2, the GCM specification's cases 4 and 16, RFC 2202 cases 1
 * and 6) through libsrtp2's test driver, registered or not. 0 or -EIO. */
int sn_srtp_ossl_self_test(void);

/* "libcrypto (OpenSSL 3.0.13)" or "libsrtp2 built-in": what runs now. */
const char *sn_srtp_ossl_name(void);
bool sn_srtp_ossl_active(void);

#endif
