/* libsipnat tests - an endpoint's AOR: REGISTER from phones, digest auth,
 * contacts and their limits, rewrite_contact, expiry and qualify. Every
 * answer is read from what the mock phone received. */
#include "testutil.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sofia-sip/su_md5.h>

typedef struct contact_log {
    int n;
    int added, refreshed, removed, expired, reachable, unreachable;
    char last_uri[256];
    char last_address[64];
    int last_port;
    unsigned last_rtt;
    char name[32];
} contact_log;

static void on_contact(const sipnat_event *ev, void *ud)
{
    contact_log *l = ud;

    ck_assert_int_eq(ev->type, SIPNAT_EVENT_CONTACT);
    l->n++;
    switch (ev->state) {
    case SIPNAT_CONTACT_ADDED: l->added++; break;
    case SIPNAT_CONTACT_REFRESHED: l->refreshed++; break;
    case SIPNAT_CONTACT_REMOVED: l->removed++; break;
    case SIPNAT_CONTACT_EXPIRED: l->expired++; break;
    case SIPNAT_CONTACT_REACHABLE: l->reachable++; l->last_rtt = ev->rtt_usec; break;
    case SIPNAT_CONTACT_UNREACHABLE: l->unreachable++; break;
    default: ck_abort_msg("state %d", ev->state);
    }
    snprintf(l->last_uri, sizeof l->last_uri, "%s", ev->uri ? ev->uri : "");
    snprintf(l->last_address, sizeof l->last_address, "%s",
             ev->address ? ev->address : "");
    l->last_port = ev->port;
    snprintf(l->name, sizeof l->name, "%s", ev->name ? ev->name : "");
}

typedef struct aor_opts {
    const char *match;
    unsigned max_contacts;
    int remove_existing, rewrite;
    const char *user, *pass;
    unsigned qualify;
    unsigned exp_min, exp_def, exp_max;
    const char *static_contact;
} aor_opts;

static sipnat_endpoint *aor(sipnat_transport *t, const aor_opts *o,
                            contact_log *log)
{
    sipnat_endpoint_cfg *cfg;
    sipnat_endpoint *ep;

    ck_assert_ok(sipnat_endpoint_cfg_new(&cfg));
    ck_assert_ok(sipnat_endpoint_cfg_set_name(cfg, "6001"));
    if (o->match)
        ck_assert_ok(sipnat_endpoint_cfg_add_match(cfg, o->match));
    ck_assert_ok(sipnat_endpoint_cfg_set_max_contacts(cfg, o->max_contacts));
    ck_assert_ok(sipnat_endpoint_cfg_set_remove_existing(cfg, o->remove_existing));
    ck_assert_ok(sipnat_endpoint_cfg_set_rewrite_contact(cfg, o->rewrite));
    if (o->user)
        ck_assert_ok(sipnat_endpoint_cfg_set_auth(cfg, o->user, o->pass, NULL));
    ck_assert_ok(sipnat_endpoint_cfg_set_qualify_frequency(cfg, o->qualify));
    if (o->exp_min)
        ck_assert_ok(sipnat_endpoint_cfg_set_expiration(cfg, o->exp_min, o->exp_def,
                                                        o->exp_max));
    if (o->static_contact)
        ck_assert_ok(sipnat_endpoint_cfg_add_contact(cfg, o->static_contact));
    ck_assert_ok(sipnat_endpoint_cfg_set_event_func(cfg, on_contact, log));
    ck_assert_ok(sipnat_endpoint_new(&ep, t, cfg));
    sipnat_endpoint_cfg_free(cfg);
    return ep;
}

static sipnat_transport *loopback_transport(sipnat_ctx *ctx)
{
    sipnat_transport_cfg *cfg;
    sipnat_transport *t;

    ck_assert_ok(sipnat_transport_cfg_new(&cfg));
    ck_assert_ok(sipnat_transport_cfg_set_bind(cfg, "127.0.0.1", 0));
    ck_assert_ok(sipnat_transport_new(&t, ctx, cfg));
    sipnat_transport_cfg_free(cfg);
    return t;
}

/* REGISTER for AOR `to_user` from `from_user`; `contact` is the whole
 * Contact header value or NULL; `extra` more header lines. Returns the
 * final status the phone got. */
