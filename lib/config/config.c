/*
 * libsipnat - configuration loader: the public API (sipnat_config(3)).
 */
#include "config.h"

#include "config/model.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int cf_load(sipnat_config **ret, const char *path, const char *buf, size_t len,
            sipnat_config_diag_func func, void *user_data)
{
    cf_diag diag = {.func = func, .user_data = user_data};
    cf_raw raw;
    sipnat_config *cfg;
    int r;

    if (ret)
        *ret = NULL;
    if (!ret || !path || !*path)
        return -EINVAL;
    cfg = cf_calloc(1, sizeof *cfg);
    if (!cfg)
        return -ENOMEM;
    cfg->refs = 1;
    memset(&raw, 0, sizeof raw);
    r = buf ? cf_parse_buffer(&raw, path, buf, len, &diag) : cf_parse(&raw, path, &diag);
    /* Syntax errors do not stop the checks: every error shows at once. */
    if (r == 0)
        r = cf_build(cfg, &raw, &diag);
    cfg->files = raw.files;
    cfg->n_files = raw.n_files;
    raw.files = NULL;
    raw.n_files = 0;
    cf_raw_free(&raw);
    if (r == 0 && diag.errors)
        r = -EINVAL;
    if (r < 0) {
        sipnat_config_unref(cfg);
        return r;
    }
    *ret = cfg;
    return 0;
}

SIPNAT_API int sipnat_config_load(sipnat_config **ret, const char *path,
                                  sipnat_config_diag_func func,
                                  void *user_data)
{
    return cf_load(ret, path, NULL, 0, func, user_data);
}

SIPNAT_API sipnat_config *sipnat_config_ref(sipnat_config *cfg)
{
    if (cfg)
        cfg->refs++;
    return cfg;
}

SIPNAT_API sipnat_config *sipnat_config_unref(sipnat_config *cfg)
{
    if (!cfg || --cfg->refs > 0)
        return NULL;
    for (size_t i = 0; i < cfg->n_secs; i++)
        cf_section_free(&cfg->secs[i]);
    free(cfg->secs);
    for (size_t i = 0; i < cfg->n_files; i++)
        free(cfg->files[i]);
    free(cfg->files);
    free(cfg);
    return NULL;
}

SIPNAT_API const char *sipnat_config_type_name(sipnat_config_type type)
{
    return cf_type_name(type);
}

static bool type_ok(sipnat_config_type type)
{
    return type >= SIPNAT_CONFIG_TRANSPORT && type <= SIPNAT_CONFIG_SYSTEM;
}

SIPNAT_API int sipnat_config_count(const sipnat_config *cfg,
                                   sipnat_config_type type)
{
    int n = 0;

    if (!cfg || !type_ok(type))
        return -EINVAL;
    for (size_t i = 0; i < cfg->n_secs; i++)
        n += cfg->secs[i].type == type;
    return n;
}

SIPNAT_API int sipnat_config_get_name(const sipnat_config *cfg,
                                      sipnat_config_type type,
                                      unsigned index, const char **name)
{
    if (name)
        *name = NULL;
    if (!cfg || !type_ok(type) || !name)
        return -EINVAL;
    for (size_t i = 0; i < cfg->n_secs; i++)
        if (cfg->secs[i].type == type && index-- == 0) {
            *name = cfg->secs[i].name;
            return 0;
        }
    return -ENOENT;
}

/* The section and the option's definition; its entry may be NULL. */
static int lookup(const sipnat_config *cfg, sipnat_config_type type,
                  const char *name, const char *key, const cf_section **sec,
                  const cf_option_def **def, const cf_opt **opt)
{
    if (!cfg || !type_ok(type) || !name || !key)
        return -EINVAL;
    *def = cf_option_lookup(type, key);
    if (!*def)
        return -EINVAL;
    *sec = cf_find(cfg, type, name);
    if (!*sec)
        return -ENOENT;
    *opt = cf_opt_find(*sec, key);
    return 0;
}

SIPNAT_API int sipnat_config_get(const sipnat_config *cfg,
                                 sipnat_config_type type, const char *name,
                                 const char *key, unsigned index,
                                 const char **value)
{
    const cf_section *sec;
    const cf_option_def *def;
    const cf_opt *opt;
    int r;

    if (value)
        *value = NULL;
    if (!value)
        return -EINVAL;
    r = lookup(cfg, type, name, key, &sec, &def, &opt);
    if (r < 0)
        return r;
    if (opt && index < opt->n) {
        *value = opt->v[index].text;
        return 0;
    }
    if ((!opt || opt->n == 0) && index == 0 && def->def) {
        *value = def->def;
        return 1;
    }
    return -ENOENT;
}

