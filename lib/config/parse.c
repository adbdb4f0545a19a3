/*
 * libsipnat - configuration loader, first pass: the syntax of Asterisk's
 * configuration files.
 *
 *   [name]  [name](!)  [name](tmpl1,tmpl2)  [name](!,tmpl)
 *   key=value  key => value  ; comment  \; is a literal ';'
 *   ;-- block comment, may nest --;
 *   #include "file"  #include file  #tryinclude file  (relative to the
 *   including file; wildcards expand as in glob(3))
 *
 * A template's items are copied into the section that names it, at the
 * header, so that the section's own items come after them and win. An
 * include is spliced in where it stands, as Asterisk does: a section
 * opened in an included file goes on after the #include line.
 */
#include "config.h"

#include "config/parse.h"

#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum { SEC_NONE = -1, SEC_BROKEN = -2 };

#define TEMPLATES_MAX 16

typedef struct pstate {
    cf_raw *raw;
    cf_diag *diag;
    long cur;   /* index of the open section, or SEC_* */
    struct {
        dev_t dev;
        ino_t ino;
    } open[CF_INCLUDE_DEPTH];
    int depth;
} pstate;

static const char *errtext(int e)
{
    const char *s = strerrordesc_np(e);
    return s ? s : "unknown error";
}

static int add_item(cf_rawsec *sec, const char *key, size_t klen,
                    const char *value, size_t vlen, const char *file,
                    unsigned line, bool inherited)
{
    cf_item *it;

    if (CF_RESERVE(sec->items, sec->cap_items, sec->n_items) < 0)
        return -ENOMEM;
    it = &sec->items[sec->n_items];
    it->key = cf_strndup(key, klen);
    it->value = cf_strndup(value, vlen);
    if (!it->key || !it->value) {
        free(it->key);
        free(it->value);
        it->key = it->value = NULL;
        return -ENOMEM;
    }
    it->file = file;
    it->line = line;
    it->inherited = inherited;
    sec->n_items++;
    return 0;
}

/* ---- sections ----------------------------------------------------------- */

static bool name_char_ok(unsigned char c)
{
    return c > ' ' && c != 0x7f && !strchr("[]();,=\"#", c);
}

static long find_section(const cf_raw *raw, const char *name, size_t n)
{
    for (size_t i = 0; i < raw->n_secs; i++)
        if (strlen(raw->secs[i].name) == n && !memcmp(raw->secs[i].name, name, n))
            return (long)i;
    return -1;
}

/* "(!,tmpl1,tmpl2)" without the parentheses: templates into tmpl[]. */
static bool header_options(pstate *ps, const char *file, unsigned line,
                           const char *s, size_t n, bool *is_template,
                           long *tmpl, size_t *n_tmpl)
{
    bool ok = true;

    for (;;) {
        const char *comma = memchr(s, ',', n);
        size_t len = comma ? (size_t)(comma - s) : n;
        const char *tok = s;
        size_t tl = len;

        cf_trim(&tok, &tl);
        if (tl == 1 && *tok == '!') {
            *is_template = true;
        } else if (tl == 1 && *tok == '+') {
            cf_error(ps->diag, file, line,
                     "'(+)' (adding to an earlier section) is not supported: "
                     "write the options in that section");
            ok = false;
        } else if (tl == 0) {
            cf_error(ps->diag, file, line,
                     "empty entry in the section's template list");
            ok = false;
        } else {
            long t = find_section(ps->raw, tok, tl);
            if (t < 0) {
                cf_error(ps->diag, file, line,
                         "template '%.*s' not found (a template must come "
                         "before the sections that use it)",
                         (int)tl, tok);
                ok = false;
            } else if (*n_tmpl == TEMPLATES_MAX) {
                cf_error(ps->diag, file, line, "more than %d templates",
                         TEMPLATES_MAX);
                ok = false;
            } else {
                tmpl[(*n_tmpl)++] = t;
            }
        }
        if (!comma)
            return ok;
        n -= len + 1;
        s = comma + 1;
    }
}

