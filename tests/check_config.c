/* libsipnat tests - the pjsip.conf-compatible configuration loader.
 *
 * The loader is compiled into this program (lib/config and lib/core/addr),
 * so that its allocation failures can be injected; everything else goes
 * through the public API of <sipnat/config.h>.
 *
 * tests/config/good/ holds files that must load; tests/config/bad/ files
 * that must not. Each bad file starts with one line per error it must
 * cause, "; expect FILE:LINE: TEXT", and causes no other error; "..." in
 * TEXT stands for any text. */
#include <check.h>
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sipnat/config.h>

#include "config/util.h"

#ifndef CONFIG_FIXTURES
#error "CONFIG_FIXTURES: the directory of tests/config"
#endif

#define T_TRANSPORT SIPNAT_CONFIG_TRANSPORT
#define T_ENDPOINT SIPNAT_CONFIG_ENDPOINT
#define T_AUTH SIPNAT_CONFIG_AUTH
#define T_AOR SIPNAT_CONFIG_AOR
#define T_REG SIPNAT_CONFIG_REGISTRATION
#define T_IDENTIFY SIPNAT_CONFIG_IDENTIFY

/* ---- collecting diagnostics --------------------------------------------- */

typedef struct diag {
    int severity;
    char file[256];
    unsigned line;
    char msg[512];
} diag;

typedef struct diags {
    diag d[64];
    unsigned n;
    unsigned errors, warnings;
} diags;

static void collect(int severity, const char *file, unsigned line,
                    const char *message, void *user_data)
{
    diags *ds = user_data;
    const char *base = strrchr(file, '/');

    ck_assert_ptr_nonnull(message);
    ck_assert_ptr_null(strchr(message, '\n'));
    if (severity == SIPNAT_LOG_ERR)
        ds->errors++;
    else if (severity == SIPNAT_LOG_WARNING)
        ds->warnings++;
    if (ds->n == sizeof ds->d / sizeof ds->d[0])
        return;
    ds->d[ds->n].severity = severity;
    snprintf(ds->d[ds->n].file, sizeof ds->d[0].file, "%s", base ? base + 1 : file);
    ds->d[ds->n].line = line;
    snprintf(ds->d[ds->n].msg, sizeof ds->d[0].msg, "%s", message);
    ds->n++;
}

static void print_diags(const diags *ds)
{
    for (unsigned i = 0; i < ds->n; i++)
        fprintf(stderr, "  %s %s:%u: %s\n",
                ds->d[i].severity == SIPNAT_LOG_ERR ? "error" : "warning",
                ds->d[i].file, ds->d[i].line, ds->d[i].msg);
}

/* A warning at file:line whose text contains `text`. */
static bool has_diag(const diags *ds, int severity, const char *file,
                     unsigned line, const char *text)
{
    for (unsigned i = 0; i < ds->n; i++)
        if (ds->d[i].severity == severity && !strcmp(ds->d[i].file, file) &&
            ds->d[i].line == line && strstr(ds->d[i].msg, text))
            return true;
    return false;
}

static sipnat_config *load_good(const char *name, diags *ds)
{
    char path[512];
    sipnat_config *cfg = NULL;
    int r;

    snprintf(path, sizeof path, "%s/good/%s", CONFIG_FIXTURES, name);
    memset(ds, 0, sizeof *ds);
    r = sipnat_config_load(&cfg, path, collect, ds);
    if (r != 0)
        print_diags(ds);
    ck_assert_msg(r == 0, "%s: %d", name, r);
    ck_assert_ptr_nonnull(cfg);
    ck_assert_uint_eq(ds->errors, 0);
    return cfg;
}

/* ---- assertions on the model -------------------------------------------- */

static const char *V(const sipnat_config *cfg, sipnat_config_type type,
                     const char *name, const char *key, unsigned index)
{
    const char *v = NULL;
    int r = sipnat_config_get(cfg, type, name, key, index, &v);

    ck_assert_msg(r >= 0, "[%s] %s %s[%u]: %d", name,
                  sipnat_config_type_name(type), key, index, r);
    return v;
}

#define ck_value(cfg, type, name, key, index, want) \
    ck_assert_str_eq(V(cfg, type, name, key, index), want)

static void ck_values(const sipnat_config *cfg, sipnat_config_type type,
                      const char *name, const char *key,
                      const char *const *want)
{
    unsigned n = 0;
    const char *v;

    for (; want[n]; n++)
        ck_value(cfg, type, name, key, n, want[n]);
    if (n)
        ck_assert_int_eq(sipnat_config_count_values(cfg, type, name, key),
                         (int)n);
    ck_assert_int_eq(sipnat_config_get(cfg, type, name, key, n, &v), -ENOENT);
    ck_assert_ptr_null(v);
}

static void ck_names(const sipnat_config *cfg, sipnat_config_type type,
                     const char *const *want)
{
    unsigned n = 0;
    const char *name;

    for (; want[n]; n++) {
        ck_assert_int_eq(sipnat_config_get_name(cfg, type, n, &name), 0);
        ck_assert_str_eq(name, want[n]);
    }
    ck_assert_int_eq(sipnat_config_count(cfg, type), (int)n);
    ck_assert_int_eq(sipnat_config_get_name(cfg, type, n, &name), -ENOENT);
}

static unsigned U(const sipnat_config *cfg, sipnat_config_type type,
                  const char *name, const char *key)
{
    unsigned v = 99999;
    ck_assert_int_ge(sipnat_config_get_uint(cfg, type, name, key, &v), 0);
    return v;
}

static int Bv(const sipnat_config *cfg, sipnat_config_type type,
              const char *name, const char *key)
{
    int v = -1;
    ck_assert_int_ge(sipnat_config_get_bool(cfg, type, name, key, &v), 0);
    return v;
}

