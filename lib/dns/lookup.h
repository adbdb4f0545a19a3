/*
 * libsipnat - one DNS question (name, type) answered from the cache or
 * by c-ares; shared by lib/dns's files only.
 */
#ifndef SIPNAT_DNS_LOOKUP_H
#define SIPNAT_DNS_LOOKUP_H

#include "dns/dns.h"

#define SN_DNS_T_A 1
#define SN_DNS_T_SOA 6
#define SN_DNS_T_AAAA 28
#define SN_DNS_T_SRV 33
#define SN_DNS_T_NAPTR 35

/* Records kept of one answer: a huge SRV set is cut here, before the
 * cache, so one hostile answer costs a bounded amount of memory. */
#define SN_DNS_RR_MAX 32
#define SN_DNS_CACHE_MAX 64
/* A negative answer is kept at most this long (RFC 2308 allows more). */
#define SN_DNS_NEG_TTL_MAX 300u
#define SN_DNS_TTL_MAX 86400u

typedef struct sn_dns_rr {
    sn_addr addr;                      /* A, AAAA */
    unsigned priority, weight, port;   /* SRV */
    unsigned order, preference;        /* NAPTR */
    char flags[8];                     /* NAPTR */
    char service[32];                  /* NAPTR */
    char name[SN_DNS_NAME_MAX];        /* SRV target, NAPTR replacement */
} sn_dns_rr;

typedef struct sn_dns_answer {
    int error;         /* 0 (n may be 0: no such records), or as sn_dns_result */
    unsigned ttl;
    size_t n;
    sn_dns_rr *rr;
} sn_dns_answer;

struct sn_dns;
/* May run before sn_dns_lookup returns (a cached answer); `ans` is valid
 * during the call only. error -ECANCELED: the ctx is going away. */
typedef void (*sn_dns_lookup_cb)(const sn_dns_answer *ans, void *arg);

/* The ctx's resolver, created on first use; NULL when out of memory or
 * c-ares cannot start (logged). */
struct sn_dns *sn_dns_get(sipnat_ctx *ctx);
sipnat_ctx *sn_dns_ctx(struct sn_dns *dns);
bool sn_dns_dying(const struct sn_dns *dns);
void sn_dns_lookup(struct sn_dns *dns, const char *name, int type,
                   sn_dns_lookup_cb cb, void *arg);
uint32_t sn_dns_random(void *dns);

/* The resolver's list of RFC 3263 requests (rfc3263.c's), and their
 * teardown with the ctx. */
struct sn_dns_op **sn_dns_ops_head(struct sn_dns *dns);
void sn_dns_ops_detach_all(struct sn_dns *dns);

#endif
