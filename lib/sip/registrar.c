/*
 * libsipnat - the registrar side of an endpoint: REGISTER from phones,
 * digest auth of inbound requests, the AOR's contacts, their expiry and
 * their qualify OPTIONS.
 *
 * Digest checking is sofia-sip's auth module (one per endpoint, one user
 * in it, a master key from getrandom(): sofia's default key is a constant,
 * which would make nonces predictable across processes).
 * Behind a NAT the Contact a phone registers names its private address;
 * with rewrite_contact the binding keeps the user and parameters of that
 * URI but the host and port the REGISTER came from, so requests to the
 * phone go back through the pinhole its REGISTER opened (Asterisk's
 * rewrite_contact). The 200 lists the bindings as the phone registered
 * them, so phones recognise their own contacts.
 */
#include "sip/endpoint.h"
#include "sip/route.h"
#include "core/addr.h"

#include <sofia-sip/auth_plugin.h>
#include <sofia-sip/su_alloc.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static const auth_challenger_t challenger = {
    401, "Unauthorized", sip_www_authenticate_class,
    sip_authentication_info_class,
};

/* -- events ----------------------------------------------------------- */

static unsigned seconds_left(const sn_contact *c, uint64_t now)
{
    if (!c->expires_at || c->expires_at <= now)
        return 0;
    return (unsigned)((c->expires_at - now + 999999) / 1000000);
}

static void contact_event(sipnat_endpoint *ep, const sn_contact *c,
                          sipnat_contact_state state, int status,
                          const char *phrase)
{
    sipnat_ctx *ctx = ep->t->ctx;
    sipnat_event ev = {
        .size = sizeof ev,
        .type = SIPNAT_EVENT_CONTACT,
        .status = status,
        .phrase = phrase ? phrase : "",
        .uri = c->uri,
        .state = state,
        .expires = seconds_left(c, sn_now_usec()),
        .name = ep->name,
        .address = c->source[0] ? c->source : NULL,
        .port = c->source_port,
        .rtt_usec = state == SIPNAT_CONTACT_REACHABLE ? c->rtt_usec : 0,
    };

    if (!ep->cfg.func || !ctx)
        return;
    sipnat_endpoint_ref(ep);
    sn_cb_enter(ctx);
    ep->cfg.func(&ev, ep->cfg.user_data);
    sn_cb_leave(ctx);
    ctx->n_dispatched++;
    sipnat_endpoint_unref(ep);
}

/* -- the contact list ----------------------------------------------------- */

static void contact_free(sn_contact *c)
{
    free(c->uri);
    free(c->registered);
    free(c->call_id);
    free(c->user_agent);
    free(c->instance);
    free(c);
}

static sn_contact *contact_new(sipnat_endpoint *ep, const char *uri)
{
    sn_contact *c = calloc(1, sizeof *c);

    if (!c || !(c->uri = strdup(uri))) {
        free(c);
        return NULL;
    }
    c->id = ++ep->next_id;
    c->reachable = -1;
    return c;
}

static void contact_unlink(sipnat_endpoint *ep, sn_contact *c)
{
    for (sn_contact **pp = &ep->contacts; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            if (c->registered)
                ep->n_dynamic--;
            return;
        }
}

static void contact_append(sipnat_endpoint *ep, sn_contact *c)
{
    sn_contact **pp = &ep->contacts;

    while (*pp)
        pp = &(*pp)->next;
    *pp = c;
    if (c->registered)
        ep->n_dynamic++;
}

/* Take a binding away, tell the host why, free it. */
static void contact_drop(sipnat_endpoint *ep, sn_contact *c,
                         sipnat_contact_state state, const char *why)
{
    sn_log(ep->t->ctx, SIPNAT_LOG_INFO, "registrar", "%s: %s %s", ep->name,
           c->uri, why);
    contact_unlink(ep, c);
    contact_event(ep, c, state, 0, why);
    contact_free(c);
}

