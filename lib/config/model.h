/*
 * libsipnat - configuration loader: the checked model. Every value is
 * normalised and remembers where it was written; references between
 * sections are known to resolve. Building the library's objects from it
 * is a walk: for each registration, its transport and outbound_auth are
 * sections of this model, found by name and type.
 */
#ifndef SIPNAT_CONFIG_MODEL_H
#define SIPNAT_CONFIG_MODEL_H

#include "config/options.h"
#include "config/parse.h"

typedef struct cf_value {
    char *text;
    const char *file;   /* one of sipnat_config.files */
    unsigned line;
} cf_value;

typedef struct cf_opt {
    const cf_option_def *def;
    cf_value *v;
    size_t n, cap;
    bool own;               /* written in the section itself */
    const char *own_file;   /* where, for "given twice" */
    unsigned own_line;
} cf_opt;

typedef struct cf_section {
    sipnat_config_type type;
    char *name;
    const char *file;
    unsigned line;
    cf_opt *opts;           /* in the order of first appearance */
    size_t n_opts, cap_opts;
} cf_section;

struct sipnat_config {
    unsigned refs;
    cf_section *secs;       /* file order */
    size_t n_secs, cap_secs;
    char **files;
    size_t n_files;
};

/* Check the sections of raw and add the good ones to cfg, reporting
 * every problem to diag. 0 (check diag->errors) or -ENOMEM. */
int cf_build(sipnat_config *cfg, const cf_raw *raw, cf_diag *diag);
void cf_section_free(cf_section *s);
/* sipnat_config_load() of the file `path`, or, when buf is not NULL, of
 * `len` bytes of text named `path` (what the fuzzing harness feeds). */
int cf_load(sipnat_config **ret, const char *path, const char *buf, size_t len,
            sipnat_config_diag_func func, void *user_data);

const cf_section *cf_find(const sipnat_config *cfg, sipnat_config_type type,
                          const char *name);
const cf_opt *cf_opt_find(const cf_section *s, const char *key);

#endif
