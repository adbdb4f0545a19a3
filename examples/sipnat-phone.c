/*
 * sipnat-phone - a command-line softphone on libsipnat, configured by an
 * Asterisk pjsip.conf-style file. Its own epoll loop drives the library
 * (pull mode), stdin commands and the 20 ms audio clock. Public API only.
 *
 * See sipnat-phone(1), or --help.
 */
#define _GNU_SOURCE
#include <sipnat/sipnat.h>

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <sndfile.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#define FRAME 160 /* 20 ms at 8 kHz */

static struct {
    const char *config, *endpoint, *dial, *play, *record, *bridge;
    double tone;
    double duration;
    int auto_answer, json, check_only, log_level;
} opt = {.log_level = SIPNAT_LOG_NOTICE};

static sipnat_ctx *ctx;
static sipnat_setup *setup;
static sipnat_endpoint *me;
static sipnat_session *call, *leg2; /* leg2: the bridged call */
static SNDFILE *play_f, *rec_f;
static double tone_phase;
static struct timespec answered_at;
/* --dial waits until each of these has had its first answer. */
static sipnat_registration **regs;
static int n_regs;
static int quit, exit_status;
static uint64_t frames_sent, frames_recorded;

static const struct option long_opts[] = {
    {"config", required_argument, NULL, 'c'},
    {"check-config", no_argument, NULL, 'C'},
    {"endpoint", required_argument, NULL, 'e'},
    {"dial", required_argument, NULL, 'd'},
    {"auto-answer", no_argument, NULL, 'a'},
    {"play", required_argument, NULL, 'p'},
    {"tone", required_argument, NULL, 't'},
    {"record", required_argument, NULL, 'r'},
    {"duration", required_argument, NULL, 'D'},
    {"bridge", required_argument, NULL, 'b'},
    {"log-level", required_argument, NULL, 'l'},
    {"json", no_argument, NULL, 'j'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0},
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: sipnat-phone --config FILE [options]\n"
            "  --config FILE      pjsip.conf-style configuration (required)\n"
            "  --check-config     load FILE, print what it describes, exit\n"
            "  --endpoint NAME    the endpoint that is \"me\" (default: the first)\n"
            "  --dial URI         call URI once registrations are done\n"
            "  --auto-answer      answer incoming calls at once\n"
            "  --play FILE.wav    send this WAV (8 kHz mono 16-bit) as our audio\n"
            "  --tone HZ          send a sine tone of HZ as our audio\n"
            "  --record FILE.wav  write the audio we receive (8 kHz mono 16-bit)\n"
            "  --duration SECONDS hang up that long after the answer, then exit\n"
            "  --bridge ENDPOINT  send each incoming call on to ENDPOINT's contact\n"
            "                     and bridge the two calls' media\n"
            "  --log-level N      syslog priority of the library's log (default 5)\n"
            "  --json             print events as JSON, one per line\n"
            "  --help             this text\n"
            "stdin commands: dial URI, answer, hangup, hold, resume, dtmf DIGITS,\n"
            "                status [ADDRESS], quit\n");
}

/* -- output ----------------------------------------------------------- */

static void json_str(const char *key, const char *v, int last)
{
    printf("\"%s\":", key);
    if (!v) {
        printf("null");
    } else {
        putchar('"');
        for (; *v; v++) {
            if (*v == '"' || *v == '\\')
                printf("\\%c", *v);
            else if ((unsigned char)*v < 0x20)
                printf("\\u%04x", *v);
            else
                putchar(*v);
        }
        putchar('"');
    }
    if (!last)
        putchar(',');
}

static void say(const char *kind, const char *state, int status, const char *detail,
                const char *uri)
{
    if (opt.json) {
        putchar('{');
        json_str("event", kind, 0);
        json_str("state", state, 0);
        printf("\"status\":%d,", status);
        json_str("detail", detail, 0);
        json_str("uri", uri, 1);
        printf("}\n");
    } else {
        printf("%s %s %d %s%s%s\n", kind, state, status, detail ? detail : "",
               uri ? " " : "", uri ? uri : "");
    }
    fflush(stdout);
}

static void on_log(sipnat_ctx *c, int prio, const char *domain, const char *msg, void *ud)
{
    (void)c;
    (void)ud;
    fprintf(stderr, "sipnat-phone: <%d> %s: %s\n", prio, domain, msg);
}