static void arm_expiry(sipnat_endpoint *ep)
{
    uint64_t first = UINT64_MAX, now = sn_now_usec();

    if (!ep->t->ctx)
        return;
    for (sn_contact *c = ep->contacts; c; c = c->next)
        if (c->expires_at && c->expires_at < first)
            first = c->expires_at;
    if (first == UINT64_MAX)
        sn_ctx_timer_stop(ep->t->ctx, &ep->expiry_timer);
    else
        sn_ctx_timer_arm(ep->t->ctx, &ep->expiry_timer,
                         first > now ? first - now : 0);
}

static void on_expiry(sn_timer *timer, void *arg)
{
    sipnat_endpoint *ep = arg;
    uint64_t now = sn_now_usec();
    sn_contact *c, *next;

    (void)timer;
    sipnat_endpoint_ref(ep);
    for (c = ep->contacts; c; c = next) {
        next = c->next;
        if (!c->expires_at || c->expires_at > now)
            continue;
        contact_drop(ep, c, SIPNAT_CONTACT_EXPIRED, "expired");
    }
    arm_expiry(ep);
    sipnat_endpoint_unref(ep);
}

/* -- qualify -------------------------------------------------------------- */

typedef struct qualify_req {
    sipnat_endpoint *ep; /* referenced */
    uint64_t id;
    uint64_t sent;
} qualify_req;

static sn_contact *contact_by_id(sipnat_endpoint *ep, uint64_t id)
{
    for (sn_contact *c = ep->contacts; c; c = c->next)
        if (c->id == id)
            return c;
    return NULL;
}

static void qualify_done(const sipnat_event *ev, void *user_data)
{
    qualify_req *q = user_data;
    sipnat_endpoint *ep = q->ep;
    sn_contact *c = contact_by_id(ep, q->id);
    /* 408 and 503 are what the stack says when nothing answered. */
    bool ok = ev->error == 0 && ev->status >= 100 && ev->status != 408 &&
              ev->status != 503;

    if (c) {
        c->qualifying = false;
        if (ok)
            c->rtt_usec = (unsigned)(sn_now_usec() - q->sent);
        if (ok && c->reachable != 1) {
            c->reachable = 1;
            sn_log(ep->t->ctx, SIPNAT_LOG_INFO, "registrar",
                   "%s: %s reachable (%d, %u us)", ep->name, c->uri,
                   ev->status, c->rtt_usec);
            contact_event(ep, c, SIPNAT_CONTACT_REACHABLE, ev->status,
                          ev->phrase);
        } else if (!ok && c->reachable != 0 && ev->error != -ECANCELED) {
            c->reachable = 0;
            sn_log(ep->t->ctx, SIPNAT_LOG_NOTICE, "registrar",
                   "%s: %s unreachable (%d %s)", ep->name, c->uri,
                   ev->status, ev->phrase);
            contact_event(ep, c, SIPNAT_CONTACT_UNREACHABLE, ev->status,
                          ev->phrase);
        }
    }
    sipnat_endpoint_unref(ep);
    free(q);
}

static int qualify_contact(sipnat_endpoint *ep, sn_contact *c)
{
    qualify_req *q;
    int r;

    if (c->qualifying)
        return 0;
    q = malloc(sizeof *q);
    if (!q)
        return -ENOMEM;
    q->ep = sipnat_endpoint_ref(ep);
    q->id = c->id;
    q->sent = sn_now_usec();
    r = sipnat_transport_send_options(ep->t, c->uri, qualify_done, q);
    if (r < 0) {
        sn_log(ep->t->ctx, SIPNAT_LOG_WARNING, "registrar",
               "%s: cannot qualify %s: %s", ep->name, c->uri,
               sipnat_strerror(r));
        sipnat_endpoint_unref(ep);
        free(q);
        return r;
    }
    c->qualifying = true;
    return 1;
}

