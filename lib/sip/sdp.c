/*
 * libsipnat - the SDP text codec.
 *
 * Parsing goes through sofia-sip's sdp_parse() (flags 0: not strict, so
 * leading blanks and a missing s=/t= are tolerated; not sdp_f_anynet, so
 * any network type but IN and any address type but IP4/IP6 is an error;
 * the sanity check on, so o= is required and every stream needs a c= of
 * its own or the session's). What sofia-sip 1.12.11 does on bad input,
 * read in its sdp_parse.c and pinned by test_sofia_behaviour in
 * tests/check_sdp.c, and what we
 * add because of it:
 *   - it copies the text with strncpy: a NUL byte silently ends the
 *     message, so we refuse NUL bytes first;
 *   - a line shorter than two characters, or one holding only blanks,
 *     silently ends parsing with success, dropping every line after it;
 *     after the first m= a line without '=' in second place is skipped.
 *     So we check every line is "<letter>=..." before sofia sees it
 *     (empty lines, which it skips, are allowed);
 *   - Debian's 1.12.11 allocates list entries until memory runs out on
 *     an m= line of a non-RTP protocol (an unknown one included, e.g. a
 *     mangled "RT?/AVP") whose format list has an entry starting with a
 *     character outside the SDP token set ('m=image 4000 udptl "x'): its
 *     format loop makes no progress and has no exit (later sofia-sip
 *     added one). One INVITE could take the host's memory, so we check
 *     the whole m= line against the RFC 4566 grammar ourselves first;
 *   - "c=IN IP4 /2" gives an empty address: we refuse it;
 *   - the m= port is any unsigned long (strtoul: "-1" and "99999" pass):
 *     we check 0..65535, and the same for a port count;
 *   - an RTP m= line may have no formats at all: we refuse it;
 *   - a dynamic payload type without a=rtpmap comes back with encoding ""
 *     and rm_predef set; a static one with the table's name: we keep both
 *     (the empty name never matches a codec);
 *   - a=rtpmap/a=fmtp for a payload type not on the m= line are dropped
 *     silently (not strict); a second a=rtpmap for a PT overrides the
 *     first; a repeated PT on the m= line gets a second entry that no
 *     a=rtpmap reaches: we keep the first occurrence only;
 *   - direction attributes are consumed into m_mode (session-level ones
 *     stay in the session attribute list and give each m_mode its
 *     default); attributes of a port-0 line are dropped;
 *   - c=IN IP4 0.0.0.0 is not turned into a direction (that needs a
 *     compile-time option): offer/answer handles it;
 *   - an FQDN in c= is accepted as text (we keep it, see mdesc.h).
 * Printing is our own: the struct maps to text line by line, and sofia's
 * printer would first need the struct rebuilt as its own tree. The tests
 * feed every printed body back to sdp_parse() with sdp_f_strict.
 * This file includes <sofia-sip/sdp.h> itself rather than sip/sofia.h:
 * the codec needs nothing of the stack (no root, no NUA, no GLib), so its
 * test links libsofia-sip-ua alone.
 */
#include "config.h"

#include "sip/sdp.h"
#include "ice/candidate.h"

#include <sofia-sip/su_alloc.h>
#include <sofia-sip/sdp.h>

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

static int fail(int err, char *why, size_t why_len, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(int err, char *why, size_t why_len, const char *fmt, ...)
{
    if (why && why_len) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(why, why_len, fmt, ap);
        va_end(ap);
    }
    return err;
}

/* RFC 4566 token characters. */
static bool is_token(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           (c && strchr("-!#$%&'*+.^_`{|}~", c) != NULL);
}

/* m=<media> <port>[/<count>] <proto> <fmt> ...: token characters (and
 * '/' in the protocol), fields split by spaces. See the note on sofia's
 * format loop above. */
static bool mline_ok(const char *s, size_t n)
{
    size_t i = 2, field = 0;

    while (i < n) {
        size_t start = i;
        bool slash = false;
        while (i < n && s[i] != ' ') {
            char c = s[i];
            if (!is_token(c) && !(c == '/' && (field == 1 || field == 2)))
                return false;
            if (c == '/') {
                /* proto = token *("/" token): never first, last or
                 * doubled (sofia would read "0 /AVP" as a port count). */
                if ((slash && field == 1) || i == start || s[i - 1] == '/' ||
                    i + 1 >= n || s[i + 1] == ' ')
                    return false;
                slash = true;
            }
            if (field == 1 && c != '/' && (c < '0' || c > '9'))
                return false;
            i++;
        }
        if (i > start)
            field++;
        while (i < n && s[i] == ' ')
            i++;
    }
    return field >= 4;
}

