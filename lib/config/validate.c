/*
 * libsipnat - configuration loader, second pass: from sections of text
 * to the checked model. Collects every error instead of stopping at the
 * first, so that one run shows all that is wrong with a file.
 */
#include "config.h"

#include "config/model.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

const cf_section *cf_find(const sipnat_config *cfg, sipnat_config_type type,
                          const char *name)
{
    for (size_t i = 0; i < cfg->n_secs; i++)
        if (cfg->secs[i].type == type && !strcmp(cfg->secs[i].name, name))
            return &cfg->secs[i];
    return NULL;
}

const cf_opt *cf_opt_find(const cf_section *s, const char *key)
{
    for (size_t i = 0; i < s->n_opts; i++)
        if (!strcmp(s->opts[i].def->name, key))
            return &s->opts[i];
    return NULL;
}

static void clear_values(cf_opt *o)
{
    for (size_t i = 0; i < o->n; i++)
        free(o->v[i].text);
    o->n = 0;
}

void cf_section_free(cf_section *s)
{
    for (size_t i = 0; i < s->n_opts; i++) {
        clear_values(&s->opts[i]);
        free(s->opts[i].v);
    }
    free(s->opts);
    free(s->name);
}

/* The section's entry for def, added when missing; NULL: out of memory. */
static cf_opt *opt_get(cf_section *s, const cf_option_def *def)
{
    cf_opt *o = (cf_opt *)cf_opt_find(s, def->name);

    if (o)
        return o;
    if (CF_RESERVE(s->opts, s->cap_opts, s->n_opts) < 0)
        return NULL;
    o = &s->opts[s->n_opts++];
    memset(o, 0, sizeof *o);
    o->def = def;
    return o;
}

static int add_value(cf_opt *o, const char *text, const char *file,
                     unsigned line)
{
    char *copy;

    if (CF_RESERVE(o->v, o->cap, o->n) < 0)
        return -ENOMEM;
    copy = cf_strdup(text);
    if (!copy)
        return -ENOMEM;
    o->v[o->n].text = copy;
    o->v[o->n].file = file;
    o->v[o->n].line = line;
    o->n++;
    return 0;
}

static bool has_value(const cf_opt *o, const char *text)
{
    for (size_t i = 0; i < o->n; i++)
        if (!strcmp(o->v[i].text, text))
            return true;
    return false;
}

static void remove_value(cf_opt *o, const char *text)
{
    for (size_t i = 0; i < o->n; i++)
        if (!strcmp(o->v[i].text, text)) {
            free(o->v[i].text);
            memmove(&o->v[i], &o->v[i + 1], (o->n - i - 1) * sizeof o->v[0]);
            o->n--;
            return;
        }
}

/* allow/disallow, in the order written, into the computed "codecs". */
static int apply_codec(cf_section *s, bool allow, const char *codec,
                       const cf_item *it, cf_diag *d)
{
    cf_opt *o = opt_get(s, cf_option_lookup(SIPNAT_CONFIG_ENDPOINT, "codecs"));
    int support = strcmp(codec, "all") ? cf_codec_support(codec) : 2;

    if (!o)
        return -ENOMEM;
    if (!allow) {
        if (support == 2)
            clear_values(o);
        else
            remove_value(o, codec);
        return 0;
    }
    if (support == 0) {
        cf_warn(d, it->file, it->line,
                "option 'allow': codec '%s' is not supported by libsipnat "
                "(ulaw, alaw, g722 and opus only); ignored", codec);
        return 0;
    }
    for (size_t i = 0; cf_codecs_supported[i]; i++) {
        const char *c = cf_codecs_supported[i];
        if ((support == 2 || !strcmp(c, codec)) && !has_value(o, c) &&
            add_value(o, c, it->file, it->line) < 0)
            return -ENOMEM;
    }
    return 0;
}