static void on_qualify(sn_timer *timer, void *arg)
{
    sipnat_endpoint *ep = arg;

    (void)timer;
    sipnat_endpoint_qualify(ep);
    if (ep->t->ctx && ep->cfg.qualify_frequency)
        sn_ctx_timer_arm(ep->t->ctx, &ep->qualify_timer,
                         (uint64_t)ep->cfg.qualify_frequency * 1000000);
}

SIPNAT_API int sipnat_endpoint_qualify(sipnat_endpoint *ep)
{
    int n = 0, r;

    SN_RETURN_IF(!ep, -EINVAL);
    SN_RETURN_IF(!ep->t->ctx || ep->t->state != SN_T_OPEN, -ESHUTDOWN);
    for (sn_contact *c = ep->contacts; c; c = c->next)
        if ((r = qualify_contact(ep, c)) > 0)
            n++;
    return n;
}

SIPNAT_API int sipnat_endpoint_get_contact(sipnat_endpoint *ep, size_t index,
                                           sipnat_contact_info *info)
{
    sn_contact *c = ep ? ep->contacts : NULL;
    sipnat_contact_info out = {0};

    SN_RETURN_IF(!ep || !info || info->size < offsetof(sipnat_contact_info, uri),
                 -EINVAL);
    for (; c && index > 0; index--)
        c = c->next;
    SN_RETURN_IF(!c, -ENOENT);
    out.size = info->size < sizeof out ? info->size : sizeof out;
    out.uri = c->uri;
    out.registered_uri = c->registered;
    out.address = c->source[0] ? c->source : NULL;
    out.port = c->source_port;
    out.user_agent = c->user_agent;
    out.expires = seconds_left(c, sn_now_usec());
    out.reachable = c->reachable;
    out.rtt_usec = c->rtt_usec;
    memcpy(info, &out, out.size);
    return 0;
}

/* -- set-up ----------------------------------------------------------- */

int sn_registrar_init(sipnat_endpoint *ep)
{
    sipnat_endpoint_cfg *cfg = &ep->cfg;

    sn_timer_init(&ep->expiry_timer, on_expiry, ep);
    sn_timer_init(&ep->qualify_timer, on_qualify, ep);
    for (size_t i = 0; i < cfg->n_contacts; i++) {
        sn_contact *c = contact_new(ep, cfg->contacts[i]);

        if (!c)
            return -ENOMEM;
        contact_append(ep, c);
    }
    if (cfg->auth_user) {
        uint8_t key[16];
        char hex[33];
        auth_passwd_t *apw;

        if (getrandom(key, sizeof key, 0) != sizeof key)
            return -EIO;
        for (size_t i = 0; i < sizeof key; i++)
            snprintf(hex + 2 * i, 3, "%02x", key[i]);
        ep->auth = auth_mod_create(sn_stack_root(sn_stack_of(ep->t->ctx)),
                                   AUTHTAG_METHOD("Digest"),
                                   AUTHTAG_REALM(cfg->auth_realm),
                                   AUTHTAG_QOP("auth"),
                                   AUTHTAG_MASTER_KEY(hex), TAG_END());
        if (!ep->auth)
            return -ENOMEM;
        apw = auth_mod_addpass(ep->auth, cfg->auth_user, cfg->auth_realm);
        if (!apw)
            return -ENOMEM;
        apw->apw_pass = cfg->auth_pass; /* lives as long as the module */
    }
    if (cfg->qualify_frequency && cfg->n_contacts &&
        sn_ctx_timer_arm(ep->t->ctx, &ep->qualify_timer, 0) == 0)
        sn_loop_commit(ep->t->ctx);
    return 0;
}

void sn_registrar_fini(sipnat_endpoint *ep)
{
    sn_contact *c;

    /* An endpoint that failed before sn_registrar_init has no timers. */
    if (ep->t && ep->t->ctx && ep->expiry_timer.cb) {
        sn_ctx_timer_stop(ep->t->ctx, &ep->expiry_timer);
        sn_ctx_timer_stop(ep->t->ctx, &ep->qualify_timer);
    }
    while ((c = ep->contacts)) {
        ep->contacts = c->next;
        contact_free(c);
    }
    if (ep->auth) {
        auth_mod_unref(ep->auth);
        ep->auth = NULL;
    }
}

