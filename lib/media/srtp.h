/*
 * libsipnat - SRTP and SRTCP of one direction of one anchor leg, on
 * libsrtp2 (internal; the only file that includes <srtp2/srtp.h> is
 * srtp.c).
 *
 * libsrtp2 is process-global: srtp_init() runs once per process (through
 * pthread_once) the first time a session or a suite check needs it, and
 * srtp_shutdown() is never called, since the host or another library in
 * the process may use libsrtp2 too. libsrtp2's log handler is left as it
 * is: the library never installs one (it would be process-wide, and the
 * logs of a ctx belong to its own thread).
 *
 * The ciphers and the HMAC libsrtp2 runs are libcrypto's (srtp_ossl.h),
 * registered in the same initialisation, unless the environment
 * variable SIPNAT_SRTP_CRYPTO is "libsrtp2" when it runs, or libsrtp2
 * refused them: then libsrtp2's own (NSS in Debian's build) run.
 *
 * Packets are protected and unprotected in place. A buffer handed to
 * sn_srtp_protect() must have SN_SRTP_TAILROOM bytes after the packet
 * for the authentication tag (and the SRTCP index): MKI is never used,
 * so the trailer is at most 4 + 16 bytes.
 */
#ifndef SIPNAT_MEDIA_SRTP_H
#define SIPNAT_MEDIA_SRTP_H

#include "media/crypto_attr.h"

#define SN_SRTP_TAILROOM 32
/* Consecutive failed authentications an anchor reports as
 * SIPNAT_MEDIA_SRTP_FAILED. */
#define SN_SRTP_FAIL_REPORT 16

typedef struct sn_srtp sn_srtp;

/* What runs: "libcrypto (OpenSSL x.y.z ...)" or "libsrtp2 built-in". */
const char *sn_srtp_crypto_name(void);
/* Switch this process's libsrtp2 to libcrypto's ciphers or back to its
 * own (benchmarks and tests: it is process-wide). 0 or -EIO. */
int sn_srtp_crypto_select(bool libcrypto);

/* Whether this process's libsrtp2 can run `suite` (checked once, at run
 * time, by creating a session with it). */
bool sn_srtp_suite_available(sn_srtp_suite suite);

/* A session keyed with k, for packets we send (inbound false: any SSRC
 * we send) or receive (inbound true: any SSRC that authenticates).
 * 0, -ENOTSUP (suite not available), -EINVAL, -ENOMEM. */
int sn_srtp_new(sn_srtp **ret, const sn_crypto_key *k, bool inbound);
sn_srtp *sn_srtp_free(sn_srtp *s);

/* Protect p[0..*len) in place (room for SN_SRTP_TAILROOM more bytes);
 * *len grows. 0, or -EINVAL (not RTP/RTCP, too long) / -EIO. */
int sn_srtp_protect(sn_srtp *s, uint8_t *p, size_t *len, bool rtcp);

/* Unprotect in place; *len shrinks. 0; -EBADMSG when it does not
 * authenticate; -EALREADY for a replay (or one too old for the replay
 * window); -EINVAL when it is not SRTP/SRTCP at all. */
int sn_srtp_unprotect(sn_srtp *s, uint8_t *p, size_t *len, bool rtcp);

#endif
