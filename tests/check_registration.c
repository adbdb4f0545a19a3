/* libsipnat tests - outbound registration against a real registrar (SIPp,
 * digest with <verifyauth>) and an in-process one (failures, retries, the
 * learned address). */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define MAX_EV 64
struct reg_log {
    int n;
    int state[MAX_EV];
    int status[MAX_EV];
    unsigned retry_after[MAX_EV];
    unsigned expires[MAX_EV];
    int last_state;
};

static void on_reg(const sipnat_event *ev, void *ud)
{
    struct reg_log *l = ud;

    ck_assert_int_eq(ev->type, SIPNAT_EVENT_REGISTRATION);
    ck_assert_ptr_nonnull(ev->phrase);
    ck_assert_str_eq(ev->method, "REGISTER");
    if (l->n < MAX_EV) {
        l->state[l->n] = ev->state;
        l->status[l->n] = ev->status;
        l->retry_after[l->n] = ev->retry_after;
        l->expires[l->n] = ev->expires;
        l->n++;
    }
    l->last_state = ev->state;
}

static int terminal(const struct reg_log *l, int state)
{
    return l->last_state == state;
}

static void run_until_state(sipnat_ctx *ctx, mock_peer *peer, struct reg_log *l,
                            int state, int timeout_ms)
{
    int flag = 0;

    for (int waited = 0; waited < timeout_ms && !terminal(l, state); waited += 20)
        run_pull(ctx, peer, &flag, 20);
    ck_assert_msg(terminal(l, state), "state %s, wanted %s",
                  sipnat_registration_state_name(l->last_state),
                  sipnat_registration_state_name(state));
}

static void log_stderr(sipnat_ctx *ctx, int prio, const char *domain,
                       const char *msg, void *ud)
{
    (void)ctx;
    (void)ud;
    fprintf(stderr, "[%d %s] %s\n", prio, domain, msg);
}

static sipnat_transport *udp_transport(sipnat_ctx *ctx)
{
    if (getenv("SIPNAT_TEST_LOG")) {
        sipnat_ctx_set_log_func(ctx, log_stderr, NULL);
        sipnat_ctx_set_log_level(ctx, atoi(getenv("SIPNAT_TEST_LOG")));
    }
    sipnat_transport_cfg *cfg;
    sipnat_transport *t;

    ck_assert_ok(sipnat_transport_cfg_new(&cfg));
    ck_assert_ok(sipnat_transport_cfg_set_bind(cfg, "127.0.0.1", 0));
    ck_assert_ok(sipnat_transport_new(&t, ctx, cfg));
    sipnat_transport_cfg_free(cfg);
    return t;
}

static sipnat_registration_cfg *reg_cfg(int port)
{
    sipnat_registration_cfg *cfg;
    char uri[64];

    ck_assert_ok(sipnat_registration_cfg_new(&cfg));
    snprintf(uri, sizeof uri, "sip:127.0.0.1:%d", port);
    ck_assert_ok(sipnat_registration_cfg_set_server_uri(cfg, uri));
    ck_assert_ok(sipnat_registration_cfg_set_client_uri(cfg, "sip:1112223333@gw1.example.com"));
    ck_assert_ok(sipnat_registration_cfg_set_contact_user(cfg, "19998887777"));
    ck_assert_ok(sipnat_registration_cfg_set_credentials(cfg, "1112223333", "s3cret",
                                                         "gw1.example.com"));
    ck_assert_ok(sipnat_registration_cfg_set_max_random_initial_delay(cfg, 0));
    return cfg;
}

/* A free UDP port on loopback for SIPp. */
static int free_port(void)
{
    mock_peer p;
    int port;

    mock_peer_open(&p, 0);
    port = p.port;
    mock_peer_close(&p);
    return port;
}

START_TEST(test_register_sipp_digest)
{
    const char *top = getenv("top_srcdir");
    char scenario[512], portstr[16];
    int port = free_port();
    pid_t pid;
    int status;

    snprintf(scenario, sizeof scenario, "%s/tests/sipp/registrar-digest.xml",
             top ? top : "..");
    snprintf(portstr, sizeof portstr, "%d", port);
    /* SIPp's own complaints, shown when its scenario fails. */
    char errfile[] = "/tmp/sipnat-sipp-XXXXXX";
    int errfd = mkstemp(errfile);
    ck_assert_int_ge(errfd, 0);
    close(errfd);
    char *argv[] = {"sipp", "-sf", scenario, "-i", "127.0.0.1", "-p", portstr,
                    "-m", "1", "-nostdin", "-timeout", "20s", "-trace_err",
                    "-error_file", errfile, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    ck_assert_msg(posix_spawnp(&pid, "sipp", &fa, NULL, argv, environ) == 0,
                  "cannot start sipp (Debian package sip-tester)");
    posix_spawn_file_actions_destroy(&fa);
    usleep(300000);

    sipnat_ctx *ctx;
    sipnat_registration *reg;
    struct reg_log l = {0};
    ck_assert_ok(sipnat_ctx_new(&ctx));
    sipnat_transport *t = udp_transport(ctx);
    sipnat_registration_cfg *cfg = reg_cfg(port);
    ck_assert_ok(sipnat_registration_new(&reg, t, cfg, on_reg, &l));
    sipnat_registration_cfg_free(cfg);
    ck_assert_int_eq(sipnat_registration_get_state(reg), SIPNAT_REGISTRATION_IDLE);
    ck_assert_ok(sipnat_registration_start(reg));
    ck_assert_int_eq(sipnat_registration_start(reg), -EALREADY);
    ck_assert_int_eq(l.n, 0); /* events come from process, not from start */
    run_until_state(ctx, NULL, &l, SIPNAT_REGISTRATION_REGISTERED, 5000);
    ck_assert_int_eq(l.state[0], SIPNAT_REGISTRATION_REGISTERING);
    ck_assert_uint_eq(l.expires[l.n - 1], 60); /* what the registrar granted */
    ck_assert_int_eq(l.status[l.n - 1], 200);

    ck_assert_ok(sipnat_registration_stop(reg));
    run_until_state(ctx, NULL, &l, SIPNAT_REGISTRATION_UNREGISTERED, 5000);
    ck_assert_int_eq(l.status[l.n - 1], 200);
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char line[512] = "";
        FILE *f = fopen(errfile, "r");
        while (f && fgets(line, sizeof line, f))
            fputs(line, stderr);
        if (f)
            fclose(f);
        ck_abort_msg("SIPp's registrar scenario failed (exit %d): %s",
                     WEXITSTATUS(status), line);
    }
    unlink(errfile);
    sipnat_registration_unref(reg);
    sipnat_transport_unref(t);
    sipnat_ctx_unref(ctx);
}
END_TEST

