/*
 * libsipnat - configuration loader: option tables and value checks.
 */
#include "config.h"

#include "config/options.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>


/* ---- types -------------------------------------------------------------- */

static const char *const type_names[] = {
    [SIPNAT_CONFIG_TRANSPORT] = "transport",
    [SIPNAT_CONFIG_ENDPOINT] = "endpoint",
    [SIPNAT_CONFIG_AUTH] = "auth",
    [SIPNAT_CONFIG_AOR] = "aor",
    [SIPNAT_CONFIG_REGISTRATION] = "registration",
    [SIPNAT_CONFIG_IDENTIFY] = "identify",
    [SIPNAT_CONFIG_GLOBAL] = "global",
    [SIPNAT_CONFIG_SYSTEM] = "system",
};

/* Asterisk's other res_pjsip section types. */
static const char *const asterisk_types[] = {
    "domain_alias", "contact", "acl", "phoneprov", "outbound-publish",
    "inbound-publication", "asterisk-publication", "resource_list",
    "outbound-registration", NULL};

sipnat_config_type cf_type_parse(const char *name, bool *known_asterisk)
{
    *known_asterisk = false;
    for (int t = SIPNAT_CONFIG_TRANSPORT; t <= SIPNAT_CONFIG_SYSTEM; t++)
        if (!strcmp(name, type_names[t]))
            return (sipnat_config_type)t;
    for (size_t i = 0; asterisk_types[i]; i++)
        if (!strcmp(name, asterisk_types[i]))
            *known_asterisk = true;
    return 0;
}

const char *cf_type_name(sipnat_config_type type)
{
    if (type < SIPNAT_CONFIG_TRANSPORT || type > SIPNAT_CONFIG_SYSTEM)
        return "unknown";
    return type_names[type];
}

/* ---- option tables ------------------------------------------------------ */

static const char *const protocols[] = {"udp", "tcp", "tls", NULL};
static const char *const protocols_refused[] = {"ws", "wss", "flow", NULL};
static const char *const dtmf_modes[] = {"rfc4733", "none", NULL};
static const char *const dtmf_refused[] = {"inband", "info", "auto",
                                           "auto_info", NULL};
static const char *const encryptions[] = {"no", "sdes", NULL};
static const char *const encryptions_refused[] = {"dtls", NULL};
static const char *const auth_types[] = {"userpass", NULL};
static const char *const auth_types_refused[] = {"md5", "google_oauth",
                                                 "digest", NULL};

#define DAY 86400u
#define WEEK 604800u
#define END {NULL, 0, 0, 0, 0, NULL, NULL, 0, NULL}

static const cf_option_def transport_opts[] = {
    {"protocol", CF_ENUM, 0, 0, 0, protocols, protocols_refused, 0, "udp"},
    {"bind", CF_BIND, 0, 0, 0, NULL, NULL, 0, "0.0.0.0"},
    {"local_net", CF_CIDR, CF_REPEAT, 0, 0, NULL, NULL, 0, NULL},
    {"external_media_address", CF_ADDR, 0, 0, 0, NULL, NULL, 0, NULL},
    {"external_signaling_address", CF_ADDR, 0, 0, 0, NULL, NULL, 0, NULL},
    {"external_signaling_port", CF_UINT, 0, 0, 65535, NULL, NULL, 0, "0"},
    {"cert_file", CF_STRING, 0, 0, 0, NULL, NULL, 0, NULL},
    {"priv_key_file", CF_STRING, 0, 0, 0, NULL, NULL, 0, NULL},
    {"ca_list_file", CF_STRING, 0, 0, 0, NULL, NULL, 0, NULL},
    {"verify_server", CF_BOOL, 0, 0, 0, NULL, NULL, 0, "no"},
    /* Asterisk's rtp.conf stunaddr, per transport here. */
    {"stunaddr", CF_BIND, 0, 0, 0, NULL, NULL, 0, NULL},
    /* rtp.conf's turnaddr, turnusername, turnpassword: ICE's relay. */
    {"turnaddr", CF_BIND, 0, 0, 0, NULL, NULL, 0, NULL},
    {"turnusername", CF_STRING, 0, 0, 0, NULL, NULL, 0, NULL},
    {"turnpassword", CF_STRING, CF_EMPTY_OK, 0, 0, NULL, NULL, 0, NULL},
    END};

