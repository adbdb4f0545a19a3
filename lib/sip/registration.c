/*
 * libsipnat - outbound registration.
 *
 * Every decision comes from the state machine in regfsm.c; this file
 * sends, arms timers and reports. REGISTER goes out as a plain request
 * (nua_method), not through NUA's registration usage: that usage
 * refreshes on its own schedule with the Via and Contact of its first
 * request, while ours must carry whatever the policy says now. One NUA
 * handle per registration keeps the Call-ID, as RFC 3261 asks.
 *
 * Events are queued and delivered from the ctx's process functions, never
 * from inside the host's own calls (start, stop).
 */
#include "sip/sofia.h"
#include "sip/regfsm.h"
#include "sip/route.h"
#include "sip/flow.h"
#include "stun/stun.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>

#define SN_REG_EVENTS 8

struct sipnat_registration_cfg {
    char *server_uri;
    char *client_uri;
    char *contact_user;
    char *outbound_proxy;
    char *username;
    char *password;
    char *realm;
    sn_reg_cfg fsm;
    bool line;
    unsigned keepalive;
    bool outbound;          /* RFC 5626 */
    char *instance;         /* NULL: the ctx's */
    unsigned reg_id;
};

struct queued_event {
    sipnat_registration_state state;
    int status;
    int error;
    unsigned expires;
    unsigned retry_after;
    char phrase[128];
    bool has_target;
    sn_dns_target target;
};

struct sipnat_registration {
    sn_hmagic h; /* first: NUA's handle magic */
    unsigned n_ref;
    sipnat_transport *t;
    struct sipnat_registration *next; /* in t->registrations */
    bool linked;
    sipnat_registration_cfg cfg;
    sn_reg fsm;
    sipnat_registration_state reported;

    nua_handle_t *nh;
    bool send_on_timer;    /* the timer is an initial delay, not the FSM's */
    int deferred_status;   /* a send that failed locally, reported later */
    sn_timer timer;        /* initial delay, refresh, retry */
    sn_timer ka_timer;     /* keep-alive */
    sn_timer flush_timer;  /* delivers queued events */
    char line[24];
    char call_id[64];      /* one for the registration's life (RFC 3261 10.2) */
    char sent_contact[SIPNAT_ADDRSTRLEN + 200];
    char registered_contact[SIPNAT_ADDRSTRLEN + 200];
    char dest[SIPNAT_ADDRSTRLEN];
    sn_hops hops;          /* the registrar's targets (RFC 3263) */
    sn_timer attempt_timer; /* gives up on a silent target */
    int deferred_error;    /* why the deferred failure (negative errno) */
    char deferred_why[128];
    int last_error;        /* for the event being reported */

    /* SIP Outbound (RFC 5626): the flow the registration went over. */
    char instance[48];
    sn_flow flow;
    sn_timer flow_timer;   /* ping, pong deadline, or waiting for the close */
    unsigned flow_interval; /* seconds between pings */
    unsigned flow_timer_hdr; /* the registrar's Flow-Timer, 0: none */
    bool flow_outbound;    /* the registrar said Require: outbound */
    enum { SN_FLOW_IDLE, SN_FLOW_PING, SN_FLOW_PONG, SN_FLOW_CLOSING } flow_phase;
    unsigned flow_waits;
    uint64_t flow_failed_at; /* usec the last failure was seen, 0: none */
    char flow_why[160];
    char local[SIPNAT_ADDRSTRLEN]; /* our address toward dest */
    int flow_udp_fd;        /* UDP: the SIP socket the flow leaves by, -1 */
    sn_stun *flow_stun;     /* UDP: the registrar as a STUN server */
    sn_stun_binding flow_binding; /* UDP: the keep-alive in flight */
    uint64_t flow_ping_at;  /* UDP: when it went */

    struct queued_event queue[SN_REG_EVENTS];
    unsigned n_queued;

    sipnat_event_func func;
    void *user_data;
};

static const char *const state_names[] = {
    "idle", "registering", "registered", "retrying", "failed",
    "unregistering", "unregistered",
};

SIPNAT_API const char *
sipnat_registration_state_name(sipnat_registration_state state)
{
    return (unsigned)state < sizeof state_names / sizeof state_names[0]
               ? state_names[state]
               : "unknown";
}

/* -- configuration ------------------------------------------------------ */

static void cfg_clear(sipnat_registration_cfg *c)
{
    free(c->server_uri);
    free(c->client_uri);
    free(c->contact_user);
    free(c->outbound_proxy);
    free(c->username);
    if (c->password)
        explicit_bzero(c->password, strlen(c->password));
    free(c->password);
    free(c->realm);
    free(c->instance);
}

SIPNAT_API int sipnat_registration_cfg_new(sipnat_registration_cfg **ret)
{
    sipnat_registration_cfg *c;

    SN_RETURN_IF(!ret, -EINVAL);
    *ret = NULL;
    c = calloc(1, sizeof *c);
    if (!c)
        return -ENOMEM;
    sn_reg_cfg_defaults(&c->fsm);
    c->reg_id = 1;
    *ret = c;
    return 0;
}

SIPNAT_API sipnat_registration_cfg *
sipnat_registration_cfg_free(sipnat_registration_cfg *cfg)
{
    if (cfg) {
        cfg_clear(cfg);
        free(cfg);
    }
    return NULL;
}

/* A SIP URI of sane length (it lands in every REGISTER). */
static bool sip_uri_ok(const char *uri)
{
    return uri && strlen(uri) < 1024 && sn_sip_uri_ok(uri);
}

/* A user part or credential: printable, no characters that would end a
 * header or a quoted string. */
static bool token_ok(const char *s, size_t max)
{
    size_t n = 0;

    for (; s[n]; n++)
        if ((unsigned char)s[n] < 0x21 || s[n] == '"' || s[n] == '\\' ||
            s[n] == '<' || s[n] == '>' || s[n] == '@' || s[n] == ':' ||
            (unsigned char)s[n] > 0x7e)
            return false;
    return n > 0 && n <= max;
}

int sn_replace_str(char **slot, const char *value)
{
    char *copy = NULL;

    if (value && !(copy = strdup(value)))
        return -ENOMEM;
    free(*slot);
    *slot = copy;
    return 0;
}

SIPNAT_API int sipnat_registration_cfg_set_server_uri(
    sipnat_registration_cfg *cfg, const char *uri)
{
    SN_RETURN_IF(!cfg || !sip_uri_ok(uri), -EINVAL);
    return sn_replace_str(&cfg->server_uri, uri);
}

SIPNAT_API int sipnat_registration_cfg_set_client_uri(
    sipnat_registration_cfg *cfg, const char *uri)
{
    SN_RETURN_IF(!cfg || !sip_uri_ok(uri), -EINVAL);
    return sn_replace_str(&cfg->client_uri, uri);
}