/* A registration against the in-process registrar `peer`, run until
 * `state`; the fixture owns everything and frees it in reg_fixture_end. */
struct reg_fixture {
    sipnat_ctx *ctx;
    sipnat_transport *t;
    sipnat_registration *reg;
    struct reg_log l;
    sipnat_policy *pol;       /* learned_run: the transport's policy */
    const char *needle;       /* learned_run: log lines counted */
    int n_logged;
};

static void reg_fixture_run(struct reg_fixture *f, mock_peer *peer,
                            sipnat_registration_cfg *cfg, int state)
{
    memset(f, 0, sizeof *f);
    ck_assert_ok(sipnat_ctx_new(&f->ctx));
    f->t = udp_transport(f->ctx);
    ck_assert_ok(sipnat_registration_new(&f->reg, f->t, cfg, on_reg, &f->l));
    sipnat_registration_cfg_free(cfg);
    ck_assert_ok(sipnat_registration_start(f->reg));
    run_until_state(f->ctx, peer, &f->l, state, 8000);
    run_pull(f->ctx, peer, NULL, 300); /* nothing more goes out */
}

static void reg_fixture_end(struct reg_fixture *f)
{
    sipnat_registration_unref(f->reg);
    sipnat_transport_unref(f->t);
    sipnat_policy_unref(f->pol);
    sipnat_ctx_unref(f->ctx);
}

static void challenge_with(mock_peer *peer, const char *realm)
{
    mock_peer_open(peer, 401);
    snprintf(peer->extra, sizeof peer->extra,
             "WWW-Authenticate: Digest realm=\"%s\", nonce=\"abc\"\r\n", realm);
}

/* Wrong password: the registrar challenges again; failed, no storm. */
START_TEST(test_register_wrong_password)
{
    struct reg_fixture f;
    mock_peer peer;

    challenge_with(&peer, "gw1.example.com");
    reg_fixture_run(&f, &peer, reg_cfg(peer.port), SIPNAT_REGISTRATION_FAILED);
    ck_assert_uint_eq(peer.n_register, 2);
    ck_assert_uint_le(peer.n_register, 10 + 1); /* max_retries + 1 */
    ck_assert_ptr_nonnull(strstr(peer.last_request, "Authorization: Digest"));
    ck_assert_ptr_nonnull(strstr(peer.last_request, "username=\"1112223333\""));
    reg_fixture_end(&f);
    mock_peer_close(&peer);
}
END_TEST

/* A challenge for another realm: the credentials are not sent. */
START_TEST(test_register_other_realm)
{
    struct reg_fixture f;
    mock_peer peer;

    challenge_with(&peer, "evil.example.net");
    reg_fixture_run(&f, &peer, reg_cfg(peer.port), SIPNAT_REGISTRATION_FAILED);
    ck_assert_uint_eq(peer.n_register, 1);
    ck_assert_ptr_null(strstr(peer.last_request, "Authorization"));
    reg_fixture_end(&f);
    mock_peer_close(&peer);
}
END_TEST

/* 503s: RETRYING with retry_after = retry_interval, max_retries times,
 * then failed; then 403 with a forbidden_retry_interval. */
START_TEST(test_register_retries)
{
    struct reg_fixture f;
    mock_peer peer;

    mock_peer_open(&peer, 503);
    sipnat_registration_cfg *cfg = reg_cfg(peer.port);
    ck_assert_ok(sipnat_registration_cfg_set_retry_interval(cfg, 1));
    ck_assert_ok(sipnat_registration_cfg_set_max_retries(cfg, 2));
    reg_fixture_run(&f, &peer, cfg, SIPNAT_REGISTRATION_FAILED);
    ck_assert_uint_eq(peer.n_register, 3);
    int retrying = 0;
    for (int i = 0; i < f.l.n; i++)
        if (f.l.state[i] == SIPNAT_REGISTRATION_RETRYING) {
            retrying++;
            ck_assert_uint_eq(f.l.retry_after[i], 1);
            ck_assert_int_eq(f.l.status[i], 503);
        }
    ck_assert_int_eq(retrying, 2);
    reg_fixture_end(&f);
    mock_peer_close(&peer);

    /* 403, then 200: forbidden_retry_interval brings it back. */
    mock_peer_open(&peer, 200);
    peer.statuses[0] = 403;
    peer.statuses[1] = 200;
    peer.n_statuses = 2;
    cfg = reg_cfg(peer.port);
    ck_assert_ok(sipnat_registration_cfg_set_forbidden_retry_interval(cfg, 1));
    reg_fixture_run(&f, &peer, cfg, SIPNAT_REGISTRATION_REGISTERED);
    ck_assert_uint_eq(peer.n_register, 2);
    reg_fixture_end(&f);
    mock_peer_close(&peer);
}
END_TEST

