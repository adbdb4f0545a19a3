/* libsipnat tests - ICE candidates and credentials as SDP writes them
 * (lib/ice/candidate.c, RFC 8839 5.1 and 5.4, RFC 8445 5.1.2): lines as
 * real peers send them (RFC 8839's examples, baresip, browsers), each
 * malformed one refused with its reason, and the priority formula. */
#include "ice/candidate.h"

#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#define ck_assert_ok(expr) ck_assert_int_eq((expr), 0)

static void ck_addr(const sn_addr *a, const char *want)
{
    char buf[64];

    ck_assert_int_ge(sn_addr_format(a, buf, sizeof buf), 0);
    ck_assert_str_eq(buf, want);
}

START_TEST(test_parse_good)
{
    sn_ice_cand c;
    char why[200];

    /* RFC 8839 appendix: a host candidate, then a server-reflexive one. */
    ck_assert_ok(sn_ice_cand_parse("1 1 UDP 2130706431 203.0.113.141 8998 typ host", &c,
                                   why, sizeof why));
    ck_assert_str_eq(c.foundation, "1");
    ck_assert_uint_eq(c.component, 1);
    ck_assert_uint_eq(c.priority, 2130706431u);
    ck_addr(&c.addr, "203.0.113.141");
    ck_assert_uint_eq(c.port, 8998);
    ck_assert_int_eq(c.type, SN_ICE_HOST);
    ck_assert(!c.has_related);
    ck_assert_ok(sn_ice_cand_parse(
        "2 1 UDP 1694498815 192.0.2.3 45664 typ srflx raddr 203.0.113.141 rport 8998", &c,
        why, sizeof why));
    ck_assert_int_eq(c.type, SN_ICE_SRFLX);
    ck_assert(c.has_related);
    ck_addr(&c.raddr, "203.0.113.141");
    ck_assert_uint_eq(c.rport, 8998);
    /* baresip's relayed candidate, lower-case transport. */
    ck_assert_ok(sn_ice_cand_parse("ae5f6a7e 2 udp 16777214 203.0.113.3 49170 typ relay "
                                   "raddr 198.51.100.5 rport 40002",
                                   &c, why, sizeof why));
    ck_assert_str_eq(c.foundation, "ae5f6a7e");
    ck_assert_uint_eq(c.component, 2);
    ck_assert_int_eq(c.type, SN_ICE_RELAY);
    /* A browser's: IPv6, extensions after the type, raddr 0.0.0.0. */
    ck_assert_ok(sn_ice_cand_parse("842163049 1 udp 1677729535 2001:db8::7 61665 typ srflx "
                                   "raddr 0.0.0.0 rport 0 generation 0 ufrag EsAw "
                                   "network-cost 999",
                                   &c, why, sizeof why));
    ck_addr(&c.addr, "2001:db8::7");
    ck_assert_uint_eq(c.rport, 0);
    ck_assert_ok(sn_ice_cand_parse("x+/Z 256 UDP 1 10.0.0.1 1 typ prflx", &c, why,
                                   sizeof why));
    ck_assert_uint_eq(c.component, 256);
    ck_assert_int_eq(c.type, SN_ICE_PRFLX);
    /* Several blanks between fields are taken too. */
    ck_assert_ok(sn_ice_cand_parse("1  1 UDP  2130706431 192.0.2.10   5000 typ host", &c,
                                   why, sizeof why));
}
END_TEST