static int header(pstate *ps, const char *file, unsigned line, char *s)
{
    cf_raw *raw = ps->raw;
    char *close = strchr(s, ']');
    const char *name = s + 1, *rest;
    size_t n, n_tmpl = 0;
    long tmpl[TEMPLATES_MAX];
    bool is_template = false;
    cf_rawsec *sec;

    ps->cur = SEC_BROKEN; /* its options are skipped unless all is well */
    if (!close) {
        cf_error(ps->diag, file, line, "section header without ']'");
        return 0;
    }
    n = (size_t)(close - name);
    cf_trim(&name, &n);
    if (n == 0) {
        cf_error(ps->diag, file, line, "empty section name");
        return 0;
    }
    if (n > CF_NAME_MAX) {
        cf_error(ps->diag, file, line,
                 "section name too long (%zu bytes, at most %d)", n,
                 CF_NAME_MAX);
        return 0;
    }
    for (size_t i = 0; i < n; i++)
        if (!name_char_ok((unsigned char)name[i])) {
            cf_error(ps->diag, file, line,
                     "section name '%.*s' contains '%c'", (int)n, name,
                     name[i]);
            return 0;
        }
    rest = close + 1;
    rest += strspn(rest, " \t");
    if (*rest == '(') {
        const char *end = strchr(rest, ')');
        const char *after;
        if (!end) {
            cf_error(ps->diag, file, line, "'(' without ')' in section header");
            return 0;
        }
        after = end + 1 + strspn(end + 1, " \t");
        if (*after) {
            cf_error(ps->diag, file, line,
                     "unexpected text after section header: '%.20s'", after);
            return 0;
        }
        if (!header_options(ps, file, line, rest + 1,
                            (size_t)(end - rest - 1), &is_template, tmpl,
                            &n_tmpl))
            return 0;
    } else if (*rest) {
        cf_error(ps->diag, file, line,
                 "unexpected text after section header: '%.20s'", rest);
        return 0;
    }

    if (CF_RESERVE(raw->secs, raw->cap_secs, raw->n_secs) < 0)
        return -ENOMEM;
    sec = &raw->secs[raw->n_secs];
    memset(sec, 0, sizeof *sec);
    sec->name = cf_strndup(name, n);
    if (!sec->name)
        return -ENOMEM;
    sec->file = file;
    sec->line = line;
    sec->is_template = is_template;
    raw->n_secs++; /* from here on cf_raw_free() owns it */
    for (size_t t = 0; t < n_tmpl; t++) {
        const cf_rawsec *src = &raw->secs[tmpl[t]];
        for (size_t i = 0; i < src->n_items; i++) {
            const cf_item *it = &src->items[i];
            if (add_item(sec, it->key, strlen(it->key), it->value,
                         strlen(it->value), it->file, it->line, true) < 0)
                return -ENOMEM;
        }
    }
    ps->cur = (long)raw->n_secs - 1;
    return 0;
}

/* ---- key = value -------------------------------------------------------- */

static bool key_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

static int key_value(pstate *ps, const char *file, unsigned line, char *s)
{
    const char *eq, *key = s, *value;
    size_t kl, vl;

    if (ps->cur == SEC_BROKEN)
        return 0; /* its header was reported */
    eq = strchr(s, '=');
    if (!eq) {
        cf_error(ps->diag, file, line,
                 "expected 'option=value', '[section]' or '#include', got "
                 "'%.20s'", s);
        return 0;
    }
    if (ps->cur == SEC_NONE) {
        cf_error(ps->diag, file, line,
                 "option outside any section (a [section] header must come "
                 "first)");
        return 0;
    }
    kl = (size_t)(eq - s);
    cf_trim(&key, &kl);
    if (kl == 0) {
        cf_error(ps->diag, file, line, "empty option name before '='");
        return 0;
    }
    if (kl > CF_KEY_MAX) {
        cf_error(ps->diag, file, line,
                 "option name too long (%zu bytes, at most %d)", kl, CF_KEY_MAX);
        return 0;
    }
    for (size_t i = 0; i < kl; i++)
        if (!key_char_ok(key[i])) {
            cf_error(ps->diag, file, line, "option name '%.*s' contains '%c'",
                     (int)kl, key, key[i]);
            return 0;
        }
    value = eq + 1;
    if (*value == '>') /* "key => value" */
        value++;
    vl = strlen(value);
    cf_trim(&value, &vl);
    if (vl > CF_VALUE_MAX) {
        cf_error(ps->diag, file, line,
                 "value of option '%.*s' too long (%zu bytes, at most %d)",
                 (int)kl, key, vl, CF_VALUE_MAX);
        return 0;
    }
    return add_item(&ps->raw->secs[ps->cur], key, kl, value, vl, file, line,
                    false);
}

/* ---- files -------------------------------------------------------------- */

static int parse_file(pstate *ps, const char *path, const char *from,
                      unsigned from_line, bool try);

static bool has_wildcard(const char *s)
{
    return strpbrk(s, "*?[") != NULL;
}

