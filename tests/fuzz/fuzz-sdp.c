/* libsipnat fuzzing - the SDP text codec (lib/sip/sdp.c) and offer/answer
 * (lib/media/mdesc.c). The input is an SDP body as a peer would send it.
 * What parses must print, and what we print must parse again to the same
 * description; then the input is answered as an offer (plain RTP and
 * SDES), and taken as the answer to our own offer. */
#include "media/mdesc.h"
#include "sip/sdp.h"
#include "ice/candidate.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static sn_local_addr local(const char *ip, uint16_t port)
{
    sn_local_addr l;

    memset(&l, 0, sizeof l);
    if (sn_addr_parse(ip, &l.addr) < 0)
        abort();
    l.rtp_port = port;
    l.rtcp_port = (uint16_t)(port + 1);
    return l;
}

/* Printed text parses back, and prints again to the same text (a
 * rejected line is printed as its m= line alone, so the description
 * itself may lose detail; the text may not). */
static void round_trip(const sn_sdesc *d)
{
    static char text[SN_SDP_MAX_TEXT + 1], text2[SN_SDP_MAX_TEXT + 1];
    static sn_sdesc again;
    char why[128];
    int n = sn_sdp_print(d, text, sizeof text), n2;

    if (n == -EINVAL || n == -ENOSPC)
        return;
    if (n < 0)
        abort();
    if (sn_sdp_parse(text, (size_t)n, &again, why, sizeof why) != 0) {
        fprintf(stderr, "printed SDP does not parse (%s):\n%s", why, text);
        abort();
    }
    n2 = sn_sdp_print(&again, text2, sizeof text2);
    if (n2 != n || memcmp(text, text2, (size_t)n) != 0) {
        fprintf(stderr, "printed SDP prints differently once parsed:\n%s---\n%s", text,
                n2 > 0 ? text2 : "(error)\n");
        abort();
    }
}

static void answer_with(const sn_sdesc *offer, const sn_media_prefs *prefs,
                        const sn_local_addr *ours, sn_mdir dir)
{
    static sn_sdesc answer;
    sn_negotiated n;
    int r = sn_mdesc_answer(offer, prefs, ours, dir, &answer);

    if (r == 0) {
        round_trip(&answer);
        r = sn_mdesc_result(&answer, offer, &n);
        if (r != 0 && r != -ENOTSUP)
            abort();
        if (sn_mdesc_stamp(&answer, offer, 7) < 0)
            return;
    } else if (r != -ENOTSUP && r != -EMSGSIZE) {
        abort();
    }
}

static void sdes_prefs(sn_media_prefs *p, bool optimistic)
{
    sn_media_prefs_default(p);
    p->sdes = true;
    p->optimistic = optimistic;
    for (int s = 1; s <= SN_SRTP_SUITES; s++) {
        sn_crypto_key *k = &p->keys[p->n_keys++];
        memset(k, 0, sizeof *k);
        k->tag = (uint32_t)s;
        k->suite = (sn_srtp_suite)s;
        k->key_len = sn_srtp_suite_key_len(k->suite);
        memset(k->key, 0x40 + s, k->key_len);
    }
}

/* Every candidate kept parses, and prints to a line that parses to the
 * same candidate; kept credentials are valid. */
static void check_ice(const sn_sdesc *d)
{
    if ((d->ice_ufrag && !sn_ice_ufrag_valid(sn_sdesc_str(d, d->ice_ufrag))) ||
        (d->ice_pwd && !sn_ice_pwd_valid(sn_sdesc_str(d, d->ice_pwd))))
        abort();
    for (size_t i = 0; i < d->n_media; i++) {
        const sn_mline *m = &d->m[i];
        if (m->n_cand > SN_SDP_MAX_CAND)
            abort();
        for (size_t k = 0; k < m->n_cand; k++) {
            sn_ice_cand c, again;
            char line[256];
            if (sn_ice_cand_parse(sn_sdesc_str(d, m->cand[k]), &c, NULL, 0) != 0 ||
                sn_ice_cand_format(&c, line, sizeof line) < 0 ||
                sn_ice_cand_parse(line, &again, NULL, 0) != 0 ||
                memcmp(&c, &again, sizeof c) != 0)
                abort();
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static sn_sdesc in, ours_offer;
    sn_media_prefs plain, sdes, opt;
    sn_local_addr v4 = local("198.51.100.5", 20000), v6 = local("2001:db8::10", 20002);
    sn_negotiated n;
    char why[128];
    int r;

    r = sn_sdp_parse((const char *)data, size, &in, why, sizeof why);
    if (r != 0) {
        if (r != -EBADMSG && r != -EMSGSIZE && r != -E2BIG && r != -ENOMEM)
            abort();
        if (sn_sdp_status(r) < 400)
            abort();
        return 0;
    }
    round_trip(&in);
    check_ice(&in);

    sn_media_prefs_default(&plain);
    sdes_prefs(&sdes, false);
    sdes_prefs(&opt, true);
    answer_with(&in, &plain, &v4, SN_DIR_SENDRECV);
    answer_with(&in, &plain, &v6, SN_DIR_SENDONLY);
    answer_with(&in, &sdes, &v4, SN_DIR_SENDRECV);
    answer_with(&in, &opt, &v4, SN_DIR_INACTIVE);

    /* The input as the peer's answer to our offer (plain and SDES). */
    const sn_media_prefs *all[] = {&plain, &sdes, &opt};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
        if (sn_mdesc_offer(all[i], &v4, SN_DIR_SENDRECV, &ours_offer) != 0)
            abort();
        r = sn_mdesc_accept_answer(&ours_offer, &in, &n);
        if (r != 0 && r != -EPROTO && r != -ENOTSUP)
            abort();
    }
    (void)sn_sdesc_same(&in, &ours_offer);
    return 0;
}
