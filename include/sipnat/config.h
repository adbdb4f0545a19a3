/*
 * libsipnat - NAT-aware SIP user agent library
 *
 * config.h: load an Asterisk pjsip.conf-style file (sections, templates,
 * #include) into a checked, read-only model of transports, endpoints,
 * auths, aors, registrations and identify rules. Every problem is
 * reported with its file and line; see sipnat.conf(5) for the options.
 */
#ifndef SIPNAT_CONFIG_H
#define SIPNAT_CONFIG_H

#include <stdio.h>

#include <sipnat/common.h>
#include <sipnat/ctx.h>
#include <sipnat/registration.h>
#include <sipnat/session.h>

SIPNAT_BEGIN_DECLS

typedef struct sipnat_config sipnat_config;

/* The `type=` of a section. Values never change; new types are appended. */
typedef enum sipnat_config_type {
    SIPNAT_CONFIG_TRANSPORT = 1,
    SIPNAT_CONFIG_ENDPOINT = 2,
    SIPNAT_CONFIG_AUTH = 3,
    SIPNAT_CONFIG_AOR = 4,
    SIPNAT_CONFIG_REGISTRATION = 5,
    SIPNAT_CONFIG_IDENTIFY = 6,
    SIPNAT_CONFIG_GLOBAL = 7,
    SIPNAT_CONFIG_SYSTEM = 8
} sipnat_config_type;

/* One diagnostic: `severity` is SIPNAT_LOG_ERR, SIPNAT_LOG_WARNING or
 * SIPNAT_LOG_NOTICE; `file` and `line` say where (line 0: the file as a
 * whole); `message` has no location and no newline. All three strings
 * are valid only during the call. */
typedef void (*sipnat_config_diag_func)(int severity, const char *file,
                                        unsigned line, const char *message,
                                        void *user_data);

/* Parse and check `path`. Reports every error and warning to `func` (may
 * be NULL), then returns 0 and the model in *ret, or -EINVAL when there
 * was at least one error. */
SIPNAT_API int sipnat_config_load(sipnat_config **ret, const char *path,
                                  sipnat_config_diag_func func,
                                  void *user_data);
SIPNAT_API sipnat_config *sipnat_config_ref(sipnat_config *cfg);
SIPNAT_API sipnat_config *sipnat_config_unref(sipnat_config *cfg);

/* "transport", "endpoint", ...; "unknown" for other values. */
SIPNAT_API const char *sipnat_config_type_name(sipnat_config_type type);

/* Sections of one type, in file order: how many, and the name of the
 * index-th (0-based). */
SIPNAT_API int sipnat_config_count(const sipnat_config *cfg,
                                   sipnat_config_type type);
SIPNAT_API int sipnat_config_get_name(const sipnat_config *cfg,
                                      sipnat_config_type type,
                                      unsigned index, const char **name);

/* The index-th value of option `key` of section [name] of `type`, after
 * templates, normalised ("yes"/"no", "192.0.2.0/24", "udp"): 0 when the
 * file sets it, 1 when it is the option's default (index 0 only),
 * -ENOENT when neither. Endpoints also have the computed key "codecs":
 * the codecs that allow/disallow leave, in order. */
SIPNAT_API int sipnat_config_get(const sipnat_config *cfg,
                                 sipnat_config_type type, const char *name,
                                 const char *key, unsigned index,
                                 const char **value);
/* How many values the file sets for `key` (0 when unset). */
SIPNAT_API int sipnat_config_count_values(const sipnat_config *cfg,
                                          sipnat_config_type type,
                                          const char *name, const char *key);
/* Typed forms of sipnat_config_get() for numeric and yes/no options. */
SIPNAT_API int sipnat_config_get_uint(const sipnat_config *cfg,
                                      sipnat_config_type type,
                                      const char *name, const char *key,
                                      unsigned *value);
SIPNAT_API int sipnat_config_get_bool(const sipnat_config *cfg,
                                      sipnat_config_type type,
                                      const char *name, const char *key,
                                      int *value);
/* Where the section (key NULL) or the index-th value of `key` was
 * written: its file and line. */
SIPNAT_API int sipnat_config_get_location(const sipnat_config *cfg,
                                          sipnat_config_type type,
                                          const char *name, const char *key,
                                          unsigned index, const char **file,
                                          unsigned *line);

/* Write the model to `f` in the file's own syntax (loadable again). */
SIPNAT_API int sipnat_config_dump(const sipnat_config *cfg, FILE *f);

/* The objects a configuration describes, made with the public API:
 * transports (a static policy from local_net and external_*), endpoints
 * (identify, auth, aor, media options) and registrations. */
typedef struct sipnat_setup sipnat_setup;

/* What the host wants wired in; append-only, set `size`. */
typedef struct sipnat_setup_hooks {
    size_t size;
    sipnat_incoming_func incoming;  /* every endpoint's incoming calls */
    sipnat_event_func events;       /* registration and contact events */
    void *user_data;                /* for incoming, events and diag */
    sipnat_config_diag_func diag;   /* errors building an object */
    unsigned keepalive;             /* registrations' keep-alive, seconds */
} sipnat_setup_hooks;

SIPNAT_API int sipnat_config_apply(sipnat_setup **ret, const sipnat_config *cfg,
                                   sipnat_ctx *ctx,
                                   const sipnat_setup_hooks *hooks);
SIPNAT_API sipnat_setup *sipnat_setup_ref(sipnat_setup *setup);
SIPNAT_API sipnat_setup *sipnat_setup_unref(sipnat_setup *setup);
SIPNAT_API sipnat_transport *sipnat_setup_get_transport(const sipnat_setup *setup,
                                                        const char *name);
SIPNAT_API sipnat_endpoint *sipnat_setup_get_endpoint(const sipnat_setup *setup,
                                                      const char *name);
SIPNAT_API sipnat_registration *
sipnat_setup_get_registration(const sipnat_setup *setup, const char *name);
/* Start every registration (returns how many); stop them (unregister). */
SIPNAT_API int sipnat_setup_start(sipnat_setup *setup);
SIPNAT_API int sipnat_setup_stop(sipnat_setup *setup);

SIPNAT_END_DECLS

#endif /* SIPNAT_CONFIG_H */
