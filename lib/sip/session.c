/*
 * libsipnat - calls: one INVITE dialog per session, on the endpoint's
 * transport NUA with sofia's media (SOA) off. The SDP is ours
 * (session_media.c); NUA keeps the dialog, the transactions, ACK, CANCEL
 * and BYE.
 *
 * Every request we start carries our own Via and Contact, as the
 * transport's policy answers for the peer's address (route.c); so does
 * every response with SDP. A session holds one reference on itself while
 * its dialog lives (dropped when NUA reports the call terminated), and the
 * host holds the others.
 */
#include "sip/session.h"
#include "nat/policy.h"

#include <sofia-sip/su_string.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct sipnat_session {
    sn_hmagic h; /* SN_H_SESSION: first, NUA's handle magic points here */
    unsigned n_ref;
    sipnat_endpoint *ep;      /* referenced */
    sipnat_transport *t;      /* the endpoint's */
    nua_handle_t *nh;
    bool incoming;
    bool dialog_ref;          /* the reference the live dialog holds */
    int state;
    sipnat_event_func func;
    void *user_data;
    char *remote_uri;
    sn_route route;           /* toward the peer: Via, Contact, proxy */
    char media_addr[SIPNAT_ADDRSTRLEN]; /* what our SDP names */
    sn_session_media *media;
    bool answered;            /* 200 sent or received */
    bool local_hold, remote_hold;
    bool offer_out;           /* our (re-)INVITE waits for its answer */
    char *pending_answer;     /* incoming: the answer to send with 200 */
    sipnat_session *bridged;  /* not referenced; unlinked on both sides */
    bool direct;              /* direct media with `bridged` (re-INVITEd) */
    unsigned auth_tries;      /* challenges answered for this INVITE */
    sn_hops hops;             /* outgoing: the URI's targets (RFC 3263) */
    sn_timer attempt_timer;   /* outgoing: gives up on a silent target */
    int error;                /* outgoing: why nothing was sent */
    bool by_contact;          /* outgoing to the aor: contact_at is tried */
    size_t contact_at;
    /* STUN: the SDP waits for the media sockets' mappings. */
    bool invite_waits;        /* our INVITE is not sent yet */
    bool answer_waits;        /* the host answered; the 200 is not sent yet */
    char *offer_text;         /* the INVITE's offer, answered again then */
    /* Our address changed (NAT rebinding, the network): a re-INVITE
     * names the new one; another change during it is sent after it. */
    bool rebinding;           /* the re-INVITE out is such a one */
    bool rebind_due;          /* a change came while an offer was out */
    sipnat_session *t_next;   /* the transport's list (t->sessions) */
};

/* -- events ----------------------------------------------------------- */

SIPNAT_API const char *sipnat_session_state_name(int state)
{
    static const char *const names[] = {
        "none", "incoming", "calling", "ringing", "early-media",
        "established", "held", "resumed", "media-changed", "terminated",
        "no-common-codec",
    };

    return state >= 0 && state <= SIPNAT_SESSION_NO_COMMON_CODEC ? names[state]
                                                                 : "unknown";
}

static void session_event(sipnat_session *s, int state, int status,
                          const char *phrase)
{
    sipnat_ctx *ctx = s->t->ctx;
    sipnat_event ev = {
        .size = sizeof ev,
        .type = SIPNAT_EVENT_SESSION,
        .status = status,
        .phrase = phrase ? phrase : "",
        .method = "INVITE",
        .uri = s->remote_uri,
        .state = state,
        .name = s->ep->name,
        .address = s->route.dest[0] ? s->route.dest : NULL,
        .port = s->route.dest_port,
        .error = s->error,
    };
    const sn_dns_target *tg = sn_hops_target(&s->hops);

    if (tg && !s->incoming) {
        ev.target_host = tg->host;
        ev.target_address = tg->addr;
        ev.target_port = tg->port;
    }

    if (state == SIPNAT_SESSION_TERMINATED &&
        s->state == SIPNAT_SESSION_TERMINATED)
        return; /* told once: BYE answered, dialog gone, ... */
    if (state != SIPNAT_SESSION_HELD && state != SIPNAT_SESSION_RESUMED &&
        state != SIPNAT_SESSION_MEDIA_CHANGED && state != SIPNAT_SESSION_NO_COMMON_CODEC)
        s->state = state;
    sn_log(ctx, SIPNAT_LOG_INFO, "session", "%s %s: %s (%d %s)", s->ep->name,
           s->remote_uri ? s->remote_uri : "?", sipnat_session_state_name(state),
           status, phrase ? phrase : "");
    if (!s->func || !ctx)
        return;
    sipnat_session_ref(s);
    sn_cb_enter(ctx);
    s->func(&ev, s->user_data);
    sn_cb_leave(ctx);
    ctx->n_dispatched++;
    sipnat_session_unref(s);
}

/* -- lifetime --------------------------------------------------------- */

static int reinvite(sipnat_session *s, bool hold);

/* Break a bridge; a peer left talking directly to the other one is
 * brought back to its anchor (a re-INVITE naming us again). */
static void unbridge(sipnat_session *s)
{
    sipnat_session *o = s->bridged;

    if (!o)
        return;
    o->bridged = NULL;
    s->bridged = NULL;
    if (o->direct) {
        o->direct = false;
        if (o->nh && o->answered && o->state != SIPNAT_SESSION_TERMINATED &&
            reinvite(o, o->local_hold) < 0)
            sn_log(o->t->ctx, SIPNAT_LOG_WARNING, "session",
                   "%s: cannot take the media back from direct", o->remote_uri);
    }
    s->direct = false;
}

static void session_free(sipnat_session *s)
{
    for (sipnat_session **p = &s->t->sessions; *p; p = &(*p)->t_next)
        if (*p == s) {
            *p = s->t_next;
            break;
        }
    sn_hops_clear(&s->hops);
    if (s->t->ctx)
        sn_ctx_timer_stop(s->t->ctx, &s->attempt_timer);
    unbridge(s);
    if (s->nh) {
        nua_handle_bind(s->nh, NULL);
        nua_handle_destroy(s->nh);
    }
    if (s->media)
        sn_media_free(s->media);
    free(s->pending_answer);
    free(s->offer_text);
    free(s->remote_uri);
    sipnat_endpoint_unref(s->ep);
    free(s);
}

SIPNAT_API sipnat_session *sipnat_session_ref(sipnat_session *s)
{
    if (s)
        s->n_ref++;
    return s;
}

SIPNAT_API sipnat_session *sipnat_session_unref(sipnat_session *s)
{
    if (!s || --s->n_ref > 0)
        return NULL;
    session_free(s);
    return NULL;
}

static sipnat_session *session_new(sipnat_endpoint *ep, const char *uri)
{
    sipnat_session *s = calloc(1, sizeof *s);

    if (!s || !(s->remote_uri = strdup(uri))) {
        free(s);
        return NULL;
    }
    s->h.kind = SN_H_SESSION;
    s->n_ref = 1;
    s->ep = sipnat_endpoint_ref(ep);
    s->t = ep->t;
    s->t_next = s->t->sessions;
    s->t->sessions = s;
    sn_timer_init(&s->attempt_timer, NULL, s);
    return s;
}

