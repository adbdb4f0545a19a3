/*
 * libsipnat - configuration loader: the options each section type has,
 * the ones accepted but ignored, the ones refused, and how each kind of
 * value is checked and normalised. sipnat.conf(5) is the prose form of
 * these tables: change both together.
 */
#ifndef SIPNAT_CONFIG_OPTIONS_H
#define SIPNAT_CONFIG_OPTIONS_H

#include "config/util.h"

typedef enum cf_kind {
    CF_STRING,      /* any text; empty only with CF_EMPTY_OK */
    CF_BOOL,        /* yes/no, true/false, on/off, 1/0 -> "yes"/"no" */
    CF_UINT,        /* decimal, min..max */
    CF_SECONDS,     /* decimal with an optional fraction, min..max */
    CF_CIDR,        /* network: "192.0.2.0/24", "192.0.2.0/255.255.255.0" */
    CF_ADDR,        /* numeric IPv4 or IPv6 address */
    CF_BIND,        /* address[:port], [IPv6][:port] */
    CF_URI,         /* sip: or sips: URI */
    CF_HOST,        /* host name or numeric address */
    CF_USER,        /* user part of a SIP URI */
    CF_ENUM,        /* one of values[] */
    CF_CODEC,       /* an Asterisk codec name or "all" */
    CF_REF,         /* the name of a section of type `ref` */
    CF_MATCH,       /* address, network, address/mask or host name */
    CF_DERIVED      /* computed by the loader; not written in a file */
} cf_kind;

#define CF_REPEAT 1u    /* may be written several times; values add up */
#define CF_LIST 2u      /* comma-separated: every element is one value */
#define CF_REQUIRED 4u  /* the section is incomplete without it */
#define CF_EMPTY_OK 8u  /* an empty value is allowed */

typedef struct cf_option_def {
    const char *name;
    cf_kind kind;
    unsigned flags;
    unsigned min, max;              /* CF_UINT, CF_SECONDS */
    const char *const *values;      /* CF_ENUM: supported values */
    const char *const *refused;     /* CF_ENUM: Asterisk's, unsupported */
    sipnat_config_type ref;         /* CF_REF */
    const char *def;                /* default, or NULL */
} cf_option_def;

/* An Asterisk option the library does not implement: ignored with a
 * warning, or refused with an error when ignoring it would silently
 * change what the configuration means. */
typedef struct cf_unused {
    sipnat_config_type type;
    const char *name;       /* a trailing '*' matches a prefix */
    bool refused;
    const char *why;
} cf_unused;

sipnat_config_type cf_type_parse(const char *name, bool *known_asterisk);
const char *cf_type_name(sipnat_config_type type);

/* Options a file may set (not CF_DERIVED), or NULL. */
const cf_option_def *cf_option_find(sipnat_config_type type, const char *key);
/* Any option, CF_DERIVED included: what the accessors know. */
const cf_option_def *cf_option_lookup(sipnat_config_type type,
                                      const char *key);
/* The table of one type, terminated by a NULL name. */
const cf_option_def *cf_options(sipnat_config_type type);
const cf_unused *cf_unused_find(sipnat_config_type type, const char *key);

/* Check one value (one element of a list) and write its normal form into
 * out (size >= CF_VALUE_MAX + 1). 0, or -EINVAL with what was expected in
 * why (and *refused when Asterisk has the value but the library not). */
int cf_value_check(const cf_option_def *def, const char *text, char *out,
                   size_t size, char *why, size_t why_size, bool *refused);

/* Codecs: 1 for one the library speaks (ulaw, alaw, g722, opus), 0 for
 * another name Asterisk knows, -1 for an unknown name. `supported` is what
 * allow=all gives, `default` what an endpoint without allow/disallow has
 * (the G.711 pair, as before G.722 and Opus came). */
int cf_codec_support(const char *name);
extern const char *const cf_codecs_supported[];
extern const char *const cf_codecs_default[];

#endif