/* Every non-empty line must be "<letter>=", the first one "v=0". */
static int check_lines(const char *text, size_t len, char *why, size_t why_len)
{
    size_t i = 0, line = 0;
    bool first = true;

    if (memchr(text, '\0', len))
        return fail(-EBADMSG, why, why_len, "NUL byte in SDP");
    while (i < len) {
        size_t n = 0;
        while (i + n < len && text[i + n] != '\r' && text[i + n] != '\n')
            n++;
        line++;
        if (n > 0) {
            const char *s = text + i;
            if (n < 2 || s[1] != '=' || s[0] < 'a' || s[0] > 'z')
                return fail(-EBADMSG, why, why_len,
                            "line %zu is not <type>=<value>", line);
            if (s[0] == 'm' && !mline_ok(s, n))
                return fail(-EBADMSG, why, why_len, "line %zu: invalid m= line", line);
            if (first && (n != 3 || memcmp(s, "v=0", 3) != 0))
                return fail(-EBADMSG, why, why_len, "SDP does not start with v=0");
            first = false;
        }
        i += n + 1;
    }
    if (first)
        return fail(-EBADMSG, why, why_len, "empty SDP");
    return 0;
}

/* Unsigned decimal of 1..max digits' worth, up to `max`; *end after it. */
static bool parse_uint(const char *s, unsigned long max, unsigned long *out,
                       const char **end)
{
    unsigned long v = 0;
    const char *p = s;

    while (*p >= '0' && *p <= '9') {
        v = v * 10 + (unsigned long)(*p - '0');
        if (v > max)
            return false;
        p++;
    }
    if (p == s)
        return false;
    *out = v;
    *end = p;
    return true;
}

static int put(sn_sdesc *d, sn_stext *out, const char *s)
{
    return sn_sdesc_intern(d, out, s ? s : "", s ? strlen(s) : 0);
}

static int conv_conn(sn_sdesc *d, sn_maddr *a, const sdp_connection_t *c)
{
    int family = c->c_addrtype == sdp_addr_ip6 ? AF_INET6 : AF_INET;
    /* "c=IN IP4 /2" leaves sofia an empty address. */
    if (!c->c_address || !*c->c_address)
        return -EBADMSG;
    return sn_maddr_set(d, a, family, c->c_address ? c->c_address : "",
                        c->c_mcast != 0);
}

/* "PORT" or "PORT IN IP4 ADDR" (RFC 3605). */
static int conv_rtcp(sn_sdesc *d, sn_mline *m, const char *v)
{
    unsigned long port;
    const char *p;
    char type[8], addr[256];
    int used = 0;

    if (!v || !parse_uint(v, 65535, &port, &p) || port == 0)
        return -EBADMSG;
    m->rtcp_port = (uint16_t)port;
    p += strspn(p, " \t");
    if (!*p)
        return 0;
    if (sscanf(p, "IN %7s %255s %n", type, addr, &used) != 2 || p[used] != '\0')
        return -EBADMSG;
    if (strcmp(type, "IP4") != 0 && strcmp(type, "IP6") != 0)
        return -EBADMSG;
    return sn_maddr_set(d, &m->rtcp_addr, type[2] == '6' ? AF_INET6 : AF_INET,
                        addr, false);
}

/* a=ptime:20 (a fraction, "20.0", is tolerated and dropped). */
static int conv_ms(const char *v, uint16_t *out)
{
    unsigned long ms;
    const char *p;

    if (!v || !parse_uint(v, 65535, &ms, &p) || ms == 0)
        return -EBADMSG;
    if (*p == '.')
        p += 1 + strspn(p + 1, "0123456789");
    if (p[strspn(p, " \t")] != '\0')
        return -EBADMSG;
    *out = (uint16_t)ms;
    return 0;
}

