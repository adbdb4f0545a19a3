/* libsipnat tests - calls: INVITE both ways, offer/answer as it crosses
 * the wire, refusals (488, 400), CANCEL, BYE, hold, and rtp_timeout.
 * The peer is the in-process mock on 127.0.0.1. */
#include "testutil.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "media/crypto_attr.h"
#include "media/rtp.h"
#include "media/srtp.h"

typedef struct call_log {
    int n;
    int states[32];
    int last_state;
    int last_status;
    char last_phrase[128];
    sipnat_session *incoming; /* referenced */
    int answer;               /* 1: answer at once; 2: ring only */
} call_log;

static void on_event(const sipnat_event *ev, void *ud)
{
    call_log *l = ud;

    ck_assert_int_eq(ev->type, SIPNAT_EVENT_SESSION);
    if (l->n < 32)
        l->states[l->n] = ev->state;
    l->n++;
    l->last_state = ev->state;
    l->last_status = ev->status;
    snprintf(l->last_phrase, sizeof l->last_phrase, "%s", ev->phrase);
}

static bool saw(const call_log *l, int state)
{
    for (int i = 0; i < l->n && i < 32; i++)
        if (l->states[i] == state)
            return true;
    return false;
}

static void on_incoming(sipnat_session *s, void *ud)
{
    call_log *l = ud;

    l->incoming = sipnat_session_ref(s);
    ck_assert_ok(sipnat_session_set_event_func(s, on_event, l));
    ck_assert_int_eq(sipnat_session_get_state(s), SIPNAT_SESSION_INCOMING);
    if (l->answer == 1)
        ck_assert_ok(sipnat_session_answer(s));
    else if (l->answer == 2)
        ck_assert_ok(sipnat_session_ring(s));
    else if (l->answer == 3)
        ck_assert_ok(sipnat_session_reject(s, 486));
}

static sipnat_transport *transport(sipnat_ctx *ctx)
{
    sipnat_transport_cfg *cfg;
    sipnat_transport *t;

    ck_assert_ok(sipnat_transport_cfg_new(&cfg));
    ck_assert_ok(sipnat_transport_cfg_set_bind(cfg, "127.0.0.1", 0));
    ck_assert_ok(sipnat_transport_cfg_set_rtp_ports(cfg, 41000, 41999));
    ck_assert_ok(sipnat_transport_new(&t, ctx, cfg));
    sipnat_transport_cfg_free(cfg);
    return t;
}

static sipnat_endpoint *endpoint(sipnat_transport *t, call_log *l, unsigned rtp_timeout)
{
    sipnat_endpoint_cfg *cfg;
    sipnat_endpoint *ep;

    ck_assert_ok(sipnat_endpoint_cfg_new(&cfg));
    ck_assert_ok(sipnat_endpoint_cfg_set_name(cfg, "peer"));
    ck_assert_ok(sipnat_endpoint_cfg_add_match(cfg, "127.0.0.1"));
    ck_assert_ok(sipnat_endpoint_cfg_set_codecs(cfg, "alaw,ulaw"));
    ck_assert_ok(sipnat_endpoint_cfg_set_from(cfg, "19998887777", "example.com"));
    ck_assert_ok(sipnat_endpoint_cfg_set_rtp_timeout(cfg, rtp_timeout));
    if (l)
        ck_assert_ok(sipnat_endpoint_cfg_set_incoming_func(cfg, on_incoming, l));
    ck_assert_ok(sipnat_endpoint_new(&ep, t, cfg));
    sipnat_endpoint_cfg_free(cfg);
    return ep;
}

static const char offer_pcmu[] =
    "v=0\r\no=mock 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
    "m=audio 7000 RTP/AVP 0 8 101\r\na=rtpmap:101 telephone-event/8000\r\n"
    "a=fmtp:101 0-16\r\na=sendrecv\r\n";

/* An INVITE from the mock with `sdp` (NULL: none); its final status. */
static int invite(sipnat_ctx *ctx, mock_peer *peer, int port, const char *call_id,
                  unsigned cseq, const char *to_tag, const char *sdp, int wait_final)
{
    char msg[4096];

    snprintf(msg, sizeof msg,
             "INVITE sip:19998887777@127.0.0.1:%d SIP/2.0\r\n"
             "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-%s-%u;rport\r\n"
             "Max-Forwards: 70\r\n"
             "From: <sip:2025550100@127.0.0.1>;tag=caller\r\n"
             "To: <sip:19998887777@127.0.0.1>%s%s\r\n"
             "Call-ID: %s\r\nCSeq: %u INVITE\r\n"
             "Contact: <sip:2025550100@127.0.0.1:%d>\r\n"
             "%s"
             "Content-Length: %zu\r\n\r\n%s",
             port, peer->port, call_id, cseq, to_tag ? ";tag=" : "", to_tag ? to_tag : "",
             call_id, cseq, peer->port, sdp ? "Content-Type: application/sdp\r\n" : "",
             sdp ? strlen(sdp) : 0, sdp ? sdp : "");
    mock_peer_send_raw(peer, port, msg, call_id);
    for (int k = 0; k < (wait_final ? 150 : 10) && peer->awaited_status == 0; k++)
        run_pull(ctx, peer, NULL, 20);
    return peer->awaited_status;
}

/* The To tag the library gave its answer. */
static void to_tag(const char *resp, char *tag, size_t len)
{
    const char *to = strstr(resp, "\r\nTo: ");
    const char *t = to ? strstr(to, ";tag=") : NULL;

    ck_assert_ptr_nonnull(t);
    snprintf(tag, len, "%.*s", (int)strcspn(t + 5, "\r\n;"), t + 5);
}

static void in_dialog(mock_peer *peer, int port, const char *method, const char *call_id,
                      unsigned cseq, const char *tag)
{
    char msg[2048];

    snprintf(msg, sizeof msg,
             "%s sip:19998887777@127.0.0.1:%d SIP/2.0\r\n"
             "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-%s-%s-%u;rport\r\n"
             "Max-Forwards: 70\r\n"
             "From: <sip:2025550100@127.0.0.1>;tag=caller\r\n"
             "To: <sip:19998887777@127.0.0.1>;tag=%s\r\n"
             "Call-ID: %s\r\nCSeq: %u %s\r\nContent-Length: 0\r\n\r\n",
             method, port, peer->port, method, call_id, cseq, tag, call_id, cseq,
             method);
    mock_peer_send_raw(peer, port, msg, call_id);
}

/* The peer ACKs the 200 that answered its INVITE (cseq 1), then ends the
 * call with a BYE: 200 for the BYE, the session TERMINATED. */
/* The peer hangs up (BYE with CSeq cseq) and the call ends. */
static void bye_at(sipnat_ctx *ctx, mock_peer *peer, int port, const char *call_id,
                   unsigned cseq, const char *tag, call_log *log)
{
    int done = 0;

    in_dialog(peer, port, "BYE", call_id, cseq, tag);
    for (int k = 0; k < 100 && peer->awaited_status == 0; k++)
        run_pull(ctx, peer, NULL, 20);
    ck_assert_int_eq(peer->awaited_status, 200);
    for (int k = 0; k < 50 && log->last_state != SIPNAT_SESSION_TERMINATED; k++)
        run_pull(ctx, peer, &done, 20);
    ck_assert_int_eq(log->last_state, SIPNAT_SESSION_TERMINATED);
}

static void ack_and_bye(sipnat_ctx *ctx, mock_peer *peer, int port, const char *call_id,
                        call_log *log)
{
    char tag[64];
    int done = 0;

    to_tag(peer->last_response, tag, sizeof tag);
    in_dialog(peer, port, "ACK", call_id, 1, tag);
    run_pull(ctx, peer, &done, 50);
    bye_at(ctx, peer, port, call_id, 2, tag, log);
}

/* The end of a test with one incoming call from the mock peer. */
static void teardown(sipnat_session *s, sipnat_endpoint *ep, sipnat_transport *t,
                     sipnat_ctx *ctx, mock_peer *peer)
{
    sipnat_session_unref(s);
    sipnat_endpoint_unref(ep);
    sipnat_transport_unref(t);
    sipnat_ctx_unref(ctx);
    mock_peer_close(peer);
}

START_TEST(test_incoming_call)
{
    sipnat_ctx *ctx;
    mock_peer peer;
    call_log log = {.answer = 1};
    char want[64];

    mock_peer_open(&peer, 0);
    ck_assert_ok(sipnat_ctx_new(&ctx));
    sipnat_transport *t = transport(ctx);
    int port = sipnat_transport_get_port(t);
    sipnat_endpoint *ep = endpoint(t, &log, 0);

    ck_assert_int_eq(invite(ctx, &peer, port, "in-1", 1, NULL, offer_pcmu, 1), 200);
    ck_assert_ptr_nonnull(log.incoming);
    /* Answered from the incoming function: ESTABLISHED, no INCOMING after. */
    ck_assert(!saw(&log, SIPNAT_SESSION_INCOMING));
    ck_assert(saw(&log, SIPNAT_SESSION_ESTABLISHED));
    ck_assert_str_eq(sipnat_session_get_remote_uri(log.incoming), "sip:2025550100@127.0.0.1");
    ck_assert_ptr_eq(sipnat_session_get_endpoint(log.incoming), ep);
    /* Our answer: PCMA is not preferred by the offerer but is ours; the
     * address is ours, the port of the transport's range, even. */
    const char *body = strstr(peer.last_response, "\r\n\r\nv=0");
    ck_assert_ptr_nonnull(body);
    ck_assert_ptr_nonnull(strstr(body, "c=IN IP4 127.0.0.1"));
    const char *m = strstr(body, "m=audio ");
    ck_assert_ptr_nonnull(m);
    int rtp = atoi(m + 8);
    ck_assert_int_ge(rtp, 41000);
    ck_assert_int_le(rtp, 41999);
    ck_assert_int_eq(rtp % 2, 0);
    ck_assert_ptr_nonnull(strstr(m, "RTP/AVP 8 101"));
    snprintf(want, sizeof want, "a=rtcp:%d", rtp + 1);
    ck_assert_ptr_nonnull(strstr(body, want));
    sipnat_anchor *a = sipnat_session_get_anchor(log.incoming);
    ck_assert_ptr_nonnull(a);
    char addr[SIPNAT_ADDRSTRLEN];
    int aport = 0;
    ck_assert_ok(sipnat_anchor_get_local(a, addr, &aport));
    ck_assert_int_eq(aport, rtp);

    /* ACK, then the peer's BYE ends it. */
    ack_and_bye(ctx, &peer, port, "in-1", &log);
    ck_assert_int_eq(sipnat_session_get_state(log.incoming), SIPNAT_SESSION_TERMINATED);

    teardown(log.incoming, ep, t, ctx, &peer);
}
END_TEST

/* An RTP socket of the test on 127.0.0.1: its port, and send n packets
 * of PCMU in sequence from it to `port`. */
