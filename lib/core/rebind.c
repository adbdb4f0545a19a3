/*
 * libsipnat - sockets left on an address the host no longer has.
 *
 * A host that moves to another address (a new DHCP lease, another LAN)
 * keeps its sockets bound to the old one: sofia binds its transports once
 * per interface address, media anchors bind the address toward their
 * peer. Such a socket can no longer send. Each one in the ctx's fd set
 * gets a fresh socket, bound to the host's new address on the same port
 * with the same options, put in its place under the same fd number
 * (dup2): its owner (sofia's tport, an anchor with its SRTP contexts, a
 * STUN client) goes on with it and never knows. A connected TCP socket
 * cannot move: it is shut down, so that its owner reads the end and
 * connects again (a registration's flow re-registers, flow.c).
 */
#include "core/internal.h"
#include "core/addr.h"

#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Options a socket of ours may carry, copied to its replacement. */
static const struct {
    int level, name, family; /* family 0: any */
} sockopts[] = {
    {SOL_SOCKET, SO_REUSEADDR, 0},    {SOL_SOCKET, SO_REUSEPORT, 0},
    {SOL_SOCKET, SO_BROADCAST, 0},    {SOL_SOCKET, SO_PRIORITY, 0},
    {SOL_SOCKET, SO_TIMESTAMP, 0},    {SOL_SOCKET, SO_KEEPALIVE, 0},
    {IPPROTO_IP, IP_TOS, AF_INET},    {IPPROTO_IP, IP_RECVERR, AF_INET},
    {IPPROTO_IP, IP_PKTINFO, AF_INET}, {IPPROTO_IP, IP_MTU_DISCOVER, AF_INET},
    {IPPROTO_IP, IP_RECVTOS, AF_INET},
    {IPPROTO_IPV6, IPV6_V6ONLY, AF_INET6},
    {IPPROTO_IPV6, IPV6_RECVERR, AF_INET6},
    {IPPROTO_IPV6, IPV6_RECVPKTINFO, AF_INET6},
    {IPPROTO_IPV6, IPV6_TCLASS, AF_INET6},
    {IPPROTO_IPV6, IPV6_MTU_DISCOVER, AF_INET6},
};

