/*
 * libsipnat - SIP Outbound flows (RFC 5626) of the UA side.
 *
 * Why here and not in sofia: NUA's own outbound support lives in its
 * registration usage (nua_register), which the library does not use
 * (registration.c says why), and sofia's ping-pong timer (TPTAG_PINGPONG)
 * is a parameter of the whole transport: it would close every phone's
 * connection to our registrar that does not answer pings, and NUA gives
 * no way to reach one connection's parameters or to hear that it closed.
 *
 * How: like connlimit.c, at the socket. After a 2xx to REGISTER, the
 * flow is the stack's connected stream socket to the registrar's
 * address, known by fd and inode. A ping is CRLFCRLF written to it
 * between messages (only when the kernel holds no unacknowledged byte,
 * so it never lands inside a message sofia is still writing); sofia
 * reads the CRLF pong as keep-alive whitespace, and the kernel's
 * TCP_INFO says whether anything arrived since the ping. TLS has no
 * plaintext to write CRLF into: its flow gets the kernel's keep-alive
 * probes instead, which keep the NAT's binding and end a dead
 * connection with an error that sofia sees.
 */
#include "config.h"

#include "sip/flow.h"
#include "core/addr.h"

#include <errno.h>
#include <linux/sockios.h>
#include <netinet/in.h>
/* The kernel's struct tcp_info (glibc's stops before tcpi_bytes_received). */
#include <linux/tcp.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>

/* The kernel's TCP states (netinet/tcp.h's, not in linux/tcp.h). */
enum { SN_TCP_ESTABLISHED = 1, SN_TCP_CLOSE = 7 };

/* The stack's sockets looked through: every connection of a busy
 * registrar fits. */
#define SN_FLOW_MAX_FDS 1024

void sn_flow_init(sn_flow *f)
{
    memset(f, 0, sizeof *f);
    f->fd = -1;
}

/* A socket of this type, and the address and port of its own (or its
 * peer's) end. */
static bool sock_addr(int fd, int type, bool peer, sn_addr *a, int *port)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    int got = 0;
    socklen_t il = sizeof got;

    return getsockopt(fd, SOL_SOCKET, SO_TYPE, &got, &il) == 0 && got == type &&
           (peer ? getpeername(fd, (struct sockaddr *)&ss, &sl)
                 : getsockname(fd, (struct sockaddr *)&ss, &sl)) == 0 &&
           sn_addr_from_sockaddr((struct sockaddr *)&ss, a, port) == 0;
}

/* "addr:port" of a socket's own (or its peer's) end. */
static void sock_text(int fd, bool peer, char *buf, size_t size)
{
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    char text[SIPNAT_ADDRSTRLEN];
    sn_addr a;
    int port = 0;

    if ((peer ? getpeername(fd, (struct sockaddr *)&ss, &sl)
              : getsockname(fd, (struct sockaddr *)&ss, &sl)) < 0 ||
        sn_addr_from_sockaddr((struct sockaddr *)&ss, &a, &port) < 0 ||
        sn_addr_format(&a, text, sizeof text) < 0) {
        snprintf(buf, size, "?");
        return;
    }
    snprintf(buf, size, strchr(text, ':') ? "[%s]:%d" : "%s:%d", text, port);
}

static bool tcp_info(int fd, struct tcp_info *ti)
{
    socklen_t l = sizeof *ti;

    memset(ti, 0, sizeof *ti);
    return getsockopt(fd, IPPROTO_TCP, TCP_INFO, ti, &l) == 0;
}

int sn_flow_find(sn_flow *f, sn_stack *stack, const char *addr, int port, bool tls)
{
    int fds[SN_FLOW_MAX_FDS];
    size_t n = sn_stack_fds(stack, fds, SN_FLOW_MAX_FDS);
    uint32_t best_quiet = UINT32_MAX;
    sn_addr want;

    sn_flow_init(f);
    if (sn_addr_parse(addr, &want) < 0)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        struct tcp_info ti;
        struct stat st;
        sn_addr got;
        int p = 0;

        if (!sock_addr(fds[i], SOCK_STREAM, true, &got, &p) || p != port ||
            !sn_addr_equal(&got, &want) ||
            !tcp_info(fds[i], &ti) || ti.tcpi_state != SN_TCP_ESTABLISHED ||
            fstat(fds[i], &st) < 0)
            continue;
        if (ti.tcpi_last_data_recv < best_quiet) {
            best_quiet = ti.tcpi_last_data_recv;
            f->fd = fds[i];
            f->ino = st.st_ino;
        }
    }
    if (f->fd < 0)
        return -ENOENT;
    sock_text(f->fd, false, f->local, sizeof f->local);
    sock_text(f->fd, true, f->peer, sizeof f->peer);
    f->tls = tls;
    return 0;
}

/* The fd still names the socket the flow was found on. */
static bool same_socket(const sn_flow *f)
{
    struct stat st;

    return f->fd >= 0 && fstat(f->fd, &st) == 0 && st.st_ino == f->ino;
}

const char *sn_flow_broken(const sn_flow *f)
{
    struct tcp_info ti;
    int err = 0;
    socklen_t l = sizeof err;

    if (!same_socket(f))
        return "connection closed";
    if (getsockopt(f->fd, SOL_SOCKET, SO_ERROR, &err, &l) == 0 && err)
        return err == ECONNRESET ? "connection reset" : "connection failed";
    if (!tcp_info(f->fd, &ti))
        return "connection closed";
    if (ti.tcpi_state != SN_TCP_ESTABLISHED)
        return ti.tcpi_state == SN_TCP_CLOSE ? "connection reset" : "connection closing";
    return NULL;
}

