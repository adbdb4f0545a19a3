/*
 * libsipnat - media descriptions and RFC 3264 offer/answer.
 */
#include "config.h"

#include "media/mdesc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

/* RFC 3551 table 4: the audio payload types that need no a=rtpmap. */
static const struct {
    uint8_t pt;
    const char *name;
    uint32_t rate;
} static_pts[] = {
    {0, "PCMU", 8000}, {3, "GSM", 8000},  {4, "G723", 8000}, {5, "DVI4", 8000},
    {6, "DVI4", 16000}, {7, "LPC", 8000}, {8, "PCMA", 8000}, {9, "G722", 8000},
    {10, "L16", 44100}, {11, "L16", 44100}, {12, "QCELP", 8000}, {13, "CN", 8000},
    {14, "MPA", 90000}, {15, "G728", 8000}, {16, "DVI4", 11025},
    {17, "DVI4", 22050}, {18, "G729", 8000},
};

/* Asterisk's codec names for sn_media_prefs_allow(). Opus: RFC 7587 (its
 * rtpmap always says 48000/2; we send and prefer to receive mono). */
static const struct {
    const char *asterisk, *name;
    uint8_t pt;
    uint32_t rate;
    uint8_t channels;
    const char *fmtp;
} known_codecs[] = {
    {"ulaw", "PCMU", 0, 8000, 1, NULL}, {"pcmu", "PCMU", 0, 8000, 1, NULL},
    {"alaw", "PCMA", 8, 8000, 1, NULL}, {"pcma", "PCMA", 8, 8000, 1, NULL},
    {"g722", "G722", 9, 8000, 1, NULL}, {"gsm", "GSM", 3, 8000, 1, NULL},
    {"g729", "G729", 18, 8000, 1, NULL},
    {"opus", "opus", 111, 48000, 2, "stereo=0;sprop-stereo=0"},
};

#define TELEPHONE_EVENT "telephone-event"
#define DEFAULT_PTIME 20

void sn_sdesc_init(sn_sdesc *d)
{
    memset(d, 0, sizeof *d);
    d->pool_used = 1;          /* offset 0 is the empty string */
    d->dir = SN_DIR_SENDRECV;
}

const char *sn_sdesc_str(const sn_sdesc *d, sn_stext s)
{
    return s < d->pool_used ? d->pool + s : "";
}

int sn_sdesc_intern(sn_sdesc *d, sn_stext *out, const char *s, size_t len)
{
    if (len == 0) {
        *out = 0;
        return 0;
    }
    if (len + 1 > SN_SDP_POOL - d->pool_used)
        return -EMSGSIZE;
    memcpy(d->pool + d->pool_used, s, len);
    d->pool[d->pool_used + len] = '\0';
    *out = (sn_stext)d->pool_used;
    d->pool_used += len + 1;
    return 0;
}

static int intern_str(sn_sdesc *d, sn_stext *out, const char *s)
{
    return sn_sdesc_intern(d, out, s, strlen(s));
}

int sn_maddr_set(sn_sdesc *d, sn_maddr *a, int family, const char *text,
                 bool multicast)
{
    sn_addr parsed;

    memset(a, 0, sizeof *a);
    a->family = family;
    a->multicast = multicast;
    /* sn_addr_parse() accepts IPv6 in brackets; SDP never brackets. */
    if (text[0] != '[' && sn_addr_parse(text, &parsed) == 0 &&
        parsed.family == family) {
        a->numeric = true;
        a->addr = parsed;
    }
    return intern_str(d, &a->text, text);
}

int sn_maddr_from_addr(sn_sdesc *d, sn_maddr *a, const sn_addr *addr)
{
    char text[64];

    if (sn_addr_format(addr, text, sizeof text) < 0)
        return -EINVAL;
    return sn_maddr_set(d, a, addr->family, text, false);
}