/* a=crypto:<tag> <crypto-suite> <key-params> [<session-params>] */
static int conv_crypto(sn_sdesc *d, sn_mline *m, const char *v)
{
    unsigned long tag;
    const char *p, *suite;
    size_t n;
    sn_crypto *c;
    int r;

    if (!v || !parse_uint(v, 999999999, &tag, &p) || (*p != ' ' && *p != '\t'))
        return -EBADMSG;
    suite = p + strspn(p, " \t");
    n = strcspn(suite, " \t");
    p = suite + n;
    p += strspn(p, " \t");
    if (n == 0 || *p == '\0')
        return -EBADMSG;
    if (m->n_crypto == SN_SDP_MAX_CRYPTO) {
        m->n_crypto_dropped++;
        return 0;
    }
    c = &m->crypto[m->n_crypto];
    c->tag = (uint32_t)tag;
    if ((r = sn_sdesc_intern(d, &c->suite, suite, n)) < 0 || (r = put(d, &c->params, p)) < 0)
        return r;
    m->n_crypto++;
    return 0;
}

/* An ICE attribute that is ignored: counted, the first reason kept. */
static int ice_ignore(sn_sdesc *d, uint16_t *count, sn_stext *first, const char *fmt,
                      ...) __attribute__((format(printf, 4, 5)));

static int ice_ignore(sn_sdesc *d, uint16_t *count, sn_stext *first, const char *fmt,
                      ...)
{
    char reason[256];
    va_list ap;

    if (*count < UINT16_MAX)
        (*count)++;
    if (*count > 1)
        return 0;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    return put(d, first, reason);
}

/* a=ice-ufrag, a=ice-pwd: kept when valid (RFC 8839 5.4). */
static int conv_ice_cred(sn_sdesc *d, const char *n, const char *v, sn_stext *ufrag,
                         sn_stext *pwd, uint16_t *count, sn_stext *first)
{
    bool is_ufrag = strcasecmp(n, "ice-ufrag") == 0;

    if (!v || !(is_ufrag ? sn_ice_ufrag_valid(v) : sn_ice_pwd_valid(v)))
        return ice_ignore(d, count, first, "a=%s: not %s ice-chars", n,
                          is_ufrag ? "4-256" : "22-256");
    return put(d, is_ufrag ? ufrag : pwd, v);
}

/* a=candidate: kept as written when lib/ice takes it. */
static int conv_candidate(sn_sdesc *d, sn_mline *m, const char *v)
{
    sn_ice_cand c;
    char why[200];

    if (sn_ice_cand_parse(v ? v : "", &c, why, sizeof why) < 0)
        return ice_ignore(d, &m->n_ice_ignored, &m->ice_ignored_why,
                          "a=candidate:%.80s: %s", v ? v : "", why);
    if (m->n_cand == SN_SDP_MAX_CAND)
        return ice_ignore(d, &m->n_ice_ignored, &m->ice_ignored_why,
                          "more than %d a=candidate lines", SN_SDP_MAX_CAND);
    return put(d, &m->cand[m->n_cand++], v);
}

static int conv_attrs(sn_sdesc *d, sn_mline *m, const sdp_attribute_t *a,
                      char *why, size_t why_len)
{
    for (; a; a = a->a_next) {
        const char *n = a->a_name, *v = a->a_value;
        int r = 0;

        if (strcasecmp(n, "rtcp") == 0)
            r = conv_rtcp(d, m, v);
        else if (strcasecmp(n, "ptime") == 0)
            r = conv_ms(v, &m->ptime);
        else if (strcasecmp(n, "maxptime") == 0)
            r = conv_ms(v, &m->maxptime);
        else if (strcasecmp(n, "rtcp-mux") == 0)
            m->rtcp_mux = true;
        else if (strcasecmp(n, "crypto") == 0)
            r = conv_crypto(d, m, v);
        else if (strcasecmp(n, "candidate") == 0)
            r = conv_candidate(d, m, v);
        else if (strcasecmp(n, "ice-ufrag") == 0 || strcasecmp(n, "ice-pwd") == 0)
            r = conv_ice_cred(d, n, v, &m->ice_ufrag, &m->ice_pwd, &m->n_ice_ignored,
                              &m->ice_ignored_why);
        if (r == -EBADMSG)
            return fail(r, why, why_len, "invalid a=%s", n);
        if (r < 0)
            return r;
    }
    return 0;
}

