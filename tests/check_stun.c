/* libsipnat tests - STUN messages (lib/stun/message.c, on libnice's
 * codec): RFC 5769's test vectors through the functions the client uses,
 * and malformed or forged responses, each refused with its reason. */
#include "stun/message.h"
#include "media/rtp.h"

#include <check.h>
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ck_assert_ok(expr) ck_assert_int_eq((expr), 0)

/* RFC 5769 2.1: a request with USERNAME, MESSAGE-INTEGRITY (short-term
 * password "VOkJxbRl1RmTxUk/WvJxBt") and FINGERPRINT. */
static const uint8_t vec_request[] = {
    0x00, 0x01, 0x00, 0x58, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01,
    0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x10,
    0x53, 0x54, 0x55, 0x4e, 0x20, 0x74, 0x65, 0x73, 0x74, 0x20, 0x63, 0x6c,
    0x69, 0x65, 0x6e, 0x74, 0x00, 0x24, 0x00, 0x04, 0x6e, 0x00, 0x01, 0xff,
    0x80, 0x29, 0x00, 0x08, 0x93, 0x2f, 0xf9, 0xb1, 0x51, 0x26, 0x3b, 0x36,
    0x00, 0x06, 0x00, 0x09, 0x65, 0x76, 0x74, 0x6a, 0x3a, 0x68, 0x36, 0x76,
    0x59, 0x20, 0x20, 0x20, 0x00, 0x08, 0x00, 0x14, 0x9a, 0xea, 0xa7, 0x0c,
    0xbf, 0xd8, 0xcb, 0x56, 0x78, 0x1e, 0xf2, 0xb5, 0xb2, 0xd3, 0xf2, 0x49,
    0xc1, 0xb5, 0x71, 0xa2, 0x80, 0x28, 0x00, 0x04, 0xe5, 0x7a, 0x3b, 0xcf,
};

/* RFC 5769 2.2: the IPv4 response, XOR-MAPPED-ADDRESS 192.0.2.1:32853. */
static const uint8_t vec_response4[] = {
    0x01, 0x01, 0x00, 0x3c, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01,
    0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b,
    0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20,
    0x00, 0x20, 0x00, 0x08, 0x00, 0x01, 0xa1, 0x47, 0xe1, 0x12, 0xa6, 0x43,
    0x00, 0x08, 0x00, 0x14, 0x2b, 0x91, 0xf5, 0x99, 0xfd, 0x9e, 0x90, 0xc3,
    0x8c, 0x74, 0x89, 0xf9, 0x2a, 0xf9, 0xba, 0x53, 0xf0, 0x6b, 0xe7, 0xd7,
    0x80, 0x28, 0x00, 0x04, 0xc0, 0x7d, 0x4c, 0x96,
};

/* RFC 5769 2.3: the IPv6 response, [2001:db8:1234:5678:11:2233:4455:6677]:32853. */
static const uint8_t vec_response6[] = {
    0x01, 0x01, 0x00, 0x48, 0x21, 0x12, 0xa4, 0x42, 0xb7, 0xe7, 0xa7, 0x01,
    0xbc, 0x34, 0xd6, 0x86, 0xfa, 0x87, 0xdf, 0xae, 0x80, 0x22, 0x00, 0x0b,
    0x74, 0x65, 0x73, 0x74, 0x20, 0x76, 0x65, 0x63, 0x74, 0x6f, 0x72, 0x20,
    0x00, 0x20, 0x00, 0x14, 0x00, 0x02, 0xa1, 0x47, 0x01, 0x13, 0xa9, 0xfa,
    0xa5, 0xd3, 0xf1, 0x79, 0xbc, 0x25, 0xf4, 0xb5, 0xbe, 0xd2, 0xb9, 0xd9,
    0x00, 0x08, 0x00, 0x14, 0xa3, 0x82, 0x95, 0x4e, 0x4b, 0xe6, 0x7b, 0xf1,
    0x17, 0x84, 0xc9, 0x7c, 0x82, 0x92, 0xc2, 0x75, 0xbf, 0xe3, 0xed, 0x41,
    0x80, 0x28, 0x00, 0x04, 0xc8, 0xfb, 0x0b, 0x4c,
};

static const char vec_password[] = "VOkJxbRl1RmTxUk/WvJxBt";

/* The vectors' transaction ID: bytes 8-19. */
static const uint8_t *vec_tid = vec_response4 + 8;