static int include_path(pstate *ps, const char *file, unsigned line,
                        const char *name, bool try)
{
    const char *slash = strrchr(file, '/');
    size_t dl = name[0] != '/' && slash ? (size_t)(slash - file) + 1 : 0;
    char *path = cf_malloc(dl + strlen(name) + 1);
    int r = 0;

    if (!path)
        return -ENOMEM;
    memcpy(path, file, dl);
    strcpy(path + dl, name);
    if (has_wildcard(name)) {
        glob_t g;
        int gr = glob(path, 0, NULL, &g);
        if (gr == 0) {
            for (size_t i = 0; r == 0 && i < g.gl_pathc; i++)
                r = parse_file(ps, g.gl_pathv[i], file, line, try);
            globfree(&g);
        } else if (gr == GLOB_NOSPACE) {
            r = -ENOMEM;
        } else if (!try) {
            cf_error(ps->diag, file, line, "no file matches '%s'", path);
        }
    } else {
        r = parse_file(ps, path, file, line, try);
    }
    free(path);
    return r;
}

static int directive(pstate *ps, const char *file, unsigned line, char *s)
{
    bool try;
    size_t n;

    if (!strncmp(s, "#include", 8)) {
        try = false;
        s += 8;
    } else if (!strncmp(s, "#tryinclude", 11)) {
        try = true;
        s += 11;
    } else if (!strncmp(s, "#exec", 5)) {
        cf_error(ps->diag, file, line,
                 "#exec is not supported: configuration runs no programs");
        return 0;
    } else {
        cf_error(ps->diag, file, line, "unknown directive '%.*s'",
                 (int)strcspn(s, " \t\"<"), s);
        return 0;
    }
    if (*s && !strchr(" \t\"<", *s)) {
        cf_error(ps->diag, file, line, "unknown directive '%.*s'",
                 (int)strcspn(s - (try ? 11 : 8), " \t\"<"), s - (try ? 11 : 8));
        return 0;
    }
    s += strspn(s, " \t");
    n = strlen(s);
    if (n >= 2 && ((s[0] == '"' && s[n - 1] == '"') ||
                   (s[0] == '<' && s[n - 1] == '>'))) {
        s++;
        n -= 2;
        s[n] = '\0';
    } else if (n && (s[0] == '"' || s[0] == '<')) {
        cf_error(ps->diag, file, line, "unterminated file name '%s'", s);
        return 0;
    }
    if (n == 0) {
        cf_error(ps->diag, file, line, "#include without a file name");
        return 0;
    }
    return include_path(ps, file, line, s, try);
}

static int parse_line(pstate *ps, const char *file, unsigned line, char *s,
                      size_t n)
{
    const char *t = s;

    cf_trim(&t, &n);
    if (n == 0)
        return 0;
    s = (char *)t;
    s[n] = '\0';
    if (*s == '#')
        return directive(ps, file, line, s);
    if (*s == '[')
        return header(ps, file, line, s);
    return key_value(ps, file, line, s);
}

/* The first byte no configuration line may hold, or -1. */
static int bad_byte(const char *p, size_t n, size_t *col)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            *col = i + 1;
            return c;
        }
    }
    return -1;
}

static int parse_buffer(pstate *ps, const char *file, const char *buf,
                        size_t len)
{
    const char *p = buf, *end = buf + len;
    char clean[CF_LINE_MAX + 1];
    unsigned lineno = 0, comment_line = 0;
    int comment = 0;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *next = nl ? nl + 1 : end;
        size_t n = (size_t)((nl ? nl : end) - p), m = 0, col;
        int c;

        lineno++;
        if (n && p[n - 1] == '\r') /* CRLF */
            n--;
        if (n > CF_LINE_MAX) {
            cf_error(ps->diag, file, lineno,
                     "line too long (%zu bytes, at most %d)", n, CF_LINE_MAX);
            p = next;
            continue;
        }
        c = bad_byte(p, n, &col);
        if (c == 0) {
            cf_error(ps->diag, file, lineno, "NUL byte at column %zu", col);
            p = next;
            continue;
        }
        if (c > 0) {
            cf_error(ps->diag, file, lineno,
                     "control character 0x%02x at column %zu (binary file?)",
                     (unsigned)c, col);
            p = next;
            continue;
        }
        for (size_t i = 0; i < n; i++) {
            if (comment) {
                if (i + 2 < n && p[i] == '-' && p[i + 1] == '-' && p[i + 2] == ';') {
                    comment--;
                    i += 2;
                } else if (i + 2 < n && p[i] == ';' && p[i + 1] == '-' &&
                           p[i + 2] == '-') {
                    comment++;
                    i += 2;
                }
                continue;
            }
            if (p[i] == '\\' && i + 1 < n && p[i + 1] == ';') {
                clean[m++] = ';';
                i++;
                continue;
            }
            if (p[i] == ';') {
                if (i + 2 < n && p[i + 1] == '-' && p[i + 2] == '-') {
                    comment = 1;
                    comment_line = lineno;
                    i += 2;
                    continue;
                }
                break;
            }
            clean[m++] = p[i];
        }
        clean[m] = '\0';
        if (parse_line(ps, file, lineno, clean, m) < 0)
            return -ENOMEM;
        p = next;
    }
    if (comment)
        cf_error(ps->diag, file, comment_line,
                 "block comment ';--' is never closed with '--;'");
    return 0;
}

