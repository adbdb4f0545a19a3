/*
 * bench/anchor - RTP relay throughput, CPU per packet and added latency of
 * bridged libsipnat anchors, against a bare recvmmsg/sendmmsg forwarder
 * measured in the same run (see bench/README).
 *
 * Three threads: the relay under test (this thread: a sipnat_ctx driven in
 * pull mode - or with --push in push mode - or the bare forwarder), a generator sending N G.711 streams
 * (172-byte packets, 50 per second each, a send timestamp in the payload)
 * from one socket, and a receiver collecting them on one socket. The
 * relay's CPU time is its thread's CPU clock (user + system).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>

#include <sipnat/sipnat.h>
#ifdef BENCH_TURN
/* bench/anchor-turn: linked with the library's objects (-static), for the
 * anchor's TURN channel, which only lib/sip's ICE sets up. */
#include "media/anchor.h"
#endif

#define PKT 172          /* 12 RTP + 160 G.711 */
#define STREAM_PPS 50
#define BATCH 32
#define MAX_STREAMS 4500 /* 4 fds per anchored stream under a 20,000 fd limit */
#define PORT_MIN 20000
#define PORT_MAX 59999
#define MAX_SAMPLES 2000000

typedef enum relay_kind { RELAY_ANCHOR, RELAY_BARE, RELAY_RTPENGINE, RELAY_ANCHOR_TURN } relay_kind;

/* A TURN channel's header on every packet into the relay and out of it
 * (RELAY_ANCHOR_TURN: the generator and the receiver play the TURN
 * servers of the two legs). */
static unsigned chan_hdr;

static void chan_frame(uint8_t *p, size_t len)
{
    p[0] = 0x40;
    p[1] = 0x00;
    p[2] = (uint8_t)(len >> 8);
    p[3] = (uint8_t)len;
}

/* --push: the anchors' ctx in push mode, its fds in this thread's epoll. */
static bool push_mode;

typedef struct trial {
    relay_kind kind;
    unsigned streams;
    unsigned stream_pps;  /* per stream */
    double seconds;
    bool burst;           /* all streams at once every 1/stream_pps s */
    bool latency;         /* keep latency samples */
    /* results */
    uint64_t sent, received;
    double cpu_us_per_pkt;
    double p50_us, p99_us;
} trial;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *what, int err)
{
    fprintf(stderr, "bench/anchor: %s: %s\n", what, strerror(err < 0 ? -err : err));
    exit(2);
}

static int udp_socket(int port, int rcvbuf)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd < 0)
        die("socket", errno);
    if (rcvbuf && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    if (bind(fd, (struct sockaddr *)&sin, sizeof sin) < 0)
        return -errno;
    return fd;
}

static int local_port(int fd)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof sin;
    getsockname(fd, (struct sockaddr *)&sin, &len);
    return ntohs(sin.sin_port);
}

/* -- load: generator and receiver ------------------------------------------ */

typedef struct load {
    const trial *t;
    int gen_fd, recv_fd;
    int *ports;                /* relay input port of each stream */
    atomic_bool gen_done;
    atomic_bool stop_recv;
    uint64_t sent, received;
    uint32_t *lat_us;          /* latency samples */
    size_t n_lat;
} load;