/* One value, or each element of a comma-separated list. */
static int apply_values(cf_section *s, cf_opt *o, const cf_item *it,
                        cf_diag *d)
{
    const cf_option_def *def = o->def;
    /* apply_codec() may add "codecs" and move s->opts: hold o by index */
    const size_t oi = (size_t)(o - s->opts);
    const char *p = it->value;
    char elem[CF_VALUE_MAX + 1], norm[CF_VALUE_MAX + 1], why[256];

    for (;;) {
        size_t n = def->flags & CF_LIST ? strcspn(p, ",") : strlen(p);
        const char *e = p;
        size_t en = n;
        bool refused;

        cf_trim(&e, &en);
        memcpy(elem, e, en);
        elem[en] = '\0';
        if (en == 0 && (def->flags & CF_LIST) && strchr(it->value, ',')) {
            cf_error(d, it->file, it->line,
                     "option '%s': empty element in the list '%s'", def->name,
                     it->value);
        } else if (cf_value_check(def, elem, norm, sizeof norm, why,
                                  sizeof why, &refused) < 0) {
            if (refused)
                cf_error(d, it->file, it->line,
                         "option '%s': value '%s' is not supported by "
                         "libsipnat (%s)", def->name, elem, why);
            else
                cf_error(d, it->file, it->line,
                         "option '%s': '%s' is not %s", def->name, elem, why);
        } else {
            if (add_value(&s->opts[oi], norm, it->file, it->line) < 0)
                return -ENOMEM;
            if (def->kind == CF_CODEC &&
                apply_codec(s, !strcmp(def->name, "allow"), norm, it, d) < 0)
                return -ENOMEM;
        }
        if (p[n] != ',')
            return 0;
        p += n + 1;
    }
}

static int apply_item(cf_section *s, const cf_item *it, cf_diag *d)
{
    const cf_option_def *def = cf_option_find(s->type, it->key);
    const char *tname = cf_type_name(s->type);
    const cf_unused *u;
    cf_opt *o;

    if (!def) {
        u = cf_unused_find(s->type, it->key);
        if (u && u->refused)
            cf_error(d, it->file, it->line,
                     "option '%s' is not supported by libsipnat: %s", it->key,
                     u->why);
        else if (u)
            cf_warn(d, it->file, it->line, "option '%s' is ignored: %s",
                    it->key, u->why);
        else
            cf_error(d, it->file, it->line,
                     "option '%s' is not a known %s option", it->key, tname);
        return 0;
    }
    o = opt_get(s, def);
    if (!o)
        return -ENOMEM;
    if (!(def->flags & CF_REPEAT)) {
        if (!it->inherited && o->own) {
            cf_error(d, it->file, it->line,
                     "option '%s' given twice in [%s] (first at %s:%u)",
                     it->key, s->name, o->own_file, o->own_line);
            return 0;
        }
        clear_values(o); /* the section's own value beats its template's */
    }
    if (!it->inherited && !o->own) {
        o->own = true;
        o->own_file = it->file;
        o->own_line = it->line;
    }
    return apply_values(s, o, it, d);
}

static bool is_set(const cf_section *s, const char *key)
{
    const cf_opt *o = cf_opt_find(s, key);
    return o && o->n > 0;
}

static const char *value_of(const cf_section *s, const char *key)
{
    const cf_opt *o = cf_opt_find(s, key);
    return o && o->n ? o->v[0].text : NULL;
}

/* Rules between options of one section, once all are in. */
static int check_section(cf_section *s, cf_diag *d)
{
    const cf_option_def *def = cf_options(s->type);
    const char *v;

    for (; def->name; def++)
        if ((def->flags & CF_REQUIRED) && !cf_opt_find(s, def->name))
            cf_error(d, s->file, s->line, "%s [%s] needs option '%s'",
                     cf_type_name(s->type), s->name, def->name);
    switch (s->type) {
    case SIPNAT_CONFIG_ENDPOINT:
        if (!cf_opt_find(s, "codecs")) {
            /* no allow/disallow at all: the library's default codecs */
            cf_opt *o = opt_get(s, cf_option_lookup(s->type, "codecs"));
            if (!o)
                return -ENOMEM;
            for (size_t i = 0; cf_codecs_default[i]; i++)
                if (add_value(o, cf_codecs_default[i], s->file, s->line) < 0)
                    return -ENOMEM;
        } else if (!is_set(s, "codecs")) {
            cf_warn(d, s->file, s->line,
                    "endpoint [%s] has no codec libsipnat supports: its calls "
                    "will fail", s->name);
        }
        break;
    case SIPNAT_CONFIG_REGISTRATION:
        v = value_of(s, "line");
        if (v && !strcmp(v, "yes") && !is_set(s, "endpoint"))
            cf_error(d, s->file, s->line,
                     "registration [%s]: line=yes needs option 'endpoint' (the "
                     "endpoint that inbound calls on the line belong to)",
                     s->name);
        break;
    case SIPNAT_CONFIG_TRANSPORT:
        if (is_set(s, "external_signaling_port") &&
            !is_set(s, "external_signaling_address"))
            cf_warn(d, s->file, s->line,
                    "transport [%s]: external_signaling_port without "
                    "external_signaling_address has no effect", s->name);
        if (is_set(s, "turnaddr") && (!is_set(s, "turnusername") || !cf_opt_find(s, "turnpassword"))) {
            const cf_opt *o = cf_opt_find(s, "turnaddr");
            cf_error(d, o->v[0].file, o->v[0].line,
                     "transport [%s]: turnaddr needs turnusername and turnpassword "
                     "(TURN's long-term credentials)",
                     s->name);
        }
        break;
    default:
        break;
    }
    return 0;
}