/* The call is over for NUA: drop what the dialog held. */
static void dialog_gone(sipnat_session *s, int status, const char *phrase)
{
    sn_dns_cancel(&s->hops.req);
    if (s->t->ctx)
        sn_ctx_timer_stop(s->t->ctx, &s->attempt_timer);
    if (s->state != SIPNAT_SESSION_TERMINATED)
        session_event(s, SIPNAT_SESSION_TERMINATED, status, phrase);
    if (s->media)
        sipnat_anchor_bridge(sn_media_anchor(s->media), NULL);
    unbridge(s);
    if (s->nh) {
        nua_handle_bind(s->nh, NULL);
        nua_handle_destroy(s->nh);
        s->nh = NULL;
    }
    if (s->dialog_ref) {
        s->dialog_ref = false;
        s->ep->n_sessions--;
        sipnat_session_unref(s);
    }
}

/* The address our SDP names toward the peer: the endpoint's
 * media_address (else the local address toward the peer), through the
 * transport's policy (external_media_address outside local_net). */
static int choose_media_addr(sipnat_session *s)
{
    sipnat_advert a = {.size = sizeof a};
    sipnat_advert_query q = {
        .size = sizeof q,
        .destination = s->route.dest,
        .destination_port = s->route.dest_port,
        .local_address = s->route.local,
        .local_port = s->t->port,
        .media_address = s->ep->cfg.media_address,
    };
    int r;

    if (!s->t->policy) {
        snprintf(s->media_addr, sizeof s->media_addr, "%s",
                 s->ep->cfg.media_address ? s->ep->cfg.media_address
                                          : s->route.local);
        return 0;
    }
    r = sipnat_policy_advertise(s->t->policy, &q, &a);
    if (r < 0)
        return r;
    snprintf(s->media_addr, sizeof s->media_addr, "%s", a.media_address);
    sn_log(s->t->ctx, SIPNAT_LOG_DEBUG, "session", "media to %s: %s (%s)",
           s->route.dest, s->media_addr, a.explanation);
    return 0;
}

/* -- outgoing --------------------------------------------------------- */

/* The contact a call without a URI goes to: the first reachable one,
 * else the first not known unreachable; *index says which. */
static const char *first_contact(sipnat_endpoint *ep, size_t *index)
{
    sipnat_contact_info info = {.size = sizeof info};
    const char *any = NULL;

    for (size_t i = 0; sipnat_endpoint_get_contact(ep, i, &info) == 0; i++) {
        if (info.reachable == 1) {
            *index = i;
            return info.uri;
        }
        if (!any && info.reachable != 0) {
            any = info.uri;
            *index = i;
        }
    }
    return any;
}

/* The next contact after *index not known unreachable (the seed's aor
 * with gw1 and gw2), or NULL. */
static const char *next_contact(sipnat_endpoint *ep, size_t *index)
{
    sipnat_contact_info info = {.size = sizeof info};

    for (size_t i = *index + 1; sipnat_endpoint_get_contact(ep, i, &info) == 0; i++)
        if (info.reachable != 0) {
            *index = i;
            return info.uri;
        }
    return NULL;
}

static void from_header(sipnat_session *s, char *buf, size_t len)
{
    const sipnat_endpoint_cfg *c = &s->ep->cfg;
    const char *user = c->from_user ? c->from_user : "libsipnat";
    char host[SIPNAT_ADDRSTRLEN + 2];

    if (c->from_domain)
        snprintf(host, sizeof host, "%s", c->from_domain);
    else
        snprintf(host, sizeof host, strchr(s->route.contact, '[') ? "[%s]" : "%s",
                 s->media_addr);
    snprintf(buf, len, "<sip:%s@%s>", user, host);
}

/* A target that has not answered (not even 100 Trying) in this long is
 * given up for the next one, when there is one: as for registrations. */
#define SN_CALL_TARGET_TIMEOUT_USEC (5u * 1000000u)

/* The INVITE with our offer, to the route chosen, on a new handle. */
static int send_invite(sipnat_session *s)
{
    char from[300], *sdp = NULL;
    const char *uri = s->remote_uri;
    int r = sn_media_offer(s->media, s->media_addr, false, &sdp);

    if (r < 0)
        return r;
    from_header(s, from, sizeof from);
    sipnat_ctx *prev = sn_log_enter(s->t->ctx);
    /* PRACK is ours on this handle (prack()); as the caller we never
     * receive one. */
    s->nh = nua_handle(s->t->nua, (nua_hmagic_t *)s, SIPTAG_TO_STR(uri),
                       SIPTAG_FROM_STR(from),
                       NUTAG_APPL_METHOD("OPTIONS, REGISTER, UPDATE, PRACK"), TAG_END());
    if (!s->nh) {
        sn_log_leave(prev);
        free(sdp);
        return -ENOMEM;
    }
    sn_log(s->t->ctx, SIPNAT_LOG_DEBUG, "session", "INVITE %s via %s: %s", uri,
           s->route.proxy, s->route.explanation);
    nua_invite(s->nh, NUTAG_URL(uri), NUTAG_PROXY(s->route.proxy), NUTAG_AUTOACK(0),
               SIPTAG_VIA_STR(s->route.via), SIPTAG_CONTACT_STR(s->route.contact),
               SIPTAG_CONTENT_TYPE_STR("application/sdp"),
               SIPTAG_PAYLOAD_STR(sdp), TAG_END());
    sn_log_leave(prev);
    free(sdp);
    s->offer_out = true;
    s->auth_tries = 0;
    size_t next = s->contact_at;
    if ((s->hops.res && s->hops.at + 1 < s->hops.res->n) ||
        (s->by_contact && next_contact(s->ep, &next)))
        sn_ctx_timer_arm(s->t->ctx, &s->attempt_timer, SN_CALL_TARGET_TIMEOUT_USEC);
    return 0;
}

/* The route to the target tried now. Behind STUN the INVITE waits for the
 * media's mappings (at most SN_STUN_GIVEUP_MS; sn_session_stun_ready
 * sends it). */
static int invite_target(sipnat_session *s)
{
    int r = sn_hops_route(&s->hops, s->t, s->ep->cfg.from_user, &s->route);

    if (r == 0)
        r = choose_media_addr(s);
    if (r == 0 && !s->media)
        r = sn_media_new(&s->media, s, s->route.local);
    if (r < 0)
        return r;
    if (sn_media_stun_waiting(s->media)) {
        s->invite_waits = true;
        return 0;
    }
    return send_invite(s);
}

/* Nothing could be sent: the call ends here. */
static void call_failed(sipnat_session *s, int error, const char *why)
{
    sn_log(s->t->ctx, SIPNAT_LOG_WARNING, "session", "call %s: %s", s->remote_uri,
           why);
    s->error = error;
    dialog_gone(s, 0, why);
}

static void call_resolved(void *arg, int error);

/* A call to the aor whose contact's targets all failed: the next
 * contact, resolved anew. */
static bool next_contact_call(sipnat_session *s)
{
    const char *uri;
    char *copy;

    if (!s->by_contact || !(uri = next_contact(s->ep, &s->contact_at)) ||
        !(copy = strdup(uri)))
        return false;
    sn_log(s->t->ctx, SIPNAT_LOG_NOTICE, "session",
           "call %s failed: trying the aor's next contact %s", s->remote_uri, copy);
    free(s->remote_uri);
    s->remote_uri = copy;
    return sn_hops_resolve(&s->hops, s->t, copy, call_resolved, s) == 0;
}

