/*
 * libsipnat - transports: one NUA instance bound to one address.
 *
 * A transport owns a NUA instance on the ctx's root. Its lifetime has
 * three states: OPEN; CLOSING after nua_shutdown(); CLOSED once NUA said
 * the shutdown is complete. nua_destroy() is only ever called on a CLOSED
 * NUA and outside NUA's callbacks (sn_transports_reap, run by every
 * process call): sofia aborts the process otherwise.
 */
#include "sip/session.h"
#include "nat/policy.h"
#include "sip/route.h"
#include "core/addr.h"
#include "stun/stun.h"
#include "stun/turn.h"

#include <signal.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SN_MAX_FDS 64
/* How long the last unref of a ctx waits for NUA to shut down. */
#define SN_FINISH_MS 5000

struct sipnat_transport_cfg {
    sipnat_protocol protocol;
    char address[SIPNAT_ADDRSTRLEN];
    int port;
    sipnat_policy *policy;
    bool force_rport;
    unsigned keepalive; /* seconds, 0: none */
    char *tls_dir;
    bool tls_verify;
    int rtp_min, rtp_max;
    unsigned max_connections, idle_timeout; /* TCP and TLS */
    char stun_addr[SIPNAT_ADDRSTRLEN]; /* "": no STUN server */
    int stun_port;
    char turn_addr[SIPNAT_ADDRSTRLEN]; /* "": no TURN server */
    int turn_port;
    char turn_user[256];
    char turn_pwd[256];
};

struct sn_pending {
    sn_hmagic h;
    sn_pending *next;
    sipnat_transport *transport;
    nua_handle_t *nh;
    sipnat_event_func func;
    void *user_data;
    bool cancelled;
    char dest[SIPNAT_ADDRSTRLEN]; /* the next hop it was sent to */
    sn_hops hops;                 /* RFC 3263 targets of uri */
    char uri[];
};

/* -- configuration builder ------------------------------------------- */

SIPNAT_API int sipnat_transport_cfg_new(sipnat_transport_cfg **ret)
{
    sipnat_transport_cfg *cfg;

    SN_RETURN_IF(!ret, -EINVAL);
    cfg = calloc(1, sizeof *cfg);
    if (!cfg) {
        *ret = NULL;
        return -ENOMEM;
    }
    cfg->protocol = SIPNAT_PROTOCOL_UDP;
    strcpy(cfg->address, "0.0.0.0");
    cfg->port = 5060;
    cfg->rtp_min = 10000;
    cfg->rtp_max = 20000;
    cfg->force_rport = true;
    cfg->max_connections = SN_CONN_MAX_DEFAULT;
    cfg->idle_timeout = SN_CONN_IDLE_DEFAULT;
    *ret = cfg;
    return 0;
}

SIPNAT_API sipnat_transport_cfg *
sipnat_transport_cfg_free(sipnat_transport_cfg *cfg)
{
    if (cfg) {
        sipnat_policy_unref(cfg->policy);
        free(cfg->tls_dir);
        explicit_bzero(cfg->turn_pwd, sizeof cfg->turn_pwd);
    }
    free(cfg);
    return NULL;
}

SIPNAT_API int sipnat_transport_cfg_set_tls(sipnat_transport_cfg *cfg,
                                            const char *cert_dir,
                                            int verify_peer)
{
    char *copy;

    SN_RETURN_IF(!cfg || !cert_dir || !cert_dir[0], -EINVAL);
    SN_RETURN_IF(verify_peer != 0 && verify_peer != 1, -EINVAL);
    SN_RETURN_IF(strlen(cert_dir) > 4000, -EINVAL);
    copy = strdup(cert_dir);
    if (!copy)
        return -ENOMEM;
    free(cfg->tls_dir);
    cfg->tls_dir = copy;
    cfg->tls_verify = verify_peer;
    return 0;
}

SIPNAT_API int sipnat_transport_cfg_set_policy(sipnat_transport_cfg *cfg,
                                               sipnat_policy *policy)
{
    SN_RETURN_IF(!cfg, -EINVAL);
    sipnat_policy_ref(policy);
    sipnat_policy_unref(cfg->policy);
    cfg->policy = policy;
    return 0;
}

SIPNAT_API int sipnat_transport_cfg_set_force_rport(sipnat_transport_cfg *cfg,
                                                    int enable)
{
    SN_RETURN_IF(!cfg || (enable != 0 && enable != 1), -EINVAL);
    cfg->force_rport = enable;
    return 0;
}

SIPNAT_API int sipnat_transport_cfg_set_keepalive(sipnat_transport_cfg *cfg,
                                                  unsigned seconds)
{
    SN_RETURN_IF(!cfg || seconds > 86400, -EINVAL);
    cfg->keepalive = seconds;
    return 0;
}

SIPNAT_API int sipnat_transport_cfg_set_tcp_limits(sipnat_transport_cfg *cfg,
                                                   unsigned max_connections,
                                                   unsigned idle_timeout)
{
    SN_RETURN_IF(!cfg || max_connections < 1 || max_connections > 65536 ||
                     idle_timeout > 86400,
                 -EINVAL);
    cfg->max_connections = max_connections;
    cfg->idle_timeout = idle_timeout;
    return 0;
}

SIPNAT_API int sipnat_transport_cfg_set_rtp_ports(sipnat_transport_cfg *cfg,
                                                  int min, int max)
{
    /* RTP on even ports, RTCP on the next: at least one pair. */
    SN_RETURN_IF(!cfg || min < 1024 || max > 65535 || max - min < 1, -EINVAL);
    cfg->rtp_min = min;
    cfg->rtp_max = max;
    return 0;
}

