/*
 * libsipnat - a loaded configuration turned into the library's objects:
 * transports (with a static policy from local_net and the external_*
 * addresses), endpoints (with their identify matches, auth and aor) and
 * outbound registrations. Public API only: the loader is the first client
 * of the API and shows that it is sufficient.
 */
#include <sipnat/sipnat.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAMED_MAX 64

typedef struct named {
    char *name;
    void *obj;
} named;

struct sipnat_setup {
    unsigned n_ref;
    named transports[NAMED_MAX];
    size_t n_transports;
    named endpoints[NAMED_MAX];
    size_t n_endpoints;
    named registrations[NAMED_MAX];
    size_t n_registrations;
};

typedef struct apply_ctx {
    const sipnat_config *cfg;
    sipnat_ctx *ctx;
    const sipnat_setup_hooks *hooks;
    sipnat_setup *setup;
    int errors;
} apply_ctx;

static void diag(apply_ctx *a, sipnat_config_type type, const char *name,
                 const char *key, const char *fmt, const char *arg, int err)
    __attribute__((format(printf, 5, 0)));

static void diag(apply_ctx *a, sipnat_config_type type, const char *name,
                 const char *key, const char *fmt, const char *arg, int err)
{
    const char *file = NULL;
    unsigned line = 0;
    char msg[512];

    if (sipnat_config_get_location(a->cfg, type, name, key, 0, &file, &line) < 0)
        sipnat_config_get_location(a->cfg, type, name, NULL, 0, &file, &line);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(msg, sizeof msg, fmt, arg ? arg : "");
#pragma GCC diagnostic pop
    if (err)
        snprintf(msg + strlen(msg), sizeof msg - strlen(msg), ": %s",
                 sipnat_strerror(err));
    a->errors++;
    if (a->hooks && a->hooks->diag)
        a->hooks->diag(SIPNAT_LOG_ERR, file ? file : "?", line, msg,
                       a->hooks->user_data);
}

static const char *get(apply_ctx *a, sipnat_config_type type, const char *name,
                       const char *key)
{
    const char *v = NULL;

    return sipnat_config_get(a->cfg, type, name, key, 0, &v) >= 0 ? v : NULL;
}

/* Set: 0 set (or default) and *out filled, else false. */
static bool get_uint(apply_ctx *a, sipnat_config_type type, const char *name,
                     const char *key, unsigned *out)
{
    return sipnat_config_get_uint(a->cfg, type, name, key, out) >= 0;
}

/* [global] keep_alive_interval: Asterisk's keep-alive on
 * connection-oriented transports (90 s when no section says). */
static unsigned global_keepalive(apply_ctx *a)
{
    const char *g = NULL;
    unsigned ka = 90;

    if (sipnat_config_get_name(a->cfg, SIPNAT_CONFIG_GLOBAL, 0, &g) == 0)
        get_uint(a, SIPNAT_CONFIG_GLOBAL, g, "keep_alive_interval", &ka);
    return ka;
}

static int get_bool(apply_ctx *a, sipnat_config_type type, const char *name,
                    const char *key, int dflt)
{
    int v;

    return sipnat_config_get_bool(a->cfg, type, name, key, &v) >= 0 ? v : dflt;
}

static void *find(const named *list, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i].name, name) == 0)
            return list[i].obj;
    return NULL;
}

static int keep(named *list, size_t *n, const char *name, void *obj)
{
    if (*n == NAMED_MAX)
        return -ENOSPC;
    if (!(list[*n].name = strdup(name)))
        return -ENOMEM;
    list[(*n)++].obj = obj;
    return 0;
}

/* "0.0.0.0", "0.0.0.0:5062", "[::]:5060" */
static int split_bind(const char *bind, char *addr, size_t len, int *port)
{
    const char *colon = strrchr(bind, ':');

    if (bind[0] == '[') {
        const char *end = strchr(bind, ']');
        if (!end)
            return -EINVAL;
        snprintf(addr, len, "%.*s", (int)(end - bind - 1), bind + 1);
        *port = end[1] == ':' ? atoi(end + 2) : 0;
    } else if (colon && strchr(bind, ':') == colon) {
        snprintf(addr, len, "%.*s", (int)(colon - bind), bind);
        *port = atoi(colon + 1);
    } else {
        snprintf(addr, len, "%s", bind);
        *port = 0;
    }
    return 0;
}