SIPNAT_API int sipnat_registration_cfg_set_contact_user(
    sipnat_registration_cfg *cfg, const char *user)
{
    SN_RETURN_IF(!cfg || (user && !token_ok(user, 128)), -EINVAL);
    return sn_replace_str(&cfg->contact_user, user);
}

SIPNAT_API int sipnat_registration_cfg_set_outbound_proxy(
    sipnat_registration_cfg *cfg, const char *uri)
{
    SN_RETURN_IF(!cfg || (uri && !sip_uri_ok(uri)), -EINVAL);
    return sn_replace_str(&cfg->outbound_proxy, uri);
}

SIPNAT_API int sipnat_registration_cfg_set_credentials(
    sipnat_registration_cfg *cfg, const char *username, const char *password,
    const char *realm)
{
    int r;

    SN_RETURN_IF(!cfg || !username || !password, -EINVAL);
    SN_RETURN_IF(!token_ok(username, 128) || strlen(password) > 256, -EINVAL);
    SN_RETURN_IF(strchr(password, '"') || strchr(password, '\\') ||
                     strchr(password, '\r') || strchr(password, '\n'),
                 -EINVAL);
    SN_RETURN_IF(realm && (strlen(realm) > 256 || strchr(realm, '"') ||
                           strchr(realm, '\\') || !realm[0]),
                 -EINVAL);
    if ((r = sn_replace_str(&cfg->username, username)) < 0 ||
        (r = sn_replace_str(&cfg->password, password)) < 0 ||
        (r = sn_replace_str(&cfg->realm, realm)) < 0)
        return r;
    return 0;
}

#define SN_SECONDS_MAX (10u * 365 * 24 * 3600)

static int set_uint(sipnat_registration_cfg *cfg, unsigned *field,
                    unsigned value, unsigned lo)
{
    SN_RETURN_IF(!cfg || value < lo || value > SN_SECONDS_MAX, -EINVAL);
    *field = value;
    return 0;
}

#define SETTER(name, field, lo)                                          \
    SIPNAT_API int sipnat_registration_cfg_set_##name(                    \
        sipnat_registration_cfg *cfg, unsigned value)                     \
    {                                                                     \
        return set_uint(cfg, cfg ? &cfg->field : NULL, value, (lo));      \
    }

SETTER(expiration, fsm.expiration, 1)
SETTER(retry_interval, fsm.retry_interval, 1)
SETTER(forbidden_retry_interval, fsm.forbidden_retry_interval, 0)
SETTER(fatal_retry_interval, fsm.fatal_retry_interval, 0)
SETTER(max_retries, fsm.max_retries, 0)
SETTER(max_random_initial_delay, fsm.max_random_initial_delay, 0)
SETTER(keepalive, keepalive, 0)

SIPNAT_API int sipnat_registration_cfg_set_auth_rejection_permanent(
    sipnat_registration_cfg *cfg, int enable)
{
    SN_RETURN_IF(!cfg || (enable != 0 && enable != 1), -EINVAL);
    cfg->fsm.auth_rejection_permanent = enable;
    return 0;
}

SIPNAT_API int sipnat_registration_cfg_set_line(sipnat_registration_cfg *cfg,
                                                int enable)
{
    SN_RETURN_IF(!cfg || (enable != 0 && enable != 1), -EINVAL);
    cfg->line = enable;
    return 0;
}

SIPNAT_API int sipnat_registration_cfg_set_outbound(sipnat_registration_cfg *cfg,
                                                    int enable)
{
    SN_RETURN_IF(!cfg || (enable != 0 && enable != 1), -EINVAL);
    cfg->outbound = enable;
    return 0;
}

SIPNAT_API int sipnat_registration_cfg_set_instance_id(sipnat_registration_cfg *cfg,
                                                       const char *urn)
{
    SN_RETURN_IF(!cfg || (urn && !sn_flow_instance_ok(urn)), -EINVAL);
    return sn_replace_str(&cfg->instance, urn);
}

SIPNAT_API int sipnat_registration_cfg_set_reg_id(sipnat_registration_cfg *cfg,
                                                  unsigned reg_id)
{
    /* RFC 5626 section 4.2: 1 to 2^31 - 1 */
    SN_RETURN_IF(!cfg || reg_id < 1 || reg_id > 2147483647u, -EINVAL);
    cfg->reg_id = reg_id;
    return 0;
}

static int cfg_copy(sipnat_registration_cfg *dst,
                    const sipnat_registration_cfg *src)
{
    memset(dst, 0, sizeof *dst);
    dst->fsm = src->fsm;
    dst->line = src->line;
    dst->keepalive = src->keepalive;
    dst->outbound = src->outbound;
    dst->reg_id = src->reg_id;
    if (sn_replace_str(&dst->server_uri, src->server_uri) < 0 ||
        sn_replace_str(&dst->client_uri, src->client_uri) < 0 ||
        sn_replace_str(&dst->contact_user, src->contact_user) < 0 ||
        sn_replace_str(&dst->outbound_proxy, src->outbound_proxy) < 0 ||
        sn_replace_str(&dst->username, src->username) < 0 ||
        sn_replace_str(&dst->password, src->password) < 0 ||
        sn_replace_str(&dst->realm, src->realm) < 0 ||
        sn_replace_str(&dst->instance, src->instance) < 0) {
        cfg_clear(dst);
        return -ENOMEM;
    }
    return 0;
}

/* -- events ------------------------------------------------------------- */

static void flush_events(sn_timer *timer, void *arg)
{
    sipnat_registration *reg = arg;
    sipnat_ctx *ctx = reg->t->ctx;

    (void)timer;
    /* The host's callback may drop its last reference. */
    sipnat_registration_ref(reg);
    for (unsigned i = 0; i < reg->n_queued && reg->func; i++) {
        struct queued_event *q = &reg->queue[i];
        sipnat_event ev = {
            .size = sizeof ev,
            .type = SIPNAT_EVENT_REGISTRATION,
            .status = q->status,
            .phrase = q->phrase,
            .method = "REGISTER",
            .uri = reg->cfg.server_uri,
            .state = (int)q->state,
            .expires = q->expires,
            .retry_after = q->retry_after,
            .error = q->error,
            .target_host = q->has_target ? q->target.host : NULL,
            .target_address = q->has_target ? q->target.addr : NULL,
            .target_port = q->has_target ? q->target.port : 0,
        };
        sn_cb_enter(ctx);
        reg->func(&ev, reg->user_data);
        sn_cb_leave(ctx);
    }
    reg->n_queued = 0;
    sipnat_registration_unref(reg);
}