static unsigned where(const sipnat_config *cfg, sipnat_config_type type,
                      const char *name, const char *key, unsigned index,
                      const char *want_file)
{
    const char *file;
    unsigned line;

    ck_assert_int_eq(sipnat_config_get_location(cfg, type, name, key, index,
                                                &file, &line), 0);
    ck_assert_ptr_nonnull(strstr(file, want_file));
    return line;
}

#define LIST(...) ((const char *const[]){__VA_ARGS__, NULL})
#define NONE ((const char *const[]){NULL})

/* ---- the seed ----------------------------------------------------------- */

START_TEST(test_seed)
{
    diags ds;
    sipnat_config *cfg = load_good("seed.conf", &ds);
    const char *v;

    /* context= is accepted and ignored, with a warning at each */
    ck_assert_uint_eq(ds.warnings, 2);
    ck_assert(has_diag(&ds, SIPNAT_LOG_WARNING, "seed.conf", 32,
                       "option 'context' is ignored"));
    ck_assert(has_diag(&ds, SIPNAT_LOG_WARNING, "seed.conf", 53,
                       "option 'context' is ignored"));

    ck_names(cfg, T_TRANSPORT, LIST("transport-udp-nat"));
    ck_names(cfg, T_REG, LIST("sipus_reg"));
    ck_names(cfg, T_AUTH, LIST("sipus_auth", "6001"));
    ck_names(cfg, T_ENDPOINT, LIST("sipus_endpoint", "6001"));
    ck_names(cfg, T_AOR, LIST("sipus_aor", "6001"));
    ck_names(cfg, T_IDENTIFY, LIST("sipus_identify"));
    ck_names(cfg, SIPNAT_CONFIG_GLOBAL, NONE);

    /* transport */
    const char *t = "transport-udp-nat";
    ck_value(cfg, T_TRANSPORT, t, "protocol", 0, "udp");
    ck_value(cfg, T_TRANSPORT, t, "bind", 0, "0.0.0.0");
    ck_values(cfg, T_TRANSPORT, t, "local_net",
              LIST("192.0.2.0/24", "127.0.0.1/32"));
    ck_assert_uint_eq(where(cfg, T_TRANSPORT, t, "local_net", 1, "seed.conf"), 9);
    ck_values(cfg, T_TRANSPORT, t, "external_media_address", LIST("198.51.100.5"));
    ck_values(cfg, T_TRANSPORT, t, "external_signaling_address",
              LIST("198.51.100.5"));
    /* not in the seed: the default, said to be one */
    ck_assert_int_eq(sipnat_config_get(cfg, T_TRANSPORT, t,
                                       "external_signaling_port", 0, &v), 1);
    ck_assert_str_eq(v, "0");
    ck_assert_int_eq(sipnat_config_count_values(cfg, T_TRANSPORT, t,
                                                "external_signaling_port"), 0);

    /* registration */
    const char *r = "sipus_reg";
    ck_value(cfg, T_REG, r, "transport", 0, t);
    ck_values(cfg, T_REG, r, "outbound_auth", LIST("sipus_auth"));
    ck_value(cfg, T_REG, r, "server_uri", 0, "sip:gw1.example.com");
    ck_value(cfg, T_REG, r, "client_uri", 0, "sip:1112223333@gw1.example.com");
    ck_value(cfg, T_REG, r, "contact_user", 0, "19998887777");
    ck_assert_uint_eq(U(cfg, T_REG, r, "retry_interval"), 60);
    ck_assert_uint_eq(U(cfg, T_REG, r, "expiration"), 3600);
    ck_assert_uint_eq(U(cfg, T_REG, r, "max_retries"), 10);
    ck_assert_uint_eq(U(cfg, T_REG, r, "forbidden_retry_interval"), 0);
    ck_assert_int_eq(Bv(cfg, T_REG, r, "auth_rejection_permanent"), 1);
    ck_assert_int_eq(Bv(cfg, T_REG, r, "line"), 0);
    ck_assert_int_eq(sipnat_config_get(cfg, T_REG, r, "endpoint", 0, &v), -ENOENT);

    /* auths */
    ck_value(cfg, T_AUTH, "sipus_auth", "auth_type", 0, "userpass");
    ck_value(cfg, T_AUTH, "sipus_auth", "username", 0, "1112223333");
    ck_value(cfg, T_AUTH, "sipus_auth", "password", 0, "sipus-secret");
    ck_value(cfg, T_AUTH, "sipus_auth", "realm", 0, "gw1.example.com");
    ck_value(cfg, T_AUTH, "6001", "username", 0, "6001");
    ck_value(cfg, T_AUTH, "6001", "password", 0, "phone-6001-secret");
    ck_assert_int_eq(sipnat_config_get(cfg, T_AUTH, "6001", "realm", 0, &v), -ENOENT);

    /* endpoints */
    const char *e = "sipus_endpoint";
    ck_value(cfg, T_ENDPOINT, e, "transport", 0, t);
    ck_values(cfg, T_ENDPOINT, e, "disallow", LIST("all"));
    ck_values(cfg, T_ENDPOINT, e, "allow", LIST("ulaw"));
    ck_values(cfg, T_ENDPOINT, e, "codecs", LIST("ulaw"));
    ck_values(cfg, T_ENDPOINT, e, "outbound_auth", LIST("sipus_auth"));
    ck_values(cfg, T_ENDPOINT, e, "aors", LIST("sipus_aor"));
    ck_assert_int_eq(Bv(cfg, T_ENDPOINT, e, "direct_media"), 0);
    ck_value(cfg, T_ENDPOINT, e, "from_domain", 0, "gw1.example.com");
    ck_assert_int_eq(Bv(cfg, T_ENDPOINT, e, "rtp_symmetric"), 0);
    ck_assert_int_eq(Bv(cfg, T_ENDPOINT, e, "force_rport"), 1);
    ck_assert_int_eq(Bv(cfg, T_ENDPOINT, e, "rewrite_contact"), 0);
    /* ignored options are not in the model */
    ck_assert_int_eq(sipnat_config_get(cfg, T_ENDPOINT, e, "context", 0, &v),
                     -EINVAL);

    ck_values(cfg, T_ENDPOINT, "6001", "codecs", LIST("ulaw"));
    ck_value(cfg, T_ENDPOINT, "6001", "transport", 0, t);
    ck_values(cfg, T_ENDPOINT, "6001", "auth", LIST("6001"));
    ck_values(cfg, T_ENDPOINT, "6001", "aors", LIST("6001"));
    ck_assert_int_eq(Bv(cfg, T_ENDPOINT, "6001", "direct_media"), 0);
    /* [6001] three times, each of its own type, each where it was written */
    ck_assert_uint_eq(where(cfg, T_ENDPOINT, "6001", NULL, 0, "seed.conf"), 51);
    ck_assert_uint_eq(where(cfg, T_AUTH, "6001", NULL, 0, "seed.conf"), 61);
    ck_assert_uint_eq(where(cfg, T_AOR, "6001", NULL, 0, "seed.conf"), 67);

    /* aors */
    ck_values(cfg, T_AOR, "sipus_aor", "contact",
              LIST("sip:gw1.example.com", "sip:gw2.example.com"));
    ck_assert_uint_eq(U(cfg, T_AOR, "sipus_aor", "max_contacts"), 0);
    ck_assert_uint_eq(U(cfg, T_AOR, "6001", "max_contacts"), 2);
    ck_assert_int_eq(sipnat_config_count_values(cfg, T_AOR, "6001", "contact"), 0);
    ck_assert_uint_eq(U(cfg, T_AOR, "6001", "qualify_frequency"), 0);
    ck_assert_int_eq(Bv(cfg, T_AOR, "6001", "remove_existing"), 0);

    /* identify */
    ck_value(cfg, T_IDENTIFY, "sipus_identify", "endpoint", 0, e);
    ck_values(cfg, T_IDENTIFY, "sipus_identify", "match",
              LIST("203.0.113.1", "203.0.113.2"));

    ck_assert_ptr_null(sipnat_config_unref(cfg));
}
END_TEST

