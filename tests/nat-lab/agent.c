/*
 * libsipnat NAT-lab agent: the library as a host behind the lab's router
 * would run it. Public API only.
 *
 *   sipnat-lab-agent [--bind ADDR] [--port N] [--local-net CIDR]...
 *                    [--external ADDR] [--learned] [--stun ADDR[:PORT]]
 *                    [--register SERVER_URI --aor URI --contact-user USER
 *                     --auth USER:PASSWORD@REALM] [--keepalive S]
 *                    [--retry-interval S] [--max-retries N] [--wait S]
 *                    [--endpoint NAME [--match M]...
 *                     [--inbound-auth USER:PASSWORD] [--max-contacts N]
 *                     [--rewrite-contact] [--qualify S]]
 *                    [--options URI]... [--hold S] [-v]
 *                    [--dns SERVERS] [--dns-timeout MS] [--call URI]
 *                    [--bridge-to URI [--bridge-match CIDR]
 *                     [--no-rtp-symmetric] [--rtp-timeout S] [--srtp]]
 *                    [--answer [--tone]] [--tls CERT_DIR]
 *
 * Registers (if asked), sends each OPTIONS, keeps running --hold seconds,
 * unregisters, and prints one line per event:
 *   registration <state> <status> expires=<n> retry_after=<n>
 *   options <uri> <status>
 *   contact <state> <uri> from=<address>:<port> rtt=<usec>
 *   call <in|out> <state> <status> <phrase>
 *   media <in|out> rx=<n> tx=<n> foreign=<n> malformed=<n> latched=<a>:<p>
 *         stun=<n> stun_dropped=<n>
 *   explain <destination>: <why the transport advertises what it does>
 *   (with --explain DEST, at the end)
 * --bridge-to: the endpoint takes calls and sends each on to URI (an
 * endpoint "bridge" matching --bridge-match), bridging the media, as the
 * seed's Asterisk sends the ITSP's DID to phone 6001.
 * --call: after registering, one call to URI (endpoint "out"), hung up
 * once established. Registration and call lines end with
 * "target=<host>/<address>:<port>" (the next hop that answered, or "-"),
 * and the last line is "loop longest_process_us=<n>": the longest single
 * sipnat_ctx_process() call of the run.
 * SIGUSR1: the host's network changed (sipnat_ctx_network_changed); prints
 * "network changed <result>".
 * --answer: the endpoint answers its calls itself (no bridge); with --tone
 * it sends a 400 Hz tone into an established call, one 20 ms frame every
 * 20 ms (sipnat_anchor_send_audio). --tls: the transport is
 * TLS with the certificates of CERT_DIR (agent.pem, cafile.pem), servers
 * verified.
 * Exit status 0 when every OPTIONS got a 2xx and the registration (if
 * any) reached "registered" and ended "unregistered".
 */
#define _GNU_SOURCE
#include <sipnat/sipnat.h>

#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int registered, unregistered, failed, options_ok, options_done;

static void on_log(sipnat_ctx *ctx, int prio, const char *domain,
                   const char *msg, void *ud)
{
    (void)ctx;
    (void)ud;
    fprintf(stderr, "log %d %s: %s\n", prio, domain, msg);
}

/* "target=host/address:port" of an event, or "target=-". */
static const char *target_of(const sipnat_event *ev)
{
    static char buf[400];

    if (!ev->target_address)
        return "target=-";
    snprintf(buf, sizeof buf, "target=%s/%s:%d",
             ev->target_host ? ev->target_host : "-", ev->target_address,
             ev->target_port);
    return buf;
}

static void on_reg(const sipnat_event *ev, void *ud)
{
    (void)ud;
    printf("registration %s %d expires=%u retry_after=%u %s phrase=%s\n",
           sipnat_registration_state_name(ev->state), ev->status, ev->expires,
           ev->retry_after, target_of(ev), ev->phrase);
    fflush(stdout);
    if (ev->state == SIPNAT_REGISTRATION_REGISTERED)
        registered = 1;
    if (ev->state == SIPNAT_REGISTRATION_UNREGISTERED)
        unregistered = 1;
    if (ev->state == SIPNAT_REGISTRATION_FAILED)
        failed = 1;
}

