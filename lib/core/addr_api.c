/*
 * libsipnat - the public face of addr.c: the checks of numeric addresses
 * and networks that the library's setters apply, for hosts and the
 * configuration loader to use before they call them.
 */
#include "config.h"

#include <sipnat/common.h>

#include "core/addr.h"

#include <errno.h>
#include <netinet/in.h>

SIPNAT_API int sipnat_addr_normalize(const char *text, char *out, size_t size)
{
    sn_addr a;
    int r;

    if (!text || !out || sn_addr_parse(text, &a) < 0)
        return -EINVAL;
    r = sn_addr_format(&a, out, size);
    if (r < 0)
        return r;
    return a.family == AF_INET6 ? 6 : 4;
}

SIPNAT_API int sipnat_cidr_normalize(const char *text, char *out, size_t size)
{
    sn_cidr c;
    int r;

    if (!text || !out || sn_cidr_parse(text, &c) < 0)
        return -EINVAL;
    r = sn_cidr_format(&c, out, size);
    if (r < 0)
        return r;
    return c.net.family == AF_INET6 ? 6 : 4;
}