static void count_log(sipnat_ctx *ctx, int prio, const char *domain,
                      const char *msg, void *ud)
{
    struct reg_fixture *f = ud;

    (void)ctx;
    (void)prio;
    (void)domain;
    if (strstr(msg, f->needle))
        f->n_logged++;
}

/* reg_fixture_run with a learned policy (local_net, if not NULL) on the
 * transport, keep-alives every `keepalive` s, and the log lines that hold
 * `needle` (at notice and above, if not NULL) counted in f->n_logged. */
static void learned_run(struct reg_fixture *f, mock_peer *peer, const char *local_net,
                        unsigned keepalive, const char *needle)
{
    sipnat_transport_cfg *tcfg;
    sipnat_registration_cfg *cfg = reg_cfg(peer->port);

    memset(f, 0, sizeof *f);
    ck_assert_ok(sipnat_ctx_new(&f->ctx));
    if (needle) {
        f->needle = needle;
        ck_assert_ok(sipnat_ctx_set_log_func(f->ctx, count_log, f));
        ck_assert_ok(sipnat_ctx_set_log_level(f->ctx, SIPNAT_LOG_NOTICE));
    }
    ck_assert_ok(sipnat_policy_new(&f->pol, SIPNAT_POLICY_LEARNED));
    if (local_net)
        ck_assert_ok(sipnat_policy_add_local_net(f->pol, local_net));
    ck_assert_ok(sipnat_transport_cfg_new(&tcfg));
    ck_assert_ok(sipnat_transport_cfg_set_bind(tcfg, "127.0.0.1", 0));
    ck_assert_ok(sipnat_transport_cfg_set_policy(tcfg, f->pol));
    ck_assert_ok(sipnat_transport_new(&f->t, f->ctx, tcfg));
    sipnat_transport_cfg_free(tcfg);
    ck_assert_ok(sipnat_registration_cfg_set_keepalive(cfg, keepalive));
    ck_assert_ok(sipnat_registration_new(&f->reg, f->t, cfg, on_reg, &f->l));
    sipnat_registration_cfg_free(cfg);
    ck_assert_ok(sipnat_registration_start(f->reg));
    run_until_state(f->ctx, peer, &f->l, SIPNAT_REGISTRATION_REGISTERED, 5000);
}

/* A registrar that answers as a server behind a NAT sees us. */
static void nat_registrar(mock_peer *peer, const char *received, int rport)
{
    mock_peer_open(peer, 200);
    peer->contact_expires = 300;
    snprintf(peer->received, sizeof peer->received, "%s", received);
    peer->rport = rport;
}

/* With a learned policy, the registrar reports the NAT's address: exactly
 * one re-REGISTER with that Contact, and then quiet. */
START_TEST(test_register_learned_once)
{
    struct reg_fixture f;
    mock_peer peer;

    nat_registrar(&peer, "198.51.100.5", 41234);
    learned_run(&f, &peer, NULL, 0, NULL);
    run_pull(f.ctx, &peer, NULL, 1000); /* time for a loop to show */
    ck_assert_uint_eq(peer.n_register, 2);
    ck_assert_ptr_nonnull(strstr(peer.last_request,
                                 "Contact: <sip:19998887777@198.51.100.5:41234;transport=udp>"));
    ck_assert_int_eq(sipnat_registration_get_state(f.reg), SIPNAT_REGISTRATION_REGISTERED);
    ck_assert_uint_eq(f.l.expires[f.l.n - 1], 300);
    reg_fixture_end(&f);
    mock_peer_close(&peer);
}
END_TEST

/* An ALG rewrites the Via: the registrar "saw" us at our LAN address.
 * Nothing is adopted, the keep-alives bring the same story and no
 * re-REGISTER, and the warning is logged once. */
START_TEST(test_register_alg_lan_address)
{
    struct reg_fixture f;
    mock_peer peer;
    char buf[SIPNAT_ADDRSTRLEN];

    nat_registrar(&peer, "192.0.2.10", 5060);
    learned_run(&f, &peer, "192.0.2.0/24", 1, "ignoring the address");
    run_pull(f.ctx, &peer, NULL, 2500); /* two keep-alives */
    ck_assert_uint_eq(peer.n_register, 1);
    ck_assert_uint_ge(peer.n_requests, 3); /* REGISTER and its keep-alives */
    ck_assert_int_eq(sipnat_policy_get_learned(f.pol, buf, sizeof buf, NULL), -ENOENT);
    ck_assert_int_eq(f.n_logged, 1);
    reg_fixture_end(&f);
    mock_peer_close(&peer);
}
END_TEST

/* A registrar whose 401 and 200 carry different rport values (one of
 * them made by an ALG or another socket): only the final 2xx of REGISTER
 * is learned from, so every refresh, challenged again, does not move the
 * Contact back and forth. */
START_TEST(test_register_challenge_rport)
{
    struct reg_fixture f;
    mock_peer peer;
    /* Every REGISTER is challenged once. */
    static const int seq[] = {401, 200, 401, 200, 401, 200, 401, 200};

    nat_registrar(&peer, "198.51.100.5", 40002);
    peer.challenge_rport = 40001;
    memcpy(peer.statuses, seq, sizeof seq);
    peer.n_statuses = 8;
    snprintf(peer.extra, sizeof peer.extra,
             "WWW-Authenticate: Digest realm=\"gw1.example.com\", nonce=\"n1\", algorithm=MD5\r\n");
    learned_run(&f, &peer, NULL, 0, "sees us at");
    run_pull(f.ctx, &peer, NULL, 1500); /* time for a loop to show */
    /* 401, 200 (learned 40002), then the re-REGISTER: 401, 200. */
    ck_assert_uint_eq(peer.n_register, 4);
    ck_assert_ptr_nonnull(strstr(peer.last_request, "@198.51.100.5:40002;transport=udp>"));
    ck_assert_ptr_null(strstr(peer.last_request, ":40001"));
    /* One change of the learned address: the 200's; no 401 moved it. */
    ck_assert_int_eq(f.n_logged, 1);
    ck_assert_int_eq(sipnat_registration_get_state(f.reg), SIPNAT_REGISTRATION_REGISTERED);
    reg_fixture_end(&f);
    mock_peer_close(&peer);
}
END_TEST