static const char *const contact_states[] = {
    "?", "added", "refreshed", "removed", "expired", "reachable", "unreachable",
};

static void on_contact(const sipnat_event *ev, void *ud)
{
    (void)ud;
    printf("contact %s %s from=%s:%d rtt=%u\n",
           ev->state >= 1 && ev->state <= 6 ? contact_states[ev->state] : "?",
           ev->uri, ev->address ? ev->address : "-", ev->port, ev->rtt_usec);
    fflush(stdout);
}

static void on_options(const sipnat_event *ev, void *ud)
{
    (void)ud;
    printf("options %s %d\n", ev->uri, ev->status);
    fflush(stdout);
    options_done++;
    if (ev->status >= 200 && ev->status < 300)
        options_ok++;
}

/* -- the bridge: one incoming call at a time goes on to bridge_uri ----- */

static sipnat_endpoint *bridge_ep;
static const char *bridge_uri;
static sipnat_session *call_in, *call_out;
static int calls_bridged, calls_ended;

static void print_media(const char *leg, sipnat_session *s)
{
    sipnat_anchor_stats st = {.size = sizeof st};

    if (!s || sipnat_anchor_get_stats(sipnat_session_get_anchor(s), &st) < 0)
        return;
    printf("media %s rx=%llu tx=%llu foreign=%llu malformed=%llu latched=%s:%d "
           "stun=%llu stun_dropped=%llu\n", leg,
           (unsigned long long)st.rx_packets, (unsigned long long)st.tx_packets,
           (unsigned long long)st.dropped_foreign,
           (unsigned long long)st.dropped_malformed,
           st.latched_address[0] ? st.latched_address : "-", st.latched_port,
           (unsigned long long)st.rx_stun, (unsigned long long)st.dropped_stun);
    fflush(stdout);
}

static void end_call(void)
{
    print_media("in", call_in);
    print_media("out", call_out);
    call_in = sipnat_session_unref(call_in);
    call_out = sipnat_session_unref(call_out);
    calls_ended++;
}

static void on_out(const sipnat_event *ev, void *ud)
{
    (void)ud;
    printf("call out %s %d %s %s\n", sipnat_session_state_name(ev->state), ev->status,
           ev->phrase, target_of(ev));
    fflush(stdout);
    if (!call_in)
        return;
    switch (ev->state) {
    case SIPNAT_SESSION_RINGING:
        sipnat_session_ring(call_in);
        break;
    case SIPNAT_SESSION_ESTABLISHED:
        if (sipnat_session_answer(call_in) == 0 &&
            sipnat_session_bridge(call_in, call_out) == 0)
            calls_bridged++;
        break;
    case SIPNAT_SESSION_TERMINATED:
        if (sipnat_session_get_state(call_in) != SIPNAT_SESSION_TERMINATED)
            sipnat_session_hangup(call_in);
        break;
    default:
        break;
    }
}

static void on_in(const sipnat_event *ev, void *ud)
{
    (void)ud;
    printf("call in %s %d %s\n", sipnat_session_state_name(ev->state), ev->status,
           ev->phrase);
    fflush(stdout);
    if (ev->state == SIPNAT_SESSION_TERMINATED) {
        if (call_out && sipnat_session_get_state(call_out) != SIPNAT_SESSION_TERMINATED)
            sipnat_session_hangup(call_out);
        end_call();
    }
}

