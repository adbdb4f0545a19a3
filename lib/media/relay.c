/*
 * libsipnat - the relay (see relay.h): port pairs and the batch buffers
 * of a ctx.
 *
 * Every socket of every pair sits in the ctx's own fd set (SN_IO_OWN,
 * its callback sock_ready): in pull mode straight in the ctx's epoll fd,
 * in push mode watched by the host itself. A ready socket costs one
 * wake-up and an O(1) lookup by fd, like a bare forwarder's epoll entry;
 * its batch goes through the ctx's one set of preallocated buffers. The
 * relay is a loop source of the ctx with nothing to run: it is found
 * again through the ctx's sources and freed with the ctx.
 */
#include "media/relay.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

struct sn_relay {
    sn_source src;           /* first: the ctx's loop source */
    sipnat_ctx *ctx;
    unsigned dispatching;
    sn_relay_pair *zombies;  /* released while dispatching, freed after */
    unsigned cursor;         /* next port pair slot to try */
    sn_relay_batch b;
};

static void relay_free(sn_source *src)
{
    free(src);
}

static const sn_source_ops relay_ops = {.free = relay_free};

int sn_relay_get(sipnat_ctx *ctx, sn_relay **ret)
{
    sn_relay *m = (sn_relay *)sn_source_find(ctx, &relay_ops);

    if (m) {
        *ret = m;
        return 0;
    }
    m = calloc(1, sizeof *m);
    if (!m)
        return -ENOMEM;
    m->ctx = ctx;
    /* Ports are tried from a random slot on, so that two processes (or
     * two ctx) sharing a range rarely probe the same ports. */
    if (getrandom(&m->cursor, sizeof m->cursor, GRND_NONBLOCK) != sizeof m->cursor)
        m->cursor = (unsigned)getpid() ^ (unsigned)sn_now_usec();
    for (unsigned i = 0; i < SN_MEDIA_BATCH; i++) {
        m->b.rx_iov[i].iov_base = m->b.buf[i];
        m->b.rx_iov[i].iov_len = SN_MEDIA_BUF - SN_MEDIA_TAILROOM;
    }
    sn_source_add(ctx, &m->src, &relay_ops);
    *ret = m;
    return 0;
}

bool sn_relay_defer(sn_relay *m, sn_relay_pair *p)
{
    if (!m->dispatching)
        return false;
    p->dead = true;
    p->zombie_next = m->zombies;
    m->zombies = p;
    return true;
}

static int open_socket(sn_relay *m, sn_relay_pair *p, sn_relay_sock *s, int family,
                       bool rtcp)
{
    s->relay = m;
    s->pair = p;
    s->rtcp = rtcp;
    s->fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    return s->fd < 0 ? -errno : 0;
}

static int bind_port(int fd, const sn_addr *addr, int port)
{
    struct sockaddr_storage ss;
    socklen_t len = sn_addr_to_sockaddr(addr, port, &ss);

    return bind(fd, (struct sockaddr *)&ss, len) < 0 ? -errno : 0;
}

void sn_relay_queue_channel(sn_relay_batch *b, unsigned *ntx, unsigned i, size_t len,
                            const sn_sockaddr *server, uint16_t channel)
{
    unsigned k = *ntx;
    uint8_t *h = b->tx_chan[k];

    sn_relay_queue(b, ntx, i, len, server);
    h[0] = (uint8_t)(channel >> 8);
    h[1] = (uint8_t)channel;
    h[2] = (uint8_t)(len >> 8);
    h[3] = (uint8_t)len;
    b->tx_iov[k][1] = b->tx_iov[k][0];
    b->tx_iov[k][0].iov_base = h;
    b->tx_iov[k][0].iov_len = 4;
    b->tx[k].msg_hdr.msg_iovlen = 2;
}

static void sock_ready(sipnat_ctx *ctx, int fd, unsigned revents, void *arg);

static int watch(sn_relay *m, sn_relay_sock *s)
{
    return sn_io_set(m->ctx, s->fd, SIPNAT_IO_IN, SN_IO_OWN, sock_ready, s);
}

