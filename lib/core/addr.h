/*
 * libsipnat - numeric addresses and CIDR blocks (IPv4 and IPv6).
 * Pure functions: no I/O, no allocation, no global state.
 */
#ifndef SIPNAT_CORE_ADDR_H
#define SIPNAT_CORE_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct sn_addr {
    int family;         /* AF_INET or AF_INET6; 0: none */
    uint8_t bytes[16];  /* network order; 4 used for AF_INET */
} sn_addr;

typedef struct sn_cidr {
    sn_addr net;        /* host bits cleared */
    unsigned prefix;    /* 0..32 or 0..128 */
} sn_cidr;

/* A numeric address; IPv6 may come in brackets. 0 or -EINVAL. */
int sn_addr_parse(const char *text, sn_addr *out);
/* Into buf (SIPNAT_ADDRSTRLEN is enough): its length, or -ENOSPC/-EINVAL. */
int sn_addr_format(const sn_addr *a, char *buf, size_t size);
bool sn_addr_equal(const sn_addr *a, const sn_addr *b);
/* From an AF_INET/AF_INET6 sockaddr (port may be NULL): 0 or -EINVAL. */
int sn_addr_from_sockaddr(const struct sockaddr *sa, sn_addr *out, int *port);
/* Into *ss with `port`; returns the sockaddr's length, 0 for no family. */
socklen_t sn_addr_to_sockaddr(const sn_addr *a, int port,
                              struct sockaddr_storage *ss);
/* RFC 1918, loopback, link-local, shared (RFC 6598), ULA: addresses a
 * public server can never have seen us at. */
bool sn_addr_is_private(const sn_addr *a);

/* "192.0.2.0/24", "192.0.2.0/255.255.255.0", "192.0.2.7" (a /32),
 * "2001:db8::/32", "::1". Host bits set in the network part are an
 * error, as a typo there changes what matches. 0 or -EINVAL. */
int sn_cidr_parse(const char *text, sn_cidr *out);
int sn_cidr_format(const sn_cidr *c, char *buf, size_t size);
bool sn_cidr_contains(const sn_cidr *c, const sn_addr *a);

#endif