/* -- inbound requests ------------------------------------------------- */

sipnat_endpoint *sn_endpoint_for_request(sipnat_transport *t, const void *src,
                                         sip_t const *sip, bool *by_user)
{
    const char *user;
    sipnat_endpoint *ep;

    *by_user = false;
    if (src && (ep = sn_endpoint_identify(t, src)))
        return ep;
    if (!sip || !sip->sip_from || !(user = sip->sip_from->a_url->url_user))
        return NULL;
    for (ep = t->endpoints; ep; ep = ep->next)
        if (ep->auth && (strcmp(user, ep->name) == 0 ||
                         strcmp(user, ep->cfg.auth_user) == 0)) {
            *by_user = true;
            return ep;
        }
    return NULL;
}

bool sn_endpoint_authenticate(sipnat_endpoint *ep, nua_t *nua, nua_handle_t *nh,
                              sip_t const *sip)
{
    msg_t *req = nua_current_request(nua);
    auth_status_t *as;
    bool ok;

    if (!ep->auth)
        return true;
    as = auth_status_new(NULL);
    if (!as) {
        nua_respond(nh, SIP_500_INTERNAL_SERVER_ERROR, NUTAG_WITH_THIS(nua),
                    TAG_END());
        return false;
    }
    as->as_method = sip->sip_request->rq_method_name;
    as->as_source = req ? msg_addrinfo(req) : NULL;
    auth_mod_verify(ep->auth, as, sip->sip_authorization, &challenger);
    ok = as->as_status == 0 && as->as_user &&
         strcmp(as->as_user, ep->cfg.auth_user) == 0;
    if (!ok) {
        int status = as->as_status ? as->as_status : 403;

        sn_log(ep->t->ctx, sip->sip_authorization ? SIPNAT_LOG_NOTICE
                                                  : SIPNAT_LOG_DEBUG,
               "registrar", "%s: %s %s: %d %s", ep->name,
               sip->sip_request->rq_method_name,
               sip->sip_authorization ? "with bad credentials" : "challenged",
               status, as->as_phrase ? as->as_phrase : "");
        nua_respond(nh, status, as->as_phrase ? as->as_phrase : "Forbidden",
                    NUTAG_WITH_THIS(nua),
                    TAG_IF(as->as_response,
                           SIPTAG_HEADER((sip_header_t *)as->as_response)),
                    TAG_END());
    }
    auth_status_unref(as);
    return ok;
}

/* The binding's URI: the registered one, or (rewrite_contact) its host
 * and port replaced by the request's source. */
static char *binding_uri(su_home_t *home, const url_t *registered,
                         bool rewrite, const char *src, int src_port)
{
    url_t *u;
    char host[SIPNAT_ADDRSTRLEN + 2], port[8];

    if (!rewrite)
        return url_as_string(home, registered);
    u = url_hdup(home, registered);
    if (!u)
        return NULL;
    snprintf(host, sizeof host, strchr(src, ':') ? "[%s]" : "%s", src);
    snprintf(port, sizeof port, "%d", src_port);
    u->url_host = host;
    u->url_port = port;
    if (u->url_params)
        u->url_params = url_strip_param_string(su_strdup(home, u->url_params),
                                               "maddr");
    return url_as_string(home, u);
}

/* RFC 5626 6: the binding of this instance and reg-id, whatever its URI. */
static sn_contact *find_flow(sipnat_endpoint *ep, const char *instance, unsigned reg_id)
{
    for (sn_contact *c = ep->contacts; c; c = c->next)
        if (c->registered && c->instance && c->reg_id == reg_id &&
            strcmp(c->instance, instance) == 0)
            return c;
    return NULL;
}

static sn_contact *find_binding(sipnat_endpoint *ep, const char *registered)
{
    for (sn_contact *c = ep->contacts; c; c = c->next)
        if (c->registered && strcmp(c->registered, registered) == 0)
            return c;
    return NULL;
}