/* ---- templates, includes, syntax ---------------------------------------- */

START_TEST(test_templates)
{
    diags ds;
    sipnat_config *cfg = load_good("templates.conf", &ds);
    const char *t = "transport-udp-nat", *v;

    ck_assert_uint_eq(ds.warnings, 0);
    /* templates are not sections of the model */
    ck_names(cfg, T_ENDPOINT, LIST("7001", "7002"));
    ck_names(cfg, T_AOR, LIST("7001", "7002"));
    ck_names(cfg, T_AUTH, LIST("7002"));
    ck_assert_int_eq(sipnat_config_get(cfg, T_ENDPOINT, "endpoint-base",
                                       "transport", 0, &v), -ENOENT);

    ck_value(cfg, T_TRANSPORT, t, "bind", 0, "0.0.0.0:5060");
    /* a netmask, normalised to a prefix length */
    ck_values(cfg, T_TRANSPORT, t, "local_net", LIST("192.0.2.0/24"));
    ck_assert_uint_eq(U(cfg, T_TRANSPORT, t, "external_signaling_port"), 5062);

    /* 7001: endpoint-base through nat-phone, and its own options win */
    ck_value(cfg, T_ENDPOINT, "7001", "transport", 0, t);
    ck_assert_int_eq(Bv(cfg, T_ENDPOINT, "7001", "direct_media"), 1);
    ck_assert_int_eq(Bv(cfg, T_ENDPOINT, "7001", "rtp_symmetric"), 1);
    ck_assert_int_eq(Bv(cfg, T_ENDPOINT, "7001", "force_rport"), 1);
    ck_assert_int_eq(Bv(cfg, T_ENDPOINT, "7001", "rewrite_contact"), 1);
    ck_values(cfg, T_ENDPOINT, "7001", "allow", LIST("ulaw", "alaw"));
    ck_values(cfg, T_ENDPOINT, "7001", "codecs", LIST("ulaw", "alaw"));
    ck_value(cfg, T_ENDPOINT, "7001", "media_encryption", 0, "no");
    /* an inherited value remembers the template's line */
    ck_assert_uint_eq(where(cfg, T_ENDPOINT, "7001", "transport", 0,
                            "templates.conf"), 12);
    ck_assert_uint_eq(where(cfg, T_ENDPOINT, "7001", "direct_media", 0,
                            "templates.conf"), 29);

    /* 7002: two templates */
    ck_assert_int_eq(Bv(cfg, T_ENDPOINT, "7002", "direct_media"), 0);
    ck_assert_int_eq(Bv(cfg, T_ENDPOINT, "7002", "rewrite_contact"), 1);
    ck_value(cfg, T_ENDPOINT, "7002", "media_encryption", 0, "sdes");
    ck_values(cfg, T_ENDPOINT, "7002", "codecs", LIST("ulaw"));

    ck_assert_uint_eq(U(cfg, T_AOR, "7001", "max_contacts"), 1);
    ck_assert_int_eq(Bv(cfg, T_AOR, "7001", "remove_existing"), 0);
    ck_assert_uint_eq(U(cfg, T_AOR, "7002", "max_contacts"), 1);
    ck_assert_int_eq(Bv(cfg, T_AOR, "7002", "remove_existing"), 1);
    /* "\;" is a literal semicolon */
    ck_value(cfg, T_AUTH, "7002", "password", 0, "with;semicolon");
    sipnat_config_unref(cfg);
}
END_TEST