SIPNAT_API int sipnat_config_count_values(const sipnat_config *cfg,
                                          sipnat_config_type type,
                                          const char *name, const char *key)
{
    const cf_section *sec;
    const cf_option_def *def;
    const cf_opt *opt;
    int r = lookup(cfg, type, name, key, &sec, &def, &opt);

    if (r < 0)
        return r;
    return opt ? (int)opt->n : 0;
}

/* The value of an option of one of two kinds, for the typed getters. */
static int get_typed(const sipnat_config *cfg, sipnat_config_type type,
                     const char *name, const char *key, cf_kind k1,
                     cf_kind k2, bool have_out, const char **text)
{
    const cf_option_def *def = key ? cf_option_lookup(type, key) : NULL;

    if (!have_out || !def || (def->kind != k1 && def->kind != k2))
        return -EINVAL;
    return sipnat_config_get(cfg, type, name, key, 0, text);
}

SIPNAT_API int sipnat_config_get_uint(const sipnat_config *cfg,
                                      sipnat_config_type type,
                                      const char *name, const char *key,
                                      unsigned *value)
{
    const char *text;
    int r = get_typed(cfg, type, name, key, CF_UINT, CF_UINT, value, &text);

    if (value)
        *value = r >= 0 ? (unsigned)strtoul(text, NULL, 10) : 0;
    return r;
}

SIPNAT_API int sipnat_config_get_bool(const sipnat_config *cfg,
                                      sipnat_config_type type,
                                      const char *name, const char *key,
                                      int *value)
{
    const char *text;
    int r = get_typed(cfg, type, name, key, CF_BOOL, CF_BOOL, value, &text);

    if (value)
        *value = r >= 0 && !strcmp(text, "yes");
    return r;
}

SIPNAT_API int sipnat_config_get_location(const sipnat_config *cfg,
                                          sipnat_config_type type,
                                          const char *name, const char *key,
                                          unsigned index, const char **file,
                                          unsigned *line)
{
    const cf_section *sec;
    const cf_option_def *def;
    const cf_opt *opt;
    int r;

    if (file)
        *file = NULL;
    if (line)
        *line = 0;
    if (!file || !line)
        return -EINVAL;
    if (!key) {
        if (!cfg || !type_ok(type) || !name)
            return -EINVAL;
        sec = cf_find(cfg, type, name);
        if (!sec)
            return -ENOENT;
        *file = sec->file;
        *line = sec->line;
        return 0;
    }
    r = lookup(cfg, type, name, key, &sec, &def, &opt);
    if (r < 0)
        return r;
    if (!opt || index >= opt->n)
        return -ENOENT;
    *file = opt->v[index].file;
    *line = opt->v[index].line;
    return 0;
}

/* ---- dump --------------------------------------------------------------- */

static void put_value(FILE *f, const char *s)
{
    for (; *s; s++) {
        if (*s == ';')
            fputc('\\', f);
        fputc(*s, f);
    }
}

static void dump_option(FILE *f, const cf_opt *o)
{
    const cf_option_def *def = o->def;

    if (o->n == 0)
        return;
    if ((def->flags & CF_LIST) && !(def->flags & CF_REPEAT)) {
        fprintf(f, "%s=", def->name);
        for (size_t i = 0; i < o->n; i++) {
            if (i)
                fputc(',', f);
            put_value(f, o->v[i].text);
        }
        fputc('\n', f);
        return;
    }
    for (size_t i = 0; i < o->n; i++) {
        fprintf(f, "%s=", def->name);
        put_value(f, o->v[i].text);
        fputc('\n', f);
    }
}

SIPNAT_API int sipnat_config_dump(const sipnat_config *cfg, FILE *f)
{
    if (!cfg || !f)
        return -EINVAL;
    for (size_t i = 0; i < cfg->n_secs; i++) {
        const cf_section *s = &cfg->secs[i];
        const cf_opt *codecs = NULL;

        fprintf(f, "%s; %s:%u\n[%s]\ntype=%s\n", i ? "\n" : "", s->file,
                s->line, s->name, cf_type_name(s->type));
        for (size_t j = 0; j < s->n_opts; j++) {
            const cf_opt *o = &s->opts[j];
            if (o->def->kind == CF_DERIVED)
                codecs = o;
            else if (o->def->kind != CF_CODEC)
                dump_option(f, o);
        }
        /* allow/disallow as the codecs they leave, so that loading the
         * dump again gives the same codecs */
        if (codecs) {
            fprintf(f, "disallow=all\n");
            for (size_t k = 0; k < codecs->n; k++)
                fprintf(f, "allow=%s\n", codecs->v[k].text);
        }
    }
    fflush(f);
    return ferror(f) ? -EIO : 0;
}