const sn_maddr *sn_mline_conn(const sn_sdesc *d, size_t i)
{
    return d->m[i].conn.family ? &d->m[i].conn : &d->conn;
}

const char *sn_static_pt_name(unsigned pt, uint32_t *rate)
{
    for (size_t i = 0; i < sizeof static_pts / sizeof static_pts[0]; i++)
        if (static_pts[i].pt == pt) {
            if (rate)
                *rate = static_pts[i].rate;
            return static_pts[i].name;
        }
    return NULL;
}

sn_mdir sn_mdir_reverse(sn_mdir d)
{
    return (sn_mdir)(((d & SN_DIR_SEND) ? SN_DIR_RECV : 0u) |
                     ((d & SN_DIR_RECV) ? SN_DIR_SEND : 0u));
}

const char *sn_mdir_name(sn_mdir d)
{
    static const char *const names[] = {"inactive", "sendonly", "recvonly",
                                        "sendrecv"};
    return names[d & 3];
}

void sn_media_prefs_default(sn_media_prefs *p)
{
    memset(p, 0, sizeof *p);
    sn_media_prefs_allow(p, "ulaw,alaw");
    p->dtmf = true;
    p->dtmf_pt = 101;
    p->ptime = DEFAULT_PTIME;
}

int sn_media_prefs_allow(sn_media_prefs *p, const char *allow)
{
    sn_codec list[SN_MAX_CODECS];
    size_t n = 0;
    const char *s = allow;

    if (!p || !allow)
        return -EINVAL;
    while (*s) {
        size_t len = strcspn(s, ",");
        size_t k;

        for (k = 0; k < sizeof known_codecs / sizeof known_codecs[0]; k++)
            if (strlen(known_codecs[k].asterisk) == len &&
                strncasecmp(s, known_codecs[k].asterisk, len) == 0)
                break;
        if (k == sizeof known_codecs / sizeof known_codecs[0])
            return -EINVAL;
        for (size_t j = 0; j < n; j++)
            if (strcmp(list[j].name, known_codecs[k].name) == 0)
                return -EINVAL;
        if (n == SN_MAX_CODECS)
            return -ENOSPC;
        memset(&list[n], 0, sizeof list[n]);
        snprintf(list[n].name, sizeof list[n].name, "%s", known_codecs[k].name);
        list[n].rate = known_codecs[k].rate;
        list[n].channels = known_codecs[k].channels;
        list[n].pt = known_codecs[k].pt;
        list[n].fmtp = known_codecs[k].fmtp;
        n++;
        s += len;
        if (*s == ',' && *++s == '\0')
            return -EINVAL;
    }
    if (n == 0)
        return -EINVAL;
    memcpy(p->codecs, list, n * sizeof list[0]);
    p->n_codecs = n;
    return 0;
}

/* Building our own lines. -------------------------------------------- */

static int add_fmt(sn_sdesc *d, sn_mline *m, uint8_t pt, const char *name,
                   uint32_t rate, uint8_t channels, const char *fmtp)
{
    sn_rtpfmt *f;
    int r;

    if (m->n_fmts == SN_SDP_MAX_FORMATS)
        return -EMSGSIZE;
    f = &m->fmts[m->n_fmts];
    memset(f, 0, sizeof *f);
    f->pt = pt;
    f->has_rtpmap = true;
    f->rate = rate;
    f->channels = channels ? channels : 1;
    if ((r = intern_str(d, &f->name, name)) < 0 ||
        (r = intern_str(d, &f->fmtp, fmtp ? fmtp : "")) < 0)
        return r;
    m->n_fmts++;
    return 0;
}

/* Session part and origin address of a description of ours. */
static int start_local(sn_sdesc *d, const sn_local_addr *ours)
{
    int r;

    sn_sdesc_init(d);
    if ((r = intern_str(d, &d->username, "-")) < 0 ||
        (r = intern_str(d, &d->name, "-")) < 0 ||
        (r = sn_maddr_from_addr(d, &d->origin, &ours->addr)) < 0)
        return r;
    d->conn = d->origin;
    return 0;
}