static int rtp_socket(int *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);

    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static void rtp_send(int fd, int port, uint16_t seq0, int n)
{
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    unsigned char pkt[172] = {0x80, 0};

    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < n; i++) {
        uint16_t seq = (uint16_t)(seq0 + i);
        pkt[2] = (unsigned char)(seq >> 8);
        pkt[3] = (unsigned char)seq;
        pkt[11] = 0x42; /* SSRC */
        ck_assert_int_eq(sendto(fd, pkt, sizeof pkt, 0, (struct sockaddr *)&to, sizeof to),
                         (ssize_t)sizeof pkt);
    }
}

/* The peer holds, resumes, then moves its media to another port by
 * re-INVITE: events say so, our answers follow RFC 3264, and the anchor
 * latches on the new source (audio keeps flowing). */
START_TEST(test_peer_reinvite)
{
    sipnat_ctx *ctx;
    mock_peer peer;
    call_log log = {.answer = 1};
    char tag[64], offer[512];
    int done = 0, p1, p2;
    sipnat_anchor_stats st = {.size = sizeof st};

    mock_peer_open(&peer, 0);
    ck_assert_ok(sipnat_ctx_new(&ctx));
    sipnat_transport *t = transport(ctx);
    int port = sipnat_transport_get_port(t);
    sipnat_endpoint *ep = endpoint(t, &log, 0);
    int fd1 = rtp_socket(&p1), fd2 = rtp_socket(&p2);

    snprintf(offer, sizeof offer,
             "v=0\r\no=mock 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
             "m=audio %d RTP/AVP 0\r\na=sendrecv\r\n", p1);
    ck_assert_int_eq(invite(ctx, &peer, port, "re-1", 1, NULL, offer, 1), 200);
    to_tag(peer.last_response, tag, sizeof tag);
    int aport = atoi(strstr(strstr(peer.last_response, "\r\n\r\nv=0"), "m=audio ") + 8);
    in_dialog(&peer, port, "ACK", "re-1", 1, tag);
    sipnat_anchor *a = sipnat_session_get_anchor(log.incoming);
    rtp_send(fd1, aport, 100, 10);
    for (int k = 0; k < 10; k++)
        run_pull(ctx, &peer, &done, 20);
    ck_assert_ok(sipnat_anchor_get_stats(a, &st));
    ck_assert_int_eq(st.latched_port, p1);

    /* Hold (sendonly): we answer recvonly. */
    snprintf(offer, sizeof offer,
             "v=0\r\no=mock 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
             "m=audio %d RTP/AVP 0\r\na=sendonly\r\n", p1);
    ck_assert_int_eq(invite(ctx, &peer, port, "re-1", 2, tag, offer, 1), 200);
    ck_assert(saw(&log, SIPNAT_SESSION_HELD));
    ck_assert_ptr_nonnull(strstr(peer.last_response, "a=recvonly"));
    in_dialog(&peer, port, "ACK", "re-1", 2, tag);
    /* Resume. */
    snprintf(offer, sizeof offer,
             "v=0\r\no=mock 1 3 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
             "m=audio %d RTP/AVP 0\r\na=sendrecv\r\n", p1);
    ck_assert_int_eq(invite(ctx, &peer, port, "re-1", 3, tag, offer, 1), 200);
    ck_assert(saw(&log, SIPNAT_SESSION_RESUMED));
    ck_assert_ptr_nonnull(strstr(peer.last_response, "a=sendrecv"));
    in_dialog(&peer, port, "ACK", "re-1", 3, tag);
    /* Move to another port: a new latching window there. */
    snprintf(offer, sizeof offer,
             "v=0\r\no=mock 1 4 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
             "m=audio %d RTP/AVP 0\r\na=sendrecv\r\n", p2);
    ck_assert_int_eq(invite(ctx, &peer, port, "re-1", 4, tag, offer, 1), 200);
    ck_assert(saw(&log, SIPNAT_SESSION_MEDIA_CHANGED));
    in_dialog(&peer, port, "ACK", "re-1", 4, tag);
    uint64_t before = st.rx_packets;
    rtp_send(fd2, aport, 5000, 10);
    for (int k = 0; k < 10; k++)
        run_pull(ctx, &peer, &done, 20);
    ck_assert_ok(sipnat_anchor_get_stats(a, &st));
    ck_assert_int_eq(st.latched_port, p2);
    ck_assert_uint_ge(st.rx_packets, before + 6); /* all but the probation */

    close(fd1);
    close(fd2);
    sipnat_session_hangup(log.incoming);
    for (int k = 0; k < 20; k++)
        run_pull(ctx, &peer, &done, 20);
    teardown(log.incoming, ep, t, ctx, &peer);
}
END_TEST

/* An endpoint for calls from 127.0.0.1 with SDES-SRTP, answering into `log`. */
static sipnat_endpoint *sdes_endpoint(sipnat_transport *t, call_log *log)
{
    sipnat_endpoint_cfg *cfg;
    sipnat_endpoint *ep;

    ck_assert_ok(sipnat_endpoint_cfg_new(&cfg));
    ck_assert_ok(sipnat_endpoint_cfg_set_name(cfg, "itsp"));
    ck_assert_ok(sipnat_endpoint_cfg_add_match(cfg, "127.0.0.1"));
    ck_assert_ok(sipnat_endpoint_cfg_set_media_encryption(cfg, SIPNAT_MEDIA_ENCRYPTION_SDES));
    ck_assert_ok(sipnat_endpoint_cfg_set_incoming_func(cfg, on_incoming, log));
    ck_assert_ok(sipnat_endpoint_new(&ep, t, cfg));
    sipnat_endpoint_cfg_free(cfg);
    return ep;
}

/* The line of `msg` starting with `prefix` ("\r\nContact: "), or "". */
static void line_of(const char *msg, const char *prefix, char *out, size_t size)
{
    const char *p = strstr(msg, prefix);

    out[0] = '\0';
    if (p)
        snprintf(out, size, "%.*s", (int)strcspn(p + 2, "\r\n"), p + 2);
}

/* transport() with a learned policy (no local_net: all outside). */
static sipnat_transport *learned_transport(sipnat_ctx *ctx, sipnat_policy **pol)
{
    sipnat_transport_cfg *cfg;
    sipnat_transport *t;

    ck_assert_ok(sipnat_policy_new(pol, SIPNAT_POLICY_LEARNED));
    ck_assert_ok(sipnat_transport_cfg_new(&cfg));
    ck_assert_ok(sipnat_transport_cfg_set_bind(cfg, "127.0.0.1", 0));
    ck_assert_ok(sipnat_transport_cfg_set_rtp_ports(cfg, 41000, 41999));
    ck_assert_ok(sipnat_transport_cfg_set_policy(cfg, *pol));
    ck_assert_ok(sipnat_transport_new(&t, ctx, cfg));
    sipnat_transport_cfg_free(cfg);
    return t;
}

/* The end of a call on learned_transport(): the wire said what it had
 * to; everything goes. */
static void learned_end(sipnat_session *s, sipnat_endpoint *ep, sipnat_transport *t,
                        sipnat_policy *pol, sipnat_ctx *ctx, mock_peer *peer)
{
    sipnat_session_unref(s);
    sipnat_endpoint_unref(ep);
    sipnat_transport_unref(t);
    sipnat_policy_unref(pol);
    sipnat_ctx_unref(ctx);
    mock_peer_close(peer);
}

static void count_event(const sipnat_event *ev, void *ud)
{
    (void)ev;
    (*(int *)ud)++;
}

/* Our address changes during an SRTP call (the learned policy hears a new
 * received/rport in an OPTIONS answer): the call is re-INVITEd with the
 * new Contact and c=, the same RTP port and the same SDES key (the SRTP
 * streams go on, rollover counters and all); the same answer again sends
 * nothing; a second change sends a second re-INVITE, and the BYE carries
 * the newest Via. */
START_TEST(test_rebind_reinvite)
{
    sipnat_ctx *ctx;
    mock_peer peer;
    call_log log = {0};
    sipnat_session *s;
    sipnat_policy *pol;
    char uri[64], first[4096], line[512], was[512];
    int done = 0, answered = 0;

    mock_peer_open(&peer, 200);
    snprintf(peer.sdp, sizeof peer.sdp,
             "v=0\r\no=mock 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
             "m=audio 7000 RTP/SAVP 0\r\n"
             "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n"
             "a=sendrecv\r\n");
    snprintf(peer.received, sizeof peer.received, "198.51.100.5");
    peer.rport = 41234;
    ck_assert_ok(sipnat_ctx_new(&ctx));
    sipnat_transport *t = learned_transport(ctx, &pol);
    sipnat_endpoint *ep = sdes_endpoint(t, NULL);
    snprintf(uri, sizeof uri, "sip:6001@127.0.0.1:%d", peer.port);
    ck_assert_ok(sipnat_session_call(&s, ep, uri, on_event, &log));
    for (int k = 0; k < 100 && !saw(&log, SIPNAT_SESSION_ESTABLISHED); k++)
        run_pull(ctx, &peer, &done, 20);
    ck_assert(saw(&log, SIPNAT_SESSION_ESTABLISHED));
    ck_assert_uint_eq(peer.n_invite, 1);
    memcpy(first, peer.last_invite, sizeof first);
    ck_assert_ptr_nonnull(strstr(first, "c=IN IP4 127.0.0.1"));

    /* The policy learns the NAT's address: one re-INVITE. */
    snprintf(uri, sizeof uri, "sip:127.0.0.1:%d", peer.port);
    ck_assert_ok(sipnat_transport_send_options(t, uri, count_event, &answered));
    for (int k = 0; k < 100 && !saw(&log, SIPNAT_SESSION_MEDIA_CHANGED); k++)
        run_pull(ctx, &peer, &done, 20);
    ck_assert(saw(&log, SIPNAT_SESSION_MEDIA_CHANGED));
    ck_assert_uint_eq(peer.n_invite, 2);
    line_of(peer.last_invite, "\r\nContact: ", line, sizeof line);
    ck_assert_str_eq(line, "Contact: <sip:198.51.100.5:41234;transport=udp>");
    ck_assert_ptr_nonnull(strstr(peer.last_invite, "\r\nc=IN IP4 198.51.100.5\r\n"));
    ck_assert_ptr_nonnull(strstr(peer.last_invite, "Via: SIP/2.0/UDP 198.51.100.5:41234;rport"));
    line_of(first, "\r\nm=audio ", was, sizeof was);
    line_of(peer.last_invite, "\r\nm=audio ", line, sizeof line);
    ck_assert_str_eq(line, was);   /* the same anchor */
    line_of(first, "\r\na=crypto:1 ", was, sizeof was);
    line_of(peer.last_invite, "\r\na=crypto:1 ", line, sizeof line);
    ck_assert_str_ne(was, "");
    ck_assert_str_eq(line, was);   /* the same key: the SRTP streams go on */
    ck_assert_int_eq(sipnat_session_get_state(s), SIPNAT_SESSION_ESTABLISHED);

    /* The same answer again: nothing to tell the peer. */
    int n = log.n;
    ck_assert_ok(sipnat_transport_send_options(t, uri, count_event, &answered));
    run_pull(ctx, &peer, &done, 400);
    ck_assert_uint_eq(peer.n_invite, 2);
    ck_assert_int_eq(log.n, n);

    /* The NAT remaps us to another port: a second re-INVITE. */
    peer.rport = 41999;
    ck_assert_ok(sipnat_transport_send_options(t, uri, count_event, &answered));
    for (int k = 0; k < 100 && peer.n_invite < 3; k++)
        run_pull(ctx, &peer, &done, 20);
    ck_assert_uint_eq(peer.n_invite, 3);
    line_of(peer.last_invite, "\r\nContact: ", line, sizeof line);
    ck_assert_str_eq(line, "Contact: <sip:198.51.100.5:41999;transport=udp>");
    for (int k = 0; k < 20; k++)
        run_pull(ctx, &peer, &done, 20);

    ck_assert_ok(sipnat_session_hangup(s));
    for (int k = 0; k < 100 && log.last_state != SIPNAT_SESSION_TERMINATED; k++)
        run_pull(ctx, &peer, &done, 20);
    ck_assert_ptr_nonnull(strstr(peer.last_request, "BYE sip:"));
    ck_assert_ptr_nonnull(strstr(peer.last_request, "Via: SIP/2.0/UDP 198.51.100.5:41999;rport"));
    ck_assert_int_eq(answered, 3);
    learned_end(s, ep, t, pol, ctx, &peer);
}
END_TEST

