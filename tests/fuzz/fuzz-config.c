/* libsipnat fuzzing - the configuration loader (lib/config): parse and
 * validate a pjsip.conf-style text from a buffer, then read every value
 * back through the public getters and dump it.
 *
 * Includes stay inside a sandbox: fopen() and glob() are wrapped (the
 * harness links with -Wl,--wrap=fopen,--wrap=glob) so that while the
 * loader runs, only files of a small directory made at start-up can be
 * read; an absolute #include or a wildcard cannot walk the machine. */
#include "config/model.h"

#include <errno.h>
#include <glob.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
FILE *__real_fopen(const char *path, const char *mode);
FILE *__wrap_fopen(const char *path, const char *mode);
int __real_glob(const char *pattern, int flags,
                int (*errfunc)(const char *, int), glob_t *g);
int __wrap_glob(const char *pattern, int flags,
                int (*errfunc)(const char *, int), glob_t *g);

static char sandbox[64];
static char main_name[96];
static int loading;

static int inside(const char *path)
{
    size_t n = strlen(sandbox);
    return strncmp(path, sandbox, n) == 0 && path[n] == '/' && !strstr(path, "..");
}

FILE *__wrap_fopen(const char *path, const char *mode)
{
    if (loading && !inside(path)) {
        errno = ENOENT;
        return NULL;
    }
    return __real_fopen(path, mode);
}

int __wrap_glob(const char *pattern, int flags,
                int (*errfunc)(const char *, int), glob_t *g)
{
    if (loading && !inside(pattern)) {
        memset(g, 0, sizeof *g);
        return GLOB_NOMATCH;
    }
    return __real_glob(pattern, flags, errfunc, g);
}

static void put(const char *name, const char *text)
{
    char path[128];
    FILE *f;

    snprintf(path, sizeof path, "%s/%s", sandbox, name);
    f = __real_fopen(path, "w");
    if (!f)
        abort();
    fputs(text, f);
    fclose(f);
}

static void cleanup(void)
{
    static const char *const names[] = {"inc.conf", "tmpl.conf", "loop.conf"};
    char path[128];

    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", sandbox, names[i]);
        unlink(path);
    }
    rmdir(sandbox);
}

static void setup(void)
{
    const char *tmp = getenv("TMPDIR");

    snprintf(sandbox, sizeof sandbox, "%s/sipnat-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(sandbox))
        abort();
    snprintf(main_name, sizeof main_name, "%s/fuzz.conf", sandbox);
    put("inc.conf", "[inc-transport]\ntype=transport\nprotocol=udp\nbind=0.0.0.0:5060\n");
    put("tmpl.conf", "[tmpl](!)\ntype=endpoint\nallow=ulaw\n");
    put("loop.conf", "#include loop.conf\n[x]\ntype=aor\n");
    atexit(cleanup);
}

static void diag(int severity, const char *file, unsigned line,
                 const char *msg, void *user_data)
{
    size_t *n = user_data;

    (void)severity;
    (void)line;
    *n += strlen(msg) + (file ? strlen(file) : 0);
}

/* Every section, option and value, the way a host would walk them. */
static void walk(const sipnat_config *cfg)
{
    static const char *const keys[] = {
        "bind", "protocol", "local_net", "external_media_address", "allow",
        "aors", "auth", "max_contacts", "qualify_frequency", "rtp_symmetric",
        "force_rport", "direct_media", "match", "contact", "server_uri",
        "retry_interval", "expiration", "username", "media_encryption",
    };
    char *dump = NULL;
    size_t dump_len = 0;
    FILE *f;

    for (int t = SIPNAT_CONFIG_TRANSPORT; t <= SIPNAT_CONFIG_SYSTEM; t++) {
        int n = sipnat_config_count(cfg, (sipnat_config_type)t);
        for (int i = 0; i < n; i++) {
            const char *name = NULL, *v = NULL, *file = NULL;
            unsigned u, line;
            int b;
            if (sipnat_config_get_name(cfg, (sipnat_config_type)t, (unsigned)i, &name) < 0 || !name)
                abort();
            for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
                int nv = sipnat_config_count_values(cfg, (sipnat_config_type)t, name, keys[k]);
                for (int j = 0; j < nv; j++)
                    if (sipnat_config_get(cfg, (sipnat_config_type)t, name, keys[k],
                                          (unsigned)j, &v) < 0 || !v)
                        abort();
                (void)sipnat_config_get_uint(cfg, (sipnat_config_type)t, name, keys[k], &u);
                (void)sipnat_config_get_bool(cfg, (sipnat_config_type)t, name, keys[k], &b);
                (void)sipnat_config_get_location(cfg, (sipnat_config_type)t, name, keys[k],
                                                 0, &file, &line);
            }
        }
    }
    /* What is dumped loads again (sipnat_config_dump(3) says so). */
    f = open_memstream(&dump, &dump_len);
    if (!f)
        return;
    if (sipnat_config_dump(cfg, f) < 0)
        abort();
    fclose(f);
    if (dump) {
        sipnat_config *again = NULL;
        size_t diag_bytes = 0;
        loading = 1;
        int r = cf_load(&again, main_name, dump, dump_len, diag, &diag_bytes);
        loading = 0;
        if (r == -EINVAL) {
            fprintf(stderr, "dump does not load again:\n%s\n", dump);
            abort();
        }
        sipnat_config_unref(again);
    }
    free(dump);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sipnat_config *cfg = NULL;
    size_t diag_bytes = 0;
    int r;

    if (!sandbox[0])
        setup();
    loading = 1;
    r = cf_load(&cfg, main_name, (const char *)data, size, diag, &diag_bytes);
    loading = 0;
    if (r == 0) {
        if (!cfg)
            abort();
        walk(cfg);
    } else if (cfg || (r != -EINVAL && r != -ENOMEM && r != -EFBIG)) {
        abort();
    }
    sipnat_config_unref(cfg);
    return 0;
}