static int set_audio_local(sn_sdesc *d, sn_mline *m, const sn_local_addr *ours,
                           uint16_t ptime, sn_mdir dir)
{
    int r;

    m->type = SN_MT_AUDIO;
    m->port = ours->rtp_port;
    m->n_ports = 1;
    m->proto = SN_PROTO_RTP_AVP;
    m->dir = dir;
    m->ptime = ptime;
    if ((r = intern_str(d, &m->type_name, "audio")) < 0 ||
        (r = intern_str(d, &m->proto_name, "RTP/AVP")) < 0)
        return r;
    m->rtcp_port = ours->rtcp_port;
    /* RFC 3605: RTCP not on the next port (a NAT's mapping, from STUN). */
    if (ours->rtcp_port != ours->rtp_port + 1)
        return sn_maddr_from_addr(d, &m->rtcp_addr, &ours->addr);
    return 0;
}

/* An a=crypto line with our key k. */
static int add_crypto(sn_sdesc *d, sn_mline *m, const sn_crypto_key *k)
{
    char params[SN_CRYPTO_ATTR_MAX];
    sn_crypto *c = &m->crypto[m->n_crypto];
    int r;

    if (m->n_crypto == SN_SDP_MAX_CRYPTO)
        return -EMSGSIZE;
    if ((r = sn_crypto_format_params(k, params, sizeof params)) < 0)
        return r == -ENOSPC ? -EMSGSIZE : r;
    c->tag = k->tag;
    if ((r = intern_str(d, &c->suite, sn_srtp_suite_name(k->suite))) < 0 ||
        (r = intern_str(d, &c->params, params)) < 0)
        return r;
    m->n_crypto++;
    return 0;
}

static int parse_crypto(const sn_sdesc *d, const sn_crypto *c, sn_crypto_key *out)
{
    return sn_crypto_parse(c->tag, sn_sdesc_str(d, c->suite), sn_sdesc_str(d, c->params), out);
}

/* The first of the offer's a=crypto lines that parses and is of a suite
 * we have a key for: 0 with the peer's key and ours (index); -ENOTSUP. */
static int pick_crypto(const sn_sdesc *offer, const sn_mline *om,
                       const sn_media_prefs *prefs, sn_crypto_key *peer, size_t *ours)
{
    for (size_t i = 0; i < om->n_crypto; i++) {
        if (parse_crypto(offer, &om->crypto[i], peer) < 0)
            continue;
        for (size_t k = 0; k < prefs->n_keys; k++)
            if (prefs->keys[k].suite == peer->suite) {
                *ours = k;
                return 0;
            }
    }
    sn_crypto_key_clear(peer);
    return -ENOTSUP;
}

/* Whether line `om` may be answered under prefs' encryption, and with
 * which keys: 1 with SRTP (*ours set), 0 plain, -ENOTSUP not at all. */
static int answer_security(const sn_sdesc *offer, const sn_mline *om,
                           const sn_media_prefs *prefs, size_t *ours)
{
    sn_crypto_key peer;
    bool have = prefs->sdes && pick_crypto(offer, om, prefs, &peer, ours) == 0;

    sn_crypto_key_clear(&peer);
    if (om->proto == SN_PROTO_RTP_SAVP)
        return have ? 1 : -ENOTSUP;
    if (have && prefs->optimistic)
        return 1;
    return prefs->sdes && !prefs->optimistic ? -ENOTSUP : 0;
}

static bool local_ok(const sn_local_addr *ours)
{
    return ours && (ours->addr.family == AF_INET || ours->addr.family == AF_INET6) &&
           ours->rtp_port != 0;
}