static const cf_option_def endpoint_opts[] = {
    {"transport", CF_REF, 0, 0, 0, NULL, NULL, SIPNAT_CONFIG_TRANSPORT, NULL},
    {"aors", CF_REF, CF_LIST, 0, 0, NULL, NULL, SIPNAT_CONFIG_AOR, NULL},
    {"auth", CF_REF, CF_LIST, 0, 0, NULL, NULL, SIPNAT_CONFIG_AUTH, NULL},
    {"outbound_auth", CF_REF, CF_LIST, 0, 0, NULL, NULL, SIPNAT_CONFIG_AUTH,
     NULL},
    {"outbound_proxy", CF_URI, 0, 0, 0, NULL, NULL, 0, NULL},
    {"disallow", CF_CODEC, CF_LIST | CF_REPEAT, 0, 0, NULL, NULL, 0, NULL},
    {"allow", CF_CODEC, CF_LIST | CF_REPEAT, 0, 0, NULL, NULL, 0, NULL},
    {"direct_media", CF_BOOL, 0, 0, 0, NULL, NULL, 0, "yes"},
    {"rtp_symmetric", CF_BOOL, 0, 0, 0, NULL, NULL, 0, "no"},
    {"force_rport", CF_BOOL, 0, 0, 0, NULL, NULL, 0, "yes"},
    {"rewrite_contact", CF_BOOL, 0, 0, 0, NULL, NULL, 0, "no"},
    {"ice_support", CF_BOOL, 0, 0, 0, NULL, NULL, 0, "no"},
    {"media_address", CF_ADDR, 0, 0, 0, NULL, NULL, 0, NULL},
    {"rtp_timeout", CF_UINT, 0, 0, DAY, NULL, NULL, 0, "0"},
    {"rtp_timeout_hold", CF_UINT, 0, 0, DAY, NULL, NULL, 0, "0"},
    /* libsipnat's own (Asterisk has no per-endpoint call limit). */
    {"max_sessions", CF_UINT, 0, 0, 100000, NULL, NULL, 0, "0"},
    {"max_sessions_retry_after", CF_UINT, 0, 0, DAY, NULL, NULL, 0, "10"},
    {"dtmf_mode", CF_ENUM, 0, 0, 0, dtmf_modes, dtmf_refused, 0, "rfc4733"},
    {"media_encryption", CF_ENUM, 0, 0, 0, encryptions, encryptions_refused,
     0, "no"},
    {"from_user", CF_USER, 0, 0, 0, NULL, NULL, 0, NULL},
    {"from_domain", CF_HOST, 0, 0, 0, NULL, NULL, 0, NULL},
    {"contact_user", CF_USER, 0, 0, 0, NULL, NULL, 0, NULL},
    {"codecs", CF_DERIVED, CF_REPEAT, 0, 0, NULL, NULL, 0, NULL},
    END};

static const cf_option_def auth_opts[] = {
    {"auth_type", CF_ENUM, 0, 0, 0, auth_types, auth_types_refused, 0,
     "userpass"},
    {"username", CF_STRING, CF_REQUIRED, 0, 0, NULL, NULL, 0, NULL},
    {"password", CF_STRING, CF_REQUIRED | CF_EMPTY_OK, 0, 0, NULL, NULL, 0,
     NULL},
    {"realm", CF_STRING, 0, 0, 0, NULL, NULL, 0, NULL},
    END};

