/* libsipnat tests - the one runner of every check suite. */
#include <stdlib.h>

#include "testutil.h"

int main(void)
{
    SRunner *sr = srunner_create(common_suite());
    int failed;

    srunner_add_suite(sr, ctx_suite());
    srunner_add_suite(sr, io_suite());
    srunner_add_suite(sr, transport_suite());
    srunner_add_suite(sr, policy_suite());
    srunner_add_suite(sr, registration_suite());
    srunner_add_suite(sr, endpoint_suite());
    srunner_add_suite(sr, registrar_suite());
    srunner_add_suite(sr, session_suite());
    srunner_add_suite(sr, stun_calls_suite());
    srunner_add_suite(sr, fuzz_suite());
    /* CK_VERBOSE lists every test, so a log shows they ran. */
    srunner_run_all(sr, CK_VERBOSE);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
