/*
 * bench/soak - many anchored calls with RTP for a long time, with calls
 * ending and new ones starting all along, watching memory and fds.
 *
 *   bench/soak [--calls N] [--minutes M] [--hold-min S] [--hold-max S]
 *              [--port P] [--check]
 *
 * SIPp (sipp -sn uas -rtp_echo) on 127.0.0.1:P answers; the soak keeps N
 * calls up through one transport, each with its own anchor in host mode
 * sending PCMU every 20 ms, which SIPp echoes back. Each call lasts a
 * random S in [hold-min, hold-max] seconds, is hung up, and a new one is
 * placed. Each minute prints: live calls, calls made and ended, RTP sent
 * and received, RSS, live heap and fds, and "fds beyond the calls" (fds
 * minus two per live anchored call).
 *
 * --check (what CI runs, 3 minutes) fails (exit 1) on growth, measured
 * against the sample at the end of minute 1 (the warm-up):
 *   - live heap at the end > 10 % above minute 1's (the sanitizer's live
 *     count under ASan, glibc's in-use bytes otherwise);
 *   - RSS at the end > 10 % above minute 1's (not under ASan, whose
 *     quarantine holds freed memory on purpose);
 *   - fds beyond the calls above minute 1's at any later sample;
 *   - after the last hang-up, fds not back to the count before the first
 *     call; any call that failed to set up, or no RTP back.
 * Defaults: 1000 calls for 60 minutes, each 20-120 s (the on-demand run).
 */
#define _GNU_SOURCE
#include <sipnat/sipnat.h>

#include <dirent.h>
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;
size_t __sanitizer_get_current_allocated_bytes(void) __attribute__((weak));

typedef struct call {
    sipnat_session *s;
    double ends;           /* when to hang up */
    bool up;               /* established */
    bool over;             /* terminated */
    double next_tx;
} call;

static struct {
    unsigned long made, ended, failed, tx, rx;
    unsigned live;
} st;

static double now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
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
    return n - 3;
}