/* RFC 3263 4.3: after a 503, a timeout or a transport error (or no
 * answer in time) before the call was answered, a new INVITE to the next
 * target, then to the aor's next contact. The abandoned handle reports
 * nothing more. */
static bool next_target(sipnat_session *s, int status, const char *phrase)
{
    const sn_dns_target *tg = sn_hops_target(&s->hops);
    char was[SN_DNS_NAME_MAX + SIPNAT_ADDRSTRLEN + 16];

    if (s->incoming || s->answered || s->state != SIPNAT_SESSION_CALLING || !tg)
        return false;
    snprintf(was, sizeof was, "%s (%s:%d)", tg->host, tg->addr, tg->port);
    bool more = sn_hops_next(&s->hops);
    if (!more && !s->by_contact)
        return false;
    sipnat_ctx *prev = sn_log_enter(s->t->ctx);
    nua_handle_bind(s->nh, NULL);
    nua_handle_destroy(s->nh);
    sn_log_leave(prev);
    s->nh = NULL;
    if (!more) {
        if (!next_contact_call(s))
            dialog_gone(s, status, phrase && *phrase ? phrase : "no target answered");
        return true;
    }
    tg = sn_hops_target(&s->hops);
    sn_log(s->t->ctx, SIPNAT_LOG_NOTICE, "session", "call %s: %d %s from %s: trying %s (%s:%d)",
           s->remote_uri, status, phrase, was, tg->host, tg->addr, tg->port);
    if (invite_target(s) == 0)
        return true;
    call_failed(s, -EHOSTUNREACH, "cannot send the INVITE to the next target");
    return true;
}

static void attempt_timeout(sn_timer *timer, void *arg)
{
    sipnat_session *s = arg;

    (void)timer;
    sipnat_session_ref(s);
    next_target(s, 0, "no answer in time");
    sipnat_session_unref(s);
}

static void call_resolved(void *arg, int error)
{
    sipnat_session *s = arg;
    char why[160];

    if (s->state != SIPNAT_SESSION_CALLING || s->nh)
        return;
    if (!error && (!s->t->ctx || s->t->state != SN_T_OPEN || !s->t->nua))
        error = -ESHUTDOWN;
    if (!error)
        error = invite_target(s);
    if (!error)
        return;
    snprintf(why, sizeof why, "cannot call %s: %s", s->remote_uri, sipnat_strerror(error));
    sipnat_session_ref(s);
    call_failed(s, error, why);
    sipnat_session_unref(s);
}

static int media_for_call(sipnat_session *s, const char *uri)
{
    char host[SIPNAT_ADDRSTRLEN];
    const char *bind = s->t->address;
    sn_route r;

    if (sn_uri_numeric_host(uri, host, sizeof host) == 0 &&
        sn_route_for_addr(s->t, host, 5060, NULL, &r) == 0)
        bind = r.local;
    return sn_media_new(&s->media, s, bind);
}

SIPNAT_API int sipnat_session_call(sipnat_session **ret, sipnat_endpoint *ep,
                                   const char *uri, sipnat_event_func func,
                                   void *user_data)
{
    sipnat_session *s;
    int r;

    SN_RETURN_IF(!ret, -EINVAL);
    *ret = NULL;
    SN_RETURN_IF(!ep, -EINVAL);
    SN_RETURN_IF(uri && (strlen(uri) > 1024 || !sn_sip_uri_ok(uri)), -EINVAL);
    SN_RETURN_IF(!ep->t->ctx || ep->t->state != SN_T_OPEN, -ESHUTDOWN);
    SN_RETURN_IF(ep->cfg.max_sessions && ep->n_sessions >= ep->cfg.max_sessions, -EBUSY);
    size_t contact_at = 0;
    bool by_contact = !uri;
    if (!uri && !(uri = first_contact(ep, &contact_at)))
        return -ENOENT;
    s = session_new(ep, uri);
    if (!s)
        return -ENOMEM;
    s->by_contact = by_contact;
    s->contact_at = contact_at;
    s->func = func;
    s->user_data = user_data;
    s->attempt_timer.cb = attempt_timeout;
    /* The anchor exists from the start, so the host can attach its audio
     * at once: bound where the kernel sends toward a numeric next hop,
     * else (a name not resolved yet) to the transport's own address. */
    r = media_for_call(s, uri);
    if (r < 0) {
        sn_log(s->t->ctx, SIPNAT_LOG_WARNING, "session", "call %s: %s", uri,
               sipnat_strerror(r));
        session_free(s);
        return r;
    }
    /* The INVITE goes out when the next hop is known, from a later
     * process call; a name that does not resolve ends the call there. */
    r = sn_hops_resolve(&s->hops, s->t, uri, call_resolved, s);
    if (r < 0) {
        sn_log(s->t->ctx, SIPNAT_LOG_WARNING, "session", "call %s: %s", uri,
               sipnat_strerror(r));
        session_free(s);
        return r;
    }
    s->dialog_ref = true;
    ep->n_sessions++;
    s->n_ref++;
    s->state = SIPNAT_SESSION_CALLING;
    *ret = s;
    return 0;
}

/* -- incoming --------------------------------------------------------- */

/* in_callback: answering the request NUA is reporting right now. */
static void respond_sdp(sipnat_session *s, bool in_callback, int status,
                        const char *phrase, const char *sdp)
{
    nua_respond(s->nh, status, phrase,
                TAG_IF(in_callback, NUTAG_WITH_THIS(s->t->nua)),
                SIPTAG_CONTACT_STR(s->route.contact),
                TAG_IF(sdp, SIPTAG_CONTENT_TYPE_STR("application/sdp")),
                TAG_IF(sdp, SIPTAG_PAYLOAD_STR(sdp)), TAG_END());
}

/* The peer's offer (INVITE, re-INVITE or UPDATE): our answer, or the
 * refusal. Returns the answer (malloc'ed) or NULL when refused. */
static char *take_offer(sipnat_session *s, sip_t const *sip, int *status,
                        char *why, size_t why_len, sn_media_change *chg)
{
    char *answer = NULL;
    const sip_payload_t *pl = sip->sip_payload;

    *status = 0;
    if (sip->sip_content_type &&
        !su_casematch(sip->sip_content_type->c_type, "application/sdp")) {
        *status = 415;
        snprintf(why, why_len, "Unsupported Media Type");
        return NULL;
    }
    if (sn_media_take_offer(s->media, pl->pl_data, pl->pl_len, s->media_addr,
                            s->local_hold, &answer, status, why, why_len,
                            chg) < 0) {
        if (!*status)
            *status = 488;
        return NULL;
    }
    return answer;
}

/* The caller's URI (From) of an incoming INVITE. */
static void caller_uri(sip_t const *sip, char *uri, size_t size)
{
    su_home_t home[1] = {SU_HOME_INIT(home)};
    char *from = sip->sip_from ? url_as_string(home, sip->sip_from->a_url) : NULL;

    snprintf(uri, size, "%s", from ? from : "sip:unknown@invalid");
    su_home_deinit(home);
}

/* Route, media and the offer of a new incoming session; false when the
 * INVITE was refused (and the session freed). */
