/*
 * libsipnat - next hop and advertised addresses of outgoing requests.
 */
#include "sip/route.h"
#include "core/addr.h"
#include "nat/policy.h"

#include <netdb.h>
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

    /* No address of ours from behind the NAT goes outside, whatever the
     * message: with no public address known, the Via names no host of
     * ours (the port is nta's, rport brings the answer back) and neither
     * does the Contact. */
    out->hidden = t->policy && sn_policy_exposes(t->policy, out->dest, a.signaling_address);
    if (out->hidden) {
        size_t n = strlen(out->explanation);
        snprintf(out->explanation + n, sizeof out->explanation - n,
                 "; not sent outside: " SN_ROUTE_NO_HOST " instead");
        snprintf(hp, sizeof hp, "%s", SN_ROUTE_NO_HOST);
    } else {
        hostport(hp, sizeof hp, a.signaling_address, a.signaling_port);
    }
    /* On a connection, ";alias" (RFC 5923): requests to our Contact come
     * back on the connection we opened, which is the one the NAT lets in
     * (the listening port needs a forward nobody may have set up). */
    snprintf(out->via, sizeof out->via, "SIP/2.0/%s %s;rport%s",
             t->protocol == SIPNAT_PROTOCOL_TCP   ? "TCP"
             : t->protocol == SIPNAT_PROTOCOL_TLS ? "TLS"
                                                  : "UDP",
             hp, t->protocol == SIPNAT_PROTOCOL_UDP ? "" : ";alias");
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

/* The next hop of a URI: its maddr, else its host, resolved. No
 * NAPTR/SRV: a host name is looked up as an address record. */
static int resolve(const sipnat_transport *t, const url_t *u, char *buf,
                   size_t size)
{
    struct addrinfo hints, *res = NULL;
    sn_addr a;
    int r;
    char host[256];
    const char *h = u->url_host;
    char maddr[256];

    if (u->url_params &&
        url_param(u->url_params, "maddr", maddr, sizeof maddr) > 0)
        h = maddr;
    if (!h || !*h || strlen(h) >= sizeof host)
        return -EINVAL;
    snprintf(host, sizeof host, "%s", h);
    if (sn_addr_parse(host, &a) == 0)
        return sn_addr_format(&a, buf, size) < 0 ? -EINVAL : 0;

    /* A name: this lookup blocks (hosts file, then DNS). */
    memset(&hints, 0, sizeof hints);
    hints.ai_family = t->bound.ss_family;
    hints.ai_socktype = t->protocol == SIPNAT_PROTOCOL_UDP ? SOCK_DGRAM : SOCK_STREAM;
    if (getaddrinfo(host, NULL, &hints, &res) != 0 || !res)
        return -EHOSTUNREACH;
    r = sn_addr_from_sockaddr(res->ai_addr, &a, NULL);
    freeaddrinfo(res);
    return r < 0 || sn_addr_format(&a, buf, size) < 0 ? -EINVAL : 0;
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

int sn_route_for_uri(sipnat_transport *t, const char *uri, const char *user,
                     sn_route *out)
{
    su_home_t home[1] = {SU_HOME_INIT(home)};
    char dest[SIPNAT_ADDRSTRLEN];
    url_t *u = url_make(home, uri);
    int port, r;

    if (!u || (u->url_type != url_sip && u->url_type != url_sips) ||
        !u->url_host || !u->url_host[0]) {
        su_home_deinit(home);
        return -EINVAL;
    }
    port = u->url_port && u->url_port[0] ? atoi(u->url_port)
         : u->url_type == url_sips       ? 5061
                                         : 5060;
    r = port < 1 || port > 65535 ? -EINVAL : resolve(t, u, dest, sizeof dest);
    su_home_deinit(home);
    if (r < 0)
        return r;
    return sn_route_for_addr(t, dest, port, user, out);
}
