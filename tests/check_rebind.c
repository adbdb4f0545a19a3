/* libsipnat tests - sockets left on an address the host lost move to its
 * new one (lib/core/rebind.c) under the same fd, and the ctx's loop
 * keeps watching them (sn_io_replace). The core is compiled in: these
 * functions are hidden in the shared library.
 *
 * The address change itself happens in a network namespace of the test's
 * own (unshare(CLONE_NEWNET) in check's forked test process, a veth
 * pair set up with ip(8)), so nothing outside the test sees it. */
#define _GNU_SOURCE
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "core/internal.h"
#include "core/addr.h"

static int n_ready, ready_fd;

static void on_ready(sipnat_ctx *ctx, int fd, unsigned revents, void *arg)
{
    char buf[64];

    (void)ctx;
    (void)arg;
    if (revents & SIPNAT_IO_IN) {
        n_ready++;
        ready_fd = fd;
        while (recv(fd, buf, sizeof buf, MSG_DONTWAIT) > 0)
            ;
    }
}

static int udp_on(const char *addr, int port)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    ck_assert_int_ge(s, 0);
    ck_assert_int_eq(inet_pton(AF_INET, addr, &sin.sin_addr), 1);
    ck_assert_msg(bind(s, (struct sockaddr *)&sin, sizeof sin) == 0, "bind %s:%d: %s",
                  addr, port, strerror(errno));
    return s;
}

static void name_of(int fd, char *addr, size_t size, int *port)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    sn_addr a;

    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
    ck_assert_int_eq(sn_addr_from_sockaddr((struct sockaddr *)&ss, &a, port), 0);
    ck_assert_int_gt(sn_addr_format(&a, addr, size), 0);
}

static void send_to(const char *addr, int port)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    ck_assert_int_eq(inet_pton(AF_INET, addr, &sin.sin_addr), 1);
    ck_assert_int_eq(sendto(s, "x", 1, 0, (struct sockaddr *)&sin, sizeof sin), 1);
    close(s);
}

/* Process until fd is reported ready (bounded: 50 rounds of 20 ms). */
static void wait_ready(sipnat_ctx *ctx, int fd)
{
    n_ready = 0;
    for (int i = 0; i < 50 && !n_ready; i++) {
        ck_assert_int_ge(sipnat_ctx_process(ctx), 0);
        if (!n_ready)
            usleep(20000);
    }
    ck_assert_int_eq(n_ready, 1);
    ck_assert_int_eq(ready_fd, fd);
}

/* The fd keeps its number and its entry; the loop watches the new
 * socket behind it (the old one's epoll registration died with it). */
START_TEST(test_io_replace)
{
    sipnat_ctx *ctx;
    char addr[64];
    int a, b, port_b, port;

    ck_assert_int_eq(sn_ctx_new(&ctx), 0);
    a = udp_on("127.0.0.1", 0);
    ck_assert_int_eq(sn_io_set(ctx, a, SIPNAT_IO_IN, SN_IO_OWN, on_ready, NULL), 0);
    sn_loop_commit(ctx);
    name_of(a, addr, sizeof addr, &port);
    send_to("127.0.0.1", port);
    wait_ready(ctx, a);

    b = udp_on("127.0.0.1", 0);
    name_of(b, addr, sizeof addr, &port_b);
    ck_assert_int_eq(sn_io_replace(ctx, a, b), 0);
    ck_assert_int_eq(fcntl(b, F_GETFD), -1); /* b is closed: a holds it */
    sn_loop_commit(ctx);
    name_of(a, addr, sizeof addr, &port);
    ck_assert_int_eq(port, port_b);
    send_to("127.0.0.1", port_b);
    wait_ready(ctx, a);

    /* Not in the set: refused, and the new socket closed all the same. */
    b = udp_on("127.0.0.1", 0);
    ck_assert_int_eq(sn_io_replace(ctx, 1000, b), -ENOENT);
    ck_assert_int_eq(fcntl(b, F_GETFD), -1);
    sn_io_del(ctx, a);
    close(a);
    sipnat_ctx_unref(ctx);
}
END_TEST

static void sh(const char *cmd)
{
    ck_assert_msg(system(cmd) == 0, "%s failed", cmd);
}

/* A network of the test's own, or false (no privilege for one). */
static bool own_network(void)
{
    if (unshare(CLONE_NEWNET) < 0)
        return false;
    sh("ip link set lo up && ip link add sn0 type veth peer name sn1 && "
       "ip addr add 10.9.0.1/24 dev sn0 && ip link set sn0 up && "
       "ip link set sn1 up");
    return true;
}

