/*
 * libsipnat - configuration loader, first pass: Asterisk's config file
 * syntax into sections of key/value items, with templates applied and
 * includes spliced in. Knows nothing of what the options mean.
 */
#ifndef SIPNAT_CONFIG_PARSE_H
#define SIPNAT_CONFIG_PARSE_H

#include "config/util.h"

typedef struct cf_item {
    char *key;
    char *value;
    const char *file;   /* one of cf_raw.files */
    unsigned line;
    bool inherited;     /* copied from a template */
} cf_item;

typedef struct cf_rawsec {
    char *name;
    const char *file;
    unsigned line;
    bool is_template;   /* [name](!): only a source for others */
    cf_item *items;     /* templates' items first, then its own */
    size_t n_items, cap_items;
} cf_rawsec;

typedef struct cf_raw {
    cf_rawsec *secs;
    size_t n_secs, cap_secs;
    char **files;       /* every file read, as named in diagnostics */
    size_t n_files, cap_files;
} cf_raw;

/* Parse `path` and what it includes into *raw, reporting syntax errors to
 * diag. 0 (check diag->errors), -ENOMEM, or a negative errno when `path`
 * itself cannot be read (also reported). */
int cf_parse(cf_raw *raw, const char *path, cf_diag *diag);
/* The same for `len` bytes of text named `name` (need not end in a NUL):
 * what a file would hold, its includes relative to `name`. -EFBIG over
 * CF_FILE_MAX. */
int cf_parse_buffer(cf_raw *raw, const char *name, const char *buf, size_t len,
                    cf_diag *diag);
void cf_raw_free(cf_raw *raw);

#endif