static int build_section(sipnat_config *cfg, const cf_rawsec *rs, cf_diag *d)
{
    const cf_item *type_it = NULL, *own_type = NULL;
    const cf_section *first;
    cf_section s;
    bool known;
    int r = 0;

    for (size_t i = 0; i < rs->n_items; i++) {
        const cf_item *it = &rs->items[i];
        if (strcmp(it->key, "type"))
            continue;
        if (!it->inherited && own_type) {
            cf_error(d, it->file, it->line,
                     "option 'type' given twice in [%s] (first at %s:%u)",
                     rs->name, own_type->file, own_type->line);
            continue;
        }
        if (!it->inherited)
            own_type = it;
        type_it = it;
    }
    if (!type_it) {
        cf_error(d, rs->file, rs->line, "section [%s] has no 'type='",
                 rs->name);
        return 0;
    }
    memset(&s, 0, sizeof s);
    s.type = cf_type_parse(type_it->value, &known);
    if (!s.type) {
        if (known)
            cf_error(d, type_it->file, type_it->line,
                     "option 'type': type '%s' is not supported by libsipnat",
                     type_it->value);
        else
            cf_error(d, type_it->file, type_it->line,
                     "option 'type': unknown type '%s' (transport, endpoint, "
                     "auth, aor, registration, identify, global, system)",
                     type_it->value);
        return 0;
    }
    first = cf_find(cfg, s.type, rs->name);
    if (first)
        cf_error(d, rs->file, rs->line,
                 "duplicate %s section [%s] (first at %s:%u)",
                 cf_type_name(s.type), rs->name, first->file, first->line);
    s.name = cf_strdup(rs->name);
    if (!s.name)
        return -ENOMEM;
    s.file = rs->file;
    s.line = rs->line;
    for (size_t i = 0; r == 0 && i < rs->n_items; i++)
        if (strcmp(rs->items[i].key, "type"))
            r = apply_item(&s, &rs->items[i], d);
    if (r == 0)
        r = check_section(&s, d);
    /* A duplicate was checked for what it says, but is not kept. */
    if (r == 0 && !first && CF_RESERVE(cfg->secs, cfg->cap_secs, cfg->n_secs) < 0)
        r = -ENOMEM;
    if (r < 0 || first) {
        cf_section_free(&s);
        return r;
    }
    cfg->secs[cfg->n_secs++] = s;
    return 0;
}

/* Every name a section gives in transport=, aors=, auth=, outbound_auth=
 * or endpoint= must be a section of that type. */
static void check_references(const sipnat_config *cfg, cf_diag *d)
{
    for (size_t i = 0; i < cfg->n_secs; i++) {
        const cf_section *s = &cfg->secs[i];
        for (size_t j = 0; j < s->n_opts; j++) {
            const cf_opt *o = &s->opts[j];
            if (o->def->kind != CF_REF)
                continue;
            for (size_t k = 0; k < o->n; k++)
                if (!cf_find(cfg, o->def->ref, o->v[k].text))
                    cf_error(d, o->v[k].file, o->v[k].line,
                             "option '%s': there is no %s section [%s]",
                             o->def->name, cf_type_name(o->def->ref),
                             o->v[k].text);
        }
    }
}

int cf_build(sipnat_config *cfg, const cf_raw *raw, cf_diag *diag)
{
    for (size_t i = 0; i < raw->n_secs; i++) {
        if (raw->secs[i].is_template)
            continue;
        if (build_section(cfg, &raw->secs[i], diag) < 0)
            return -ENOMEM;
    }
    check_references(cfg, diag);
    return 0;
}