/* The credentials of an auth section, given to one of the API's setters
 * (username, password, realm). */
typedef int (*creds_setter)(void *cfg, const char *user, const char *pass,
                            const char *realm);

static int set_creds(apply_ctx *a, const char *auth, void *cfg, creds_setter fn)
{
    return fn(cfg, get(a, SIPNAT_CONFIG_AUTH, auth, "username"),
              get(a, SIPNAT_CONFIG_AUTH, auth, "password"),
              get(a, SIPNAT_CONFIG_AUTH, auth, "realm"));
}

static int endpoint_auth(void *cfg, const char *u, const char *p, const char *r)
{
    return sipnat_endpoint_cfg_set_auth(cfg, u, p, r);
}

static int endpoint_outbound_auth(void *cfg, const char *u, const char *p,
                                  const char *r)
{
    return sipnat_endpoint_cfg_set_outbound_auth(cfg, u, p, r);
}

static int registration_auth(void *cfg, const char *u, const char *p, const char *r)
{
    return sipnat_registration_cfg_set_credentials(cfg, u, p, r);
}

static int apply_transport(apply_ctx *a, const char *name)
{
    sipnat_transport_cfg *tc = NULL;
    sipnat_policy *pol = NULL;
    sipnat_transport *t = NULL;
    const char *v, *proto = get(a, SIPNAT_CONFIG_TRANSPORT, name, "protocol");
    char addr[64];
    int port = 0, r;
    unsigned eport = 0;
    int n_nets = sipnat_config_count_values(a->cfg, SIPNAT_CONFIG_TRANSPORT, name,
                                            "local_net");
    const char *sig = get(a, SIPNAT_CONFIG_TRANSPORT, name, "external_signaling_address");
    const char *med = get(a, SIPNAT_CONFIG_TRANSPORT, name, "external_media_address");
    const char *stun = get(a, SIPNAT_CONFIG_TRANSPORT, name, "stunaddr");

    if ((r = sipnat_transport_cfg_new(&tc)) < 0)
        return r;
    if (proto && strcmp(proto, "tcp") == 0) {
        r = sipnat_transport_cfg_set_protocol(tc, SIPNAT_PROTOCOL_TCP);
        if (r == 0)
            r = sipnat_transport_cfg_set_keepalive(tc, global_keepalive(a));
    }
    else if (proto && strcmp(proto, "tls") == 0) {
        diag(a, SIPNAT_CONFIG_TRANSPORT, name, "protocol",
             "transport [%s]: TLS from a configuration file needs a certificate "
             "directory; create this transport with the API",
             name, 0);
        sipnat_transport_cfg_free(tc);
        return -ENOTSUP;
    }
    v = get(a, SIPNAT_CONFIG_TRANSPORT, name, "bind");
    if (r == 0 && v && split_bind(v, addr, sizeof addr, &port) == 0)
        r = sipnat_transport_cfg_set_bind(tc, addr, port ? port : 5060);
    if (r == 0 && stun && split_bind(stun, addr, sizeof addr, &port) == 0)
        r = sipnat_transport_cfg_set_stun_server(tc, addr, port);
    const char *turn = get(a, SIPNAT_CONFIG_TRANSPORT, name, "turnaddr");
    const char *tuser = get(a, SIPNAT_CONFIG_TRANSPORT, name, "turnusername");
    const char *tpass = get(a, SIPNAT_CONFIG_TRANSPORT, name, "turnpassword");
    /* The loader refused a turnaddr without credentials. */
    if (r == 0 && turn && tuser && tpass && split_bind(turn, addr, sizeof addr, &port) == 0)
        r = sipnat_transport_cfg_set_turn_server(tc, addr, port, tuser, tpass);
    /* STUN's address reaches the SDP through the policy, as Asterisk's
     * stunaddr does for every destination outside local_net. */
    if (r == 0 && (n_nets > 0 || sig || med || stun)) {
        r = sipnat_policy_new(&pol, SIPNAT_POLICY_STATIC);
        for (int i = 0; r == 0 && i < n_nets; i++) {
            sipnat_config_get(a->cfg, SIPNAT_CONFIG_TRANSPORT, name, "local_net",
                              (unsigned)i, &v);
            r = sipnat_policy_add_local_net(pol, v);
        }
        get_uint(a, SIPNAT_CONFIG_TRANSPORT, name, "external_signaling_port", &eport);
        if (r == 0 && sig)
            r = sipnat_policy_set_external_signaling_address(pol, sig, (int)eport);
        if (r == 0 && med)
            r = sipnat_policy_set_external_media_address(pol, med);
        if (r == 0)
            r = sipnat_transport_cfg_set_policy(tc, pol);
    }
    if (r == 0)
        r = sipnat_transport_new(&t, a->ctx, tc);
    sipnat_policy_unref(pol);
    sipnat_transport_cfg_free(tc);
    if (r < 0) {
        diag(a, SIPNAT_CONFIG_TRANSPORT, name, NULL, "transport [%s]", name, r);
        return r;
    }
    r = keep(a->setup->transports, &a->setup->n_transports, name, t);
    if (r < 0)
        sipnat_transport_unref(t);
    return r;
}

