/* libsipnat tests - shared helpers. */
#include "testutil.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void mock_peer_open(mock_peer *peer, int status)
{
    mock_peer_open_at(peer, status, "127.0.0.1");
}

void mock_peer_open_at(mock_peer *peer, int status, const char *address)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof a;

    memset(peer, 0, sizeof *peer);
    peer->status = status;
    peer->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    ck_assert_int_ge(peer->fd, 0);
    ck_assert_int_eq(inet_pton(AF_INET, address, &a.sin_addr), 1);
    ck_assert_int_eq(bind(peer->fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(getsockname(peer->fd, (struct sockaddr *)&a, &len), 0);
    peer->port = ntohs(a.sin_port);
}

void mock_peer_close(mock_peer *peer)
{
    if (peer->fd >= 0)
        close(peer->fd);
    peer->fd = -1;
}

/* Copy a header line (name matched case-insensitively) into out. */
static void copy_header(const char *req, const char *name, char *out,
                        size_t size, const char *suffix)
{
    size_t nl = strlen(name);
    const char *p = req;

    while ((p = strstr(p, "\r\n")) != NULL) {
        p += 2;
        if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
            const char *end = strstr(p, "\r\n");
            size_t len = end ? (size_t)(end - p) : strlen(p);
            size_t used = strlen(out);
            snprintf(out + used, size - used, "%.*s%s\r\n", (int)len, p,
                     suffix);
        }
    }
}

/* As a server behind a NAT sees it: fill the top Via's rport and add
 * received=, like RFC 3581 says. */
static void via_mark_received(char *resp, size_t size, const char *received,
                              int rport)
{
    char *via = strstr(resp, "\r\nVia: ");
    char *end, *rp, tail[8192];

    if (!via)
        return;
    end = strstr(via + 2, "\r\n");
    rp = strstr(via, ";rport");
    if (!end || !rp || rp > end)
        return;
    /* drop ";rport" or ";rport=N" */
    char *after = rp + 6;
    if (*after == '=')
        while (*after && *after != ';' && *after != '\r')
            after++;
    snprintf(tail, sizeof tail, "%s", after);
    snprintf(rp, size - (size_t)(rp - resp), ";received=%s;rport=%d%s", received,
             rport, tail);
}

int mock_peer_serve(mock_peer *peer)
{
    int answered = 0;

    for (;;) {
        char buf[4096], resp[8192] = "";
        struct sockaddr_storage from;
        socklen_t flen = sizeof from;
        ssize_t n = recvfrom(peer->fd, buf, sizeof buf - 1, 0,
                             (struct sockaddr *)&from, &flen);
        if (n < 0)
            break;
        buf[n] = '\0';
        if (strncmp(buf, "SIP/2.0 ", 8) == 0) {
            peer->n_responses++;
            peer->last_status = atoi(buf + 8);
            memcpy(peer->last_response, buf, (size_t)n + 1);
            if (peer->awaited_call_id[0] && peer->last_status >= 200 &&
                strstr(buf, peer->awaited_call_id))
                peer->awaited_status = peer->last_status;
            continue;
        }
        peer->n_requests++;
        if (strncmp(buf, "REGISTER ", 9) == 0)
            peer->n_register++;
        memcpy(peer->last_request, buf, (size_t)n + 1);
        if (strncmp(buf, "INVITE ", 7) == 0) {
            peer->n_invite++;
            memcpy(peer->last_invite, buf, (size_t)n + 1);
        }
        if (strncmp(buf, "ACK ", 4) == 0)
            continue; /* never answered */
        int status = peer->status;
        if (peer->n_statuses) {
            unsigned i = peer->n_requests - 1;
            status = peer->statuses[i < peer->n_statuses ? i : peer->n_statuses - 1];
        }
        if (!status)
            continue;
        snprintf(resp, sizeof resp, "SIP/2.0 %d %s\r\n", status,
                 status == 200 ? "OK" : "Test Status");
        copy_header(buf, "Via", resp, sizeof resp, "");
        if (peer->received[0])
            via_mark_received(resp, sizeof resp, peer->received,
                              peer->challenge_rport && (status == 401 || status == 407)
                                  ? peer->challenge_rport
                                  : peer->rport);
        copy_header(buf, "From", resp, sizeof resp, "");
        copy_header(buf, "To", resp, sizeof resp, ";tag=mock1");
        copy_header(buf, "Call-ID", resp, sizeof resp, "");
        copy_header(buf, "CSeq", resp, sizeof resp, "");
        if (peer->contact_expires > 0 && status / 100 == 2) {
            char ex[32];
            snprintf(ex, sizeof ex, ";expires=%d", peer->contact_expires);
            copy_header(buf, "Contact", resp, sizeof resp, ex);
        }
        strncat(resp, peer->extra, sizeof resp - strlen(resp) - 1);
        if (peer->sdp[0] && status / 100 == 2 && strncmp(buf, "INVITE ", 7) == 0) {
            size_t l = strlen(resp);
            snprintf(resp + l, sizeof resp - l,
                     "Contact: <sip:mock@127.0.0.1:%d>\r\n"
                     "Content-Type: application/sdp\r\n"
                     "Content-Length: %zu\r\n\r\n%s",
                     peer->port, strlen(peer->sdp), peer->sdp);
        } else {
            strncat(resp, "Content-Length: 0\r\n\r\n", sizeof resp - strlen(resp) - 1);
        }
        sendto(peer->fd, resp, strlen(resp), 0, (struct sockaddr *)&from, flen);
        answered++;
    }
    return answered;
}