static const cf_option_def aor_opts[] = {
    {"contact", CF_URI, CF_LIST | CF_REPEAT, 0, 0, NULL, NULL, 0, NULL},
    {"max_contacts", CF_UINT, 0, 0, 1000, NULL, NULL, 0, "0"},
    {"remove_existing", CF_BOOL, 0, 0, 0, NULL, NULL, 0, "no"},
    {"qualify_frequency", CF_UINT, 0, 0, DAY, NULL, NULL, 0, "0"},
    {"qualify_timeout", CF_SECONDS, 0, 0, DAY, NULL, NULL, 0, "3"},
    {"default_expiration", CF_UINT, 0, 1, WEEK, NULL, NULL, 0, "3600"},
    {"minimum_expiration", CF_UINT, 0, 1, WEEK, NULL, NULL, 0, "60"},
    {"maximum_expiration", CF_UINT, 0, 1, WEEK, NULL, NULL, 0, "7200"},
    {"outbound_proxy", CF_URI, 0, 0, 0, NULL, NULL, 0, NULL},
    END};

static const cf_option_def registration_opts[] = {
    {"server_uri", CF_URI, CF_REQUIRED, 0, 0, NULL, NULL, 0, NULL},
    {"client_uri", CF_URI, CF_REQUIRED, 0, 0, NULL, NULL, 0, NULL},
    {"contact_user", CF_USER, 0, 0, 0, NULL, NULL, 0, NULL},
    {"transport", CF_REF, 0, 0, 0, NULL, NULL, SIPNAT_CONFIG_TRANSPORT, NULL},
    {"outbound_auth", CF_REF, CF_LIST, 0, 0, NULL, NULL, SIPNAT_CONFIG_AUTH,
     NULL},
    {"outbound_proxy", CF_URI, 0, 0, 0, NULL, NULL, 0, NULL},
    {"expiration", CF_UINT, 0, 1, WEEK, NULL, NULL, 0, "3600"},
    {"retry_interval", CF_UINT, 0, 1, WEEK, NULL, NULL, 0, "60"},
    {"forbidden_retry_interval", CF_UINT, 0, 0, WEEK, NULL, NULL, 0, "0"},
    {"fatal_retry_interval", CF_UINT, 0, 0, WEEK, NULL, NULL, 0, "0"},
    {"max_retries", CF_UINT, 0, 0, 100000, NULL, NULL, 0, "10"},
    {"auth_rejection_permanent", CF_BOOL, 0, 0, 0, NULL, NULL, 0, "yes"},
    {"max_random_initial_delay", CF_UINT, 0, 0, DAY, NULL, NULL, 0, "10"},
    {"line", CF_BOOL, 0, 0, 0, NULL, NULL, 0, "no"},
    {"support_outbound", CF_BOOL, 0, 0, 0, NULL, NULL, 0, "no"},
    {"endpoint", CF_REF, 0, 0, 0, NULL, NULL, SIPNAT_CONFIG_ENDPOINT, NULL},
    END};

static const cf_option_def identify_opts[] = {
    {"endpoint", CF_REF, CF_REQUIRED, 0, 0, NULL, NULL,
     SIPNAT_CONFIG_ENDPOINT, NULL},
    {"match", CF_MATCH, CF_LIST | CF_REPEAT | CF_REQUIRED, 0, 0, NULL, NULL,
     0, NULL},
    {"srv_lookups", CF_BOOL, 0, 0, 0, NULL, NULL, 0, "yes"},
    END};

static const cf_option_def global_opts[] = {
    {"user_agent", CF_STRING, 0, 0, 0, NULL, NULL, 0, NULL},
    {"keep_alive_interval", CF_UINT, 0, 0, DAY, NULL, NULL, 0, "90"},
    END};

static const cf_option_def system_opts[] = {END};

static const cf_option_def *const tables[] = {
    [SIPNAT_CONFIG_TRANSPORT] = transport_opts,
    [SIPNAT_CONFIG_ENDPOINT] = endpoint_opts,
    [SIPNAT_CONFIG_AUTH] = auth_opts,
    [SIPNAT_CONFIG_AOR] = aor_opts,
    [SIPNAT_CONFIG_REGISTRATION] = registration_opts,
    [SIPNAT_CONFIG_IDENTIFY] = identify_opts,
    [SIPNAT_CONFIG_GLOBAL] = global_opts,
    [SIPNAT_CONFIG_SYSTEM] = system_opts,
};