START_TEST(test_parse_bad)
{
    static const struct {
        const char *line;
        int err;
        const char *why; /* a word the reason must hold */
    } cases[] = {
        {"", -EBADMSG, "fields"},
        {"1 1 UDP 2130706431 192.0.2.1 5000 typ", -EBADMSG, "fields"},
        {"1 1 UDP 2130706431 192.0.2.1 5000 host x", -EBADMSG, "typ"},
        {"f*o 1 UDP 2130706431 192.0.2.1 5000 typ host", -EBADMSG, "foundation"},
        {"123456789012345678901234567890123 1 UDP 1 192.0.2.1 5000 typ host", -EBADMSG,
         "foundation"},
        {"1 0 UDP 2130706431 192.0.2.1 5000 typ host", -EBADMSG, "component"},
        {"1 257 UDP 2130706431 192.0.2.1 5000 typ host", -EBADMSG, "component"},
        {"1 -1 UDP 2130706431 192.0.2.1 5000 typ host", -EBADMSG, "component"},
        {"1 1 UDP 0 192.0.2.1 5000 typ host", -EBADMSG, "priority"},
        {"1 1 UDP 2147483648 192.0.2.1 5000 typ host", -EBADMSG, "priority"},
        {"1 1 UDP 99999999999 192.0.2.1 5000 typ host", -EBADMSG, "priority"},
        {"1 1 UDP 12a 192.0.2.1 5000 typ host", -EBADMSG, "priority"},
        {"1 1 UDP 1 192.0.2.300 5000 typ host", -EBADMSG, "address"},
        {"1 1 UDP 1 192.0.2.1 0 typ host", -EBADMSG, "port"},
        {"1 1 UDP 1 192.0.2.1 65536 typ host", -EBADMSG, "port"},
        {"1 1 UDP 1 192.0.2.1 5000 typ srflx raddr 192.0.2.9", -EBADMSG, "rport"},
        {"1 1 UDP 1 192.0.2.1 5000 typ srflx rport 9", -EBADMSG, "raddr"},
        {"1 1 UDP 1 192.0.2.1 5000 typ srflx raddr x!y rport 9", -EBADMSG, "raddr"},
        {"1 1 UDP 1 192.0.2.1 5000 typ srflx raddr 192.0.2.9 rport 70000", -EBADMSG,
         "rport"},
        {"1 1 UDP 1 192.0.2.1 5000 typ host generation", -EBADMSG, "value"},
        {"1 1 UDP 1 192.0.2.1 5000 typ host generation 0 raddr 192.0.2.9", -EBADMSG,
         "raddr"},
        {"1 1 U;P 1 192.0.2.1 5000 typ host", -EBADMSG, "transport"},
        /* Well formed, not for this library. */
        {"1 1 TCP 1 192.0.2.1 9 typ host tcptype active", -ENOTSUP, "TCP"},
        {"1 1 UDP 1 6f1c0a4b-e2b3-4d5e.local 5000 typ host", -ENOTSUP, "mDNS"},
        {"1 1 UDP 1 turn.example.com 5000 typ relay", -ENOTSUP, "name"},
        {"1 1 UDP 1 192.0.2.1 5000 typ nat64", -ENOTSUP, "unknown"},
    };
    sn_ice_cand c;
    char why[200];

    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int r = sn_ice_cand_parse(cases[i].line, &c, why, sizeof why);
        ck_assert_msg(r == cases[i].err, "'%s': %d (%s)", cases[i].line, r, why);
        ck_assert_msg(strstr(why, cases[i].why), "'%s': reason '%s' lacks '%s'",
                      cases[i].line, why, cases[i].why);
    }
    /* Longer than any line a peer writes. */
    char longline[1200];
    memset(longline, 'a', sizeof longline - 1);
    longline[sizeof longline - 1] = '\0';
    ck_assert_int_eq(sn_ice_cand_parse(longline, &c, why, sizeof why), -EBADMSG);
    ck_assert_int_eq(sn_ice_cand_parse(NULL, &c, NULL, 0), -EINVAL);
    /* No reason buffer: still refused. */
    ck_assert_int_eq(sn_ice_cand_parse("1 0 UDP 1 192.0.2.1 5000 typ host", &c, NULL, 0),
                     -EBADMSG);
}
END_TEST