static int conv_rtpmaps(sn_sdesc *d, sn_mline *m, const sdp_rtpmap_t *rm,
                        char *why, size_t why_len)
{
    for (; rm; rm = rm->rm_next) {
        sn_rtpfmt *f;
        unsigned long ch = 1;
        bool dup = false;
        int r;

        for (size_t k = 0; k < m->n_fmts; k++)
            dup = dup || m->fmts[k].pt == rm->rm_pt;
        if (dup)
            continue;
        if (m->n_fmts == SN_SDP_MAX_FORMATS) {
            m->n_fmts_dropped++;
            continue;
        }
        if (rm->rm_params && *rm->rm_params) {
            const char *end;
            if (!parse_uint(rm->rm_params, 255, &ch, &end) || *end || ch == 0)
                return fail(-EBADMSG, why, why_len, "invalid a=rtpmap:%u channels",
                            (unsigned)rm->rm_pt);
        }
        if (rm->rm_rate > UINT32_MAX)
            return fail(-EBADMSG, why, why_len, "invalid a=rtpmap:%u clock rate",
                        (unsigned)rm->rm_pt);
        f = &m->fmts[m->n_fmts];
        memset(f, 0, sizeof *f);
        f->pt = (uint8_t)rm->rm_pt;
        f->has_rtpmap = !rm->rm_predef;
        f->rate = (uint32_t)rm->rm_rate;
        f->channels = (uint8_t)ch;
        if ((r = put(d, &f->name, rm->rm_encoding)) < 0 || (r = put(d, &f->fmtp, rm->rm_fmtp)) < 0)
            return r;
        m->n_fmts++;
    }
    return 0;
}

static int conv_formats(sn_sdesc *d, sn_mline *m, const sdp_list_t *l)
{
    char buf[1024];
    size_t used = 0;

    for (; l; l = l->l_next) {
        size_t n = strlen(l->l_text);
        if (used + n + 2 > sizeof buf)
            return -EMSGSIZE;
        if (used)
            buf[used++] = ' ';
        memcpy(buf + used, l->l_text, n);
        used += n;
    }
    return sn_sdesc_intern(d, &m->fmt_text, buf, used);
}

static int conv_media(sn_sdesc *d, sn_mline *m, const sdp_media_t *sm, size_t i,
                      char *why, size_t why_len)
{
    int r;

    if (sm->m_port > 65535)
        return fail(-EBADMSG, why, why_len, "m= line %zu: port %lu", i + 1, sm->m_port);
    if (sm->m_number_of_ports > 65535)
        return fail(-EBADMSG, why, why_len, "m= line %zu: port count", i + 1);
    if (!sm->m_rtpmaps && !sm->m_format)
        return fail(-EBADMSG, why, why_len, "m= line %zu: no formats", i + 1);
    m->type = sm->m_type == sdp_media_audio ? SN_MT_AUDIO
              : sm->m_type == sdp_media_video ? SN_MT_VIDEO : SN_MT_OTHER;
    m->port = (uint16_t)sm->m_port;
    m->n_ports = sm->m_number_of_ports ? (uint16_t)sm->m_number_of_ports : 1;
    m->proto = sm->m_proto == sdp_proto_rtp ? SN_PROTO_RTP_AVP
               : sm->m_proto == sdp_proto_srtp ? SN_PROTO_RTP_SAVP : SN_PROTO_OTHER;
    m->dir = (sn_mdir)(sm->m_mode & 3);
    if ((r = put(d, &m->type_name, sm->m_type_name)) < 0 ||
        (r = put(d, &m->proto_name, sm->m_proto_name)) < 0)
        return r;
    if (sm->m_connections && (r = conv_conn(d, &m->conn, sm->m_connections)) < 0)
        return r == -EBADMSG ? fail(r, why, why_len, "m= line %zu: invalid c=", i + 1) : r;
    if ((r = conv_rtpmaps(d, m, sm->m_rtpmaps, why, why_len)) < 0 ||
        (r = conv_formats(d, m, sm->m_format)) < 0)
        return r;
    return conv_attrs(d, m, sm->m_attributes, why, why_len);
}