int sn_mdesc_offer(const sn_media_prefs *prefs, const sn_local_addr *ours,
                   sn_mdir direction, sn_sdesc *offer)
{
    sn_mline *m;
    int r;

    if (!prefs || !offer || !local_ok(ours) || prefs->n_codecs == 0 ||
        prefs->n_codecs > SN_MAX_CODECS || (unsigned)direction > SN_DIR_SENDRECV)
        return -EINVAL;
    if ((r = start_local(offer, ours)) < 0)
        return r;
    m = &offer->m[0];
    offer->n_media = 1;
    if ((r = set_audio_local(offer, m, ours, prefs->ptime, direction)) < 0)
        return r;
    for (size_t i = 0; i < prefs->n_codecs; i++) {
        const sn_codec *c = &prefs->codecs[i];
        if ((r = add_fmt(offer, m, c->pt, c->name, c->rate, c->channels, c->fmtp)) < 0)
            return r;
    }
    if (prefs->dtmf &&
        (r = add_fmt(offer, m, prefs->dtmf_pt, TELEPHONE_EVENT, 8000, 1, "0-16")) < 0)
        return r;
    m->rtcp_mux = prefs->rtcp_mux;
    if (!prefs->sdes)
        return 0;
    if (prefs->n_keys == 0 || prefs->n_keys > SN_SDP_MAX_CRYPTO)
        return -EINVAL;
    if (!prefs->optimistic) {
        m->proto = SN_PROTO_RTP_SAVP;
        if ((r = intern_str(offer, &m->proto_name, "RTP/SAVP")) < 0)
            return r;
    }
    for (size_t i = 0; i < prefs->n_keys; i++) {
        sn_crypto_key k = prefs->keys[i];
        k.tag = (uint32_t)i + 1;
        if ((r = add_crypto(offer, m, &k)) < 0)
            return r;
    }
    return 0;
}

/* Matching. ---------------------------------------------------------- */

static bool fmt_is(const sn_sdesc *d, const sn_rtpfmt *f, const char *name,
                   uint32_t rate, uint8_t channels)
{
    return strcasecmp(sn_sdesc_str(d, f->name), name) == 0 && f->rate == rate &&
           (f->channels ? f->channels : 1) == (channels ? channels : 1);
}

static bool same_codec(const sn_sdesc *a, const sn_rtpfmt *fa, const sn_sdesc *b,
                       const sn_rtpfmt *fb)
{
    return fa->name && fmt_is(b, fb, sn_sdesc_str(a, fa->name), fa->rate,
                              fa->channels);
}

static const sn_rtpfmt *find_fmt(const sn_sdesc *d, const sn_mline *m,
                                 const char *name, uint32_t rate, uint8_t ch)
{
    for (size_t i = 0; i < m->n_fmts; i++)
        if (fmt_is(d, &m->fmts[i], name, rate, ch))
            return &m->fmts[i];
    return NULL;
}

static bool is_event(const sn_sdesc *d, const sn_rtpfmt *f)
{
    const char *n = sn_sdesc_str(d, f->name);
    return strcasecmp(n, TELEPHONE_EVENT) == 0 || strcasecmp(n, "CN") == 0;
}

static bool is_zero_addr(const sn_maddr *a)
{
    static const uint8_t zero[16];
    return a->numeric &&
           memcmp(a->addr.bytes, zero, a->addr.family == AF_INET ? 4 : 16) == 0;
}

/* A stream we can carry media on at all. */
static bool usable_audio(const sn_sdesc *d, size_t i)
{
    const sn_mline *m = &d->m[i];
    const sn_maddr *c = sn_mline_conn(d, i);

    return m->type == SN_MT_AUDIO &&
           (m->proto == SN_PROTO_RTP_AVP || m->proto == SN_PROTO_RTP_SAVP) &&
           m->port != 0 && m->n_ports <= 1 && c->numeric && !c->multicast;
}

/* Answering. --------------------------------------------------------- */

