/*
 * libsipnat - bounds on the connections a TCP or TLS transport accepts:
 * at most max_connections at once, and none idle (no byte either way)
 * longer than idle_timeout.
 *
 * Why here and not in sofia: sofia-sip 1.12.11 has no limit on accepted
 * connections, and its idle timeout (TPTAG_IDLE) cannot work for TCP:
 * tport_tcp_init_secondary() sets the idle time of the primary's shared
 * parameters to "forever" when the first connection is accepted. A peer
 * that opens connections and sends half a header would keep each one,
 * and its buffer, for good.
 *
 * How: the stack's sockets are mirrored into the ctx (stack.c), which
 * tells us of each new one; an accepted connection of this transport is
 * a connected stream socket whose local port is the transport's. Over
 * the limit, or idle for too long (the kernel's TCP_INFO says since
 * when), a connection is shut down with shutdown(2): sofia reads the end
 * of the stream and closes and frees the transport itself, so no fd is
 * closed under it.
 */
#include "config.h"

#include "sip/sofia.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define SN_CONN_TICK_USEC 1000000u

static bool is_stream(sipnat_transport *t)
{
    return t->protocol == SIPNAT_PROTOCOL_TCP || t->protocol == SIPNAT_PROTOCOL_TLS;
}

/* An accepted connection of t: connected, stream, on t's port. */
static bool accepted_by(sipnat_transport *t, int fd)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int type = 0, listening = 1, port;
    socklen_t il = sizeof type;

    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &il) < 0 || type != SOCK_STREAM)
        return false;
    il = sizeof listening;
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &il) < 0 || listening)
        return false;
    if (getsockname(fd, (struct sockaddr *)&ss, &sl) < 0)
        return false;
    if (ss.ss_family == AF_INET)
        port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    else if (ss.ss_family == AF_INET6)
        port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    else
        return false;
    return port == t->port;
}

static int find(const sn_connlimit *c, int fd)
{
    for (size_t i = 0; i < c->n; i++)
        if (c->fds[i] == fd)
            return (int)i;
    return -1;
}

static void cut(sipnat_transport *t, int fd, const char *why)
{
    t->conn.n_cut++;
    sn_log(t->ctx, SIPNAT_LOG_NOTICE, "transport", "%s connection (fd %d) closed: %s",
           t->protocol == SIPNAT_PROTOCOL_TLS ? "TLS" : "TCP", fd, why);
    shutdown(fd, SHUT_RDWR);
}

/* Forget what the stack no longer holds. */
static void prune(sipnat_transport *t)
{
    sn_connlimit *c = &t->conn;

    for (size_t i = 0; i < c->n;) {
        if (!sn_io_find(t->ctx, c->fds[i]) || !accepted_by(t, c->fds[i]))
            c->fds[i] = c->fds[--c->n];
        else
            i++;
    }
}

static void admit(sipnat_transport *t, int fd)
{
    sn_connlimit *c = &t->conn;

    if (find(c, fd) >= 0 || !accepted_by(t, fd))
        return;
    prune(t);
    if (c->n >= c->max) {
        cut(t, fd, "max_connections reached");
        return;
    }
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 16;
        int *v = realloc(c->fds, cap * sizeof *v);
        if (!v) {
            cut(t, fd, "out of memory");
            return;
        }
        c->fds = v;
        c->cap = cap;
    }
    c->fds[c->n++] = fd;
    if (c->idle_ms && !sn_timer_armed(&c->timer))
        sn_ctx_timer_arm(t->ctx, &c->timer, SN_CONN_TICK_USEC);
}

static void tick(sn_timer *timer, void *arg)
{
    sipnat_transport *t = arg;
    sn_connlimit *c = &t->conn;

    (void)timer;
    if (!t->ctx)
        return;
    prune(t);
    for (size_t i = 0; i < c->n; i++) {
        struct tcp_info ti;
        socklen_t il = sizeof ti;
        if (getsockopt(c->fds[i], IPPROTO_TCP, TCP_INFO, &ti, &il) < 0)
            continue;
        /* Data only: sofia's TCP keep-alives (SO_KEEPALIVE) are ACKs. */
        if (ti.tcpi_last_data_recv >= c->idle_ms && ti.tcpi_last_data_sent >= c->idle_ms)
            cut(t, c->fds[i], "idle_timeout");
    }
    if (c->n)
        sn_ctx_timer_arm(t->ctx, &c->timer, SN_CONN_TICK_USEC);
}

void sn_connlimit_init(sipnat_transport *t, unsigned max, unsigned idle_seconds)
{
    memset(&t->conn, 0, sizeof t->conn);
    t->conn.max = max;
    t->conn.idle_ms = idle_seconds * 1000u;
    sn_timer_init(&t->conn.timer, tick, t);
}

void sn_connlimit_fini(sipnat_transport *t)
{
    if (t->ctx)
        sn_ctx_timer_stop(t->ctx, &t->conn.timer);
    free(t->conn.fds);
    t->conn.fds = NULL;
    t->conn.n = t->conn.cap = 0;
}

void sn_connlimit_new_fd(sipnat_transport *transports, int fd)
{
    for (sipnat_transport *t = transports; t; t = t->next)
        if (is_stream(t) && t->state == SN_T_OPEN && t->port)
            admit(t, fd);
}