static bool incoming_setup(sipnat_session *s, sipnat_transport *t, nua_t *nua,
                           sip_t const *sip, const char *src, int port)
{
    char why[128] = "";
    int status = 0, r;
    sn_media_change chg;

    /* Responses and in-dialog requests go to where the INVITE came from. */
    r = sn_route_for_addr(t, src, port, NULL, &s->route);
    if (r == 0)
        r = choose_media_addr(s);
    if (r == 0)
        r = sn_media_new(&s->media, s, s->route.local);
    if (r < 0) {
        sn_log(t->ctx, SIPNAT_LOG_WARNING, "session", "INVITE from %s:%d: %s",
               src, port, sipnat_strerror(r));
        nua_respond(s->nh, SIP_500_INTERNAL_SERVER_ERROR, NUTAG_WITH_THIS(nua),
                    TAG_END());
        session_free(s); /* destroys the handle after the response */
        return false;
    }
    /* Pinned on the handle, so that NUA never resolves the peer's Contact
     * itself (a host name there would go to sofia's own resolver, on the
     * loop's path): BYE, re-INVITE, PRACK and UPDATE take the route of
     * the INVITE, as Asterisk's rewrite_contact would. */
    nua_set_hparams(s->nh, NUTAG_PROXY(s->route.proxy), TAG_END());
    if (sip->sip_payload && sip->sip_payload->pl_len) {
        s->pending_answer = take_offer(s, sip, &status, why, sizeof why, &chg);
        if (!s->pending_answer) {
            sn_log(t->ctx, SIPNAT_LOG_NOTICE, "session",
                   "INVITE from %s:%d refused: %d %s", src, port, status, why);
            nua_respond(s->nh, status, why[0] ? why : "Not Acceptable Here",
                        NUTAG_WITH_THIS(nua), TAG_END());
            session_free(s);
            return false;
        }
        s->remote_hold = chg.remote_hold;
        /* Answered again once STUN has the mappings. */
        if (sn_media_stun_waiting(s->media) &&
            !(s->offer_text = strndup(sip->sip_payload->pl_data,
                                      sip->sip_payload->pl_len))) {
            nua_respond(s->nh, SIP_500_INTERNAL_SERVER_ERROR,
                        NUTAG_WITH_THIS(nua), TAG_END());
            session_free(s);
            return false;
        }
    }
    /* No SDP: a late offer; our 200 offers, the ACK answers. */
    return true;
}

/* An INVITE flood meets max_sessions: 503 with Retry-After, before any
 * memory, anchor or port is spent on it. True when it was answered so. */
static bool over_max_sessions(sipnat_endpoint *ep, nua_t *nua, nua_handle_t *nh,
                              const char *src, int port)
{
    char retry[16];

    if (!ep->cfg.max_sessions || ep->n_sessions < ep->cfg.max_sessions)
        return false;
    snprintf(retry, sizeof retry, "%u", ep->cfg.retry_after);
    sn_log(ep->t->ctx, SIPNAT_LOG_NOTICE, "session",
           "%s: INVITE from %s:%d refused: %u calls already (max_sessions)", ep->name,
           src, port, ep->n_sessions);
    nua_respond(nh, SIP_503_SERVICE_UNAVAILABLE, NUTAG_WITH_THIS(nua),
                TAG_IF(ep->cfg.retry_after, SIPTAG_RETRY_AFTER_STR(retry)), TAG_END());
    nua_handle_destroy(nh);
    return true;
}

bool sn_session_incoming(sipnat_transport *t, nua_t *nua, nua_handle_t *nh,
                         sip_t const *sip, sipnat_endpoint *ep)
{
    msg_t *req = nua_current_request(nua);
    su_addrinfo_t *ai = req ? msg_addrinfo(req) : NULL;
    char uri[1100], src[SIPNAT_ADDRSTRLEN];
    sn_addr a;
    int port = 0;
    sipnat_session *s;

    if (!ep || !ep->cfg.incoming_func)
        return false;
    if (!ai || sn_addr_from_sockaddr(ai->ai_addr, &a, &port) < 0)
        return false;
    sn_addr_format(&a, src, sizeof src);
    if (over_max_sessions(ep, nua, nh, src, port))
        return true;
    caller_uri(sip, uri, sizeof uri);
    s = session_new(ep, uri);
    if (!s) {
        nua_respond(nh, SIP_500_INTERNAL_SERVER_ERROR, NUTAG_WITH_THIS(nua),
                    TAG_END());
        nua_handle_destroy(nh);
        return true;
    }
    s->incoming = true;
    s->nh = nh;
    nua_handle_bind(nh, (nua_hmagic_t *)s);
    if (!incoming_setup(s, t, nua, sip, src, port))
        return true;
    s->dialog_ref = true; /* the dialog's reference: the one we have */
    ep->n_sessions++;
    s->state = SIPNAT_SESSION_INCOMING;
    sn_log(t->ctx, SIPNAT_LOG_INFO, "session", "%s: INVITE from %s (%s:%d)",
           ep->name, uri, src, port);
    sipnat_session_ref(s);
    sn_cb_enter(t->ctx);
    ep->cfg.incoming_func(s, ep->cfg.incoming_user_data);
    sn_cb_leave(t->ctx);
    /* The event follows only while nothing happened to the call yet: a
     * host that rang, answered or rejected it from the incoming function
     * has had those events (and TERMINATED stays the last one). */
    if (s->state == SIPNAT_SESSION_INCOMING)
        session_event(s, SIPNAT_SESSION_INCOMING, 0, "INVITE");
    sipnat_session_unref(s);
    return true;
}

SIPNAT_API int sipnat_session_ring(sipnat_session *s)
{
    SN_RETURN_IF(!s, -EINVAL);
    SN_RETURN_IF(!s->incoming, -EPROTO);
    SN_RETURN_IF(!s->nh || s->state != SIPNAT_SESSION_INCOMING, -EALREADY);
    sipnat_ctx *prev = sn_log_enter(s->t->ctx);
    respond_sdp(s, false, SIP_180_RINGING, NULL);
    sn_log_leave(prev);
    session_event(s, SIPNAT_SESSION_RINGING, 180, "Ringing");
    return 0;
}

/* The 200 with our answer (or, to a late offer, our offer). */
static int send_answer(sipnat_session *s)
{
    char *offer = NULL;
    int r;

    if (!s->pending_answer) {
        r = sn_media_offer(s->media, s->media_addr, s->local_hold, &offer);
        if (r < 0)
            return r;
        s->offer_out = true;
    }
    sipnat_ctx *prev = sn_log_enter(s->t->ctx);
    respond_sdp(s, false, SIP_200_OK,
                s->pending_answer ? s->pending_answer : offer);
    sn_log_leave(prev);
    free(offer);
    free(s->pending_answer);
    s->pending_answer = NULL;
    s->answered = true;
    session_event(s, SIPNAT_SESSION_ESTABLISHED, 200, "OK");
    return 0;
}