static void on_options_done(const sipnat_event *ev, void *ud)
{
    int *n = ud;

    (void)ev;
    (*n)++;
}

/* DNS load balancing behind a symmetric NAT: the name's other server (B,
 * 127.0.0.2) sees another port than the registrar (A). What B says never
 * touches A's registration: no re-REGISTER at A, its Contact stays. */
START_TEST(test_register_two_servers)
{
    struct reg_fixture f;
    mock_peer a, b;
    char uri[64], why[512];
    int answered = 0;

    nat_registrar(&a, "198.51.100.5", 40001);
    mock_peer_open_at(&b, 200, "127.0.0.2");
    snprintf(b.received, sizeof b.received, "198.51.100.5");
    b.rport = 40999;
    learned_run(&f, &a, NULL, 1, NULL);
    run_pull(f.ctx, &a, NULL, 500);
    ck_assert_uint_eq(a.n_register, 2); /* the learned re-REGISTER */
    snprintf(uri, sizeof uri, "sip:127.0.0.2:%d", b.port);
    for (int i = 0; i < 3; i++) {
        ck_assert_ok(sipnat_transport_send_options(f.t, uri, on_options_done, &answered));
        for (int k = 0; k < 50 && answered <= i; k++) {
            mock_peer_serve(&b);
            run_pull(f.ctx, &a, NULL, 20);
        }
        b.rport++; /* B's mapping moves too */
    }
    ck_assert_int_eq(answered, 3);
    run_pull(f.ctx, &a, NULL, 2200); /* A's keep-alives */
    ck_assert_uint_eq(a.n_register, 2);
    ck_assert_ptr_nonnull(strstr(a.last_request, "OPTIONS "));
    ck_assert_int_ge(sipnat_transport_explain(f.t, "127.0.0.1", why, sizeof why), 0);
    ck_assert_ptr_nonnull(strstr(why, "198.51.100.5:40001"));
    ck_assert_int_ge(sipnat_transport_explain(f.t, "127.0.0.2", why, sizeof why), 0);
    ck_assert_ptr_nonnull(strstr(why, "198.51.100.5:41001"));
    reg_fixture_end(&f);
    mock_peer_close(&a);
    mock_peer_close(&b);
}
END_TEST

/* The host says the network changed: what was learned is forgotten, the
 * registration refreshes at once (removing the binding at the old
 * address), and the new address its answer tells is registered. */
START_TEST(test_network_changed)
{
    struct reg_fixture f;
    mock_peer peer;
    char buf[SIPNAT_ADDRSTRLEN];
    int port = 0;

    ck_assert_int_eq(sipnat_ctx_network_changed(NULL), -EINVAL);
    nat_registrar(&peer, "198.51.100.5", 41234);
    learned_run(&f, &peer, NULL, 0, NULL);
    run_pull(f.ctx, &peer, NULL, 300);
    ck_assert_uint_eq(peer.n_register, 2);

    /* A new network: another public address and port. */
    snprintf(peer.received, sizeof peer.received, "198.51.100.77");
    peer.rport = 41999;
    ck_assert_ok(sipnat_ctx_network_changed(f.ctx));
    ck_assert_int_eq(sipnat_policy_get_learned(f.pol, buf, sizeof buf, NULL), -ENOENT);
    run_pull(f.ctx, &peer, NULL, 1000);
    /* The refresh (local Contact, old binding removed), then the learned
     * address registered (the refresh's binding removed). */
    ck_assert_uint_eq(peer.n_register, 4);
    ck_assert_ptr_nonnull(strstr(peer.last_request,
                                 "Contact: <sip:19998887777@198.51.100.77:41999;transport=udp>\r\n"));
    ck_assert_ptr_nonnull(strstr(peer.last_request, "Contact: <sip:19998887777@127.0.0.1:"));
    ck_assert_ptr_nonnull(strstr(peer.last_request, ";transport=udp>;expires=0\r\n"));
    ck_assert_int_eq(sipnat_policy_get_learned(f.pol, buf, sizeof buf, &port), 13);
    ck_assert_int_eq(port, 41999);
    ck_assert_int_eq(sipnat_registration_get_state(f.reg), SIPNAT_REGISTRATION_REGISTERED);
    reg_fixture_end(&f);
    mock_peer_close(&peer);
}
END_TEST


/* A registration waiting to retry (the registrar was unreachable from the
 * old network) tries at once when the network changed, without a policy
 * too; a registration not started is left alone. */
