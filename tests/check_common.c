/* libsipnat tests - errors, version, event names, address checks. */
#include "testutil.h"

#include <errno.h>
#include <string.h>

START_TEST(test_strerror)
{
    ck_assert_str_eq(sipnat_strerror(0), "Success");
    ck_assert_str_eq(sipnat_strerror(-EINVAL), sipnat_strerror(EINVAL));
    ck_assert_ptr_nonnull(strstr(sipnat_strerror(-EINVAL), "nvalid"));
    ck_assert_str_eq(sipnat_strerror(-100000), "Unknown error");
    ck_assert_str_eq(sipnat_strerror(2147483647), "Unknown error");
    ck_assert_ptr_nonnull(sipnat_strerror(-2147483647));
}
END_TEST

START_TEST(test_version)
{
    ck_assert_uint_eq(sipnat_version_num(), SIPNAT_VERSION_NUM);
    ck_assert_str_eq(sipnat_version_string(), SIPNAT_VERSION);
    ck_assert_uint_eq(SIPNAT_VERSION_NUM,
                      (SIPNAT_VERSION_MAJOR << 16) | (SIPNAT_VERSION_MINOR << 8) |
                          SIPNAT_VERSION_PATCH);
}
END_TEST

START_TEST(test_event_names)
{
    ck_assert_str_eq(sipnat_event_type_name(SIPNAT_EVENT_NONE), "none");
    ck_assert_str_eq(sipnat_event_type_name(SIPNAT_EVENT_RESPONSE), "response");
    ck_assert_str_eq(sipnat_event_type_name(SIPNAT_EVENT_SHUTDOWN), "shutdown");
    ck_assert_str_eq(sipnat_event_type_name(SIPNAT_EVENT_CONTACT), "contact");
    ck_assert_str_eq(sipnat_event_type_name(SIPNAT_EVENT_SESSION), "session");
    ck_assert_str_eq(sipnat_event_type_name(SIPNAT_EVENT_MEDIA), "media");
    ck_assert_str_eq(sipnat_event_type_name((sipnat_event_type)999), "unknown");
    ck_assert_str_eq(sipnat_event_type_name((sipnat_event_type)-1), "unknown");
}
END_TEST

START_TEST(test_normalize)
{
    char out[SIPNAT_ADDRSTRLEN + 4], small[4];

    ck_assert_int_eq(sipnat_addr_normalize("192.0.2.10", out, sizeof out), 4);
    ck_assert_str_eq(out, "192.0.2.10");
    ck_assert_int_eq(sipnat_addr_normalize("[2001:DB8:0::1]", out, sizeof out), 6);
    ck_assert_str_eq(out, "2001:db8::1");
    ck_assert_int_eq(sipnat_addr_normalize("2001:db8::1", out, sizeof out), 6);
    ck_assert_int_eq(sipnat_addr_normalize("example.com", out, sizeof out), -EINVAL);
    ck_assert_int_eq(sipnat_addr_normalize("192.0.2.0/24", out, sizeof out), -EINVAL);
    ck_assert_int_eq(sipnat_addr_normalize("192.0.2.10", small, sizeof small), -ENOSPC);
    ck_assert_int_eq(sipnat_addr_normalize(NULL, out, sizeof out), -EINVAL);
    ck_assert_int_eq(sipnat_addr_normalize("192.0.2.10", NULL, 0), -EINVAL);

    ck_assert_int_eq(sipnat_cidr_normalize("192.0.2.0/255.255.255.0", out, sizeof out), 4);
    ck_assert_str_eq(out, "192.0.2.0/24");
    ck_assert_int_eq(sipnat_cidr_normalize("192.0.2.7", out, sizeof out), 4);
    ck_assert_str_eq(out, "192.0.2.7/32");
    ck_assert_int_eq(sipnat_cidr_normalize("2001:db8::/32", out, sizeof out), 6);
    ck_assert_str_eq(out, "2001:db8::/32");
    /* Host bits in the network part: a typo, refused. */
    ck_assert_int_eq(sipnat_cidr_normalize("192.0.2.7/24", out, sizeof out), -EINVAL);
    ck_assert_int_eq(sipnat_cidr_normalize("192.0.2.0/33", out, sizeof out), -EINVAL);
    ck_assert_int_eq(sipnat_cidr_normalize("192.0.2.0/24", small, sizeof small), -ENOSPC);
    ck_assert_int_eq(sipnat_cidr_normalize(NULL, out, sizeof out), -EINVAL);
}
END_TEST

Suite *common_suite(void)
{
    Suite *s = suite_create("common");
    TCase *tc = tcase_create("common");

    tcase_add_test(tc, test_strerror);
    tcase_add_test(tc, test_version);
    tcase_add_test(tc, test_event_names);
    tcase_add_test(tc, test_normalize);
    suite_add_tcase(s, tc);
    return s;
}