const cf_option_def *cf_options(sipnat_config_type type)
{
    if (type < SIPNAT_CONFIG_TRANSPORT || type > SIPNAT_CONFIG_SYSTEM)
        return NULL;
    return tables[type];
}

const cf_option_def *cf_option_lookup(sipnat_config_type type,
                                      const char *key)
{
    const cf_option_def *d = cf_options(type);

    for (; d && d->name; d++)
        if (!strcmp(d->name, key))
            return d;
    return NULL;
}

const cf_option_def *cf_option_find(sipnat_config_type type, const char *key)
{
    const cf_option_def *d = cf_option_lookup(type, key);

    return d && d->kind != CF_DERIVED ? d : NULL;
}

/* ---- accepted and ignored, or refused ----------------------------------- */

#define IGN(t, n, w) {SIPNAT_CONFIG_##t, n, false, w}
#define REF(t, n, w) {SIPNAT_CONFIG_##t, n, true, w}
#define NO_DIALPLAN "libsipnat has no dialplan; the host decides"
#define NO_PBX "a PBX feature; libsipnat leaves it to the host"
#define NO_QOS "packet marking is not done by libsipnat"

static const cf_unused unused[] = {
    IGN(TRANSPORT, "tos", NO_QOS),
    IGN(TRANSPORT, "cos", NO_QOS),
    IGN(TRANSPORT, "allow_reload", "the host reloads by loading again"),
    IGN(TRANSPORT, "symmetric_transport",
        "replies always leave through the transport they came in on"),
    REF(TRANSPORT, "method", "the TLS method is the TLS library's default"),
    REF(TRANSPORT, "cipher", "the TLS ciphers are the TLS library's default"),
    REF(TRANSPORT, "verify_client", "client certificates are not checked"),
    REF(TRANSPORT, "require_client_cert",
        "client certificates are not checked"),
    REF(TRANSPORT, "password", "encrypted private keys are not supported"),
    REF(TRANSPORT, "ca_list_path", "give the authorities in ca_list_file"),

    IGN(ENDPOINT, "context", NO_DIALPLAN),
    IGN(ENDPOINT, "subscribe_context", NO_DIALPLAN),
    IGN(ENDPOINT, "message_context", NO_DIALPLAN),
    IGN(ENDPOINT, "language", NO_PBX),
    IGN(ENDPOINT, "callerid", "caller ID is the host's to set per call"),
    IGN(ENDPOINT, "callerid_privacy", "caller ID is the host's to set per call"),
    IGN(ENDPOINT, "callerid_tag", "caller ID is the host's to set per call"),
    IGN(ENDPOINT, "mailboxes", NO_PBX),
    IGN(ENDPOINT, "voicemail_extension", NO_PBX),
    IGN(ENDPOINT, "moh_suggest", NO_PBX),
    IGN(ENDPOINT, "tone_zone", NO_PBX),
    IGN(ENDPOINT, "call_group", NO_PBX),
    IGN(ENDPOINT, "pickup_group", NO_PBX),
    IGN(ENDPOINT, "named_call_group", NO_PBX),
    IGN(ENDPOINT, "named_pickup_group", NO_PBX),
    IGN(ENDPOINT, "accountcode", NO_PBX),
    IGN(ENDPOINT, "set_var", NO_PBX),
    IGN(ENDPOINT, "allow_subscribe", "SUBSCRIBE is not supported"),
    IGN(ENDPOINT, "device_state_busy_at", NO_PBX),
    IGN(ENDPOINT, "one_touch_recording", NO_PBX),
    IGN(ENDPOINT, "record_on_feature", NO_PBX),
    IGN(ENDPOINT, "record_off_feature", NO_PBX),
    IGN(ENDPOINT, "allow_transfer", NO_PBX),
    IGN(ENDPOINT, "fax_detect", NO_PBX),
    IGN(ENDPOINT, "send_pai", "identity headers are the host's"),
    IGN(ENDPOINT, "send_rpid", "identity headers are the host's"),
    IGN(ENDPOINT, "trust_id_inbound", "identity headers are the host's"),
    IGN(ENDPOINT, "trust_id_outbound", "identity headers are the host's"),
    IGN(ENDPOINT, "send_diversion", "identity headers are the host's"),
    IGN(ENDPOINT, "identify_by",
        "endpoints are identified by source address (identify sections)"),
    IGN(ENDPOINT, "tos_audio", NO_QOS),
    IGN(ENDPOINT, "cos_audio", NO_QOS),
    IGN(ENDPOINT, "tos_video", NO_QOS),
    IGN(ENDPOINT, "cos_video", NO_QOS),
    IGN(ENDPOINT, "sdp_owner", "the SDP o= user is fixed"),
    IGN(ENDPOINT, "sdp_session", "the SDP s= line is fixed"),
    IGN(ENDPOINT, "inband_progress", NO_PBX),
    IGN(ENDPOINT, "use_ptime", "the packet time is fixed at 20 ms"),
    IGN(ENDPOINT, "timers", "session timers are not supported"),
    IGN(ENDPOINT, "timers_min_se", "session timers are not supported"),
    IGN(ENDPOINT, "timers_sess_expires", "session timers are not supported"),
    IGN(ENDPOINT, "100rel", "reliable provisional responses are sofia-sip's"),
    REF(ENDPOINT, "webrtc", "WebRTC is not supported"),
    REF(ENDPOINT, "dtls_*", "DTLS-SRTP is not supported (use sdes)"),
    REF(ENDPOINT, "t38_*", "T.38 fax is not supported"),
    REF(ENDPOINT, "bundle", "BUNDLE is not supported"),
    REF(ENDPOINT, "rtcp_mux", "RTCP multiplexing is not supported"),
    REF(ENDPOINT, "use_avpf", "AVPF is not supported"),
    REF(ENDPOINT, "max_video_streams", "video is not supported"),
    REF(ENDPOINT, "media_encryption_optimistic",
        "SRTP is either required (sdes) or off (no)"),

    IGN(AUTH, "nonce_lifetime", "sofia-sip chooses the nonce lifetime"),
    REF(AUTH, "md5_cred", "give the plain password (auth_type=userpass)"),
    REF(AUTH, "oauth_*", "OAuth is not supported"),
    REF(AUTH, "refresh_token", "OAuth is not supported"),

    IGN(AOR, "authenticate_qualify", "qualify requests are not challenged"),
    IGN(AOR, "mailboxes", NO_PBX),
    IGN(AOR, "voicemail_extension", NO_PBX),
    IGN(AOR, "support_path", "Path is not supported"),
    IGN(AOR, "remove_unavailable", "max_contacts and remove_existing decide"),

    IGN(REGISTRATION, "support_path", "Path is not supported"),
    REF(REGISTRATION, "support_outbound", "SIP outbound (RFC 5626) is not "
                                          "supported"),
    REF(REGISTRATION, "security_negotiation",
        "security agreement (RFC 3329) is not supported"),
    REF(REGISTRATION, "security_mechanisms",
        "security agreement (RFC 3329) is not supported"),

    REF(IDENTIFY, "match_header", "only the source address identifies"),
    REF(IDENTIFY, "match_request_uri", "only the source address identifies"),

    IGN(GLOBAL, "*", "a global option that does not concern libsipnat"),
    IGN(SYSTEM, "*", "system options tune Asterisk's own SIP stack"),
};