/* SRTP with a key that does not work: the call ends with a clear event
 * (488, "SRTP authentication failed"), not with noise in the audio. */
START_TEST(test_srtp_wrong_key)
{
    sipnat_ctx *ctx;
    mock_peer peer;
    call_log log = {.answer = 1};
    char tag[64], offer[512];
    int done = 0, p1;

    mock_peer_open(&peer, 200);
    ck_assert_ok(sipnat_ctx_new(&ctx));
    sipnat_transport *t = transport(ctx);
    int port = sipnat_transport_get_port(t);
    sipnat_endpoint *ep = sdes_endpoint(t, &log);
    int fd = rtp_socket(&p1);

    snprintf(offer, sizeof offer,
             "v=0\r\no=mock 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
             "m=audio %d RTP/SAVP 0\r\n"
             "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:WVNfX19zZW1jdGwgKCkgewkyMjA7fQp9CnVubGVz\r\n"
             "a=sendrecv\r\n", p1);
    ck_assert_int_eq(invite(ctx, &peer, port, "srtp-1", 1, NULL, offer, 1), 200);
    ck_assert_ptr_nonnull(strstr(peer.last_response, "RTP/SAVP"));
    ck_assert_ptr_nonnull(strstr(peer.last_response, "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:"));
    to_tag(peer.last_response, tag, sizeof tag);
    int aport = atoi(strstr(strstr(peer.last_response, "\r\n\r\nv=0"), "m=audio ") + 8);
    in_dialog(&peer, port, "ACK", "srtp-1", 1, tag);
    /* The peer's packets do not authenticate with the key it offered. */
    rtp_send(fd, aport, 1, 40);
    for (int k = 0; k < 100 && log.last_state != SIPNAT_SESSION_TERMINATED; k++)
        run_pull(ctx, &peer, &done, 20);
    ck_assert_int_eq(log.last_state, SIPNAT_SESSION_TERMINATED);
    ck_assert_int_eq(log.last_status, 488);
    ck_assert_ptr_nonnull(strstr(log.last_phrase, "SRTP authentication failed"));
    for (int k = 0; k < 10; k++)
        run_pull(ctx, &peer, &done, 20);
    ck_assert_ptr_nonnull(strstr(peer.last_request, "BYE sip:"));
    sipnat_anchor_stats st = {.size = sizeof st};
    ck_assert_ok(sipnat_anchor_get_stats(sipnat_session_get_anchor(log.incoming), &st));
    ck_assert_uint_ge(st.dropped_srtp_auth, 16);
    ck_assert_int_eq(st.latched, 0);

    close(fd);
    teardown(log.incoming, ep, t, ctx, &peer);
}
END_TEST

/* The peer's end of an SRTP call: its socket, its sessions. */
typedef struct srtp_peer {
    int fd, port;
    sn_srtp *tx, *rx;
    unsigned heard; /* host audio that arrived and authenticated */
} srtp_peer;

static void count_audio(const int16_t *samples, size_t n, void *user_data)
{
    (void)samples;
    if (n == 160)
        (*(unsigned *)user_data)++;
}

static void srtp_peer_send(srtp_peer *p, int port, uint16_t seq)
{
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    uint8_t pkt[SN_RTP_HEADER + 160 + SN_SRTP_TAILROOM];
    size_t len = SN_RTP_HEADER + 160;

    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sn_rtp_write_header(pkt, 0, false, seq, seq * 160u, 0x5151);
    memset(pkt + SN_RTP_HEADER, 0xd5, 160);
    ck_assert_int_eq(sn_srtp_protect(p->tx, pkt, &len, false), 0);
    ck_assert_int_eq(sendto(p->fd, pkt, len, 0, (struct sockaddr *)&to, sizeof to), (ssize_t)len);
}

static void srtp_peer_recv(srtp_peer *p)
{
    uint8_t buf[2048];
    ssize_t r;

    while ((r = recv(p->fd, buf, sizeof buf, MSG_DONTWAIT)) > 0) {
        size_t len = (size_t)r;
        if (sn_srtp_unprotect(p->rx, buf, &len, false) == 0 && len == SN_RTP_HEADER + 160)
            p->heard++;
    }
}

/* The peer's SRTP call to us (its key, sp's port), answered by the host
 * and ACKed; sp is keyed both ways. *aport: our anchor's RTP port; `offer`
 * (512 bytes) keeps the peer's offer, `ours` (SN_CRYPTO_ATTR_MAX) our
 * answer's crypto attribute. */
static void srtp_call_in(sipnat_ctx *ctx, mock_peer *peer, int port, const char *call_id,
                         srtp_peer *sp, int *aport, char *offer, char *ours)
{
    char tag[64], attr[SN_CRYPTO_ATTR_MAX];
    sn_crypto_key kpeer, kours;

    ck_assert_ok(sn_crypto_key_random(&kpeer, 1, SN_SRTP_AES_CM_128_HMAC_SHA1_80));
    ck_assert_int_gt(sn_crypto_format_attr(&kpeer, attr, sizeof attr), 0);
    snprintf(offer, 512,
             "v=0\r\no=mock 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
             "m=audio %d RTP/SAVP 0\r\na=crypto:%s\r\na=sendrecv\r\n", sp->port, attr);
    ck_assert_int_eq(invite(ctx, peer, port, call_id, 1, NULL, offer, 1), 200);
    const char *c = strstr(peer->last_response, "a=crypto:");
    ck_assert_ptr_nonnull(c);
    snprintf(ours, SN_CRYPTO_ATTR_MAX, "%.*s", (int)strcspn(c + 9, "\r\n"), c + 9);
    ck_assert_ok(sn_crypto_parse_attr(ours, &kours));
    ck_assert_ok(sn_srtp_new(&sp->tx, &kpeer, false));
    ck_assert_ok(sn_srtp_new(&sp->rx, &kours, true));
    to_tag(peer->last_response, tag, sizeof tag);
    *aport = atoi(strstr(strstr(peer->last_response, "\r\n\r\nv=0"), "m=audio ") + 8);
    in_dialog(peer, port, "ACK", call_id, 1, tag);
}

/* Forged SRTP of the peer's stream (its SSRC, sequence numbers ahead,
 * a made-up tag) from a stranger on 127.0.0.2. */
static void forge_from_stranger(int fd, int port, uint16_t seq0, int n)
{
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    uint8_t pkt[SN_RTP_HEADER + 160 + 10];

    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (int i = 0; i < n; i++) {
        sn_rtp_write_header(pkt, 0, false, (uint16_t)(seq0 + i), (seq0 + i) * 160u, 0x5151);
        for (unsigned j = SN_RTP_HEADER; j < sizeof pkt; j++)
            pkt[j] = (uint8_t)(j * 13 + i);
        ck_assert_int_eq(sendto(fd, pkt, sizeof pkt, 0, (struct sockaddr *)&to, sizeof to),
                         (ssize_t)sizeof pkt);
    }
}

/* n packets each way from sequence number seq0 (wrapping): the peer's
 * SRTP to the anchor's port, the host's audio to the peer; with sfd >= 0
 * a stranger forges 5 packets before each of the peer's. */
static void srtp_exchange(sipnat_ctx *ctx, mock_peer *peer, srtp_peer *sp,
                          sipnat_anchor *a, int aport, unsigned seq0, int n, int sfd)
{
    int16_t pcm[160] = {0};
    int done = 0;

    for (int i = 0; i < n; i++) {
        uint16_t seq = (uint16_t)(seq0 + (unsigned)i);
        if (sfd >= 0)
            forge_from_stranger(sfd, aport, seq, 5);
        srtp_peer_send(sp, aport, seq);
        ck_assert_int_eq(sipnat_anchor_send_audio(a, pcm, 160), 1);
        run_pull(ctx, peer, &done, 5);
        srtp_peer_recv(sp);
    }
    for (int k = 0; k < 10; k++)
        run_pull(ctx, peer, &done, 20);
    srtp_peer_recv(sp);
}

/* A stranger spraying forged SRTP at the call's media port,
 * many times the 16 failures that end a call on a wrong key, before and
 * during the call: the call stays up, audio flows both ways, and none
 * of the stranger's packets even reached the crypto. */
START_TEST(test_srtp_stranger)
{
    sipnat_ctx *ctx;
    mock_peer peer;
    call_log log = {.answer = 1};
    char offer[512], answer_attr[SN_CRYPTO_ATTR_MAX];
    int done = 0, sfd;
    unsigned host_heard = 0;
    srtp_peer sp = {0};
    struct sockaddr_in sa = {.sin_family = AF_INET};

    mock_peer_open(&peer, 200);
    ck_assert_ok(sipnat_ctx_new(&ctx));
    sipnat_transport *t = transport(ctx);
    int port = sipnat_transport_get_port(t);
    sipnat_endpoint *ep = sdes_endpoint(t, &log);
    sp.fd = rtp_socket(&sp.port);
    sfd = socket(AF_INET, SOCK_DGRAM, 0);
    ck_assert_int_eq(inet_pton(AF_INET, "127.0.0.2", &sa.sin_addr), 1);
    ck_assert_int_eq(bind(sfd, (struct sockaddr *)&sa, sizeof sa), 0);

    int aport;
    srtp_call_in(ctx, &peer, port, "srtp-s", &sp, &aport, offer, answer_attr);
    sipnat_anchor *a = sipnat_session_get_anchor(log.incoming);
    ck_assert_ok(sipnat_anchor_set_audio_func(a, count_audio, &host_heard));

    /* Before the peer's first packet, then between its packets. */
    forge_from_stranger(sfd, aport, 0, 50);
    srtp_exchange(ctx, &peer, &sp, a, aport, 0, 40, sfd);

    ck_assert(!saw(&log, SIPNAT_SESSION_TERMINATED));
    sipnat_anchor_stats st = {.size = sizeof st};
    ck_assert_ok(sipnat_anchor_get_stats(a, &st));
    ck_assert_int_eq(st.latched, 1);
    ck_assert_int_eq(st.latched_port, sp.port);
    ck_assert_uint_eq(st.dropped_foreign, 50 + 40 * 5);
    ck_assert_uint_eq(st.dropped_srtp_auth, 0);
    ck_assert_uint_eq(st.rx_packets, 40 - 3); /* all but the probation */
    ck_assert_uint_eq(host_heard, 40 - 3);
    ck_assert_uint_eq(sp.heard, 40);          /* the host's audio, every packet */

    sipnat_session_hangup(log.incoming);
    for (int k = 0; k < 20; k++)
        run_pull(ctx, &peer, &done, 20);
    ck_assert_int_eq(log.last_status, 200);
    ck_assert_ptr_nonnull(strstr(peer.last_request, "BYE sip:"));
    sn_srtp_free(sp.tx);
    sn_srtp_free(sp.rx);
    close(sp.fd);
    close(sfd);
    teardown(log.incoming, ep, t, ctx, &peer);
}
END_TEST