/* The m= line in `answer` for an offered line we do not take. */
static int reject_line(const sn_sdesc *offer, const sn_mline *om, sn_sdesc *answer,
                       sn_mline *am)
{
    int r;

    memset(am, 0, sizeof *am);
    am->type = om->type;
    am->port = 0;
    am->n_ports = 1;
    am->proto = om->proto;
    am->dir = SN_DIR_INACTIVE;
    if ((r = intern_str(answer, &am->type_name, sn_sdesc_str(offer, om->type_name))) < 0 ||
        (r = intern_str(answer, &am->proto_name, sn_sdesc_str(offer, om->proto_name))) < 0)
        return r;
    if (om->n_fmts > 0) {
        am->fmts[0].pt = om->fmts[0].pt;
        am->fmts[0].channels = 1;
        am->n_fmts = 1;
    } else {
        /* Its first format, as written: SDP needs one on every m= line. */
        const char *t = sn_sdesc_str(offer, om->fmt_text);
        size_t len = strcspn(t, " ");
        if (len == 0)
            t = "0", len = 1;
        if ((r = sn_sdesc_intern(answer, &am->fmt_text, t, len)) < 0)
            return r;
    }
    return 0;
}

/* telephone-event at the codec's clock (RFC 4733 2.1), else at 8000: what
 * peers offer next to Opus/48000 in practice. */
static const sn_rtpfmt *find_te(const sn_sdesc *d, const sn_mline *m, uint32_t rate)
{
    const sn_rtpfmt *te = find_fmt(d, m, TELEPHONE_EVENT, rate, 1);

    return te ? te : find_fmt(d, m, TELEPHONE_EVENT, 8000, 1);
}

/* Our codec for offered line `om`, or NULL. */
static const sn_rtpfmt *pick_codec(const sn_sdesc *offer, const sn_mline *om,
                                   const sn_media_prefs *prefs)
{
    for (size_t k = 0; k < prefs->n_codecs; k++) {
        const sn_codec *c = &prefs->codecs[k];
        const sn_rtpfmt *f = find_fmt(offer, om, c->name, c->rate, c->channels);
        if (f)
            return f;
    }
    return NULL;
}

static int accept_line(const sn_sdesc *offer, size_t i, const sn_rtpfmt *codec,
                       const sn_media_prefs *prefs, const sn_local_addr *ours,
                       sn_mdir direction, int srtp, size_t key, sn_sdesc *answer)
{
    const sn_mline *om = &offer->m[i];
    sn_mline *am = &answer->m[i];
    sn_mdir want = om->dir;
    int r;

    /* c=0.0.0.0: "neither RTP nor RTCP is to be sent to the peer"
     * (RFC 3264 section 8.4), so the offerer does not receive. */
    if (is_zero_addr(sn_mline_conn(offer, i)))
        want = (sn_mdir)(want & ~SN_DIR_RECV);
    memset(am, 0, sizeof *am);
    if ((r = set_audio_local(answer, am, ours, prefs->ptime,
                             (sn_mdir)(sn_mdir_reverse(want) & direction))) < 0)
        return r;
    if ((r = add_fmt(answer, am, codec->pt, sn_sdesc_str(offer, codec->name),
                     codec->rate, codec->channels, sn_sdesc_str(offer, codec->fmtp))) < 0)
        return r;
    if (prefs->dtmf) {
        const sn_rtpfmt *te = find_te(offer, om, codec->rate);
        if (te && (r = add_fmt(answer, am, te->pt, TELEPHONE_EVENT, te->rate, 1,
                               sn_sdesc_str(offer, te->fmtp))) < 0)
            return r;
    }
    am->proto = om->proto;
    am->rtcp_mux = prefs->rtcp_mux && om->rtcp_mux;
    if (om->proto == SN_PROTO_RTP_SAVP &&
        (r = intern_str(answer, &am->proto_name, "RTP/SAVP")) < 0)
        return r;
    if (srtp > 0) {
        /* Our key of the suite the peer chose, under the peer's tag. */
        sn_crypto_key peer, k = prefs->keys[key];
        pick_crypto(offer, om, prefs, &peer, &key);
        k.tag = peer.tag;
        sn_crypto_key_clear(&peer);
        r = add_crypto(answer, am, &k);
        sn_crypto_key_clear(&k);
    }
    return r;
}