const cf_unused *cf_unused_find(sipnat_config_type type, const char *key)
{
    for (size_t i = 0; i < sizeof unused / sizeof unused[0]; i++) {
        const cf_unused *u = &unused[i];
        size_t n = strlen(u->name);
        if (u->type != type)
            continue;
        if (u->name[n - 1] == '*' ? !strncmp(u->name, key, n - 1)
                                  : !strcmp(u->name, key))
            return u;
    }
    return NULL;
}

/* ---- codecs ------------------------------------------------------------- */

const char *const cf_codecs_supported[] = {"ulaw", "alaw", "g722", "opus", NULL};
const char *const cf_codecs_default[] = {"ulaw", "alaw", NULL};

static const char *const asterisk_codecs[] = {
    "gsm", "g723", "g726", "g726aal2", "g729", "ilbc", "lpc10",
    "speex", "speex16", "speex32", "silk", "siren7", "siren14",
    "slin", "slin12", "slin16", "slin24", "slin32", "slin44", "slin48",
    "slin96", "slin192", "adpcm", "testlaw", "codec2", "h261", "h263",
    "h263p", "h264", "h265", "vp8", "vp9", "jpeg", "png", "t140", "t140red",
    NULL};

int cf_codec_support(const char *name)
{
    for (size_t i = 0; cf_codecs_supported[i]; i++)
        if (cf_streq_nocase(name, cf_codecs_supported[i]))
            return 1;
    for (size_t i = 0; asterisk_codecs[i]; i++)
        if (cf_streq_nocase(name, asterisk_codecs[i]))
            return 0;
    return -1;
}