SIPNAT_API int sipnat_session_answer(sipnat_session *s)
{
    SN_RETURN_IF(!s, -EINVAL);
    SN_RETURN_IF(!s->incoming, -EPROTO);
    SN_RETURN_IF(!s->nh || s->answer_waits ||
                     (s->state != SIPNAT_SESSION_INCOMING &&
                      s->state != SIPNAT_SESSION_RINGING),
                 -EALREADY);
    if (sn_media_stun_waiting(s->media)) {
        s->answer_waits = true; /* sn_session_stun_ready sends it */
        return 0;
    }
    return send_answer(s);
}

SIPNAT_API int sipnat_session_reject(sipnat_session *s, int status)
{
    SN_RETURN_IF(!s || status < 300 || status > 699, -EINVAL);
    SN_RETURN_IF(!s->incoming, -EPROTO);
    SN_RETURN_IF(!s->nh || s->answered || s->state == SIPNAT_SESSION_TERMINATED,
                 -EALREADY);
    sipnat_ctx *prev = sn_log_enter(s->t->ctx);
    nua_respond(s->nh, status, sip_status_phrase(status), TAG_END());
    sn_log_leave(prev);
    session_event(s, SIPNAT_SESSION_TERMINATED, status,
                  sip_status_phrase(status) ? sip_status_phrase(status) : "");
    return 0;
}

SIPNAT_API int sipnat_session_hangup(sipnat_session *s)
{
    SN_RETURN_IF(!s, -EINVAL);
    if (!s->nh && !s->incoming && s->state == SIPNAT_SESSION_CALLING) {
        /* Still finding its next hop, or waiting for STUN: nothing
         * went out. */
        s->invite_waits = false;
        sipnat_session_ref(s);
        dialog_gone(s, 487, "Request Terminated");
        sipnat_session_unref(s);
        return 0;
    }
    SN_RETURN_IF(!s->nh || s->state == SIPNAT_SESSION_TERMINATED, -EALREADY);
    if (s->incoming && !s->answered)
        return sipnat_session_reject(s, 486);
    sipnat_ctx *prev = sn_log_enter(s->t->ctx);
    if (!s->answered)
        nua_cancel(s->nh, SIPTAG_VIA_STR(s->route.via), TAG_END());
    else
        nua_bye(s->nh, SIPTAG_VIA_STR(s->route.via), TAG_END());
    sn_log_leave(prev);
    return 0;
}

static void send_reinvite(sipnat_session *s, const char *sdp)
{
    s->offer_out = true;
    sipnat_ctx *prev = sn_log_enter(s->t->ctx);
    nua_invite(s->nh, SIPTAG_VIA_STR(s->route.via), NUTAG_AUTOACK(0),
               SIPTAG_CONTACT_STR(s->route.contact),
               SIPTAG_CONTENT_TYPE_STR("application/sdp"),
               SIPTAG_PAYLOAD_STR(sdp), TAG_END());
    sn_log_leave(prev);
}

/* A re-INVITE of ours: hold or resume. */
static int reinvite(sipnat_session *s, bool hold)
{
    char *sdp = NULL;
    int r;

    SN_RETURN_IF(!s, -EINVAL);
    SN_RETURN_IF(!s->nh || !s->answered || s->state == SIPNAT_SESSION_TERMINATED,
                 -ENOTCONN);
    SN_RETURN_IF(s->offer_out, -EBUSY);
    r = sn_media_offer(s->media, s->media_addr, hold, &sdp);
    if (r < 0)
        return r;
    s->local_hold = hold;
    send_reinvite(s, sdp);
    free(sdp);
    return 0;
}


SIPNAT_API int sipnat_session_hold(sipnat_session *s)
{
    return reinvite(s, true);
}

SIPNAT_API int sipnat_session_resume(sipnat_session *s)
{
    return reinvite(s, false);
}

/* Asterisk's direct_media: when both endpoints allow it and each peer can
 * reach the other (no NAT in front of either: the SDP's address is the
 * one its SIP comes from; both public, or both private on one LAN), and
 * neither leg is SRTP (the keys are ours), each peer is re-INVITEd with
 * the other's media address and the anchors idle. Otherwise we relay. */
static bool direct_possible(sipnat_session *a, sipnat_session *b, char *aaddr,
                            int *aport, char *baddr, int *bport)
{
    sn_addr x, y;

    if (!a->ep->cfg.direct_media || !b->ep->cfg.direct_media || !a->answered ||
        !b->answered || a->offer_out || b->offer_out || a->local_hold ||
        b->local_hold || sn_media_encrypted(a->media) || sn_media_encrypted(b->media) ||
        sn_media_peer(a->media, aaddr, SIPNAT_ADDRSTRLEN, aport) < 0 ||
        sn_media_peer(b->media, baddr, SIPNAT_ADDRSTRLEN, bport) < 0)
        return false;
    if (strcmp(aaddr, a->route.dest) != 0 || strcmp(baddr, b->route.dest) != 0)
        return false; /* a NAT (or a media server) in front of one of them */
    if (sn_addr_parse(aaddr, &x) < 0 || sn_addr_parse(baddr, &y) < 0 ||
        x.family != y.family)
        return false;
    return sn_addr_is_private(&x) == sn_addr_is_private(&y) &&
           (!sn_addr_is_private(&x) || strcmp(a->route.local, b->route.local) == 0);
}

static void go_direct(sipnat_session *a, sipnat_session *b)
{
    char aaddr[SIPNAT_ADDRSTRLEN], baddr[SIPNAT_ADDRSTRLEN], *sa = NULL, *sb = NULL;
    int aport, bport;

    if (!direct_possible(a, b, aaddr, &aport, baddr, &bport))
        return;
    if (sn_media_offer_direct(a->media, baddr, bport, &sa) < 0 ||
        sn_media_offer_direct(b->media, aaddr, aport, &sb) < 0) {
        free(sa);
        free(sb);
        return;
    }
    sn_log(a->t->ctx, SIPNAT_LOG_INFO, "session",
           "direct media: %s:%d <-> %s:%d (re-INVITE both)", aaddr, aport, baddr, bport);
    send_reinvite(a, sa);
    send_reinvite(b, sb);
    a->direct = b->direct = true;
    free(sa);
    free(sb);
}

SIPNAT_API int sipnat_session_bridge(sipnat_session *a, sipnat_session *b)
{
    int r;

    SN_RETURN_IF(!a || a == b, -EINVAL);
    SN_RETURN_IF(b && (a->t->ctx != b->t->ctx || !b->media), -EINVAL);
    SN_RETURN_IF(!a->media, -EINVAL);
    r = sipnat_anchor_bridge(sn_media_anchor(a->media),
                             b ? sn_media_anchor(b->media) : NULL);
    if (r < 0)
        return r;
    unbridge(a);
    if (b) {
        unbridge(b);
        a->bridged = b;
        b->bridged = a;
        go_direct(a, b);
    }
    return 0;
}

/* -- accessors -------------------------------------------------------- */

sipnat_endpoint *sn_session_endpoint(sipnat_session *s)
{
    return s->ep;
}

const char *sn_session_peer_address(sipnat_session *s)
{
    return s->route.dest[0] ? s->route.dest : NULL;
}

SIPNAT_API int sipnat_endpoint_cfg_set_incoming_func(sipnat_endpoint_cfg *cfg,
                                                     sipnat_incoming_func func,
                                                     void *user_data)
{
    SN_RETURN_IF(!cfg, -EINVAL);
    cfg->incoming_func = func;
    cfg->incoming_user_data = user_data;
    return 0;
}