/* The bindings a REGISTER asks for, checked before anything changes. */
typedef struct want {
    char *registered;
    char *uri;
    unsigned expires;
    sn_contact *existing;
    char *instance;     /* an outbound flow's, or NULL */
    unsigned reg_id;
} want;

static unsigned contact_expires(const sipnat_endpoint *ep, sip_t const *sip,
                                sip_contact_t const *m)
{
    if (m->m_expires)
        return (unsigned)strtoul(m->m_expires, NULL, 10);
    if (sip->sip_expires)
        return (unsigned)sip->sip_expires->ex_delta;
    return ep->cfg.exp_default;
}

static void respond(nua_t *nua, nua_handle_t *nh, int status,
                    const char *phrase)
{
    nua_respond(nh, status, phrase, NUTAG_WITH_THIS(nua), TAG_END());
}

/* Remove every binding (Contact: *) */
static void remove_all(sipnat_endpoint *ep)
{
    sn_contact *c, *next;

    for (c = ep->contacts; c; c = next) {
        next = c->next;
        if (c->registered)
            contact_drop(ep, c, SIPNAT_CONTACT_REMOVED, "unregistered");
    }
}

/* The oldest-expiring binding that this request does not name. */
static sn_contact *eviction_candidate(sipnat_endpoint *ep, const want *w,
                                      size_t n)
{
    sn_contact *best = NULL;

    for (sn_contact *c = ep->contacts; c; c = c->next) {
        bool named = false;

        if (!c->registered)
            continue;
        for (size_t i = 0; i < n; i++)
            named = named || w[i].existing == c;
        if (!named && (!best || c->expires_at < best->expires_at))
            best = c;
    }
    return best;
}

static int apply_bindings(sipnat_endpoint *ep, sip_t const *sip, want *w,
                          size_t n, const char *src, int src_port)
{
    uint64_t now = sn_now_usec();
    const char *ua = sip->sip_user_agent ? sip->sip_user_agent->g_string : NULL;

    for (size_t i = 0; i < n; i++) {
        sn_contact *c = w[i].existing;
        bool added = !c;

        if (w[i].expires == 0) {
            if (c)
                contact_drop(ep, c, SIPNAT_CONTACT_REMOVED, "unregistered");
            continue;
        }
        if (!c) {
            if (!(c = contact_new(ep, w[i].uri)))
                return -ENOMEM;
            c->registered = w[i].registered;
            w[i].registered = NULL;
            contact_append(ep, c);
        } else if (strcmp(c->registered, w[i].registered) != 0) {
            /* The same instance and reg-id: the new Contact replaces the
             * old binding (RFC 5626 6). */
            free(c->registered);
            c->registered = w[i].registered;
            w[i].registered = NULL;
        }
        if (strcmp(c->uri, w[i].uri) != 0) {
            free(c->uri);
            c->uri = w[i].uri;
            w[i].uri = NULL;
            c->reachable = -1;
        }
        free(c->call_id);
        c->call_id = strdup(sip->sip_call_id->i_id);
        c->cseq = sip->sip_cseq->cs_seq;
        free(c->user_agent);
        c->user_agent = ua ? strdup(ua) : NULL;
        snprintf(c->source, sizeof c->source, "%s", src);
        c->source_port = src_port;
        c->expires_at = now + (uint64_t)w[i].expires * 1000000;
        free(c->instance);
        c->instance = w[i].instance;
        w[i].instance = NULL;
        c->reg_id = w[i].reg_id;
        sn_log(ep->t->ctx, SIPNAT_LOG_INFO, "registrar",
               "%s: %s %s from %s:%d for %u s%s", ep->name,
               added ? "added" : "refreshed", c->uri, src, src_port,
               w[i].expires, c->instance ? " (an outbound flow)" : "");
        contact_event(ep, c, added ? SIPNAT_CONTACT_ADDED
                                   : SIPNAT_CONTACT_REFRESHED,
                      200, "OK");
        /* contact_event may not free c: the host cannot remove contacts. */
        if (added && ep->cfg.qualify_frequency)
            qualify_contact(ep, c);
    }
    return 0;
}