/* An agent that sent the vectors' request (our Binding, with their ID). */
static sn_stun_agent *agent_expecting(void)
{
    sn_stun_agent *a;
    uint8_t buf[128], key[SN_STUN_KEY_LEN];
    int n;

    ck_assert_ok(sn_stun_agent_new(&a));
    n = sn_stun_request(a, vec_tid, buf, sizeof buf, key);
    ck_assert_int_gt(n, 20);
    ck_assert(sn_rtp_is_stun(buf, (size_t)n));
    ck_assert_mem_eq(buf + 8, vec_tid, SN_STUN_TID_LEN);
    ck_assert_mem_eq(key + 4, vec_tid, SN_STUN_TID_LEN);
    /* Binding request, the magic cookie, the length field right. */
    ck_assert_int_eq(buf[0], 0x00);
    ck_assert_int_eq(buf[1], 0x01);
    ck_assert_int_eq((buf[2] << 8 | buf[3]) + 20, n);
    return a;
}

START_TEST(test_vector_request)
{
    char user[64];

    ck_assert_ok(sn_stun_check_request(vec_request, sizeof vec_request, vec_password,
                                       user, sizeof user));
    ck_assert_str_eq(user, "evtj:h6vY");
    /* Another password: the HMAC does not match. */
    ck_assert_int_eq(sn_stun_check_request(vec_request, sizeof vec_request,
                                           "VOkJxbRl1RmTxUk/WvJxBu", user, sizeof user),
                     -EACCES);
    /* One bit changed anywhere: the FINGERPRINT (checked first) fails. */
    uint8_t bad[sizeof vec_request];
    memcpy(bad, vec_request, sizeof bad);
    bad[30] ^= 0x01;
    ck_assert_int_eq(sn_stun_check_request(bad, sizeof bad, vec_password, user,
                                           sizeof user),
                     -EBADMSG);
    /* A response is no request. */
    ck_assert_int_eq(sn_stun_check_request(vec_response4, sizeof vec_response4,
                                           vec_password, user, sizeof user),
                     -EBADMSG);
}
END_TEST

START_TEST(test_vector_response4)
{
    sn_stun_agent *a = agent_expecting();
    struct sockaddr_storage ss;
    struct sockaddr_in *m4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *m6 = (struct sockaddr_in6 *)&ss;
    (void)m4;
    (void)m6;

    ck_assert_ok(sn_stun_response(a, vec_response4, sizeof vec_response4, &ss));
    ck_assert_int_eq(ss.ss_family, AF_INET);
    ck_assert_int_eq(ntohs(m4->sin_port), 32853);
    ck_assert_uint_eq(ntohl(m4->sin_addr.s_addr), 0xc0000201u); /* 192.0.2.1 */
    /* Answered once: a copy answers nothing any more. */
    ck_assert_int_eq(sn_stun_response(a, vec_response4, sizeof vec_response4, &ss), -ESRCH);
    sn_stun_agent_free(a);
}
END_TEST

START_TEST(test_vector_response6)
{
    static const uint8_t want[16] = {0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0x56, 0x78,
                                     0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77};
    sn_stun_agent *a = agent_expecting();
    struct sockaddr_storage ss;
    struct sockaddr_in *m4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *m6 = (struct sockaddr_in6 *)&ss;
    (void)m4;
    (void)m6;

    ck_assert_ok(sn_stun_response(a, vec_response6, sizeof vec_response6, &ss));
    ck_assert_int_eq(ss.ss_family, AF_INET6);
    ck_assert_int_eq(ntohs(m6->sin6_port), 32853);
    ck_assert_mem_eq(&m6->sin6_addr, want, 16);
    sn_stun_agent_free(a);
}
END_TEST

/* A response to a request this agent never sent, or forgot. */
START_TEST(test_unmatched)
{
    sn_stun_agent *a;
    struct sockaddr_storage ss;
    struct sockaddr_in *m4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *m6 = (struct sockaddr_in6 *)&ss;
    (void)m4;
    (void)m6;
    uint8_t buf[128], key[SN_STUN_KEY_LEN];

    ck_assert_ok(sn_stun_agent_new(&a));
    ck_assert_int_eq(sn_stun_response(a, vec_response4, sizeof vec_response4, &ss), -ESRCH);
    ck_assert_int_gt(sn_stun_request(a, vec_tid, buf, sizeof buf, key), 0);
    sn_stun_forget(a, key);
    ck_assert_int_eq(sn_stun_response(a, vec_response4, sizeof vec_response4, &ss), -ESRCH);
    sn_stun_agent_free(a);
}
END_TEST