/* SRTP across a re-INVITE for our address change: the peer's call (its
 * key, its port) carries audio both ways, the learned address changes
 * (an OPTIONS answer), the library re-INVITEs with the same key and port,
 * and the same SRTP contexts at both ends go on: every packet after the
 * re-INVITE authenticates, both ways (no new key, no reset counters). */
START_TEST(test_rebind_srtp)
{
    sipnat_ctx *ctx;
    mock_peer peer;
    sipnat_policy *pol;
    call_log log = {.answer = 1};
    char offer[512], answer_attr[SN_CRYPTO_ATTR_MAX];
    char uri[64], was[512], line[512];
    int done = 0, answered = 0;
    unsigned host_heard = 0;
    srtp_peer sp = {0};

    mock_peer_open(&peer, 200);
    snprintf(peer.received, sizeof peer.received, "198.51.100.5");
    peer.rport = 41234;
    ck_assert_ok(sipnat_ctx_new(&ctx));
    sipnat_transport *t = learned_transport(ctx, &pol);
    int port = sipnat_transport_get_port(t);
    sipnat_endpoint *ep = sdes_endpoint(t, &log);
    sp.fd = rtp_socket(&sp.port);
    int aport;
    srtp_call_in(ctx, &peer, port, "srtp-r", &sp, &aport, offer, answer_attr);
    sipnat_anchor *a = sipnat_session_get_anchor(log.incoming);
    ck_assert_ok(sipnat_anchor_set_audio_func(a, count_audio, &host_heard));
    /* The peer's sequence numbers wrap before the re-INVITE: its SRTP
     * rollover counter is 1 from then on, which a receiver made anew
     * would not know (and would drop every packet as unauthentic). */
    srtp_exchange(ctx, &peer, &sp, a, aport, 65516, 40, -1);
    ck_assert_uint_eq(host_heard, 40 - 3); /* all but the probation */
    ck_assert_uint_eq(sp.heard, 40);

    /* The NAT's address is learned: our re-INVITE, the peer's answer
     * keeps its key and port. */
    snprintf(peer.sdp, sizeof peer.sdp, "%s", strstr(offer, "v=0"));
    snprintf(uri, sizeof uri, "sip:127.0.0.1:%d", peer.port);
    ck_assert_ok(sipnat_transport_send_options(t, uri, count_event, &answered));
    for (int k = 0; k < 100 && !saw(&log, SIPNAT_SESSION_MEDIA_CHANGED); k++)
        run_pull(ctx, &peer, &done, 20);
    ck_assert(saw(&log, SIPNAT_SESSION_MEDIA_CHANGED));
    ck_assert_uint_eq(peer.n_invite, 1); /* the mock counts what it received */
    ck_assert_ptr_nonnull(strstr(peer.last_invite, "INVITE sip:2025550100@127.0.0.1"));
    ck_assert_ptr_nonnull(strstr(peer.last_invite, "\r\nc=IN IP4 198.51.100.5\r\n"));
    line_of(peer.last_invite, "\r\na=crypto:", line, sizeof line);
    snprintf(was, sizeof was, "a=crypto:%s", answer_attr);
    ck_assert_str_eq(line, was);

    /* The NATs remapped the peer's media too: it now comes from another
     * port. The answered re-INVITE opened a learning window: after the
     * probation the anchor latches there, and the same SRTP streams go
     * on, both ways (every packet authenticates: no new key, no reset
     * rollover counter). */
    int old_fd = sp.fd, moved_port;
    sp.fd = rtp_socket(&moved_port);
    close(old_fd);
    sp.heard = 0;
    srtp_exchange(ctx, &peer, &sp, a, aport, 65516 + 40, 40, -1);
    sipnat_anchor_stats st = {.size = sizeof st};
    ck_assert_ok(sipnat_anchor_get_stats(a, &st));
    ck_assert_uint_eq(st.dropped_srtp_auth, 0);
    ck_assert_int_eq(st.latched_port, moved_port);
    ck_assert_uint_ge(host_heard, 80 - 3 - 4); /* a probation at the new port */
    ck_assert_uint_ge(sp.heard, 30);            /* sent there once latched */
    ck_assert(!saw(&log, SIPNAT_SESSION_TERMINATED));

    sipnat_session_hangup(log.incoming);
    for (int k = 0; k < 20; k++)
        run_pull(ctx, &peer, &done, 20);
    ck_assert_ptr_nonnull(strstr(peer.last_request, "BYE sip:"));
    ck_assert_ptr_nonnull(strstr(peer.last_request, "Via: SIP/2.0/UDP 198.51.100.5:41234;rport"));
    sn_srtp_free(sp.tx);
    sn_srtp_free(sp.rx);
    close(sp.fd);
    learned_end(log.incoming, ep, t, pol, ctx, &peer);
}
END_TEST

/* Two calls bridged with direct_media on both endpoints, neither peer
 * behind a NAT: each peer is re-INVITEd with the other's media address;
 * when one call ends, the other is brought back to its anchor. With
 * direct_media off the bridge relays and nobody is re-INVITEd. */
/* Two outgoing calls from one endpoint to two mock peers, both
 * established; the peers' SDP answers are set between _peers and _start. */
typedef struct two_calls {
    sipnat_ctx *ctx;
    sipnat_transport *t;
    sipnat_endpoint *ep;
    mock_peer pa, pb;
    call_log la, lb;
    sipnat_session *a, *b;
    int done;
} two_calls;

static void two_calls_peers(two_calls *c)
{
    memset(c, 0, sizeof *c);
    mock_peer_open(&c->pa, 200);
    mock_peer_open(&c->pb, 200);
}

static void two_calls_run(two_calls *c, int rounds)
{
    for (int k = 0; k < rounds; k++) {
        run_pull(c->ctx, &c->pa, &c->done, 10);
        run_pull(c->ctx, &c->pb, &c->done, 10);
    }
}

static void two_calls_start(two_calls *c, int direct)
{
    sipnat_endpoint_cfg *cfg;
    char uri[64];

    ck_assert_ok(sipnat_ctx_new(&c->ctx));
    c->t = transport(c->ctx);
    ck_assert_ok(sipnat_endpoint_cfg_new(&cfg));
    ck_assert_ok(sipnat_endpoint_cfg_set_name(cfg, "lan"));
    ck_assert_ok(sipnat_endpoint_cfg_set_direct_media(cfg, direct));
    ck_assert_ok(sipnat_endpoint_new(&c->ep, c->t, cfg));
    sipnat_endpoint_cfg_free(cfg);
    snprintf(uri, sizeof uri, "sip:a@127.0.0.1:%d", c->pa.port);
    ck_assert_ok(sipnat_session_call(&c->a, c->ep, uri, on_event, &c->la));
    snprintf(uri, sizeof uri, "sip:b@127.0.0.1:%d", c->pb.port);
    ck_assert_ok(sipnat_session_call(&c->b, c->ep, uri, on_event, &c->lb));
    for (int k = 0; k < 100 && !(saw(&c->la, SIPNAT_SESSION_ESTABLISHED) &&
                                 saw(&c->lb, SIPNAT_SESSION_ESTABLISHED)); k++)
        two_calls_run(c, 1);
    ck_assert(saw(&c->la, SIPNAT_SESSION_ESTABLISHED) &&
              saw(&c->lb, SIPNAT_SESSION_ESTABLISHED));
}

/* Hang up what is still up and free everything. */
static void two_calls_end(two_calls *c)
{
    sipnat_session_hangup(c->b);
    sipnat_session_hangup(c->a);
    two_calls_run(c, 20);
    sipnat_session_unref(c->a);
    sipnat_session_unref(c->b);
    sipnat_endpoint_unref(c->ep);
    sipnat_transport_unref(c->t);
    sipnat_ctx_unref(c->ctx);
    mock_peer_close(&c->pa);
    mock_peer_close(&c->pb);
}

START_TEST(test_direct_media)
{
    two_calls c;
    char want[64];

    for (int direct = 1; direct >= 0; direct--) {
        two_calls_peers(&c);
        snprintf(c.pa.sdp, sizeof c.pa.sdp,
                 "v=0\r\no=a 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                 "m=audio 7100 RTP/AVP 0\r\na=sendrecv\r\n");
        snprintf(c.pb.sdp, sizeof c.pb.sdp,
                 "v=0\r\no=b 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
                 "m=audio 7200 RTP/AVP 0\r\na=sendrecv\r\n");
        two_calls_start(&c, direct);
        unsigned na = c.pa.n_requests, nb = c.pb.n_requests;
        ck_assert_ok(sipnat_session_bridge(c.a, c.b));
        two_calls_run(&c, 30);
        if (direct) {
            /* a's re-INVITE names b's media, and the reverse. */
            ck_assert(saw(&c.la, SIPNAT_SESSION_MEDIA_CHANGED));
            ck_assert(saw(&c.lb, SIPNAT_SESSION_MEDIA_CHANGED));
            ck_assert_ptr_nonnull(strstr(c.pa.last_invite, "m=audio 7200 RTP/AVP"));
            ck_assert_ptr_nonnull(strstr(c.pb.last_invite, "m=audio 7100 RTP/AVP"));
            /* b hangs up: a is brought back to its anchor. */
            ck_assert_ok(sipnat_session_hangup(c.b));
            two_calls_run(&c, 30);
            int anchor_port = 0;
            char addr[SIPNAT_ADDRSTRLEN];
            ck_assert_ok(sipnat_anchor_get_local(sipnat_session_get_anchor(c.a), addr,
                                                 &anchor_port));
            snprintf(want, sizeof want, "m=audio %d RTP/AVP", anchor_port);
            ck_assert_ptr_nonnull(strstr(c.pa.last_invite, want));
        } else {
            ck_assert_uint_eq(c.pa.n_requests, na); /* nobody re-INVITEd */
            ck_assert_uint_eq(c.pb.n_requests, nb);
            ck_assert(!saw(&c.la, SIPNAT_SESSION_MEDIA_CHANGED));
        }
        two_calls_end(&c);
    }
}
END_TEST

/* -- payload types across a bridge ----------------------------------------- */

static int udp_socket(int *port)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sin;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
    ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
    *port = ntohs(sin.sin_port);
    return fd;
}