START_TEST(test_network_changed_retrying)
{
    struct reg_fixture f;
    mock_peer peer;

    mock_peer_open(&peer, 200);
    peer.statuses[0] = 503;
    peer.statuses[1] = 200;
    peer.n_statuses = 2;
    sipnat_registration_cfg *cfg = reg_cfg(peer.port);
    ck_assert_ok(sipnat_registration_cfg_set_retry_interval(cfg, 60));
    reg_fixture_run(&f, &peer, cfg, SIPNAT_REGISTRATION_RETRYING);
    ck_assert_uint_eq(peer.n_register, 1);
    ck_assert_ok(sipnat_ctx_network_changed(f.ctx));
    run_until_state(f.ctx, &peer, &f.l, SIPNAT_REGISTRATION_REGISTERED, 2000);
    ck_assert_uint_eq(peer.n_register, 2);
    reg_fixture_end(&f);
    mock_peer_close(&peer);

    memset(&f, 0, sizeof f);
    ck_assert_ok(sipnat_ctx_new(&f.ctx));
    f.t = udp_transport(f.ctx);
    mock_peer_open(&peer, 200);
    cfg = reg_cfg(peer.port);
    ck_assert_ok(sipnat_registration_new(&f.reg, f.t, cfg, NULL, NULL));
    sipnat_registration_cfg_free(cfg);
    ck_assert_ok(sipnat_ctx_network_changed(f.ctx));
    run_pull(f.ctx, &peer, NULL, 300);
    ck_assert_uint_eq(peer.n_register, 0);
    reg_fixture_end(&f);
    mock_peer_close(&peer);
}
END_TEST
/* Shutting the transport down unregisters first (Expires: 0). */
START_TEST(test_shutdown_unregisters)
{
    mock_peer peer;
    sipnat_ctx *ctx;
    sipnat_registration *reg;
    struct reg_log l = {0};
    event_log sev = {0};

    mock_peer_open(&peer, 200);
    ck_assert_ok(sipnat_ctx_new(&ctx));
    sipnat_transport *t = udp_transport(ctx);
    sipnat_registration_cfg *cfg = reg_cfg(peer.port);
    ck_assert_ok(sipnat_registration_cfg_set_line(cfg, 1));
    ck_assert_ok(sipnat_registration_new(&reg, t, cfg, on_reg, &l));
    sipnat_registration_cfg_free(cfg);
    ck_assert_ok(sipnat_registration_start(reg));
    run_until_state(ctx, &peer, &l, SIPNAT_REGISTRATION_REGISTERED, 5000);
    ck_assert_ptr_nonnull(strstr(peer.last_request, ";line="));
    ck_assert_ok(sipnat_transport_shutdown(t, record_event, &sev));
    run_pull(ctx, &peer, &sev.n, 5000);
    ck_assert_int_eq(sev.type, SIPNAT_EVENT_SHUTDOWN);
    ck_assert_uint_eq(peer.n_register, 2);
    ck_assert_ptr_nonnull(strstr(peer.last_request, "Expires: 0"));
    ck_assert_int_eq(l.last_state, SIPNAT_REGISTRATION_UNREGISTERED);
    ck_assert_int_eq(sipnat_registration_start(reg), -ESHUTDOWN);
    sipnat_registration_unref(reg);
    sipnat_transport_unref(t);
    sipnat_ctx_unref(ctx);
    mock_peer_close(&peer);
}
END_TEST

/* -- SIP Outbound (RFC 5626) ------------------------------------------------ */

#define URN_A "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6"

/* The instance as the REGISTER's Contact names it, into buf. */
static void contact_instance(const char *request, char *buf, size_t size)
{
    const char *p = strstr(request, "+sip.instance=\"<");
    const char *e = p ? strstr(p, ">\"") : NULL;

    ck_assert_ptr_nonnull(e);
    p += strlen("+sip.instance=\"<");
    snprintf(buf, size, "%.*s", (int)(e - p), p);
}

/* Register once on t (to the peer), then drop the registration; the
 * REGISTER is left in peer->last_request. */
static void register_once(sipnat_ctx *ctx, sipnat_transport *t, mock_peer *peer,
                          const sipnat_registration_cfg *cfg)
{
    sipnat_registration *reg;
    struct reg_log l = {0};

    ck_assert_ok(sipnat_registration_new(&reg, t, cfg, on_reg, &l));
    ck_assert_ok(sipnat_registration_start(reg));
    run_until_state(ctx, peer, &l, SIPNAT_REGISTRATION_REGISTERED, 5000);
    sipnat_registration_unref(reg);
}