/* The transport an endpoint or registration names, or the first one. */
static sipnat_transport *transport_of(apply_ctx *a, sipnat_config_type type,
                                      const char *name)
{
    const char *tn = get(a, type, name, "transport");

    if (tn)
        return find(a->setup->transports, a->setup->n_transports, tn);
    return a->setup->n_transports ? a->setup->transports[0].obj : NULL;
}

static int endpoint_identify(apply_ctx *a, sipnat_endpoint_cfg *ec, const char *name)
{
    int n = sipnat_config_count(a->cfg, SIPNAT_CONFIG_IDENTIFY), r = 0;

    for (int i = 0; r == 0 && i < n; i++) {
        const char *idn, *ep, *m;
        int k;

        sipnat_config_get_name(a->cfg, SIPNAT_CONFIG_IDENTIFY, (unsigned)i, &idn);
        ep = get(a, SIPNAT_CONFIG_IDENTIFY, idn, "endpoint");
        if (!ep || strcmp(ep, name) != 0)
            continue;
        k = sipnat_config_count_values(a->cfg, SIPNAT_CONFIG_IDENTIFY, idn, "match");
        for (int j = 0; r == 0 && j < k; j++) {
            sipnat_config_get(a->cfg, SIPNAT_CONFIG_IDENTIFY, idn, "match",
                              (unsigned)j, &m);
            r = sipnat_endpoint_cfg_add_match(ec, m);
            if (r < 0)
                diag(a, SIPNAT_CONFIG_IDENTIFY, idn, "match",
                     "identify match %s", m, r);
        }
    }
    return r;
}

static int endpoint_aor(apply_ctx *a, sipnat_endpoint_cfg *ec, const char *aor)
{
    unsigned v, mn = 60, df = 3600, mx = 7200;
    int r = 0, n;
    const char *c;

    if (get_uint(a, SIPNAT_CONFIG_AOR, aor, "max_contacts", &v))
        r = sipnat_endpoint_cfg_set_max_contacts(ec, v > 64 ? 64 : v);
    if (r == 0)
        r = sipnat_endpoint_cfg_set_remove_existing(
            ec, get_bool(a, SIPNAT_CONFIG_AOR, aor, "remove_existing", 0));
    if (r == 0 && get_uint(a, SIPNAT_CONFIG_AOR, aor, "qualify_frequency", &v))
        r = sipnat_endpoint_cfg_set_qualify_frequency(ec, v);
    get_uint(a, SIPNAT_CONFIG_AOR, aor, "minimum_expiration", &mn);
    get_uint(a, SIPNAT_CONFIG_AOR, aor, "default_expiration", &df);
    get_uint(a, SIPNAT_CONFIG_AOR, aor, "maximum_expiration", &mx);
    if (r == 0 && mn && mn <= df && df <= mx)
        r = sipnat_endpoint_cfg_set_expiration(ec, mn, df, mx);
    n = sipnat_config_count_values(a->cfg, SIPNAT_CONFIG_AOR, aor, "contact");
    for (int i = 0; r == 0 && i < n; i++) {
        sipnat_config_get(a->cfg, SIPNAT_CONFIG_AOR, aor, "contact", (unsigned)i, &c);
        r = sipnat_endpoint_cfg_add_contact(ec, c);
    }
    if (r < 0)
        diag(a, SIPNAT_CONFIG_AOR, aor, NULL, "aor [%s]", aor, r);
    return r;
}