SIPNAT_API int sipnat_transport_cfg_set_stun_server(sipnat_transport_cfg *cfg,
                                                    const char *address,
                                                    int port)
{
    sn_addr a;

    SN_RETURN_IF(!cfg || port < 0 || port > 65535, -EINVAL);
    if (!address) {
        cfg->stun_addr[0] = '\0';
        cfg->stun_port = 0;
        return 0;
    }
    SN_RETURN_IF(sn_addr_parse(address, &a) < 0, -EINVAL);
    sn_addr_format(&a, cfg->stun_addr, sizeof cfg->stun_addr);
    cfg->stun_port = port ? port : SN_STUN_PORT;
    return 0;
}

SIPNAT_API int sipnat_transport_cfg_set_turn_server(sipnat_transport_cfg *cfg,
                                                    const char *address, int port,
                                                    const char *username,
                                                    const char *password)
{
    sn_addr a;

    SN_RETURN_IF(!cfg || port < 0 || port > 65535, -EINVAL);
    if (!address) {
        cfg->turn_addr[0] = '\0';
        cfg->turn_port = 0;
        cfg->turn_user[0] = '\0';
        explicit_bzero(cfg->turn_pwd, sizeof cfg->turn_pwd);
        return 0;
    }
    SN_RETURN_IF(sn_addr_parse(address, &a) < 0, -EINVAL);
    SN_RETURN_IF(!username || !username[0] || !password, -EINVAL);
    SN_RETURN_IF(strlen(username) >= sizeof cfg->turn_user ||
                     strlen(password) >= sizeof cfg->turn_pwd,
                 -ENAMETOOLONG);
    sn_addr_format(&a, cfg->turn_addr, sizeof cfg->turn_addr);
    cfg->turn_port = port ? port : SN_STUN_PORT;
    snprintf(cfg->turn_user, sizeof cfg->turn_user, "%s", username);
    snprintf(cfg->turn_pwd, sizeof cfg->turn_pwd, "%s", password);
    return 0;
}

SIPNAT_API int sipnat_transport_cfg_set_protocol(sipnat_transport_cfg *cfg,
                                                 sipnat_protocol protocol)
{
    SN_RETURN_IF(!cfg, -EINVAL);
    SN_RETURN_IF(protocol != SIPNAT_PROTOCOL_UDP &&
                     protocol != SIPNAT_PROTOCOL_TCP &&
                     protocol != SIPNAT_PROTOCOL_TLS,
                 -EINVAL);
    cfg->protocol = protocol;
    return 0;
}

static sipnat_transport **transports(sipnat_ctx *ctx)
{
    return sn_stack_transports(sn_stack_of(ctx));
}

static int address_family(const char *address)
{
    sn_addr a;

    return sn_addr_parse(address, &a) < 0 || address[0] == '[' ? -1 : a.family;
}

SIPNAT_API int sipnat_transport_cfg_set_bind(sipnat_transport_cfg *cfg,
                                             const char *address, int port)
{
    SN_RETURN_IF(!cfg || !address, -EINVAL);
    SN_RETURN_IF(port < 0 || port > 65535, -EINVAL);
    SN_RETURN_IF(strlen(address) >= sizeof cfg->address, -EINVAL);
    SN_RETURN_IF(address_family(address) < 0, -EINVAL);
    strcpy(cfg->address, address);
    cfg->port = port;
    return 0;
}

/* -- events ----------------------------------------------------------- */

static void emit_to(sipnat_ctx *ctx, sipnat_event_func func, void *user_data,
                    sipnat_event_type type, int status, const char *phrase,
                    int error, const char *method, const char *uri,
                    const sn_dns_target *target)
{
    sipnat_event ev = {
        .size = sizeof ev,
        .type = type,
        .status = status,
        .phrase = phrase ? phrase : "",
        .error = error,
        .method = method,
        .uri = uri,
        .target_host = target ? target->host : NULL,
        .target_address = target ? target->addr : NULL,
        .target_port = target ? target->port : 0,
    };

    if (!func)
        return;
    if (ctx)
        sn_cb_enter(ctx);
    func(&ev, user_data);
    if (ctx)
        sn_cb_leave(ctx);
    if (ctx)
        ctx->n_dispatched++;
}

static void emit(sipnat_ctx *ctx, sipnat_event_func func, void *user_data,
                 sipnat_event_type type, int status, const char *phrase,
                 int error, const char *method, const char *uri)
{
    emit_to(ctx, func, user_data, type, status, phrase, error, method, uri, NULL);
}

static void pending_free(sn_pending *p)
{
    sn_hops_clear(&p->hops);
    free(p);
}

static void pending_unlink(sipnat_transport *t, sn_pending *p)
{
    for (sn_pending **pp = &t->pending; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            return;
        }
}

/* Deliver the -ECANCELED events of requests ended by a shutdown. */
static void pending_flush_cancelled(sipnat_transport *t)
{
    sn_pending *p, *next;

    for (p = t->pending; p; p = next) {
        next = p->next;
        if (!p->cancelled)
            continue;
        pending_unlink(t, p);
        emit(t->ctx, p->func, p->user_data, SIPNAT_EVENT_RESPONSE, 0,
             "Request cancelled by shutdown", -ECANCELED, "OPTIONS", p->uri);
        pending_free(p);
    }
}

static void pending_cancel_all(sipnat_transport *t)
{
    for (sn_pending *p = t->pending; p; p = p->next) {
        if (p->nh) {
            nua_handle_destroy(p->nh);
            p->nh = NULL;
        }
        sn_dns_cancel(&p->hops.req);
        p->cancelled = true;
    }
}

/* -- NUA's callback --------------------------------------------------- */