static void report(sipnat_registration *reg, int status, const char *why,
                   unsigned retry_after)
{
    sipnat_registration_state st = (sipnat_registration_state)reg->fsm.state;
    struct queued_event *q;

    char detail[48] = "";

    if (status)
        snprintf(detail, sizeof detail, ", status %d", status);
    if (retry_after)
        snprintf(detail + strlen(detail), sizeof detail - strlen(detail),
                 ", again in %u s", retry_after);
    sn_log(reg->t->ctx,
           st == SIPNAT_REGISTRATION_FAILED ? SIPNAT_LOG_WARNING : SIPNAT_LOG_INFO,
           "registration", "%s: %s (%s%s)", reg->cfg.client_uri,
           sipnat_registration_state_name(st), why, detail);
    if (!reg->func || !reg->t->ctx)
        return;
    if (reg->n_queued == SN_REG_EVENTS) {
        /* The host has not run the loop for a while: keep the newest. */
        memmove(reg->queue, reg->queue + 1, sizeof reg->queue[0] * (SN_REG_EVENTS - 1));
        reg->n_queued--;
    }
    q = &reg->queue[reg->n_queued++];
    q->state = st;
    q->status = status;
    q->expires = st == SIPNAT_REGISTRATION_REGISTERED ? reg->fsm.granted : 0;
    q->retry_after = retry_after;
    q->error = reg->last_error;
    q->has_target = sn_hops_target(&reg->hops) != NULL;
    if (q->has_target)
        q->target = *sn_hops_target(&reg->hops);
    snprintf(q->phrase, sizeof q->phrase, "%s", why);
    reg->reported = st;
    if (reg->t->ctx->in_process && !reg->t->ctx->in_callback) {
        /* Inside the loop already: in order with every other event. */
        sn_ctx_timer_stop(reg->t->ctx, &reg->flush_timer);
        flush_events(&reg->flush_timer, reg);
    } else if (!sn_timer_armed(&reg->flush_timer)) {
        /* From the host's own call: delivered by the next process. */
        sn_ctx_timer_arm(reg->t->ctx, &reg->flush_timer, 0);
    }
}

/* -- sending -------------------------------------------------------------- */

static void apply(sipnat_registration *reg, sn_reg_step step, int status);

/* A failure before anything was sent is reported like "no response",
 * from the next process call. */
static void defer_failure(sipnat_registration *reg, int err)
{
    sn_log(reg->t->ctx, SIPNAT_LOG_WARNING, "registration",
           "%s: cannot send REGISTER: %s", reg->cfg.client_uri,
           sipnat_strerror(err));
    reg->deferred_error = err;
    if (!reg->deferred_why[0])
        snprintf(reg->deferred_why, sizeof reg->deferred_why,
                 "cannot send REGISTER: %s", sipnat_strerror(err));
    reg->deferred_status = 1;
    reg->send_on_timer = false;
    sn_ctx_timer_arm(reg->t->ctx, &reg->timer, 0);
}

/* Where REGISTER goes: the outbound proxy, or the server. */
static const char *next_hop_uri(const sipnat_registration *reg)
{
    return reg->cfg.outbound_proxy ? reg->cfg.outbound_proxy : reg->cfg.server_uri;
}

/* The route of the next REGISTER: to the target tried now. */
static int register_route(sipnat_registration *reg, sn_route *route)
{
    const char *user = reg->cfg.contact_user;
    su_home_t home[1] = {SU_HOME_INIT(home)};
    int r;

    if (!user) {
        url_t *u = url_make(home, reg->cfg.client_uri);
        user = u && u->url_user ? u->url_user : NULL;
    }
    r = sn_hops_route(&reg->hops, reg->t, user, route);
    su_home_deinit(home);
    return r;
}

/* The Contact the REGISTER carries, into reg->sent_contact. */
static void register_contact(sipnat_registration *reg, const sn_route *route,
                             bool unregister)
{
    if (unregister && reg->registered_contact[0]) {
        /* Remove exactly what was registered. */
        snprintf(reg->sent_contact, sizeof reg->sent_contact, "%s",
                 reg->registered_contact);
    } else {
        size_t n = strlen(route->contact);
        char outbound[96] = "";
        /* RFC 5626 4.2: the instance and the flow's number, as Contact
         * header parameters. */
        if (reg->cfg.outbound)
            snprintf(outbound, sizeof outbound, ";reg-id=%u;+sip.instance=\"<%s>\"",
                     reg->cfg.reg_id, reg->instance);
        /* route->contact is "<sip:...>": the line parameter goes inside. */
        snprintf(reg->sent_contact, sizeof reg->sent_contact, "%.*s%s%s>%s",
                 (int)(n - 1), route->contact, reg->line[0] ? ";line=" : "",
                 reg->line, outbound);
    }
}

/* A target that has not answered in this long is given up for the next
 * one (when there is one): a silent gateway is left after four
 * transmissions (0, 0.5, 1.5 and 3.5 s) rather than after timer F's
 * 32 s, which is the registration's own "no response". */
#define SN_REG_TARGET_TIMEOUT_USEC (5u * 1000000u)

static void send_to_target(sipnat_registration *reg);

static void register_resolved(void *arg, int error)
{
    sipnat_registration *reg = arg;

    if (error == -ECANCELED || (reg->fsm.state != SN_REG_REGISTERING &&
                                reg->fsm.state != SN_REG_UNREGISTERING))
        return; /* the ctx is going, or stopped meanwhile: nothing to send */
    if (error) {
        snprintf(reg->deferred_why, sizeof reg->deferred_why,
                 "cannot resolve %s: %s", next_hop_uri(reg), sipnat_strerror(error));
        defer_failure(reg, error);
        return;
    }
    send_to_target(reg);
}

/* The next hop first (RFC 3263, asynchronous; the answer is kept for its
 * TTL), then the request. */
static void send_register(sipnat_registration *reg)
{
    int r;

    if (sn_hops_fresh(&reg->hops)) {
        send_to_target(reg);
        return;
    }
    if (sn_dns_busy(&reg->hops.req))
        return; /* sent when the answer comes */
    r = sn_hops_resolve(&reg->hops, reg->t, next_hop_uri(reg), register_resolved, reg);
    if (r < 0)
        defer_failure(reg, r);
}

/* This target did not answer in time: the next one, on a new handle (the
 * old transaction is abandoned). */
static void attempt_timeout(sn_timer *timer, void *arg)
{
    sipnat_registration *reg = arg;
    const sn_dns_target *was = sn_hops_target(&reg->hops);
    char from[SN_DNS_NAME_MAX + SIPNAT_ADDRSTRLEN + 16] = "";

    (void)timer;
    if (was)
        snprintf(from, sizeof from, "%s (%s:%d)", was->host, was->addr, was->port);
    if (!sn_hops_next(&reg->hops))
        return;
    sn_log(reg->t->ctx, SIPNAT_LOG_NOTICE, "registration",
           "%s: no answer from %s in %u s: trying %s (%s:%d)", reg->cfg.client_uri,
           from, SN_REG_TARGET_TIMEOUT_USEC / 1000000u, sn_hops_target(&reg->hops)->host,
           sn_hops_target(&reg->hops)->addr, sn_hops_target(&reg->hops)->port);
    if (reg->nh) {
        sipnat_ctx *prev = sn_log_enter(reg->t->ctx);
        nua_handle_destroy(reg->nh);
        sn_log_leave(prev);
        reg->nh = NULL;
    }
    send_to_target(reg);
}