START_TEST(test_includes)
{
    diags ds;
    sipnat_config *cfg = load_good("includes.conf", &ds);
    const char *t = "transport-udp-nat";

    ck_assert_uint_eq(ds.warnings, 0);
    ck_names(cfg, T_TRANSPORT, LIST(t));
    ck_names(cfg, T_ENDPOINT, LIST("6001", "6002", "itsp"));
    ck_names(cfg, T_AOR, LIST("6001", "6002"));
    /* a nested include, relative to the file that includes it */
    ck_values(cfg, T_TRANSPORT, t, "local_net", LIST("192.0.2.0/24", "127.0.0.1/32"));
    ck_assert_uint_eq(where(cfg, T_TRANSPORT, t, "local_net", 0, "inc/transport.inc"), 4);
    ck_assert_uint_eq(where(cfg, T_TRANSPORT, t, "local_net", 1,
                            "inc/more-local-nets.inc"), 1);
    ck_assert_uint_eq(where(cfg, T_TRANSPORT, t, "external_media_address", 0,
                            "inc/transport.inc"), 6);
    /* the wildcard include, in name order; the last section it opened
     * goes on in the including file */
    ck_assert_uint_eq(U(cfg, T_AOR, "6001", "max_contacts"), 2);
    ck_assert_uint_eq(U(cfg, T_AOR, "6002", "max_contacts"), 3);
    ck_assert_uint_eq(where(cfg, T_AOR, "6002", "max_contacts", 0, "includes.conf"), 7);
    ck_assert_uint_eq(where(cfg, T_AOR, "6002", NULL, 0, "inc/phone-6002.inc"), 5);
    /* an include inside a section adds to that section */
    ck_assert_int_eq(Bv(cfg, T_ENDPOINT, "itsp", "direct_media"), 0);
    ck_value(cfg, T_ENDPOINT, "itsp", "from_domain", 0, "gw1.example.com");
    ck_value(cfg, T_ENDPOINT, "itsp", "transport", 0, t);
    sipnat_config_unref(cfg);
}
END_TEST

START_TEST(test_crlf_and_more_types)
{
    diags ds;
    sipnat_config *cfg = load_good("crlf.conf", &ds);
    const char *v;

    /* g729 is Asterisk's but not ours; context, max_forwards and the
     * system section are ignored: each said once */
    ck_assert(has_diag(&ds, SIPNAT_LOG_WARNING, "crlf.conf", 33,
                       "codec 'g729' is not supported"));
    ck_assert(has_diag(&ds, SIPNAT_LOG_WARNING, "crlf.conf", 34,
                       "option 'context' is ignored"));
    ck_assert(has_diag(&ds, SIPNAT_LOG_WARNING, "crlf.conf", 39,
                       "option 'max_forwards' is ignored"));
    ck_assert(has_diag(&ds, SIPNAT_LOG_WARNING, "crlf.conf", 43,
                       "option 'timer_t1' is ignored"));
    ck_assert_uint_eq(ds.warnings, 4);

    ck_value(cfg, T_TRANSPORT, "transport-tcp", "protocol", 0, "tcp");
    ck_value(cfg, T_TRANSPORT, "transport-tcp", "bind", 0, "[::]:5060");
    ck_values(cfg, T_TRANSPORT, "transport-tcp", "local_net", LIST("2001:db8::/32"));
    ck_value(cfg, T_REG, "reg", "server_uri", 0, "sip:gw1.example.com;transport=tcp");
    ck_values(cfg, T_REG, "reg", "outbound_auth", LIST("a1", "a2"));
    ck_assert_int_eq(Bv(cfg, T_REG, "reg", "line"), 1);
    ck_value(cfg, T_REG, "reg", "endpoint", 0, "itsp");
    ck_assert_uint_eq(U(cfg, T_REG, "reg", "expiration"), 600);
    ck_assert_uint_eq(U(cfg, T_REG, "reg", "max_retries"), 0);
    ck_assert_int_eq(Bv(cfg, T_REG, "reg", "auth_rejection_permanent"), 0);
    ck_value(cfg, T_AUTH, "a1", "password", 0, "");
    ck_values(cfg, T_ENDPOINT, "itsp", "allow", LIST("g729", "ulaw"));
    ck_values(cfg, T_ENDPOINT, "itsp", "codecs", LIST("ulaw"));
    ck_names(cfg, SIPNAT_CONFIG_GLOBAL, LIST("global"));
    ck_names(cfg, SIPNAT_CONFIG_SYSTEM, LIST("system"));
    ck_value(cfg, SIPNAT_CONFIG_GLOBAL, "global", "user_agent", 0, "libsipnat test");
    ck_assert_int_eq(sipnat_config_get(cfg, SIPNAT_CONFIG_GLOBAL, "global",
                                       "keep_alive_interval", 0, &v), 1);
    sipnat_config_unref(cfg);
}
END_TEST