/* Requests we answer ourselves: once the transport has endpoints, only
 * an identified source gets `status`; any other gets 403 and a log line.
 * Our Contact is what the policy advertises to that source. */
static void answer_request(sipnat_transport *t, nua_t *nua, nua_handle_t *nh,
                           sip_t const *sip, const char *method, int status,
                           const char *phrase)
{
    msg_t *req = nua_current_request(nua); /* borrowed, not referenced */
    su_addrinfo_t *ai = req ? msg_addrinfo(req) : NULL;
    char from[SIPNAT_ADDRSTRLEN] = "";
    sn_addr src;
    int port = 0;
    sn_route route;
    sipnat_endpoint *ep = NULL;
    bool by_user = false;

    if (!ai || sn_addr_from_sockaddr(ai->ai_addr, &src, &port) < 0)
        memset(&src, 0, sizeof src);
    if (src.family)
        sn_addr_format(&src, from, sizeof from);

    /* NUTAG_WITH_THIS: the response is for the request in hand (NUA
     * answers 500 "Non-Existing Request" to OPTIONS otherwise). */
    if (t->endpoints)
        ep = sn_endpoint_for_request(t, src.family ? &src : NULL, sip, &by_user);
    if (t->endpoints && !ep) {
        sn_log(t->ctx, SIPNAT_LOG_NOTICE, "endpoint",
               "%s from %s:%d matches no endpoint: rejected (403)", method,
               from[0] ? from : "?", port);
        nua_respond(nh, SIP_403_FORBIDDEN, NUTAG_WITH_THIS(nua), TAG_END());
    } else if (ep && (by_user || strcmp(method, "INVITE") == 0) &&
               !sn_endpoint_authenticate(ep, nua, nh, sip)) {
        ; /* challenged or refused */
    } else if (from[0] && sn_route_for_addr(t, from, port, NULL, &route) == 0) {
        nua_respond(nh, status, phrase, NUTAG_WITH_THIS(nua),
                    SIPTAG_CONTACT_STR(route.contact), TAG_END());
    } else {
        nua_respond(nh, status, phrase, NUTAG_WITH_THIS(nua), TAG_END());
    }
    nua_handle_destroy(nh);
}

/* An INVITE for an endpoint with an incoming-call function becomes a
 * session (after the endpoint's digest check). */
static bool invite_to_session(sipnat_transport *t, nua_t *nua, nua_handle_t *nh,
                              sip_t const *sip)
{
    msg_t *req = nua_current_request(nua);
    su_addrinfo_t *ai = req ? msg_addrinfo(req) : NULL;
    sn_addr src;
    bool by_user;
    sipnat_endpoint *ep;

    if (!t->endpoints || !ai || sn_addr_from_sockaddr(ai->ai_addr, &src, NULL) < 0)
        return false;
    ep = sn_endpoint_for_request(t, &src, sip, &by_user);
    if (!ep || !ep->cfg.incoming_func)
        return false;
    if (!sn_endpoint_authenticate(ep, nua, nh, sip)) {
        nua_handle_destroy(nh);
        return true;
    }
    return sn_session_incoming(t, nua, nh, sip, ep);
}

/* A learned policy takes the public address the server saw us at from the
 * top Via of its response. A change reaches every established call on a
 * transport with that policy (registrations compare their Contact after
 * each response and keep-alive). A refused report is logged once: an ALG
 * says the same thing in every response. */
void sn_transport_learn(sipnat_transport *t, const char *server,
                        sip_t const *sip)
{
    char received[SIPNAT_ADDRSTRLEN], seen[sizeof t->learn_refused];
    sip_via_t const *v = sip->sip_via;
    int r, rport = 0;

    if (!t->policy || sipnat_policy_get_type(t->policy) != SIPNAT_POLICY_LEARNED ||
        !v || !server[0])
        return;
    /* No received=: the server saw us where we said we were. */
    snprintf(received, sizeof received, "%s",
             v->v_received ? v->v_received : v->v_host);
    if (v->v_rport && v->v_rport[0])
        rport = atoi(v->v_rport);
    r = sipnat_policy_learn(t->policy, server, received, rport);
    if (r == 1) {
        sn_log(t->ctx, SIPNAT_LOG_NOTICE, "transport",
               "%s sees us at %s:%d: advertising that to it from now on", server,
               received, rport ? rport : t->port);
        t->learn_refused[0] = '\0';
        for (sipnat_transport *o = *transports(t->ctx); o; o = o->next)
            if (o->policy == t->policy && o->state == SN_T_OPEN)
                sn_sessions_address_changed(o);
        return;
    }
    snprintf(seen, sizeof seen, "%s %s:%d", server, received, rport);
    if (r < 0 && strcmp(seen, t->learn_refused) != 0) {
        memcpy(t->learn_refused, seen, sizeof seen);
        sn_log(t->ctx, SIPNAT_LOG_WARNING, "transport",
               "ignoring the address %s reported (%s:%d): %s", server, received,
               rport, r == -EPERM ? "an address behind the NAT from a server "
                                    "outside it (an ALG rewrote the Via?)"
                    : r == -EAGAIN ? "it changed too often"
                                   : sipnat_strerror(r));
    }
}

/* Per ctx, not per transport: a host hears that its interfaces or
 * addresses changed, not which transport they concern, and every
 * transport's learned addresses and STUN mappings are equally in doubt.
 * sofia binds a wildcard transport once per interface address and media
 * anchors bind the address toward their peer: the sockets left on an
 * address the host lost move to its new one first, under the same fds
 * (lib/core/rebind.c), so sofia's transports and each call's anchor
 * (its ports, its SRTP contexts) stay what they were. */