/* Damaged copies of the IPv4 response: each refused, none taken. */
START_TEST(test_malformed)
{
    uint8_t bad[sizeof vec_response4 + 8];
    struct sockaddr_storage ss;
    struct sockaddr_in *m4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *m6 = (struct sockaddr_in6 *)&ss;
    (void)m4;
    (void)m6;
    sn_stun_agent *a = agent_expecting();

    /* Too short for a header, RTP's first byte, no magic cookie. */
    ck_assert_int_eq(sn_stun_response(a, vec_response4, 19, &ss), -EBADMSG);
    memcpy(bad, vec_response4, sizeof vec_response4);
    bad[0] = 0x80;
    ck_assert_int_eq(sn_stun_response(a, bad, sizeof vec_response4, &ss), -EBADMSG);
    memcpy(bad, vec_response4, sizeof vec_response4);
    bad[5] ^= 0xff;
    ck_assert_int_eq(sn_stun_response(a, bad, sizeof vec_response4, &ss), -EBADMSG);
    /* Truncated: the length field says more than came. */
    ck_assert_int_eq(sn_stun_response(a, vec_response4, sizeof vec_response4 - 8, &ss),
                     -EBADMSG);
    /* Trailing bytes beyond the length field. */
    memcpy(bad, vec_response4, sizeof vec_response4);
    memset(bad + sizeof vec_response4, 0, 8);
    ck_assert_int_eq(sn_stun_response(a, bad, sizeof bad, &ss), -EBADMSG);
    /* The mapped address changed in flight: FINGERPRINT fails. */
    memcpy(bad, vec_response4, sizeof vec_response4);
    bad[47] ^= 0x01;
    ck_assert_int_eq(sn_stun_response(a, bad, sizeof vec_response4, &ss), -EBADMSG);
    /* An attribute length running past the end. */
    memcpy(bad, vec_response4, sizeof vec_response4);
    bad[39] = 0xf0;
    ck_assert_int_eq(sn_stun_response(a, bad, sizeof vec_response4, &ss), -EBADMSG);
    /* Still pending: the genuine answer is taken after all that. */
    ck_assert_ok(sn_stun_response(a, vec_response4, sizeof vec_response4, &ss));
    ck_assert_int_eq(ntohs(m4->sin_port), 32853);
    sn_stun_agent_free(a);
}
END_TEST

/* RFC 7983's demultiplexing: STUN against RTP, RTCP and DTLS. */
START_TEST(test_looks_like)
{
    uint8_t rtp[172] = {0x80, 0x00};
    uint8_t dtls[40] = {0x16, 0xfe, 0xfd};

    ck_assert(sn_rtp_is_stun(vec_response4, sizeof vec_response4));
    ck_assert(sn_rtp_is_stun(vec_request, sizeof vec_request));
    ck_assert(!sn_rtp_is_stun(vec_request, 19));
    ck_assert(!sn_rtp_is_stun(rtp, sizeof rtp));
    memcpy(rtp + 4, vec_request + 4, 4); /* the cookie alone is not enough */
    ck_assert(!sn_rtp_is_stun(rtp, sizeof rtp));
    ck_assert(!sn_rtp_is_stun(dtls, sizeof dtls));
}
END_TEST

/* A request of ours filed 200 times fills libnice's table; forgetting
 * frees it again (the client forgets every request given up). */
START_TEST(test_agent_slots)
{
    sn_stun_agent *a;
    uint8_t buf[128], keys[200][SN_STUN_KEY_LEN], key[SN_STUN_KEY_LEN];
    int filled = 0;

    ck_assert_ok(sn_stun_agent_new(&a));
    for (int i = 0; i < 200; i++)
        if (sn_stun_request(a, NULL, buf, sizeof buf, keys[i]) > 0)
            filled++;
    ck_assert_int_eq(filled, 200);
    ck_assert_int_lt(sn_stun_request(a, NULL, buf, sizeof buf, key), 0);
    sn_stun_forget(a, keys[7]);
    ck_assert_int_gt(sn_stun_request(a, NULL, buf, sizeof buf, key), 0);
    sn_stun_agent_free(a);
}
END_TEST

TCase *turn_msg_tcase(void); /* check_turn_msg.c */

static Suite *stun_suite(void)
{
    Suite *s = suite_create("stun");
    TCase *tc = tcase_create("message");

    tcase_add_test(tc, test_vector_request);
    tcase_add_test(tc, test_vector_response4);
    tcase_add_test(tc, test_vector_response6);
    tcase_add_test(tc, test_unmatched);
    tcase_add_test(tc, test_malformed);
    tcase_add_test(tc, test_looks_like);
    tcase_add_test(tc, test_agent_slots);
    suite_add_tcase(s, tc);
    suite_add_tcase(s, turn_msg_tcase());
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(stun_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