/* ---- value checks ------------------------------------------------------- */

static bool is_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9');
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool is_xdigit(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* RFC 1123 host name: dot-separated labels of letters, digits and '-'. */
static bool hostname_ok(const char *s, size_t n)
{
    size_t label = 0;

    if (n == 0 || n > 253)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '.') {
            if (label == 0 || s[i - 1] == '-')
                return false;
            label = 0;
        } else if (is_alnum(s[i]) || s[i] == '-') {
            if ((label == 0 && s[i] == '-') || ++label > 63)
                return false;
        } else {
            return false;
        }
    }
    return label > 0 && s[n - 1] != '-';
}

/* Decimal 0..max with no sign, no spaces, no leading junk. */
static bool parse_uint(const char *s, size_t n, unsigned long max,
                       unsigned long *out)
{
    unsigned long v = 0;

    if (n == 0 || n > 10)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!is_digit(s[i]))
            return false;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v > max)
        return false;
    *out = v;
    return true;
}

static bool host_or_addr_ok(const char *s, size_t n)
{
    char buf[CF_VALUE_MAX + 1], fmt[SIPNAT_ADDRSTRLEN];

    if (n > CF_VALUE_MAX)
        return false;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (buf[0] == '[')
        return n > 2 && buf[n - 1] == ']' &&
               sipnat_addr_normalize(buf, fmt, sizeof fmt) == 6;
    return sipnat_addr_normalize(buf, fmt, sizeof fmt) > 0 || hostname_ok(s, n);
}

/* Characters of a URI's user part: RFC 3261 unreserved, user-unreserved
 * and escapes. */
static bool user_ok(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '%') {
            if (i + 2 >= n || !is_xdigit(s[i + 1]) || !is_xdigit(s[i + 2]))
                return false;
            i += 2;
        } else if (!is_alnum(s[i]) && !strchr("-_.!~*'()&=+$,;?/", s[i])) {
            return false;
        }
    }
    return true;
}

/* sip:[user[:password]@]host[:port][;params][?headers] */
static bool uri_ok(const char *s)
{
    const char *p, *at, *end;
    size_t hl;

    if (!strncasecmp(s, "sip:", 4))
        p = s + 4;
    else if (!strncasecmp(s, "sips:", 5))
        p = s + 5;
    else
        return false;
    for (const char *q = p; *q; q++)
        if (*q == ' ' || *q == '<' || *q == '>' || *q == '"')
            return false;
    end = p + strcspn(p, ";?");
    at = memchr(p, '@', (size_t)(end - p));
    if (at) {
        const char *colon = memchr(p, ':', (size_t)(at - p));
        if (!user_ok(p, (size_t)((colon ? colon : at) - p)))
            return false;
        p = at + 1;
    }
    if (*p == '[') {
        const char *close = memchr(p, ']', (size_t)(end - p));
        if (!close)
            return false;
        hl = (size_t)(close - p) + 1;
    } else {
        hl = strcspn(p, ":;?");
    }
    if (!host_or_addr_ok(p, hl))
        return false;
    p += hl;
    if (*p == ':') {
        unsigned long port;
        size_t pl = strcspn(p + 1, ";?");
        if (!parse_uint(p + 1, pl, 65535, &port) || port == 0)
            return false;
        p += 1 + pl;
    }
    /* parameters and headers: tokens and separators, no empty name */
    if (*p == ';' || *p == '?')
        return p[1] != '\0' && p[1] != ';' && p[1] != '?' && p[1] != '=';
    return *p == '\0';
}