/* RTP v2 with payload type pt and an 8-byte payload starting with tag. */
static void send_rtp(int fd, int port, int pt, uint16_t seq, uint32_t ssrc, char tag)
{
    uint8_t p[20] = {0x80, (uint8_t)pt, (uint8_t)(seq >> 8), (uint8_t)seq, 0, 0, 0, 160,
                     (uint8_t)(ssrc >> 24), (uint8_t)(ssrc >> 16), (uint8_t)(ssrc >> 8),
                     (uint8_t)ssrc, (uint8_t)tag, 0x8a, 0, 160, 0, 0, 0, 0};
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};

    ck_assert_int_eq(sendto(fd, p, sizeof p, 0, (struct sockaddr *)&to, sizeof to), 20);
}

/* The payload types of what waits at fd, in order, as a string of
 * "pt/tag " items. */
static void recv_pts(int fd, char *out, size_t size)
{
    uint8_t p[2048];
    ssize_t r;

    out[0] = '\0';
    while ((r = recv(fd, p, sizeof p, 0)) >= 13)
        snprintf(out + strlen(out), size - strlen(out), "%d/%c ", p[1] & 0x7f, p[12]);
}

/* Two calls bridged (direct_media=no) whose peers answered with other
 * numbers for telephone-event: 101 on A's leg, 96 on B's; A answered
 * PCMU (0), B `b_pt` (0: PCMU, the same codec; 8: PCMA, none in common).
 * The events cross the anchor both ways, each leg's wire carrying its own
 * leg's numbers; audio crosses with a common codec, and without one it
 * does not and the sessions say so. */
static void bridged_calls(int b_pt)
{
    two_calls c;
    char addr[SIPNAT_ADDRSTRLEN], got[256];
    int ma, mb, port_a, port_b;
    int fa = udp_socket(&ma), fb = udp_socket(&mb);

    two_calls_peers(&c);
    snprintf(c.pa.sdp, sizeof c.pa.sdp,
             "v=0\r\no=a 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
             "m=audio %d RTP/AVP 0 101\r\na=rtpmap:101 telephone-event/8000\r\n"
             "a=fmtp:101 0-16\r\na=sendrecv\r\n", ma);
    snprintf(c.pb.sdp, sizeof c.pb.sdp,
             "v=0\r\no=b 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
             "m=audio %d RTP/AVP %d 96\r\na=rtpmap:96 telephone-event/8000\r\n"
             "a=fmtp:96 0-16\r\na=sendrecv\r\n", mb, b_pt);
    two_calls_start(&c, 0);
    /* Our offer named telephone-event 101 to both. */
    ck_assert_ptr_nonnull(strstr(c.pb.last_invite, "a=rtpmap:101 telephone-event/8000"));
    ck_assert_ok(sipnat_session_bridge(c.a, c.b));
    ck_assert_ok(sipnat_anchor_get_local(sipnat_session_get_anchor(c.a), addr, &port_a));
    ck_assert_ok(sipnat_anchor_get_local(sipnat_session_get_anchor(c.b), addr, &port_b));

    /* Latch both legs (probation: 4 in sequence), then an event each way. */
    for (uint16_t q = 1; q <= 4; q++) {
        send_rtp(fa, port_a, 0, q, 0xA, 'a');
        send_rtp(fb, port_b, b_pt, q, 0xB, 'b');
    }
    two_calls_run(&c, 3);
    send_rtp(fa, port_a, 0, 5, 0xA, 'a');
    send_rtp(fa, port_a, 101, 6, 0xA, 'A');
    send_rtp(fb, port_b, b_pt, 5, 0xB, 'b');
    send_rtp(fb, port_b, 96 | 0x80, 6, 0xB, 'B');
    two_calls_run(&c, 3);
    recv_pts(fb, got, sizeof got);
    if (b_pt == 0) {
        /* B's wire: A's audio as 0 (the latching packet and one more) and
         * A's event as 96; A's wire: B's audio as 0, B's event as 101. */
        ck_assert_str_eq(got, "0/a 0/a 96/A ");
        recv_pts(fa, got, sizeof got);
        ck_assert_str_eq(got, "0/b 0/b 101/B ");
        ck_assert(!saw(&c.la, SIPNAT_SESSION_NO_COMMON_CODEC));
    } else {
        /* PCMU against PCMA: no audio either way, the events still go,
         * and each call is told once; both stay established. */
        ck_assert_str_eq(got, "96/A ");
        recv_pts(fa, got, sizeof got);
        ck_assert_str_eq(got, "101/B ");
        ck_assert(saw(&c.la, SIPNAT_SESSION_NO_COMMON_CODEC));
        ck_assert(saw(&c.lb, SIPNAT_SESSION_NO_COMMON_CODEC));
        ck_assert_int_eq(c.la.last_status, 488);
        ck_assert_str_eq(c.la.last_phrase, "no codec in common with the bridged call");
        ck_assert_int_eq(sipnat_session_get_state(c.a), SIPNAT_SESSION_ESTABLISHED);
        ck_assert_str_eq(sipnat_session_state_name(SIPNAT_SESSION_NO_COMMON_CODEC),
                         "no-common-codec");
        sipnat_anchor_stats st = {.size = sizeof st};
        ck_assert_ok(sipnat_anchor_get_stats(sipnat_session_get_anchor(c.a), &st));
        ck_assert_uint_eq(st.dropped_payload_type, 2); /* latching packet, one more */
    }
    close(fa);
    close(fb);
    two_calls_end(&c);
}

START_TEST(test_bridge_payload_types)
{
    bridged_calls(0);
    bridged_calls(8);
}
END_TEST

/* An ITSP that challenges our INVITE (407): answered once with the
 * endpoint's outbound_auth for its realm; another realm is not answered. */
/* Run until our call is answered or over (2 s at most). */
static void await_answer(sipnat_ctx *ctx, mock_peer *peer, call_log *log)
{
    int done = 0;

    for (int k = 0; k < 100 && !saw(log, SIPNAT_SESSION_ESTABLISHED) &&
                    log->last_state != SIPNAT_SESSION_TERMINATED; k++)
        run_pull(ctx, peer, &done, 20);
}

/* Hang up, let the BYE or CANCEL go, free everything of one test call. */
static void hang_up_all(sipnat_ctx *ctx, mock_peer *peer, sipnat_session *s,
                        sipnat_endpoint *ep, sipnat_transport *t)
{
    int done = 0;

    sipnat_session_hangup(s);
    for (int k = 0; k < 10; k++)
        run_pull(ctx, peer, &done, 20);
    sipnat_session_unref(s);
    sipnat_endpoint_unref(ep);
    sipnat_transport_unref(t);
    sipnat_ctx_unref(ctx);
    mock_peer_close(peer);
}

START_TEST(test_outbound_auth)
{
    sipnat_ctx *ctx;
    mock_peer peer;
    char uri[64];

    for (int right = 1; right >= 0; right--) {
        call_log log = {0};
        sipnat_session *s;
        sipnat_endpoint_cfg *cfg;
        sipnat_endpoint *ep;

        mock_peer_open(&peer, 0);
        peer.statuses[0] = 407;
        peer.statuses[1] = 200;
        peer.n_statuses = 2;
        snprintf(peer.extra, sizeof peer.extra,
                 "Proxy-Authenticate: Digest realm=\"%s\", nonce=\"n0nce\", algorithm=MD5\r\n",
                 right ? "gw1.example.com" : "elsewhere.example.com");
        snprintf(peer.sdp, sizeof peer.sdp, "%s", offer_pcmu);
        ck_assert_ok(sipnat_ctx_new(&ctx));
        sipnat_transport *t = transport(ctx);
        ck_assert_ok(sipnat_endpoint_cfg_new(&cfg));
        ck_assert_ok(sipnat_endpoint_cfg_set_name(cfg, "sipus"));
        ck_assert_ok(sipnat_endpoint_cfg_set_outbound_auth(cfg, "1112223333", "s3cret",
                                                           "gw1.example.com"));
        ck_assert_ok(sipnat_endpoint_new(&ep, t, cfg));
        sipnat_endpoint_cfg_free(cfg);
        snprintf(uri, sizeof uri, "sip:2025550100@127.0.0.1:%d", peer.port);
        ck_assert_ok(sipnat_session_call(&s, ep, uri, on_event, &log));
        await_answer(ctx, &peer, &log);
        if (right) {
            ck_assert(saw(&log, SIPNAT_SESSION_ESTABLISHED));
            ck_assert_ptr_nonnull(strstr(peer.last_invite,
                                         "Proxy-Authorization: Digest username=\"1112223333\""));
            ck_assert_ptr_nonnull(strstr(peer.last_invite, "realm=\"gw1.example.com\""));
            ck_assert_ptr_nonnull(strstr(peer.last_invite, "m=audio "));
        } else {
            ck_assert_int_eq(log.last_state, SIPNAT_SESSION_TERMINATED);
            ck_assert_int_eq(log.last_status, 407);
            ck_assert_ptr_null(strstr(peer.last_invite, "Proxy-Authorization"));
        }
        hang_up_all(ctx, &peer, s, ep, t);
    }
}
END_TEST

/* A call to the endpoint's aor (no URI): the first contact answers 503,
 * so the INVITE goes to the next contact at once (the seed's aor with
 * gw1 and gw2), and the call is set up there. */
START_TEST(test_aor_contact_failover)
{
    sipnat_ctx *ctx;
    mock_peer peer;
    char c1[64], c2[64];
    call_log log = {0};
    sipnat_session *s;
    sipnat_endpoint_cfg *cfg;
    sipnat_endpoint *ep;

    mock_peer_open(&peer, 0);
    peer.statuses[0] = 503;
    peer.statuses[1] = 200;
    peer.n_statuses = 2;
    snprintf(peer.sdp, sizeof peer.sdp, "%s", offer_pcmu);
    ck_assert_ok(sipnat_ctx_new(&ctx));
    sipnat_transport *t = transport(ctx);
    ck_assert_ok(sipnat_endpoint_cfg_new(&cfg));
    ck_assert_ok(sipnat_endpoint_cfg_set_name(cfg, "sipus"));
    snprintf(c1, sizeof c1, "sip:gw1@127.0.0.1:%d", peer.port);
    snprintf(c2, sizeof c2, "sip:gw2@127.0.0.1:%d", peer.port);
    ck_assert_ok(sipnat_endpoint_cfg_add_contact(cfg, c1));
    ck_assert_ok(sipnat_endpoint_cfg_add_contact(cfg, c2));
    ck_assert_ok(sipnat_endpoint_new(&ep, t, cfg));
    sipnat_endpoint_cfg_free(cfg);
    ck_assert_ok(sipnat_session_call(&s, ep, NULL, on_event, &log));
    await_answer(ctx, &peer, &log);
    ck_assert(saw(&log, SIPNAT_SESSION_ESTABLISHED));
    ck_assert(!saw(&log, SIPNAT_SESSION_TERMINATED));
    /* What the peer received last: the INVITE to the second contact. */
    ck_assert_ptr_nonnull(strstr(peer.last_invite, "INVITE sip:gw2@127.0.0.1"));
    hang_up_all(ctx, &peer, s, ep, t);
}
END_TEST