START_TEST(test_move_vanished)
{
    sipnat_ctx *ctx;
    char addr[64];
    int moving, kept, wild, lo, lst, port, port_m, port_k, port_l;
    int tos = 0x88, v;
    socklen_t len = sizeof v;
    struct sockaddr_storage keep;
    socklen_t klen = sizeof keep;

    ck_assert_int_eq(sn_ctx_new(&ctx), 0);
    if (!own_network()) {
        /* Without a network of its own the test cannot take an address
         * away; what it can check: nothing on a live, wildcard or
         * loopback address moves. */
        fprintf(stderr, "check_rebind: no CAP_SYS_ADMIN for a network "
                        "namespace: only the no-change case is checked\n");
        wild = udp_on("0.0.0.0", 0);
        lo = udp_on("127.0.0.1", 0);
        ck_assert_int_eq(sn_io_set(ctx, wild, SIPNAT_IO_IN, SN_IO_OWN, on_ready, NULL), 0);
        ck_assert_int_eq(sn_io_set(ctx, lo, SIPNAT_IO_IN, SN_IO_OWN, on_ready, NULL), 0);
        sn_loop_commit(ctx);
        ck_assert_uint_eq(sn_ctx_rebind_vanished(ctx, NULL, 0), 0);
        sn_io_del(ctx, wild);
        sn_io_del(ctx, lo);
        close(wild);
        close(lo);
        sipnat_ctx_unref(ctx);
        return;
    }
    moving = udp_on("10.9.0.1", 0);
    ck_assert_int_eq(setsockopt(moving, IPPROTO_IP, IP_TOS, &tos, sizeof tos), 0);
    kept = udp_on("10.9.0.1", 0);
    wild = udp_on("0.0.0.0", 0);
    lst = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    {
        struct sockaddr_in sin = {.sin_family = AF_INET};
        inet_pton(AF_INET, "10.9.0.1", &sin.sin_addr);
        ck_assert_int_eq(bind(lst, (struct sockaddr *)&sin, sizeof sin), 0);
        ck_assert_int_eq(listen(lst, 4), 0);
    }
    name_of(moving, addr, sizeof addr, &port_m);
    name_of(kept, addr, sizeof addr, &port_k);
    name_of(lst, addr, sizeof addr, &port_l);
    ck_assert_int_eq(getsockname(kept, (struct sockaddr *)&keep, &klen), 0);
    int fds[] = {moving, kept, wild, lst};
    for (size_t i = 0; i < 4; i++)
        ck_assert_int_eq(sn_io_set(ctx, fds[i], SIPNAT_IO_IN, SN_IO_OWN, on_ready, NULL), 0);
    sn_loop_commit(ctx);

    /* Nothing lost yet: nothing moves. */
    ck_assert_uint_eq(sn_ctx_rebind_vanished(ctx, &keep, 1), 0);

    sh("ip addr del 10.9.0.1/24 dev sn0 && ip addr add 10.9.0.2/24 dev sn0");
    ck_assert_uint_eq(sn_ctx_rebind_vanished(ctx, &keep, 1), 2);
    name_of(moving, addr, sizeof addr, &port);
    ck_assert_str_eq(addr, "10.9.0.2");
    ck_assert_int_eq(port, port_m);
    ck_assert_int_eq(getsockopt(moving, IPPROTO_IP, IP_TOS, &v, &len), 0);
    ck_assert_int_eq(v, tos);
    name_of(kept, addr, sizeof addr, &port);
    ck_assert_str_eq(addr, "10.9.0.1"); /* the caller keeps it */
    name_of(wild, addr, sizeof addr, &port);
    ck_assert_str_eq(addr, "0.0.0.0");
    name_of(lst, addr, sizeof addr, &port);
    ck_assert_str_eq(addr, "10.9.0.2");
    ck_assert_int_eq(port, port_l);
    len = sizeof v;
    ck_assert_int_eq(getsockopt(lst, SOL_SOCKET, SO_ACCEPTCONN, &v, &len), 0);
    ck_assert_int_eq(v, 1);

    /* The loop hears the moved socket under its old fd number. */
    send_to("10.9.0.2", port_m);
    wait_ready(ctx, moving);
    /* Done once: a second call finds nothing more to move. */
    ck_assert_uint_eq(sn_ctx_rebind_vanished(ctx, &keep, 1), 0);

    /* No address of the family left: a warning, the socket stays. */
    int again = udp_on("10.9.0.2", 0);
    ck_assert_int_eq(sn_io_set(ctx, again, SIPNAT_IO_IN, SN_IO_OWN, on_ready, NULL), 0);
    sn_loop_commit(ctx);
    sh("ip addr del 10.9.0.2/24 dev sn0");
    ck_assert_uint_eq(sn_ctx_rebind_vanished(ctx, &keep, 1), 0);
    name_of(again, addr, sizeof addr, &port);
    ck_assert_str_eq(addr, "10.9.0.2");

    int all[] = {moving, kept, wild, lst, again};
    for (size_t i = 0; i < 5; i++) {
        sn_io_del(ctx, all[i]);
        close(all[i]);
    }
    sipnat_ctx_unref(ctx);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rebind");
    TCase *tc = tcase_create("rebind");
    SRunner *sr;
    int failed;

    tcase_add_test(tc, test_io_replace);
    tcase_add_test(tc, test_move_vanished);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_VERBOSE);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