/* bind: "0.0.0.0", "0.0.0.0:5060", "::", "[::]:5060" */
static bool bind_ok(const char *s, char *out, size_t size)
{
    char addr[SIPNAT_ADDRSTRLEN + 2], fmt[SIPNAT_ADDRSTRLEN];
    const char *port = NULL, *colon = strchr(s, ':');
    unsigned long pv = 0;
    size_t al;
    int version;

    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close)
            return false;
        al = (size_t)(close - s) + 1;
        if (close[1] == ':')
            port = close + 2;
        else if (close[1])
            return false;
    } else if (colon && !strchr(colon + 1, ':')) { /* IPv4:port */
        al = (size_t)(colon - s);
        port = colon + 1;
    } else {
        al = strlen(s);
    }
    if (al >= sizeof addr)
        return false;
    memcpy(addr, s, al);
    addr[al] = '\0';
    version = sipnat_addr_normalize(addr, fmt, sizeof fmt);
    if (version < 0)
        return false;
    if (port && (!parse_uint(port, strlen(port), 65535, &pv) || pv == 0))
        return false;
    if (!port)
        snprintf(out, size, "%s", fmt);
    else if (version == 6)
        snprintf(out, size, "[%s]:%lu", fmt, pv);
    else
        snprintf(out, size, "%s:%lu", fmt, pv);
    return true;
}

static bool bool_parse(const char *s, bool *v)
{
    static const char *const yes[] = {"yes", "true", "on", "1", "y", NULL};
    static const char *const no[] = {"no", "false", "off", "0", "n", NULL};

    for (size_t i = 0; yes[i]; i++)
        if (cf_streq_nocase(s, yes[i]))
            return *v = true, true;
    for (size_t i = 0; no[i]; i++)
        if (cf_streq_nocase(s, no[i]))
            return *v = false, true;
    return false;
}

/* "3", "3.5", "0.25": tenths and hundredths kept as written. */
static bool seconds_ok(const char *s, unsigned max)
{
    const char *dot = strchr(s, '.');
    size_t il = dot ? (size_t)(dot - s) : strlen(s);
    unsigned long v;

    if (!parse_uint(s, il, max, &v))
        return false;
    if (dot) {
        size_t fl = strlen(dot + 1);
        if (fl == 0 || fl > 6)
            return false;
        for (size_t i = 0; i < fl; i++)
            if (!is_digit(dot[1 + i]))
                return false;
        if (v == max && strspn(dot + 1, "0") != fl)
            return false;
    }
    return true;
}

static void list_values(char *why, size_t size, const char *lead,
                        const char *const *v)
{
    size_t n = (size_t)snprintf(why, size, "%s", lead);

    for (size_t i = 0; v[i] && n < size; i++)
        n += (size_t)snprintf(why + n, size - n, "%s%s", i ? ", " : "", v[i]);
}