static int count_state(const call_log *l, int state)
{
    int n = 0;

    for (int i = 0; i < l->n && i < 32; i++)
        n += l->states[i] == state;
    return n;
}

/* Events of an incoming call: INCOMING when the host left it alone, then
 * exactly one TERMINATED however it ends; none of INCOMING when the host
 * rejected it from its incoming function. */
START_TEST(test_incoming_events)
{
    sipnat_ctx *ctx;
    mock_peer peer;
    int done = 0;

    for (int mode = 0; mode <= 3; mode += 3) {
        call_log log = {.answer = mode};
        mock_peer_open(&peer, 0);
        ck_assert_ok(sipnat_ctx_new(&ctx));
        sipnat_transport *t = transport(ctx);
        int port = sipnat_transport_get_port(t);
        sipnat_endpoint *ep = endpoint(t, &log, 0);
        char cid[16];

        snprintf(cid, sizeof cid, "ev-%d", mode);
        invite(ctx, &peer, port, cid, 1, NULL, offer_pcmu, mode == 3);
        if (mode == 0) {
            ck_assert_int_eq(log.states[0], SIPNAT_SESSION_INCOMING);
            ck_assert_ok(sipnat_session_reject(log.incoming, 603));
        }
        for (int k = 0; k < 50; k++)
            run_pull(ctx, &peer, &done, 20);
        ck_assert_int_eq(peer.awaited_status, mode == 3 ? 486 : 603);
        ck_assert_int_eq(count_state(&log, SIPNAT_SESSION_INCOMING), mode == 0);
        ck_assert_int_eq(count_state(&log, SIPNAT_SESSION_TERMINATED), 1);
        ck_assert_int_eq(log.last_state, SIPNAT_SESSION_TERMINATED);
        sipnat_session_unref(log.incoming);
        sipnat_endpoint_unref(ep);
        sipnat_transport_unref(t);
        sipnat_ctx_unref(ctx);
        mock_peer_close(&peer);
    }
}
END_TEST

/* Offers we cannot take are refused with the right status, and nothing
 * is left behind. */
START_TEST(test_bad_offers)
{
    sipnat_ctx *ctx;
    mock_peer peer;
    call_log log = {.answer = 1};

    mock_peer_open(&peer, 0);
    ck_assert_ok(sipnat_ctx_new(&ctx));
    sipnat_transport *t = transport(ctx);
    int port = sipnat_transport_get_port(t);
    sipnat_endpoint *ep = endpoint(t, &log, 0);

    /* No common codec (G.729 only). */
    ck_assert_int_eq(invite(ctx, &peer, port, "bad-1", 1, NULL,
                            "v=0\r\no=m 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
                            "t=0 0\r\nm=audio 7000 RTP/AVP 18\r\n",
                            1),
                     488);
    /* Video only. */
    ck_assert_int_eq(invite(ctx, &peer, port, "bad-2", 1, NULL,
                            "v=0\r\no=m 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
                            "t=0 0\r\nm=video 7000 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n",
                            1),
                     488);
    /* Not SDP at all. */
    int st = invite(ctx, &peer, port, "bad-3", 1, NULL, "this is not a session description", 1);
    ck_assert_msg(st == 400 || st == 488, "status %d", st);
    /* Garbage with NUL-free binary bytes. */
    st = invite(ctx, &peer, port, "bad-4", 1, NULL, "v=0\r\nm=audio 99999999 RTP/AVP 0\r\n\x01\x02", 1);
    ck_assert_msg(st == 400 || st == 488, "status %d", st);
    ck_assert_ptr_null(log.incoming);

    sipnat_endpoint_unref(ep);
    sipnat_transport_unref(t);
    sipnat_ctx_unref(ctx);
    mock_peer_close(&peer);
}
END_TEST

/* The log lines of one domain that hold `needle`: how many, the first two. */
typedef struct log_grep {
    const char *domain, *needle;
    unsigned n;
    char line[2][512];
} log_grep;

static void on_log(sipnat_ctx *ctx, int priority, const char *domain, const char *msg,
                   void *ud)
{
    log_grep *g = ud;

    (void)ctx;
    (void)priority;
    if (strcmp(domain, g->domain) == 0 && strstr(msg, g->needle)) {
        if (g->n < 2)
            snprintf(g->line[g->n], sizeof g->line[0], "%s", msg);
        g->n++;
    }
}

/* An offer with ICE (RFC 8839) from a peer: the candidates this library
 * cannot use (malformed, TCP, an mDNS name) are ignored with one log
 * line, and the call goes on as a plain RTP call (no ICE in the answer:
 * ice_support is off). */
START_TEST(test_ice_offer_without_ice)
{
    static const char offer[] =
        "v=0\r\no=mock 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
        "a=ice-ufrag:F7gI\r\na=ice-pwd:x9cml/YzichV2+XlhiMu8g\r\n"
        "m=audio 7000 RTP/AVP 0 8\r\n"
        "a=candidate:1 1 UDP 2130706431 127.0.0.1 7000 typ host\r\n"
        "a=candidate:2 1 UDP 1694498815 198.51.100.5 7000 typ srflx raddr 127.0.0.1 rport 7000\r\n"
        "a=candidate:3 1 TCP 1010827775 127.0.0.1 9 typ host tcptype active\r\n"
        "a=candidate:4 1 UDP 2130706431 6f1c0a4b-e2b3.local 7000 typ host\r\n"
        "a=candidate:5 1 UDP 99999999999 127.0.0.1 7000 typ host\r\n"
        "a=candidate:garbage\r\n"
        "a=sendrecv\r\n";
    sipnat_ctx *ctx;
    mock_peer peer;
    call_log log = {.answer = 1};
    log_grep il = {.domain = "session", .needle = "ICE attribute"};

    mock_peer_open(&peer, 0);
    ck_assert_ok(sipnat_ctx_new(&ctx));
    ck_assert_ok(sipnat_ctx_set_log_func(ctx, on_log, &il));
    ck_assert_ok(sipnat_ctx_set_log_level(ctx, SIPNAT_LOG_NOTICE));
    sipnat_transport *t = transport(ctx);
    int port = sipnat_transport_get_port(t);
    sipnat_endpoint *ep = endpoint(t, &log, 0);

    ck_assert_int_eq(invite(ctx, &peer, port, "ice-1", 1, NULL, offer, 1), 200);
    ck_assert_ptr_nonnull(log.incoming);
    ck_assert(saw(&log, SIPNAT_SESSION_ESTABLISHED));
    /* One line for the offer: four ignored, the first one's reason. */
    ck_assert_uint_eq(il.n, 1);
    ck_assert_msg(strstr(il.line[0], "4 ICE attributes") && strstr(il.line[0], "TCP"), "%s",
                  il.line[0]);
    const char *body = strstr(peer.last_response, "\r\n\r\nv=0");
    ck_assert_ptr_nonnull(body);
    ck_assert_ptr_nonnull(strstr(body, "m=audio "));
    ck_assert_ptr_null(strstr(body, "a=candidate"));
    ck_assert_ptr_null(strstr(body, "a=ice-"));

    ack_and_bye(ctx, &peer, port, "ice-1", &log);
    teardown(log.incoming, ep, t, ctx, &peer);
}
END_TEST

static sipnat_endpoint *ice_endpoint_srtp(sipnat_transport *t, call_log *l, bool srtp)
{
    sipnat_endpoint_cfg *cfg;
    sipnat_endpoint *ep;

    ck_assert_ok(sipnat_endpoint_cfg_new(&cfg));
    ck_assert_ok(sipnat_endpoint_cfg_set_name(cfg, l ? "callee" : "caller"));
    ck_assert_ok(sipnat_endpoint_cfg_add_match(cfg, "127.0.0.1"));
    ck_assert_ok(sipnat_endpoint_cfg_set_codecs(cfg, "ulaw"));
    ck_assert_ok(sipnat_endpoint_cfg_set_ice(cfg, 1));
    if (srtp)
        ck_assert_ok(
            sipnat_endpoint_cfg_set_media_encryption(cfg, SIPNAT_MEDIA_ENCRYPTION_SDES));
    if (l)
        ck_assert_ok(sipnat_endpoint_cfg_set_incoming_func(cfg, on_incoming, l));
    ck_assert_ok(sipnat_endpoint_new(&ep, t, cfg));
    sipnat_endpoint_cfg_free(cfg);
    return ep;
}

static sipnat_endpoint *ice_endpoint(sipnat_transport *t, call_log *l)
{
    return ice_endpoint_srtp(t, l, false);
}

/* The peer restarts ICE (RFC 8445 9): a re-INVITE with new credentials
 * gets an answer with new credentials of ours too, once; a re-INVITE
 * with the same ones (a hold) keeps them. */
static void ufrag_of(const char *resp, char *out, size_t size)
{
    const char *u = strstr(resp, "a=ice-ufrag:");
    size_t n;

    ck_assert_ptr_nonnull(u);
    u += strlen("a=ice-ufrag:");
    n = strcspn(u, "\r\n");
    ck_assert_uint_lt(n, size);
    memcpy(out, u, n);
    out[n] = '\0';
}

START_TEST(test_ice_restart)
{
    sipnat_ctx *ctx;
    mock_peer peer;
    call_log log = {.answer = 1};
    log_grep il = {.domain = "ice", .needle = "ICE restart"};
    char offer[1024], tag[64], u1[64], u2[64], u3[64];
    int p1;
    int fd1 = rtp_socket(&p1);

    mock_peer_open(&peer, 0);
    ck_assert_ok(sipnat_ctx_new(&ctx));
    ck_assert_ok(sipnat_ctx_set_log_func(ctx, on_log, &il));
    ck_assert_ok(sipnat_ctx_set_log_level(ctx, SIPNAT_LOG_NOTICE));
    sipnat_transport *t = transport(ctx);
    int port = sipnat_transport_get_port(t);
    sipnat_endpoint *ep = ice_endpoint(t, &log);
    static const char *const creds[3][2] = {{"F7gI", "x9cml/YzichV2+XlhiMu8g"},
                                            {"Qw3r", "tYuI0pAsDfGhJkL1zXcVbN"},
                                            {"Qw3r", "tYuI0pAsDfGhJkL1zXcVbN"}};
    char *ufrags[3] = {u1, u2, u3};
    for (unsigned k = 0; k < 3; k++) {
        snprintf(offer, sizeof offer,
                 "v=0\r\no=mock 1 %u IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\n"
                 "t=0 0\r\na=ice-ufrag:%s\r\na=ice-pwd:%s\r\nm=audio %d RTP/AVP 0\r\n"
                 "a=candidate:1 1 UDP 2130706431 127.0.0.1 %d typ host\r\n%s",
                 k + 1, creds[k][0], creds[k][1], p1, p1,
                 k == 2 ? "a=sendonly\r\n" : "a=sendrecv\r\n");
        ck_assert_int_eq(invite(ctx, &peer, port, "icer-1", k + 1, k ? tag : NULL, offer, 1),
                         200);
        if (k == 0)
            to_tag(peer.last_response, tag, sizeof tag);
        ufrag_of(peer.last_response, ufrags[k], 64);
        in_dialog(&peer, port, "ACK", "icer-1", k + 1, tag);
    }
    ck_assert_str_ne(u1, u2);  /* restarted: new credentials of ours */
    ck_assert_str_eq(u2, u3);  /* the same credentials: no restart */
    ck_assert_uint_eq(il.n, 1);
    bye_at(ctx, &peer, port, "icer-1", 4, tag, &log);
    close(fd1);
    teardown(log.incoming, ep, t, ctx, &peer);
}
END_TEST