/* Asterisk's names and the RTP names, as one list "PCMU,PCMA". */
SIPNAT_API int sipnat_endpoint_cfg_set_codecs(sipnat_endpoint_cfg *cfg,
                                              const char *allow)
{
    char list[64] = "", item[32];
    const char *p = allow;
    size_t n;

    SN_RETURN_IF(!cfg || !allow || strlen(allow) > 256, -EINVAL);
    while (*p) {
        const char *name;

        p += strspn(p, " ,");
        n = strcspn(p, " ,");
        if (n == 0)
            break;
        SN_RETURN_IF(n >= sizeof item, -EINVAL);
        memcpy(item, p, n);
        item[n] = '\0';
        p += n;
        if (su_casematch(item, "ulaw") || su_casematch(item, "PCMU") ||
            su_casematch(item, "g711u"))
            name = "PCMU";
        else if (su_casematch(item, "alaw") || su_casematch(item, "PCMA") ||
                 su_casematch(item, "g711a"))
            name = "PCMA";
        else if (su_casematch(item, "g722"))
            name = "G722";
        else if (su_casematch(item, "opus"))
            name = "opus";
        else
            return -EINVAL;
        if (!strstr(list, name))
            snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s",
                     list[0] ? "," : "", name);
    }
    SN_RETURN_IF(!list[0], -EINVAL);
    return sn_replace_str(&cfg->codecs, list);
}

static bool word_ok(const char *s, size_t max)
{
    size_t n = strlen(s);

    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] > 0x7e ||
            strchr("<>\"@;,\\", s[i]))
            return false;
    return true;
}

SIPNAT_API int sipnat_endpoint_cfg_set_from(sipnat_endpoint_cfg *cfg,
                                            const char *user,
                                            const char *domain)
{
    int r;

    SN_RETURN_IF(!cfg || (user && !word_ok(user, 128)) ||
                     (domain && !word_ok(domain, 253)),
                 -EINVAL);
    if ((r = sn_replace_str(&cfg->from_user, user)) < 0)
        return r;
    return sn_replace_str(&cfg->from_domain, domain);
}

SIPNAT_API int sipnat_endpoint_cfg_set_rtp_symmetric(sipnat_endpoint_cfg *cfg,
                                                     int on)
{
    SN_RETURN_IF(!cfg, -EINVAL);
    cfg->rtp_symmetric = on != 0;
    return 0;
}

SIPNAT_API int sipnat_endpoint_cfg_set_direct_media(sipnat_endpoint_cfg *cfg,
                                                    int on)
{
    SN_RETURN_IF(!cfg, -EINVAL);
    cfg->direct_media = on != 0;
    return 0;
}

SIPNAT_API int sipnat_endpoint_cfg_set_ice(sipnat_endpoint_cfg *cfg, int on)
{
    SN_RETURN_IF(!cfg, -EINVAL);
    cfg->ice = on != 0;
    return 0;
}

SIPNAT_API int sipnat_endpoint_cfg_set_media_encryption(sipnat_endpoint_cfg *cfg,
                                                        sipnat_media_encryption enc)
{
    SN_RETURN_IF(!cfg, -EINVAL);
    SN_RETURN_IF(enc != SIPNAT_MEDIA_ENCRYPTION_NO && enc != SIPNAT_MEDIA_ENCRYPTION_SDES,
                 -EINVAL);
    cfg->sdes = enc == SIPNAT_MEDIA_ENCRYPTION_SDES;
    return 0;
}

SIPNAT_API int sipnat_endpoint_cfg_set_media_encryption_optimistic(sipnat_endpoint_cfg *cfg,
                                                                   int on)
{
    SN_RETURN_IF(!cfg || (on != 0 && on != 1), -EINVAL);
    cfg->sdes_optimistic = on;
    return 0;
}

SIPNAT_API int sipnat_endpoint_cfg_set_media_address(sipnat_endpoint_cfg *cfg,
                                                     const char *address)
{
    sn_addr a;
    char buf[SIPNAT_ADDRSTRLEN];

    SN_RETURN_IF(!cfg, -EINVAL);
    if (!address)
        return sn_replace_str(&cfg->media_address, NULL);
    SN_RETURN_IF(sn_addr_parse(address, &a) < 0, -EINVAL);
    sn_addr_format(&a, buf, sizeof buf);
    return sn_replace_str(&cfg->media_address, buf);
}

SIPNAT_API int sipnat_endpoint_cfg_set_rtp_timeout(sipnat_endpoint_cfg *cfg,
                                                   unsigned seconds)
{
    SN_RETURN_IF(!cfg || seconds > 86400, -EINVAL);
    cfg->rtp_timeout = seconds;
    return 0;
}

SIPNAT_API int sipnat_endpoint_cfg_set_max_sessions(sipnat_endpoint_cfg *cfg,
                                                   unsigned max, unsigned retry_after)
{
    SN_RETURN_IF(!cfg || max > SN_MAX_SESSIONS || retry_after > 86400, -EINVAL);
    cfg->max_sessions = max;
    cfg->retry_after = retry_after;
    return 0;
}

SIPNAT_API int sipnat_session_set_event_func(sipnat_session *s,
                                             sipnat_event_func func,
                                             void *user_data)
{
    SN_RETURN_IF(!s, -EINVAL);
    s->func = func;
    s->user_data = user_data;
    return 0;
}

SIPNAT_API int sipnat_session_get_state(const sipnat_session *s)
{
    return s ? s->state : -EINVAL;
}

SIPNAT_API sipnat_endpoint *sipnat_session_get_endpoint(const sipnat_session *s)
{
    return s ? s->ep : NULL;
}

SIPNAT_API const char *sipnat_session_get_remote_uri(const sipnat_session *s)
{
    return s ? s->remote_uri : NULL;
}

SIPNAT_API sipnat_anchor *sipnat_session_get_anchor(const sipnat_session *s)
{
    return s && s->media ? sn_media_anchor(s->media) : NULL;
}

/* -- NUA events ------------------------------------------------------- */

static void media_changed(sipnat_session *s, const sn_media_change *chg)
{
    if (chg->remote_hold != s->remote_hold) {
        s->remote_hold = chg->remote_hold;
        session_event(s, chg->remote_hold ? SIPNAT_SESSION_HELD
                                          : SIPNAT_SESSION_RESUMED,
                      0, chg->remote_hold ? "held by the peer"
                                          : "resumed by the peer");
    } else if (chg->moved) {
        session_event(s, SIPNAT_SESSION_MEDIA_CHANGED, 0,
                      "the peer's media moved");
    }
}