SIPNAT_API int sipnat_ctx_network_changed(sipnat_ctx *ctx)
{
    unsigned n = 0, moved;

    SN_RETURN_IF(!ctx, -EINVAL);
    SN_RETURN_IF(ctx->dying, -ESHUTDOWN);
    SN_RETURN_IF(ctx->in_callback, -EBUSY);
    /* A transport bound to one address stays there, gone or not. */
    size_t n_keep = 0, n_t = 0;
    for (sipnat_transport *t = *transports(ctx); t; t = t->next)
        n_t++;
    struct sockaddr_storage *keep = calloc(n_t ? n_t : 1, sizeof *keep);
    if (!keep)
        return -ENOMEM;
    for (sipnat_transport *t = *transports(ctx); t; t = t->next)
        if (strcmp(t->address, "0.0.0.0") != 0 && strcmp(t->address, "::") != 0)
            keep[n_keep++] = t->bound;
    moved = sn_ctx_rebind_vanished(ctx, keep, n_keep);
    free(keep);
    for (sipnat_transport *t = *transports(ctx); t; t = t->next) {
        if (t->state != SN_T_OPEN)
            continue;
        sn_policy_forget(t->policy);
        t->learn_refused[0] = '\0';
        n++;
    }
    sn_log(ctx, SIPNAT_LOG_NOTICE, "transport",
           "the network changed: %u socket(s) moved off a lost address, "
           "%u transport(s) forget what they learned, registrations "
           "refresh, calls follow the new address", moved, n);
    for (sipnat_transport *t = *transports(ctx); t; t = t->next) {
        if (t->state != SN_T_OPEN)
            continue;
        sn_sessions_network_changed(t);
        sn_registrations_network_changed(t);
    }
    sn_stack_refresh(sn_stack_of(ctx));
    return 0;
}

/* The answer to one of our OPTIONS requests (sipnat_transport_options). */
static int options_send(sipnat_transport *t, sn_pending *p);

static void options_answered(sipnat_transport *t, sn_pending *p, nua_handle_t *nh,
                             int status, char const *phrase, sip_t const *sip)
{
    if (!p || status < 200)
        return;
    if (sip)
        sn_transport_learn(t, p->dest, sip);
    p->nh = NULL;
    nua_handle_destroy(nh);
    if (sn_failover_status(status) && sn_hops_next(&p->hops) &&
        options_send(t, p) == 0)
        return; /* RFC 3263 4.3: the next target */
    pending_unlink(t, p);
    sn_log(t->ctx, SIPNAT_LOG_DEBUG, "transport", "OPTIONS %s: %d %s",
           p->uri, status, phrase);
    emit_to(t->ctx, p->func, p->user_data, SIPNAT_EVENT_RESPONSE, status,
            phrase, 0, "OPTIONS", p->uri, sn_hops_target(&p->hops));
    pending_free(p);
}

static void shutdown_answered(sipnat_transport *t, int status, char const *phrase)
{
    if (status < 200)
        return;
    t->state = SN_T_CLOSED;
    sn_log(t->ctx, SIPNAT_LOG_DEBUG, "transport", "shutdown: %d %s",
           status, phrase);
    if (!t->shutdown_reported) {
        t->shutdown_reported = true;
        emit(t->ctx, t->shutdown_func, t->shutdown_user_data,
             SIPNAT_EVENT_SHUTDOWN, status, phrase, 0, NULL, NULL);
    }
}

/* A request outside any registration or session of ours. */
static void incoming_request(sipnat_transport *t, nua_event_t event, nua_t *nua,
                             nua_handle_t *nh, bool owned, sip_t const *sip)
{
    switch (event) {
    case nua_i_options:
        answer_request(t, nua, nh, sip, "OPTIONS", 200, "OK");
        return;

    case nua_i_invite:
        /* An endpoint that takes calls gets a session; others hear 480. */
        if (invite_to_session(t, nua, nh, sip))
            return;
        answer_request(t, nua, nh, sip, "INVITE", 480, "Temporarily Unavailable");
        return;

    case nua_i_bye:
    case nua_i_refer:
    case nua_i_publish:
    case nua_i_info:
    case nua_i_update:
    case nua_i_message:
    case nua_i_chat:
    case nua_i_subscribe:
    case nua_i_notify:
    case nua_i_register:
        sn_registrar_request(t, nua, nh, sip);
        nua_handle_destroy(nh);
        return;

    case nua_i_method:
        /* NUA answered these itself; the handle it made is nobody's. */
        if (nh && !owned)
            nua_handle_destroy(nh);
        return;

    default:
        return;
    }
}

static void nua_callback(nua_event_t event, int status, char const *phrase,
                         nua_t *nua, nua_magic_t *magic, nua_handle_t *nh,
                         nua_hmagic_t *hmagic, sip_t const *sip,
                         tagi_t tags[])
{
    sipnat_transport *t = (sipnat_transport *)magic;
    sn_hmagic *hm = (sn_hmagic *)hmagic;
    sn_pending *p = hm && hm->kind == SN_H_REQUEST ? (sn_pending *)hm : NULL;

    if (hm && hm->kind == SN_H_REGISTRATION)
        sn_registration_nua_event((struct sipnat_registration *)hm, event,
                                  status, phrase, nh, sip);
    else if (hm && hm->kind == SN_H_SESSION)
        sn_session_nua_event((struct sipnat_session *)hm, event, status,
                             phrase, nh, sip, tags);
    else if (event == nua_r_options)
        options_answered(t, p, nh, status, phrase, sip);
    else if (event == nua_r_shutdown)
        shutdown_answered(t, status, phrase);
    else
        incoming_request(t, event, nua, nh, hmagic != NULL, sip);
}

