/*
 * bench/sessions - memory and file descriptors per anchored call.
 *
 *   bench/sessions [--count N] [--port P] [--settle S]
 *
 * Starts SIPp (sipp -sn uas) on 127.0.0.1:P, places N calls to it through
 * one transport (each with its SDP and its RTP anchor), waits until all
 * are answered, and prints the heap (mallinfo2) and fds the N live calls
 * hold, per call: at once, and again after S seconds (--settle), when the
 * SIP stack has let go of the INVITE transactions (32 s); then hangs them
 * all up. The targets of the calls issue
 * are 16 KB and 4 fds per anchored session.
 */
#define _GNU_SOURCE
#include <sipnat/sipnat.h>

#include <dirent.h>
#include <malloc.h>
#include <poll.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static int established, terminated;

static void on_call(const sipnat_event *ev, void *ud)
{
    (void)ud;
    if (ev->state == SIPNAT_SESSION_ESTABLISHED)
        established++;
    else if (ev->state == SIPNAT_SESSION_TERMINATED)
        terminated++;
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;

    if (!d)
        return -1;
    while (readdir(d))
        n++;
    closedir(d);
    return n - 3; /* ., .., the DIR's own fd */
}

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void run(sipnat_ctx *ctx, double seconds, const int *counter, int goal)
{
    double end = now() + seconds;

    while (now() < end && (!counter || *counter < goal)) {
        struct pollfd p = {.fd = sipnat_ctx_get_fd(ctx), .events = POLLIN};
        int t;

        sipnat_ctx_get_timeout(ctx, &t);
        poll(&p, 1, t < 0 || t > 50 ? 50 : t);
        sipnat_ctx_process(ctx);
    }
}

int main(int argc, char **argv)
{
    int count = 1000, port = 46060, settle = 0;
    char portstr[16], uri[64], mstr[16];
    pid_t sipp;
    sipnat_ctx *ctx;
    sipnat_transport_cfg *tc;
    sipnat_transport *t;
    sipnat_endpoint_cfg *ec;
    sipnat_endpoint *ep;
    sipnat_session **calls;

    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--count"))
            count = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--port"))
            port = atoi(argv[i + 1]);
        else if (!strcmp(argv[i], "--settle"))
            settle = atoi(argv[i + 1]);
    }
    if (count < 1 || count > 4000 || port < 1024 || port > 65000 || settle < 0 ||
        settle > 120) {
        fprintf(stderr, "usage: bench/sessions [--count 1-4000] [--port P] [--settle 0-120]\n");
        return 2;
    }
    snprintf(portstr, sizeof portstr, "%d", port);
    snprintf(mstr, sizeof mstr, "%d", count);
    char *sargv[] = {"sipp", "-sn", "uas", "-i", "127.0.0.1", "-p", portstr, "-m", mstr,
                     "-nostdin", "-bg", "-max_socket", "65000", NULL};
    if (posix_spawnp(&sipp, "sipp", NULL, NULL, sargv, environ) != 0) {
        fprintf(stderr, "bench/sessions: cannot start sipp (apt-get install sip-tester)\n");
        return 1;
    }
    waitpid(sipp, NULL, 0); /* -bg: it forks and the parent returns */
    usleep(500000);
    calls = calloc((size_t)count, sizeof *calls);
    if (!calls || sipnat_ctx_new(&ctx) < 0)
        return 1;
    sipnat_transport_cfg_new(&tc);
    sipnat_transport_cfg_set_bind(tc, "127.0.0.1", 0);
    if (sipnat_transport_new(&t, ctx, tc) < 0)
        return 1;
    sipnat_transport_cfg_free(tc);
    sipnat_endpoint_cfg_new(&ec);
    sipnat_endpoint_cfg_set_name(ec, "sipp");
    sipnat_endpoint_cfg_add_match(ec, "127.0.0.1");
    if (sipnat_endpoint_new(&ep, t, ec) < 0)
        return 1;
    sipnat_endpoint_cfg_free(ec);
    run(ctx, 0.2, NULL, 0);

    struct mallinfo2 m0 = mallinfo2();
    int fd0 = count_fds();
    snprintf(uri, sizeof uri, "sip:bench@127.0.0.1:%d", port);
    double t0 = now();
    for (int i = 0; i < count; i++) {
        if (sipnat_session_call(&calls[i], ep, uri, on_call, NULL) < 0) {
            fprintf(stderr, "bench/sessions: call %d failed\n", i);
            count = i;
            break;
        }
        if (i % 50 == 49)
            run(ctx, 0.02, NULL, 0);
    }
    run(ctx, 60, &established, count);
    double setup = now() - t0;
    struct mallinfo2 m1 = mallinfo2();
    int fd1 = count_fds();

    printf("calls answered: %d of %d in %.2f s (%.0f calls/s through SIPp)\n",
           established, count, setup, established / setup);
    printf("heap per call: %.0f bytes (%zu bytes for %d calls, mallinfo2 uordblks)\n",
           (double)(m1.uordblks - m0.uordblks) / count, m1.uordblks - m0.uordblks, count);
    printf("fds per call: %.2f (%d for %d calls)\n", (double)(fd1 - fd0) / count,
           fd1 - fd0, count);
    if (settle > 0) {
        run(ctx, settle, NULL, 0);
        struct mallinfo2 m2 = mallinfo2();
        printf("heap per call after %d s: %.0f bytes (the INVITE transactions gone)\n",
               settle, (double)(m2.uordblks - m0.uordblks) / count);
    }
    printf("targets: <= 16384 bytes and <= 4 fds per anchored call\n");

    for (int i = 0; i < count; i++)
        sipnat_session_hangup(calls[i]);
    run(ctx, 20, &terminated, count);
    for (int i = 0; i < count; i++)
        sipnat_session_unref(calls[i]);
    free(calls);
    sipnat_endpoint_unref(ep);
    sipnat_transport_unref(t);
    sipnat_ctx_unref(ctx);
    return established == count ? 0 : 1;
}
