/*
 * libsipnat - SIP Outbound flows (RFC 5626) of the UA side: the
 * connection a registration went over, its CRLF keep-alive (section
 * 4.4.1) and the signs that it failed.
 */
#ifndef SIPNAT_SIP_FLOW_H
#define SIPNAT_SIP_FLOW_H

#include "sip/sofia.h"

#include <sys/types.h>

/* A registration's flow: one TCP (or TLS) connection of the stack,
 * named by its fd and the fd's inode (a closed fd's number is soon
 * reused for another socket). */
typedef struct sn_flow {
    int fd;                   /* -1: none */
    ino_t ino;
    bool tls;                 /* no CRLF can be written into the stream */
    char local[SIPNAT_ADDRSTRLEN + 8];  /* "addr:port", for the log */
    char peer[SIPNAT_ADDRSTRLEN + 8];
    uint64_t ping_at;         /* usec of the outstanding ping, 0: none */
    uint64_t rx_at_ping;      /* bytes received when the ping went */
    uint64_t busy_since;      /* usec a ping first waited for bytes in flight */
} sn_flow;

void sn_flow_init(sn_flow *f);
/* The stack's connected stream socket to addr:port: the one that
 * received data last (the response just read). 0 or -ENOENT. */
int sn_flow_find(sn_flow *f, sn_stack *stack, const char *addr, int port, bool tls);
/* Still the same open connection, established? NULL: yes; else why not. */
const char *sn_flow_broken(const sn_flow *f);
/* Write a CRLFCRLF ping (RFC 5626 4.4.1). 0, -EAGAIN (bytes of a message
 * are still unacknowledged: a ping now might land inside it) or the
 * errno of send. TLS: the kernel's keep-alive probes are armed instead
 * (see flow.c) and 0 is returned. */
int sn_flow_ping(sn_flow *f, unsigned interval_s);
/* Has anything arrived on the flow since the ping? */
bool sn_flow_answered(const sn_flow *f);
/* Bytes in flight since a ping first had to wait, `seconds` ago, and
 * not one acknowledgement since: the peer is gone (this stands for the
 * pong of a ping that could not be written). */
bool sn_flow_stalled(const sn_flow *f, unsigned seconds);
/* Shut the connection down so that sofia closes it and opens a new one
 * for the next request (shutdown(2): sofia reads the end and frees its
 * transport; no fd is closed under it). */
void sn_flow_shutdown(sn_flow *f);
/* The connection is gone from the stack (sofia closed it). */
bool sn_flow_closed(const sn_flow *f, sn_stack *stack);

/* The stack's UDP socket bound to `local` (or to the wildcard) and
 * `port`: the one a datagram from local:port leaves by. fd or -ENOENT. */
int sn_flow_udp_socket(sn_stack *stack, const char *local, int port);

/* A "urn:uuid:" instance URN (RFC 4122 version 4) into buf (>= 46). */
void sn_flow_new_instance(char *buf, size_t size);
/* "urn:uuid:" and 36 characters of RFC 4122's form? */
bool sn_flow_instance_ok(const char *urn);

#endif /* SIPNAT_SIP_FLOW_H */