/* RTCP on the RTP port (RFC 5761) with an ICE endpoint: an offer with
 * a=rtcp-mux is answered with it, and the peer's RTCP on our RTP port is
 * taken as RTCP (counted, its report read), not as malformed RTP; a
 * peer without it keeps RTCP on its own port. */
START_TEST(test_rtcp_mux)
{
    sipnat_ctx *ctx;
    mock_peer peer;
    call_log log = {.answer = 1};
    char offer[1024], tag[64];
    int done = 0, p1;
    int fd1 = rtp_socket(&p1);
    sipnat_anchor_stats st = {.size = sizeof st};
    /* A receiver report (RFC 3550 6.4.2): 30 % lost. */
    unsigned char rr[32] = {0x81, 201, 0x00, 0x07, 0, 0, 0, 0x42, 0, 0, 0, 1, 77};
    struct sockaddr_in to = {.sin_family = AF_INET};

    mock_peer_open(&peer, 0);
    ck_assert_ok(sipnat_ctx_new(&ctx));
    sipnat_transport *t = transport(ctx);
    int port = sipnat_transport_get_port(t);
    sipnat_endpoint *ep = ice_endpoint(t, &log);
    snprintf(offer, sizeof offer,
             "v=0\r\no=mock 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
             "m=audio %d RTP/AVP 0\r\na=rtcp-mux\r\na=sendrecv\r\n", p1);
    ck_assert_int_eq(invite(ctx, &peer, port, "mux-1", 1, NULL, offer, 1), 200);
    const char *body = strstr(peer.last_response, "\r\n\r\nv=0");
    ck_assert_ptr_nonnull(body);
    ck_assert_ptr_nonnull(strstr(body, "a=rtcp-mux"));
    int aport = atoi(strstr(body, "m=audio ") + 8);
    to_tag(peer.last_response, tag, sizeof tag);
    in_dialog(&peer, port, "ACK", "mux-1", 1, tag);
    sipnat_anchor *a = sipnat_session_get_anchor(log.incoming);
    rtp_send(fd1, aport, 100, 10);
    for (int k = 0; k < 5; k++)
        run_pull(ctx, &peer, &done, 20);
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    to.sin_port = htons((uint16_t)aport);
    for (int k = 0; k < 3; k++)
        ck_assert_int_eq(sendto(fd1, rr, sizeof rr, 0, (struct sockaddr *)&to, sizeof to),
                         (ssize_t)sizeof rr);
    for (int k = 0; k < 5; k++)
        run_pull(ctx, &peer, &done, 20);
    ck_assert_ok(sipnat_anchor_get_stats(a, &st));
    ck_assert_uint_eq(st.rx_rtcp_packets, 3);
    ck_assert_uint_eq(st.dropped_malformed, 0);
    ck_assert_int_eq(st.rr_present, 1);
    ck_assert_int_eq(st.rr_fraction_lost, 77);
    ck_assert_uint_ge(st.rx_packets, 6);

    /* Without a=rtcp-mux in the offer: none in the answer. */
    snprintf(offer, sizeof offer,
             "v=0\r\no=mock 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"
             "m=audio %d RTP/AVP 0\r\na=sendrecv\r\n", p1);
    ck_assert_int_eq(invite(ctx, &peer, port, "mux-1", 2, tag, offer, 1), 200);
    ck_assert_ptr_null(strstr(strstr(peer.last_response, "\r\n\r\nv=0"), "a=rtcp-mux"));
    in_dialog(&peer, port, "ACK", "mux-1", 2, tag);
    bye_at(ctx, &peer, port, "mux-1", 3, tag, &log);
    close(fd1);
    teardown(log.incoming, ep, t, ctx, &peer);
}
END_TEST

/* ICE between two libsipnat endpoints on loopback (ice_support on both):
 * each SDP carries credentials and host candidates, the checks select
 * the host pair on both sides (the caller controlling), and audio flows
 * both ways on it; the second run with SDES-SRTP on both, RTCP muxed. */
START_TEST(test_ice_call)
{
    bool srtp = _i == 1;
    sipnat_ctx *ctx;
    call_log la = {0}, lb = {.answer = 1};
    log_grep ic = {.domain = "ice", .needle = "selected pair"};
    sipnat_session *sa;
    char uri[64];
    int16_t tone[160];

    ck_assert_ok(sipnat_ctx_new(&ctx));
    ck_assert_ok(sipnat_ctx_set_log_func(ctx, on_log, &ic));
    ck_assert_ok(sipnat_ctx_set_log_level(ctx, SIPNAT_LOG_NOTICE));
    sipnat_transport *ta = transport(ctx), *tb = transport(ctx);
    sipnat_endpoint *ea = ice_endpoint_srtp(ta, NULL, srtp),
                    *eb = ice_endpoint_srtp(tb, &lb, srtp);
    snprintf(uri, sizeof uri, "sip:b@127.0.0.1:%d", sipnat_transport_get_port(tb));
    ck_assert_ok(sipnat_session_call(&sa, ea, uri, on_event, &la));
    for (int k = 0; k < 250 && !(saw(&la, SIPNAT_SESSION_ESTABLISHED) && ic.n >= 2);
         k++)
        run_pull(ctx, NULL, NULL, 20);
    ck_assert(saw(&la, SIPNAT_SESSION_ESTABLISHED));
    ck_assert_ptr_nonnull(lb.incoming);
    ck_assert_uint_eq(ic.n, 2);
    bool controlling = false, controlled = false;
    for (int i = 0; i < 2; i++) {
        ck_assert_msg(strstr(ic.line[i], "host 127.0.0.1:") &&
                          strstr(ic.line[i], "-> host 127.0.0.1:"),
                      "%s", ic.line[i]);
        controlling |= strstr(ic.line[i], "(controlling)") != NULL;
        controlled |= strstr(ic.line[i], "(controlled)") != NULL;
    }
    ck_assert(controlling && controlled);

    /* 50 frames each way, on the selected pair. */
    for (size_t i = 0; i < 160; i++)
        tone[i] = (int16_t)((i % 20) * 800 - 8000);
    sipnat_anchor *aa = sipnat_session_get_anchor(sa), *ab = sipnat_session_get_anchor(lb.incoming);
    for (int f = 0; f < 50; f++) {
        ck_assert_int_ge(sipnat_anchor_send_audio(aa, tone, 160), 0);
        ck_assert_int_ge(sipnat_anchor_send_audio(ab, tone, 160), 0);
        run_pull(ctx, NULL, NULL, 20);
    }
    run_pull(ctx, NULL, NULL, 100);
    sipnat_anchor_stats st = {.size = sizeof st};
    ck_assert_ok(sipnat_anchor_get_stats(aa, &st));
    ck_assert_uint_ge(st.rx_packets, 45);
    ck_assert_uint_eq(st.dropped_srtp_auth, 0);
    ck_assert_uint_eq(st.dropped_malformed, 0);
    ck_assert_ok(sipnat_anchor_get_stats(ab, &st));
    ck_assert_uint_ge(st.rx_packets, 45);
    ck_assert_uint_eq(st.dropped_srtp_auth, 0);
    ck_assert_uint_eq(st.dropped_malformed, 0);
    /* What arrived was SRTP (a 10-byte tag on 172 bytes) or plain RTP. */
    ck_assert_uint_eq(st.rx_bytes, st.rx_packets * (srtp ? 182u : 172u));

    ck_assert_ok(sipnat_session_hangup(sa));
    for (int k = 0; k < 100 && la.last_state != SIPNAT_SESSION_TERMINATED; k++)
        run_pull(ctx, NULL, NULL, 20);
    ck_assert_int_eq(la.last_state, SIPNAT_SESSION_TERMINATED);
    sipnat_session_unref(sa);
    sipnat_session_unref(lb.incoming);
    sipnat_endpoint_unref(ea);
    sipnat_endpoint_unref(eb);
    sipnat_transport_unref(ta);
    sipnat_transport_unref(tb);
    sipnat_ctx_unref(ctx);
}
END_TEST

/* The caller gives up before we answer. */
START_TEST(test_cancelled)
{
    sipnat_ctx *ctx;
    mock_peer peer;
    call_log log = {.answer = 2};
    char msg[1024];
    int done = 0;

    mock_peer_open(&peer, 0);
    ck_assert_ok(sipnat_ctx_new(&ctx));
    sipnat_transport *t = transport(ctx);
    int port = sipnat_transport_get_port(t);
    sipnat_endpoint *ep = endpoint(t, &log, 0);

    ck_assert_int_eq(invite(ctx, &peer, port, "can-1", 1, NULL, offer_pcmu, 0), 0);
    for (int k = 0; k < 50 && !saw(&log, SIPNAT_SESSION_RINGING); k++)
        run_pull(ctx, &peer, &done, 20);
    ck_assert(saw(&log, SIPNAT_SESSION_RINGING));
    ck_assert_ptr_nonnull(strstr(peer.last_response, "SIP/2.0 180"));
    snprintf(msg, sizeof msg,
             "CANCEL sip:19998887777@127.0.0.1:%d SIP/2.0\r\n"
             "Via: SIP/2.0/UDP 127.0.0.1:%d;branch=z9hG4bK-can-1-1;rport\r\n"
             "Max-Forwards: 70\r\nFrom: <sip:2025550100@127.0.0.1>;tag=caller\r\n"
             "To: <sip:19998887777@127.0.0.1>\r\nCall-ID: can-1\r\nCSeq: 1 CANCEL\r\n"
             "Content-Length: 0\r\n\r\n",
             port, peer.port);
    mock_peer_send_raw(&peer, port, msg, "can-1");
    for (int k = 0; k < 100 && log.last_state != SIPNAT_SESSION_TERMINATED; k++)
        run_pull(ctx, &peer, &done, 20);
    ck_assert_int_eq(log.last_state, SIPNAT_SESSION_TERMINATED);
    ck_assert_int_eq(log.last_status, 487);
    ck_assert_int_eq(sipnat_session_answer(log.incoming), -EALREADY);

    teardown(log.incoming, ep, t, ctx, &peer);
}
END_TEST