static void print_media(const char *leg, sipnat_session *s)
{
    sipnat_anchor_stats st = {.size = sizeof st};
    char buf[512];

    if (!s || sipnat_anchor_get_stats(sipnat_session_get_anchor(s), &st) < 0)
        return;
    snprintf(buf, sizeof buf,
             "rx=%llu tx=%llu foreign=%llu malformed=%llu latched=%s:%d",
             (unsigned long long)st.rx_packets, (unsigned long long)st.tx_packets,
             (unsigned long long)st.dropped_foreign,
             (unsigned long long)st.dropped_malformed,
             st.latched_address[0] ? st.latched_address : "-", st.latched_port);
    say("media", leg, 0, buf, sipnat_session_get_remote_uri(s));
}

/* -- audio ------------------------------------------------------------ */

static SNDFILE *open_wav(const char *path, int mode)
{
    SF_INFO info = {0};
    SNDFILE *f;

    if (mode == SFM_WRITE) {
        info.samplerate = 8000;
        info.channels = 1;
        info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
    }
    f = sf_open(path, mode, &info);
    if (!f) {
        fprintf(stderr, "sipnat-phone: %s: %s\n", path, sf_strerror(NULL));
        return NULL;
    }
    if (mode == SFM_READ &&
        (info.samplerate != 8000 || info.channels != 1 ||
         (info.format & SF_FORMAT_SUBMASK) != SF_FORMAT_PCM_16)) {
        fprintf(stderr,
                "sipnat-phone: %s: %d Hz, %d channel(s), format 0x%x: "
                "need 8000 Hz mono 16-bit PCM\n",
                path, info.samplerate, info.channels, info.format);
        sf_close(f);
        return NULL;
    }
    return f;
}

static void on_audio(const int16_t *samples, size_t n, void *ud)
{
    (void)ud;
    if (rec_f && sf_write_short(rec_f, samples, (sf_count_t)n) == (sf_count_t)n)
        frames_recorded++;
}

/* Every 20 ms while a call of ours is up (not bridged): one frame out. */
static void audio_tick(void)
{
    int16_t frame[FRAME];
    sipnat_anchor *a;
    int st = call ? sipnat_session_get_state(call) : 0;

    if (!call || leg2 || (st != SIPNAT_SESSION_ESTABLISHED) ||
        !(a = sipnat_session_get_anchor(call)))
        return;
    if (play_f) {
        sf_count_t got = sf_read_short(play_f, frame, FRAME);
        if (got <= 0) {
            sf_close(play_f);
            play_f = NULL;
            return;
        }
        for (sf_count_t i = got; i < FRAME; i++)
            frame[i] = 0;
    } else if (opt.tone > 0) {
        for (int i = 0; i < FRAME; i++) {
            frame[i] = (int16_t)(8000.0 * sin(tone_phase));
            tone_phase += 2 * M_PI * opt.tone / 8000.0;
        }
        tone_phase = fmod(tone_phase, 2 * M_PI);
    } else {
        return;
    }
    if (sipnat_anchor_send_audio(a, frame, FRAME) == 0)
        frames_sent++;
}

/* -- calls ------------------------------------------------------------ */

static void call_over(void)
{
    print_media("call", call);
    print_media("bridged", leg2);
    call = sipnat_session_unref(call);
    leg2 = sipnat_session_unref(leg2);
    if (opt.duration > 0 || opt.dial)
        quit = 1;
}

static void on_leg2(const sipnat_event *ev, void *ud)
{
    (void)ud;
    say("bridge", sipnat_session_state_name(ev->state), ev->status, ev->phrase, ev->uri);
    if (!call)
        return;
    if (ev->state == SIPNAT_SESSION_RINGING) {
        sipnat_session_ring(call);
    } else if (ev->state == SIPNAT_SESSION_ESTABLISHED) {
        sipnat_session_answer(call);
        sipnat_session_bridge(call, leg2);
        clock_gettime(CLOCK_MONOTONIC, &answered_at);
    } else if (ev->state == SIPNAT_SESSION_TERMINATED &&
               sipnat_session_get_state(call) != SIPNAT_SESSION_TERMINATED) {
        sipnat_session_hangup(call);
    }
}

static void on_call(const sipnat_event *ev, void *ud)
{
    (void)ud;
    say("call", sipnat_session_state_name(ev->state), ev->status, ev->phrase, ev->uri);
    if (ev->state == SIPNAT_SESSION_ESTABLISHED)
        clock_gettime(CLOCK_MONOTONIC, &answered_at);
    if (ev->state == SIPNAT_SESSION_TERMINATED) {
        if (leg2 && sipnat_session_get_state(leg2) != SIPNAT_SESSION_TERMINATED)
            sipnat_session_hangup(leg2);
        call_over();
    }
}