/* The answer to our offer, in a 18x/2xx or (late offer) the ACK. */
static void take_answer(sipnat_session *s, sip_t const *sip, bool reinvite)
{
    char why[128] = "";
    sn_media_change chg = {0};

    if (!sip || !sip->sip_payload || !sip->sip_payload->pl_len || !s->offer_out)
        return; /* no SDP, or the 200 repeating the 183's answer */
    s->offer_out = false;
    if (sn_media_take_answer(s->media, sip->sip_payload->pl_data,
                             sip->sip_payload->pl_len, why, sizeof why,
                             &chg) < 0) {
        sn_log(s->t->ctx, SIPNAT_LOG_WARNING, "session",
               "%s: unusable answer: %s; hanging up", s->remote_uri, why);
        nua_bye(s->nh, SIPTAG_VIA_STR(s->route.via), TAG_END());
        return;
    }
    if (reinvite && s->direct) {
        session_event(s, SIPNAT_SESSION_MEDIA_CHANGED, 200,
                      "direct media with the bridged peer");
    } else if (reinvite && s->rebinding) {
        s->rebinding = false;
        sn_media_relatch(s->media);
        session_event(s, SIPNAT_SESSION_MEDIA_CHANGED, 200,
                      "the peer follows our new address");
    } else if (reinvite) {
        if (s->local_hold)
            session_event(s, SIPNAT_SESSION_HELD, 200, "held");
        else
            session_event(s, SIPNAT_SESSION_RESUMED, 200, "resumed");
    } else {
        s->remote_hold = chg.remote_hold;
    }
}

static void rebind(sipnat_session *s);

static void incoming_reoffer(sipnat_session *s, sip_t const *sip)
{
    char why[128] = "";
    int status = 0;
    sn_media_change chg = {0};
    char *answer = NULL;

    if (sip->sip_payload && sip->sip_payload->pl_len)
        answer = take_offer(s, sip, &status, why, sizeof why, &chg);
    else if (sn_media_offer(s->media, s->media_addr, s->local_hold, &answer) == 0)
        s->offer_out = true; /* no offer: ours goes in the 200 */
    if (!answer) {
        nua_respond(s->nh, status ? status : 500, why[0] ? why : "Media Error",
                    NUTAG_WITH_THIS(s->t->nua), TAG_END());
        return;
    }
    respond_sdp(s, true, SIP_200_OK, answer);
    free(answer);
    media_changed(s, &chg);
}

/* A 401/407 to our INVITE: answer it once with the endpoint's
 * outbound_auth when the realm is the one configured (or any, if none). */
static bool authenticate(sipnat_session *s, int status, sip_t const *sip)
{
    const sipnat_endpoint_cfg *c = &s->ep->cfg;
    msg_auth_t const *au = !sip ? NULL
                         : status == 407 ? sip->sip_proxy_authenticate
                                         : sip->sip_www_authenticate;
    char const *realm = au ? msg_params_find(au->au_params, "realm=") : NULL;
    char auth[700], r[260];
    size_t n;

    if (!c->out_user || !realm || s->auth_tries >= 2)
        return false;
    n = strlen(realm);
    if (n >= 2 && realm[0] == '"')
        realm++, n -= 2;
    if (n == 0 || n >= sizeof r || memchr(realm, '"', n))
        return false;
    memcpy(r, realm, n);
    r[n] = '\0';
    if (c->out_realm && strcmp(c->out_realm, r) != 0) {
        sn_log(s->t->ctx, SIPNAT_LOG_WARNING, "session",
               "%s: challenged for realm %s, credentials are for %s", s->remote_uri,
               r, c->out_realm);
        return false;
    }
    s->auth_tries++;
    snprintf(auth, sizeof auth, "Digest:\"%s\":%s:%s", r, c->out_user, c->out_pass);
    nua_authenticate(s->nh, NUTAG_AUTH(auth), TAG_END());
    explicit_bzero(auth, sizeof auth);
    return true;
}

/* The PRACK of a reliable provisional response (RFC 3262), with our Via
 * (NUA would send its own with the bound address). */
static void prack(sipnat_session *s, sip_t const *sip)
{
    sip_rack_t rack[1];

    if (!sip || !sip->sip_rseq || !sip->sip_cseq)
        return;
    sip_rack_init(rack);
    rack->ra_response = sip->sip_rseq->rs_response;
    rack->ra_cseq = sip->sip_cseq->cs_seq;
    rack->ra_method = sip->sip_cseq->cs_method;
    rack->ra_method_name = sip->sip_cseq->cs_method_name;
    nua_prack(s->nh, SIPTAG_RACK(rack), SIPTAG_VIA_STR(s->route.via),
              SIPTAG_CONTACT_STR(s->route.contact), TAG_END());
}

/* A response to our INVITE (the first or a re-INVITE). */
static void invite_answered(sipnat_session *s, int status, char const *phrase,
                            sip_t const *sip)
{
    if (!s->answered && status >= 100 && s->t->ctx)
        sn_ctx_timer_stop(s->t->ctx, &s->attempt_timer); /* it answers */
    if (status > 100 && status < 200 && !s->incoming)
        prack(s, sip);
    if (status == 180 || status == 181 || status == 183) {
        if (sip && sip->sip_payload && sip->sip_payload->pl_len) {
            take_answer(s, sip, false);
            session_event(s, SIPNAT_SESSION_EARLY_MEDIA, status, phrase);
        } else if (s->state == SIPNAT_SESSION_CALLING) {
            session_event(s, SIPNAT_SESSION_RINGING, status, phrase);
        }
    } else if (status >= 200 && status < 300) {
        bool reinv = s->answered;

        /* Our own ACK (NUTAG_AUTOACK(0)): NUA's would carry the bound
         * address in its Via, across the NAT. */
        nua_ack(s->nh, SIPTAG_VIA_STR(s->route.via), TAG_END());

        take_answer(s, sip, reinv);
        if (!reinv) {
            s->answered = true;
            session_event(s, SIPNAT_SESSION_ESTABLISHED, status, phrase);
        }

    } else if ((status == 401 || status == 407) && authenticate(s, status, sip)) {
        ; /* the INVITE goes again, with credentials */
    } else if (sn_failover_status(status) && next_target(s, status, phrase)) {
        ; /* the call goes on to the next target */
    } else if (status >= 300) {
        s->offer_out = false;
        if (s->rebinding)
            sn_log(s->t->ctx, SIPNAT_LOG_WARNING, "session",
                   "%s: the peer refused our new address (%d %s): it keeps "
                   "sending to the old one", s->remote_uri, status, phrase);
        s->rebinding = false;
        if (s->answered)
            sn_log(s->t->ctx, SIPNAT_LOG_WARNING, "session",
                   "%s: re-INVITE refused: %d %s", s->remote_uri, status,
                   phrase);
        else
            session_event(s, SIPNAT_SESSION_TERMINATED, status, phrase);
    }
}

void sn_session_nua_event(sipnat_session *s, nua_event_t event, int status,
                          char const *phrase, nua_handle_t *nh,
                          sip_t const *sip, tagi_t tags[])
{
    int callstate = -1;

    (void)nh;
    sipnat_session_ref(s);
    switch (event) {
    case nua_r_invite:
        invite_answered(s, status, phrase, sip);
        break;

    case nua_i_invite:
        /* A re-INVITE on our dialog (the first INVITE went through
         * sn_session_incoming). */
        if (s->answered && sip)
            incoming_reoffer(s, sip);
        break;

    case nua_i_update:
        if (sip)
            incoming_reoffer(s, sip);
        break;

    case nua_i_ack:
        if (s->offer_out)
            take_answer(s, sip, false);
        break;

    case nua_i_cancel:
        session_event(s, SIPNAT_SESSION_TERMINATED, 487, "Cancelled");
        break;

    case nua_i_bye:
        session_event(s, SIPNAT_SESSION_TERMINATED, 200, "BYE from the peer");
        break;

    case nua_r_bye:
        if (status >= 200)
            session_event(s, SIPNAT_SESSION_TERMINATED, status, "hung up");
        break;

    case nua_i_state:
        tl_gets(tags, NUTAG_CALLSTATE_REF(callstate), TAG_END());
        if (callstate == nua_callstate_terminated)
            dialog_gone(s, status, phrase);
        break;

    case nua_i_terminated:
        dialog_gone(s, status, phrase);
        break;

    default:
        break;
    }
    /* An address change that came while an offer was out (ours, or the
     * one in our 200 to an offerless re-INVITE): its turn now. */
    if (s->rebind_due && !s->offer_out)
        rebind(s);
    sipnat_session_unref(s);
}