void mock_peer_send_request(mock_peer *peer, int port, const char *method,
                            const char *extra_headers, const char *body)
{
    static unsigned seq;
    struct sockaddr_in to = {.sin_family = AF_INET};
    char msg[8192];
    size_t blen = body ? strlen(body) : 0;
    char sent_by[80];

    /* A Via of its own choosing (without rport) tests force_rport. */
    if (peer->via_sent_by[0])
        snprintf(sent_by, sizeof sent_by, "%s", peer->via_sent_by);
    else
        snprintf(sent_by, sizeof sent_by, "127.0.0.1:%d", peer->port);
    seq++;
    snprintf(peer->awaited_call_id, sizeof peer->awaited_call_id,
             "Call-ID: mock-%u@127.0.0.1\r\n", seq);
    peer->awaited_status = 0;
    snprintf(msg, sizeof msg,
             "%s sip:test@127.0.0.1:%d SIP/2.0\r\n"
             "Via: SIP/2.0/UDP %s;branch=z9hG4bK-mock-%u%s\r\n"
             "Max-Forwards: 70\r\n"
             "From: <sip:mock@127.0.0.1:%d>;tag=m%u\r\n"
             "To: <sip:test@127.0.0.1:%d>\r\n"
             "Call-ID: mock-%u@127.0.0.1\r\n"
             "CSeq: 1 %s\r\n"
             "Contact: <sip:mock@127.0.0.1:%d>\r\n"
             "%s"
             "Content-Length: %zu\r\n\r\n%s",
             method, port, sent_by, seq, peer->via_sent_by[0] ? "" : ";rport",
             peer->port, seq, port, seq, method,
             peer->port, extra_headers ? extra_headers : "", blen,
             body ? body : "");
    to.sin_port = htons((uint16_t)port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(sendto(peer->fd, msg, strlen(msg), 0, (struct sockaddr *)&to,
                            sizeof to),
                     (ssize_t)strlen(msg));
}

void mock_peer_send_raw(mock_peer *peer, int port, const char *msg,
                        const char *call_id)
{
    struct sockaddr_in to = {.sin_family = AF_INET};

    snprintf(peer->awaited_call_id, sizeof peer->awaited_call_id,
             "Call-ID: %s\r\n", call_id);
    peer->awaited_status = 0;
    to.sin_port = htons((uint16_t)port);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(sendto(peer->fd, msg, strlen(msg), 0, (struct sockaddr *)&to,
                            sizeof to),
                     (ssize_t)strlen(msg));
}

void record_event(const sipnat_event *ev, void *user_data)
{
    event_log *log = user_data;

    ck_assert_uint_ge(ev->size, sizeof(sipnat_event));
    ck_assert_ptr_nonnull(ev->phrase);
    log->n++;
    log->type = ev->type;
    log->status = ev->status;
    log->error = ev->error;
    snprintf(log->phrase, sizeof log->phrase, "%s", ev->phrase);
    snprintf(log->uri, sizeof log->uri, "%s", ev->uri ? ev->uri : "");
    snprintf(log->method, sizeof log->method, "%s", ev->method ? ev->method : "");
}

int run_pull(sipnat_ctx *ctx, mock_peer *peer, const int *done, int timeout_ms)
{
    long long end = now_ms() + timeout_ms;
    int wakes = 0;

    while ((!done || !*done) && now_ms() < end) {
        struct pollfd p[2] = {{.fd = sipnat_ctx_get_fd(ctx), .events = POLLIN},
                              {.fd = peer ? peer->fd : -1, .events = POLLIN}};
        int t, left = (int)(end - now_ms());

        ck_assert_ok(sipnat_ctx_get_timeout(ctx, &t));
        if (t < 0 || t > left)
            t = left < 0 ? 0 : left;
        int r = poll(p, 2, t);
        ck_assert_int_ge(r, 0);
        if (peer && (p[1].revents & POLLIN))
            mock_peer_serve(peer);
        if (r == 0 && now_ms() >= end)
            break;
        ck_assert_int_ge(sipnat_ctx_process(ctx), 0);
        wakes++;
    }
    return wakes;
}

sipnat_transport *tcp_loopback_transport(sipnat_ctx *ctx)
{
    sipnat_transport_cfg *cfg;
    sipnat_transport *t;

    ck_assert_ok(sipnat_transport_cfg_new(&cfg));
    ck_assert_ok(sipnat_transport_cfg_set_protocol(cfg, SIPNAT_PROTOCOL_TCP));
    ck_assert_ok(sipnat_transport_cfg_set_bind(cfg, "127.0.0.1", 0));
    ck_assert_ok(sipnat_transport_new(&t, ctx, cfg));
    sipnat_transport_cfg_free(cfg);
    return t;
}

void sip_answer_200(const char *req, const char *extra, char *out, size_t size)
{
    static const char *const names[] = {"Via", "From", "To", "Call-ID", "CSeq", "Contact"};

    snprintf(out, size, "SIP/2.0 200 OK\r\n");
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        copy_header(req, names[i], out, size, "");
    snprintf(out + strlen(out), size - strlen(out), "%sContent-Length: 0\r\n\r\n",
             extra ? extra : "");
}

int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    int n = 0;

    ck_assert_ptr_nonnull(d);
    while (readdir(d))
        n++;
    closedir(d);
    return n - 3; /* ".", ".." and the DIR's own fd */
}

int count_threads(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    int n = -1;

    ck_assert_ptr_nonnull(f);
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "Threads: %d", &n) == 1)
            break;
    fclose(f);
    return n;
}
