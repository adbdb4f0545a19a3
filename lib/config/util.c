/*
 * libsipnat - configuration loader: allocation, diagnostics, strings.
 */
#include "config.h"

#include "config/util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

_Thread_local long cf_fail_after = -1;

static bool fail_now(void)
{
    if (cf_fail_after < 0)
        return false;
    if (cf_fail_after == 0) {
        cf_fail_after = -1;
        return true;
    }
    cf_fail_after--;
    return false;
}

void *cf_malloc(size_t size)
{
    return fail_now() ? NULL : malloc(size ? size : 1);
}

void *cf_calloc(size_t n, size_t size)
{
    return fail_now() ? NULL : calloc(n ? n : 1, size ? size : 1);
}

int cf_reserve(void **array, size_t *cap, size_t n, size_t elem)
{
    size_t want;
    void *p;

    if (n < *cap)
        return 0;
    want = *cap ? *cap * 2 : 4;
    if (want <= n)
        want = n + 1;
    if (want > SIZE_MAX / elem || fail_now())
        return -ENOMEM;
    p = realloc(*array, want * elem);
    if (!p)
        return -ENOMEM;
    memset((char *)p + *cap * elem, 0, (want - *cap) * elem);
    *array = p;
    *cap = want;
    return 0;
}

char *cf_strndup(const char *s, size_t n)
{
    char *d = cf_malloc(n + 1);

    if (d) {
        memcpy(d, s, n);
        d[n] = '\0';
    }
    return d;
}

char *cf_strdup(const char *s)
{
    return cf_strndup(s, strlen(s));
}

void cf_report(cf_diag *d, int severity, const char *file, unsigned line,
               const char *fmt, ...)
{
    /* A fixed buffer: reporting must work when memory has run out. */
    char msg[512];
    va_list ap;

    if (severity == SIPNAT_LOG_ERR)
        d->errors++;
    else if (severity == SIPNAT_LOG_WARNING)
        d->warnings++;
    if (!d->func)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    d->func(severity, file ? file : "", line, msg, d->user_data);
}

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

bool cf_streq_nocase(const char *a, const char *b)
{
    while (*a && lower((unsigned char)*a) == lower((unsigned char)*b)) {
        a++;
        b++;
    }
    return *a == '\0' && *b == '\0';
}

void cf_trim(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*n)--;
    }
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
        (*n)--;
}