static void send_to_target(sipnat_registration *reg)
{
    sn_route route;
    char expires[16], contacts[2 * sizeof reg->sent_contact + 16];
    const char *contact;
    bool unregister = reg->fsm.state == SN_REG_UNREGISTERING;
    int r;

    reg->deferred_why[0] = '\0';
    r = register_route(reg, &route);
    if (r < 0) {
        defer_failure(reg, r);
        return;
    }
    memcpy(reg->dest, route.dest, sizeof reg->dest);
    memcpy(reg->local, route.local, sizeof reg->local);
    register_contact(reg, &route, unregister);
    /* Our address changed (a NAT remap, something learned): the binding
     * at the old one is dead, and the registrar would keep routing calls
     * to it until it expires. Remove it in the same request. */
    contact = reg->sent_contact;
    if (!unregister && reg->registered_contact[0] &&
        strcmp(reg->registered_contact, reg->sent_contact) != 0) {
        snprintf(contacts, sizeof contacts, "%s, %s;expires=0", reg->sent_contact,
                 reg->registered_contact);
        contact = contacts;
    }
    snprintf(expires, sizeof expires, "%u", unregister ? 0 : reg->fsm.expires);

    if (!reg->nh) {
        reg->nh = nua_handle(reg->t->nua, (nua_hmagic_t *)reg,
                             SIPTAG_TO_STR(reg->cfg.client_uri),
                             SIPTAG_FROM_STR(reg->cfg.client_uri), TAG_END());
        if (!reg->nh) {
            defer_failure(reg, -ENOMEM);
            return;
        }
    }
    sn_log(reg->t->ctx, SIPNAT_LOG_DEBUG, "registration",
           "REGISTER %s Expires %s Contact %s via %s: %s", reg->cfg.server_uri,
           expires, contact, route.proxy, route.explanation);
    sipnat_ctx *prev = sn_log_enter(reg->t->ctx);
    /* Call-ID and To given each time: after a 2xx, NUA would otherwise
     * start a new Call-ID and carry the registrar's To tag. */
    nua_method(reg->nh, NUTAG_METHOD("REGISTER"), NUTAG_URL(reg->cfg.server_uri),
               SIPTAG_CALL_ID_STR(reg->call_id),
               SIPTAG_TO_STR(reg->cfg.client_uri),
               NUTAG_PROXY(route.proxy), SIPTAG_VIA_STR(route.via),
               SIPTAG_CONTACT_STR(contact),
               TAG_IF(reg->cfg.outbound, SIPTAG_SUPPORTED_STR("outbound, path")),
               SIPTAG_EXPIRES_STR(expires), TAG_END());
    sn_log_leave(prev);
    if (reg->hops.res && reg->hops.at + 1 < reg->hops.res->n)
        sn_ctx_timer_arm(reg->t->ctx, &reg->attempt_timer, SN_REG_TARGET_TIMEOUT_USEC);
}

static void keepalive_sent(const sipnat_event *ev, void *arg);

static void keepalive(sn_timer *timer, void *arg)
{
    sipnat_registration *reg = arg;
    const sn_dns_target *tg = sn_hops_target(&reg->hops);
    const char *uri = next_hop_uri(reg);
    char at[SIPNAT_ADDRSTRLEN + 16];

    (void)timer;
    if (tg) {
        /* The target that granted the registration, not whichever the
         * name's records would give first. */
        snprintf(at, sizeof at, strchr(tg->addr, ':') ? "sip:[%s]:%d" : "sip:%s:%d",
                 tg->addr, tg->port);
        uri = at;
    }
    if (reg->fsm.state != SN_REG_REGISTERED)
        return;
    sipnat_registration_ref(reg); /* until keepalive_sent */
    if (sipnat_transport_send_options(reg->t, uri, keepalive_sent, reg) < 0) {
        sipnat_registration_unref(reg);
        /* Not sent (a name that no longer resolves, …): try again later
         * rather than fall silent until the next refresh. */
        sn_ctx_timer_arm(reg->t->ctx, &reg->ka_timer,
                         (uint64_t)reg->cfg.keepalive * 1000000u);
    }
}

/* The Contact the policy would give the registrar now. */
static bool contact_changed(sipnat_registration *reg)
{
    sn_route route;
    char now[sizeof route];
    size_t n;

    if (!reg->registered_contact[0] ||
        sn_route_for_addr(reg->t, reg->dest, 5060, NULL, &route) < 0)
        return false;
    /* Compare host:port only: "<sip:[user@]HOST:PORT;..." */
    const char *a = strchr(reg->registered_contact, '@');
    a = a ? a + 1 : reg->registered_contact + 5;
    n = strcspn(a, ";>");
    snprintf(now, sizeof now, "%s", route.contact + 5);
    return strncmp(a, now, n) != 0 || (now[n] != ';' && now[n] != '>');
}

static void keepalive_sent(const sipnat_event *ev, void *arg)
{
    sipnat_registration *reg = arg;

    if (ev->error == 0 && reg->fsm.state == SN_REG_REGISTERED) {
        if (ev->status == 408 || ev->status == 503) {
            apply(reg, sn_reg_refresh_now(&reg->fsm, "keep-alive unanswered"), 0);
        } else if (contact_changed(reg)) {
            apply(reg, sn_reg_refresh_now(&reg->fsm, "advertised address changed"), 0);
        } else if (reg->cfg.keepalive) {
            sn_ctx_timer_arm(reg->t->ctx, &reg->ka_timer,
                             (uint64_t)reg->cfg.keepalive * 1000000u);
        }
    }
    sipnat_registration_unref(reg);
}

/* -- SIP Outbound flows (RFC 5626, flow.c) ----------------------------------- */

/* Outbound over a connection: CRLF keep-alives on the flow replace the
 * OPTIONS ones. */
static bool flow_stream(const sipnat_registration *reg)
{
    return reg->t->protocol == SIPNAT_PROTOCOL_TCP || reg->t->protocol == SIPNAT_PROTOCOL_TLS;
}

/* Over UDP only when the registrar said Require: outbound: RFC 5626
 * 4.4 keeps STUN for registrars that take part (a plain SIP server
 * would never answer). */
static bool flow_kept(const sipnat_registration *reg)
{
    return reg->cfg.outbound && (flow_stream(reg) || reg->flow_outbound);
}

/* RFC 5626 4.4.1: no pong in 10 s and the flow has failed. Half the
 * keep-alive interval when that is shorter: a failure is then found
 * within one and a half intervals however it came. */
#define SN_FLOW_POLL_USEC 250000u

static unsigned pong_wait(const sipnat_registration *reg)
{
    unsigned half = reg->flow_interval / 2;

    return half < 1 ? 1 : half > 10 ? 10 : half;
}