int sn_relay_open(sn_relay *m, sn_relay_pair *p, const sn_addr *bind,
                  int port_min, int port_max)
{
    int first = (port_min + 1) & ~1;
    int last = (port_max - 1) & ~1;
    unsigned slots = (unsigned)(last - first) / 2 + 1;
    int r;

    p->rtp.fd = p->rtcp.fd = -1;
    r = open_socket(m, p, &p->rtp, bind->family, false);
    if (r == 0)
        r = open_socket(m, p, &p->rtcp, bind->family, true);
    for (unsigned i = 0; r == 0 && i < slots; i++) {
        unsigned slot = (m->cursor + i) % slots;
        int port = first + 2 * (int)slot;
        /* A failed bind leaves a UDP socket unbound: the next pair is
         * tried with the same sockets. */
        int b = bind_port(p->rtp.fd, bind, port);

        if (b == 0) {
            b = bind_port(p->rtcp.fd, bind, port + 1);
            if (b < 0) {
                /* The RTP socket is bound now: start it over. */
                close(p->rtp.fd);
                r = open_socket(m, p, &p->rtp, bind->family, false);
            }
        }
        if (r == 0 && b == 0) {
            p->port = port;
            m->cursor = slot + 1;
            break;
        }
        if (r == 0 && b != -EADDRINUSE && b != -EACCES)
            r = b;
    }
    if (r == 0 && p->port == 0)
        r = -EADDRINUSE;
    if (r == 0)
        r = watch(m, &p->rtp);
    if (r == 0)
        r = watch(m, &p->rtcp);
    if (r < 0)
        sn_relay_close(m, p);
    return r;
}

void sn_relay_close(sn_relay *m, sn_relay_pair *p)
{
    sn_relay_sock *socks[2] = {&p->rtp, &p->rtcp};

    for (int i = 0; i < 2; i++) {
        if (socks[i]->fd < 0)
            continue;
        sn_io_del(m->ctx, socks[i]->fd);
        close(socks[i]->fd);
        socks[i]->fd = -1;
    }
}

/* -- batches --------------------------------------------------------------- */

unsigned sn_relay_flush(sn_relay_batch *b, int fd, unsigned n, uint64_t *bytes)
{
    unsigned done = 0, sent = 0;

    while (done < n) {
        int r = sendmmsg(fd, b->tx + done, n - done, 0);
        if (r > 0) {
            done += (unsigned)r;
            sent += (unsigned)r;
        } else if (r < 0 && errno == EINTR) {
            continue;
        } else {
            done++;
        }
    }
    *bytes = 0;
    for (unsigned i = 0; i < sent; i++)
        for (size_t k = 0; k < b->tx[i].msg_hdr.msg_iovlen; k++)
            *bytes += b->tx_iov[i][k].iov_len;
    return sent;
}

void sn_relay_queue(sn_relay_batch *b, unsigned *ntx, unsigned i, size_t len,
                    const sn_sockaddr *dst)
{
    struct msghdr *h = &b->tx[*ntx].msg_hdr;

    b->tx_iov[*ntx][0].iov_base = b->buf[i];
    b->tx_iov[*ntx][0].iov_len = len;
    h->msg_name = (void *)dst;
    h->msg_namelen = sn_sockaddr_len(dst);
    h->msg_iov = b->tx_iov[*ntx];
    h->msg_iovlen = 1;
    h->msg_control = NULL;
    h->msg_controllen = 0;
    h->msg_flags = 0;
    (*ntx)++;
}

static void sock_ready(sipnat_ctx *ctx, int fd, unsigned revents, void *arg)
{
    sn_relay_sock *s = arg;
    sn_relay *m = s->relay;
    int n;

    (void)ctx;
    (void)revents;
    for (unsigned i = 0; i < SN_MEDIA_BATCH; i++) {
        struct msghdr *h = &m->b.rx[i].msg_hdr;
        h->msg_name = &m->b.rx_addr[i];
        h->msg_namelen = sizeof m->b.rx_addr[i];
        h->msg_iov = &m->b.rx_iov[i];
        h->msg_iovlen = 1;
        h->msg_control = NULL;
        h->msg_controllen = 0;
        h->msg_flags = 0;
    }
    /* One batch per socket and wake-up: a flooded socket cannot starve
     * the others, and stays readable for the next round. */
    n = recvmmsg(fd, m->b.rx, SN_MEDIA_BATCH, MSG_DONTWAIT, NULL);
    if (n <= 0)
        return;
    /* A handler may free pairs (its own among them): their memory waits
     * until it returns. */
    m->dispatching++;
    s->pair->on_rx(s->pair, s->rtcp, &m->b, (unsigned)n, sn_now_usec());
    if (--m->dispatching == 0)
        while (m->zombies) {
            sn_relay_pair *p = m->zombies;
            m->zombies = p->zombie_next;
            p->release(p);
        }
}