int sn_mdesc_answer(const sn_sdesc *offer, const sn_media_prefs *prefs,
                    const sn_local_addr *ours, sn_mdir direction,
                    sn_sdesc *answer)
{
    bool taken = false;
    int r;

    if (!offer || !prefs || !answer || !local_ok(ours) || offer == answer ||
        prefs->n_codecs > SN_MAX_CODECS || (unsigned)direction > SN_DIR_SENDRECV ||
        offer->n_media > SN_SDP_MAX_MEDIA)
        return -EINVAL;
    if ((r = start_local(answer, ours)) < 0)
        return r;
    answer->n_media = offer->n_media;
    for (size_t i = 0; i < offer->n_media; i++) {
        const sn_mline *om = &offer->m[i];
        const sn_rtpfmt *codec = NULL;
        size_t key = 0;
        int srtp = -ENOTSUP;

        if (!taken && usable_audio(offer, i) &&
            sn_mline_conn(offer, i)->family == ours->addr.family &&
            (srtp = answer_security(offer, om, prefs, &key)) >= 0)
            codec = pick_codec(offer, om, prefs);
        if (codec) {
            r = accept_line(offer, i, codec, prefs, ours, direction, srtp, key, answer);
            taken = true;
        } else {
            r = reject_line(offer, om, answer, &answer->m[i]);
        }
        if (r < 0)
            return r;
    }
    return taken ? 0 : -ENOTSUP;
}

/* Results. ----------------------------------------------------------- */

/* The keys of an exchange: the peer's a=crypto lines matched by tag and
 * suite to ours (an answer has one line, under a tag of the offer). An
 * RTP/SAVP stream without matching keys cannot be used. */
static int result_keys(const sn_sdesc *local, const sn_mline *lm, const sn_sdesc *remote,
                       const sn_mline *rm, sn_negotiated *out)
{
    for (size_t i = 0; i < rm->n_crypto; i++)
        for (size_t j = 0; j < lm->n_crypto; j++) {
            if (rm->crypto[i].tag != lm->crypto[j].tag ||
                parse_crypto(remote, &rm->crypto[i], &out->rx_key) < 0 ||
                parse_crypto(local, &lm->crypto[j], &out->tx_key) < 0 ||
                out->rx_key.suite != out->tx_key.suite)
                continue;
            out->srtp = true;
            return 0;
        }
    sn_crypto_key_clear(&out->rx_key);
    sn_crypto_key_clear(&out->tx_key);
    return rm->proto == SN_PROTO_RTP_SAVP || lm->proto == SN_PROTO_RTP_SAVP ? -ENOTSUP : 0;
}

/* The first audio m-line both sides can use, or n. */
static size_t first_audio(const sn_sdesc *local, const sn_sdesc *remote, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (local->m[i].type == SN_MT_AUDIO && local->m[i].port != 0 &&
            usable_audio(remote, i))
            break;
    return i;
}

/* The remote's first codec that we have too, or NULL. */
static const sn_rtpfmt *common_codec(const sn_sdesc *local, const sn_mline *lm,
                                     const sn_sdesc *remote, const sn_mline *rm)
{
    for (size_t k = 0; k < rm->n_fmts; k++) {
        const sn_rtpfmt *f = &rm->fmts[k];
        if (is_event(remote, f) || f->name == 0)
            continue;
        for (size_t j = 0; j < lm->n_fmts; j++)
            if (same_codec(remote, f, local, &lm->fmts[j]))
                return f;
    }
    return NULL;
}