/* A file of `text` in a fresh directory; the caller frees the path. */
static char *write_tmp(const char *text, size_t len)
{
    char dir[] = "/tmp/check_config.XXXXXX";
    char *path;
    FILE *f;

    ck_assert_ptr_nonnull(mkdtemp(dir));
    path = malloc(strlen(dir) + 16);
    ck_assert_ptr_nonnull(path);
    sprintf(path, "%s/test.conf", dir);
    f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(text, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
    return path;
}

static void remove_tmp(char *path)
{
    unlink(path);
    *strrchr(path, '/') = '\0';
    rmdir(path);
    free(path);
}

static int load_text(const char *text, size_t len, sipnat_config **cfg,
                     diags *ds)
{
    char *path = write_tmp(text, len);
    int r;

    memset(ds, 0, sizeof *ds);
    r = sipnat_config_load(cfg, path, collect, ds);
    remove_tmp(path);
    return r;
}

#define LOAD_TEXT(s, cfg, ds) load_text(s, sizeof(s) - 1, cfg, ds)

/* "allow=a,b" adds "codecs" between its two elements; when that moves the
 * section's option array, the second element must still land in "allow"
 * (found by fuzz-config: a use after free). Each prefix length puts the
 * move at another element. */
START_TEST(test_allow_list_grows_options)
{
    static const char *const opts[] = {
        "direct_media=no",  "rtp_symmetric=yes", "force_rport=yes",
        "rewrite_contact=yes", "ice_support=no", "media_address=192.0.2.1",
        "rtp_timeout=30",   "rtp_timeout_hold=60", "max_sessions=4",
        "max_sessions_retry_after=5", "dtmf_mode=rfc4733",
        "media_encryption=no", "from_user=a", "from_domain=example.com",
        "contact_user=b",
    };
    char text[2048];

    for (size_t k = 0; k <= sizeof opts / sizeof opts[0]; k++) {
        sipnat_config *cfg;
        diags ds;
        size_t n = (size_t)snprintf(text, sizeof text, "[e]\ntype=endpoint\n");
        int r;

        for (size_t i = 0; i < k; i++)
            n += (size_t)snprintf(text + n, sizeof text - n, "%s\n", opts[i]);
        snprintf(text + n, sizeof text - n, "allow=ulaw,alaw,g722\n");
        r = load_text(text, strlen(text), &cfg, &ds);
        ck_assert_msg(r == 0, "prefix %zu: %d, %s", k, r, text);
        ck_values(cfg, T_ENDPOINT, "e", "allow", LIST("ulaw", "alaw", "g722"));
        ck_values(cfg, T_ENDPOINT, "e", "codecs", LIST("ulaw", "alaw", "g722"));
        sipnat_config_unref(cfg);
    }
}
END_TEST

/* Asterisk's rtp.conf stunaddr, in a transport: address[:port]. */
START_TEST(test_stunaddr)
{
    sipnat_config *cfg;
    diags ds;

    ck_assert_int_eq(LOAD_TEXT("[t]\ntype=transport\nstunaddr=203.0.113.3\n"
                               "[u]\ntype=transport\nstunaddr=203.0.113.3:3479\n",
                               &cfg, &ds), 0);
    ck_value(cfg, T_TRANSPORT, "t", "stunaddr", 0, "203.0.113.3");
    ck_value(cfg, T_TRANSPORT, "u", "stunaddr", 0, "203.0.113.3:3479");
    ck_assert_uint_eq(ds.warnings, 0);
    sipnat_config_unref(cfg);
    /* a name, or a port out of range: refused, with the line */
    ck_assert_int_lt(LOAD_TEXT("[t]\ntype=transport\nstunaddr=stun.example.com\n", &cfg, &ds), 0);
    ck_assert(has_diag(&ds, SIPNAT_LOG_ERR, "test.conf", 3, "stunaddr"));
    ck_assert_int_lt(LOAD_TEXT("[t]\ntype=transport\nstunaddr=203.0.113.3:70000\n", &cfg, &ds), 0);
    ck_assert(has_diag(&ds, SIPNAT_LOG_ERR, "test.conf", 3, "stunaddr"));
}
END_TEST

/* rtp.conf's turnaddr with its credentials; without them, refused at
 * turnaddr's line. */
START_TEST(test_turnaddr)
{
    sipnat_config *cfg;
    diags ds;

    ck_assert_int_eq(LOAD_TEXT("[t]\ntype=transport\nturnaddr=203.0.113.3:3478\n"
                               "turnusername=sipnat\nturnpassword=relay-secret\n",
                               &cfg, &ds), 0);
    ck_value(cfg, T_TRANSPORT, "t", "turnaddr", 0, "203.0.113.3:3478");
    ck_value(cfg, T_TRANSPORT, "t", "turnusername", 0, "sipnat");
    ck_assert_uint_eq(ds.warnings, 0);
    sipnat_config_unref(cfg);
    ck_assert_int_lt(LOAD_TEXT("[t]\ntype=transport\nbind=0.0.0.0\nturnaddr=203.0.113.3\n"
                               "turnusername=sipnat\n", &cfg, &ds), 0);
    ck_assert(has_diag(&ds, SIPNAT_LOG_ERR, "test.conf", 4, "turnpassword"));
    ck_assert_int_lt(LOAD_TEXT("[t]\ntype=transport\nturnaddr=turn.example.com\n"
                               "turnusername=a\nturnpassword=b\n", &cfg, &ds), 0);
    ck_assert(has_diag(&ds, SIPNAT_LOG_ERR, "test.conf", 3, "turnaddr"));
}
END_TEST

START_TEST(test_syntax_corners)
{
    sipnat_config *cfg;
    diags ds;

    /* empty, comments only, no final newline */
    ck_assert_int_eq(LOAD_TEXT("", &cfg, &ds), 0);
    ck_assert_int_eq(sipnat_config_count(cfg, T_TRANSPORT), 0);
    sipnat_config_unref(cfg);
    ck_assert_int_eq(LOAD_TEXT("; nothing\n;-- at all --;\n\n", &cfg, &ds), 0);
    sipnat_config_unref(cfg);
    ck_assert_int_eq(LOAD_TEXT("[a]\ntype=auth\nusername=u\npassword=x=y;z", &cfg, &ds), 0);
    /* the first '=' splits; a value may hold more */
    ck_value(cfg, T_AUTH, "a", "password", 0, "x=y");
    sipnat_config_unref(cfg);
    /* case-insensitive yes/no and enums, normalised */
    ck_assert_int_eq(LOAD_TEXT("[t]\ntype=transport\nprotocol=TCP\n"
                               "[e]\ntype=endpoint\ndirect_media=Off\n"
                               "rtp_symmetric=1\nforce_rport=FALSE\nallow=ULAW\n"
                               "dtmf_mode=RFC4733\nmedia_address=2001:DB8::1\n",
                               &cfg, &ds), 0);
    ck_value(cfg, T_TRANSPORT, "t", "protocol", 0, "tcp");
    ck_value(cfg, T_ENDPOINT, "e", "direct_media", 0, "no");
    ck_value(cfg, T_ENDPOINT, "e", "rtp_symmetric", 0, "yes");
    ck_value(cfg, T_ENDPOINT, "e", "force_rport", 0, "no");
    ck_value(cfg, T_ENDPOINT, "e", "allow", 0, "ulaw");
    ck_value(cfg, T_ENDPOINT, "e", "dtmf_mode", 0, "rfc4733");
    ck_value(cfg, T_ENDPOINT, "e", "media_address", 0, "2001:db8::1");
    /* allow alone gives what it allows, nothing more */
    ck_values(cfg, T_ENDPOINT, "e", "codecs", LIST("ulaw"));
    sipnat_config_unref(cfg);
    /* an endpoint without allow/disallow gets what the library speaks;
     * allow/disallow apply in the order written */
    ck_assert_int_eq(LOAD_TEXT("[e]\ntype=endpoint\n[f]\ntype=endpoint\n"
                               "allow=all\ndisallow=ulaw\nallow=ulaw\n"
                               "[g]\ntype=endpoint\ndisallow=all\n",
                               &cfg, &ds), 0);
    ck_values(cfg, T_ENDPOINT, "e", "codecs", LIST("ulaw", "alaw"));
    ck_values(cfg, T_ENDPOINT, "f", "codecs", LIST("alaw", "g722", "opus", "ulaw"));
    ck_values(cfg, T_ENDPOINT, "g", "codecs", NONE);
    ck_assert(has_diag(&ds, SIPNAT_LOG_WARNING, "test.conf", 8, "no codec"));
    sipnat_config_unref(cfg);
    /* match: addresses, networks, netmasks, host names */
    ck_assert_int_eq(LOAD_TEXT("[e]\ntype=endpoint\n[i]\ntype=identify\n"
                               "endpoint=e\nmatch=203.0.113.1, 198.51.100.0/255.255.255.0\n"
                               "match=gw1.example.com\nmatch=2001:db8::/32\n",
                               &cfg, &ds), 0);
    ck_values(cfg, T_IDENTIFY, "i", "match",
              LIST("203.0.113.1", "198.51.100.0/24", "gw1.example.com",
                   "2001:db8::/32"));
    sipnat_config_unref(cfg);
}
END_TEST

/* ---- every bad file fails, where its first lines say -------------------- */

/* The pieces of `pattern` between "..." appear in `s` in that order. */
static bool matches(const char *s, const char *pattern)
{
    while (*pattern) {
        const char *dots = strstr(pattern, "...");
        size_t n = dots ? (size_t)(dots - pattern) : strlen(pattern);
        char piece[1024];

        snprintf(piece, sizeof piece, "%.*s", (int)n, pattern);
        s = strstr(s, piece);
        if (!s)
            return false;
        s += n;
        pattern += n + (dots ? 3 : 0);
    }
    return true;
}

typedef struct expect {
    char file[1024];
    unsigned line;
    char text[1024];
} expect;

static unsigned read_expects(const char *path, expect *ex, unsigned max)
{
    FILE *f = fopen(path, "rb");
    char buf[1024];
    unsigned n = 0;

    ck_assert_ptr_nonnull(f);
    while (n < max && fgets(buf, sizeof buf, f) && !strncmp(buf, "; expect ", 9)) {
        char *p = buf + 9, *colon = strchr(p, ':'), *end;
        ck_assert_msg(colon != NULL, "%s: bad expect line", path);
        *colon = '\0';
        snprintf(ex[n].file, sizeof ex[n].file, "%s", p);
        ex[n].line = (unsigned)strtoul(colon + 1, &end, 10);
        ck_assert_msg(*end == ':' && end[1] == ' ', "%s: bad expect line", path);
        snprintf(ex[n].text, sizeof ex[n].text, "%s", end + 2);
        ex[n].text[strcspn(ex[n].text, "\r\n")] = '\0';
        n++;
    }
    fclose(f);
    ck_assert_msg(n > 0, "%s: no '; expect' line", path);
    return n;
}

START_TEST(test_bad_files)
{
    glob_t g;
    unsigned files = 0;

    ck_assert_int_eq(glob(CONFIG_FIXTURES "/bad/*.conf", 0, NULL, &g), 0);
    for (size_t i = 0; i < g.gl_pathc; i++) {
        const char *path = g.gl_pathv[i];
        sipnat_config *cfg = (sipnat_config *)&files; /* must become NULL */
        expect ex[16];
        unsigned n = read_expects(path, ex, 16);
        bool used[64] = {false};
        diags ds = {.n = 0};
        int r = sipnat_config_load(&cfg, path, collect, &ds);

        ck_assert_msg(r == -EINVAL, "%s: loaded (%d)", path, r);
        ck_assert_ptr_null(cfg);
        for (unsigned k = 0; k < ds.n; k++)
            if (ds.d[k].severity == SIPNAT_LOG_ERR)
                ck_assert_msg(ds.d[k].file[0] && ds.d[k].line > 0,
                              "%s: error without file:line: %s", path, ds.d[k].msg);
        for (unsigned j = 0; j < n; j++) {
            bool found = false;
            for (unsigned k = 0; k < ds.n && !found; k++) {
                if (used[k] || ds.d[k].severity != SIPNAT_LOG_ERR ||
                    strcmp(ds.d[k].file, ex[j].file) || ds.d[k].line != ex[j].line ||
                    !matches(ds.d[k].msg, ex[j].text))
                    continue;
                used[k] = found = true;
            }
            if (!found)
                print_diags(&ds);
            ck_assert_msg(found, "%s: no error %s:%u: %s", path, ex[j].file,
                          ex[j].line, ex[j].text);
        }
        if (ds.errors != n)
            print_diags(&ds);
        ck_assert_msg(ds.errors == n, "%s: %u errors, expected %u", path,
                      ds.errors, n);
        files++;
    }
    globfree(&g);
    ck_assert_uint_ge(files, 30);
}
END_TEST

/* ---- damaged copies of the seed: never a crash, always a verdict ------ */

static void ck_verdict(const char *text, size_t len)
{
    sipnat_config *cfg = NULL;
    diags ds;
    int r = load_text(text, len, &cfg, &ds);

    ck_assert_msg(r == 0 || r == -EINVAL, "%d", r);
    ck_assert_int_eq(r == 0, ds.errors == 0);
    ck_assert_int_eq(r == 0, cfg != NULL);
    for (unsigned k = 0; k < ds.n; k++)
        if (ds.d[k].severity == SIPNAT_LOG_ERR)
            ck_assert_msg(ds.d[k].line > 0, "no line: %s", ds.d[k].msg);
    sipnat_config_unref(cfg);
}

START_TEST(test_damaged_seed)
{
    static const char bytes[] = {'[', ']', '=', ';', ',', '(', '\0', '\n',
                                 '\r', '#', (char)0xff};
    FILE *f = fopen(CONFIG_FIXTURES "/good/seed.conf", "rb");
    char seed[4096], copy[4096];
    size_t len;

    ck_assert_ptr_nonnull(f);
    len = fread(seed, 1, sizeof seed, f);
    fclose(f);
    ck_assert_uint_gt(len, 1000);
    /* every prefix: a file cut short anywhere */
    for (size_t n = 0; n <= len; n++)
        ck_verdict(seed, n);
    /* one byte changed, at every third position */
    for (size_t i = 0; i < len; i += 3)
        for (size_t b = 0; b < sizeof bytes; b++) {
            memcpy(copy, seed, len);
            copy[i] = bytes[b];
            ck_verdict(copy, len);
        }
}
END_TEST

/* ---- allocation failures ------------------------------------------------ */

/* Fail the 1st, 2nd, ... allocation of a load until one succeeds: every
 * failure must be -ENOMEM (never a crash, a leak or a false error). */
static void failmalloc(const char *path, int want)
{
    unsigned steps = 0;

    for (long n = 0;; n++) {
        sipnat_config *cfg = NULL;
        diags ds = {.n = 0};
        int r;

        cf_fail_after = n;
        r = sipnat_config_load(&cfg, path, collect, &ds);
        cf_fail_after = -1;
        if (r == want)  {
            ck_assert_int_eq(n > 0, 1);
            sipnat_config_unref(cfg);
            break;
        }
        ck_assert_msg(r == -ENOMEM, "%s: allocation %ld failed: %d", path, n, r);
        ck_assert_ptr_null(cfg);
        steps++;
        ck_assert_uint_lt(steps, 100000);
    }
    ck_assert_uint_gt(steps, 20);
}

START_TEST(test_failmalloc)
{
    failmalloc(CONFIG_FIXTURES "/good/seed.conf", 0);
    failmalloc(CONFIG_FIXTURES "/good/templates.conf", 0);
    failmalloc(CONFIG_FIXTURES "/good/includes.conf", 0);
    failmalloc(CONFIG_FIXTURES "/bad/many-errors.conf", -EINVAL);
}
END_TEST

/* ---- the dump, and the API's arguments ---------------------------------- */

static char *dump_text(const sipnat_config *cfg, size_t *len)
{
    char *buf = NULL;
    FILE *f = open_memstream(&buf, len);

    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(sipnat_config_dump(cfg, f), 0);
    fclose(f);
    return buf;
}

/* Without its "; file:line" comment lines. */
static void strip_comments(char *s)
{
    char *out = s;
    while (*s) {
        size_t n = strcspn(s, "\n") + (s[strcspn(s, "\n")] == '\n');
        if (*s != ';') {
            memmove(out, s, n);
            out += n;
        }
        s += n;
    }
    *out = '\0';
}

static void ck_dump_round_trip(const char *name)
{
    diags ds;
    sipnat_config *cfg = load_good(name, &ds), *again = NULL;
    size_t len, len2;
    char *one = dump_text(cfg, &len), *path, *two;

    path = write_tmp(one, len);
    memset(&ds, 0, sizeof ds);
    ck_assert_int_eq(sipnat_config_load(&again, path, collect, &ds), 0);
    remove_tmp(path);
    two = dump_text(again, &len2);
    strip_comments(one);
    strip_comments(two);
    ck_assert_str_eq(one, two);
    free(one);
    free(two);
    sipnat_config_unref(cfg);
    sipnat_config_unref(again);
}

START_TEST(test_dump)
{
    diags ds;
    sipnat_config *cfg = load_good("seed.conf", &ds);
    size_t len;
    char *text = dump_text(cfg, &len);

    ck_assert_ptr_nonnull(strstr(text, "seed.conf:4\n[transport-udp-nat]\ntype=transport\n"
                                       "protocol=udp\nbind=0.0.0.0\nlocal_net=192.0.2.0/24\n"
                                       "local_net=127.0.0.1/32\n"));
    ck_assert_ptr_nonnull(strstr(text, "[6001]\ntype=aor\nmax_contacts=2\n"));
    ck_assert_ptr_nonnull(strstr(text, "disallow=all\nallow=ulaw\n"));
    ck_assert_ptr_null(strstr(text, "context"));
    free(text);
    sipnat_config_unref(cfg);

    ck_dump_round_trip("seed.conf");
    ck_dump_round_trip("templates.conf");
    ck_dump_round_trip("includes.conf");
    ck_dump_round_trip("crlf.conf");
}
END_TEST

START_TEST(test_api)
{
    diags ds;
    sipnat_config *cfg = load_good("seed.conf", &ds), *none = NULL;
    const char *v, *file;
    unsigned u, line;
    int b;

    ck_assert_int_eq(sipnat_config_load(NULL, "x", NULL, NULL), -EINVAL);
    ck_assert_int_eq(sipnat_config_load(&none, NULL, NULL, NULL), -EINVAL);
    ck_assert_int_eq(sipnat_config_load(&none, "", NULL, NULL), -EINVAL);
    memset(&ds, 0, sizeof ds);
    ck_assert_int_eq(sipnat_config_load(&none, CONFIG_FIXTURES "/no-such.conf",
                                        collect, &ds), -ENOENT);
    ck_assert_ptr_null(none);
    ck_assert_uint_eq(ds.errors, 1);
    ck_assert_uint_eq(ds.d[0].line, 0);
    ck_assert_int_eq(sipnat_config_load(&none, CONFIG_FIXTURES "/good",
                                        NULL, NULL), -EINVAL);
    /* no callback: errors still count */
    ck_assert_int_eq(sipnat_config_load(&none, CONFIG_FIXTURES "/bad/bad-bool.conf",
                                        NULL, NULL), -EINVAL);

    ck_assert_ptr_eq(sipnat_config_ref(cfg), cfg);
    ck_assert_ptr_null(sipnat_config_unref(cfg));
    ck_assert_ptr_null(sipnat_config_ref(NULL));
    ck_assert_ptr_null(sipnat_config_unref(NULL));

    ck_assert_str_eq(sipnat_config_type_name(T_IDENTIFY), "identify");
    ck_assert_str_eq(sipnat_config_type_name(SIPNAT_CONFIG_SYSTEM), "system");
    ck_assert_str_eq(sipnat_config_type_name(0), "unknown");
    ck_assert_str_eq(sipnat_config_type_name(99), "unknown");
    ck_assert_int_eq(sipnat_config_count(NULL, T_AOR), -EINVAL);
    ck_assert_int_eq(sipnat_config_count(cfg, 0), -EINVAL);
    ck_assert_int_eq(sipnat_config_count(cfg, 9), -EINVAL);
    ck_assert_int_eq(sipnat_config_get_name(cfg, T_AOR, 0, NULL), -EINVAL);

    ck_assert_int_eq(sipnat_config_get(cfg, T_AOR, "6001", "max_contacts", 0, NULL), -EINVAL);
    ck_assert_int_eq(sipnat_config_get(NULL, T_AOR, "6001", "max_contacts", 0, &v), -EINVAL);
    ck_assert_int_eq(sipnat_config_get(cfg, T_AOR, NULL, "max_contacts", 0, &v), -EINVAL);
    ck_assert_int_eq(sipnat_config_get(cfg, T_AOR, "6001", NULL, 0, &v), -EINVAL);
    /* not an option of that type / no such section */
    ck_assert_int_eq(sipnat_config_get(cfg, T_AOR, "6001", "bind", 0, &v), -EINVAL);
    ck_assert_int_eq(sipnat_config_get(cfg, T_AOR, "6002", "max_contacts", 0, &v), -ENOENT);
    ck_assert_int_eq(sipnat_config_get(cfg, T_REG, "6001", "expiration", 0, &v), -ENOENT);
    ck_assert_int_eq(sipnat_config_count_values(cfg, T_AOR, "6002", "contact"), -ENOENT);
    ck_assert_int_eq(sipnat_config_count_values(cfg, T_AOR, "6001", "bogus"), -EINVAL);
    /* a default exists at index 0 only */
    ck_assert_int_eq(sipnat_config_get(cfg, T_AOR, "6001", "qualify_frequency", 1, &v), -ENOENT);

    ck_assert_int_eq(sipnat_config_get_uint(cfg, T_AOR, "6001", "remove_existing", &u), -EINVAL);
    ck_assert_int_eq(sipnat_config_get_uint(cfg, T_AOR, "6001", "max_contacts", NULL), -EINVAL);
    ck_assert_int_eq(sipnat_config_get_bool(cfg, T_AOR, "6001", "max_contacts", &b), -EINVAL);
    ck_assert_int_eq(sipnat_config_get_bool(cfg, T_AOR, "6001", NULL, &b), -EINVAL);
    ck_assert_int_eq(sipnat_config_get_uint(cfg, T_AOR, "6001", "max_contacts", &u), 0);
    ck_assert_uint_eq(u, 2);
    ck_assert_int_eq(sipnat_config_get_uint(cfg, T_AOR, "6001", "qualify_frequency", &u), 1);
    ck_assert_uint_eq(u, 0);

    ck_assert_int_eq(sipnat_config_get_location(cfg, T_AOR, "6001", "max_contacts", 0,
                                                &file, NULL), -EINVAL);
    ck_assert_int_eq(sipnat_config_get_location(cfg, T_AOR, "6001", "max_contacts", 1,
                                                &file, &line), -ENOENT);
    ck_assert_int_eq(sipnat_config_get_location(cfg, T_AOR, "6009", NULL, 0,
                                                &file, &line), -ENOENT);
    ck_assert_int_eq(sipnat_config_get_location(cfg, T_AOR, "6001", "max_contacts", 0,
                                                &file, &line), 0);
    ck_assert_uint_eq(line, 69);
    ck_assert_int_eq(sipnat_config_dump(NULL, stdout), -EINVAL);
    ck_assert_int_eq(sipnat_config_dump(cfg, NULL), -EINVAL);
    sipnat_config_unref(cfg);
}
END_TEST

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("config");

    /* a limit against hangs on a loaded machine, not a measurement */
    tcase_set_timeout(tc, 120);

    tcase_add_test(tc, test_seed);
    tcase_add_test(tc, test_templates);
    tcase_add_test(tc, test_includes);
    tcase_add_test(tc, test_crlf_and_more_types);
    tcase_add_test(tc, test_syntax_corners);
    tcase_add_test(tc, test_stunaddr);
    tcase_add_test(tc, test_turnaddr);
    tcase_add_test(tc, test_allow_list_grows_options);
    tcase_add_test(tc, test_bad_files);
    tcase_add_test(tc, test_damaged_seed);
    tcase_add_test(tc, test_failmalloc);
    tcase_add_test(tc, test_dump);
    tcase_add_test(tc, test_api);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(config_suite());
    int failed;

    srunner_run_all(sr, CK_VERBOSE);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