static void flow_stop(sipnat_registration *reg)
{
    if (reg->t->ctx)
        sn_ctx_timer_stop(reg->t->ctx, &reg->flow_timer);
    sn_stun_binding_stop(&reg->flow_binding);
    reg->flow_phase = SN_FLOW_IDLE;
}

static void flow_arm(sipnat_registration *reg, uint64_t usec)
{
    sn_ctx_timer_arm(reg->t->ctx, &reg->flow_timer, usec);
}

/* UDP: the flow is our SIP socket and the registrar's address; its
 * keep-alive a STUN Binding request to that address (RFC 5626 4.4.2). */
static bool flow_find_udp(sipnat_registration *reg, const sn_dns_target *tg)
{
    sn_stack *stack = sn_stack_of(reg->t->ctx);

    sn_flow_init(&reg->flow);
    reg->flow_udp_fd = sn_flow_udp_socket(stack, reg->local, reg->t->port);
    if (reg->flow_udp_fd < 0)
        return false;
    snprintf(reg->flow.local, sizeof reg->flow.local,
             strchr(reg->local, ':') ? "[%s]:%d" : "%s:%d", reg->local, reg->t->port);
    snprintf(reg->flow.peer, sizeof reg->flow.peer,
             strchr(tg->addr, ':') ? "[%s]:%d" : "%s:%d", tg->addr, tg->port);
    if (reg->flow_stun && strcmp(sn_stun_server_name(reg->flow_stun), reg->flow.peer) != 0)
        reg->flow_stun = (sn_stun_unref(reg->flow_stun), NULL);
    return reg->flow_stun ||
           sn_stun_new_fp(&reg->flow_stun, reg->t->ctx, tg->addr, tg->port, false) == 0;
}

/* Registered: find the connection the 2xx came over and keep it. False:
 * no flow to keep (the OPTIONS keep-alive then). */
static bool flow_start(sipnat_registration *reg)
{
    const sn_dns_target *tg = sn_hops_target(&reg->hops);
    uint32_t random = 0;

    flow_stop(reg);
    if (!tg || (flow_stream(reg)
                    ? sn_flow_find(&reg->flow, sn_stack_of(reg->t->ctx), tg->addr, tg->port,
                                   reg->t->protocol == SIPNAT_PROTOCOL_TLS) < 0
                    : !flow_find_udp(reg, tg))) {
        sn_log(reg->t->ctx, SIPNAT_LOG_WARNING, "registration",
               "%s: outbound: no flow to the registrar to keep", reg->cfg.client_uri);
        return false;
    }
    /* The keep-alive interval: the host's, else the registrar's
     * Flow-Timer, else RFC 5626 4.4.1's 95 to 120 s. */
    if (getrandom(&random, sizeof random, 0) != sizeof random)
        random = (uint32_t)sn_now_usec();
    reg->flow_interval = reg->cfg.keepalive    ? reg->cfg.keepalive
                         : reg->flow_timer_hdr ? reg->flow_timer_hdr
                                               : 95 + random % 26;
    if (reg->flow_failed_at)
        sn_log(reg->t->ctx, SIPNAT_LOG_NOTICE, "registration",
               "%s: outbound: registered over a new flow %s -> %s, %llu ms after the "
               "old one was found dead",
               reg->cfg.client_uri, reg->flow.local, reg->flow.peer,
               (unsigned long long)((sn_now_usec() - reg->flow_failed_at) / 1000u));
    sn_log(reg->t->ctx, SIPNAT_LOG_INFO, "registration",
           "%s: outbound: flow %s -> %s, %s every %u s (the registrar %s outbound)",
           reg->cfg.client_uri, reg->flow.local, reg->flow.peer,
           !flow_stream(reg) ? "STUN Binding" : reg->flow.tls ? "TCP keep-alive probes"
                                                                : "CRLF ping",
           reg->flow_interval,
           reg->flow_outbound ? "requires" : "does not require");
    reg->flow_failed_at = 0;
    reg->flow_phase = SN_FLOW_PING;
    flow_arm(reg, (uint64_t)reg->flow_interval * 1000000u);
    return true;
}

/* The flow is dead: close it, and register again over a new one once
 * sofia has let go of the old connection. */
static void flow_failed(sipnat_registration *reg, const char *why)
{
    sn_log(reg->t->ctx, SIPNAT_LOG_WARNING, "registration",
           "%s: outbound: flow %s -> %s failed: %s", reg->cfg.client_uri,
           reg->flow.local, reg->flow.peer, why);
    snprintf(reg->flow_why, sizeof reg->flow_why,
             "flow %s -> %s failed (%s): registering over a new flow", reg->flow.local,
             reg->flow.peer, why);
    reg->flow_failed_at = sn_now_usec();
    if (!flow_stream(reg)) {
        /* Nothing to close: the next REGISTER is the new flow. */
        sn_stun_binding_stop(&reg->flow_binding);
        reg->flow_phase = SN_FLOW_IDLE;
        apply(reg, sn_reg_refresh_now(&reg->fsm, reg->flow_why), 0);
        return;
    }
    sn_flow_shutdown(&reg->flow);
    reg->flow_phase = SN_FLOW_CLOSING;
    reg->flow_waits = 0;
    flow_arm(reg, 0);
}

/* The STUN keep-alive's outcome (its retransmissions are sn_stun's). */
static void flow_stun_done(sn_stun_binding *b, bool ok, void *arg)
{
    sipnat_registration *reg = arg;
    uint64_t waited = sn_now_usec() - reg->flow_ping_at,
             interval = (uint64_t)reg->flow_interval * 1000000u;

    (void)b;
    if (reg->fsm.state != SN_REG_REGISTERED || reg->flow_phase != SN_FLOW_PONG)
        return;
    if (!ok) {
        char none[48];
        snprintf(none, sizeof none, "no STUN answer in %u ms", SN_STUN_GIVEUP_MS);
        flow_failed(reg, none);
        return;
    }
    /* Answered: nothing more until the next keep-alive (sn_stun would
     * refresh on its own schedule). */
    sn_stun_binding_stop(&reg->flow_binding);
    reg->flow_phase = SN_FLOW_PING;
    flow_arm(reg, interval > waited ? interval - waited : 0);
}