/* "<uri>;expires=N, ..." for the 200, or NULL when there is none. */
static char *contact_list(sipnat_endpoint *ep)
{
    size_t len = 1;
    char *out, *p;
    uint64_t now = sn_now_usec();

    for (sn_contact *c = ep->contacts; c; c = c->next)
        if (c->registered)
            len += strlen(c->registered) + (c->instance ? strlen(c->instance) : 0) + 64;
    if (len == 1 || !(out = malloc(len)))
        return NULL;
    p = out;
    *p = '\0';
    for (sn_contact *c = ep->contacts; c; c = c->next)
        if (c->registered)
        {
            p += snprintf(p, len - (size_t)(p - out), "%s<%s>;expires=%u",
                          p == out ? "" : ", ", c->registered,
                          seconds_left(c, now));
            if (c->instance)
                p += snprintf(p, len - (size_t)(p - out), ";+sip.instance=%s;reg-id=%u",
                              c->instance, c->reg_id);
        }
    return out;
}

/* A REGISTER read into the bindings it asks for, or the refusal. */
typedef struct request {
    want w[SN_MAX_CONTACTS];
    size_t n, n_new, n_gone;
    int status;
    const char *phrase;
    bool outbound;      /* a flow registered: the 200 says Require: outbound */
} request;

static void refuse(request *q, int status, const char *phrase)
{
    q->status = status;
    q->phrase = phrase;
}

/* Contact: * with Expires: 0 removes every binding; true when the
 * request was one (and is answered). */
static bool wildcard(sipnat_endpoint *ep, nua_t *nua, nua_handle_t *nh,
                     sip_t const *sip)
{
    for (sip_contact_t const *m = sip->sip_contact; m; m = m->m_next) {
        if (m->m_url->url_type != url_any)
            continue;
        if (sip->sip_contact->m_next || !sip->sip_expires ||
            sip->sip_expires->ex_delta != 0) {
            respond(nua, nh, 400, "Bad Wildcard Contact");
            return true;
        }
        remove_all(ep);
        respond(nua, nh, SIP_200_OK);
        return true;
    }
    return false;
}

/* RFC 5626 6: a Contact with +sip.instance and reg-id, in a REGISTER that
 * says Supported: outbound, registers a flow. False when refused. */
static bool read_flow(sip_t const *sip, sip_contact_t const *m, su_home_t *home,
                      request *q, want *x)
{
    const char *inst = msg_params_find(m->m_params, "+sip.instance=");
    const char *rid = msg_params_find(m->m_params, "reg-id=");
    char *end = NULL;
    unsigned long id;

    if (!inst || !rid || !sip_has_feature(sip->sip_supported, "outbound"))
        return true;
    id = strtoul(rid, &end, 10);
    if (!rid[0] || *end || id < 1 || id > 2147483647ul || strlen(inst) > 256 || !inst[0]) {
        refuse(q, 400, "Bad reg-id or +sip.instance");
        return false;
    }
    /* Not the first hop, and no edge proxy said it keeps the flow. */
    if (sip->sip_via && sip->sip_via->v_next && !sip->sip_path) {
        refuse(q, 439, "First Hop Lacks Outbound Support");
        return false;
    }
    x->instance = su_strdup(home, inst);
    x->reg_id = (unsigned)id;
    q->outbound = true;
    return x->instance != NULL;
}