/* Contact parameters and Supported, the host's instance or the ctx's. */
START_TEST(test_outbound_contact)
{
    mock_peer peer;
    sipnat_ctx *ctx, *ctx2;
    sipnat_registration *reg;
    struct reg_log l = {0};
    char want[256], first[64], second[64];

    mock_peer_open(&peer, 200);
    ck_assert_ok(sipnat_ctx_new(&ctx));
    sipnat_transport *t = udp_transport(ctx);
    sipnat_registration_cfg *cfg = reg_cfg(peer.port);
    ck_assert_ok(sipnat_registration_cfg_set_outbound(cfg, 1));
    ck_assert_ok(sipnat_registration_cfg_set_instance_id(cfg, URN_A));
    ck_assert_ok(sipnat_registration_cfg_set_reg_id(cfg, 3));
    ck_assert_ok(sipnat_registration_new(&reg, t, cfg, on_reg, &l));
    ck_assert_ok(sipnat_registration_start(reg));
    run_until_state(ctx, &peer, &l, SIPNAT_REGISTRATION_REGISTERED, 5000);
    snprintf(want, sizeof want,
             "Contact: <sip:19998887777@127.0.0.1:%d;transport=udp>;reg-id=3;"
             "+sip.instance=\"<" URN_A ">\"\r\n",
             sipnat_transport_get_port(t));
    ck_assert_msg(strstr(peer.last_request, want), "%s", peer.last_request);
    ck_assert_ptr_nonnull(strstr(peer.last_request, "Supported: outbound, path\r\n"));
    /* The unregister removes exactly that binding. */
    ck_assert_ok(sipnat_registration_stop(reg));
    run_until_state(ctx, &peer, &l, SIPNAT_REGISTRATION_UNREGISTERED, 5000);
    ck_assert_ptr_nonnull(strstr(peer.last_request, want));
    ck_assert_ptr_nonnull(strstr(peer.last_request, "Expires: 0"));
    sipnat_registration_unref(reg);

    /* No instance of its own: the ctx's, the same for every registration
     * of the ctx, another for another ctx. */
    ck_assert_ok(sipnat_registration_cfg_set_instance_id(cfg, NULL));
    ck_assert_ok(sipnat_registration_cfg_set_reg_id(cfg, 1));
    register_once(ctx, t, &peer, cfg);
    ck_assert_ptr_nonnull(strstr(peer.last_request, ";transport=udp>;reg-id=1;+sip.instance="));
    contact_instance(peer.last_request, first, sizeof first);
    ck_assert_int_eq(strlen(first), 45);
    ck_assert_int_eq(strncmp(first, "urn:uuid:", 9), 0);
    ck_assert_int_eq(first[9 + 14], '4'); /* version 4 */
    register_once(ctx, t, &peer, cfg);
    contact_instance(peer.last_request, second, sizeof second);
    ck_assert_str_eq(first, second);

    ck_assert_ok(sipnat_ctx_new(&ctx2));
    sipnat_transport *t2 = udp_transport(ctx2);
    register_once(ctx2, t2, &peer, cfg);
    contact_instance(peer.last_request, second, sizeof second);
    ck_assert_str_ne(first, second);
    sipnat_transport_unref(t2);
    sipnat_ctx_unref(ctx2);

    /* Without outbound, none of it. */
    ck_assert_ok(sipnat_registration_cfg_set_outbound(cfg, 0));
    register_once(ctx, t, &peer, cfg);
    ck_assert_ptr_null(strstr(peer.last_request, "reg-id"));
    ck_assert_ptr_null(strstr(peer.last_request, "outbound"));
    sipnat_registration_cfg_free(cfg);
    sipnat_transport_unref(t);
    sipnat_ctx_unref(ctx);
    mock_peer_close(&peer);
}
END_TEST

/* A TCP registrar of its own: answers REGISTER with 200 (Require:
 * outbound), CRLFCRLF pings with CRLF pongs while `pong` says so, and
 * can reset its connection. */
typedef struct tcp_registrar {
    int lfd, cfd, port;
    bool pong;
    unsigned n_conn, n_register, n_ping;
    char buf[8192];
    size_t len;
    char last_request[4096];
} tcp_registrar;