static int apply_endpoint(apply_ctx *a, const char *name)
{
    sipnat_endpoint_cfg *ec = NULL;
    sipnat_endpoint *ep = NULL;
    sipnat_transport *t = transport_of(a, SIPNAT_CONFIG_ENDPOINT, name);
    const char *v, *auth, *aor;
    char codecs[128] = "";
    unsigned u;
    int r, n;

    if (!t) {
        diag(a, SIPNAT_CONFIG_ENDPOINT, name, "transport",
             "endpoint [%s] has no transport", name, 0);
        return -EINVAL;
    }
    if ((r = sipnat_endpoint_cfg_new(&ec)) < 0)
        return r;
    r = sipnat_endpoint_cfg_set_name(ec, name);
    if (r == 0)
        r = endpoint_identify(a, ec, name);
    auth = get(a, SIPNAT_CONFIG_ENDPOINT, name, "auth");
    if (r == 0 && auth)
        r = set_creds(a, auth, ec, endpoint_auth);
    auth = get(a, SIPNAT_CONFIG_ENDPOINT, name, "outbound_auth");
    if (r == 0 && auth)
        r = set_creds(a, auth, ec, endpoint_outbound_auth);
    aor = get(a, SIPNAT_CONFIG_ENDPOINT, name, "aors");
    if (r == 0 && aor)
        r = endpoint_aor(a, ec, aor);
    if (r == 0)
        r = sipnat_endpoint_cfg_set_rewrite_contact(
            ec, get_bool(a, SIPNAT_CONFIG_ENDPOINT, name, "rewrite_contact", 0));
    n = sipnat_config_count_values(a->cfg, SIPNAT_CONFIG_ENDPOINT, name, "codecs");
    for (int i = 0; i < n; i++) {
        sipnat_config_get(a->cfg, SIPNAT_CONFIG_ENDPOINT, name, "codecs", (unsigned)i, &v);
        snprintf(codecs + strlen(codecs), sizeof codecs - strlen(codecs), "%s%s",
                 codecs[0] ? "," : "", v);
    }
    if (r == 0 && codecs[0])
        r = sipnat_endpoint_cfg_set_codecs(ec, codecs);
    if (r == 0)
        r = sipnat_endpoint_cfg_set_direct_media(
            ec, get_bool(a, SIPNAT_CONFIG_ENDPOINT, name, "direct_media", 1));
    if (r == 0)
        r = sipnat_endpoint_cfg_set_ice(
            ec, get_bool(a, SIPNAT_CONFIG_ENDPOINT, name, "ice_support", 0));
    if (r == 0)
        r = sipnat_endpoint_cfg_set_rtp_symmetric(
            ec, get_bool(a, SIPNAT_CONFIG_ENDPOINT, name, "rtp_symmetric", 0));
    if (r == 0 && (v = get(a, SIPNAT_CONFIG_ENDPOINT, name, "media_address")))
        r = sipnat_endpoint_cfg_set_media_address(ec, v);
    if (r == 0 && get_uint(a, SIPNAT_CONFIG_ENDPOINT, name, "rtp_timeout", &u))
        r = sipnat_endpoint_cfg_set_rtp_timeout(ec, u);
    if (r == 0 && get_uint(a, SIPNAT_CONFIG_ENDPOINT, name, "max_sessions", &u)) {
        unsigned retry = 10;
        get_uint(a, SIPNAT_CONFIG_ENDPOINT, name, "max_sessions_retry_after", &retry);
        r = sipnat_endpoint_cfg_set_max_sessions(ec, u, retry);
    }
    if (r == 0 && (get(a, SIPNAT_CONFIG_ENDPOINT, name, "from_user") ||
                   get(a, SIPNAT_CONFIG_ENDPOINT, name, "from_domain")))
        r = sipnat_endpoint_cfg_set_from(ec, get(a, SIPNAT_CONFIG_ENDPOINT, name, "from_user"),
                                         get(a, SIPNAT_CONFIG_ENDPOINT, name, "from_domain"));
    v = get(a, SIPNAT_CONFIG_ENDPOINT, name, "media_encryption");
    if (r == 0 && v && strcmp(v, "sdes") == 0)
        r = sipnat_endpoint_cfg_set_media_encryption(ec, SIPNAT_MEDIA_ENCRYPTION_SDES);
    if (r == 0 && a->hooks && a->hooks->incoming)
        r = sipnat_endpoint_cfg_set_incoming_func(ec, a->hooks->incoming,
                                                  a->hooks->user_data);
    if (r == 0 && a->hooks && a->hooks->events)
        r = sipnat_endpoint_cfg_set_event_func(ec, a->hooks->events, a->hooks->user_data);
    if (r == 0)
        r = sipnat_endpoint_new(&ep, t, ec);
    sipnat_endpoint_cfg_free(ec);
    if (r < 0) {
        diag(a, SIPNAT_CONFIG_ENDPOINT, name, NULL, "endpoint [%s]", name, r);
        return r;
    }
    r = keep(a->setup->endpoints, &a->setup->n_endpoints, name, ep);
    if (r < 0)
        sipnat_endpoint_unref(ep);
    return r;
}