static void flow_tick(sn_timer *timer, void *arg)
{
    sipnat_registration *reg = arg;
    const char *why;
    int r;

    (void)timer;
    if (reg->fsm.state != SN_REG_REGISTERED) {
        reg->flow_phase = SN_FLOW_IDLE;
        return;
    }
    switch (reg->flow_phase) {
    case SN_FLOW_IDLE:
        return;
    case SN_FLOW_CLOSING:
        /* Up to 1 s for sofia to read the end of the old connection:
         * until then it would send the REGISTER into it. */
        if (!sn_flow_closed(&reg->flow, sn_stack_of(reg->t->ctx)) && ++reg->flow_waits < 50) {
            flow_arm(reg, 20000);
            return;
        }
        reg->flow_phase = SN_FLOW_IDLE;
        sn_flow_init(&reg->flow);
        apply(reg, sn_reg_refresh_now(&reg->fsm, reg->flow_why), 0);
        return;
    case SN_FLOW_PONG: {
        /* Looked at every SN_FLOW_POLL_USEC: a reset is found at once,
         * a missing pong at the deadline. */
        uint64_t waited = sn_now_usec() - reg->flow.ping_at,
                 deadline = (uint64_t)pong_wait(reg) * 1000000u;
        bool answered = sn_flow_answered(&reg->flow);
        if ((why = sn_flow_broken(&reg->flow)) != NULL) {
            flow_failed(reg, why);
            return;
        }
        if (!answered && waited < deadline) {
            flow_arm(reg, deadline - waited < SN_FLOW_POLL_USEC ? deadline - waited
                                                                : SN_FLOW_POLL_USEC);
            return;
        }
        if (!answered) {
            char none[48];
            snprintf(none, sizeof none, "no pong in %u s", pong_wait(reg));
            flow_failed(reg, none);
            return;
        }
        reg->flow_phase = SN_FLOW_PING;
        if ((uint64_t)reg->flow_interval * 1000000u > waited) {
            flow_arm(reg, (uint64_t)reg->flow_interval * 1000000u - waited);
            return;
        }
        /* the next ping is due now */
        __attribute__((fallthrough));
    }
    case SN_FLOW_PING:
        if (!flow_stream(reg)) {
            reg->flow_ping_at = sn_now_usec();
            reg->flow_phase = SN_FLOW_PONG;
            r = sn_stun_binding_start(&reg->flow_binding, reg->flow_stun, reg->flow_udp_fd,
                                      flow_stun_done, reg);
            if (r < 0)
                flow_failed(reg, sipnat_strerror(r));
            return;
        }
        if ((why = sn_flow_broken(&reg->flow)) != NULL) {
            flow_failed(reg, why);
            return;
        }
        r = sn_flow_ping(&reg->flow, reg->flow_interval);
        if (r == -EAGAIN && sn_flow_stalled(&reg->flow, pong_wait(reg))) {
            char none[64];
            snprintf(none, sizeof none, "nothing acknowledged in %u s", pong_wait(reg));
            flow_failed(reg, none);
        } else if (r == -EAGAIN) {
            /* Bytes in flight: the ping waits until they are through. */
            flow_arm(reg, SN_FLOW_POLL_USEC);
        } else if (r < 0) {
            flow_failed(reg, sipnat_strerror(r));
        } else if (reg->flow.tls) {
            flow_arm(reg, (uint64_t)reg->flow_interval * 1000000u);
        } else {
            reg->flow_phase = SN_FLOW_PONG;
            flow_arm(reg, (uint64_t)pong_wait(reg) * 1000000u);
        }
        return;
    }
}

/* What a 2xx says of outbound: Require: outbound, Flow-Timer. */
static void flow_response(sipnat_registration *reg, sip_t const *sip)
{
    reg->flow_outbound = sip_has_feature(sip->sip_require, "outbound") != 0;
    reg->flow_timer_hdr = 0;
    for (sip_unknown_t const *u = sip->sip_unknown; u; u = u->un_next)
        if (u->un_name && u->un_value && strcasecmp(u->un_name, "Flow-Timer") == 0) {
            unsigned long v = strtoul(u->un_value, NULL, 10);
            reg->flow_timer_hdr = v >= 1 && v <= 3600 ? (unsigned)v : 0;
        }
}

static void on_timer(sn_timer *timer, void *arg)
{
    sipnat_registration *reg = arg;

    (void)timer;
    if (reg->deferred_status) {
        sn_reg_step step = sn_reg_on_response(&reg->fsm, 0, 0, 0, false);
        reg->deferred_status = 0;
        if (reg->deferred_why[0])
            step.why = reg->deferred_why;
        reg->last_error = reg->deferred_error;
        apply(reg, step, 0);
        reg->last_error = 0;
        reg->deferred_error = 0;
    } else if (reg->send_on_timer) {
        reg->send_on_timer = false;
        send_register(reg);
    } else {
        apply(reg, sn_reg_on_timer(&reg->fsm), 0);
    }
}

static void apply(sipnat_registration *reg, sn_reg_step step, int status)
{
    sipnat_ctx *ctx = reg->t->ctx;
    sn_reg_state st = reg->fsm.state;

    switch (step.action) {
    case SN_REG_SEND:
        sn_ctx_timer_stop(ctx, &reg->ka_timer);
        flow_stop(reg);
        if (reg->reported != (sipnat_registration_state)st)
            report(reg, status, step.why, 0);
        if (step.delay_ms) {
            reg->send_on_timer = true;
            sn_ctx_timer_arm(ctx, &reg->timer, (uint64_t)step.delay_ms * 1000u);
        } else {
            send_register(reg);
        }
        break;
    case SN_REG_AUTHENTICATE: {
        char auth[600];
        snprintf(auth, sizeof auth, "Digest:\"%s\":%s:%s", reg->cfg.realm ? reg->cfg.realm : "",
                 reg->cfg.username, reg->cfg.password);
        sipnat_ctx *prev = sn_log_enter(ctx);
        nua_authenticate(reg->nh, NUTAG_AUTH(auth), TAG_END());
        sn_log_leave(prev);
        explicit_bzero(auth, sizeof auth);
        break;
    }
    case SN_REG_WAIT:
        sn_ctx_timer_arm(ctx, &reg->timer, (uint64_t)step.delay_ms * 1000u);
        if (st == SN_REG_REGISTERED) {
            report(reg, status, step.why, 0);
            if (!(flow_kept(reg) && flow_start(reg)) && reg->cfg.keepalive)
                sn_ctx_timer_arm(ctx, &reg->ka_timer,
                                 (uint64_t)reg->cfg.keepalive * 1000000u);
        } else {
            sn_ctx_timer_stop(ctx, &reg->ka_timer);
            flow_stop(reg);
            report(reg, status, step.why, (unsigned)(step.delay_ms / 1000u));
        }
        break;
    case SN_REG_NOTHING:
        if (st == SN_REG_FAILED || st == SN_REG_UNREGISTERED) {
            sn_ctx_timer_stop(ctx, &reg->timer);
            sn_ctx_timer_stop(ctx, &reg->ka_timer);
            flow_stop(reg);
            if (reg->reported != (sipnat_registration_state)st)
                report(reg, status, step.why, 0);
            if (reg->t->state == SN_T_CLOSING)
                sn_transport_registration_done(reg->t);
        }
        break;
    }
}

/* -- NUA's answers ---------------------------------------------------------- */

/* Seconds the registrar granted our Contact: its ;expires, else the
 * Expires header, else 0 (the state machine uses what was asked). */
