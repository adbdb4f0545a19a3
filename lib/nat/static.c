/*
 * libsipnat - the static policy: Asterisk's local_net and external_*
 * semantics, as res_pjsip applies them:
 *  - a destination inside any local_net gets the local addresses;
 *  - no local_net at all means every destination is outside;
 *  - outside, Via/Contact carry external_signaling_address (and
 *    external_signaling_port when set), and the SDP carries
 *    external_media_address when the media address itself is inside
 *    local_net (or no local_net is configured);
 *  - an endpoint's media_address wins over everything for media.
 */
#include "config.h"

#include "nat/policy.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

int sn_static_add_local_net(sn_static_cfg *cfg, const char *cidr)
{
    sn_cidr c;

    if (!cfg || sn_cidr_parse(cidr, &c) < 0)
        return -EINVAL;
    if (cfg->n_local_net == SN_MAX_LOCAL_NET)
        return -ENOSPC;
    cfg->local_net[cfg->n_local_net++] = c;
    return 0;
}

static int local_net_index(const sn_static_cfg *cfg, const sn_addr *a)
{
    for (size_t i = 0; i < cfg->n_local_net; i++)
        if (sn_cidr_contains(&cfg->local_net[i], a))
            return (int)i;
    return -1;
}

void sn_static_decide(const sn_static_cfg *cfg, const sn_addr *dest,
                      const sn_addr *local_sig, int local_port,
                      const sn_addr *local_media,
                      const sn_addr *media_override, sn_decision *out)
{
    memset(out, 0, sizeof *out);
    out->local_net_match = local_net_index(cfg, dest);
    out->dest_local = out->local_net_match >= 0;

    out->sig_addr = *local_sig;
    out->sig_port = local_port;
    if (out->dest_local) {
        out->sig_reason = SN_REASON_LOCAL_NET;
    } else if (cfg->ext_signaling.family) {
        out->sig_addr = cfg->ext_signaling;
        if (cfg->ext_signaling_port)
            out->sig_port = cfg->ext_signaling_port;
        out->sig_reason = SN_REASON_EXTERNAL;
    } else {
        out->sig_reason = SN_REASON_NO_EXTERNAL;
    }

    out->media_addr = *local_media;
    if (media_override && media_override->family) {
        out->media_addr = *media_override;
        out->media_reason = SN_REASON_MEDIA_ADDRESS;
    } else if (out->dest_local) {
        out->media_reason = SN_REASON_LOCAL_NET;
    } else if (cfg->n_local_net && local_net_index(cfg, local_media) < 0) {
        out->media_reason = SN_REASON_MEDIA_PUBLIC;
    } else if (cfg->ext_media.family) {
        out->media_addr = cfg->ext_media;
        out->media_reason = SN_REASON_EXTERNAL;
    } else {
        out->media_reason = SN_REASON_NO_EXTERNAL;
    }
}

const char *sn_reason_name(sn_reason r)
{
    switch (r) {
    case SN_REASON_LOCAL_NET:
        return "local_net";
    case SN_REASON_EXTERNAL:
        return "external";
    case SN_REASON_NO_EXTERNAL:
        return "no-external";
    case SN_REASON_MEDIA_PUBLIC:
        return "media-not-local";
    case SN_REASON_MEDIA_ADDRESS:
        return "media_address";
    }
    return "unknown";
}

int sn_decision_explain(const sn_static_cfg *cfg, const sn_addr *dest,
                        const sn_decision *d, char *buf, size_t size)
{
    char da[64], sa[64], ma[64], net[80] = "";
    const char *why;
    int n;

    if (sn_addr_format(dest, da, sizeof da) < 0 ||
        sn_addr_format(&d->sig_addr, sa, sizeof sa) < 0 ||
        sn_addr_format(&d->media_addr, ma, sizeof ma) < 0)
        return -EINVAL;
    if (d->local_net_match >= 0)
        sn_cidr_format(&cfg->local_net[d->local_net_match], net, sizeof net);

    switch (d->sig_reason) {
    case SN_REASON_LOCAL_NET:
        why = "inside local_net";
        break;
    case SN_REASON_EXTERNAL:
        why = cfg->n_local_net ? "outside local_net, external_signaling_address"
                               : "no local_net (all outside), external_signaling_address";
        break;
    default:
        why = "outside local_net, no external_signaling_address: local address";
        break;
    }
    n = snprintf(buf, size,
                 d->sig_addr.family == AF_INET6
                     ? "to %s%s%s%s: signalling [%s]:%d (%s); media %s (%s)"
                     : "to %s%s%s%s: signalling %s:%d (%s); media %s (%s)",
                 da, net[0] ? " (local_net " : "", net, net[0] ? ")" : "", sa,
                 d->sig_port, why, ma, sn_reason_name(d->media_reason));
    if (n < 0 || (size_t)n >= size)
        return -ENOSPC;
    return n;
}
