/*
 * libsipnat - next hop and advertised addresses of outgoing requests.
 */
#include "sip/route.h"
#include "core/addr.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* "host:port", brackets for IPv6. */
static void hostport(char *buf, size_t size, const char *host, int port)
{
    snprintf(buf, size, strchr(host, ':') ? "[%s]:%d" : "%s:%d", host, port);
}

static const char *proto_name(const sipnat_transport *t)
{
    return t->protocol == SIPNAT_PROTOCOL_TCP   ? "tcp"
         : t->protocol == SIPNAT_PROTOCOL_TLS ? "tls"
                                              : "udp";
}

/* The local address the kernel would send from to reach `dest`: the
 * bound one, or for a wildcard bind, the route's source (a connected UDP
 * socket sends nothing). */
static int local_for(const sipnat_transport *t, const sn_addr *dest, char *buf,
                     size_t size)
{
    struct sockaddr_storage ss;
    socklen_t len;
    int s, r = 0;

    if (strcmp(t->address, "0.0.0.0") != 0 && strcmp(t->address, "::") != 0) {
        snprintf(buf, size, "%s", t->address);
        return 0;
    }
    len = sn_addr_to_sockaddr(dest, 5060, &ss);
    s = socket(dest->family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0)
        return -errno;
    if (connect(s, (struct sockaddr *)&ss, len) < 0 ||
        getsockname(s, (struct sockaddr *)&ss, &len) < 0)
        r = -errno;
    close(s);
    if (r < 0)
        return r;
    sn_addr local;
    if (sn_addr_from_sockaddr((struct sockaddr *)&ss, &local, NULL) < 0)
        return -EINVAL;
    return sn_addr_format(&local, buf, size) < 0 ? -EINVAL : 0;
}

int sn_route_for_addr(sipnat_transport *t, const char *dest, int dest_port,
                      const char *user, sn_route *out)
{
    char local[SIPNAT_ADDRSTRLEN], hp[SIPNAT_ADDRSTRLEN + 8];
    sipnat_advert a = {.size = sizeof a};
    sn_addr d;
    int r;

    if (sn_addr_parse(dest, &d) < 0)
        return -EINVAL;
    memset(out, 0, sizeof *out);
    sn_addr_format(&d, out->dest, sizeof out->dest);
    out->dest_port = dest_port;
    r = local_for(t, &d, local, sizeof local);
    if (r < 0)
        return r;
    snprintf(out->local, sizeof out->local, "%s", local);

    if (t->policy) {
        sipnat_advert_query q = {
            .size = sizeof q,
            .destination = out->dest,
            .destination_port = dest_port,
            .local_address = local,
            .local_port = t->port,
        };
        r = sipnat_policy_advertise(t->policy, &q, &a);
        if (r < 0)
            return r;
        snprintf(out->explanation, sizeof out->explanation, "%s", a.explanation);
    } else {
        snprintf(a.signaling_address, sizeof a.signaling_address, "%s", local);
        a.signaling_port = t->port;
        hostport(hp, sizeof hp, local, t->port);
        snprintf(out->explanation, sizeof out->explanation,
                 "to %s: signalling %s (no policy: the transport's address)",
                 out->dest, hp);
    }

    hostport(hp, sizeof hp, a.signaling_address, a.signaling_port);
    snprintf(out->via, sizeof out->via, "SIP/2.0/%s %s;rport",
             t->protocol == SIPNAT_PROTOCOL_TCP   ? "TCP"
             : t->protocol == SIPNAT_PROTOCOL_TLS ? "TLS"
                                                  : "UDP",
             hp);
    snprintf(out->contact, sizeof out->contact, "<sip:%s%s%s;transport=%s>",
             user ? user : "", user ? "@" : "", hp, proto_name(t));
    hostport(hp, sizeof hp, out->dest, dest_port);
    if (t->protocol == SIPNAT_PROTOCOL_TLS)
        snprintf(out->proxy, sizeof out->proxy, "sips:%s", hp);
    else
        snprintf(out->proxy, sizeof out->proxy, "sip:%s;transport=%s", hp,
                 proto_name(t));
    return 0;
}

bool sn_sip_uri_ok(const char *uri)
{
    su_home_t home[1] = {SU_HOME_INIT(home)};
    url_t *u = uri ? url_make(home, uri) : NULL;
    bool ok = u && (u->url_type == url_sip || u->url_type == url_sips) &&
              u->url_host && u->url_host[0];

    su_home_deinit(home);
    return ok;
}