/* One Contact of the request into q->w[q->n] (strings in home). */
static void read_contact(sipnat_endpoint *ep, sip_t const *sip,
                         sip_contact_t const *m, su_home_t *home, request *q,
                         const char *src, int src_port)
{
    want *x;

    if (q->n == SN_MAX_CONTACTS)
        return refuse(q, 403, "Too Many Contacts");
    if (m->m_url->url_type != url_sip && m->m_url->url_type != url_sips)
        return refuse(q, 400, "Unsupported Contact URI");
    x = &q->w[q->n];
    memset(x, 0, sizeof *x);
    x->expires = contact_expires(ep, sip, m);
    if (x->expires && x->expires < ep->cfg.exp_min)
        return refuse(q, 423, "Interval Too Brief");
    if (x->expires > ep->cfg.exp_max)
        x->expires = ep->cfg.exp_max;
    if (!read_flow(sip, m, home, q, x))
        return;
    x->registered = url_as_string(home, m->m_url);
    /* A flow: requests go back where the REGISTER came from. */
    x->uri = binding_uri(home, m->m_url, ep->cfg.rewrite_contact || x->instance, src,
                         src_port);
    if (!x->registered || !x->uri)
        return refuse(q, 500, "Internal Server Error");
    for (size_t i = 0; i < q->n; i++)
        if (strcmp(q->w[i].registered, x->registered) == 0 ||
            (x->instance && q->w[i].instance && q->w[i].reg_id == x->reg_id &&
             strcmp(q->w[i].instance, x->instance) == 0))
            return refuse(q, 400, "Duplicate Contact");
    x->existing = x->instance ? find_flow(ep, x->instance, x->reg_id) : NULL;
    if (!x->existing)
        x->existing = find_binding(ep, x->registered);
    if (x->existing && x->existing->call_id &&
        strcmp(x->existing->call_id, sip->sip_call_id->i_id) == 0 &&
        sip->sip_cseq->cs_seq <= x->existing->cseq)
        return refuse(q, 500, "Out Of Order CSeq");
    q->n++;
    if (!x->existing && x->expires)
        q->n_new++;
    if (x->existing && !x->expires)
        q->n_gone++;
}

/* Every Contact of the request, checked; the strings kept on the heap. */
static void read_contacts(sipnat_endpoint *ep, sip_t const *sip, request *q,
                          const char *src, int src_port)
{
    su_home_t home[1] = {SU_HOME_INIT(home)};

    for (sip_contact_t const *m = sip->sip_contact; m && !q->status; m = m->m_next)
        read_contact(ep, sip, m, home, q, src, src_port);
    /* Whatever is kept in w[] must outlive the home: copy to the heap. */
    if (q->status)
        q->n = 0;
    for (size_t i = 0; i < q->n; i++) {
        bool inst = q->w[i].instance != NULL;
        q->w[i].registered = strdup(q->w[i].registered);
        q->w[i].uri = strdup(q->w[i].uri);
        q->w[i].instance = inst ? strdup(q->w[i].instance) : NULL;
        if (!q->w[i].registered || !q->w[i].uri || (inst && !q->w[i].instance))
            refuse(q, 500, "Internal Server Error");
    }
    su_home_deinit(home);
}

/* max_contacts: refuse, or (remove_existing) evict the oldest bindings. */
static void make_room(sipnat_endpoint *ep, request *q, const char *src, int src_port)
{
    size_t over;

    if (q->status || ep->n_dynamic - q->n_gone + q->n_new <= ep->cfg.max_contacts)
        return;
    over = ep->n_dynamic - q->n_gone + q->n_new - ep->cfg.max_contacts;
    if (!ep->cfg.remove_existing || q->n_new > ep->cfg.max_contacts) {
        refuse(q, 403, "Too Many Contacts");
        sn_log(ep->t->ctx, SIPNAT_LOG_NOTICE, "registrar",
               "%s: REGISTER from %s:%d refused: max_contacts is %u",
               ep->name, src, src_port, ep->cfg.max_contacts);
        return;
    }
    while (over-- > 0) {
        sn_contact *c = eviction_candidate(ep, q->w, q->n);

        if (!c)
            break;
        contact_drop(ep, c, SIPNAT_CONTACT_REMOVED, "replaced (remove_existing)");
    }
}