static long rss_kb(void)
{
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");

    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static size_t heap(void)
{
    if (__sanitizer_get_current_allocated_bytes)
        return __sanitizer_get_current_allocated_bytes();
    return mallinfo2().uordblks;
}

static void on_audio(const int16_t *samples, size_t n, void *ud)
{
    (void)samples;
    (void)n;
    (void)ud;
    st.rx++;
}

static void on_call(const sipnat_event *ev, void *ud)
{
    call *c = ud;

    if (ev->state == SIPNAT_SESSION_ESTABLISHED && !c->up) {
        c->up = true;
        st.live++;
        sipnat_anchor *a = sipnat_session_get_anchor(c->s);
        if (a)
            sipnat_anchor_set_audio_func(a, on_audio, NULL);
    } else if (ev->state == SIPNAT_SESSION_TERMINATED && !c->over) {
        c->over = true;
        if (c->up)
            st.live--;
        else if (ev->status != 487)
            st.failed++;
        st.ended++;
    }
}

static double hold_min = 20, hold_max = 120;

static int place(call *c, sipnat_endpoint *ep, const char *uri, double t)
{
    memset(c, 0, sizeof *c);
    c->ends = t + hold_min + (hold_max - hold_min) * (rand() / (double)RAND_MAX);
    if (sipnat_session_call(&c->s, ep, uri, on_call, c) < 0) {
        st.failed++;
        return -1;
    }
    st.made++;
    return 0;
}

/* 20 ms of PCMU to each live call that is due; end calls whose time is up. */
static void tick(call *calls, int n, sipnat_endpoint *ep, const char *uri, double t,
                 bool churn)
{
    static const int16_t tone[160];

    for (int i = 0; i < n; i++) {
        call *c = &calls[i];
        if (c->s && c->up && !c->over && t >= c->next_tx) {
            sipnat_anchor *a = sipnat_session_get_anchor(c->s);
            if (a && sipnat_anchor_send_audio(a, tone, 160) >= 0)
                st.tx++;
            c->next_tx = (c->next_tx ? c->next_tx : t) + 0.020;
            if (c->next_tx < t)
                c->next_tx = t + 0.020;
        }
        if (c->s && c->up && !c->over && t >= c->ends)
            sipnat_session_hangup(c->s);
        if (c->s && c->over) {
            c->s = sipnat_session_unref(c->s);
            if (churn)
                place(c, ep, uri, t);
        }
    }
}

static void run(sipnat_ctx *ctx, call *calls, int n, sipnat_endpoint *ep, const char *uri,
                double seconds, bool churn)
{
    double end = now() + seconds;

    while (now() < end) {
        struct pollfd p = {.fd = sipnat_ctx_get_fd(ctx), .events = POLLIN};
        int t;
        sipnat_ctx_get_timeout(ctx, &t);
        poll(&p, 1, t < 0 || t > 5 ? 5 : t);
        sipnat_ctx_process(ctx);
        tick(calls, n, ep, uri, now(), churn);
    }
}

int main(int argc, char **argv)
{
    int n = 1000, minutes = 60, port = 47060, check = 0;
    char portstr[16], mport[16], uri[64];
    pid_t sipp;

    for (int i = 1; i < argc; i++) {
        const char *v = i + 1 < argc ? argv[i + 1] : "0";
        if (!strcmp(argv[i], "--calls"))
            n = atoi(v), i++;
        else if (!strcmp(argv[i], "--minutes"))
            minutes = atoi(v), i++;
        else if (!strcmp(argv[i], "--hold-min"))
            hold_min = atof(v), i++;
        else if (!strcmp(argv[i], "--hold-max"))
            hold_max = atof(v), i++;
        else if (!strcmp(argv[i], "--port"))
            port = atoi(v), i++;
        else if (!strcmp(argv[i], "--check"))
            check = 1;
        else {
            fprintf(stderr, "usage: bench/soak [--calls N] [--minutes M] [--hold-min S] "
                            "[--hold-max S] [--port P] [--check]\n");
            return 2;
        }
    }
    if (n < 1 || n > 4000 || minutes < 2 || minutes > 1440 || hold_min < 1 ||
        hold_max < hold_min || port < 1024 || port > 65000) {
        fprintf(stderr, "bench/soak: out of range (1-4000 calls, 2-1440 minutes)\n");
        return 2;
    }
    srand(1);
    snprintf(portstr, sizeof portstr, "%d", port);
    snprintf(mport, sizeof mport, "%d", port + 2);
    char *sargv[] = {"sipp", "-sn", "uas", "-rtp_echo", "-i", "127.0.0.1", "-p", portstr,
                     "-mp", mport, "-nostdin", "-max_socket", "65000", NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    int sr = posix_spawnp(&sipp, "sipp", &fa, NULL, sargv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (sr != 0) {
        fprintf(stderr, "bench/soak: cannot start sipp (apt-get install sip-tester)\n");
        return 1;
    }
    usleep(500000);

    sipnat_ctx *ctx;
    sipnat_transport_cfg *tc;
    sipnat_transport *t;
    sipnat_endpoint_cfg *ec;
    sipnat_endpoint *ep;
    call *calls = calloc((size_t)n, sizeof *calls);

    if (!calls || sipnat_ctx_new(&ctx) < 0 || sipnat_transport_cfg_new(&tc) < 0)
        return 1;
    sipnat_transport_cfg_set_bind(tc, "127.0.0.1", 0);
    sipnat_transport_cfg_set_rtp_ports(tc, 30000, 39999);
    if (sipnat_transport_new(&t, ctx, tc) < 0)
        return 1;
    sipnat_transport_cfg_free(tc);
    sipnat_endpoint_cfg_new(&ec);
    sipnat_endpoint_cfg_set_name(ec, "sipp");
    sipnat_endpoint_cfg_add_match(ec, "127.0.0.1");
    sipnat_endpoint_cfg_set_codecs(ec, "ulaw");
    sipnat_endpoint_cfg_set_rtp_timeout(ec, 10);
    if (sipnat_endpoint_new(&ep, t, ec) < 0)
        return 1;
    sipnat_endpoint_cfg_free(ec);
    snprintf(uri, sizeof uri, "sip:soak@127.0.0.1:%d", port);

    run(ctx, NULL, 0, ep, uri, 0.2, false);
    int fds0 = count_fds();
    double t0 = now();
    /* Ramp up: 50 calls per 100 ms. */
    for (int i = 0; i < n; i++) {
        place(&calls[i], ep, uri, now());
        if (i % 50 == 49)
            run(ctx, calls, i + 1, ep, uri, 0.1, true);
    }
    printf("soak: %d calls against SIPp for %d minutes, each %.0f-%.0f s\n", n, minutes,
           hold_min, hold_max);
    printf("%4s %6s %8s %8s %6s %10s %10s %9s %10s %4s %6s\n", "min", "live", "made", "ended",
           "failed", "rtp-tx", "rtp-rx", "rss-kb", "heap", "fds", "extra");
    long rss1 = 0;
    size_t heap1 = 0;
    int extra1 = 0, bad = 0;
    for (int m = 1; m <= minutes; m++) {
        run(ctx, calls, n, ep, uri, 60 - (now() - t0 - 60 * (m - 1)), true);
        long rss = rss_kb();
        size_t h = heap();
        int fds = count_fds(), extra = fds - fds0 - 2 * (int)st.live;
        printf("%4d %6u %8lu %8lu %6lu %10lu %10lu %9ld %10zu %4d %6d\n", m, st.live, st.made,
               st.ended, st.failed, st.tx, st.rx, rss, h, fds, extra);
        fflush(stdout);
        if (m == 1) {
            rss1 = rss, heap1 = h, extra1 = extra;
        } else if (extra > extra1) {
            printf("soak: fds beyond the calls grew: %d -> %d\n", extra1, extra);
            bad = 1;
        }
        if (m == minutes) {
            if (h > heap1 + heap1 / 10) {
                printf("soak: live heap grew more than 10 %%: %zu -> %zu\n", heap1, h);
                bad = 1;
            }
            if (!__sanitizer_get_current_allocated_bytes && rss > rss1 + rss1 / 10) {
                printf("soak: RSS grew more than 10 %%: %ld -> %ld kB\n", rss1, rss);
                bad = 1;
            }
        }
    }
    /* Wind down: hang up everything, no new calls. */
    for (int i = 0; i < n; i++)
        if (calls[i].s && !calls[i].over)
            sipnat_session_hangup(calls[i].s);
    double end = now() + 20;
    while (now() < end && st.live > 0)
        run(ctx, calls, n, ep, uri, 0.1, false);
    run(ctx, calls, n, ep, uri, 0.5, false);
    int fds_end = count_fds();
    printf("soak: %lu calls made, %lu ended, %lu failed, %lu RTP out, %lu back; fds %d "
           "before, %d after\n",
           st.made, st.ended, st.failed, st.tx, st.rx, fds0, fds_end);
    if (st.failed || st.rx == 0 || fds_end != fds0 || st.live) {
        printf("soak: %s\n", st.failed ? "calls failed" : st.rx == 0 ? "no RTP came back"
                             : st.live ? "calls still up after hanging up"
                                       : "fds not back to where they were");
        bad = 1;
    }
    for (int i = 0; i < n; i++)
        sipnat_session_unref(calls[i].s);
    free(calls);
    sipnat_endpoint_unref(ep);
    sipnat_transport_unref(t);
    sipnat_ctx_unref(ctx);
    kill(sipp, SIGTERM);
    waitpid(sipp, NULL, 0);
    if (check)
        printf("soak: %s\n", bad ? "FAIL (growth or lost calls)" : "no growth");
    return check && bad ? 1 : 0;
}
