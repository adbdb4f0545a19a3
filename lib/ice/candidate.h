/*
 * libsipnat - ICE candidates and credentials as SDP writes them (RFC 8839
 * section 5, RFC 8445 section 5.1.2 priorities): pure functions on text
 * and plain structs, lib/core only. lib/sip/sdp.c keeps every a=candidate
 * of an m= line as text and checks it here; an agent turns the text into
 * an sn_ice_cand when it needs the fields.
 *
 * What is taken: UDP candidates (host, srflx, prflx, relay) with a numeric
 * IPv4 or IPv6 connection address, raddr/rport, and any extension
 * attributes after them (generation, network-id, ufrag, ...), which are
 * skipped. What is refused, with the reason in `why`: anything the
 * grammar does not allow, TCP candidates (RFC 6544: no ICE-TCP here), FQDN
 * and mDNS (.local) addresses (nothing here resolves names in the media
 * path), and unknown candidate types.
 */
#ifndef SIPNAT_ICE_CANDIDATE_H
#define SIPNAT_ICE_CANDIDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/addr.h"

#define SN_ICE_FOUNDATION_MAX 32 /* 1*32ice-char */
#define SN_ICE_UFRAG_MIN 4       /* RFC 8839 5.4: 4-256 ice-chars */
#define SN_ICE_PWD_MIN 22        /* 22-256 ice-chars */
#define SN_ICE_CRED_MAX 256
#define SN_ICE_COMPONENT_RTP 1
#define SN_ICE_COMPONENT_RTCP 2

typedef enum sn_ice_ctype {
    SN_ICE_HOST = 0,
    SN_ICE_SRFLX,
    SN_ICE_PRFLX,
    SN_ICE_RELAY,
} sn_ice_ctype;

typedef struct sn_ice_cand {
    char foundation[SN_ICE_FOUNDATION_MAX + 1];
    unsigned component;    /* 1..256 (RFC 8445 5.1.1.1: RTP 1, RTCP 2) */
    uint32_t priority;     /* 1..2^31-1 */
    sn_addr addr;
    uint16_t port;
    sn_ice_ctype type;
    bool has_related;      /* raddr and rport given (both, or neither) */
    sn_addr raddr;
    uint16_t rport;
} sn_ice_cand;

/* The value of an a=candidate attribute (what follows "candidate:"):
 *   <foundation> <component-id> <transport> <priority> <address> <port>
 *   typ <type> [raddr <address>] [rport <port>] *(<name> <value>)
 * 0 and *out filled, or -EBADMSG with a one-line reason in why (may be
 * NULL) for a malformed line, -ENOTSUP for a well-formed one this library
 * does not use (TCP, a name instead of an address). */
int sn_ice_cand_parse(const char *value, sn_ice_cand *out, char *why,
                      size_t why_size);

/* The attribute value for c, as sn_ice_cand_parse() reads it back:
 * its length, or -ENOSPC / -EINVAL. */
int sn_ice_cand_format(const sn_ice_cand *c, char *buf, size_t size);

/* "host", "srflx", "prflx", "relay". */
const char *sn_ice_ctype_name(sn_ice_ctype t);

/* An ice-ufrag or ice-pwd value (RFC 8839 5.4): ice-chars
 * (ALPHA / DIGIT / "+" / "/") of the allowed length. */
bool sn_ice_ufrag_valid(const char *s);
bool sn_ice_pwd_valid(const char *s);

/* RFC 8445 5.1.2.1: (2^24)*type preference + (2^8)*local preference +
 * (256 - component). type_pref 0..126, local_pref 0..65535, component
 * 1..256. */
uint32_t sn_ice_priority(unsigned type_pref, unsigned local_pref,
                         unsigned component);
/* The RFC's recommended type preference: host 126, prflx 110, srflx 100,
 * relay 0. */
unsigned sn_ice_type_pref(sn_ice_ctype t);

#endif