static void tcp_registrar_open(tcp_registrar *r)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;

    memset(r, 0, sizeof *r);
    r->cfd = -1;
    r->pong = true;
    r->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    ck_assert_int_ge(r->lfd, 0);
    ck_assert_int_eq(bind(r->lfd, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(listen(r->lfd, 4), 0);
    ck_assert_int_eq(getsockname(r->lfd, (struct sockaddr *)&sa, &sl), 0);
    r->port = ntohs(sa.sin_port);
}

/* Reset the connection (SO_LINGER 0: an RST, as a NAT that lost it). */
static void tcp_registrar_reset(tcp_registrar *r)
{
    struct linger lg = {1, 0};

    if (r->cfd < 0)
        return;
    setsockopt(r->cfd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    close(r->cfd);
    r->cfd = -1;
    r->len = 0;
}

static void tcp_registrar_close(tcp_registrar *r)
{
    tcp_registrar_reset(r);
    close(r->lfd);
}

static void tcp_registrar_serve(tcp_registrar *r)
{
    int fd = accept(r->lfd, NULL, NULL);
    ssize_t n;

    if (fd >= 0) {
        ck_assert_int_eq(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
        tcp_registrar_reset(r);
        r->cfd = fd;
        r->n_conn++;
    }
    if (r->cfd < 0)
        return;
    n = recv(r->cfd, r->buf + r->len, sizeof r->buf - 1 - r->len, 0);
    if (n == 0) {
        close(r->cfd);
        r->cfd = -1;
        r->len = 0;
        return;
    }
    if (n < 0)
        return;
    r->len += (size_t)n;
    r->buf[r->len] = '\0';
    for (;;) {
        char *end;
        if (r->len >= 4 && memcmp(r->buf, "\r\n\r\n", 4) == 0) {
            r->n_ping++;
            if (r->pong)
                ck_assert_int_eq(send(r->cfd, "\r\n", 2, MSG_NOSIGNAL), 2);
            memmove(r->buf, r->buf + 4, r->len - 4 + 1);
            r->len -= 4;
            continue;
        }
        if (!(end = strstr(r->buf, "\r\n\r\n")))
            return;
        /* Requests from the library carry Content-Length: 0. */
        size_t whole = (size_t)(end + 4 - r->buf);
        char resp[4096];
        snprintf(r->last_request, sizeof r->last_request, "%.*s", (int)whole, r->buf);
        if (strncmp(r->buf, "REGISTER ", 9) == 0)
            r->n_register++;
        sip_answer_200(r->last_request, "Require: outbound\r\nExpires: 300\r\n", resp,
                       sizeof resp);
        ck_assert_int_eq(send(r->cfd, resp, strlen(resp), MSG_NOSIGNAL), (ssize_t)strlen(resp));
        memmove(r->buf, r->buf + whole, r->len - whole + 1);
        r->len -= whole;
    }
}

static void run_tcp(sipnat_ctx *ctx, tcp_registrar *r, int ms)
{
    for (int waited = 0; waited < ms; waited += 10) {
        run_pull(ctx, NULL, NULL, 10);
        tcp_registrar_serve(r);
    }
}

/* Runs until the registration has had `n` REGISTERED events. */
static void run_tcp_registered(sipnat_ctx *ctx, tcp_registrar *r, struct reg_log *l,
                               int n, int ms)
{
    int seen = 0;

    for (int waited = 0; waited < ms && seen < n; waited += 10) {
        run_tcp(ctx, r, 10);
        seen = 0;
        for (int i = 0; i < l->n; i++)
            seen += l->state[i] == SIPNAT_REGISTRATION_REGISTERED;
    }
    ck_assert_int_eq(seen, n);
}

static char flow_phrase[MAX_EV][160];

static void on_reg_phrase(const sipnat_event *ev, void *ud)
{
    struct reg_log *l = ud;

    if (l->n < MAX_EV)
        snprintf(flow_phrase[l->n], sizeof flow_phrase[0], "%s", ev->phrase);
    on_reg(ev, ud);
}

/* Over TCP: CRLF pings answered, then a reset and then a silent
 * registrar, each repaired by registering over a new connection. */
START_TEST(test_outbound_tcp_flow)
{
    tcp_registrar r;
    sipnat_ctx *ctx;
    sipnat_transport *t;
    sipnat_registration *reg;
    struct reg_log l = {0};
    char uri[64];
    unsigned pings;

    tcp_registrar_open(&r);
    ck_assert_ok(sipnat_ctx_new(&ctx));
    t = tcp_loopback_transport(ctx);
    sipnat_registration_cfg *cfg = reg_cfg(r.port);
    snprintf(uri, sizeof uri, "sip:127.0.0.1:%d;transport=tcp", r.port);
    ck_assert_ok(sipnat_registration_cfg_set_server_uri(cfg, uri));
    ck_assert_ok(sipnat_registration_cfg_set_outbound(cfg, 1));
    ck_assert_ok(sipnat_registration_cfg_set_keepalive(cfg, 1));
    ck_assert_ok(sipnat_registration_new(&reg, t, cfg, on_reg_phrase, &l));
    sipnat_registration_cfg_free(cfg);
    ck_assert_ok(sipnat_registration_start(reg));
    run_tcp_registered(ctx, &r, &l, 1, 5000);
    ck_assert_ptr_nonnull(strstr(r.last_request, ";transport=tcp>;reg-id=1;+sip.instance=\"<urn:uuid:"));
    ck_assert_ptr_nonnull(strstr(r.last_request, "Supported: outbound, path"));

    /* Pings every second, answered: the flow stays. */
    run_tcp(ctx, &r, 3500);
    ck_assert_uint_ge(r.n_ping, 2);
    ck_assert_uint_eq(r.n_conn, 1);
    ck_assert_uint_eq(r.n_register, 1);
    ck_assert_int_eq(sipnat_registration_get_state(reg), SIPNAT_REGISTRATION_REGISTERED);

    /* Reset: registered again over a new connection. */
    tcp_registrar_reset(&r);
    run_tcp_registered(ctx, &r, &l, 2, 5000);
    ck_assert_uint_eq(r.n_conn, 2);
    ck_assert_uint_eq(r.n_register, 2);
    ck_assert_int_eq(l.state[l.n - 2], SIPNAT_REGISTRATION_REGISTERING);
    ck_assert_msg(strstr(flow_phrase[l.n - 2], "failed (connection ") &&
                      strstr(flow_phrase[l.n - 2], "registering over a new flow"),
                  "%s", flow_phrase[l.n - 2]);

    /* Silence: pings unanswered, the flow given up for a third. */
    r.pong = false;
    pings = r.n_ping;
    run_tcp_registered(ctx, &r, &l, 3, 5000);
    ck_assert_uint_gt(r.n_ping, pings);
    ck_assert_uint_eq(r.n_conn, 3);
    ck_assert_msg(strstr(flow_phrase[l.n - 2], "failed (no pong in 1 s)"), "%s",
                  flow_phrase[l.n - 2]);

    sipnat_registration_unref(reg);
    sipnat_transport_unref(t);
    sipnat_ctx_unref(ctx);
    tcp_registrar_close(&r);
}
END_TEST

START_TEST(test_registration_invalid)
{
    sipnat_registration_cfg *cfg;
    sipnat_registration *reg;
    sipnat_ctx *ctx;

    ck_assert_int_eq(sipnat_registration_cfg_new(NULL), -EINVAL);
    ck_assert_ok(sipnat_registration_cfg_new(&cfg));
    ck_assert_int_eq(sipnat_registration_cfg_set_server_uri(cfg, "http://x"), -EINVAL);
    ck_assert_int_eq(sipnat_registration_cfg_set_server_uri(cfg, NULL), -EINVAL);
    ck_assert_int_eq(sipnat_registration_cfg_set_server_uri(NULL, "sip:a"), -EINVAL);
    ck_assert_int_eq(sipnat_registration_cfg_set_client_uri(cfg, "garbage"), -EINVAL);
    ck_assert_int_eq(sipnat_registration_cfg_set_contact_user(cfg, "a b"), -EINVAL);
    ck_assert_int_eq(sipnat_registration_cfg_set_contact_user(cfg, "x\r\nVia: y"), -EINVAL);
    ck_assert_ok(sipnat_registration_cfg_set_contact_user(cfg, NULL));
    ck_assert_int_eq(sipnat_registration_cfg_set_outbound_proxy(cfg, "nope"), -EINVAL);
    ck_assert_ok(sipnat_registration_cfg_set_outbound_proxy(cfg, NULL));
    ck_assert_int_eq(sipnat_registration_cfg_set_credentials(cfg, NULL, "p", NULL), -EINVAL);
    ck_assert_int_eq(sipnat_registration_cfg_set_credentials(cfg, "u", NULL, NULL), -EINVAL);
    ck_assert_int_eq(sipnat_registration_cfg_set_credentials(cfg, "u", "p\"q", NULL), -EINVAL);
    ck_assert_int_eq(sipnat_registration_cfg_set_credentials(cfg, "u", "p", ""), -EINVAL);
    ck_assert_int_eq(sipnat_registration_cfg_set_credentials(cfg, "u:x", "p", NULL), -EINVAL);
    ck_assert_int_eq(sipnat_registration_cfg_set_expiration(cfg, 0), -EINVAL);
    ck_assert_int_eq(sipnat_registration_cfg_set_retry_interval(cfg, 0), -EINVAL);
    ck_assert_int_eq(sipnat_registration_cfg_set_retry_interval(NULL, 5), -EINVAL);
    ck_assert_ok(sipnat_registration_cfg_set_forbidden_retry_interval(cfg, 0));
    ck_assert_ok(sipnat_registration_cfg_set_fatal_retry_interval(cfg, 0));
    ck_assert_ok(sipnat_registration_cfg_set_max_retries(cfg, 0));
    ck_assert_ok(sipnat_registration_cfg_set_keepalive(cfg, 30));
    ck_assert_int_eq(sipnat_registration_cfg_set_max_random_initial_delay(cfg, 4000000000u), -EINVAL);
    ck_assert_int_eq(sipnat_registration_cfg_set_auth_rejection_permanent(cfg, 2), -EINVAL);
    ck_assert_ok(sipnat_registration_cfg_set_auth_rejection_permanent(cfg, 0));
    ck_assert_int_eq(sipnat_registration_cfg_set_line(cfg, -1), -EINVAL);
    ck_assert_int_eq(sipnat_registration_cfg_set_outbound(cfg, 2), -EINVAL);
    ck_assert_int_eq(sipnat_registration_cfg_set_outbound(NULL, 1), -EINVAL);
    ck_assert_int_eq(sipnat_registration_cfg_set_reg_id(cfg, 0), -EINVAL);
    ck_assert_int_eq(sipnat_registration_cfg_set_reg_id(cfg, 2147483648u), -EINVAL);
    ck_assert_ok(sipnat_registration_cfg_set_reg_id(cfg, 2147483647u));
    ck_assert_int_eq(sipnat_registration_cfg_set_instance_id(cfg, "urn:uuid:1234"), -EINVAL);
    ck_assert_int_eq(sipnat_registration_cfg_set_instance_id(
                         cfg, "urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf\""), -EINVAL);
    ck_assert_int_eq(sipnat_registration_cfg_set_instance_id(
                         cfg, "urn:uuid:f81d4fae+7dec-11d0-a765-00a0c91e6bf6"), -EINVAL);
    ck_assert_int_eq(sipnat_registration_cfg_set_instance_id(
                         cfg, "urn:xyz:f81d4fae-7dec-11d0-a765-00a0c91e6bf6"), -EINVAL);
    ck_assert_ok(sipnat_registration_cfg_set_instance_id(
        cfg, "URN:UUID:F81D4FAE-7DEC-11D0-A765-00A0C91E6BF6"));
    ck_assert_ok(sipnat_registration_cfg_set_instance_id(cfg, NULL));

    ck_assert_ok(sipnat_ctx_new(&ctx));
    sipnat_transport *t = udp_transport(ctx);
    /* No server or client URI yet. */
    reg = (sipnat_registration *)1;
    ck_assert_int_eq(sipnat_registration_new(&reg, t, cfg, NULL, NULL), -EINVAL);
    ck_assert_ptr_null(reg);
    ck_assert_int_eq(sipnat_registration_new(NULL, t, cfg, NULL, NULL), -EINVAL);
    ck_assert_int_eq(sipnat_registration_new(&reg, NULL, cfg, NULL, NULL), -EINVAL);
    ck_assert_int_eq(sipnat_registration_new(&reg, t, NULL, NULL, NULL), -EINVAL);
    ck_assert_int_eq(sipnat_registration_start(NULL), -EINVAL);
    ck_assert_int_eq(sipnat_registration_stop(NULL), -EINVAL);
    ck_assert_int_eq(sipnat_registration_get_state(NULL), -EINVAL);
    ck_assert_ptr_null(sipnat_registration_ref(NULL));
    ck_assert_ptr_null(sipnat_registration_unref(NULL));
    ck_assert_str_eq(sipnat_registration_state_name(SIPNAT_REGISTRATION_RETRYING), "retrying");
    ck_assert_str_eq(sipnat_registration_state_name((sipnat_registration_state)77), "unknown");
    ck_assert_ptr_null(sipnat_registration_cfg_free(cfg));
    ck_assert_ptr_null(sipnat_registration_cfg_free(NULL));
    sipnat_transport_unref(t);
    sipnat_ctx_unref(ctx);
}
END_TEST

Suite *registration_suite(void)
{
    Suite *s = suite_create("registration");
    TCase *tc = tcase_create("registration");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_registration_invalid);
    tcase_add_test(tc, test_register_sipp_digest);
    tcase_add_test(tc, test_register_wrong_password);
    tcase_add_test(tc, test_register_other_realm);
    tcase_add_test(tc, test_register_retries);
    tcase_add_test(tc, test_register_learned_once);
    tcase_add_test(tc, test_register_alg_lan_address);
    tcase_add_test(tc, test_register_challenge_rport);
    tcase_add_test(tc, test_register_two_servers);
    tcase_add_test(tc, test_network_changed);
    tcase_add_test(tc, test_network_changed_retrying);
    tcase_add_test(tc, test_shutdown_unregisters);
    tcase_add_test(tc, test_outbound_contact);
    tcase_add_test(tc, test_outbound_tcp_flow);
    suite_add_tcase(s, tc);
    return s;
}