static int reg(sipnat_ctx *ctx, mock_peer *peer, int port, const char *to_user,
               const char *from_user, const char *contact, const char *extra,
               const char *call_id, unsigned cseq)
{
    static unsigned branch;
    char msg[4096], cl[600] = "";

    unsigned b = ++branch;

    if (contact)
        snprintf(cl, sizeof cl, "Contact: %s\r\n", contact);
    snprintf(msg, sizeof msg,
             "REGISTER sip:127.0.0.1:%d SIP/2.0\r\n"
             "Via: SIP/2.0/UDP 10.0.0.20:5062;branch=z9hG4bK-r%s-%u-%u;rport\r\n"
             "Max-Forwards: 70\r\n"
             "From: <sip:%s@127.0.0.1>;tag=ph%u\r\n"
             "To: <sip:%s@127.0.0.1>\r\n"
             "Call-ID: %s\r\n"
             "CSeq: %u REGISTER\r\n"
             "%s"
             "User-Agent: mock-phone/1\r\n"
             "%s"
             "Content-Length: 0\r\n\r\n",
             port, call_id, cseq, b, from_user, b, to_user, call_id, cseq, cl,
             extra ? extra : "");
    mock_peer_send_raw(peer, port, msg, call_id);
    for (int k = 0; k < 100 && peer->awaited_status == 0; k++)
        run_pull(ctx, peer, NULL, 20);
    return peer->awaited_status;
}

static sipnat_contact_info contact_at(sipnat_endpoint *ep, size_t i)
{
    sipnat_contact_info info = {.size = sizeof info};

    ck_assert_ok(sipnat_endpoint_get_contact(ep, i, &info));
    return info;
}

static size_t n_contacts(sipnat_endpoint *ep)
{
    sipnat_contact_info info = {.size = sizeof info};
    size_t n = 0;

    while (sipnat_endpoint_get_contact(ep, n, &info) == 0)
        n++;
    return n;
}

/* A phone behind a NAT registers its private Contact; the binding is where
 * the REGISTER came from; qualify reaches it there. */
START_TEST(test_register_rewrite_and_qualify)
{
    sipnat_ctx *ctx;
    mock_peer phone;
    contact_log log = {0};
    char want[256];
    int done = 0;

    mock_peer_open(&phone, 200);
    ck_assert_ok(sipnat_ctx_new(&ctx));
    sipnat_transport *t = loopback_transport(ctx);
    int port = sipnat_transport_get_port(t);
    aor_opts o = {.match = "127.0.0.1", .max_contacts = 2, .rewrite = 1, .qualify = 60};
    sipnat_endpoint *ep = aor(t, &o, &log);

    ck_assert_int_eq(reg(ctx, &phone, port, "6001", "6001", "<sip:6001@10.0.0.20:5062;ob>",
                         NULL, "rw-1", 1),
                     200);
    /* The 200 lists the binding as the phone sent it. */
    ck_assert_ptr_nonnull(strstr(phone.last_response, "<sip:6001@10.0.0.20:5062;ob>;expires=3600"));
    ck_assert_int_eq(log.added, 1);
    ck_assert_str_eq(log.name, "6001");
    ck_assert_str_eq(log.last_address, "127.0.0.1");
    ck_assert_int_eq(log.last_port, phone.port);

    sipnat_contact_info c = contact_at(ep, 0);
    snprintf(want, sizeof want, "sip:6001@127.0.0.1:%d;ob", phone.port);
    ck_assert_str_eq(c.uri, want);
    ck_assert_str_eq(c.registered_uri, "sip:6001@10.0.0.20:5062;ob");
    ck_assert_str_eq(c.address, "127.0.0.1");
    ck_assert_int_eq(c.port, phone.port);
    ck_assert_str_eq(c.user_agent, "mock-phone/1");
    ck_assert_uint_ge(c.expires, 3599);
    ck_assert_uint_le(c.expires, 3600);

    /* The new contact is qualified at once: the OPTIONS reaches the phone
     * at its source, with the rewritten URI. */
    for (int k = 0; k < 150 && log.reachable == 0; k++)
        run_pull(ctx, &phone, &done, 20);
    ck_assert_int_eq(log.reachable, 1);
    snprintf(want, sizeof want, "OPTIONS sip:6001@127.0.0.1:%d;ob SIP/2.0", phone.port);
    ck_assert_ptr_nonnull(strstr(phone.last_request, want));
    c = contact_at(ep, 0);
    ck_assert_int_eq(c.reachable, 1);
    ck_assert_uint_gt(c.rtt_usec, 0);

    /* A refresh moves nothing but the expiry. */
    ck_assert_int_eq(reg(ctx, &phone, port, "6001", "6001",
                         "<sip:6001@10.0.0.20:5062;ob>;expires=120", NULL, "rw-1", 2),
                     200);
    ck_assert_int_eq(log.refreshed, 1);
    ck_assert_uint_le(contact_at(ep, 0).expires, 120);
    /* An older CSeq of the same Call-ID is out of order (the same CSeq
     * again would be a merged request, which the stack answers 482). */
    ck_assert_int_eq(reg(ctx, &phone, port, "6001", "6001",
                         "<sip:6001@10.0.0.20:5062;ob>", NULL, "rw-1", 1),
                     500);
    /* A query lists without changing. */
    ck_assert_int_eq(reg(ctx, &phone, port, "6001", "6001", NULL, NULL, "rw-q", 1), 200);
    ck_assert_ptr_nonnull(strstr(phone.last_response, "<sip:6001@10.0.0.20:5062;ob>;expires="));
    /* Unregister. */
    ck_assert_int_eq(reg(ctx, &phone, port, "6001", "6001",
                         "<sip:6001@10.0.0.20:5062;ob>", "Expires: 0\r\n", "rw-1", 3),
                     200);
    ck_assert_int_eq(log.removed, 1);
    ck_assert_uint_eq(n_contacts(ep), 0);

    sipnat_endpoint_unref(ep);
    sipnat_transport_unref(t);
    sipnat_ctx_unref(ctx);
    mock_peer_close(&phone);
}
END_TEST