/* -- next hops, resolved asynchronously ------------------------------------ */

/* The resolver's answer stays usable this long at least, so a name with
 * TTL 0 is not asked again for each retransmitted attempt. */
#define SN_HOPS_MIN_TTL_USEC 1000000u

static void hops_done(sn_dns_result *res, void *arg)
{
    sn_hops *h = arg;
    int error = res->error;

    free(h->res);
    h->res = res;
    h->at = 0;
    h->expires = sn_now_usec() +
                 (res->ttl ? (uint64_t)res->ttl * 1000000u : SN_HOPS_MIN_TTL_USEC);
    if (h->cb)
        h->cb(h->arg, error);
}

int sn_hops_resolve(sn_hops *h, sipnat_transport *t, const char *uri,
                    void (*cb)(void *arg, int error), void *arg)
{
    su_home_t home[1] = {SU_HOME_INIT(home)};
    url_t *u = uri ? url_make(home, uri) : NULL;
    char maddr[SN_DNS_NAME_MAX];
    const char *host;
    sn_dns_query q = {0};
    int r = -EINVAL;

    sn_hops_clear(h);
    h->cb = cb;
    h->arg = arg;
    if (!u || (u->url_type != url_sip && u->url_type != url_sips) ||
        !u->url_host || !u->url_host[0])
        goto out;
    host = u->url_host;
    if (u->url_params &&
        url_param(u->url_params, "maddr", maddr, sizeof maddr) > 0)
        host = maddr;
    {
        /* IPv6 references come in brackets. */
        char plain[SN_DNS_NAME_MAX];
        size_t n = strlen(host);
        if (n >= sizeof plain)
            goto out;
        if (host[0] == '[' && n > 2 && host[n - 1] == ']')
            snprintf(plain, sizeof plain, "%.*s", (int)(n - 2), host + 1);
        else
            snprintf(plain, sizeof plain, "%s", host);
        q.host = plain;
        q.port = u->url_port && u->url_port[0] ? atoi(u->url_port) : 0;
        if (u->url_port && u->url_port[0] && (q.port < 1 || q.port > 65535))
            goto out;
        q.protocol = (int)t->protocol;
        q.sips = u->url_type == url_sips;
        q.family = t->bound.ss_family == AF_INET6 ? AF_INET6 : AF_INET;
        r = sn_dns_resolve(t->ctx, &h->req, &q, hops_done, h);
    }
out:
    su_home_deinit(home);
    return r;
}

bool sn_hops_fresh(const sn_hops *h)
{
    return h->res && h->res->n && sn_now_usec() < h->expires;
}

const sn_dns_target *sn_hops_target(const sn_hops *h)
{
    return h->res && h->at < h->res->n ? &h->res->t[h->at] : NULL;
}

int sn_hops_route(sn_hops *h, sipnat_transport *t, const char *user,
                  sn_route *out)
{
    const sn_dns_target *tg = sn_hops_target(h);

    if (!tg)
        return h->res && h->res->error ? h->res->error : -EHOSTUNREACH;
    return sn_route_for_addr(t, tg->addr, tg->port, user, out);
}

bool sn_hops_next(sn_hops *h)
{
    if (h->res && h->at + 1 < h->res->n) {
        h->at++;
        return true;
    }
    h->at = 0;
    return false;
}

void sn_hops_clear(sn_hops *h)
{
    sn_dns_cancel(&h->req);
    free(h->res);
    h->res = NULL;
    h->at = 0;
    h->expires = 0;
}

int sn_uri_numeric_host(const char *uri, char *buf, size_t size)
{
    su_home_t home[1] = {SU_HOME_INIT(home)};
    url_t *u = uri ? url_make(home, uri) : NULL;
    char maddr[SN_DNS_NAME_MAX];
    const char *host = u ? u->url_host : NULL;
    sn_addr a;
    int r = -EINVAL;

    if (u && u->url_params &&
        url_param(u->url_params, "maddr", maddr, sizeof maddr) > 0)
        host = maddr;
    if (host && sn_addr_parse(host, &a) == 0)
        r = sn_addr_format(&a, buf, size) < 0 ? -EINVAL : 0;
    su_home_deinit(home);
    return r;
}