static int apply_registration(apply_ctx *a, const char *name)
{
    sipnat_registration_cfg *rc = NULL;
    sipnat_registration *reg = NULL;
    sipnat_transport *t = transport_of(a, SIPNAT_CONFIG_REGISTRATION, name);
    const char *v, *auth;
    unsigned u;
    int r;

    if (!t) {
        diag(a, SIPNAT_CONFIG_REGISTRATION, name, "transport",
             "registration [%s] has no transport", name, 0);
        return -EINVAL;
    }
    if ((r = sipnat_registration_cfg_new(&rc)) < 0)
        return r;
    r = sipnat_registration_cfg_set_server_uri(
        rc, get(a, SIPNAT_CONFIG_REGISTRATION, name, "server_uri"));
    if (r == 0)
        r = sipnat_registration_cfg_set_client_uri(
            rc, get(a, SIPNAT_CONFIG_REGISTRATION, name, "client_uri"));
    if (r == 0 && (v = get(a, SIPNAT_CONFIG_REGISTRATION, name, "contact_user")))
        r = sipnat_registration_cfg_set_contact_user(rc, v);
    if (r == 0 && (v = get(a, SIPNAT_CONFIG_REGISTRATION, name, "outbound_proxy")))
        r = sipnat_registration_cfg_set_outbound_proxy(rc, v);
    auth = get(a, SIPNAT_CONFIG_REGISTRATION, name, "outbound_auth");
    if (r == 0 && auth)
        r = set_creds(a, auth, rc, registration_auth);
#define UINT_OPT(key, setter)                                                  \
    if (r == 0 && get_uint(a, SIPNAT_CONFIG_REGISTRATION, name, key, &u))      \
        r = setter(rc, u);
    UINT_OPT("expiration", sipnat_registration_cfg_set_expiration)
    UINT_OPT("retry_interval", sipnat_registration_cfg_set_retry_interval)
    UINT_OPT("forbidden_retry_interval",
             sipnat_registration_cfg_set_forbidden_retry_interval)
    UINT_OPT("fatal_retry_interval", sipnat_registration_cfg_set_fatal_retry_interval)
    UINT_OPT("max_retries", sipnat_registration_cfg_set_max_retries)
    UINT_OPT("max_random_initial_delay",
             sipnat_registration_cfg_set_max_random_initial_delay)
#undef UINT_OPT
    if (r == 0)
        r = sipnat_registration_cfg_set_auth_rejection_permanent(
            rc, get_bool(a, SIPNAT_CONFIG_REGISTRATION, name, "auth_rejection_permanent", 1));
    if (r == 0)
        r = sipnat_registration_cfg_set_line(
            rc, get_bool(a, SIPNAT_CONFIG_REGISTRATION, name, "line", 0));
    if (r == 0)
        r = sipnat_registration_cfg_set_outbound(
            rc, get_bool(a, SIPNAT_CONFIG_REGISTRATION, name, "support_outbound", 0));
    if (r == 0 && a->hooks && a->hooks->keepalive) {
        r = sipnat_registration_cfg_set_keepalive(rc, a->hooks->keepalive);
    } else if (r == 0 &&
               get_bool(a, SIPNAT_CONFIG_REGISTRATION, name, "support_outbound", 0)) {
        /* The flow's keep-alive: as the connections' own. */
        r = sipnat_registration_cfg_set_keepalive(rc, global_keepalive(a));
    }
    if (r == 0)
        r = sipnat_registration_new(&reg, t, rc, a->hooks ? a->hooks->events : NULL,
                                    a->hooks ? a->hooks->user_data : NULL);
    sipnat_registration_cfg_free(rc);
    if (r < 0) {
        diag(a, SIPNAT_CONFIG_REGISTRATION, name, NULL, "registration [%s]", name, r);
        return r;
    }
    r = keep(a->setup->registrations, &a->setup->n_registrations, name, reg);
    if (r < 0)
        sipnat_registration_unref(reg);
    return r;
}

