/*
 * libsipnat - endpoints and identify (by source address).
 *
 * A match is a CIDR block; a host name becomes one block per address its
 * A/AAAA records give when the endpoint is created (getaddrinfo: blocks
 * the caller once, as Asterisk resolves identify at load time).
 */
#include "sip/sofia.h"
#include "core/addr.h"

#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#define SN_MAX_MATCHES 32

struct sipnat_endpoint_cfg {
    char *name;
    char *matches[SN_MAX_MATCHES];
    size_t n_matches;
};

struct sipnat_endpoint {
    unsigned n_ref;
    sipnat_transport *t;
    struct sipnat_endpoint *next; /* in t->endpoints */
    bool linked;
    char *name;
    sn_cidr *blocks;
    size_t n_blocks;
};

SIPNAT_API int sipnat_endpoint_cfg_new(sipnat_endpoint_cfg **ret)
{
    SN_RETURN_IF(!ret, -EINVAL);
    *ret = calloc(1, sizeof **ret);
    return *ret ? 0 : -ENOMEM;
}

SIPNAT_API sipnat_endpoint_cfg *sipnat_endpoint_cfg_free(sipnat_endpoint_cfg *cfg)
{
    if (!cfg)
        return NULL;
    free(cfg->name);
    for (size_t i = 0; i < cfg->n_matches; i++)
        free(cfg->matches[i]);
    free(cfg);
    return NULL;
}

/* A name a config file could carry: printable, no spaces or brackets. */
static bool name_ok(const char *s)
{
    size_t n = 0;

    for (; s[n]; n++)
        if ((unsigned char)s[n] <= 0x20 || (unsigned char)s[n] > 0x7e ||
            strchr("[]<>\"\\;", s[n]))
            return false;
    return n > 0 && n <= 128;
}

SIPNAT_API int sipnat_endpoint_cfg_set_name(sipnat_endpoint_cfg *cfg,
                                            const char *name)
{
    char *copy;

    SN_RETURN_IF(!cfg || !name || !name_ok(name), -EINVAL);
    copy = strdup(name);
    if (!copy)
        return -ENOMEM;
    free(cfg->name);
    cfg->name = copy;
    return 0;
}

/* A host name as RFC 1123 allows: letters, digits, '-', '.'. */
static bool hostname_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 253 || s[0] == '-' || s[0] == '.')
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(s[i] == '-' || s[i] == '.' || (s[i] >= '0' && s[i] <= '9') ||
              (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
            return false;
    /* All digits and dots is an address, and a bad one. */
    return strspn(s, "0123456789.") != n;
}

SIPNAT_API int sipnat_endpoint_cfg_add_match(sipnat_endpoint_cfg *cfg,
                                             const char *match)
{
    sn_cidr c;

    SN_RETURN_IF(!cfg || !match, -EINVAL);
    SN_RETURN_IF(sn_cidr_parse(match, &c) < 0 && !hostname_ok(match), -EINVAL);
    SN_RETURN_IF(cfg->n_matches == SN_MAX_MATCHES, -ENOSPC);
    cfg->matches[cfg->n_matches] = strdup(match);
    if (!cfg->matches[cfg->n_matches])
        return -ENOMEM;
    cfg->n_matches++;
    return 0;
}

static int add_block(sipnat_endpoint *ep, const sn_cidr *c)
{
    sn_cidr *b = realloc(ep->blocks, (ep->n_blocks + 1) * sizeof *b);

    if (!b)
        return -ENOMEM;
    ep->blocks = b;
    ep->blocks[ep->n_blocks++] = *c;
    return 0;
}

static int resolve_match(sipnat_endpoint *ep, const char *match)
{
    struct addrinfo hints, *res = NULL, *ai;
    sn_cidr c;
    int r = 0;

    if (sn_cidr_parse(match, &c) == 0)
        return add_block(ep, &c);
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_DGRAM;
    if (getaddrinfo(match, NULL, &hints, &res) != 0 || !res)
        return -EHOSTUNREACH;
    for (ai = res; ai && r == 0; ai = ai->ai_next) {
        if (sn_addr_from_sockaddr(ai->ai_addr, &c.net, NULL) < 0)
            continue;
        c.prefix = c.net.family == AF_INET ? 32 : 128;
        r = add_block(ep, &c);
    }
    freeaddrinfo(res);
    return r;
}

static void endpoint_free(sipnat_endpoint *ep)
{
    free(ep->blocks);
    free(ep->name);
    free(ep);
}

SIPNAT_API int sipnat_endpoint_new(sipnat_endpoint **ret, sipnat_transport *t,
                                   const sipnat_endpoint_cfg *cfg)
{
    sipnat_endpoint *ep;
    int r;

    SN_RETURN_IF(!ret, -EINVAL);
    *ret = NULL;
    SN_RETURN_IF(!t || !cfg || !cfg->name, -EINVAL);
    SN_RETURN_IF(!t->ctx || t->state != SN_T_OPEN, -ESHUTDOWN);
    for (sipnat_endpoint *o = t->endpoints; o; o = o->next)
        SN_RETURN_IF(strcmp(o->name, cfg->name) == 0, -EEXIST);
    ep = calloc(1, sizeof *ep);
    if (!ep || !(ep->name = strdup(cfg->name))) {
        free(ep);
        return -ENOMEM;
    }
    for (size_t i = 0; i < cfg->n_matches; i++) {
        r = resolve_match(ep, cfg->matches[i]);
        if (r < 0) {
            sn_log(t->ctx, SIPNAT_LOG_ERR, "endpoint", "%s: match %s: %s",
                   cfg->name, cfg->matches[i], sipnat_strerror(r));
            endpoint_free(ep);
            return r;
        }
    }
    ep->n_ref = 1;
    ep->t = sipnat_transport_ref(t);
    ep->next = t->endpoints;
    t->endpoints = ep;
    ep->linked = true;
    *ret = ep;
    return 0;
}

SIPNAT_API sipnat_endpoint *sipnat_endpoint_ref(sipnat_endpoint *ep)
{
    if (ep)
        ep->n_ref++;
    return ep;
}

SIPNAT_API sipnat_endpoint *sipnat_endpoint_unref(sipnat_endpoint *ep)
{
    if (!ep || --ep->n_ref > 0)
        return NULL;
    if (ep->linked)
        for (sipnat_endpoint **pp = &ep->t->endpoints; *pp; pp = &(*pp)->next)
            if (*pp == ep) {
                *pp = ep->next;
                break;
            }
    sipnat_transport_unref(ep->t);
    endpoint_free(ep);
    return NULL;
}

SIPNAT_API const char *sipnat_endpoint_get_name(const sipnat_endpoint *ep)
{
    return ep ? ep->name : NULL;
}

sipnat_endpoint *sn_endpoint_identify(sipnat_transport *t, const void *addr)
{
    for (sipnat_endpoint *ep = t->endpoints; ep; ep = ep->next)
        for (size_t i = 0; i < ep->n_blocks; i++)
            if (sn_cidr_contains(&ep->blocks[i], (const sn_addr *)addr))
                return ep;
    return NULL;
}

SIPNAT_API int sipnat_transport_identify(sipnat_transport *t,
                                         const char *address,
                                         sipnat_endpoint **ret)
{
    sn_addr a;
    sipnat_endpoint *ep;

    SN_RETURN_IF(!t || !address || !ret, -EINVAL);
    *ret = NULL;
    SN_RETURN_IF(sn_addr_parse(address, &a) < 0, -EINVAL);
    ep = sn_endpoint_identify(t, &a);
    SN_RETURN_IF(!ep, -ENOENT);
    *ret = ep;
    return 0;
}