int sn_flow_ping(sn_flow *f, unsigned interval_s)
{
    struct tcp_info ti;
    int outq = 0;

    if (!same_socket(f))
        return -EPIPE;
    if (f->tls) {
        /* A probe after `interval_s` quiet seconds, the connection
         * dropped when it goes unanswered for min(interval, 10) s. */
        int on = 1, idle = (int)interval_s, intvl = interval_s < 10 ? (int)interval_s : 10,
            cnt = 1;
        if (setsockopt(f->fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof on) < 0 ||
            setsockopt(f->fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof idle) < 0 ||
            setsockopt(f->fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof intvl) < 0 ||
            setsockopt(f->fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof cnt) < 0)
            return -errno;
        f->ping_at = 0;
        return 0;
    }
    if (ioctl(f->fd, SIOCOUTQ, &outq) < 0)
        return -errno;
    if (outq > 0) {
        if (!f->busy_since)
            f->busy_since = sn_now_usec();
        return -EAGAIN;
    }
    /* The count before the ping: the pong may be in before send returns. */
    f->rx_at_ping = tcp_info(f->fd, &ti) ? ti.tcpi_bytes_received : 0;
    f->ping_at = sn_now_usec();
    if (send(f->fd, "\r\n\r\n", 4, MSG_NOSIGNAL | MSG_DONTWAIT) != 4) {
        f->ping_at = 0;
        return errno ? -errno : -EAGAIN;
    }
    f->busy_since = 0;
    return 0;
}

bool sn_flow_answered(const sn_flow *f)
{
    struct tcp_info ti;

    if (f->tls || !f->ping_at)
        return true;
    if (!same_socket(f) || !tcp_info(f->fd, &ti))
        return false;
    /* Bytes received since the ping (kernels before 4.1 leave the count
     * 0: then tcpi_last_data_recv, in whole jiffies, must do). */
    if (ti.tcpi_bytes_received || f->rx_at_ping)
        return ti.tcpi_bytes_received > f->rx_at_ping;
    return (uint64_t)ti.tcpi_last_data_recv * 1000u < sn_now_usec() - f->ping_at;
}

bool sn_flow_stalled(const sn_flow *f, unsigned seconds)
{
    struct tcp_info ti;
    uint64_t busy;
    int outq = 0;

    if (!same_socket(f) || !tcp_info(f->fd, &ti) || ioctl(f->fd, SIOCOUTQ, &outq) < 0)
        return true;
    if (!f->busy_since || outq == 0)
        return false;
    /* In flight since busy_since, and no acknowledgement since then. */
    busy = sn_now_usec() - f->busy_since;
    return busy >= seconds * 1000000ull && (uint64_t)ti.tcpi_last_ack_recv * 1000u >= busy;
}

void sn_flow_shutdown(sn_flow *f)
{
    if (same_socket(f))
        shutdown(f->fd, SHUT_RDWR);
}

bool sn_flow_closed(const sn_flow *f, sn_stack *stack)
{
    int fds[SN_FLOW_MAX_FDS];
    size_t n = sn_stack_fds(stack, fds, SN_FLOW_MAX_FDS);

    if (!same_socket(f))
        return true;
    for (size_t i = 0; i < n; i++)
        if (fds[i] == f->fd)
            return false;
    return true;
}

int sn_flow_udp_socket(sn_stack *stack, const char *local, int port)
{
    int fds[SN_FLOW_MAX_FDS];
    size_t n = sn_stack_fds(stack, fds, SN_FLOW_MAX_FDS);
    int wildcard = -ENOENT;
    sn_addr want;

    if (sn_addr_parse(local, &want) < 0)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        sn_addr got, any = {.family = want.family};
        int p = 0;

        if (!sock_addr(fds[i], SOCK_DGRAM, false, &got, &p) || p != port)
            continue;
        if (sn_addr_equal(&got, &want))
            return fds[i];
        if (sn_addr_equal(&got, &any))
            wildcard = fds[i];
    }
    return wildcard;
}

void sn_flow_new_instance(char *buf, size_t size)
{
    uint8_t u[16];

    if (getrandom(u, sizeof u, 0) != sizeof u) {
        uint64_t t = sn_now_usec();
        for (size_t i = 0; i < sizeof u; i++)
            u[i] = (uint8_t)(t >> (8 * (i % 8))) ^ (uint8_t)(i * 37);
    }
    u[6] = (uint8_t)((u[6] & 0x0f) | 0x40); /* version 4 */
    u[8] = (uint8_t)((u[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    snprintf(buf, size,
             "urn:uuid:%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
             "%02x%02x%02x%02x%02x%02x",
             u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9], u[10],
             u[11], u[12], u[13], u[14], u[15]);
}

bool sn_flow_instance_ok(const char *urn)
{
    if (!urn || strncasecmp(urn, "urn:uuid:", 9) != 0 || strlen(urn) != 45)
        return false;
    for (int i = 0; i < 36; i++) {
        char c = urn[9 + i];
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
                                (c >= 'A' && c <= 'F')))
            return false;
    }
    return true;
}