/* -- address changes ------------------------------------------------ */

/* Our address toward the peer may have changed (something learned, the
 * network changed, a STUN mapping moved): when the Contact or the media
 * address the policy gives now differ from what the peer has, a
 * re-INVITE tells it (RFC 3261 target refresh; the SDP keeps the anchor
 * and its SRTP keys, so the streams go on with their rollover counters).
 * Nothing is sent while the policy knows no address the peer could use
 * (right after the network changed): the next learned one brings it. */
static void rebind(sipnat_session *s)
{
    sn_route was = s->route, now;
    char media_was[SIPNAT_ADDRSTRLEN];

    if (!s->nh || !s->answered || s->state == SIPNAT_SESSION_TERMINATED ||
        s->direct || !s->t->ctx || s->t->state != SN_T_OPEN)
        return;
    if (s->offer_out) {
        s->rebind_due = true;
        return;
    }
    if (sn_route_for_addr(s->t, was.dest, was.dest_port,
                          s->incoming ? NULL : s->ep->cfg.from_user, &now) < 0 ||
        now.hidden)
        return;
    snprintf(media_was, sizeof media_was, "%s", s->media_addr);
    s->route = now;
    if (choose_media_addr(s) < 0 ||
        (s->t->policy && sn_policy_exposes(s->t->policy, now.dest, s->media_addr))) {
        s->route = was;
        snprintf(s->media_addr, sizeof s->media_addr, "%s", media_was);
        return;
    }
    if (strcmp(was.contact, now.contact) == 0 &&
        strcmp(was.via, now.via) == 0 && strcmp(media_was, s->media_addr) == 0 &&
        !sn_media_moved(s->media, s->media_addr))
        return;
    s->rebind_due = false;
    sn_log(s->t->ctx, SIPNAT_LOG_NOTICE, "session",
           "%s: our address changed: re-INVITE with Contact %s, media %s (%s)",
           s->remote_uri, now.contact, s->media_addr, now.explanation);
    if (reinvite(s, s->local_hold) == 0)
        s->rebinding = true;
}

void sn_sessions_address_changed(sipnat_transport *t)
{
    sipnat_session *next;

    for (sipnat_session *s = t->sessions; s; s = next) {
        sipnat_session_ref(s);
        rebind(s);
        next = s->t_next;
        sipnat_session_unref(s);
    }
}

void sn_sessions_network_changed(sipnat_transport *t)
{
    for (sipnat_session *s = t->sessions; s; s = s->t_next)
        if (s->media && s->answered && s->state != SIPNAT_SESSION_TERMINATED)
            sn_media_network_changed(s->media);
    sn_sessions_address_changed(t);
}

void sn_session_media_moved(sipnat_session *s)
{
    sipnat_session_ref(s);
    rebind(s);
    sipnat_session_unref(s);
}

/* -- STUN ------------------------------------------------------------- */

/* The media's mappings are in: what waited goes out, with the route and
 * the media address chosen again (the policy may have learned the
 * public address from STUN meanwhile). */
static int stun_resend(sipnat_session *s)
{
    int r;

    if (!s->t->ctx || s->t->state != SN_T_OPEN)
        return -ESHUTDOWN;
    if (s->invite_waits) {
        s->invite_waits = false;
        r = sn_hops_route(&s->hops, s->t, s->ep->cfg.from_user, &s->route);
        if (r == 0)
            r = choose_media_addr(s);
        return r == 0 ? send_invite(s) : r;
    }
    char src[SIPNAT_ADDRSTRLEN];
    snprintf(src, sizeof src, "%s", s->route.dest);
    r = sn_route_for_addr(s->t, src, s->route.dest_port, NULL, &s->route);
    if (r == 0)
        r = choose_media_addr(s);
    if (r == 0 && s->offer_text) {
        char why[128] = "", *answer = NULL;
        int status = 0;
        sn_media_change chg;
        r = sn_media_take_offer(s->media, s->offer_text, strlen(s->offer_text),
                                s->media_addr, s->local_hold, &answer, &status,
                                why, sizeof why, &chg);
        if (r == 0) {
            free(s->pending_answer);
            s->pending_answer = answer;
        }
    }
    if (r == 0 && s->answer_waits) {
        s->answer_waits = false;
        r = send_answer(s);
    }
    return r;
}

void sn_session_stun_ready(sipnat_session *s)
{
    if (s->state == SIPNAT_SESSION_TERMINATED)
        return;
    sipnat_session_ref(s);
    int r = stun_resend(s);
    if (r < 0) {
        sn_log(s->t->ctx, SIPNAT_LOG_WARNING, "session", "%s: %s", s->remote_uri,
               sipnat_strerror(r));
        s->invite_waits = s->answer_waits = false;
        if (s->incoming && s->nh && !s->answered)
            sipnat_session_reject(s, 500);
        else if (!s->nh)
            session_event(s, SIPNAT_SESSION_TERMINATED, 500, sipnat_strerror(r));
        if (!s->nh && s->dialog_ref) {
            s->dialog_ref = false;
            sipnat_session_unref(s);
        }
    }
    sipnat_session_unref(s);
}

/* -- media failures -------------------------------------------------- */

/* The anchor cannot relay this call's audio to the bridged call: the
 * host hears of it (the call goes on: DTMF still crosses, and a
 * re-INVITE may bring a common codec). */
void sn_session_no_common_codec(sipnat_session *s)
{
    if (s->state != SIPNAT_SESSION_TERMINATED)
        session_event(s, SIPNAT_SESSION_NO_COMMON_CODEC, 488,
                      "no codec in common with the bridged call");
}

/* The anchor says the media is gone (rtp_timeout) or unusable (SRTP that
 * never authenticates: a wrong key): hang up with a clear status. */
void sn_session_media_failed(sipnat_session *s, int status, const char *why)
{
    if (!s->nh || s->state == SIPNAT_SESSION_TERMINATED)
        return;
    sn_log(s->t->ctx, SIPNAT_LOG_NOTICE, "session", "%s: %s: hanging up",
           s->remote_uri, why);
    sipnat_ctx *prev = sn_log_enter(s->t->ctx);
    if (s->answered)
        nua_bye(s->nh, SIPTAG_VIA_STR(s->route.via),
                TAG_IF(status == 408,
                       SIPTAG_REASON_STR("Q.850;cause=16;text=\"rtp timeout\"")),
                TAG_END());
    else if (!s->incoming)
        nua_cancel(s->nh, TAG_END());
    sn_log_leave(prev);
    session_event(s, SIPNAT_SESSION_TERMINATED, status, why);
}
