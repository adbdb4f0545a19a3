/* libsipnat tests - the crypto-path cases of check_srtp. */
#ifndef SIPNAT_TESTS_CHECK_SRTP_CRYPTO_H
#define SIPNAT_TESTS_CHECK_SRTP_CRYPTO_H

#include <check.h>

TCase *srtp_crypto_tcase(void);

#endif
