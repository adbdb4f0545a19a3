/*
 * libsipnat - NAT-aware SIP user agent library
 *
 * dns.h: how the context resolves host names (RFC 3263: NAPTR, SRV,
 * A/AAAA), asynchronously inside the host's loop. By default the name
 * servers come from /etc/resolv.conf; a host with its own DNS needs
 * overrides them here (see sipnat_ctx_set_dns_servers(3)).
 */
#ifndef SIPNAT_DNS_H
#define SIPNAT_DNS_H

#include <sipnat/common.h>
#include <sipnat/ctx.h>

SIPNAT_BEGIN_DECLS

/* Comma-separated numeric servers, each "ADDR", "ADDR:PORT" or
 * "[ADDR6]:PORT" (at most 8); NULL goes back to /etc/resolv.conf. */
SIPNAT_API int sipnat_ctx_set_dns_servers(sipnat_ctx *ctx, const char *servers);
/* Milliseconds each server gets on the first try (10..60000), and the
 * tries per server (1..10). Defaults: resolv.conf's options timeout: and
 * attempts:, else 2000 ms, 2 tries. */
SIPNAT_API int sipnat_ctx_set_dns_timeout(sipnat_ctx *ctx, unsigned timeout_ms,
                                          unsigned tries);

SIPNAT_END_DECLS

#endif /* SIPNAT_DNS_H */