SIPNAT_API int sipnat_config_apply(sipnat_setup **ret, const sipnat_config *cfg,
                                   sipnat_ctx *ctx, const sipnat_setup_hooks *hooks)
{
    apply_ctx a = {.cfg = cfg, .ctx = ctx, .hooks = hooks};
    static const struct {
        sipnat_config_type type;
        int (*fn)(apply_ctx *, const char *);
    } steps[] = {
        {SIPNAT_CONFIG_TRANSPORT, apply_transport},
        {SIPNAT_CONFIG_ENDPOINT, apply_endpoint},
        {SIPNAT_CONFIG_REGISTRATION, apply_registration},
    };
    int r = 0;

    if (!ret)
        return -EINVAL;
    *ret = NULL;
    if (!cfg || !ctx || (hooks && hooks->size < sizeof(size_t)))
        return -EINVAL;
    a.setup = calloc(1, sizeof *a.setup);
    if (!a.setup)
        return -ENOMEM;
    a.setup->n_ref = 1;
    for (size_t s = 0; s < sizeof steps / sizeof steps[0] && r >= 0; s++) {
        int n = sipnat_config_count(cfg, steps[s].type);

        for (int i = 0; i < n && r >= 0; i++) {
            const char *name;

            sipnat_config_get_name(cfg, steps[s].type, (unsigned)i, &name);
            r = steps[s].fn(&a, name);
        }
    }
    if (r < 0) {
        sipnat_setup_unref(a.setup);
        return r;
    }
    *ret = a.setup;
    return 0;
}

SIPNAT_API sipnat_setup *sipnat_setup_ref(sipnat_setup *s)
{
    if (s)
        s->n_ref++;
    return s;
}

SIPNAT_API sipnat_setup *sipnat_setup_unref(sipnat_setup *s)
{
    if (!s || --s->n_ref > 0)
        return NULL;
    for (size_t i = 0; i < s->n_registrations; i++) {
        sipnat_registration_unref(s->registrations[i].obj);
        free(s->registrations[i].name);
    }
    for (size_t i = 0; i < s->n_endpoints; i++) {
        sipnat_endpoint_unref(s->endpoints[i].obj);
        free(s->endpoints[i].name);
    }
    for (size_t i = 0; i < s->n_transports; i++) {
        sipnat_transport_unref(s->transports[i].obj);
        free(s->transports[i].name);
    }
    free(s);
    return NULL;
}

SIPNAT_API sipnat_transport *sipnat_setup_get_transport(const sipnat_setup *s,
                                                        const char *name)
{
    return s && name ? find(s->transports, s->n_transports, name) : NULL;
}

SIPNAT_API sipnat_endpoint *sipnat_setup_get_endpoint(const sipnat_setup *s,
                                                      const char *name)
{
    return s && name ? find(s->endpoints, s->n_endpoints, name) : NULL;
}

SIPNAT_API sipnat_registration *sipnat_setup_get_registration(const sipnat_setup *s,
                                                              const char *name)
{
    return s && name ? find(s->registrations, s->n_registrations, name) : NULL;
}

SIPNAT_API int sipnat_setup_start(sipnat_setup *s)
{
    int r, started = 0;

    if (!s)
        return -EINVAL;
    for (size_t i = 0; i < s->n_registrations; i++) {
        r = sipnat_registration_start(s->registrations[i].obj);
        if (r < 0)
            return r;
        started++;
    }
    return started;
}

SIPNAT_API int sipnat_setup_stop(sipnat_setup *s)
{
    if (!s)
        return -EINVAL;
    for (size_t i = 0; i < s->n_registrations; i++)
        sipnat_registration_stop(s->registrations[i].obj);
    return 0;
}
