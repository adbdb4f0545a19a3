/* libsipnat fuzzing - helpers the network harnesses share. */
#ifndef SIPNAT_FUZZUTIL_H
#define SIPNAT_FUZZUTIL_H

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>

/* A non-blocking UDP socket bound to ip, port 0; its port in *port. */
static inline int fuzz_udp_socket(const char *ip, int *port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t sl = sizeof sa;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

    if (fd < 0 || inet_pton(AF_INET, ip, &sa.sin_addr) != 1 ||
        bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) < 0)
        abort();
    if (port)
        *port = ntohs(sa.sin_port);
    return fd;
}

/* Read and forget whatever waits on fd. */
static inline void fuzz_drain(int fd)
{
    char buf[4096];

    while (recv(fd, buf, sizeof buf, MSG_DONTWAIT) >= 0)
        ;
}

#endif
