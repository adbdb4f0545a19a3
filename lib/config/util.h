/*
 * libsipnat - the configuration loader's shared pieces: allocation (with a
 * failure hook that the tests use to prove every allocation failure is
 * handled), diagnostics and small string helpers. No sofia-sip here: the
 * loader is a client of the public API.
 */
#ifndef SIPNAT_CONFIG_UTIL_H
#define SIPNAT_CONFIG_UTIL_H

#include <stdbool.h>
#include <stddef.h>

#include <sipnat/config.h>

/* Limits of the file syntax (sipnat.conf(5) documents them). */
#define CF_LINE_MAX 4096    /* bytes in a line, without its end */
#define CF_VALUE_MAX 1024   /* bytes in a value */
#define CF_KEY_MAX 64       /* bytes in an option name */
#define CF_NAME_MAX 80      /* bytes in a section name */
#define CF_FILE_MAX (1 << 20) /* bytes in one file */
#define CF_INCLUDE_DEPTH 16 /* files open at once through #include */

/* Failure injection for tests: when >= 0, that many more allocations
 * succeed and the next one fails (the counter then stays at -1). */
extern _Thread_local long cf_fail_after;

void *cf_malloc(size_t size);
void *cf_calloc(size_t n, size_t size);
/* Make room in *array (elem bytes each, *cap allocated) for entry n. */
int cf_reserve(void **array, size_t *cap, size_t n, size_t elem);
/* The same for a typed array: CF_RESERVE(arr, cap, n). */
#define CF_RESERVE(arr, cap, n)                                         \
    __extension__({                                                     \
        void *cf_p_ = (arr);                                            \
        int cf_r_ = cf_reserve(&cf_p_, &(cap), (n), sizeof *(arr));     \
        (arr) = cf_p_;                                                  \
        cf_r_;                                                          \
    })
char *cf_strndup(const char *s, size_t n);
char *cf_strdup(const char *s);

typedef struct cf_diag {
    sipnat_config_diag_func func;
    void *user_data;
    unsigned errors;
    unsigned warnings;
} cf_diag;

void cf_report(cf_diag *d, int severity, const char *file, unsigned line,
               const char *fmt, ...) __attribute__((format(printf, 5, 6)));
#define cf_error(d, f, l, ...) cf_report(d, SIPNAT_LOG_ERR, f, l, __VA_ARGS__)
#define cf_warn(d, f, l, ...) \
    cf_report(d, SIPNAT_LOG_WARNING, f, l, __VA_ARGS__)

/* ASCII, locale-independent. */
bool cf_streq_nocase(const char *a, const char *b);
/* Trim spaces and tabs from both ends of [*s, *s + *n). */
void cf_trim(const char **s, size_t *n);

#endif