/* -- lifecycle -------------------------------------------------------- */

/* A throw-away bind gives the precise errno that sofia would swallow. */
static int probe_bind(const sipnat_transport_cfg *cfg)
{
    struct sockaddr_storage ss;
    socklen_t len;
    sn_addr a;
    int s, r = 0, one = 1;

    if (sn_addr_parse(cfg->address, &a) < 0)
        return -EINVAL;
    len = sn_addr_to_sockaddr(&a, cfg->port, &ss);
    s = socket(a.family, (cfg->protocol == SIPNAT_PROTOCOL_UDP ? SOCK_DGRAM
                                                               : SOCK_STREAM) |
                             SOCK_CLOEXEC,
               0);
    if (s < 0)
        return -errno;
    if (cfg->protocol != SIPNAT_PROTOCOL_UDP)
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(s, (struct sockaddr *)&ss, len) < 0)
        r = -errno;
    close(s);
    return r;
}

static bool fd_in(int fd, const int *fds, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (fds[i] == fd)
            return true;
    return false;
}

/* Find the socket NUA just bound: the stack's fds after nua_create()
 * minus those before, of our socket type. */
static int find_bound(sipnat_transport *t, const int *before, size_t n_before)
{
    int after[SN_MAX_FDS];
    size_t n_after = sn_stack_fds(sn_stack_of(t->ctx), after, SN_MAX_FDS);
    int want = t->protocol == SIPNAT_PROTOCOL_UDP ? SOCK_DGRAM : SOCK_STREAM;

    for (size_t i = 0; i < n_after; i++) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof ss;
        sn_addr bound;
        int type;
        socklen_t tlen = sizeof type;

        if (fd_in(after[i], before, n_before))
            continue;
        if (getsockopt(after[i], SOL_SOCKET, SO_TYPE, &type, &tlen) < 0 ||
            type != want)
            continue;
        if (getsockname(after[i], (struct sockaddr *)&ss, &len) < 0 ||
            sn_addr_from_sockaddr((struct sockaddr *)&ss, &bound, &t->port) < 0)
            continue;
        sn_addr_format(&bound, t->address, sizeof t->address);
        t->bound = ss;
        return 0;
    }
    return -EIO;
}

static void unregister_timeout(sn_timer *timer, void *arg);

static void transport_free(sipnat_transport *t)
{
    if (t->ctx && t->protocol == SIPNAT_PROTOCOL_TLS)
        t->ctx->n_sigpipe--;
    if (t->ctx)
        sn_ctx_timer_stop(t->ctx, &t->unregister_timer);
    sn_connlimit_fini(t);
    sipnat_policy_unref(t->policy);
    sn_stun_unref(t->stun);
    sn_turn_unref(t->turn);
    free(t);
}

/* sofia's URL for the transport to bind. */
static void bind_url(const sipnat_transport_cfg *cfg, int family, char *url, size_t size)
{
    /* sofia binds TLS for a sips: URL (";transport=tls" it refuses). */
    if (cfg->protocol == SIPNAT_PROTOCOL_TLS)
        snprintf(url, size, family == AF_INET6 ? "sips:[%s]:%d" : "sips:%s:%d",
                 cfg->address, cfg->port);
    else
        snprintf(url, size,
                 family == AF_INET6 ? "sip:[%s]:%d;transport=%s"
                                    : "sip:%s:%d;transport=%s",
                 cfg->address, cfg->port,
                 cfg->protocol == SIPNAT_PROTOCOL_TCP ? "tcp" : "udp");
}

static sipnat_transport *transport_alloc(sipnat_ctx *ctx, const sipnat_transport_cfg *cfg)
{
    sipnat_transport *t = calloc(1, sizeof *t);

    if (!t)
        return NULL;
    t->n_ref = 1;
    t->ctx = ctx;
    t->protocol = cfg->protocol;
    t->state = SN_T_OPEN;
    t->policy = sipnat_policy_ref(cfg->policy);
    t->force_rport = cfg->force_rport;
    t->rtp_min = cfg->rtp_min;
    t->rtp_max = cfg->rtp_max;
    if (t->protocol == SIPNAT_PROTOCOL_TLS)
        ctx->n_sigpipe++;
    sn_timer_init(&t->unregister_timer, unregister_timeout, t);
    sn_connlimit_init(t, cfg->max_connections, cfg->idle_timeout);
    return t;
}

