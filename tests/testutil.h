/* libsipnat tests - shared helpers: an in-process SIP peer on 127.0.0.1
 * and loop drivers for pull and push mode. */
#ifndef SIPNAT_TESTUTIL_H
#define SIPNAT_TESTUTIL_H

#include <check.h>
#include <stdbool.h>
#include <sipnat/sipnat.h>

/* A UDP peer that answers each request with a fixed status. */
typedef struct mock_peer {
    int fd;
    int port;
    int status;              /* status to answer with; 0: never answer */
    char received[48];       /* answers say received=this;rport=rport */
    int rport;
    int challenge_rport;     /* non-zero: the rport of its 401/407 answers */
    int statuses[8];         /* answer the n-th request with statuses[n] */
    unsigned n_statuses;     /* (the last one repeats); 0: use status */
    char extra[512];         /* header lines added to every answer */
    int contact_expires;     /* > 0: echo the Contact with ;expires= */
    unsigned n_register;     /* REGISTER requests seen */
    unsigned n_invite;       /* INVITE requests seen (re-INVITEs too) */
    char via_sent_by[64];    /* sent-by of requests it sends; "" = itself */
    unsigned n_requests;
    unsigned n_responses;
    int last_status;         /* of the last response received */
    char last_response[4096];
    char awaited_call_id[64]; /* of the last mock_peer_send_request() */
    int awaited_status;       /* final status answering it, or 0 */
    char last_request[4096];
    char sdp[1024];          /* body of its 2xx answers to INVITE, or "" */
    char last_invite[4096];  /* the last INVITE it received */
} mock_peer;

void mock_peer_open(mock_peer *peer, int status);
/* The same on another loopback address ("127.0.0.2"): another server. */
void mock_peer_open_at(mock_peer *peer, int status, const char *address);
void mock_peer_close(mock_peer *peer);
/* Read and answer every datagram waiting; returns how many. */
int mock_peer_serve(mock_peer *peer);

/* Send a raw request to 127.0.0.1:port from the peer's socket. */
void mock_peer_send_request(mock_peer *peer, int port, const char *method,
                            const char *extra_headers, const char *body);

/* Send a whole message (CRLFs included) to 127.0.0.1:port; its final
 * response is awaited by `call_id` (the Call-ID header's value). */
void mock_peer_send_raw(mock_peer *peer, int port, const char *msg,
                        const char *call_id);

/* Captured events. */
typedef struct event_log {
    int n;
    sipnat_event_type type;
    int status;
    int error;
    char phrase[128];
    char uri[256];
    char method[32];
} event_log;
void record_event(const sipnat_event *ev, void *user_data);

/* Pull mode: poll the ctx fd (and the peer, if any) until *done != 0 or
 * timeout_ms passes. Returns the number of wake-ups (process calls). */
int run_pull(sipnat_ctx *ctx, mock_peer *peer, const int *done,
             int timeout_ms);

/* A TCP transport on 127.0.0.1, port 0. */
sipnat_transport *tcp_loopback_transport(sipnat_ctx *ctx);

/* A 200 to the request `req` (text, through its blank line): its Via,
 * From, To, Call-ID, CSeq and Contact, then `extra` header lines. */
void sip_answer_200(const char *req, const char *extra, char *out, size_t size);

/* Open fds of this process; threads of this process. */
int count_fds(void);
int count_threads(void);

/* The suites, one per object (check_<object>.c). */
Suite *common_suite(void);
Suite *ctx_suite(void);
Suite *io_suite(void);
Suite *transport_suite(void);
Suite *policy_suite(void);
Suite *fuzz_suite(void);
Suite *registration_suite(void);
Suite *endpoint_suite(void);
Suite *registrar_suite(void);
Suite *session_suite(void);
Suite *stun_calls_suite(void);

#define ck_assert_ok(expr) ck_assert_int_eq((expr), 0)

#endif