static int convert(const sdp_session_t *s, sn_sdesc *out, char *why, size_t why_len)
{
    const sdp_media_t *sm;
    int r;

    sn_sdesc_init(out);
    out->sess_id = s->sdp_origin->o_id;
    out->sess_version = s->sdp_origin->o_version;
    if ((r = put(out, &out->username, s->sdp_origin->o_username)) < 0 ||
        (r = put(out, &out->name, s->sdp_subject)) < 0)
        return r;
    if (s->sdp_origin->o_address &&
        (r = conv_conn(out, &out->origin, s->sdp_origin->o_address)) < 0)
        return r == -EBADMSG ? fail(r, why, why_len, "invalid o= address") : r;
    if (s->sdp_connection && (r = conv_conn(out, &out->conn, s->sdp_connection)) < 0)
        return r == -EBADMSG ? fail(r, why, why_len, "invalid c=") : r;
    out->dir = (sn_mdir)(sdp_attribute_mode(s->sdp_attributes, sdp_sendrecv) & 3);
    for (const sdp_attribute_t *a = s->sdp_attributes; a; a = a->a_next) {
        if (strcasecmp(a->a_name, "ice-lite") == 0)
            out->ice_lite = true;
        else if ((strcasecmp(a->a_name, "ice-ufrag") == 0 ||
                  strcasecmp(a->a_name, "ice-pwd") == 0) &&
                 (r = conv_ice_cred(out, a->a_name, a->a_value, &out->ice_ufrag,
                                    &out->ice_pwd, &out->n_ice_ignored,
                                    &out->ice_ignored_why)) < 0)
            return r;
    }
    for (sm = s->sdp_media; sm; sm = sm->m_next) {
        if (out->n_media == SN_SDP_MAX_MEDIA)
            return fail(-E2BIG, why, why_len, "more than %d m= lines", SN_SDP_MAX_MEDIA);
        if ((r = conv_media(out, &out->m[out->n_media], sm, out->n_media, why, why_len)) < 0)
            return r;
        out->n_media++;
    }
    return 0;
}

int sn_sdp_parse(const char *text, size_t len, sn_sdesc *out, char *why,
                 size_t why_len)
{
    su_home_t home[1] = {SU_HOME_INIT(home)};
    sdp_parser_t *p;
    const sdp_session_t *s;
    int r;

    if (why && why_len)
        why[0] = '\0';
    if (!text || !out)
        return fail(-EINVAL, why, why_len, "no SDP");
    if (len > SN_SDP_MAX_TEXT)
        return fail(-EMSGSIZE, why, why_len, "SDP of %zu bytes", len);
    if ((r = check_lines(text, len, why, why_len)) < 0)
        return r;
    p = sdp_parse(home, text, (issize_t)len, 0);
    if (!sdp_parser_home(p)) {
        r = fail(-ENOMEM, why, why_len, "out of memory");
    } else if (!(s = sdp_session(p))) {
        r = fail(-EBADMSG, why, why_len, "%s", sdp_parsing_error(p));
    } else {
        r = convert(s, out, why, why_len);
        if (r == -EMSGSIZE && why && !why[0])
            fail(r, why, why_len, "SDP text does not fit %d bytes", SN_SDP_POOL);
    }
    sdp_parser_free(p);
    su_home_deinit(home);
    return r;
}

/* Printing. ---------------------------------------------------------- */

typedef struct out {
    char *buf;
    size_t len, used;
    int err;
} out;

