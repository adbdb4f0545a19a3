/*
 * libsipnat - latching of a peer's media source (RTP-bleed safe, the
 * lesson of CVE-2017-14099). Pure decisions on source addresses and
 * sequence numbers; the anchor (anchor.c) applies them.
 *
 * A learning window opens when the anchor is created and whenever the
 * signalling gives a new remote address. In a window, a source is
 * latched once it sent `probation` consecutive in-sequence packets;
 * every packet before that is dropped, so the first packets of a
 * stranger are never relayed. Up to SN_LATCH_CANDIDATES sources are
 * followed at once, so interleaved packets of a stranger cannot keep the
 * real peer from latching. While a window is open, the source latched
 * before it stays accepted (no gap in the audio during a re-INVITE); it
 * is confirmed, and the window closes, when it is still the one sending
 * SN_LATCH_CONFIRM_USEC after the window opened. Outside a window only
 * the latched source is accepted.
 *
 * Hosts: once the signalling names where the peer is (its SDP address and
 * the address its SIP came from, sn_latch_set_hosts), only sources on
 * those hosts may latch, at any port (a NAT changes ports, not the
 * public address of one peer). A stranger spraying RTP at the port can
 * then never win a learning window, whoever sends first.
 *
 * RTCP is accepted only from the latched RTP source's address, and only
 * when its sender SSRC is the SSRC of the latched RTP stream; the first
 * such packet latches the RTCP source (address and port: the RTCP port
 * through a NAT is not RTP + 1), after which only that one is accepted.
 */
#ifndef SIPNAT_MEDIA_LATCH_H
#define SIPNAT_MEDIA_LATCH_H

#include <stdbool.h>
#include <stdint.h>
#include <netinet/in.h>

#define SN_LATCH_CANDIDATES 4
#define SN_LATCH_HOSTS 2
#define SN_LATCH_CONFIRM_USEC 5000000u

/* An IPv4 or IPv6 socket address, as recvmmsg() fills it. */
typedef union sn_sockaddr {
    struct sockaddr sa;
    struct sockaddr_in in;
    struct sockaddr_in6 in6;
} sn_sockaddr;

bool sn_sockaddr_equal(const sn_sockaddr *a, const sn_sockaddr *b);
bool sn_sockaddr_same_host(const sn_sockaddr *a, const sn_sockaddr *b);
int sn_sockaddr_port(const sn_sockaddr *a);

typedef enum sn_latch_verdict {
    SN_LATCH_ACCEPT = 0,  /* from the latched source */
    SN_LATCH_LATCHED,     /* accepted, and this source was latched just now */
    SN_LATCH_LEARNING,    /* dropped: on probation */
    SN_LATCH_FOREIGN,     /* dropped: not the latched source */
    SN_LATCH_FOREIGN_SSRC /* RTCP dropped: sender SSRC is not the latched one */
} sn_latch_verdict;

typedef struct sn_latch_candidate {
    sn_sockaddr src;
    uint16_t seq;
    uint16_t count; /* consecutive in-sequence packets; 0: slot free */
} sn_latch_candidate;

typedef struct sn_latch {
    unsigned probation;
    bool learning;
    bool latched;
    bool rtcp_latched;
    unsigned next_slot;
    uint64_t window_start; /* usec */
    uint32_t ssrc;         /* of the latched RTP stream */
    sn_sockaddr src;       /* latched RTP source */
    sn_sockaddr rtcp_src;  /* latched RTCP source */
    sn_latch_candidate cand[SN_LATCH_CANDIDATES];
    sn_sockaddr hosts[SN_LATCH_HOSTS]; /* allowed source hosts (ports ignored) */
    unsigned n_hosts;                  /* 0: any host may latch */
} sn_latch;

void sn_latch_init(sn_latch *l, unsigned probation, uint64_t now);
/* Only sources on these hosts may latch from now on (n 0: any). */
void sn_latch_set_hosts(sn_latch *l, const sn_sockaddr *hosts, unsigned n);
/* Open a learning window (a new remote address was signalled). */
void sn_latch_open(sn_latch *l, uint64_t now);
sn_latch_verdict sn_latch_rtp(sn_latch *l, const sn_sockaddr *src,
                              uint16_t seq, uint32_t ssrc, uint64_t now);
sn_latch_verdict sn_latch_rtcp(sn_latch *l, const sn_sockaddr *src,
                               uint32_t ssrc);

/* The source check, on the address alone and before anything of the
 * packet is read (or authenticated): false exactly when sn_latch_rtp()
 * / sn_latch_rtcp() would answer SN_LATCH_FOREIGN whatever the packet
 * holds. Changes nothing. */
bool sn_latch_rtp_may_pass(const sn_latch *l, const sn_sockaddr *src);
bool sn_latch_rtcp_may_pass(const sn_latch *l, const sn_sockaddr *src);

/* Whether src speaks for the peer, so that its failed SRTP
 * authentications may count as a wrong key: the latched source (RTCP:
 * the latched RTCP source only, since RTP reveals a wrong key anyway);
 * before anything latched, a source allowed to latch. Sources that pass
 * the check but are not the peer (one on the peer's host while a window
 * is open after a latch, or sending RTCP before the peer's) are
 * strangers. */
bool sn_latch_is_peer(const sn_latch *l, const sn_sockaddr *src, bool rtcp);

#endif