/* We call the mock; it answers; we hold, resume and hang up. */
START_TEST(test_outgoing_hold_bye)
{
    sipnat_ctx *ctx;
    mock_peer peer;
    call_log log = {0};
    sipnat_session *s;
    char uri[64];
    int done = 0;

    mock_peer_open(&peer, 200);
    snprintf(peer.sdp, sizeof peer.sdp, "%s", offer_pcmu);
    ck_assert_ok(sipnat_ctx_new(&ctx));
    sipnat_transport *t = transport(ctx);
    sipnat_endpoint *ep = endpoint(t, NULL, 0);
    snprintf(uri, sizeof uri, "sip:6001@127.0.0.1:%d", peer.port);

    ck_assert_ok(sipnat_session_call(&s, ep, uri, on_event, &log));
    ck_assert_int_eq(sipnat_session_get_state(s), SIPNAT_SESSION_CALLING);
    for (int k = 0; k < 100 && !saw(&log, SIPNAT_SESSION_ESTABLISHED); k++)
        run_pull(ctx, &peer, &done, 20);
    ck_assert(saw(&log, SIPNAT_SESSION_ESTABLISHED));
    /* Our offer, as the peer got it: PCMA first (our order), From ours. */
    ck_assert_ptr_nonnull(strstr(peer.last_invite, "From: <sip:19998887777@example.com>"));
    ck_assert_ptr_nonnull(strstr(peer.last_invite, "m=audio "));
    ck_assert_ptr_nonnull(strstr(peer.last_invite, "RTP/AVP 8 0 101"));
    ck_assert_ptr_nonnull(strstr(peer.last_invite, "a=sendrecv"));

    /* The peer answers a hold as RFC 3264 says: recvonly. */
    snprintf(peer.sdp, sizeof peer.sdp, "%s", offer_pcmu);
    memcpy(strstr(peer.sdp, "a=sendrecv"), "a=recvonly", 10);
    ck_assert_ok(sipnat_session_hold(s));
    ck_assert_int_eq(sipnat_session_hold(s), -EBUSY); /* one offer at a time */
    for (int k = 0; k < 100 && !saw(&log, SIPNAT_SESSION_HELD); k++)
        run_pull(ctx, &peer, &done, 20);
    ck_assert(saw(&log, SIPNAT_SESSION_HELD));
    ck_assert_ptr_nonnull(strstr(peer.last_invite, "a=sendonly"));
    ck_assert_int_eq(sipnat_session_get_state(s), SIPNAT_SESSION_ESTABLISHED);
    snprintf(peer.sdp, sizeof peer.sdp, "%s", offer_pcmu);
    ck_assert_ok(sipnat_session_resume(s));
    for (int k = 0; k < 100 && !saw(&log, SIPNAT_SESSION_RESUMED); k++)
        run_pull(ctx, &peer, &done, 20);
    ck_assert(saw(&log, SIPNAT_SESSION_RESUMED));
    ck_assert_ptr_nonnull(strstr(peer.last_invite, "a=sendrecv"));

    ck_assert_ok(sipnat_session_hangup(s));
    for (int k = 0; k < 100 && log.last_state != SIPNAT_SESSION_TERMINATED; k++)
        run_pull(ctx, &peer, &done, 20);
    ck_assert_int_eq(log.last_state, SIPNAT_SESSION_TERMINATED);
    ck_assert_ptr_nonnull(strstr(peer.last_request, "BYE sip:"));

    sipnat_session_unref(s);
    sipnat_endpoint_unref(ep);
    sipnat_transport_unref(t);
    sipnat_ctx_unref(ctx);
    mock_peer_close(&peer);
}
END_TEST

/* A call whose media never comes ends after rtp_timeout, with an event. */
START_TEST(test_rtp_timeout)
{
    sipnat_ctx *ctx;
    mock_peer peer;
    call_log log = {0};
    sipnat_session *s;
    char uri[64];
    int done = 0;

    mock_peer_open(&peer, 200);
    snprintf(peer.sdp, sizeof peer.sdp, "%s", offer_pcmu);
    ck_assert_ok(sipnat_ctx_new(&ctx));
    sipnat_transport *t = transport(ctx);
    sipnat_endpoint *ep = endpoint(t, NULL, 1);
    snprintf(uri, sizeof uri, "sip:6001@127.0.0.1:%d", peer.port);
    ck_assert_ok(sipnat_session_call(&s, ep, uri, on_event, &log));
    for (int k = 0; k < 250 && log.last_state != SIPNAT_SESSION_TERMINATED; k++)
        run_pull(ctx, &peer, &done, 20);
    ck_assert(saw(&log, SIPNAT_SESSION_ESTABLISHED));
    ck_assert_int_eq(log.last_state, SIPNAT_SESSION_TERMINATED);
    ck_assert_int_eq(log.last_status, 408);
    ck_assert_str_eq(log.last_phrase, "RTP timeout");
    for (int k = 0; k < 20; k++)
        run_pull(ctx, &peer, &done, 20);
    ck_assert_ptr_nonnull(strstr(peer.last_request, "BYE sip:"));

    sipnat_session_unref(s);
    sipnat_endpoint_unref(ep);
    sipnat_transport_unref(t);
    sipnat_ctx_unref(ctx);
    mock_peer_close(&peer);
}
END_TEST

START_TEST(test_session_invalid)
{
    sipnat_ctx *ctx;
    sipnat_session *s = (sipnat_session *)1;
    sipnat_endpoint_cfg *cfg;

    ck_assert_ok(sipnat_endpoint_cfg_new(&cfg));
    ck_assert_int_eq(sipnat_endpoint_cfg_set_codecs(cfg, "g729"), -EINVAL);
    ck_assert_int_eq(sipnat_endpoint_cfg_set_codecs(cfg, ""), -EINVAL);
    ck_assert_int_eq(sipnat_endpoint_cfg_set_codecs(NULL, "ulaw"), -EINVAL);
    ck_assert_ok(sipnat_endpoint_cfg_set_codecs(cfg, "ulaw, alaw,ulaw"));
    ck_assert_int_eq(sipnat_endpoint_cfg_set_from(cfg, "a b", NULL), -EINVAL);
    ck_assert_int_eq(sipnat_endpoint_cfg_set_media_address(cfg, "not.an.ip"), -EINVAL);
    ck_assert_int_eq(sipnat_endpoint_cfg_set_rtp_timeout(cfg, 86401), -EINVAL);
    ck_assert_int_eq(sipnat_endpoint_cfg_set_incoming_func(NULL, NULL, NULL), -EINVAL);
    ck_assert_int_eq(sipnat_endpoint_cfg_set_rtp_symmetric(NULL, 1), -EINVAL);
    ck_assert_int_eq(sipnat_endpoint_cfg_set_direct_media(NULL, 1), -EINVAL);
    ck_assert_int_eq(sipnat_endpoint_cfg_set_outbound_auth(cfg, NULL, "p", NULL), -EINVAL);
    ck_assert_int_eq(sipnat_endpoint_cfg_set_outbound_auth(cfg, "u:x", "p", NULL), -EINVAL);
    sipnat_endpoint_cfg_free(cfg);

    ck_assert_ok(sipnat_ctx_new(&ctx));
    sipnat_transport *t = transport(ctx);
    sipnat_endpoint *ep = endpoint(t, NULL, 0);
    ck_assert_int_eq(sipnat_session_call(NULL, ep, "sip:a@127.0.0.1", NULL, NULL), -EINVAL);
    ck_assert_int_eq(sipnat_session_call(&s, NULL, "sip:a@127.0.0.1", NULL, NULL), -EINVAL);
    ck_assert_ptr_null(s);
    ck_assert_int_eq(sipnat_session_call(&s, ep, "http://x", NULL, NULL), -EINVAL);
    /* No URI and no contact to call. */
    ck_assert_int_eq(sipnat_session_call(&s, ep, NULL, NULL, NULL), -ENOENT);
    ck_assert_int_eq(sipnat_session_answer(NULL), -EINVAL);
    ck_assert_int_eq(sipnat_session_ring(NULL), -EINVAL);
    ck_assert_int_eq(sipnat_session_reject(NULL, 486), -EINVAL);
    ck_assert_int_eq(sipnat_session_hangup(NULL), -EINVAL);
    ck_assert_int_eq(sipnat_session_hold(NULL), -EINVAL);
    ck_assert_int_eq(sipnat_session_resume(NULL), -EINVAL);
    ck_assert_int_eq(sipnat_session_bridge(NULL, NULL), -EINVAL);
    ck_assert_int_eq(sipnat_session_set_event_func(NULL, NULL, NULL), -EINVAL);
    ck_assert_int_eq(sipnat_session_get_state(NULL), -EINVAL);
    ck_assert_ptr_null(sipnat_session_get_anchor(NULL));
    ck_assert_ptr_null(sipnat_session_get_endpoint(NULL));
    ck_assert_ptr_null(sipnat_session_get_remote_uri(NULL));
    ck_assert_ptr_null(sipnat_session_ref(NULL));
    ck_assert_ptr_null(sipnat_session_unref(NULL));
    ck_assert_str_eq(sipnat_session_state_name(SIPNAT_SESSION_HELD), "held");
    ck_assert_str_eq(sipnat_session_state_name(99), "unknown");
    /* Not an incoming call: nothing to answer. */
    ck_assert_ok(sipnat_session_call(&s, ep, "sip:a@127.0.0.1:9", NULL, NULL));
    ck_assert_int_eq(sipnat_session_answer(s), -EPROTO);
    ck_assert_int_eq(sipnat_session_reject(s, 200), -EINVAL);
    ck_assert_int_eq(sipnat_session_hold(s), -ENOTCONN);
    ck_assert_int_eq(sipnat_session_bridge(s, s), -EINVAL);
    ck_assert_ok(sipnat_session_hangup(s));
    sipnat_session_unref(s);
    sipnat_endpoint_unref(ep);
    sipnat_transport_unref(t);
    sipnat_ctx_unref(ctx);
}
END_TEST

Suite *session_suite(void)
{
    Suite *s = suite_create("session");
    TCase *tc = tcase_create("session");

    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_incoming_call);
    tcase_add_test(tc, test_bad_offers);
    tcase_add_test(tc, test_ice_offer_without_ice);
    tcase_add_loop_test(tc, test_ice_call, 0, 2);
    tcase_add_test(tc, test_ice_restart);
    tcase_add_test(tc, test_rtcp_mux);
    tcase_add_test(tc, test_peer_reinvite);
    tcase_add_test(tc, test_srtp_wrong_key);
    tcase_add_test(tc, test_srtp_stranger);
    tcase_add_test(tc, test_direct_media);
    tcase_add_test(tc, test_outbound_auth);
    tcase_add_test(tc, test_aor_contact_failover);
    tcase_add_test(tc, test_incoming_events);
    tcase_add_test(tc, test_cancelled);
    tcase_add_test(tc, test_outgoing_hold_bye);
    tcase_add_test(tc, test_rtp_timeout);
    tcase_add_test(tc, test_bridge_payload_types);
    tcase_add_test(tc, test_session_invalid);
    tcase_add_test(tc, test_rebind_reinvite);
    tcase_add_test(tc, test_rebind_srtp);
    suite_add_tcase(s, tc);
    return s;
}