static void *generator(void *arg)
{
    load *l = arg;
    const trial *t = l->t;
    double rate = (double)t->streams * t->stream_pps;
    uint64_t total = (uint64_t)(rate * t->seconds);
    uint64_t start = now_ns(), sent = 0;
    uint16_t *seq = calloc(t->streams, sizeof *seq);
    static uint8_t bufs[BATCH][PKT + 4];
    struct sockaddr_in to[BATCH];
    struct iovec iov[BATCH];
    struct mmsghdr msg[BATCH];

    prctl(PR_SET_TIMERSLACK, 1UL);
    memset(msg, 0, sizeof msg);
    while (sent < total) {
        uint64_t now = now_ns(), due;
        if (t->burst) {
            /* whole rounds: every stream at once, each 1/stream_pps s */
            uint64_t rounds = (now - start) * t->stream_pps / 1000000000u + 1;
            due = rounds * t->streams;
        } else {
            due = (uint64_t)((double)(now - start) * rate / 1e9) + 1;
        }
        if (due > total)
            due = total;
        while (sent < due) {
            unsigned n = 0;
            uint64_t stamp = now_ns();
            while (n < BATCH && sent + n < due) {
                unsigned s = (unsigned)((sent + n) % t->streams);
                uint8_t *p = bufs[n] + chan_hdr;
                if (chan_hdr)
                    chan_frame(bufs[n], PKT);
                memset(p, 0xFF, PKT);
                p[0] = 0x80;
                p[1] = 0;
                p[2] = (uint8_t)(seq[s] >> 8);
                p[3] = (uint8_t)seq[s];
                uint32_t ts = (uint32_t)seq[s] * 160u, ssrc = 0x10000u + s;
                memcpy(p + 4, &ts, 4);
                memcpy(p + 8, &ssrc, 4);
                memcpy(p + 12, &stamp, 8);
                memcpy(p + 20, &s, 4);
                seq[s]++;
                to[n] = (struct sockaddr_in){.sin_family = AF_INET,
                                             .sin_port = htons((uint16_t)l->ports[s]),
                                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
                iov[n] = (struct iovec){.iov_base = bufs[n], .iov_len = PKT + chan_hdr};
                msg[n].msg_hdr = (struct msghdr){.msg_name = &to[n], .msg_namelen = sizeof to[n],
                                                 .msg_iov = &iov[n], .msg_iovlen = 1};
                n++;
            }
            unsigned done = 0;
            while (done < n) {
                int r = sendmmsg(l->gen_fd, msg + done, n - done, 0);
                if (r > 0)
                    done += (unsigned)r;
                else if (errno == EAGAIN || errno == ENOBUFS)
                    poll(&(struct pollfd){.fd = l->gen_fd, .events = POLLOUT}, 1, 1);
                else
                    done++; /* counted as sent, and lost */
            }
            sent += n;
        }
        if (sent >= total)
            break;
        /* sleep until the next packet (or round) is due */
        uint64_t next = t->burst
            ? start + (sent / t->streams) * 1000000000u / t->stream_pps
            : start + (uint64_t)((double)sent * 1e9 / rate);
        struct timespec ts = {.tv_sec = (time_t)(next / 1000000000u),
                              .tv_nsec = (long)(next % 1000000000u)};
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
    }
    l->sent = sent;
    free(seq);
    atomic_store(&l->gen_done, true);
    return NULL;
}

static void *receiver(void *arg)
{
    load *l = arg;
    static uint8_t bufs[BATCH][2048];
    struct iovec iov[BATCH];
    struct mmsghdr msg[BATCH];

    for (int i = 0; i < BATCH; i++) {
        iov[i] = (struct iovec){.iov_base = bufs[i], .iov_len = sizeof bufs[i]};
        msg[i].msg_hdr = (struct msghdr){.msg_iov = &iov[i], .msg_iovlen = 1};
    }
    while (!atomic_load(&l->stop_recv)) {
        struct pollfd p = {.fd = l->recv_fd, .events = POLLIN};
        if (poll(&p, 1, 20) <= 0)
            continue;
        int n = recvmmsg(l->recv_fd, msg, BATCH, MSG_DONTWAIT, NULL);
        uint64_t now = now_ns();
        for (int i = 0; i < n; i++) {
            uint64_t stamp;
            if (msg[i].msg_len != PKT + chan_hdr)
                continue;
            l->received++;
            memcpy(&stamp, bufs[i] + chan_hdr + 12, 8);
            if (l->lat_us && l->n_lat < MAX_SAMPLES)
                l->lat_us[l->n_lat++] = (uint32_t)((now - stamp) / 1000u);
        }
    }
    return NULL;
}

/* -- relays under test ----------------------------------------------------- */

typedef struct relay {
    relay_kind kind;
    unsigned n;
    /* anchor */
    sipnat_ctx *ctx;
    sipnat_anchor **a;
    uint64_t timer_ns;    /* push mode: the ctx's deadline, 0 for none */
    /* bare, and the anchor in push mode */
    int epfd;
    int *in_fd, *out_fd;
    struct sockaddr_in dst;
    /* rtpengine: its calls, "b<trial>-<i>" */
    unsigned trial_id;
} relay;

/* Push mode: the ctx's watches and timer, kept by this thread's epoll. */
static int on_watch(sipnat_ctx *ctx, int fd, unsigned ev_mask, void *fd_data, void *user_data)
{
    relay *r = user_data;
    struct epoll_event ev = {.events = ((ev_mask & SIPNAT_IO_IN) ? EPOLLIN : 0u) |
                                       ((ev_mask & SIPNAT_IO_OUT) ? EPOLLOUT : 0u),
                             .data.fd = fd};

    (void)ctx;
    if (ev_mask & SIPNAT_IO_REMOVE)
        return epoll_ctl(r->epfd, EPOLL_CTL_DEL, fd, NULL) < 0 ? -errno : 0;
    return epoll_ctl(r->epfd, fd_data ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd, &ev) < 0
               ? -errno
               : sipnat_ctx_assign(ctx, fd, r);
}

static int on_timer(sipnat_ctx *ctx, int timeout_ms, void *user_data)
{
    relay *r = user_data;

    (void)ctx;
    r->timer_ns = timeout_ms < 0 ? 0 : now_ns() + (uint64_t)timeout_ms * 1000000u;
    return 0;
}

static void rtpengine_open(relay *r, unsigned n, int gen_port, int recv_port, int *ports);
static void rtpengine_close(relay *r);
static uint64_t rtpengine_cpu_ns(void);

/* The CPU clock of the relay under test: this thread, or rtpengine's
 * process (all its threads). */
static uint64_t relay_cpu_ns(const relay *r)
{
    return r->kind == RELAY_RTPENGINE ? rtpengine_cpu_ns() : thread_cpu_ns();
}

static void relay_open(relay *r, relay_kind kind, unsigned n, int gen_port, int recv_port,
                       int *ports)
{
    memset(r, 0, sizeof *r);
    r->kind = kind;
    r->n = n;
    if (kind == RELAY_RTPENGINE) {
        rtpengine_open(r, n, gen_port, recv_port, ports);
    } else if (kind == RELAY_ANCHOR || kind == RELAY_ANCHOR_TURN) {
        sipnat_anchor_cfg *cfg = NULL;
        int e = sipnat_ctx_new(&r->ctx);
        if (e == 0 && push_mode) {
            r->epfd = epoll_create1(EPOLL_CLOEXEC);
            e = sipnat_ctx_set_watch_func(r->ctx, on_watch, r);
            if (e == 0)
                e = sipnat_ctx_set_timer_func(r->ctx, on_timer, r);
        }
        if (e == 0)
            e = sipnat_anchor_cfg_new(&cfg);
        if (e == 0)
            e = sipnat_anchor_cfg_set_bind(cfg, "127.0.0.1");
        if (e == 0)
            e = sipnat_anchor_cfg_set_port_range(cfg, PORT_MIN, PORT_MAX);
        if (e < 0)
            die("ctx", e);
        r->a = calloc(2 * n, sizeof *r->a);
        for (unsigned i = 0; i < n; i++) {
            sipnat_anchor **in = &r->a[2 * i], **out = &r->a[2 * i + 1];
            char addr[SIPNAT_ADDRSTRLEN];
            if ((e = sipnat_anchor_new(in, r->ctx, cfg)) < 0 ||
                (e = sipnat_anchor_new(out, r->ctx, cfg)) < 0)
                die("sipnat_anchor_new", e);
            sipnat_anchor_set_remote(*in, "127.0.0.1", gen_port, 0);
            sipnat_anchor_set_remote(*out, "127.0.0.1", recv_port, 0);
            sipnat_anchor_bridge(*in, *out);
            sipnat_anchor_get_local(*in, addr, &ports[i]);
#ifdef BENCH_TURN
            if (kind == RELAY_ANCHOR_TURN) {
                /* The generator is the in leg's TURN server, the receiver
                 * the out leg's; the peers behind them are the same
                 * addresses (what the latch then sees). */
                struct sockaddr_in g = {.sin_family = AF_INET,
                                        .sin_port = htons((uint16_t)gen_port),
                                        .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
                struct sockaddr_in v = g;
                v.sin_port = htons((uint16_t)recv_port);
                if ((e = sn_anchor_set_channel(*in, false, (struct sockaddr *)&g, 0x4000,
                                               (struct sockaddr *)&g)) < 0 ||
                    (e = sn_anchor_set_channel(*out, false, (struct sockaddr *)&v, 0x4000,
                                               (struct sockaddr *)&v)) < 0)
                    die("sn_anchor_set_channel", e);
            }
#endif
        }
        sipnat_anchor_cfg_free(cfg);
    } else {
        r->epfd = epoll_create1(EPOLL_CLOEXEC);
        r->in_fd = calloc(n, sizeof *r->in_fd);
        r->out_fd = calloc(n, sizeof *r->out_fd);
        r->dst = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons((uint16_t)recv_port),
                                      .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        for (unsigned i = 0; i < n; i++) {
            r->in_fd[i] = udp_socket(0, 0);
            r->out_fd[i] = udp_socket(0, 0);
            if (r->in_fd[i] < 0 || r->out_fd[i] < 0)
                die("bare socket", r->in_fd[i] < 0 ? r->in_fd[i] : r->out_fd[i]);
            ports[i] = local_port(r->in_fd[i]);
            struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};
            epoll_ctl(r->epfd, EPOLL_CTL_ADD, r->in_fd[i], &ev);
        }
    }
}

static void relay_close(relay *r)
{
    if (r->kind == RELAY_RTPENGINE) {
        rtpengine_close(r);
    } else if (r->kind == RELAY_ANCHOR || r->kind == RELAY_ANCHOR_TURN) {
        for (unsigned i = 0; i < 2 * r->n; i++)
            sipnat_anchor_unref(r->a[i]);
        free(r->a);
        sipnat_ctx_unref(r->ctx);
        if (push_mode)
            close(r->epfd);
    } else {
        for (unsigned i = 0; i < r->n; i++) {
            close(r->in_fd[i]);
            close(r->out_fd[i]);
        }
        free(r->in_fd);
        free(r->out_fd);
        close(r->epfd);
    }
}

/* The bare forwarder: the least a single-thread relay can do. */
static void bare_round(relay *r, int timeout_ms)
{
    static uint8_t bufs[BATCH][2048];
    static struct iovec iov[BATCH];
    static struct mmsghdr msg[BATCH];
    struct epoll_event evs[64];
    int n = epoll_wait(r->epfd, evs, 64, timeout_ms);

    for (int e = 0; e < n; e++) {
        unsigned s = evs[e].data.u32;
        for (int i = 0; i < BATCH; i++) {
            iov[i] = (struct iovec){.iov_base = bufs[i], .iov_len = sizeof bufs[i]};
            msg[i].msg_hdr = (struct msghdr){.msg_iov = &iov[i], .msg_iovlen = 1};
        }
        int k = recvmmsg(r->in_fd[s], msg, BATCH, MSG_DONTWAIT, NULL);
        for (int i = 0; i < k; i++) {
            iov[i].iov_len = msg[i].msg_len;
            msg[i].msg_hdr.msg_name = &r->dst;
            msg[i].msg_hdr.msg_namelen = sizeof r->dst;
        }
        for (int done = 0; done < k;) {
            int w = sendmmsg(r->out_fd[s], msg + done, (unsigned)(k - done), 0);
            done += w > 0 ? w : 1;
        }
    }
}

/* Push mode: one epoll_wait, then each ready fd straight to the ctx. */
static void anchor_push_round(relay *r, int timeout_ms)
{
    struct epoll_event evs[64];
    int t = timeout_ms, n;

    if (r->timer_ns) {
        uint64_t now = now_ns();
        int due = r->timer_ns <= now ? 0 : (int)((r->timer_ns - now + 999999) / 1000000);
        if (due < t)
            t = due;
    }
    n = epoll_wait(r->epfd, evs, 64, t);
    for (int i = 0; i < n; i++)
        sipnat_ctx_process_fd(r->ctx, evs[i].data.fd,
                              ((evs[i].events & EPOLLIN) ? SIPNAT_IO_IN : 0u) |
                                  ((evs[i].events & EPOLLOUT) ? SIPNAT_IO_OUT : 0u) |
                                  ((evs[i].events & EPOLLERR) ? SIPNAT_IO_ERR : 0u) |
                                  ((evs[i].events & EPOLLHUP) ? SIPNAT_IO_HUP : 0u));
    if (r->timer_ns && r->timer_ns <= now_ns()) {
        r->timer_ns = 0;
        sipnat_ctx_process_timeout(r->ctx);
    }
}

static void anchor_round(relay *r, int timeout_ms)
{
    struct pollfd p = {.fd = -1, .events = POLLIN};
    int t;

    if (push_mode) {
        anchor_push_round(r, timeout_ms);
        return;
    }
    p.fd = sipnat_ctx_get_fd(r->ctx);

    sipnat_ctx_get_timeout(r->ctx, &t);
    if (t < 0 || t > timeout_ms)
        t = timeout_ms;
    poll(&p, 1, t);
    sipnat_ctx_process(r->ctx);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static void run_trial(trial *t)
{
    load l = {.t = t};
    relay r;
    pthread_t gen, rcv;

    l.gen_fd = udp_socket(0, 0);
    l.recv_fd = udp_socket(0, 16 << 20);
    l.ports = calloc(t->streams, sizeof *l.ports);
    if (t->latency)
        l.lat_us = malloc(MAX_SAMPLES * sizeof *l.lat_us);
    relay_open(&r, t->kind, t->streams, local_port(l.gen_fd), local_port(l.recv_fd), l.ports);
    bool anchored = t->kind == RELAY_ANCHOR || t->kind == RELAY_ANCHOR_TURN;
    chan_hdr = t->kind == RELAY_ANCHOR_TURN ? 4 : 0;

    /* Latch first: probation packets of every stream, not measured. */
    if (anchored) {
        uint8_t frame[PKT + 4], *p = frame + chan_hdr;
        memset(frame, 0, sizeof frame);
        p[0] = 0x80;
        if (chan_hdr)
            chan_frame(frame, 20);
        for (uint16_t s = 0; s < 4; s++)
            for (unsigned i = 0; i < t->streams; i++) {
                struct sockaddr_in to = {.sin_family = AF_INET,
                                         .sin_port = htons((uint16_t)l.ports[i]),
                                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
                p[2] = 0xF0;
                p[3] = (uint8_t)s;
                while (sendto(l.gen_fd, frame, 20 + chan_hdr, 0, (struct sockaddr *)&to,
                              sizeof to) < 0)
                    poll(NULL, 0, 1);
                if (i % 256 == 255)
                    for (int k = 0; k < 8; k++)
                        anchor_round(&r, 0);
            }
        for (int k = 0; k < 200; k++)
            anchor_round(&r, 5);
    }

    uint64_t cpu0 = relay_cpu_ns(&r);
    pthread_create(&rcv, NULL, receiver, &l);
    pthread_create(&gen, NULL, generator, &l);
    uint64_t drain_end = 0;
    for (;;) {
        if (anchored)
            anchor_round(&r, 10);
        else if (t->kind == RELAY_BARE)
            bare_round(&r, 10);
        else
            poll(NULL, 0, 10); /* rtpengine relays in its own process */
        if (atomic_load(&l.gen_done)) {
            if (!drain_end)
                drain_end = now_ns() + 200000000u;
            else if (now_ns() > drain_end)
                break;
        }
    }
    uint64_t cpu = relay_cpu_ns(&r) - cpu0;
    atomic_store(&l.stop_recv, true);
    pthread_join(gen, NULL);
    pthread_join(rcv, NULL);

    t->sent = l.sent;
    t->received = l.received;
    t->cpu_us_per_pkt = l.received ? (double)cpu / 1000.0 / (double)l.received : 0;
    if (l.n_lat) {
        qsort(l.lat_us, l.n_lat, sizeof *l.lat_us, cmp_u32);
        t->p50_us = l.lat_us[l.n_lat / 2];
        t->p99_us = l.lat_us[l.n_lat * 99 / 100];
    }
    relay_close(&r);
    free(l.lat_us);
    free(l.ports);
    close(l.gen_fd);
    close(l.recv_fd);
}

static const char *name(relay_kind k);

/* -- ping-pong: one packet per wake-up ------------------------------------ */

typedef struct pingpong {
    int gen_fd, recv_fd, port;
    unsigned n, got;
    atomic_bool done;
} pingpong;

/* Sends a packet, waits for it to come out of the relay, sends the next:
 * every packet is a wake-up of its own, whatever else runs. */
static void *pingpong_load(void *arg)
{
    pingpong *pp = arg;
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)pp->port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    uint8_t p[PKT] = {0x80};

    for (unsigned i = 0; i < pp->n; i++) {
        struct pollfd w = {.fd = pp->recv_fd, .events = POLLIN};
        uint16_t seq = (uint16_t)(4 + i);
        p[2] = (uint8_t)(seq >> 8);
        p[3] = (uint8_t)seq;
        sendto(pp->gen_fd, p, sizeof p, 0, (struct sockaddr *)&to, sizeof to);
        if (poll(&w, 1, 200) == 1 && recv(pp->recv_fd, p, sizeof p, 0) > 0)
            pp->got++;
    }
    atomic_store(&pp->done, true);
    return NULL;
}

/* The relay thread's CPU per packet over n round trips. */
static double pingpong_trial(relay_kind kind, unsigned n)
{
    pingpong pp = {.n = n};
    uint8_t p[PKT] = {0x80};
    pthread_t th;
    relay r;

    pp.gen_fd = udp_socket(0, 0);
    pp.recv_fd = udp_socket(0, 0);
    relay_open(&r, kind, 1, local_port(pp.gen_fd), local_port(pp.recv_fd), &pp.port);
    if (kind == RELAY_ANCHOR) {
        struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)pp.port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        for (uint8_t seq = 0; seq < 4; seq++) {
            p[3] = seq;
            sendto(pp.gen_fd, p, sizeof p, 0, (struct sockaddr *)&to, sizeof to);
            for (int k = 0; k < 4; k++)
                anchor_round(&r, 5);
        }
        while (recv(pp.recv_fd, p, sizeof p, MSG_DONTWAIT) > 0)
            ;
    }
    uint64_t cpu0 = thread_cpu_ns();
    pthread_create(&th, NULL, pingpong_load, &pp);
    while (!atomic_load(&pp.done)) {
        if (kind == RELAY_ANCHOR)
            anchor_round(&r, 10);
        else
            bare_round(&r, 10);
    }
    uint64_t cpu = thread_cpu_ns() - cpu0;
    pthread_join(th, NULL);
    relay_close(&r);
    close(pp.gen_fd);
    close(pp.recv_fd);
    return pp.got ? (double)cpu / 1000.0 / pp.got : 0;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Alternating trials of both relays; the medians and their ratio. */
static void pingpong_run(unsigned n)
{
    double us[2][7];

    for (int i = 0; i < 7; i++)
        for (int k = 0; k < 2; k++)
            us[k][i] = pingpong_trial(k ? RELAY_BARE : RELAY_ANCHOR, n);
    for (int k = 0; k < 2; k++) {
        printf("%-6s ping-pong %u packets x 7:", name(k ? RELAY_BARE : RELAY_ANCHOR), n);
        for (int i = 0; i < 7; i++)
            printf(" %.2f", us[k][i]);
        qsort(us[k], 7, sizeof us[k][0], cmp_double);
        printf(" us/pkt (median %.2f)\n", us[k][3]);
    }
    printf("\nping-pong, one packet per wake-up: cpu/pkt anchor %.2f us, bare %.2f us "
           "(ratio %.2f)\n", us[0][3], us[1][3], us[1][3] ? us[0][3] / us[1][3] : 0);
}

static double loss(const trial *t)
{
    return t->sent ? 1.0 - (double)t->received / (double)t->sent : 1.0;
}

static const char *name(relay_kind k)
{
    return k == RELAY_ANCHOR ? "anchor" : k == RELAY_BARE ? "bare"
         : k == RELAY_ANCHOR_TURN ? "turn" : "rtpe";
}

/* Streams and per-stream rate for a total packet rate. */
static void shape(trial *t, unsigned pps)
{
    t->stream_pps = STREAM_PPS;
    t->streams = pps / STREAM_PPS;
    if (t->streams > MAX_STREAMS) {
        t->streams = MAX_STREAMS;
        t->stream_pps = pps / MAX_STREAMS;
    }
    if (t->streams < 1)
        t->streams = 1;
}

static void report(const trial *t, const char *what)
{
    printf("%-6s %-14s %5u streams x %3u pps: sent %8llu recv %8llu loss %6.3f%%  cpu %6.2f us/pkt",
           name(t->kind), what, t->streams, t->stream_pps, (unsigned long long)t->sent,
           (unsigned long long)t->received, 100.0 * loss(t), t->cpu_us_per_pkt);
    if (t->latency)
        printf("  p50 %5.0f us  p99 %6.0f us", t->p50_us, t->p99_us);
    printf("\n");
    fflush(stdout);
}

/* Highest total rate with < 0.1 % loss: doubling, then bisection. */
static unsigned search_max(relay_kind kind, double seconds, unsigned start, unsigned cap)
{
    unsigned ok = 0, bad = 0, rate = start;

    while (!bad && rate <= cap) {
        trial t = {.kind = kind, .seconds = seconds};
        shape(&t, rate);
        run_trial(&t);
        report(&t, "search");
        if (loss(&t) < 0.001)
            ok = rate, rate *= 2;
        else
            bad = rate;
    }
    if (!bad)
        return ok;
    for (int i = 0; i < 4 && bad - ok > ok / 20; i++) {
        rate = (ok + bad) / 2;
        trial t = {.kind = kind, .seconds = seconds};
        shape(&t, rate);
        run_trial(&t);
        report(&t, "search");
        if (loss(&t) < 0.001)
            ok = rate;
        else
            bad = rate;
    }
    return ok;
}

/* -- rtpengine, the peer (--peer rtpengine) --------------------------------
 * Debian's rtpengine-daemon in userspace mode (no kernel module: --table=-1)
 * on loopback, one media thread, driven through its ng control protocol
 * (bencode over UDP): an offer and an answer per stream, a delete per
 * stream after each trial, so every trial runs on fresh calls (rtpengine
 * stops reading a socket for good after repeated overload). It is killed
 * when this program exits, whichever way. */

#define RTPE_PORT_MIN 30000
#define RTPE_PORT_MAX 59999

static pid_t rtpe_pid = -1;
static int rtpe_ng_fd = -1;
static struct sockaddr_in rtpe_ng;
static unsigned rtpe_cookie, rtpe_trials;

static void rtpengine_stop(void)
{
    if (rtpe_pid <= 0)
        return;
    kill(rtpe_pid, SIGTERM);
    for (int i = 0; i < 200 && waitpid(rtpe_pid, NULL, WNOHANG) == 0; i++)
        poll(NULL, 0, 10);
    kill(rtpe_pid, SIGKILL);
    waitpid(rtpe_pid, NULL, 0);
    rtpe_pid = -1;
}

static void rtpengine_on_signal(int sig)
{
    if (rtpe_pid > 0)
        kill(rtpe_pid, SIGKILL);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* One ng request (a bencoded dictionary); the reply's dictionary in
 * reply. 0, or -1 when no reply came. */
static int rtpengine_ng(const char *dict, char *reply, size_t cap)
{
    char msg[4096], cookie[16];
    int n = snprintf(cookie, sizeof cookie, "%u ", ++rtpe_cookie);
    int len = snprintf(msg, sizeof msg, "%s%s", cookie, dict);

    for (int attempt = 0; attempt < 3; attempt++) {
        sendto(rtpe_ng_fd, msg, (size_t)len, 0, (struct sockaddr *)&rtpe_ng, sizeof rtpe_ng);
        struct pollfd p = {.fd = rtpe_ng_fd, .events = POLLIN};
        while (poll(&p, 1, 1000) > 0) {
            ssize_t r = recv(rtpe_ng_fd, reply, cap - 1, 0);
            if (r <= n || memcmp(reply, cookie, (size_t)n) != 0)
                continue; /* a late reply to an earlier request */
            reply[r] = 0;
            memmove(reply, reply + n, (size_t)r - (size_t)n + 1);
            return 0;
        }
    }
    return -1;
}

static void rtpengine_start(void)
{
    char listen[64];
    int fd = udp_socket(0, 0);
    int port = local_port(fd);

    close(fd);
    snprintf(listen, sizeof listen, "--listen-ng=127.0.0.1:%d", port);
    fflush(stdout);
    rtpe_pid = fork();
    if (rtpe_pid < 0)
        die("fork", -errno);
    if (rtpe_pid == 0) {
        char pmin[32], pmax[32];
        int null = open("/dev/null", O_RDWR);
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        dup2(null, 0);
        dup2(null, 1);
        dup2(null, 2);
        snprintf(pmin, sizeof pmin, "--port-min=%d", RTPE_PORT_MIN);
        snprintf(pmax, sizeof pmax, "--port-max=%d", RTPE_PORT_MAX);
        execlp("rtpengine", "rtpengine", "--config-file=none", "-f", "-E", "--table=-1",
               "--interface=127.0.0.1", listen, pmin, pmax, "--num-threads=1",
               "--delete-delay=0", "--log-level=3", (char *)NULL);
        _exit(127);
    }
    atexit(rtpengine_stop);
    signal(SIGINT, rtpengine_on_signal);
    signal(SIGTERM, rtpengine_on_signal);
    rtpe_ng_fd = udp_socket(0, 0);
    rtpe_ng = (struct sockaddr_in){.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                   .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    for (int i = 0; i < 50; i++) {
        char reply[256];
        if (waitpid(rtpe_pid, NULL, WNOHANG) == rtpe_pid) {
            rtpe_pid = -1;
            fprintf(stderr, "bench/anchor: rtpengine did not start (install rtpengine-daemon)\n");
            exit(1);
        }
        if (rtpengine_ng("d7:command4:pinge", reply, sizeof reply) == 0 &&
            strstr(reply, "pong"))
            return;
    }
    fprintf(stderr, "bench/anchor: rtpengine does not answer ng pings\n");
    exit(1);
}

/* Offer (the generator's side) or answer (the receiver's) of stream i;
 * the port rtpengine gives in its reply SDP. */
static int rtpengine_call(const relay *r, unsigned i, bool answer, int port)
{
    char sdp[256], id[32], dict[1024], reply[4096];
    const char *m;
    int n = snprintf(sdp, sizeof sdp,
                     "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
                     "t=0 0\r\nm=audio %d RTP/AVP 0\r\n", port);
    int k = snprintf(id, sizeof id, "b%u-%u", r->trial_id, i);

    snprintf(dict, sizeof dict, "d7:call-id%d:%s7:command%s8:from-tag1:f3:sdp%d:%s%se", k, id,
             answer ? "6:answer" : "5:offer", n, sdp, answer ? "6:to-tag1:t" : "");
    if (rtpengine_ng(dict, reply, sizeof reply) < 0 || !strstr(reply, "2:ok") ||
        !(m = strstr(reply, "m=audio "))) {
        fprintf(stderr, "bench/anchor: rtpengine %s of %s failed: %.200s\n",
                answer ? "answer" : "offer", id, reply);
        exit(1);
    }
    return atoi(m + 8);
}

/* Stream i: the generator calls the receiver; it sends where rtpengine's
 * answer (the SDP the caller gets) says. */
static void rtpengine_open(relay *r, unsigned n, int gen_port, int recv_port, int *ports)
{
    r->trial_id = ++rtpe_trials;
    for (unsigned i = 0; i < n; i++) {
        rtpengine_call(r, i, false, gen_port);
        ports[i] = rtpengine_call(r, i, true, recv_port);
    }
}

static void rtpengine_close(relay *r)
{
    for (unsigned i = 0; i < r->n; i++) {
        char dict[128], id[32], reply[1024];
        int k = snprintf(id, sizeof id, "b%u-%u", r->trial_id, i);
        snprintf(dict, sizeof dict, "d7:call-id%d:%s7:command6:delete8:from-tag1:fe", k, id);
        rtpengine_ng(dict, reply, sizeof reply);
    }
}

/* rtpengine's CPU time: the run time of all its threads (schedstat, ns). */
static uint64_t rtpengine_cpu_ns(void)
{
    char path[64];
    uint64_t sum = 0;
    DIR *d;
    struct dirent *e;

    snprintf(path, sizeof path, "/proc/%d/task", (int)rtpe_pid);
    if (!(d = opendir(path)))
        return 0;
    while ((e = readdir(d))) {
        char f[384];
        unsigned long long ns;
        FILE *fp;
        if (e->d_name[0] == '.')
            continue;
        snprintf(f, sizeof f, "%s/%s/schedstat", path, e->d_name);
        if ((fp = fopen(f, "r"))) {
            if (fscanf(fp, "%llu", &ns) == 1)
                sum += ns;
            fclose(fp);
        }
    }
    closedir(d);
    return sum;
}

/* --peer rtpengine: the same trials through the anchor, the bare
 * forwarder and rtpengine, in one run; the load is set by the lowest of
 * the three maxima. */
static int peer_run(double seconds, unsigned cap)
{
    static const relay_kind kinds[3] = {RELAY_ANCHOR, RELAY_BARE, RELAY_RTPENGINE};
    static const char *const what[3] = {"half, paced", "half, bursts", "tenth, paced"};
    unsigned max[3], lower, rate[3];
    trial res[3][3];

    rtpengine_start();
    for (int k = 0; k < 3; k++)
        max[k] = search_max(kinds[k], seconds, 25000, cap);
    lower = max[0];
    for (int k = 1; k < 3; k++)
        if (max[k] < lower)
            lower = max[k];
    rate[0] = rate[1] = lower / 2;
    rate[2] = lower / 10;
    for (int b = 0; b < 3; b++)
        for (int k = 0; k < 3; k++) {
            trial *t = &res[b][k];
            *t = (trial){.kind = kinds[k], .seconds = seconds, .burst = b == 1,
                         .latency = true};
            shape(t, rate[b]);
            run_trial(t);
            report(t, what[b]);
        }
    printf("\nmax rate < 0.1%% loss: anchor %u, bare %u, rtpengine %u pps; "
           "anchor/bare %.2f, anchor/rtpengine %.2f\n", max[0], max[1], max[2],
           max[1] ? (double)max[0] / max[1] : 0, max[2] ? (double)max[0] / max[2] : 0);
    for (int b = 0; b < 3; b++) {
        const trial *a = &res[b][0], *n = &res[b][1], *e = &res[b][2];
        printf("%-12s at %u pps: cpu/pkt anchor %.2f, bare %.2f, rtpengine %.2f us; "
               "anchor/bare %.2f, rtpengine/bare %.2f, anchor/rtpengine %.2f\n",
               what[b], rate[b], a->cpu_us_per_pkt, n->cpu_us_per_pkt, e->cpu_us_per_pkt,
               a->cpu_us_per_pkt / n->cpu_us_per_pkt, e->cpu_us_per_pkt / n->cpu_us_per_pkt,
               a->cpu_us_per_pkt / e->cpu_us_per_pkt);
        printf("%-12s   latency p99 anchor %.0f, bare %.0f, rtpengine %.0f us (p50 %.0f/%.0f/%.0f); "
               "anchor/bare %.2f, rtpengine/bare %.2f, anchor/rtpengine %.2f\n",
               "", a->p99_us, n->p99_us, e->p99_us, a->p50_us, n->p50_us, e->p50_us,
               a->p99_us / n->p99_us, e->p99_us / n->p99_us, a->p99_us / e->p99_us);
    }
    rtpengine_stop();
    return 0;
}

#ifdef BENCH_TURN
/* --turn: what a relayed ICE pair costs a packet. The anchor with a TURN
 * channel on both legs (ChannelData unwrapped on the way in, framed on the
 * way out), the plain anchor and the bare forwarder, at the same load: half
 * of the plain anchor's maximum, paced, 5 runs each, medians. */
static int cmp_dbl(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static int turn_run(double seconds, unsigned cap)
{
    static const relay_kind kinds[3] = {RELAY_ANCHOR, RELAY_ANCHOR_TURN, RELAY_BARE};
    double cpu[3][5];
    unsigned max = search_max(RELAY_ANCHOR, seconds, 25000, cap);

    for (int run = 0; run < 5; run++)
        for (int k = 0; k < 3; k++) {
            trial t = {.kind = kinds[k], .seconds = seconds, .latency = true};
            shape(&t, max / 2);
            run_trial(&t);
            report(&t, "half, paced");
            cpu[k][run] = t.cpu_us_per_pkt;
        }
    for (int k = 0; k < 3; k++)
        qsort(cpu[k], 5, sizeof cpu[k][0], cmp_dbl);
    printf("\nat %u pps (half of the plain anchor's %u), median of 5: cpu/pkt plain anchor "
           "%.3f us, anchor with TURN channels %.3f us, bare %.3f us\n",
           max / 2, max, cpu[0][2], cpu[1][2], cpu[2][2]);
    printf("a relayed ICE pair costs %.3f us per packet more (turn/plain %.2f, turn/bare %.2f, "
           "plain/bare %.2f)\n",
           cpu[1][2] - cpu[0][2], cpu[1][2] / cpu[0][2], cpu[1][2] / cpu[2][2],
           cpu[0][2] / cpu[2][2]);
    return 0;
}
#endif

int main(int argc, char **argv)
{
    bool smoke = false;
    unsigned pingpong_n = 0;
    const char *peer = NULL;
    double seconds = 3;
    unsigned cap = 400000;
    struct rlimit rl;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--smoke") == 0)
            smoke = true;
        else if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (strcmp(argv[i], "--max-pps") == 0 && i + 1 < argc)
            cap = (unsigned)atoi(argv[++i]);
        else if (strcmp(argv[i], "--push") == 0)
            push_mode = true;
#ifdef BENCH_TURN
        else if (strcmp(argv[i], "--turn") == 0)
            return turn_run(seconds, cap);
#endif
        else if (strcmp(argv[i], "--pingpong") == 0 && i + 1 < argc)
            pingpong_n = (unsigned)atoi(argv[++i]);
        else if (strcmp(argv[i], "--peer") == 0 && i + 1 < argc &&
                 strcmp(argv[i + 1], "rtpengine") == 0)
            peer = argv[++i];
        else {
            fprintf(stderr,
                    "usage: %s [--smoke] [--push] [--pingpong N] [--seconds S] [--max-pps N]"
                    " [--peer rtpengine]\n",
                    argv[0]);
            return 2;
        }
    }
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (peer && !smoke)
        return peer_run(seconds, cap);

    if (smoke) {
        /* Two streams for a second through each relay: it runs, it relays. */
        int failed = 0;
        for (int k = 0; k < 2; k++) {
            trial t = {.kind = k ? RELAY_BARE : RELAY_ANCHOR, .streams = 2,
                       .stream_pps = STREAM_PPS, .seconds = 1, .latency = true};
            run_trial(&t);
            report(&t, "smoke");
            if (t.sent != 100 || t.received == 0) {
                fprintf(stderr, "bench/anchor: %s relayed %llu of %llu packets\n", name(t.kind),
                        (unsigned long long)t.received, (unsigned long long)t.sent);
                failed = 1;
            }
        }
        return failed;
    }

    printf("anchor: the ctx in %s mode\n",
           push_mode ? "push (this thread's epoll, sipnat_ctx_process_fd)"
                     : "pull (poll on sipnat_ctx_get_fd, sipnat_ctx_process)");
    if (pingpong_n) {
        pingpong_run(pingpong_n);
        return 0;
    }
    unsigned max[2];
    for (int k = 0; k < 2; k++)
        max[k] = search_max(k ? RELAY_BARE : RELAY_ANCHOR, seconds, 25000, cap);

    /* Half of the lower maximum, the same load for both: CPU and latency,
     * paced (spread evenly) and in bursts (every stream at once). */
    unsigned lower = max[0] < max[1] ? max[0] : max[1];
    /* Half load, paced and in bursts; and a tenth, paced, where the load
     * generator and receiver no longer compete with the relay for the
     * cores of a small machine. */
    static const char *const what[3] = {"half, paced", "half, bursts", "tenth, paced"};
    unsigned rate[3] = {lower / 2, lower / 2, lower / 10};
    trial res[3][2];
    for (int b = 0; b < 3; b++)
        for (int k = 0; k < 2; k++) {
            trial *t = &res[b][k];
            *t = (trial){.kind = k ? RELAY_BARE : RELAY_ANCHOR, .seconds = seconds,
                         .burst = b == 1, .latency = true};
            shape(t, rate[b]);
            run_trial(t);
            report(t, what[b]);
        }

    printf("\nmax rate < 0.1%% loss: anchor %u pps, bare %u pps (ratio %.2f)\n", max[0], max[1],
           max[1] ? (double)max[0] / max[1] : 0);
    for (int b = 0; b < 3; b++) {
        trial *a = &res[b][0], *n = &res[b][1];
        printf("%-12s at %u pps: cpu/pkt anchor %.2f us, bare %.2f us (ratio %.2f); "
               "latency p50 %.0f/%.0f us, p99 %.0f/%.0f us (p99 ratio %.2f)\n",
               what[b], rate[b], a->cpu_us_per_pkt, n->cpu_us_per_pkt,
               n->cpu_us_per_pkt ? a->cpu_us_per_pkt / n->cpu_us_per_pkt : 0, a->p50_us,
               n->p50_us, a->p99_us, n->p99_us, n->p99_us ? a->p99_us / n->p99_us : 0);
    }
    return 0;
}