static void on_incoming(sipnat_session *s, void *ud)
{
    int r;

    (void)ud;
    if (call_in) {
        sipnat_session_reject(s, 486);
        return;
    }
    call_in = sipnat_session_ref(s);
    sipnat_session_set_event_func(s, on_in, NULL);
    if (!bridge_uri) { /* --answer */
        r = sipnat_session_answer(s);
        if (r < 0)
            fprintf(stderr, "answer: %s\n", sipnat_strerror(r));
        return;
    }
    r = sipnat_session_call(&call_out, bridge_ep, bridge_uri, on_out, NULL);
    if (r < 0) {
        fprintf(stderr, "call %s: %s\n", bridge_uri, sipnat_strerror(r));
        sipnat_session_reject(s, 503);
    }
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double longest_process;

/* --tone: 20 ms frames into the established incoming call. */
static int tone;
static double tone_next;
static unsigned tone_phase;

static void tone_tick(void)
{
    int16_t frame[160];

    if (!tone || !call_in ||
        sipnat_session_get_state(call_in) != SIPNAT_SESSION_ESTABLISHED) {
        tone_next = 0;
        return;
    }
    if (tone_next == 0)
        tone_next = now();
    for (int k = 0; k < 5 && now() >= tone_next; k++) {
        /* 400 Hz at 8 kHz: a 20-sample period, a triangle is enough. */
        for (int i = 0; i < 160; i++, tone_phase++) {
            int p = (int)(tone_phase % 20);
            frame[i] = (int16_t)((p < 10 ? p - 5 : 15 - p) * 1600);
        }
        sipnat_anchor_send_audio(sipnat_session_get_anchor(call_in), frame, 160);
        tone_next += 0.020;
    }
}

static int tone_timeout(int t)
{
    if (!tone || tone_next == 0)
        return t;
    int ms = (int)((tone_next - now()) * 1000) + 1;
    if (ms < 0)
        ms = 0;
    return t < 0 || t > ms ? ms : t;
}

/* SIGUSR1: the lab moved us (or our router) to another address. */
static volatile sig_atomic_t network_changed;

static void on_usr1(int sig)
{
    (void)sig;
    network_changed = 1;
}

/* --call: the host's own call, hung up once established. */
static sipnat_session *own_call;
static int own_call_over;

static void on_own_call(const sipnat_event *ev, void *ud)
{
    (void)ud;
    printf("call own %s %d %s %s\n", sipnat_session_state_name(ev->state),
           ev->status, ev->phrase, target_of(ev));
    fflush(stdout);
    if (ev->state == SIPNAT_SESSION_ESTABLISHED)
        sipnat_session_hangup(own_call);
    if (ev->state == SIPNAT_SESSION_TERMINATED)
        own_call_over = 1;
}

static int call_over(void) { return own_call_over; }

static void run(sipnat_ctx *ctx, double seconds, int (*done)(void))
{
    double end = now() + seconds;

    while (now() < end && !(done && done())) {
        struct pollfd p = {.fd = sipnat_ctx_get_fd(ctx), .events = POLLIN};
        int t;
        sipnat_ctx_get_timeout(ctx, &t);
        int left = (int)((end - now()) * 1000) + 1;
        if (t < 0 || t > left)
            t = left;
        poll(&p, 1, tone_timeout(t));
        if (network_changed) {
            network_changed = 0;
            printf("network changed %d\n", sipnat_ctx_network_changed(ctx));
            fflush(stdout);
        }
        double a = now();
        sipnat_ctx_process(ctx);
        if (now() - a > longest_process)
            longest_process = now() - a;
        tone_tick();
    }
}

static int n_opts;
static int all_options(void) { return options_done >= n_opts; }
static int is_registered(void) { return registered || failed; }
static int is_unregistered(void) { return unregistered; }

static void check(int r, const char *what)
{
    if (r < 0) {
        fprintf(stderr, "%s: %s\n", what, sipnat_strerror(r));
        exit(1);
    }
}

int main(int argc, char **argv)
{
    const char *bind = "0.0.0.0", *external = NULL, *server = NULL, *aor = NULL;
    const char *cuser = NULL, *auth = NULL, *opts[8];
    const char *nets[8], *ep_name = NULL, *matches[8];
    int n_matches = 0, max_contacts = 0, rewrite = 0, qualify = 0;
    const char *in_auth = NULL, *bridge_match = NULL, *tls_dir = NULL;
    const char *stun = NULL, *explain = NULL;
    int rtp_symmetric = 1, rtp_timeout = 0, srtp = 0, answer = 0;
    int port = 5060, learned = 0, n_nets = 0, keepalive = 0, verbose = 0;
    int retry = 0, max_retries = -1, dns_timeout = 0;
    const char *dns = NULL, *call_uri = NULL;
    double wait_registered = 10;
    double hold = 0;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--learned")) { learned = 1; continue; }
        if (!strcmp(a, "-v")) { verbose = 1; continue; }
        if (!strcmp(a, "--rewrite-contact")) { rewrite = 1; continue; }
        if (!strcmp(a, "--no-rtp-symmetric")) { rtp_symmetric = 0; continue; }
        if (!strcmp(a, "--srtp")) { srtp = 1; continue; }
        if (!strcmp(a, "--answer")) { answer = 1; continue; }
        if (!strcmp(a, "--tone")) { tone = 1; continue; }
        if (!v) { fprintf(stderr, "%s needs a value\n", a); return 2; }
        i++;
        if (!strcmp(a, "--bind")) bind = v;
        else if (!strcmp(a, "--port")) port = atoi(v);
        else if (!strcmp(a, "--local-net") && n_nets < 8) nets[n_nets++] = v;
        else if (!strcmp(a, "--external")) external = v;
        else if (!strcmp(a, "--register")) server = v;
        else if (!strcmp(a, "--aor")) aor = v;
        else if (!strcmp(a, "--contact-user")) cuser = v;
        else if (!strcmp(a, "--auth")) auth = v;
        else if (!strcmp(a, "--keepalive")) keepalive = atoi(v);
        else if (!strcmp(a, "--retry-interval")) retry = atoi(v);
        else if (!strcmp(a, "--max-retries")) max_retries = atoi(v);
        else if (!strcmp(a, "--wait")) wait_registered = atof(v);
        else if (!strcmp(a, "--options") && n_opts < 8) opts[n_opts++] = v;
        else if (!strcmp(a, "--hold")) hold = atof(v);
        else if (!strcmp(a, "--endpoint")) ep_name = v;
        else if (!strcmp(a, "--match") && n_matches < 8) matches[n_matches++] = v;
        else if (!strcmp(a, "--inbound-auth")) in_auth = v;
        else if (!strcmp(a, "--max-contacts")) max_contacts = atoi(v);
        else if (!strcmp(a, "--qualify")) qualify = atoi(v);
        else if (!strcmp(a, "--bridge-to")) bridge_uri = v;
        else if (!strcmp(a, "--bridge-match")) bridge_match = v;
        else if (!strcmp(a, "--rtp-timeout")) rtp_timeout = atoi(v);
        else if (!strcmp(a, "--dns")) dns = v;
        else if (!strcmp(a, "--dns-timeout")) dns_timeout = atoi(v);
        else if (!strcmp(a, "--call")) call_uri = v;
        else if (!strcmp(a, "--tls")) tls_dir = v;
        else if (!strcmp(a, "--stun")) stun = v;
        else if (!strcmp(a, "--explain")) explain = v;
        else { fprintf(stderr, "unknown option %s\n", a); return 2; }
    }

    sipnat_ctx *ctx;
    sipnat_policy *pol = NULL;
    sipnat_transport_cfg *tcfg;
    sipnat_transport *t;
    struct sigaction sa = {.sa_handler = on_usr1}; /* no SA_RESTART: poll wakes */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    check(sipnat_ctx_new(&ctx), "ctx");
    /* Notices (a rejected source, a learned address) always; -v: all. */
    sipnat_ctx_set_log_func(ctx, on_log, NULL);
    sipnat_ctx_set_log_level(ctx, verbose ? SIPNAT_LOG_DEBUG : SIPNAT_LOG_NOTICE);
    if (dns)
        check(sipnat_ctx_set_dns_servers(ctx, dns), dns);
    if (dns_timeout)
        check(sipnat_ctx_set_dns_timeout(ctx, (unsigned)dns_timeout, 1), "dns timeout");
    if (external || learned || n_nets) {
        check(sipnat_policy_new(&pol, learned ? SIPNAT_POLICY_LEARNED : SIPNAT_POLICY_STATIC), "policy");
        for (int i = 0; i < n_nets; i++)
            check(sipnat_policy_add_local_net(pol, nets[i]), nets[i]);
        if (external) {
            check(sipnat_policy_set_external_signaling_address(pol, external, 0), external);
            check(sipnat_policy_set_external_media_address(pol, external), external);
        }
    }
    check(sipnat_transport_cfg_new(&tcfg), "transport cfg");
    check(sipnat_transport_cfg_set_bind(tcfg, bind, port), "bind");
    check(sipnat_transport_cfg_set_policy(tcfg, pol), "policy");
    if (tls_dir) {
        check(sipnat_transport_cfg_set_protocol(tcfg, SIPNAT_PROTOCOL_TLS), "tls");
        check(sipnat_transport_cfg_set_tls(tcfg, tls_dir, 1), tls_dir);
    }
    if (stun) {
        char host[64];
        int sport = 0;
        snprintf(host, sizeof host, "%s", stun);
        char *colon = strchr(host, ':');
        if (colon) {
            *colon = '\0';
            sport = atoi(colon + 1);
        }
        check(sipnat_transport_cfg_set_stun_server(tcfg, host, sport), stun);
    }
    check(sipnat_transport_new(&t, ctx, tcfg), "transport");
    sipnat_transport_cfg_free(tcfg);

    sipnat_endpoint *ep = NULL;
    if (ep_name) {
        sipnat_endpoint_cfg *ec;
        check(sipnat_endpoint_cfg_new(&ec), "endpoint cfg");
        check(sipnat_endpoint_cfg_set_name(ec, ep_name), ep_name);
        for (int i = 0; i < n_matches; i++)
            check(sipnat_endpoint_cfg_add_match(ec, matches[i]), matches[i]);
        if (in_auth) {
            char user[128], *pass;
            snprintf(user, sizeof user, "%s", in_auth);
            if (!(pass = strchr(user, ':'))) {
                fprintf(stderr, "--inbound-auth USER:PASSWORD\n");
                return 2;
            }
            *pass++ = '\0';
            check(sipnat_endpoint_cfg_set_auth(ec, user, pass, NULL), "inbound auth");
        }
        check(sipnat_endpoint_cfg_set_max_contacts(ec, (unsigned)max_contacts),
              "max contacts");
        check(sipnat_endpoint_cfg_set_rewrite_contact(ec, rewrite), "rewrite");
        check(sipnat_endpoint_cfg_set_qualify_frequency(ec, (unsigned)qualify),
              "qualify");
        check(sipnat_endpoint_cfg_set_event_func(ec, on_contact, NULL), "events");
        check(sipnat_endpoint_cfg_set_rtp_symmetric(ec, rtp_symmetric), "symmetric");
        check(sipnat_endpoint_cfg_set_rtp_timeout(ec, (unsigned)rtp_timeout), "timeout");
        if (bridge_uri || answer)
            check(sipnat_endpoint_cfg_set_incoming_func(ec, on_incoming, NULL),
                  "incoming");
        if (srtp)
            check(sipnat_endpoint_cfg_set_media_encryption(ec, SIPNAT_MEDIA_ENCRYPTION_SDES),
                  "srtp");
        check(sipnat_endpoint_new(&ep, t, ec), "endpoint");
        sipnat_endpoint_cfg_free(ec);
    }
    if (bridge_uri) {
        sipnat_endpoint_cfg *bc;
        check(sipnat_endpoint_cfg_new(&bc), "bridge cfg");
        check(sipnat_endpoint_cfg_set_name(bc, "bridge"), "bridge name");
        if (bridge_match)
            check(sipnat_endpoint_cfg_add_match(bc, bridge_match), bridge_match);
        check(sipnat_endpoint_cfg_set_rtp_symmetric(bc, rtp_symmetric), "symmetric");
        check(sipnat_endpoint_cfg_set_rtp_timeout(bc, (unsigned)rtp_timeout), "timeout");
        check(sipnat_endpoint_new(&bridge_ep, t, bc), "bridge endpoint");
        sipnat_endpoint_cfg_free(bc);
    }

    sipnat_registration *reg = NULL;
    if (server) {
        sipnat_registration_cfg *rc;
        char user[128], pass[128], realm[128];
        check(sipnat_registration_cfg_new(&rc), "registration cfg");
        check(sipnat_registration_cfg_set_server_uri(rc, server), server);
        check(sipnat_registration_cfg_set_client_uri(rc, aor ? aor : server), "aor");
        if (cuser)
            check(sipnat_registration_cfg_set_contact_user(rc, cuser), cuser);
        if (auth && sscanf(auth, "%127[^:]:%127[^@]@%127s", user, pass, realm) == 3)
            check(sipnat_registration_cfg_set_credentials(rc, user, pass, realm), "auth");
        check(sipnat_registration_cfg_set_max_random_initial_delay(rc, 0), "delay");
        check(sipnat_registration_cfg_set_keepalive(rc, (unsigned)keepalive), "keepalive");
        if (retry)
            check(sipnat_registration_cfg_set_retry_interval(rc, (unsigned)retry), "retry");
        if (max_retries >= 0)
            check(sipnat_registration_cfg_set_max_retries(rc, (unsigned)max_retries), "max retries");
        check(sipnat_registration_new(&reg, t, rc, on_reg, NULL), "registration");
        sipnat_registration_cfg_free(rc);
        check(sipnat_registration_start(reg), "start");
        run(ctx, wait_registered, is_registered);
    }
    sipnat_endpoint *out_ep = NULL;
    if (call_uri) {
        sipnat_endpoint_cfg *oc;
        check(sipnat_endpoint_cfg_new(&oc), "out cfg");
        check(sipnat_endpoint_cfg_set_name(oc, "out"), "out name");
        check(sipnat_endpoint_new(&out_ep, t, oc), "out endpoint");
        sipnat_endpoint_cfg_free(oc);
        check(sipnat_session_call(&own_call, out_ep, call_uri, on_own_call, NULL), call_uri);
        run(ctx, 40, call_over);
        own_call = sipnat_session_unref(own_call);
    }
    for (int i = 0; i < n_opts; i++)
        check(sipnat_transport_send_options(t, opts[i], on_options, NULL), opts[i]);
    run(ctx, 10, all_options);
    if (hold > 0)
        run(ctx, hold, NULL);
    if (reg) {
        sipnat_registration_stop(reg);
        run(ctx, 5, is_unregistered);
    }
    int ok = options_ok == n_opts && (!reg || (registered && unregistered));
    sipnat_registration_unref(reg);
    if (call_in || call_out)
        end_call();
    if (bridge_uri)
        printf("calls bridged=%d ended=%d\n", calls_bridged, calls_ended);
    if (explain) {
        char why[512];
        if (sipnat_transport_explain(t, explain, why, sizeof why) >= 0)
            printf("explain %s: %s\n", explain, why);
    }
    printf("loop longest_process_us=%.0f\n", longest_process * 1e6);
    fflush(stdout);
    sipnat_endpoint_unref(out_ep);
    sipnat_endpoint_unref(bridge_ep);
    sipnat_endpoint_unref(ep);
    sipnat_transport_unref(t);
    sipnat_policy_unref(pol);
    sipnat_ctx_unref(ctx);
    return ok ? 0 : 1;
}