/* The NUA instance that binds the transport's socket. */
static nua_t *create_nua(sipnat_transport *t, const sipnat_transport_cfg *cfg,
                         const char *url)
{
    struct sigaction pipe_was;
    nua_t *nua;

    /* sofia's TLS set-up ignores SIGPIPE process-wide: the host decides. */
    sigaction(SIGPIPE, NULL, &pipe_was);
    nua = nua_create(sn_stack_root(sn_stack_of(t->ctx)), nua_callback, t,
                     NUTAG_URL(url),
                     NUTAG_USER_AGENT("libsipnat/" SIPNAT_VERSION),
                     /* sofia's mini STUN server answers STUN on the SIP
                      * port and fprintf()s every packet to stderr. */
                     TPTAG_STUN_SERVER(0),
                     /* Our Via, as given, on every request (route.c). */
                     NTATAG_USER_VIA(1),
                     /* force_rport: answer to the source port always. */
                     NTATAG_SERVER_RPORT(cfg->force_rport ? 2 : 1),
                     /* The policy decides what we advertise; NUA's own
                      * natify would re-register behind its back. */
                     NUTAG_OUTBOUND("no-natify no-validate "
                                    "no-options-keepalive"),
                     /* OPTIONS too: NUA would answer anyone. REGISTER
                      * goes to the endpoints' AORs (registrar.c). */
                     NUTAG_APPL_METHOD("OPTIONS, REGISTER, UPDATE"),
                     /* Every request of a call carries our Via: NUA's own
                      * ACK, PRACK and session refresh would carry its
                      * bound address (session.c sends ACK and PRACK).
                      * Without "timer" the peer refreshes (RFC 4028). */
                     NUTAG_AUTOACK(0), NUTAG_SESSION_TIMER(0),
                     SIPTAG_SUPPORTED_STR("100rel"),
                     /* CRLF ping on idle TCP connections (tport answers
                      * a peer's with a pong by itself). sofia's TLS
                      * connections have no keep-alive timer. */
                     TAG_IF(cfg->keepalive && cfg->protocol == SIPNAT_PROTOCOL_TCP,
                            TPTAG_KEEPALIVE(cfg->keepalive * 1000u)),
                     /* The SDP is ours (session_media.c). */
                     NUTAG_MEDIA_ENABLE(0),
                     NUTAG_ALLOW("REGISTER"),
                     /* Bounds on what a peer makes us hold: a message of
                      * at most SN_SIP_MAX_MESSAGE bytes (sofia's default
                      * is 2 MB, per connection), and a half-received one
                      * dropped SN_SIP_MESSAGE_TIMEOUT ms after its last
                      * byte (sofia's default: never). */
                     NTATAG_MAXSIZE(SN_SIP_MAX_MESSAGE),
                     TPTAG_TIMEOUT(SN_SIP_MESSAGE_TIMEOUT),
                     /* TLS: our certificates; TLS_VERSION 0 negotiates
                      * the highest version (1 would pin TLS 1.0). */
                     TAG_IF(cfg->tls_dir, TPTAG_CERTIFICATE(cfg->tls_dir)),
                     TAG_IF(cfg->tls_dir, TPTAG_TLS_VERSION(0)),
                     /* Verify the servers we connect to; do not demand
                      * certificates of clients (phones rarely have one). */
                     TAG_IF(cfg->tls_dir,
                            TPTAG_TLS_VERIFY_POLICY(cfg->tls_verify
                                                        ? TPTLS_VERIFY_OUTGOING
                                                        : TPTLS_VERIFY_NONE)),
                     TAG_END());
    sigaction(SIGPIPE, &pipe_was, NULL);
    return nua;
}

/* Bind: create the NUA and find the socket it bound. 0, -EIO (the
 * stack refused the URL: t is still to be freed) or the error of
 * find_bound (t is NUA's now: it is to be unreferenced). */
static int transport_bind(sipnat_transport *t, const sipnat_transport_cfg *cfg,
                          const char *url)
{
    int before[SN_MAX_FDS];
    size_t n_before;
    int r;

    n_before = sn_stack_fds(sn_stack_of(t->ctx), before, SN_MAX_FDS);
    t->nua = create_nua(t, cfg, url);
    if (!t->nua) {
        sn_log(t->ctx, SIPNAT_LOG_ERR, "transport", "SIP stack refused %s", url);
        return -EIO;
    }
    sn_stack_refresh(sn_stack_of(t->ctx));
    r = find_bound(t, before, n_before);
    /* Given a wildcard, sofia binds one socket per interface address (on
     * one port); the transport is the wildcard, and each request names
     * the address the kernel routes it from (route.c). */
    if (r == 0 && (strcmp(cfg->address, "0.0.0.0") == 0 ||
                   strcmp(cfg->address, "::") == 0))
        strcpy(t->address, cfg->address);
    return r;
}

SIPNAT_API int sipnat_transport_new(sipnat_transport **ret, sipnat_ctx *ctx,
                                    const sipnat_transport_cfg *cfg)
{
    sipnat_transport_cfg defaults;
    sipnat_transport *t;
    char url[128];
    int family, r;

    SN_RETURN_IF(!ret, -EINVAL);
    *ret = NULL;
    SN_RETURN_IF(!ctx, -EINVAL);
    SN_RETURN_IF(ctx->dying, -ESHUTDOWN);
    SN_RETURN_IF(ctx->in_callback, -EBUSY);
    if (!cfg) {
        sipnat_transport_cfg *d;
        r = sipnat_transport_cfg_new(&d);
        if (r < 0)
            return r;
        defaults = *d;
        sipnat_transport_cfg_free(d);
        cfg = &defaults;
    }
    family = address_family(cfg->address);
    SN_RETURN_IF(family < 0, -EINVAL);
    SN_RETURN_IF(cfg->protocol == SIPNAT_PROTOCOL_TLS && !cfg->tls_dir, -EINVAL);
    r = probe_bind(cfg);
    if (r < 0) {
        sn_log(ctx, SIPNAT_LOG_ERR, "transport", "cannot bind %s port %d: %s",
               cfg->address, cfg->port, sipnat_strerror(r));
        return r;
    }

    sn_stun *stun = NULL;
    if (cfg->stun_addr[0] &&
        (r = sn_stun_new(&stun, ctx, cfg->stun_addr, cfg->stun_port)) < 0) {
        sn_log(ctx, SIPNAT_LOG_ERR, "transport", "STUN server %s: %s",
               cfg->stun_addr, r == -ELIBBAD
                   ? "libnice's STUN code is shadowed in this process (link "
                     "libnice before sofia-sip: both define stun_message_length)"
                   : sipnat_strerror(r));
        return r;
    }
    sn_turn *turn = NULL;
    if (cfg->turn_addr[0] &&
        (r = sn_turn_new(&turn, ctx, cfg->turn_addr, cfg->turn_port, cfg->turn_user,
                         cfg->turn_pwd)) < 0) {
        sn_log(ctx, SIPNAT_LOG_ERR, "transport", "TURN server %s: %s", cfg->turn_addr,
               sipnat_strerror(r));
        sn_stun_unref(stun);
        return r;
    }
    t = transport_alloc(ctx, cfg);
    if (!t) {
        sn_stun_unref(stun);
        sn_turn_unref(turn);
        return -ENOMEM;
    }
    t->stun = stun;
    t->turn = turn;
    bind_url(cfg, family, url, sizeof url);
    sipnat_ctx *prev = sn_log_enter(ctx);
    r = transport_bind(t, cfg, url);
    sn_log_leave(prev);
    if (!t->nua) {
        transport_free(t);
        return r;
    }
    if (r < 0) {
        /* Bound, but not where we can see it: unusable. Let the ctx
         * finish it like any transport whose last ref went away. */
        sn_log(ctx, SIPNAT_LOG_ERR, "transport", "no socket found for %s", url);
        t->next = *transports(ctx);
        *transports(ctx) = t;
        sipnat_transport_unref(t);
        return r;
    }
    sn_loop_commit(ctx);
    sn_log(ctx, SIPNAT_LOG_INFO, "transport", "listening on %s (port %d)", url,
           t->port);

    t->next = *transports(ctx);
    *transports(ctx) = t;
    *ret = t;
    return 0;
}

