/*
 * libsipnat - endpoints and identify (by source address).
 *
 * A match is a CIDR block, or a host name: resolved on the loop as a
 * SIP next hop would be (RFC 3263: NAPTR, SRV, A/AAAA, so an ITSP's
 * domain matches every gateway it publishes), it matches each address
 * the records gave, and is asked again when their TTL runs out. Until
 * the first answer it matches nothing; when a later question fails, the
 * last addresses stay.
 */
#include "sip/endpoint.h"
#include "sip/route.h"
#include "core/addr.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

SIPNAT_API int sipnat_endpoint_cfg_new(sipnat_endpoint_cfg **ret)
{
    SN_RETURN_IF(!ret, -EINVAL);
    *ret = calloc(1, sizeof **ret);
    if (!*ret)
        return -ENOMEM;
    (*ret)->exp_min = 60;
    (*ret)->exp_default = 3600;
    (*ret)->exp_max = 7200;
    (*ret)->rtp_symmetric = true;
    if (!((*ret)->codecs = strdup("PCMU,PCMA"))) {
        free(*ret);
        *ret = NULL;
        return -ENOMEM;
    }
    return 0;
}

static void cfg_clear(sipnat_endpoint_cfg *cfg)
{
    free(cfg->name);
    for (size_t i = 0; i < cfg->n_matches; i++)
        free(cfg->matches[i]);
    for (size_t i = 0; i < cfg->n_contacts; i++)
        free(cfg->contacts[i]);
    free(cfg->auth_user);
    free(cfg->auth_pass);
    free(cfg->auth_realm);
    free(cfg->codecs);
    free(cfg->from_user);
    free(cfg->from_domain);
    free(cfg->media_address);
    free(cfg->out_user);
    free(cfg->out_pass);
    free(cfg->out_realm);
}