START_TEST(test_format_round_trip)
{
    static const char *const lines[] = {
        "1 1 UDP 2130706431 203.0.113.141 8998 typ host",
        "2 1 UDP 1694498815 192.0.2.3 45664 typ srflx raddr 203.0.113.141 rport 8998",
        "r1 2 UDP 16777214 2001:db8::3 49170 typ relay raddr 2001:db8::9 rport 40002",
    };
    sn_ice_cand c, again;
    char buf[256];

    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        ck_assert_ok(sn_ice_cand_parse(lines[i], &c, NULL, 0));
        ck_assert_int_eq(sn_ice_cand_format(&c, buf, sizeof buf), (int)strlen(lines[i]));
        ck_assert_str_eq(buf, lines[i]);
        ck_assert_ok(sn_ice_cand_parse(buf, &again, NULL, 0));
        ck_assert_mem_eq(&again, &c, sizeof c);
    }
    ck_assert_int_eq(sn_ice_cand_format(&c, buf, 10), -ENOSPC);
    c.priority = 0;
    ck_assert_int_eq(sn_ice_cand_format(&c, buf, sizeof buf), -EINVAL);
}
END_TEST

START_TEST(test_credentials)
{
    char pwd[300];

    ck_assert(sn_ice_ufrag_valid("F7gI"));
    ck_assert(sn_ice_ufrag_valid("a+/9"));
    ck_assert(!sn_ice_ufrag_valid("abc"));
    ck_assert(!sn_ice_ufrag_valid("ab-c"));
    ck_assert(!sn_ice_ufrag_valid(""));
    ck_assert(!sn_ice_ufrag_valid(NULL));
    ck_assert(sn_ice_pwd_valid("x9cml/YzichV2+XlhiMu8g"));
    ck_assert(!sn_ice_pwd_valid("x9cml/YzichV2+XlhiMu8")); /* 21 chars */
    ck_assert(!sn_ice_pwd_valid("x9cml/YzichV2+XlhiMu8g "));
    memset(pwd, 'p', 256);
    pwd[256] = '\0';
    ck_assert(sn_ice_pwd_valid(pwd));
    pwd[256] = 'p';
    pwd[257] = '\0';
    ck_assert(!sn_ice_pwd_valid(pwd));
}
END_TEST

START_TEST(test_priority)
{
    /* RFC 8445 5.1.2.1, with the recommended type preferences and a
     * local preference of 65535: the numbers peers send. */
    ck_assert_uint_eq(sn_ice_priority(sn_ice_type_pref(SN_ICE_HOST), 65535, 1), 2130706431u);
    ck_assert_uint_eq(sn_ice_priority(sn_ice_type_pref(SN_ICE_HOST), 65535, 2), 2130706430u);
    ck_assert_uint_eq(sn_ice_priority(sn_ice_type_pref(SN_ICE_SRFLX), 65535, 1), 1694498815u);
    ck_assert_uint_eq(sn_ice_priority(sn_ice_type_pref(SN_ICE_PRFLX), 65535, 1), 1862270975u);
    ck_assert_uint_eq(sn_ice_priority(sn_ice_type_pref(SN_ICE_RELAY), 65535, 1), 16777215u);
    /* Out of range inputs are clamped, never overflow past 2^31-1. */
    ck_assert_uint_le(sn_ice_priority(1000, 1000000, 0), 0x7fffffffu);
    ck_assert_str_eq(sn_ice_ctype_name(SN_ICE_RELAY), "relay");
}
END_TEST

void ice_agent_tests(Suite *s);

static Suite *ice_suite(void)
{
    Suite *s = suite_create("ice");
    TCase *tc = tcase_create("candidate");

    tcase_add_test(tc, test_parse_good);
    tcase_add_test(tc, test_parse_bad);
    tcase_add_test(tc, test_format_round_trip);
    tcase_add_test(tc, test_credentials);
    tcase_add_test(tc, test_priority);
    suite_add_tcase(s, tc);
    ice_agent_tests(s);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(ice_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