/* Where the remote's RTP and RTCP go. */
static void result_addresses(const sn_sdesc *remote, size_t i, const sn_mline *lm,
                             sn_negotiated *out)
{
    const sn_mline *rm = &remote->m[i];
    const sn_maddr *rc = sn_mline_conn(remote, i);

    out->remote = rc->addr;
    out->rtp_port = rm->port;
    out->rtcp_mux = lm->rtcp_mux && rm->rtcp_mux;
    out->rtcp_remote = rm->rtcp_addr.numeric ? rm->rtcp_addr.addr : rc->addr;
    out->rtcp_port = out->rtcp_mux ? rm->port
                     : rm->rtcp_port ? rm->rtcp_port
                     : (uint16_t)(rm->port == 65535 ? 0 : rm->port + 1);
}

int sn_mdesc_result(const sn_sdesc *local, const sn_sdesc *remote,
                    sn_negotiated *out)
{
    size_t n, i;

    if (!local || !remote || !out)
        return -EINVAL;
    memset(out, 0, sizeof *out);
    n = local->n_media < remote->n_media ? local->n_media : remote->n_media;
    i = first_audio(local, remote, n);
    if (i == n)
        return -ENOTSUP;

    const sn_mline *lm = &local->m[i], *rm = &remote->m[i];
    const sn_rtpfmt *codec = common_codec(local, lm, remote, rm);

    if (!codec)
        return -ENOTSUP;
    out->mline = (int)i;
    out->proto = rm->proto;
    result_addresses(remote, i, lm, out);
    out->pt = codec->pt;
    snprintf(out->codec, sizeof out->codec, "%s", sn_sdesc_str(remote, codec->name));
    out->rate = codec->rate;
    out->dtmf_pt = -1;
    {
        const sn_rtpfmt *rte = find_te(remote, rm, codec->rate);
        const sn_rtpfmt *lte = find_te(local, lm, codec->rate);
        if (rte && lte)
            out->dtmf_pt = rte->pt;
    }
    out->ptime = rm->ptime ? rm->ptime : DEFAULT_PTIME;

    bool zero = is_zero_addr(sn_mline_conn(remote, i));
    out->send = (lm->dir & SN_DIR_SEND) && (rm->dir & SN_DIR_RECV) && !zero;
    out->recv = (lm->dir & SN_DIR_RECV) && (rm->dir & SN_DIR_SEND);
    out->held = zero || !(rm->dir & SN_DIR_RECV);
    return result_keys(local, lm, remote, rm, out);
}

/* RFC 3264 section 6.1: what an answer may say for an offered direction. */
static bool direction_allowed(sn_mdir offered, sn_mdir answered)
{
    return (answered & ~sn_mdir_reverse(offered)) == 0;
}

int sn_mdesc_accept_answer(const sn_sdesc *our_offer, const sn_sdesc *answer,
                           sn_negotiated *out)
{
    if (!our_offer || !answer || !out)
        return -EINVAL;
    if (answer->n_media != our_offer->n_media)
        return -EPROTO;
    for (size_t i = 0; i < answer->n_media; i++) {
        const sn_mline *om = &our_offer->m[i], *am = &answer->m[i];

        if (strcasecmp(sn_sdesc_str(our_offer, om->type_name),
                       sn_sdesc_str(answer, am->type_name)) != 0)
            return -EPROTO;
        if (am->port == 0)
            continue;
        if (om->port == 0 ||
            strcasecmp(sn_sdesc_str(our_offer, om->proto_name),
                       sn_sdesc_str(answer, am->proto_name)) != 0 ||
            !direction_allowed(om->dir, am->dir))
            return -EPROTO;
        if (am->proto == SN_PROTO_OTHER)
            continue;
        if (am->n_fmts == 0)
            return -EPROTO;
        for (size_t k = 0; k < am->n_fmts; k++) {
            bool found = false;
            for (size_t j = 0; j < om->n_fmts && !found; j++)
                found = am->fmts[k].name != 0 &&
                        same_codec(answer, &am->fmts[k], our_offer, &om->fmts[j]);
            if (!found)
                return -EPROTO;
        }
    }
    int r = sn_mdesc_result(our_offer, answer, out);
    /* An offer that did not send leaves the answer no receive bit: that
     * is our own hold, not the peer's. */
    if (r == 0 && !(our_offer->m[out->mline].dir & SN_DIR_SEND))
        out->held = false;
    return r;
}