static unsigned granted(sipnat_registration *reg, sip_t const *sip)
{
    for (sip_contact_t const *m = sip->sip_contact; m; m = m->m_next) {
        char host[SIPNAT_ADDRSTRLEN + 8];
        snprintf(host, sizeof host, "%s", m->m_url->url_host ? m->m_url->url_host : "");
        if (m->m_expires && strstr(reg->sent_contact, host) && host[0])
            return (unsigned)strtoul(m->m_expires, NULL, 10);
    }
    return sip->sip_expires ? (unsigned)sip->sip_expires->ex_delta : 0;
}

static bool realm_matches(sipnat_registration *reg, sip_t const *sip, int status)
{
    msg_auth_t const *au = status == 407 ? sip->sip_proxy_authenticate
                                         : sip->sip_www_authenticate;
    char const *realm = au ? msg_params_find(au->au_params, "realm=") : NULL;
    size_t n;

    if (!reg->cfg.username || !realm)
        return false;
    if (!reg->cfg.realm) {
        /* Any realm: remember which, for nua_authenticate's scheme. */
        n = strlen(realm);
        if (n >= 2 && realm[0] == '"')
            realm++, n -= 2;
        if (n == 0 || n > 256 || memchr(realm, '"', n))
            return false;
        free(reg->cfg.realm);
        reg->cfg.realm = strndup(realm, n);
        return reg->cfg.realm != NULL;
    }
    n = strlen(reg->cfg.realm);
    if (realm[0] == '"')
        return strncmp(realm + 1, reg->cfg.realm, n) == 0 && realm[n + 1] == '"';
    return strcmp(realm, reg->cfg.realm) == 0;
}

/* RFC 3263 4.3: a 503, a timeout or a transport error from one target,
 * and the same REGISTER goes to the next one at once. */
static bool failover(sipnat_registration *reg, int status, const char *phrase)
{
    const sn_dns_target *tg = sn_hops_target(&reg->hops);
    char was[SN_DNS_NAME_MAX + SIPNAT_ADDRSTRLEN + 16];

    if ((reg->fsm.state != SN_REG_REGISTERING &&
         reg->fsm.state != SN_REG_UNREGISTERING) || !tg)
        return false;
    snprintf(was, sizeof was, "%s (%s:%d)", tg->host, tg->addr, tg->port);
    if (!sn_hops_next(&reg->hops))
        return false;
    tg = sn_hops_target(&reg->hops);
    sn_log(reg->t->ctx, SIPNAT_LOG_NOTICE, "registration",
           "%s: %d %s from %s: trying %s (%s:%d)", reg->cfg.client_uri, status,
           phrase ? phrase : "", was, tg->host, tg->addr, tg->port);
    send_to_target(reg);
    return true;
}

void sn_registration_nua_event(sipnat_registration *reg, nua_event_t event,
                               int status, char const *phrase,
                               nua_handle_t *nh, sip_t const *sip)
{
    unsigned min_expires = 0, got = 0;
    bool can_auth = false;

    (void)nh;
    if (event != nua_r_method || status < 200)
        return;
    sn_ctx_timer_stop(reg->t->ctx, &reg->attempt_timer);
    if (sn_failover_status(status) && failover(reg, status, phrase))
        return;
    if (sip && (status == 401 || status == 407)) {
        can_auth = realm_matches(reg, sip, status);
        if (!can_auth)
            sn_log(reg->t->ctx, SIPNAT_LOG_WARNING, "registration",
                   "%s: challenged for a realm we have no credentials for",
                   reg->cfg.client_uri);
    }
    if (sip && status == 423 && sip->sip_min_expires)
        min_expires = (unsigned)sip->sip_min_expires->me_delta;
    if (sip && status >= 200 && status < 300) {
        got = granted(reg, sip);
        if (reg->fsm.state == SN_REG_REGISTERING)
            snprintf(reg->registered_contact, sizeof reg->registered_contact,
                     "%s", reg->sent_contact);
        sn_transport_learn(reg->t, reg->dest, sip);
        if (reg->cfg.outbound)
            flow_response(reg, sip);
    }
    sn_reg_state before = reg->fsm.state;
    apply(reg, sn_reg_on_response(&reg->fsm, status, got, min_expires, can_auth),
          status);
    (void)phrase;
    /* Registered, but the registrar saw us elsewhere than we said (the
     * learned policy just changed its answer): once more, now. */
    if (before == SN_REG_REGISTERING && reg->fsm.state == SN_REG_REGISTERED &&
        contact_changed(reg))
        apply(reg, sn_reg_refresh_now(&reg->fsm, "advertised address changed"), 0);
}

/* -- lifecycle ---------------------------------------------------------- */

SIPNAT_API int sipnat_registration_new(sipnat_registration **ret,
                                       sipnat_transport *t,
                                       const sipnat_registration_cfg *cfg,
                                       sipnat_event_func func, void *user_data)
{
    sipnat_registration *reg;
    int r;

    SN_RETURN_IF(!ret, -EINVAL);
    *ret = NULL;
    SN_RETURN_IF(!t || !cfg || !cfg->server_uri || !cfg->client_uri, -EINVAL);
    SN_RETURN_IF(!t->ctx || t->state != SN_T_OPEN, -ESHUTDOWN);
    reg = calloc(1, sizeof *reg);
    if (!reg)
        return -ENOMEM;
    r = cfg_copy(&reg->cfg, cfg);
    if (r < 0) {
        free(reg);
        return r;
    }
    reg->h.kind = SN_H_REGISTRATION;
    reg->n_ref = 1;
    reg->t = sipnat_transport_ref(t);
    reg->func = func;
    reg->user_data = user_data;
    sn_reg_init(&reg->fsm, &reg->cfg.fsm);
    sn_timer_init(&reg->timer, on_timer, reg);
    sn_timer_init(&reg->ka_timer, keepalive, reg);
    sn_timer_init(&reg->flush_timer, flush_events, reg);
    sn_timer_init(&reg->attempt_timer, attempt_timeout, reg);
    sn_timer_init(&reg->flow_timer, flow_tick, reg);
    sn_flow_init(&reg->flow);
    reg->flow_udp_fd = -1;
    if (reg->cfg.outbound)
        snprintf(reg->instance, sizeof reg->instance, "%s",
                 reg->cfg.instance ? reg->cfg.instance : sn_stack_instance(sn_stack_of(t->ctx)));
    {
        uint64_t id[2] = {0, 0};
        if (getrandom(id, sizeof id, 0) != sizeof id)
            id[0] = sn_now_usec(), id[1] = (uint64_t)(uintptr_t)reg;
        snprintf(reg->call_id, sizeof reg->call_id, "%016llx%016llx@sipnat",
                 (unsigned long long)id[0], (unsigned long long)id[1]);
    }
    if (reg->cfg.line) {
        uint32_t v = 0;
        if (getrandom(&v, sizeof v, 0) != sizeof v)
            v = (uint32_t)sn_now_usec();
        snprintf(reg->line, sizeof reg->line, "%08x", v);
    }
    reg->next = t->registrations;
    t->registrations = reg;
    reg->linked = true;
    *ret = reg;
    return 0;
}