int cf_value_check(const cf_option_def *def, const char *text, char *out,
                   size_t size, char *why, size_t why_size, bool *refused)
{
    size_t n = strlen(text);
    bool b;
    unsigned long u;
    int r;

    *refused = false;
    why[0] = '\0';
    if (n == 0 && !(def->flags & CF_EMPTY_OK)) {
        snprintf(why, why_size, "a value (it is empty)");
        return -EINVAL;
    }
    if (n >= size)
        return -EINVAL;
    snprintf(out, size, "%s", text);
    switch (def->kind) {
    case CF_STRING:
    case CF_DERIVED:
        return 0;
    case CF_BOOL:
        if (!bool_parse(text, &b)) {
            snprintf(why, why_size,
                     "a yes/no value (yes, no, true, false, on, off, 1, 0)");
            return -EINVAL;
        }
        snprintf(out, size, "%s", b ? "yes" : "no");
        return 0;
    case CF_UINT:
        if (!parse_uint(text, n, def->max, &u) || u < def->min) {
            snprintf(why, why_size, "an integer from %u to %u", def->min,
                     def->max);
            return -EINVAL;
        }
        snprintf(out, size, "%lu", u);
        return 0;
    case CF_SECONDS:
        if (!seconds_ok(text, def->max)) {
            snprintf(why, why_size, "a number of seconds from %u to %u",
                     def->min, def->max);
            return -EINVAL;
        }
        return 0;
    case CF_CIDR:
        if (sipnat_cidr_normalize(text, out, size) < 0) {
            snprintf(why, why_size,
                     "a network such as 192.0.2.0/24 or "
                     "192.0.2.0/255.255.255.0 (no host bits set)");
            return -EINVAL;
        }
        return 0;
    case CF_ADDR:
        if (sipnat_addr_normalize(text, out, size) < 0) {
            snprintf(why, why_size,
                     "a numeric IPv4 or IPv6 address (host names are not "
                     "resolved here)");
            return -EINVAL;
        }
        return 0;
    case CF_BIND:
        if (!bind_ok(text, out, size)) {
            snprintf(why, why_size,
                     "a numeric address with an optional port 1-65535 "
                     "(0.0.0.0, 0.0.0.0:5060, [::]:5060)");
            return -EINVAL;
        }
        return 0;
    case CF_URI:
        if (!uri_ok(text)) {
            snprintf(why, why_size, "a SIP URI (sip:host, sip:user@host:port)");
            return -EINVAL;
        }
        return 0;
    case CF_HOST:
        if (!host_or_addr_ok(text, n)) {
            snprintf(why, why_size, "a host name or a numeric address");
            return -EINVAL;
        }
        return 0;
    case CF_USER:
        if (!user_ok(text, n)) {
            snprintf(why, why_size, "the user part of a SIP URI");
            return -EINVAL;
        }
        return 0;
    case CF_ENUM:
        for (size_t i = 0; def->values[i]; i++)
            if (cf_streq_nocase(text, def->values[i])) {
                snprintf(out, size, "%s", def->values[i]);
                return 0;
            }
        for (size_t i = 0; def->refused && def->refused[i]; i++)
            if (cf_streq_nocase(text, def->refused[i]))
                *refused = true;
        list_values(why, why_size, *refused ? "supported: " : "one of: ",
                    def->values);
        return -EINVAL;
    case CF_CODEC:
        if (!cf_streq_nocase(text, "all") && cf_codec_support(text) < 0) {
            snprintf(why, why_size, "a codec name (ulaw, alaw, ...) or 'all'");
            return -EINVAL;
        }
        for (size_t i = 0; i < n; i++)
            out[i] = (char)(out[i] >= 'A' && out[i] <= 'Z' ? out[i] - 'A' + 'a'
                                                            : out[i]);
        return 0;
    case CF_REF:
        for (size_t i = 0; i < n; i++)
            if ((unsigned char)text[i] <= ' ' || strchr("[]();,=\"#", text[i])) {
                snprintf(why, why_size, "a section name");
                return -EINVAL;
            }
        return 0;
    case CF_MATCH:
        r = sipnat_addr_normalize(text, out, size);
        if (r == -EINVAL)
            r = sipnat_cidr_normalize(text, out, size);
        if (r != -EINVAL)
            return r < 0 ? -EINVAL : 0;
        if (hostname_ok(text, n))
            return 0;
        snprintf(why, why_size,
                 "an address, a network (192.0.2.0/24, "
                 "192.0.2.0/255.255.255.0) or a host name");
        return -EINVAL;
    }
    return -EINVAL;
}