static void on_incoming(sipnat_session *s, void *ud)
{
    sipnat_endpoint *target;
    int r;

    (void)ud;
    if (call) {
        sipnat_session_reject(s, 486);
        return;
    }
    call = sipnat_session_ref(s);
    sipnat_session_set_event_func(s, on_call, NULL);
    say("call", "incoming", 0, sipnat_endpoint_get_name(sipnat_session_get_endpoint(s)),
        sipnat_session_get_remote_uri(s));
    if (opt.bridge) {
        target = sipnat_setup_get_endpoint(setup, opt.bridge);
        r = target ? sipnat_session_call(&leg2, target, NULL, on_leg2, NULL) : -ENOENT;
        if (r < 0) {
            say("bridge", "failed", 0, sipnat_strerror(r), opt.bridge);
            sipnat_session_reject(s, 480);
        }
    } else if (opt.auto_answer) {
        sipnat_anchor_set_audio_func(sipnat_session_get_anchor(s), on_audio, NULL);
        sipnat_session_answer(s);
    }
}

static void dial(const char *uri)
{
    int r;

    if (call) {
        say("call", "busy", 0, "a call is up", uri);
        return;
    }
    r = sipnat_session_call(&call, me, uri, on_call, NULL);
    if (r < 0) {
        say("call", "failed", 0, sipnat_strerror(r), uri);
        return;
    }
    sipnat_anchor_set_audio_func(sipnat_session_get_anchor(call), on_audio, NULL);
}

static const char *const reg_names[] = {"idle", "registering", "registered", "retrying",
                                        "failed", "unregistering", "unregistered"};

static void on_event(const sipnat_event *ev, void *ud)
{
    char detail[160];

    (void)ud;
    if (ev->type == SIPNAT_EVENT_REGISTRATION) {
        snprintf(detail, sizeof detail, "%s expires=%u retry_after=%u", ev->phrase,
                 ev->expires, ev->retry_after);
        say("registration",
            ev->state >= 0 && ev->state <= 6 ? reg_names[ev->state] : "?", ev->status,
            detail, ev->uri);
    } else if (ev->type == SIPNAT_EVENT_CONTACT) {
        static const char *const names[] = {"?", "added", "refreshed", "removed",
                                            "expired", "reachable", "unreachable"};
        snprintf(detail, sizeof detail, "%s from %s:%d", ev->name ? ev->name : "",
                 ev->address ? ev->address : "-", ev->port);
        say("contact", ev->state >= 1 && ev->state <= 6 ? names[ev->state] : "?",
            ev->status, detail, ev->uri);
    }
}

/* Every registration has its first outcome: registered, or retrying or
 * failed (the call goes out anyway; the registrar may not be needed for
 * it). Until then a registration may still be in its random initial delay,
 * and a call would leave before the ITSP knows us. */
static int registrations_done(void)
{
    for (int i = 0; i < n_regs; i++) {
        int st = sipnat_registration_get_state(regs[i]);

        if (st != SIPNAT_REGISTRATION_REGISTERED && st != SIPNAT_REGISTRATION_RETRYING &&
            st != SIPNAT_REGISTRATION_FAILED)
            return 0;
    }
    return 1;
}

/* -- stdin ------------------------------------------------------------ */

static void status(const char *addr)
{
    char buf[512];
    sipnat_transport *t = me ? sipnat_endpoint_get_transport(me) : NULL;

    if (call) {
        say("status", sipnat_session_state_name(sipnat_session_get_state(call)), 0,
            "call", sipnat_session_get_remote_uri(call));
        print_media("call", call);
        print_media("bridged", leg2);
    } else {
        say("status", "idle", 0, "no call", NULL);
    }
    if (addr && t && sipnat_transport_explain(t, addr, buf, sizeof buf) == 0)
        say("advertise", "explain", 0, buf, addr);
}