/* SIP Outbound (RFC 5626) at the registrar: a flow per instance and
 * reg-id, kept where the REGISTER came from whatever the Contact says,
 * replaced (not added) by the same instance and reg-id. */
#define OB_INST "+sip.instance=\"<urn:uuid:00000000-0000-4000-8000-00000000000a>\""
START_TEST(test_register_outbound_flow)
{
    contact_log log = {0};
    char want[256];
    int done = 0;
    mock_peer phone;
    sipnat_ctx *ctx;
    const char *ob = "Supported: outbound, path\r\n";

    mock_peer_open(&phone, 200);
    ck_assert_ok(sipnat_ctx_new(&ctx));
    sipnat_transport *t = loopback_transport(ctx);
    int port = sipnat_transport_get_port(t);
    /* No rewrite_contact: only the flow decides where requests go. */
    sipnat_endpoint *ep =
        aor(t, &(aor_opts){.match = "127.0.0.1", .max_contacts = 1, .qualify = 60}, &log);

    ck_assert_int_eq(reg(ctx, &phone, port, "6001", "6001",
                         "<sip:6001@10.0.0.20:5062>;" OB_INST ";reg-id=1", ob, "ob-1", 1),
                     200);
    ck_assert_ptr_nonnull(strstr(phone.last_response, "\r\nRequire: outbound\r\n"));
    ck_assert_ptr_nonnull(strstr(phone.last_response,
                                 "<sip:6001@10.0.0.20:5062>;expires=3600;" OB_INST ";reg-id=1"));
    sipnat_contact_info c = contact_at(ep, 0);
    snprintf(want, sizeof want, "sip:6001@127.0.0.1:%d", phone.port);
    ck_assert_str_eq(c.uri, want);
    ck_assert_str_eq(c.registered_uri, "sip:6001@10.0.0.20:5062");
    /* The qualify OPTIONS goes over the flow, not to 10.0.0.20. */
    for (int k = 0; k < 150 && log.reachable == 0; k++)
        run_pull(ctx, &phone, &done, 20);
    ck_assert_int_eq(log.reachable, 1);
    snprintf(want, sizeof want, "OPTIONS sip:6001@127.0.0.1:%d SIP/2.0", phone.port);
    ck_assert_ptr_nonnull(strstr(phone.last_request, want));

    /* The phone rebooted (new Call-ID) with a new address in its
     * Contact: the flow's binding is replaced; max_contacts 1 holds. */
    ck_assert_int_eq(reg(ctx, &phone, port, "6001", "6001",
                         "<sip:6001@10.0.0.21:5064;transport=udp>;reg-id=1;" OB_INST, ob,
                         "ob-2", 7),
                     200);
    ck_assert_uint_eq(n_contacts(ep), 1);
    ck_assert_int_eq(log.added, 1);
    ck_assert_int_eq(log.refreshed, 1);
    ck_assert_str_eq(contact_at(ep, 0).registered_uri, "sip:6001@10.0.0.21:5064;transport=udp");
    ck_assert_ptr_null(strstr(phone.last_response, "<sip:6001@10.0.0.20"));
    /* Another flow of the instance (reg-id 2), another instance, and the
     * same Contact without Supported: outbound are new bindings: full. */
    ck_assert_int_eq(reg(ctx, &phone, port, "6001", "6001",
                         "<sip:6001@10.0.0.21:5064>;" OB_INST ";reg-id=2", ob, "ob-3", 1),
                     403);
    ck_assert_int_eq(reg(ctx, &phone, port, "6001", "6001",
                         "<sip:6001@10.0.0.21:5064>;+sip.instance=\"<urn:uuid:b>\";reg-id=1",
                         ob, "ob-4", 1),
                     403);
    ck_assert_int_eq(reg(ctx, &phone, port, "6001", "6001",
                         "<sip:6001@10.0.0.22:5064>;" OB_INST ";reg-id=1", NULL, "ob-5", 1),
                     403);
    /* Not the first hop, and no Path: refused (RFC 5626 6). */
    ck_assert_int_eq(reg(ctx, &phone, port, "6001", "6001",
                         "<sip:6001@10.0.0.21:5064>;" OB_INST ";reg-id=1",
                         "Supported: outbound\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK-x\r\n",
                         "ob-6", 1),
                     439);
    ck_assert_int_eq(reg(ctx, &phone, port, "6001", "6001",
                         "<sip:6001@10.0.0.21:5064>;" OB_INST ";reg-id=0", ob, "ob-7", 1),
                     400);
    ck_assert_uint_eq(n_contacts(ep), 1);
    /* Unregistered by its instance and reg-id. */
    ck_assert_int_eq(reg(ctx, &phone, port, "6001", "6001",
                         "<sip:6001@10.0.0.21:5064;transport=udp>;" OB_INST ";reg-id=1;expires=0",
                         ob, "ob-2", 8),
                     200);
    ck_assert_uint_eq(n_contacts(ep), 0);
    ck_assert_int_eq(log.removed, 1);

    sipnat_endpoint_unref(ep);
    sipnat_transport_unref(t);
    sipnat_ctx_unref(ctx);
    mock_peer_close(&phone);
}
END_TEST