SIPNAT_API sipnat_transport *sipnat_transport_ref(sipnat_transport *t)
{
    if (t)
        t->n_ref++;
    return t;
}

static void stop_nua(sipnat_transport *t)
{
    sn_ctx_timer_stop(t->ctx, &t->unregister_timer);
    sn_registrations_abort_all(t);
    pending_cancel_all(t);
    sipnat_ctx *prev = sn_log_enter(t->ctx);
    nua_shutdown(t->nua);
    sn_log_leave(prev);
}

/* Unregistering took too long: shut down regardless. */
static void unregister_timeout(sn_timer *timer, void *arg)
{
    sipnat_transport *t = arg;

    (void)timer;
    sn_log(t->ctx, SIPNAT_LOG_WARNING, "transport",
           "registrations did not unregister in time; shutting down");
    stop_nua(t);
}

void sn_transport_registration_done(sipnat_transport *t)
{
    if (t->state == SN_T_CLOSING && sn_timer_armed(&t->unregister_timer) &&
        !sn_registrations_unregister_all(t))
        stop_nua(t);
}

/* Registrations unregister first (a clean REGISTER with Expires: 0),
 * within a bound; then NUA shuts down. */
static void start_shutdown(sipnat_transport *t)
{
    t->state = SN_T_CLOSING;
    if (t->ctx && !t->ctx->dying && sn_registrations_unregister_all(t) &&
        sn_ctx_timer_arm(t->ctx, &t->unregister_timer, 5000000u) == 0)
        return;
    stop_nua(t);
}

SIPNAT_API sipnat_transport *sipnat_transport_unref(sipnat_transport *t)
{
    if (!t || --t->n_ref > 0)
        return NULL;
    if (!t->ctx) {
        /* The ctx already finished it. */
        transport_free(t);
        return NULL;
    }
    /* Last reference: no one will hear of the shutdown; the ctx frees the
     * transport once NUA is done (sn_transports_reap). */
    t->shutdown_func = NULL;
    if (t->state == SN_T_OPEN)
        start_shutdown(t);
    return NULL;
}

SIPNAT_API int sipnat_transport_shutdown(sipnat_transport *t,
                                         sipnat_event_func func,
                                         void *user_data)
{
    SN_RETURN_IF(!t, -EINVAL);
    SN_RETURN_IF(!t->ctx, -ESHUTDOWN);
    SN_RETURN_IF(t->state != SN_T_OPEN, -EALREADY);
    t->shutdown_func = func;
    t->shutdown_user_data = user_data;
    start_shutdown(t);
    return 0;
}

static void transport_unlink(sipnat_ctx *ctx, sipnat_transport *t)
{
    for (sipnat_transport **pp = transports(ctx); *pp; pp = &(*pp)->next)
        if (*pp == t) {
            *pp = t->next;
            return;
        }
}

/* Runs after each dispatch, outside NUA's callbacks. */
void sn_transports_reap(sipnat_ctx *ctx)
{
    sipnat_transport *t, *next;
    bool changed = false;

    for (t = *transports(ctx); t; t = next) {
        next = t->next;
        pending_flush_cancelled(t);
        if (t->state != SN_T_CLOSED || !t->nua)
            continue;
        nua_destroy(t->nua);
        t->nua = NULL;
        changed = true;
        if (t->n_ref == 0) {
            transport_unlink(ctx, t);
            transport_free(t);
        }
    }
    if (changed)
        sn_stack_refresh(sn_stack_of(ctx));
}

