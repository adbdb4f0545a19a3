/*
 * libsipnat - NAT-aware SIP user agent library
 *
 * common.h: export macros, error strings, version and the event record
 * shared by every object.
 */
#ifndef SIPNAT_COMMON_H
#define SIPNAT_COMMON_H

#include <stddef.h>

#if defined(__GNUC__) && __GNUC__ >= 4
#define SIPNAT_API __attribute__((visibility("default")))
#else
#define SIPNAT_API
#endif

#ifdef __cplusplus
#define SIPNAT_BEGIN_DECLS extern "C" {
#define SIPNAT_END_DECLS }
#else
#define SIPNAT_BEGIN_DECLS
#define SIPNAT_END_DECLS
#endif

SIPNAT_BEGIN_DECLS

/* Enough for any numeric IPv4 or IPv6 address and its NUL (INET6_ADDRSTRLEN). */
#define SIPNAT_ADDRSTRLEN 46

/* Log priorities: the syslog(3) numbers, so hosts can pass them through. */
#define SIPNAT_LOG_ERR 3
#define SIPNAT_LOG_WARNING 4
#define SIPNAT_LOG_NOTICE 5
#define SIPNAT_LOG_INFO 6
#define SIPNAT_LOG_DEBUG 7

/* Kinds of event delivered to an event callback. Values never change;
 * new kinds are appended. */
typedef enum sipnat_event_type {
    SIPNAT_EVENT_NONE = 0,
    /* A final response (or a local failure) for a request the host sent,
     * e.g. with sipnat_transport_send_options(). */
    SIPNAT_EVENT_RESPONSE = 1,
    /* A transport finished its asynchronous shutdown. */
    SIPNAT_EVENT_SHUTDOWN = 2,
    /* An outbound registration changed state (or retried). */
    SIPNAT_EVENT_REGISTRATION = 3,
    /* A contact of an endpoint's AOR was added, refreshed, removed or
     * expired, or its qualify result changed (state: sipnat_contact_state). */
    SIPNAT_EVENT_CONTACT = 4,
    /* A call changed state (state: sipnat_session_state). */
    SIPNAT_EVENT_SESSION = 5,
    /* Media of an anchor: latched, timed out, DTMF (state:
     * sipnat_media_state). */
    SIPNAT_EVENT_MEDIA = 6
} sipnat_event_type;

/* An event. Valid only for the duration of the callback that receives it.
 * The record is append-only: check `size` before reading a field added
 * after the one you know the library had when you compiled. */
typedef struct sipnat_event {
    size_t size;            /* sizeof(sipnat_event) of the library */
    sipnat_event_type type;
    int status;             /* SIP status code; 0 when no response came */
    const char *phrase;     /* reason phrase, or a description; never NULL */
    int error;              /* 0, or a negative errno when no response came */
    const char *method;     /* request method ("OPTIONS"), or NULL */
    const char *uri;        /* request URI, or NULL */
    /* SIPNAT_EVENT_REGISTRATION */
    int state;              /* sipnat_registration_state */
    unsigned expires;       /* seconds granted, when registered */
    unsigned retry_after;   /* seconds until the next attempt, or 0 */
    /* SIPNAT_EVENT_CONTACT, _SESSION, _MEDIA */
    const char *name;       /* the endpoint's name, or NULL */
    const char *address;    /* numeric: a contact's packet source, a
                             * latched media source; or NULL */
    int port;
    unsigned rtt_usec;      /* qualify round trip, when reachable */
    char digit;             /* SIPNAT_EVENT_MEDIA DTMF: '0'-'9', '*', '#',
                             * 'A'-'D'; else 0 */
    unsigned duration_ms;   /* DTMF duration */
} sipnat_event;

SIPNAT_API const char *sipnat_strerror(int err);
SIPNAT_API unsigned sipnat_version_num(void);
SIPNAT_API const char *sipnat_version_string(void);
SIPNAT_API const char *sipnat_event_type_name(sipnat_event_type type);

/* Numeric addresses and networks, as every setter of the library takes
 * them: out gets the canonical text (SIPNAT_ADDRSTRLEN bytes, plus 4 for
 * a network's "/128", are enough); returns 4 or 6 (the IP version),
 * -EINVAL or -ENOSPC. */
SIPNAT_API int sipnat_addr_normalize(const char *text, char *out, size_t size);
SIPNAT_API int sipnat_cidr_normalize(const char *text, char *out, size_t size);

SIPNAT_END_DECLS

#endif /* SIPNAT_COMMON_H */