static void command(char *line)
{
    char *cmd = strtok(line, " \t\r\n"), *arg = strtok(NULL, " \t\r\n");
    int r = 0;

    if (!cmd)
        return;
    if (!strcmp(cmd, "dial") && arg)
        dial(arg);
    else if (!strcmp(cmd, "answer") && call)
        r = sipnat_session_answer(call);
    else if (!strcmp(cmd, "hangup") && call)
        r = sipnat_session_hangup(call);
    else if (!strcmp(cmd, "hold") && call)
        r = sipnat_session_hold(call);
    else if (!strcmp(cmd, "resume") && call)
        r = sipnat_session_resume(call);
    else if (!strcmp(cmd, "dtmf") && call && arg)
        for (; *arg && r == 0; arg++)
            r = sipnat_anchor_send_dtmf(sipnat_session_get_anchor(call), *arg, 100);
    else if (!strcmp(cmd, "status"))
        status(arg);
    else if (!strcmp(cmd, "quit"))
        quit = 1;
    else
        say("command", "unknown", 0, cmd, NULL);
    if (r < 0)
        say("command", "failed", 0, sipnat_strerror(r), cmd);
}

/* -- main ------------------------------------------------------------- */

static void on_diag(int severity, const char *file, unsigned line, const char *msg,
                    void *ud)
{
    (void)ud;
    fprintf(stderr, "%s:%u: %s: %s\n", file, line,
            severity <= SIPNAT_LOG_ERR ? "error" : severity == SIPNAT_LOG_WARNING
                                                       ? "warning"
                                                       : "note",
            msg);
}

static double since(const struct timespec *t0)
{
    struct timespec now;

    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0->tv_sec) + (now.tv_nsec - t0->tv_nsec) / 1e9;
}

static int parse_args(int argc, char **argv)
{
    int c;
    char *end;

    while ((c = getopt_long(argc, argv, "", long_opts, NULL)) != -1) {
        switch (c) {
        case 'c': opt.config = optarg; break;
        case 'C': opt.check_only = 1; break;
        case 'e': opt.endpoint = optarg; break;
        case 'd': opt.dial = optarg; break;
        case 'a': opt.auto_answer = 1; break;
        case 'p': opt.play = optarg; break;
        case 'r': opt.record = optarg; break;
        case 'b': opt.bridge = optarg; break;
        case 'j': opt.json = 1; break;
        case 't':
            opt.tone = strtod(optarg, &end);
            if (*end || opt.tone <= 0 || opt.tone >= 4000) {
                fprintf(stderr, "sipnat-phone: --tone: 1-3999 Hz\n");
                return 2;
            }
            break;
        case 'D':
            opt.duration = strtod(optarg, &end);
            if (*end || opt.duration <= 0 || opt.duration > 86400) {
                fprintf(stderr, "sipnat-phone: --duration: seconds, up to a day\n");
                return 2;
            }
            break;
        case 'l':
            opt.log_level = (int)strtol(optarg, &end, 10);
            if (*end || opt.log_level < 0 || opt.log_level > 7) {
                fprintf(stderr, "sipnat-phone: --log-level: 0-7\n");
                return 2;
            }
            break;
        case 'h': usage(stdout); exit(0);
        default: usage(stderr); return 2;
        }
    }
    if (optind < argc || !opt.config) {
        usage(stderr);
        return 2;
    }
    if (opt.play && opt.tone > 0) {
        fprintf(stderr, "sipnat-phone: --play or --tone, not both\n");
        return 2;
    }
    return 0;
}

static int loop(void)
{
    int ep = epoll_create1(EPOLL_CLOEXEC);
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    struct itimerspec tick = {{0, 20000000}, {0, 20000000}};
    struct epoll_event ev = {.events = EPOLLIN};
    int dialed = 0, stdin_open = 1;

    ev.data.fd = sipnat_ctx_get_fd(ctx);
    epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev);
    timerfd_settime(tfd, 0, &tick, NULL);
    ev.data.fd = tfd;
    epoll_ctl(ep, EPOLL_CTL_ADD, tfd, &ev);
    ev.data.fd = 0;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev) < 0)
        stdin_open = 0; /* /dev/null and regular files: no commands */
    while (!quit) {
        struct epoll_event got[8];
        int timeout, n;

        sipnat_ctx_get_timeout(ctx, &timeout);
        n = epoll_wait(ep, got, 8, timeout < 0 || timeout > 20 ? 20 : timeout);
        for (int i = 0; i < n; i++) {
            if (got[i].data.fd == tfd) {
                uint64_t x;
                if (read(tfd, &x, sizeof x) > 0)
                    audio_tick();
            } else if (got[i].data.fd == 0 && stdin_open) {
                char line[512];
                if (!fgets(line, sizeof line, stdin)) {
                    epoll_ctl(ep, EPOLL_CTL_DEL, 0, NULL);
                    stdin_open = 0;
                } else {
                    command(line);
                }
            }
        }
        sipnat_ctx_process(ctx);
        if (opt.dial && !dialed && registrations_done()) {
            dialed = 1;
            dial(opt.dial);
            if (!call)
                quit = 1, exit_status = 1;
        }
        if (call && opt.duration > 0 && answered_at.tv_sec &&
            since(&answered_at) >= opt.duration &&
            sipnat_session_get_state(call) != SIPNAT_SESSION_TERMINATED) {
            sipnat_session_hangup(call);
            answered_at.tv_sec = 0;
        }
    }
    close(tfd);
    close(ep);
    return exit_status;
}