static void emit(out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void emit(out *o, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (o->err)
        return;
    va_start(ap, fmt);
    n = vsnprintf(o->buf + o->used, o->len - o->used, fmt, ap);
    va_end(ap);
    if (n < 0)
        o->err = -EINVAL;
    else if ((size_t)n >= o->len - o->used)
        o->err = -ENOSPC;
    else
        o->used += (size_t)n;
}

/* Text from the pool, refused if it would break the line structure. */
static const char *txt(out *o, const sn_sdesc *d, sn_stext s)
{
    const char *t = sn_sdesc_str(d, s);
    if (t[strcspn(t, "\r\n")] != '\0')
        o->err = -EINVAL;
    return t;
}

static const char *ip(const sn_maddr *a)
{
    return a->family == AF_INET6 ? "IP6" : "IP4";
}

static void print_conn(out *o, const sn_sdesc *d, const sn_maddr *a)
{
    if (a->family && !a->text)
        o->err = -EINVAL;
    else if (a->family)
        emit(o, "c=IN %s %s\r\n", ip(a), txt(o, d, a->text));
}

static void print_mline(out *o, const sn_sdesc *d, const sn_mline *m)
{
    emit(o, "m=%s %u", txt(o, d, m->type_name), m->port);
    if (m->n_ports > 1)
        emit(o, "/%u", m->n_ports);
    emit(o, " %s", txt(o, d, m->proto_name));
    for (size_t k = 0; k < m->n_fmts; k++)
        emit(o, " %u", m->fmts[k].pt);
    if (m->fmt_text)
        emit(o, " %s", txt(o, d, m->fmt_text));
    if (m->n_fmts == 0 && !m->fmt_text)
        o->err = -EINVAL;
    emit(o, "\r\n");
    if (m->port == 0)
        return;
    print_conn(o, d, &m->conn);
    for (size_t k = 0; k < m->n_fmts; k++) {
        const sn_rtpfmt *f = &m->fmts[k];
        if (!f->name)
            continue;
        emit(o, "a=rtpmap:%u %s/%" PRIu32, f->pt, txt(o, d, f->name), f->rate);
        if (f->channels > 1)
            emit(o, "/%u", f->channels);
        emit(o, "\r\n");
    }
    for (size_t k = 0; k < m->n_fmts; k++)
        if (m->fmts[k].fmtp)
            emit(o, "a=fmtp:%u %s\r\n", m->fmts[k].pt, txt(o, d, m->fmts[k].fmtp));
    if (m->ptime)
        emit(o, "a=ptime:%u\r\n", m->ptime);
    if (m->maxptime)
        emit(o, "a=maxptime:%u\r\n", m->maxptime);
    if (m->rtcp_port && m->rtcp_addr.family)
        emit(o, "a=rtcp:%u IN %s %s\r\n", m->rtcp_port, ip(&m->rtcp_addr),
             txt(o, d, m->rtcp_addr.text));
    else if (m->rtcp_port)
        emit(o, "a=rtcp:%u\r\n", m->rtcp_port);
    if (m->rtcp_mux)
        emit(o, "a=rtcp-mux\r\n");
    for (size_t k = 0; k < m->n_crypto; k++)
        emit(o, "a=crypto:%" PRIu32 " %s %s\r\n", m->crypto[k].tag,
             txt(o, d, m->crypto[k].suite), txt(o, d, m->crypto[k].params));
    if (m->ice_ufrag && m->ice_pwd) {
        emit(o, "a=ice-ufrag:%s\r\n", txt(o, d, m->ice_ufrag));
        emit(o, "a=ice-pwd:%s\r\n", txt(o, d, m->ice_pwd));
    }
    for (size_t k = 0; k < m->n_cand; k++)
        emit(o, "a=candidate:%s\r\n", txt(o, d, m->cand[k]));
    emit(o, "a=%s\r\n", sn_mdir_name(m->dir));
}

int sn_sdp_print(const sn_sdesc *d, char *buf, size_t len)
{
    out o = {buf, len, 0, 0};
    const sn_maddr *origin;
    const char *user, *name;

    if (!d || !buf || len == 0 || d->n_media > SN_SDP_MAX_MEDIA)
        return -EINVAL;
    buf[0] = '\0';
    origin = d->origin.family ? &d->origin : &d->conn;
    if (!origin->family || !origin->text)
        return -EINVAL;
    user = txt(&o, d, d->username);
    name = txt(&o, d, d->name);
    emit(&o, "v=0\r\no=%s %" PRIu64 " %" PRIu64 " IN %s %s\r\ns=%s\r\n",
         *user ? user : "-", d->sess_id, d->sess_version, ip(origin),
         txt(&o, d, origin->text), *name ? name : "-");
    print_conn(&o, d, &d->conn);
    emit(&o, "t=0 0\r\n");
    if (d->dir != SN_DIR_SENDRECV)
        emit(&o, "a=%s\r\n", sn_mdir_name(d->dir));
    for (size_t i = 0; i < d->n_media; i++)
        print_mline(&o, d, &d->m[i]);
    if (o.err) {
        buf[0] = '\0';
        return o.err;
    }
    return (int)o.used;
}

int sn_sdp_status(int err)
{
    switch (err) {
    case -EBADMSG:
        return 400;
    case -ENOTSUP:
    case -EMSGSIZE:
    case -E2BIG:
        return 488;
    default:
        return 500;
    }
}