SIPNAT_API sipnat_registration *sipnat_registration_ref(sipnat_registration *reg)
{
    if (reg)
        reg->n_ref++;
    return reg;
}

static void unlink_reg(sipnat_registration *reg)
{
    if (!reg->linked)
        return;
    for (sipnat_registration **pp = &reg->t->registrations; *pp; pp = &(*pp)->next)
        if (*pp == reg) {
            *pp = reg->next;
            break;
        }
    reg->linked = false;
}

static void stop_timers(sipnat_registration *reg)
{
    if (!reg->t->ctx)
        return;
    sn_ctx_timer_stop(reg->t->ctx, &reg->timer);
    sn_ctx_timer_stop(reg->t->ctx, &reg->ka_timer);
    sn_ctx_timer_stop(reg->t->ctx, &reg->flush_timer);
    sn_ctx_timer_stop(reg->t->ctx, &reg->attempt_timer);
    sn_ctx_timer_stop(reg->t->ctx, &reg->flow_timer);
}

SIPNAT_API sipnat_registration *
sipnat_registration_unref(sipnat_registration *reg)
{
    if (!reg || --reg->n_ref > 0)
        return NULL;
    stop_timers(reg);
    unlink_reg(reg);
    /* A transport waiting for its registrations to unregister need not
     * wait for this one any more. */
    if (reg->t->ctx && reg->t->state == SN_T_CLOSING)
        sn_transport_registration_done(reg->t);
    if (reg->nh && reg->t->ctx && reg->t->nua) {
        sipnat_ctx *prev = sn_log_enter(reg->t->ctx);
        nua_handle_destroy(reg->nh);
        sn_log_leave(prev);
    }
    sn_hops_clear(&reg->hops);
    sn_stun_binding_stop(&reg->flow_binding);
    sn_stun_unref(reg->flow_stun);
    sipnat_transport_unref(reg->t);
    cfg_clear(&reg->cfg);
    free(reg);
    return NULL;
}

SIPNAT_API int sipnat_registration_start(sipnat_registration *reg)
{
    uint32_t random = 0;

    SN_RETURN_IF(!reg, -EINVAL);
    SN_RETURN_IF(!reg->t->ctx || reg->t->state != SN_T_OPEN || !reg->linked,
                 -ESHUTDOWN);
    SN_RETURN_IF(reg->fsm.state != SN_REG_IDLE && reg->fsm.state != SN_REG_FAILED &&
                     reg->fsm.state != SN_REG_UNREGISTERED,
                 -EALREADY);
    if (getrandom(&random, sizeof random, 0) != sizeof random)
        random = (uint32_t)sn_now_usec();
    reg->registered_contact[0] = '\0';
    apply(reg, sn_reg_start(&reg->fsm, random), 0);
    return 0;
}

SIPNAT_API int sipnat_registration_stop(sipnat_registration *reg)
{
    SN_RETURN_IF(!reg, -EINVAL);
    SN_RETURN_IF(!reg->t->ctx || !reg->linked, -ESHUTDOWN);
    if (reg->send_on_timer) {
        /* Still in its initial delay: nothing was sent. */
        reg->send_on_timer = false;
        sn_ctx_timer_stop(reg->t->ctx, &reg->timer);
        reg->fsm.state = SN_REG_RETRYING;
    }
    apply(reg, sn_reg_stop(&reg->fsm), 0);
    return 0;
}

SIPNAT_API int sipnat_registration_get_state(const sipnat_registration *reg)
{
    SN_RETURN_IF(!reg, -EINVAL);
    return (int)reg->fsm.state;
}

/* -- the transport's side ------------------------------------------------- */

bool sn_registrations_unregister_all(sipnat_transport *t)
{
    bool busy = false;

    for (sipnat_registration *reg = t->registrations; reg; reg = reg->next) {
        if (reg->fsm.state == SN_REG_REGISTERED ||
            reg->fsm.state == SN_REG_REGISTERING ||
            reg->fsm.state == SN_REG_RETRYING)
            sipnat_registration_stop(reg);
        if (reg->fsm.state == SN_REG_REGISTERING ||
            reg->fsm.state == SN_REG_UNREGISTERING)
            busy = true;
    }
    return busy;
}

/* The network changed: what the registrar has is in doubt. A refresh
 * now, from what the policy says now (the old Contact removed in the same
 * REGISTER when it differs); its answer tells the new address. One
 * waiting to retry tries now: the failure may have been the old network. */
void sn_registrations_network_changed(sipnat_transport *t)
{
    for (sipnat_registration *reg = t->registrations; reg; reg = reg->next)
        if (reg->fsm.state == SN_REG_REGISTERED || reg->fsm.state == SN_REG_RETRYING)
            apply(reg, sn_reg_refresh_now(&reg->fsm, "the network changed"), 0);
}

void sn_registrations_abort_all(sipnat_transport *t)
{
    sipnat_registration *reg;

    while ((reg = t->registrations) != NULL) {
        if (reg->nh) {
            nua_handle_destroy(reg->nh);
            reg->nh = NULL;
        }
        sn_ctx_timer_stop(t->ctx, &reg->timer);
        sn_ctx_timer_stop(t->ctx, &reg->ka_timer);
        sn_ctx_timer_stop(t->ctx, &reg->attempt_timer);
        sn_ctx_timer_stop(t->ctx, &reg->flow_timer);
        sn_stun_binding_stop(&reg->flow_binding);
        sn_dns_cancel(&reg->hops.req);
        if (reg->fsm.state != SN_REG_IDLE && reg->fsm.state != SN_REG_FAILED &&
            reg->fsm.state != SN_REG_UNREGISTERED) {
            reg->fsm.state = SN_REG_UNREGISTERED;
            report(reg, 0, "transport shut down", 0);
        }
        unlink_reg(reg);
    }
}

bool sn_registrations_stun_wanted(sipnat_transport *transports, int fd)
{
    for (sipnat_transport *t = transports; t; t = t->next)
        for (sipnat_registration *reg = t->registrations; reg; reg = reg->next)
            if (reg->flow_binding.stun && reg->flow_binding.pending &&
                reg->flow_binding.fd == fd)
                return true;
    return false;
}

int sn_registrations_take_stun(sipnat_transport *transports, int fd, const uint8_t *buf,
                               size_t len, const struct sockaddr *from)
{
    for (sipnat_transport *t = transports; t; t = t->next)
        for (sipnat_registration *reg = t->registrations; reg; reg = reg->next)
            if (reg->flow_binding.stun && reg->flow_binding.pending &&
                reg->flow_binding.fd == fd &&
                sn_stun_binding_take(&reg->flow_binding, buf, len, from) == 1)
                return 1;
    return 0;
}