int main(int argc, char **argv)
{
    sipnat_config *cfg = NULL;
    sipnat_setup_hooks hooks = {.size = sizeof hooks};
    char first[256] = "";
    const char *name;
    int r;

    if ((r = parse_args(argc, argv)) != 0)
        return r;
    r = sipnat_config_load(&cfg, opt.config, on_diag, NULL);
    if (r < 0) {
        fprintf(stderr, "sipnat-phone: %s: %s\n", opt.config, sipnat_strerror(r));
        return 1;
    }
    if (opt.check_only) {
        sipnat_config_dump(cfg, stdout);
        sipnat_config_unref(cfg);
        return 0;
    }
    signal(SIGPIPE, SIG_IGN);
    if ((r = sipnat_ctx_new(&ctx)) < 0)
        return 1;
    sipnat_ctx_set_log_func(ctx, on_log, NULL);
    sipnat_ctx_set_log_level(ctx, opt.log_level);
    if (sipnat_config_get_name(cfg, SIPNAT_CONFIG_ENDPOINT, 0, &name) == 0)
        snprintf(first, sizeof first, "%s", name);
    hooks.incoming = on_incoming;
    hooks.events = on_event;
    hooks.diag = on_diag;
    r = sipnat_config_apply(&setup, cfg, ctx, &hooks);
    if (r < 0) {
        fprintf(stderr, "sipnat-phone: %s: %s\n", opt.config, sipnat_strerror(r));
        sipnat_config_unref(cfg);
        sipnat_ctx_unref(ctx);
        return 1;
    }
    r = sipnat_config_count(cfg, SIPNAT_CONFIG_REGISTRATION);
    regs = calloc(r > 0 ? (size_t)r : 1, sizeof *regs);
    for (int i = 0; regs && i < r; i++)
        if (sipnat_config_get_name(cfg, SIPNAT_CONFIG_REGISTRATION, (unsigned)i, &name) == 0 &&
            (regs[n_regs] = sipnat_setup_get_registration(setup, name)))
            n_regs++;
    sipnat_config_unref(cfg);
    if (!regs) {
        sipnat_setup_unref(setup);
        sipnat_ctx_unref(ctx);
        return 1;
    }
    me = sipnat_setup_get_endpoint(setup, opt.endpoint ? opt.endpoint : first);
    if (!me) {
        fprintf(stderr, "sipnat-phone: no endpoint %s\n",
                opt.endpoint ? opt.endpoint : "in the configuration");
        free(regs);
        sipnat_setup_unref(setup);
        sipnat_ctx_unref(ctx);
        return 1;
    }
    if ((opt.play && !(play_f = open_wav(opt.play, SFM_READ))) ||
        (opt.record && !(rec_f = open_wav(opt.record, SFM_WRITE)))) {
        free(regs);
        sipnat_setup_unref(setup);
        sipnat_ctx_unref(ctx);
        return 1;
    }
    sipnat_setup_start(setup);
    r = loop();
    sipnat_setup_stop(setup);
    for (int i = 0; i < 100; i++) { /* let unregisters go out, bounded */
        sipnat_ctx_process(ctx);
        usleep(10000);
    }
    if (call)
        call_over();
    if (play_f)
        sf_close(play_f);
    if (rec_f)
        sf_close(rec_f);
    free(regs);
    say("summary", "done", 0, NULL, NULL);
    fprintf(stderr, "sipnat-phone: frames sent %llu, recorded %llu\n",
            (unsigned long long)frames_sent, (unsigned long long)frames_recorded);
    sipnat_setup_unref(setup);
    sipnat_ctx_unref(ctx);
    return r;
}