void sn_transports_finish_all(sipnat_ctx *ctx)
{
    uint64_t until = sn_now_usec() + SN_FINISH_MS * 1000u;
    bool busy;
    sipnat_transport *t, *next;

    for (t = *transports(ctx); t; t = t->next) {
        if (t->state == SN_T_OPEN)
            start_shutdown(t); /* ctx->dying: no unregistering now */
        else if (t->state == SN_T_CLOSING && sn_timer_armed(&t->unregister_timer))
            stop_nua(t);
    }
    do {
        busy = false;
        for (t = *transports(ctx); t; t = t->next)
            if (t->state == SN_T_CLOSING)
                busy = true;
        if (busy)
            sn_stack_wait(sn_stack_of(ctx), 100);
    } while (busy && sn_now_usec() < until);

    for (t = *transports(ctx); t; t = next) {
        next = t->next;
        pending_flush_cancelled(t);
        if (t->nua && t->state == SN_T_CLOSED) {
            nua_destroy(t->nua);
        } else if (t->nua) {
            /* nua_destroy() before the shutdown completes aborts the
             * process: leaking the instance is the lesser harm. */
            sn_log(ctx, SIPNAT_LOG_ERR, "transport",
                   "SIP stack did not shut down within %d ms", SN_FINISH_MS);
        }
        t->nua = NULL;
        t->state = SN_T_CLOSED;
        sn_connlimit_fini(t); /* its timer is in the ctx's heap */
        t->ctx = NULL;
        if (t->n_ref == 0)
            transport_free(t);
    }
    *transports(ctx) = NULL;
    sn_stack_refresh(sn_stack_of(ctx));
}

/* -- getters and requests ---------------------------------------------- */

SIPNAT_API int sipnat_transport_get_port(const sipnat_transport *t)
{
    SN_RETURN_IF(!t, -EINVAL);
    SN_RETURN_IF(!t->ctx, -ESHUTDOWN);
    return t->port;
}

SIPNAT_API int sipnat_transport_get_address(const sipnat_transport *t,
                                            char *buf, size_t size)
{
    size_t len;

    SN_RETURN_IF(!t || !buf, -EINVAL);
    SN_RETURN_IF(!t->ctx, -ESHUTDOWN);
    len = strlen(t->address);
    SN_RETURN_IF(size <= len, -ENOSPC);
    memcpy(buf, t->address, len + 1);
    return (int)len;
}

SIPNAT_API int sipnat_transport_get_protocol(const sipnat_transport *t)
{
    SN_RETURN_IF(!t, -EINVAL);
    SN_RETURN_IF(!t->ctx, -ESHUTDOWN);
    return (int)t->protocol;
}

SIPNAT_API int sipnat_transport_explain(sipnat_transport *t,
                                        const char *destination, char *buf,
                                        size_t size)
{
    sn_route route;
    size_t len;
    int r;

    SN_RETURN_IF(!t || !destination || !buf || size == 0, -EINVAL);
    SN_RETURN_IF(!t->ctx, -ESHUTDOWN);
    r = sn_route_for_addr(t, destination, 5060, NULL, &route);
    if (r < 0)
        return r;
    len = strlen(route.explanation);
    SN_RETURN_IF(len >= size, -ENOSPC);
    memcpy(buf, route.explanation, len + 1);
    return (int)len;
}

/* The OPTIONS of `p` to its current target: 0, or why not. */
static int options_send(sipnat_transport *t, sn_pending *p)
{
    sn_route route;
    char from[sizeof route + 16];
    int r;

    r = sn_hops_route(&p->hops, t, NULL, &route);
    if (r < 0)
        return r;
    sn_log(t->ctx, SIPNAT_LOG_DEBUG, "transport", "OPTIONS %s via %s: %s",
           p->uri, route.proxy, route.explanation);
    memcpy(p->dest, route.dest, sizeof p->dest);
    /* The From names the advertised address too: the bound address of a
     * host behind NAT must not leak in any header. */
    snprintf(from, sizeof from, "<sip:sipnat@%s", route.contact + 5);
    sipnat_ctx *prev = sn_log_enter(t->ctx);
    p->nh = nua_handle(t->nua, (nua_hmagic_t *)p, SIPTAG_TO_STR(p->uri),
                       SIPTAG_FROM_STR(from), TAG_END());
    if (p->nh)
        nua_options(p->nh, NUTAG_URL(p->uri), NUTAG_PROXY(route.proxy),
                    SIPTAG_VIA_STR(route.via), SIPTAG_CONTACT_STR(route.contact),
                    TAG_END());
    sn_log_leave(prev);
    return p->nh ? 0 : -ENOMEM;
}

/* The next hop is known (or not): send, or report why nothing was. */
static void options_resolved(void *arg, int error)
{
    sn_pending *p = arg;
    sipnat_transport *t = p->transport;

    if (!error)
        error = options_send(t, p);
    if (!error)
        return;
    sn_log(t->ctx, SIPNAT_LOG_WARNING, "transport", "OPTIONS %s: %s", p->uri,
           sipnat_strerror(error));
    pending_unlink(t, p);
    emit(t->ctx, p->func, p->user_data, SIPNAT_EVENT_RESPONSE, 0,
         error == -ETIMEDOUT ? "name resolution timed out"
                             : "name resolution failed",
         error, "OPTIONS", p->uri);
    pending_free(p);
}

SIPNAT_API int sipnat_transport_send_options(sipnat_transport *t,
                                             const char *uri,
                                             sipnat_event_func func,
                                             void *user_data)
{
    sn_pending *p;
    size_t len;
    int r;

    SN_RETURN_IF(!t || !uri, -EINVAL);
    SN_RETURN_IF(!t->ctx || t->state != SN_T_OPEN, -ESHUTDOWN);
    len = strlen(uri);
    SN_RETURN_IF(len == 0 || len > 2048 || !sn_sip_uri_ok(uri), -EINVAL);

    p = calloc(1, sizeof *p + len + 1);
    if (!p)
        return -ENOMEM;
    p->h.kind = SN_H_REQUEST;
    memcpy(p->uri, uri, len + 1);
    p->transport = t;
    p->func = func;
    p->user_data = user_data;
    /* Sent when the next hop is known: from a later process call. */
    r = sn_hops_resolve(&p->hops, t, uri, options_resolved, p);
    if (r < 0) {
        pending_free(p);
        return r;
    }
    p->next = t->pending;
    t->pending = p;
    return 0;
}