/* Over TCP: the flow is the phone's connection. The phone registers a
 * Contact nobody can reach; the qualify OPTIONS comes back on the very
 * connection the REGISTER came in on, and no other is opened. */
START_TEST(test_register_outbound_tcp_flow)
{
    sipnat_ctx *ctx;
    sipnat_transport *t;
    contact_log log = {0};
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    char msg[2048], buf[8192] = "", want[128], *options;
    size_t len = 0;
    int fd, conns;

    ck_assert_ok(sipnat_ctx_new(&ctx));
    t = tcp_loopback_transport(ctx);
    aor_opts o = {.match = "127.0.0.1", .max_contacts = 1, .qualify = 60};
    sipnat_endpoint *ep = aor(t, &o, &log);

    fd = socket(AF_INET, SOCK_STREAM, 0);
    sa.sin_port = htons((uint16_t)sipnat_transport_get_port(t));
    ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    ck_assert_int_eq(fcntl(fd, F_SETFL, O_NONBLOCK), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    snprintf(msg, sizeof msg,
             "REGISTER sip:127.0.0.1 SIP/2.0\r\n"
             "Via: SIP/2.0/TCP 10.0.0.20:5062;branch=z9hG4bK-obt1;rport\r\n"
             "Max-Forwards: 70\r\n"
             "From: <sip:6001@127.0.0.1>;tag=obt\r\n"
             "To: <sip:6001@127.0.0.1>\r\n"
             "Call-ID: obt-1\r\n"
             "CSeq: 1 REGISTER\r\n"
             "Contact: <sip:6001@10.0.0.20:5062;transport=tcp>;" OB_INST ";reg-id=1\r\n"
             "Supported: outbound\r\n"
             "Content-Length: 0\r\n\r\n");
    ck_assert_int_eq(send(fd, msg, strlen(msg), MSG_NOSIGNAL), (ssize_t)strlen(msg));
    snprintf(want, sizeof want, "OPTIONS sip:6001@127.0.0.1:%d;transport=tcp SIP/2.0",
             ntohs(sa.sin_port));
    for (int k = 0; k < 300 && !strstr(buf, want); k++) {
        ssize_t n;
        run_pull(ctx, NULL, NULL, 10);
        n = recv(fd, buf + len, sizeof buf - 1 - len, 0);
        if (n > 0)
            buf[len += (size_t)n] = '\0';
    }
    ck_assert_msg(strstr(buf, "SIP/2.0 200 OK\r\n") && strstr(buf, "\r\nRequire: outbound\r\n"),
                  "%s", buf);
    ck_assert_msg((options = strstr(buf, want)) != NULL, "%s", buf);
    ck_assert_int_eq(log.added, 1);
    /* Answered on the connection: the contact is reachable. */
    sip_answer_200(options, NULL, msg, sizeof msg);
    ck_assert_int_eq(send(fd, msg, strlen(msg), MSG_NOSIGNAL), (ssize_t)strlen(msg));
    for (int k = 0; k < 100 && log.reachable == 0; k++)
        run_pull(ctx, NULL, NULL, 10);
    ck_assert_int_eq(log.reachable, 1);
    /* One connection: the phone's (none toward 10.0.0.20). */
    conns = 0;
    for (int i = 0; i < 1024; i++) {
        struct sockaddr_in peer;
        socklen_t pl = sizeof peer;
        int type = 0;
        socklen_t tl = sizeof type;
        if (i != fd && getsockopt(i, SOL_SOCKET, SO_TYPE, &type, &tl) == 0 &&
            type == SOCK_STREAM && getpeername(i, (struct sockaddr *)&peer, &pl) == 0 &&
            peer.sin_family == AF_INET)
            conns++;
    }
    ck_assert_int_eq(conns, 1);

    close(fd);
    sipnat_endpoint_unref(ep);
    sipnat_transport_unref(t);
    sipnat_ctx_unref(ctx);
}
END_TEST

START_TEST(test_register_limits)
{
    sipnat_ctx *ctx;
    mock_peer phone;
    contact_log log = {0};

    mock_peer_open(&phone, 0);
    ck_assert_ok(sipnat_ctx_new(&ctx));
    sipnat_transport *t = loopback_transport(ctx);
    int port = sipnat_transport_get_port(t);

    /* max_contacts 0 (Asterisk's default): no registration at all. */
    aor_opts o = {.match = "127.0.0.1"};
    sipnat_endpoint *ep = aor(t, &o, &log);
    ck_assert_int_eq(reg(ctx, &phone, port, "6001", "6001", "<sip:a@10.0.0.20>", NULL, "l-0", 1),
                     403);
    sipnat_endpoint_unref(ep);

    o.max_contacts = 1;
    ep = aor(t, &o, &log);
    /* Someone else's AOR. */
    ck_assert_int_eq(reg(ctx, &phone, port, "6002", "6001", "<sip:a@10.0.0.20>", NULL, "l-1", 1),
                     404);
    ck_assert_int_eq(reg(ctx, &phone, port, "6001", "6001", "<sip:a@10.0.0.20>", NULL, "l-2", 1),
                     200);
    /* A second device, without remove_existing: refused, nothing lost. */
    ck_assert_int_eq(reg(ctx, &phone, port, "6001", "6001", "<sip:b@10.0.0.21>", NULL, "l-3", 1),
                     403);
    ck_assert_uint_eq(n_contacts(ep), 1);
    ck_assert_str_eq(contact_at(ep, 0).uri, "sip:a@10.0.0.20");
    /* Too brief: 423 and the minimum. */
    ck_assert_int_eq(reg(ctx, &phone, port, "6001", "6001", "<sip:a@10.0.0.20>;expires=30",
                         NULL, "l-4", 1),
                     423);
    ck_assert_ptr_nonnull(strstr(phone.last_response, "Min-Expires: 60"));
    /* Too long: capped at the maximum. */
    ck_assert_int_eq(reg(ctx, &phone, port, "6001", "6001", "<sip:a@10.0.0.20>",
                         "Expires: 100000\r\n", "l-5", 1),
                     200);
    ck_assert_ptr_nonnull(strstr(phone.last_response, ";expires=7200"));
    /* Malformed requests. */
    ck_assert_int_eq(reg(ctx, &phone, port, "6001", "6001", "<mailto:a@example.com>", NULL,
                         "l-6", 1),
                     400);
    ck_assert_int_eq(reg(ctx, &phone, port, "6001", "6001", "*", NULL, "l-7", 1), 400);
    ck_assert_int_eq(reg(ctx, &phone, port, "6001", "6001",
                         "<sip:c@10.0.0.22>, <sip:c@10.0.0.22>", NULL, "l-8", 1),
                     400);
    ck_assert_uint_eq(n_contacts(ep), 1);
    sipnat_endpoint_unref(ep);

    /* remove_existing: the new device replaces the old one. */
    o.remove_existing = 1;
    log = (contact_log){0};
    ep = aor(t, &o, &log);
    ck_assert_int_eq(reg(ctx, &phone, port, "6001", "6001", "<sip:a@10.0.0.20>", NULL, "e-1", 1),
                     200);
    ck_assert_int_eq(reg(ctx, &phone, port, "6001", "6001", "<sip:b@10.0.0.21>", NULL, "e-2", 1),
                     200);
    ck_assert_int_eq(log.removed, 1);
    ck_assert_int_eq(log.added, 2);
    ck_assert_uint_eq(n_contacts(ep), 1);
    ck_assert_str_eq(contact_at(ep, 0).uri, "sip:b@10.0.0.21");
    /* Contact: * with Expires: 0 removes everything. */
    ck_assert_int_eq(reg(ctx, &phone, port, "6001", "6001", "*", "Expires: 0\r\n", "e-3", 1),
                     200);
    ck_assert_uint_eq(n_contacts(ep), 0);
    ck_assert_int_eq(log.removed, 2);
    sipnat_endpoint_unref(ep);

    sipnat_transport_unref(t);
    sipnat_ctx_unref(ctx);
    mock_peer_close(&phone);
}
END_TEST

static void hex(const unsigned char *d, char out[33])
{
    for (int i = 0; i < 16; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

static void md5_hex(const char *s, char out[33])
{
    su_md5_t ctx;
    unsigned char d[16];

    su_md5_init(&ctx);
    su_md5_strupdate(&ctx, s);
    su_md5_digest(&ctx, d);
    hex(d, out);
}

/* The Authorization header answering the challenge in `resp`. */
static void answer_challenge(const char *resp, const char *user, const char *pass,
                             const char *uri, char *out, size_t len)
{
    const char *n = strstr(resp, "nonce=\"");
    const char *r = strstr(resp, "realm=\"");
    char nonce[128], realm[64], buf[512], ha1[33], ha2[33], rsp[33];

    ck_assert_ptr_nonnull(n);
    ck_assert_ptr_nonnull(r);
    ck_assert_int_eq(sscanf(n + 7, "%127[^\"]", nonce), 1);
    ck_assert_int_eq(sscanf(r + 7, "%63[^\"]", realm), 1);
    snprintf(buf, sizeof buf, "%s:%s:%s", user, realm, pass);
    md5_hex(buf, ha1);
    snprintf(buf, sizeof buf, "REGISTER:%s", uri);
    md5_hex(buf, ha2);
    snprintf(buf, sizeof buf, "%s:%s:00000001:c0ffee:auth:%s", ha1, nonce, ha2);
    md5_hex(buf, rsp);
    snprintf(out, len,
             "Authorization: Digest username=\"%s\", realm=\"%s\", nonce=\"%s\", "
             "uri=\"%s\", response=\"%s\", algorithm=MD5, qop=auth, nc=00000001, "
             "cnonce=\"c0ffee\"\r\n",
             user, realm, nonce, uri, rsp);
}

/* An endpoint with auth and no identify: found by its From user, and in
 * only with the right password. */
START_TEST(test_register_digest)
{
    sipnat_ctx *ctx;
    mock_peer phone;
    contact_log log = {0};
    char auth[1024], uri[64];

    mock_peer_open(&phone, 0);
    ck_assert_ok(sipnat_ctx_new(&ctx));
    sipnat_transport *t = loopback_transport(ctx);
    int port = sipnat_transport_get_port(t);
    aor_opts o = {.max_contacts = 2, .user = "6001", .pass = "s3cret"};
    sipnat_endpoint *ep = aor(t, &o, &log);
    snprintf(uri, sizeof uri, "sip:127.0.0.1:%d", port);

    /* Unknown user: nobody to challenge for. */
    ck_assert_int_eq(reg(ctx, &phone, port, "7000", "7000", "<sip:x@10.0.0.20>", NULL, "d-0", 1),
                     403);
    ck_assert_int_eq(reg(ctx, &phone, port, "6001", "6001", "<sip:6001@10.0.0.20>", NULL,
                         "d-1", 1),
                     401);
    ck_assert_ptr_nonnull(strstr(phone.last_response, "WWW-Authenticate: Digest realm=\"libsipnat\""));
    ck_assert_ptr_nonnull(strstr(phone.last_response, "qop=\"auth\""));
    ck_assert_uint_eq(n_contacts(ep), 0);

    /* Wrong password: challenged again, nothing stored. */
    answer_challenge(phone.last_response, "6001", "guess", uri, auth, sizeof auth);
    ck_assert_int_eq(reg(ctx, &phone, port, "6001", "6001", "<sip:6001@10.0.0.20>", auth,
                         "d-1", 2),
                     401);
    ck_assert_uint_eq(n_contacts(ep), 0);
    ck_assert_int_eq(log.added, 0);

    answer_challenge(phone.last_response, "6001", "s3cret", uri, auth, sizeof auth);
    ck_assert_int_eq(reg(ctx, &phone, port, "6001", "6001", "<sip:6001@10.0.0.20>", auth,
                         "d-1", 3),
                     200);
    ck_assert_uint_eq(n_contacts(ep), 1);
    ck_assert_int_eq(log.added, 1);

    /* A request identified only by its From user must authenticate too:
     * an unauthenticated OPTIONS claiming to be 6001 is challenged. */
    mock_peer_send_raw(&phone, port,
                       "OPTIONS sip:127.0.0.1 SIP/2.0\r\n"
                       "Via: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-o1;rport\r\n"
                       "Max-Forwards: 70\r\nFrom: <sip:6001@127.0.0.1>;tag=o\r\n"
                       "To: <sip:6001@127.0.0.1>\r\nCall-ID: d-opt\r\nCSeq: 1 OPTIONS\r\n"
                       "Content-Length: 0\r\n\r\n",
                       "d-opt");
    for (int k = 0; k < 100 && phone.awaited_status == 0; k++)
        run_pull(ctx, &phone, NULL, 20);
    ck_assert_int_eq(phone.awaited_status, 401);

    sipnat_endpoint_unref(ep);
    sipnat_transport_unref(t);
    sipnat_ctx_unref(ctx);
    mock_peer_close(&phone);
}
END_TEST

/* A binding not refreshed in time goes, with an event. */
START_TEST(test_contact_expiry)
{
    sipnat_ctx *ctx;
    mock_peer phone;
    contact_log log = {0};
    int done = 0;

    mock_peer_open(&phone, 0);
    ck_assert_ok(sipnat_ctx_new(&ctx));
    sipnat_transport *t = loopback_transport(ctx);
    int port = sipnat_transport_get_port(t);
    aor_opts o = {.match = "127.0.0.1", .max_contacts = 1, .exp_min = 1, .exp_def = 1,
                  .exp_max = 1};
    sipnat_endpoint *ep = aor(t, &o, &log);

    ck_assert_int_eq(reg(ctx, &phone, port, "6001", "6001", "<sip:a@10.0.0.20>", NULL, "x-1", 1),
                     200);
    ck_assert_uint_eq(n_contacts(ep), 1);
    for (int k = 0; k < 200 && log.expired == 0; k++)
        run_pull(ctx, &phone, &done, 20);
    ck_assert_int_eq(log.expired, 1);
    ck_assert_uint_eq(n_contacts(ep), 0);
    ck_assert_str_eq(log.last_uri, "sip:a@10.0.0.20");

    sipnat_endpoint_unref(ep);
    sipnat_transport_unref(t);
    sipnat_ctx_unref(ctx);
    mock_peer_close(&phone);
}
END_TEST

/* A permanent contact that answers, then stops answering. */
START_TEST(test_static_contact_qualify)
{
    sipnat_ctx *ctx;
    mock_peer phone;
    contact_log log = {0};
    char uri[64];
    int done = 0;

    mock_peer_open(&phone, 200);
    ck_assert_ok(sipnat_ctx_new(&ctx));
    sipnat_transport *t = loopback_transport(ctx);
    snprintf(uri, sizeof uri, "sip:6001@127.0.0.1:%d", phone.port);
    aor_opts o = {.match = "127.0.0.1", .qualify = 1, .static_contact = uri};
    sipnat_endpoint *ep = aor(t, &o, &log);

    sipnat_contact_info c = contact_at(ep, 0);
    ck_assert_str_eq(c.uri, uri);
    ck_assert_ptr_null(c.registered_uri);
    ck_assert_int_eq(c.reachable, -1);
    ck_assert_uint_eq(c.expires, 0);
    for (int k = 0; k < 150 && log.reachable == 0; k++)
        run_pull(ctx, &phone, &done, 20);
    ck_assert_int_eq(log.reachable, 1);
    ck_assert_str_eq(log.last_uri, uri);
    ck_assert_uint_gt(log.last_rtt, 0);
    /* Closed port: the kernel's ICMP error ends the next OPTIONS. */
    mock_peer_close(&phone);
    for (int k = 0; k < 2000 && log.unreachable == 0; k++)
        run_pull(ctx, NULL, &done, 20);
    ck_assert_int_eq(log.unreachable, 1);
    ck_assert_int_eq(contact_at(ep, 0).reachable, 0);
    ck_assert_int_eq(log.reachable, 1); /* reported on change only */

    sipnat_endpoint_unref(ep);
    sipnat_transport_unref(t);
    sipnat_ctx_unref(ctx);
}
END_TEST

START_TEST(test_aor_invalid)
{
    sipnat_endpoint_cfg *cfg;
    sipnat_contact_info info = {.size = sizeof info};

    ck_assert_ok(sipnat_endpoint_cfg_new(&cfg));
    ck_assert_int_eq(sipnat_endpoint_cfg_set_auth(NULL, "u", "p", NULL), -EINVAL);
    ck_assert_int_eq(sipnat_endpoint_cfg_set_auth(cfg, NULL, "p", NULL), -EINVAL);
    ck_assert_int_eq(sipnat_endpoint_cfg_set_auth(cfg, "u", NULL, NULL), -EINVAL);
    ck_assert_int_eq(sipnat_endpoint_cfg_set_auth(cfg, "", "p", NULL), -EINVAL);
    ck_assert_int_eq(sipnat_endpoint_cfg_set_auth(cfg, "u:x", "p", NULL), -EINVAL);
    ck_assert_int_eq(sipnat_endpoint_cfg_set_auth(cfg, "u", "p\"q", NULL), -EINVAL);
    ck_assert_int_eq(sipnat_endpoint_cfg_set_auth(cfg, "u", "p", "r\\"), -EINVAL);
    ck_assert_ok(sipnat_endpoint_cfg_set_auth(cfg, "u", "p", "example.com"));
    ck_assert_int_eq(sipnat_endpoint_cfg_set_rewrite_contact(NULL, 1), -EINVAL);
    ck_assert_int_eq(sipnat_endpoint_cfg_set_max_contacts(NULL, 1), -EINVAL);
    ck_assert_int_eq(sipnat_endpoint_cfg_set_max_contacts(cfg, 65), -EINVAL);
    ck_assert_int_eq(sipnat_endpoint_cfg_set_remove_existing(NULL, 1), -EINVAL);
    ck_assert_int_eq(sipnat_endpoint_cfg_add_contact(NULL, "sip:a@b"), -EINVAL);
    ck_assert_int_eq(sipnat_endpoint_cfg_add_contact(cfg, NULL), -EINVAL);
    ck_assert_int_eq(sipnat_endpoint_cfg_add_contact(cfg, "http://x"), -EINVAL);
    ck_assert_int_eq(sipnat_endpoint_cfg_add_contact(cfg, "sip:"), -EINVAL);
    for (int i = 0; i < 16; i++)
        ck_assert_ok(sipnat_endpoint_cfg_add_contact(cfg, "sip:6001@192.0.2.20"));
    ck_assert_int_eq(sipnat_endpoint_cfg_add_contact(cfg, "sip:6001@192.0.2.20"), -ENOSPC);
    ck_assert_int_eq(sipnat_endpoint_cfg_set_qualify_frequency(NULL, 1), -EINVAL);
    ck_assert_int_eq(sipnat_endpoint_cfg_set_qualify_frequency(cfg, 86401), -EINVAL);
    ck_assert_int_eq(sipnat_endpoint_cfg_set_expiration(NULL, 1, 2, 3), -EINVAL);
    ck_assert_int_eq(sipnat_endpoint_cfg_set_expiration(cfg, 0, 2, 3), -EINVAL);
    ck_assert_int_eq(sipnat_endpoint_cfg_set_expiration(cfg, 3, 2, 3), -EINVAL);
    ck_assert_int_eq(sipnat_endpoint_cfg_set_expiration(cfg, 1, 4, 3), -EINVAL);
    ck_assert_int_eq(sipnat_endpoint_cfg_set_event_func(NULL, NULL, NULL), -EINVAL);
    ck_assert_int_eq(sipnat_endpoint_get_contact(NULL, 0, &info), -EINVAL);
    ck_assert_int_eq(sipnat_endpoint_qualify(NULL), -EINVAL);
    sipnat_endpoint_cfg_free(cfg);
}
END_TEST

Suite *registrar_suite(void)
{
    Suite *s = suite_create("registrar");
    TCase *tc = tcase_create("registrar");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_register_rewrite_and_qualify);
    tcase_add_test(tc, test_register_limits);
    tcase_add_test(tc, test_register_outbound_flow);
    tcase_add_test(tc, test_register_outbound_tcp_flow);
    tcase_add_test(tc, test_register_digest);
    tcase_add_test(tc, test_contact_expiry);
    tcase_add_test(tc, test_static_contact_qualify);
    tcase_add_test(tc, test_aor_invalid);
    suite_add_tcase(s, tc);
    return s;
}