SIPNAT_API sipnat_endpoint_cfg *sipnat_endpoint_cfg_free(sipnat_endpoint_cfg *cfg)
{
    if (!cfg)
        return NULL;
    cfg_clear(cfg);
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

/* Credentials and realms: printable, no quotes or backslashes (they go
 * into quoted strings of the challenge). */
static bool token_ok(const char *s, size_t max)
{
    size_t n = 0;

    for (; s[n]; n++)
        if ((unsigned char)s[n] < 0x20 || (unsigned char)s[n] > 0x7e ||
            s[n] == '"' || s[n] == '\\')
            return false;
    return n > 0 && n <= max;
}

/* Inbound or outbound credentials, checked, then all three replaced (or
 * none, on failure). */
static int set_credentials(char **user, char **pass, char **realm_slot,
                           const char *username, const char *password,
                           const char *realm)
{
    char *u = NULL, *p = NULL, *rl = NULL;
    int r;

    SN_RETURN_IF(!username || !password, -EINVAL);
    SN_RETURN_IF(!token_ok(username, 128) || strchr(username, ':') ||
                     !token_ok(password, 256) || (realm && !token_ok(realm, 128)),
                 -EINVAL);
    if ((r = sn_replace_str(&u, username)) < 0 || (r = sn_replace_str(&p, password)) < 0 ||
        (r = sn_replace_str(&rl, realm)) < 0) {
        free(u);
        free(p);
        return r;
    }
    free(*user);
    free(*pass);
    free(*realm_slot);
    *user = u;
    *pass = p;
    *realm_slot = rl;
    return 0;
}

SIPNAT_API int sipnat_endpoint_cfg_set_auth(sipnat_endpoint_cfg *cfg,
                                            const char *username,
                                            const char *password,
                                            const char *realm)
{
    SN_RETURN_IF(!cfg, -EINVAL);
    return set_credentials(&cfg->auth_user, &cfg->auth_pass, &cfg->auth_realm,
                           username, password, realm ? realm : "libsipnat");
}

SIPNAT_API int sipnat_endpoint_cfg_set_outbound_auth(sipnat_endpoint_cfg *cfg,
                                                     const char *username,
                                                     const char *password,
                                                     const char *realm)
{
    SN_RETURN_IF(!cfg, -EINVAL);
    return set_credentials(&cfg->out_user, &cfg->out_pass, &cfg->out_realm,
                           username, password, realm);
}

SIPNAT_API int sipnat_endpoint_cfg_set_rewrite_contact(sipnat_endpoint_cfg *cfg,
                                                       int on)
{
    SN_RETURN_IF(!cfg, -EINVAL);
    cfg->rewrite_contact = on != 0;
    return 0;
}

SIPNAT_API int sipnat_endpoint_cfg_set_max_contacts(sipnat_endpoint_cfg *cfg,
                                                    unsigned max)
{
    SN_RETURN_IF(!cfg || max > SN_MAX_CONTACTS, -EINVAL);
    cfg->max_contacts = max;
    return 0;
}

SIPNAT_API int sipnat_endpoint_cfg_set_remove_existing(sipnat_endpoint_cfg *cfg,
                                                       int on)
{
    SN_RETURN_IF(!cfg, -EINVAL);
    cfg->remove_existing = on != 0;
    return 0;
}

SIPNAT_API int sipnat_endpoint_cfg_add_contact(sipnat_endpoint_cfg *cfg,
                                               const char *uri)
{
    SN_RETURN_IF(!cfg || !uri || strlen(uri) > 1024 || !sn_sip_uri_ok(uri),
                 -EINVAL);
    SN_RETURN_IF(cfg->n_contacts == SN_MAX_STATIC_CONTACTS, -ENOSPC);
    cfg->contacts[cfg->n_contacts] = strdup(uri);
    if (!cfg->contacts[cfg->n_contacts])
        return -ENOMEM;
    cfg->n_contacts++;
    return 0;
}

SIPNAT_API int sipnat_endpoint_cfg_set_qualify_frequency(sipnat_endpoint_cfg *cfg,
                                                         unsigned seconds)
{
    SN_RETURN_IF(!cfg || seconds > 86400, -EINVAL);
    cfg->qualify_frequency = seconds;
    return 0;
}

SIPNAT_API int sipnat_endpoint_cfg_set_expiration(sipnat_endpoint_cfg *cfg,
                                                  unsigned minimum,
                                                  unsigned def,
                                                  unsigned maximum)
{
    SN_RETURN_IF(!cfg || minimum == 0 || minimum > def || def > maximum ||
                     maximum > 31536000,
                 -EINVAL);
    cfg->exp_min = minimum;
    cfg->exp_default = def;
    cfg->exp_max = maximum;
    return 0;
}

SIPNAT_API int sipnat_endpoint_cfg_set_event_func(sipnat_endpoint_cfg *cfg,
                                                  sipnat_event_func func,
                                                  void *user_data)
{
    SN_RETURN_IF(!cfg, -EINVAL);
    cfg->func = func;
    cfg->user_data = user_data;
    return 0;
}

/* The endpoint keeps its own copy of what it needs after _new(). */
static int cfg_copy(sipnat_endpoint_cfg *dst, const sipnat_endpoint_cfg *src)
{
    int r = 0;

    *dst = *src;
    dst->name = NULL;
    dst->n_matches = 0;
    dst->auth_user = dst->auth_pass = dst->auth_realm = NULL;
    dst->n_contacts = 0;
    dst->codecs = dst->from_user = dst->from_domain = dst->media_address = NULL;
    dst->out_user = dst->out_pass = dst->out_realm = NULL;
    if ((r = sn_replace_str(&dst->codecs, src->codecs)) < 0 ||
        (r = sn_replace_str(&dst->from_user, src->from_user)) < 0 ||
        (r = sn_replace_str(&dst->from_domain, src->from_domain)) < 0 ||
        (r = sn_replace_str(&dst->media_address, src->media_address)) < 0 ||
        (r = sn_replace_str(&dst->out_user, src->out_user)) < 0 ||
        (r = sn_replace_str(&dst->out_pass, src->out_pass)) < 0 ||
        (r = sn_replace_str(&dst->out_realm, src->out_realm)) < 0 ||
        (r = sn_replace_str(&dst->auth_user, src->auth_user)) < 0 ||
        (r = sn_replace_str(&dst->auth_pass, src->auth_pass)) < 0 ||
        (r = sn_replace_str(&dst->auth_realm, src->auth_realm)) < 0)
        return r;
    for (size_t i = 0; i < src->n_contacts; i++, dst->n_contacts++)
        if (!(dst->contacts[i] = strdup(src->contacts[i])))
            return -ENOMEM;
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

/* Names with TTL 0 (the hosts file) and failed questions: asked again
 * after this long. */
#define SN_IDENT_REFRESH_USEC (30u * 1000000u)

static void ident_resolve(sn_ident_name *n);

static void ident_answer(sn_dns_result *res, void *arg)
{
    sn_ident_name *n = arg;
    sipnat_ctx *ctx = n->ep->t->ctx;
    uint64_t again = SN_IDENT_REFRESH_USEC;
    char list[160] = "";

    if (res->error == -ECANCELED) {
        free(res); /* the ctx is going away */
        return;
    }
    if (res->error) {
        sn_log(ctx, SIPNAT_LOG_WARNING, "endpoint", "%s: match %s: %s%s",
               n->ep->name, n->name, sipnat_strerror(res->error),
               n->n_blocks ? " (the last addresses stay)" : "");
    } else {
        n->n_blocks = 0;
        for (size_t i = 0; i < res->n; i++) {
            sn_cidr c;
            bool dup = false;
            if (sn_addr_parse(res->t[i].addr, &c.net) < 0)
                continue;
            c.prefix = c.net.family == AF_INET ? 32 : 128;
            for (size_t k = 0; k < n->n_blocks; k++)
                dup |= sn_addr_equal(&n->blocks[k].net, &c.net);
            if (dup)
                continue;
            n->blocks[n->n_blocks++] = c;
            size_t l = strlen(list);
            snprintf(list + l, sizeof list - l, "%s%s", l ? " " : "", res->t[i].addr);
        }
        if (res->ttl)
            again = (uint64_t)res->ttl * 1000000u;
        sn_log(ctx, SIPNAT_LOG_INFO, "endpoint", "%s: match %s is %s (for %u s)",
               n->ep->name, n->name, list, res->ttl);
    }
    free(res);
    sn_ctx_timer_arm(ctx, &n->refresh, again);
}

static void ident_resolve(sn_ident_name *n)
{
    sipnat_transport *t = n->ep->t;
    sn_dns_query q = {.host = n->name, .protocol = (int)t->protocol,
                      .family = AF_UNSPEC};
    int r;

    if (!t->ctx || sn_dns_busy(&n->req))
        return;
    r = sn_dns_resolve(t->ctx, &n->req, &q, ident_answer, n);
    if (r < 0) {
        sn_log(t->ctx, SIPNAT_LOG_WARNING, "endpoint", "%s: match %s: %s",
               n->ep->name, n->name, sipnat_strerror(r));
        sn_ctx_timer_arm(t->ctx, &n->refresh, SN_IDENT_REFRESH_USEC);
    }
}

static void ident_refresh(sn_timer *timer, void *arg)
{
    (void)timer;
    ident_resolve(arg);
}

static int add_match(sipnat_endpoint *ep, const char *match)
{
    sn_ident_name *v;
    sn_cidr c;

    if (sn_cidr_parse(match, &c) == 0)
        return add_block(ep, &c);
    if (strlen(match) >= SN_DNS_NAME_MAX - 12)
        return -EINVAL;
    v = realloc(ep->names, (ep->n_names + 1) * sizeof *v);
    if (!v)
        return -ENOMEM;
    ep->names = v;
    memset(&v[ep->n_names], 0, sizeof v[0]);
    if (!(v[ep->n_names].name = strdup(match)))
        return -ENOMEM;
    ep->n_names++;
    return 0;
}

static void endpoint_free(sipnat_endpoint *ep)
{
    for (size_t i = 0; i < ep->n_names; i++) {
        sn_dns_cancel(&ep->names[i].req);
        if (ep->t && ep->t->ctx && ep->names[i].ep)
            sn_ctx_timer_stop(ep->t->ctx, &ep->names[i].refresh);
        free(ep->names[i].name);
    }
    free(ep->names);
    sn_registrar_fini(ep);
    cfg_clear(&ep->cfg);
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
    if (!ep)
        return -ENOMEM;
    if (!(ep->name = strdup(cfg->name)) || cfg_copy(&ep->cfg, cfg) < 0) {
        endpoint_free(ep);
        return -ENOMEM;
    }
    ep->t = t; /* not referenced until it is linked */
    for (size_t i = 0; i < cfg->n_matches; i++) {
        r = add_match(ep, cfg->matches[i]);
        if (r < 0) {
            sn_log(t->ctx, SIPNAT_LOG_ERR, "endpoint", "%s: match %s: %s",
                   cfg->name, cfg->matches[i], sipnat_strerror(r));
            endpoint_free(ep);
            return r;
        }
    }
    r = sn_registrar_init(ep);
    if (r < 0) {
        sn_log(t->ctx, SIPNAT_LOG_ERR, "endpoint", "%s: %s", cfg->name,
               sipnat_strerror(r));
        endpoint_free(ep);
        return r;
    }
    ep->n_ref = 1;
    ep->t = sipnat_transport_ref(t);
    ep->next = t->endpoints;
    t->endpoints = ep;
    ep->linked = true;
    /* The array no longer moves: each name may point into it now. */
    for (size_t i = 0; i < ep->n_names; i++) {
        ep->names[i].ep = ep;
        sn_timer_init(&ep->names[i].refresh, ident_refresh, &ep->names[i]);
        ident_resolve(&ep->names[i]);
    }
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
    sipnat_transport *t = ep->t;
    endpoint_free(ep);
    sipnat_transport_unref(t);
    return NULL;
}

SIPNAT_API const char *sipnat_endpoint_get_name(const sipnat_endpoint *ep)
{
    return ep ? ep->name : NULL;
}

SIPNAT_API sipnat_transport *sipnat_endpoint_get_transport(const sipnat_endpoint *ep)
{
    return ep ? ep->t : NULL;
}

sipnat_endpoint *sn_endpoint_identify(sipnat_transport *t, const void *addr)
{
    for (sipnat_endpoint *ep = t->endpoints; ep; ep = ep->next)
    {
        for (size_t i = 0; i < ep->n_blocks; i++)
            if (sn_cidr_contains(&ep->blocks[i], (const sn_addr *)addr))
                return ep;
        for (size_t i = 0; i < ep->n_names; i++)
            for (size_t k = 0; k < ep->names[i].n_blocks; k++)
                if (sn_cidr_contains(&ep->names[i].blocks[k], (const sn_addr *)addr))
                    return ep;
    }
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