static void copy_options(int from, int to, int family, int type)
{
    int v;
    socklen_t len;

    for (size_t i = 0; i < sizeof sockopts / sizeof sockopts[0]; i++) {
        if (sockopts[i].family && sockopts[i].family != family)
            continue;
        len = sizeof v;
        if (getsockopt(from, sockopts[i].level, sockopts[i].name, &v, &len) == 0)
            (void)setsockopt(to, sockopts[i].level, sockopts[i].name, &v, len);
    }
    /* The kernel reports twice what was asked for. */
    len = sizeof v;
    if (getsockopt(from, SOL_SOCKET, SO_RCVBUF, &v, &len) == 0 && (v /= 2) > 0)
        (void)setsockopt(to, SOL_SOCKET, SO_RCVBUF, &v, sizeof v);
    len = sizeof v;
    if (getsockopt(from, SOL_SOCKET, SO_SNDBUF, &v, &len) == 0 && (v /= 2) > 0)
        (void)setsockopt(to, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
    len = sizeof v;
    if (type == SOCK_STREAM &&
        getsockopt(from, IPPROTO_TCP, TCP_NODELAY, &v, &len) == 0)
        (void)setsockopt(to, IPPROTO_TCP, TCP_NODELAY, &v, len);
}

static bool is_wildcard_or_loopback(const sn_addr *a)
{
    static const uint8_t zero[16];
    size_t n = a->family == AF_INET ? 4 : 16;

    if (memcmp(a->bytes, zero, n) == 0)
        return true;
    if (a->family == AF_INET)
        return a->bytes[0] == 127;
    return memcmp(a->bytes, zero, 15) == 0 && a->bytes[15] == 1;
}

/* Is `a` still one of the host's addresses? Only a clear "no"
 * (EADDRNOTAVAIL) counts: anything else leaves the socket alone. */
static bool still_local(const sn_addr *a)
{
    struct sockaddr_storage ss;
    socklen_t len = sn_addr_to_sockaddr(a, 0, &ss);
    int s = socket(a->family, SOCK_DGRAM | SOCK_CLOEXEC, 0), r;

    if (s < 0)
        return true;
    r = bind(s, (struct sockaddr *)&ss, len);
    r = r < 0 ? errno : 0;
    close(s);
    return r != EADDRNOTAVAIL;
}

static bool same_net(const sn_addr *a, const sn_addr *b, const sn_addr *mask)
{
    size_t n = a->family == AF_INET ? 4 : 16;

    for (size_t i = 0; i < n; i++)
        if ((a->bytes[i] & mask->bytes[i]) != (b->bytes[i] & mask->bytes[i]))
            return false;
    return true;
}

/* A new socket like fd, bound to one of the host's addresses of the same
 * family on `port`: first one on the vanished address's network, then
 * any other (not loopback, not link-local). The fd, or a negative errno. */
static int replacement(int fd, const sn_addr *old, int port, int type,
                       sn_addr *now)
{
    struct ifaddrs *ifs, *i;
    int r = -EADDRNOTAVAIL;

    if (getifaddrs(&ifs) < 0)
        return -errno;
    for (int pass = 0; pass < 2 && r < 0; pass++) {
        for (i = ifs; i && r < 0; i = i->ifa_next) {
            sn_addr a, mask;
            struct sockaddr_storage ss;
            socklen_t len;
            int s;

            if (!i->ifa_addr || i->ifa_addr->sa_family != old->family ||
                !(i->ifa_flags & IFF_UP) || (i->ifa_flags & IFF_LOOPBACK) ||
                sn_addr_from_sockaddr(i->ifa_addr, &a, NULL) < 0 ||
                is_wildcard_or_loopback(&a) || sn_addr_equal(&a, old))
                continue;
            if (a.family == AF_INET6 && a.bytes[0] == 0xfe &&
                (a.bytes[1] & 0xc0) == 0x80)
                continue; /* link-local: needs a scope the old one had not */
            bool near = i->ifa_netmask &&
                        sn_addr_from_sockaddr(i->ifa_netmask, &mask, NULL) == 0 &&
                        mask.family == a.family && same_net(&a, old, &mask);
            if (near != (pass == 0))
                continue;
            s = socket(a.family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
            if (s < 0) {
                r = -errno;
                break;
            }
            copy_options(fd, s, a.family, type);
            len = sn_addr_to_sockaddr(&a, port, &ss);
            if (bind(s, (struct sockaddr *)&ss, len) < 0) {
                close(s);
                continue;
            }
            *now = a;
            r = s;
        }
    }
    freeifaddrs(ifs);
    return r;
}

static bool is_kept(const struct sockaddr_storage *ss, socklen_t len,
                    const struct sockaddr_storage *keep, size_t n_keep)
{
    for (size_t i = 0; i < n_keep; i++)
        if (keep[i].ss_family == ss->ss_family && memcmp(&keep[i], ss, len) == 0)
            return true;
    return false;
}

/* One socket: 1 moved or shut down, 0 left alone. */
static int rebind_one(sipnat_ctx *ctx, int fd,
                      const struct sockaddr_storage *keep, size_t n_keep)
{
    struct sockaddr_storage ss, peer;
    socklen_t len = sizeof ss, plen = sizeof peer, tlen;
    char was[SIPNAT_ADDRSTRLEN], now_text[SIPNAT_ADDRSTRLEN];
    sn_addr old, now;
    int port, type, listening = 0, s;
    bool connected;

    tlen = sizeof type;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0 ||
        (ss.ss_family != AF_INET && ss.ss_family != AF_INET6) ||
        is_kept(&ss, len, keep, n_keep) ||
        sn_addr_from_sockaddr((struct sockaddr *)&ss, &old, &port) < 0 ||
        is_wildcard_or_loopback(&old) || still_local(&old) ||
        getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &tlen) < 0 ||
        (type != SOCK_DGRAM && type != SOCK_STREAM))
        return 0;
    sn_addr_format(&old, was, sizeof was);
    connected = getpeername(fd, (struct sockaddr *)&peer, &plen) == 0;
    tlen = sizeof listening;
    if (type == SOCK_STREAM)
        (void)getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &tlen);
    if (type == SOCK_STREAM && !listening) {
        /* Its owner reads the end and lets it go. */
        sn_log(ctx, SIPNAT_LOG_NOTICE, "sipnat",
               "%s is gone from the host: closing the TCP connection from "
               "%s:%d", was, was, port);
        shutdown(fd, SHUT_RDWR);
        return 1;
    }
    s = replacement(fd, &old, port, type, &now);
    if (s >= 0 && type == SOCK_STREAM && listen(s, SOMAXCONN) < 0) {
        close(s);
        s = -errno;
    }
    if (s >= 0 && connected && connect(s, (struct sockaddr *)&peer, plen) < 0) {
        close(s);
        s = -errno;
    }
    if (s < 0) {
        sn_log(ctx, SIPNAT_LOG_WARNING, "sipnat",
               "%s is gone from the host: cannot move its socket (port %d): %s",
               was, port, sipnat_strerror(s));
        return 0;
    }
    if (sn_io_replace(ctx, fd, s) < 0)
        return 0;
    sn_addr_format(&now, now_text, sizeof now_text);
    sn_log(ctx, SIPNAT_LOG_NOTICE, "sipnat",
           "%s is gone from the host: its %s socket on port %d now uses %s",
           was, type == SOCK_DGRAM ? "UDP" : "TCP", port, now_text);
    return 1;
}

unsigned sn_ctx_rebind_vanished(sipnat_ctx *ctx,
                                const struct sockaddr_storage *keep,
                                size_t n_keep)
{
    unsigned n = 0;

    /* By index: sn_io_replace keeps every entry where it is. */
    for (size_t k = 0; k < ctx->n_io; k++)
        n += (unsigned)rebind_one(ctx, ctx->io[k].fd, keep, n_keep);
    if (n)
        sn_loop_commit(ctx);
    return n;
}