/* The whole file, NUL-terminated (the NUL is not counted). */
static int read_all(FILE *f, char **buf, size_t *len)
{
    size_t cap = 0, n = 0;
    char *b = NULL;

    for (;;) {
        size_t got;
        if (CF_RESERVE(b, cap, n + 4096) < 0) {
            free(b);
            return -ENOMEM;
        }
        got = fread(b + n, 1, cap - n - 1, f);
        n += got;
        if (n > CF_FILE_MAX) {
            free(b);
            return -EFBIG;
        }
        if (got == 0) {
            if (ferror(f)) {
                free(b);
                return -EIO;
            }
            break;
        }
    }
    b[n] = '\0';
    *buf = b;
    *len = n;
    return 0;
}

static int add_file(cf_raw *raw, const char *path, const char **out)
{
    char *copy;

    if (CF_RESERVE(raw->files, raw->cap_files, raw->n_files) < 0)
        return -ENOMEM;
    copy = cf_strdup(path);
    if (!copy)
        return -ENOMEM;
    raw->files[raw->n_files++] = copy;
    *out = copy;
    return 0;
}

/* `from` is NULL for the top file, else the including file and line. */
static int parse_file(pstate *ps, const char *path, const char *from,
                      unsigned from_line, bool try)
{
    FILE *f = fopen(path, "re");
    struct stat st;
    const char *name;
    char *buf = NULL;
    size_t len = 0;
    int r, e;

    if (!f) {
        e = errno;
        if (!from) {
            cf_error(ps->diag, path, 0, "cannot open: %s", errtext(e));
            return e == ENOMEM ? -ENOMEM : -e;
        }
        if (!try)
            cf_error(ps->diag, from, from_line,
                     "cannot open included file '%s': %s", path, errtext(e));
        return e == ENOMEM ? -ENOMEM : 0;
    }
    if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode)) {
        fclose(f);
        cf_error(ps->diag, from ? from : path, from ? from_line : 0,
                 "'%s' is not a regular file", path);
        return from ? 0 : -EINVAL;
    }
    for (int i = 0; i < ps->depth; i++)
        if (ps->open[i].dev == st.st_dev && ps->open[i].ino == st.st_ino) {
            fclose(f);
            cf_error(ps->diag, from, from_line,
                     "include loop: '%s' is already being read", path);
            return 0;
        }
    if (ps->depth == CF_INCLUDE_DEPTH) {
        fclose(f);
        cf_error(ps->diag, from, from_line,
                 "includes nested more than %d deep", CF_INCLUDE_DEPTH);
        return 0;
    }
    r = read_all(f, &buf, &len);
    fclose(f);
    if (r == -ENOMEM)
        return r;
    if (r < 0) {
        cf_error(ps->diag, path, 0, r == -EFBIG ? "larger than %d bytes"
                                                : "read error (limit %d bytes)",
                 CF_FILE_MAX);
        return from ? 0 : r;
    }
    r = add_file(ps->raw, path, &name);
    if (r == 0) {
        ps->open[ps->depth].dev = st.st_dev;
        ps->open[ps->depth].ino = st.st_ino;
        ps->depth++;
        r = parse_buffer(ps, name, buf, len);
        ps->depth--;
    }
    free(buf);
    return r;
}

int cf_parse(cf_raw *raw, const char *path, cf_diag *diag)
{
    pstate ps = {.raw = raw, .diag = diag, .cur = SEC_NONE};

    return parse_file(&ps, path, NULL, 0, false);
}

int cf_parse_buffer(cf_raw *raw, const char *name, const char *buf, size_t len,
                    cf_diag *diag)
{
    pstate ps = {.raw = raw, .diag = diag, .cur = SEC_NONE};
    const char *file;
    int r;

    if (len > CF_FILE_MAX) {
        cf_error(diag, name, 0, "larger than %d bytes", CF_FILE_MAX);
        return -EFBIG;
    }
    r = add_file(raw, name, &file);
    return r < 0 ? r : parse_buffer(&ps, file, buf, len);
}

void cf_raw_free(cf_raw *raw)
{
    for (size_t i = 0; i < raw->n_secs; i++) {
        cf_rawsec *s = &raw->secs[i];
        for (size_t j = 0; j < s->n_items; j++) {
            free(s->items[j].key);
            free(s->items[j].value);
        }
        free(s->items);
        free(s->name);
    }
    free(raw->secs);
    for (size_t i = 0; i < raw->n_files; i++)
        free(raw->files[i]);
    free(raw->files);
    memset(raw, 0, sizeof *raw);
}