static void answer_register(sipnat_endpoint *ep, nua_t *nua, nua_handle_t *nh,
                            const request *q)
{
    char *list, min[16];

    if (q->status == 423) {
        snprintf(min, sizeof min, "%u", ep->cfg.exp_min);
        nua_respond(nh, q->status, q->phrase, NUTAG_WITH_THIS(nua),
                    SIPTAG_MIN_EXPIRES_STR(min), TAG_END());
        return;
    }
    if (q->status) {
        respond(nua, nh, q->status, q->phrase);
        return;
    }
    arm_expiry(ep);
    list = contact_list(ep);
    nua_respond(nh, SIP_200_OK, NUTAG_WITH_THIS(nua),
                TAG_IF(list, SIPTAG_CONTACT_STR(list)),
                TAG_IF(q->outbound, SIPTAG_REQUIRE_STR("outbound")), TAG_END());
    free(list);
}

static void register_aor(sipnat_endpoint *ep, nua_t *nua, nua_handle_t *nh,
                         sip_t const *sip, const char *src, int src_port)
{
    request q = {.n = 0};

    if (wildcard(ep, nua, nh, sip))
        return;
    read_contacts(ep, sip, &q, src, src_port);
    make_room(ep, &q, src, src_port);
    if (!q.status && apply_bindings(ep, sip, q.w, q.n, src, src_port) < 0)
        refuse(&q, 500, "Internal Server Error");
    for (size_t i = 0; i < q.n; i++) {
        free(q.w[i].registered);
        free(q.w[i].uri);
        free(q.w[i].instance);
    }
    answer_register(ep, nua, nh, &q);
}

void sn_registrar_request(sipnat_transport *t, nua_t *nua, nua_handle_t *nh,
                          sip_t const *sip)
{
    msg_t *req = nua_current_request(nua);
    su_addrinfo_t *ai = req ? msg_addrinfo(req) : NULL;
    char src[SIPNAT_ADDRSTRLEN] = "?";
    sn_addr a;
    int port = 0;
    bool by_user;
    sipnat_endpoint *ep;
    const char *aor;

    if (!ai || sn_addr_from_sockaddr(ai->ai_addr, &a, &port) < 0) {
        respond(nua, nh, SIP_500_INTERNAL_SERVER_ERROR);
        return;
    }
    sn_addr_format(&a, src, sizeof src);
    ep = sn_endpoint_for_request(t, &a, sip, &by_user);
    if (!ep) {
        sn_log(t->ctx, SIPNAT_LOG_NOTICE, "registrar",
               "REGISTER from %s:%d matches no endpoint: rejected (403)", src,
               port);
        respond(nua, nh, SIP_403_FORBIDDEN);
        return;
    }
    sipnat_endpoint_ref(ep);
    aor = sip->sip_to ? sip->sip_to->a_url->url_user : NULL;
    if (!sn_endpoint_authenticate(ep, nua, nh, sip)) {
        ; /* answered */
    } else if (!aor || strcmp(aor, ep->name) != 0) {
        sn_log(t->ctx, SIPNAT_LOG_NOTICE, "registrar",
               "%s: REGISTER from %s:%d for AOR %s: not ours (404)", ep->name,
               src, port, aor ? aor : "(none)");
        respond(nua, nh, SIP_404_NOT_FOUND);
    } else if (ep->cfg.max_contacts == 0) {
        sn_log(t->ctx, SIPNAT_LOG_NOTICE, "registrar",
               "%s: REGISTER from %s:%d refused: max_contacts is 0", ep->name,
               src, port);
        respond(nua, nh, 403, "No Contacts Allowed");
    } else if (!sip->sip_contact) {
        /* A query: the bindings as they are. */
        char *list = contact_list(ep);

        nua_respond(nh, SIP_200_OK, NUTAG_WITH_THIS(nua),
                    TAG_IF(list, SIPTAG_CONTACT_STR(list)), TAG_END());
        free(list);
    } else {
        register_aor(ep, nua, nh, sip, src, port);
    }
    sipnat_endpoint_unref(ep);
}