/* Versions. ---------------------------------------------------------- */

static bool str_eq(const sn_sdesc *a, sn_stext sa, const sn_sdesc *b, sn_stext sb)
{
    return strcmp(sn_sdesc_str(a, sa), sn_sdesc_str(b, sb)) == 0;
}

static bool maddr_eq(const sn_sdesc *a, const sn_maddr *x, const sn_sdesc *b,
                     const sn_maddr *y)
{
    return x->family == y->family && x->multicast == y->multicast &&
           str_eq(a, x->text, b, y->text);
}

static bool mline_eq(const sn_sdesc *a, const sn_mline *x, const sn_sdesc *b,
                     const sn_mline *y)
{
    if (x->type != y->type || x->port != y->port || x->n_ports != y->n_ports ||
        x->proto != y->proto || x->n_fmts != y->n_fmts || x->rtcp_port != y->rtcp_port ||
        x->dir != y->dir || x->ptime != y->ptime || x->maxptime != y->maxptime ||
        x->rtcp_mux != y->rtcp_mux || x->n_crypto != y->n_crypto ||
        !str_eq(a, x->type_name, b, y->type_name) ||
        !str_eq(a, x->proto_name, b, y->proto_name) ||
        !str_eq(a, x->fmt_text, b, y->fmt_text) || !maddr_eq(a, &x->conn, b, &y->conn) ||
        !maddr_eq(a, &x->rtcp_addr, b, &y->rtcp_addr))
        return false;
    for (size_t k = 0; k < x->n_fmts; k++) {
        const sn_rtpfmt *f = &x->fmts[k], *g = &y->fmts[k];
        /* has_rtpmap is how it was written, not what it says. */
        if (f->pt != g->pt || f->rate != g->rate ||
            f->channels != g->channels || !str_eq(a, f->name, b, g->name) ||
            !str_eq(a, f->fmtp, b, g->fmtp))
            return false;
    }
    for (size_t k = 0; k < x->n_crypto; k++)
        if (x->crypto[k].tag != y->crypto[k].tag ||
            !str_eq(a, x->crypto[k].suite, b, y->crypto[k].suite) ||
            !str_eq(a, x->crypto[k].params, b, y->crypto[k].params))
            return false;
    return true;
}

bool sn_sdesc_same(const sn_sdesc *a, const sn_sdesc *b)
{
    if (a->n_media != b->n_media || a->dir != b->dir || a->sess_id != b->sess_id ||
        !str_eq(a, a->username, b, b->username) || !str_eq(a, a->name, b, b->name) ||
        !maddr_eq(a, &a->origin, b, &b->origin) || !maddr_eq(a, &a->conn, b, &b->conn))
        return false;
    for (size_t i = 0; i < a->n_media; i++)
        if (!mline_eq(a, &a->m[i], b, &b->m[i]))
            return false;
    return true;
}

int sn_mdesc_stamp(sn_sdesc *next, const sn_sdesc *prev, uint64_t new_id)
{
    int r;

    if (!next)
        return -EINVAL;
    if (!prev) {
        if ((r = intern_str(next, &next->username, "-")) < 0)
            return r;
        next->sess_id = next->sess_version = new_id;
        return 1;
    }
    if ((r = intern_str(next, &next->username, sn_sdesc_str(prev, prev->username))) < 0)
        return r;
    next->sess_id = prev->sess_id;
    if (sn_sdesc_same(next, prev)) {
        next->sess_version = prev->sess_version;
        return 0;
    }
    next->sess_version = prev->sess_version + 1;
    return 1;
}
