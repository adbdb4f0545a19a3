/*
 * libsipnat - the SDP text codec (internal): SDP text to an sn_sdesc and
 * back. The only file that uses sofia-sip's SDP parser is sdp.c.
 */
#ifndef SIPNAT_SIP_SDP_H
#define SIPNAT_SIP_SDP_H

#include <stddef.h>

#include "media/mdesc.h"

/* Larger bodies are refused (-EMSGSIZE) before parsing. */
#define SN_SDP_MAX_TEXT 65535

/* Parse `len` bytes of SDP. Returns 0, or:
 *   -EBADMSG   malformed SDP (answer 400 Bad Request): not RFC 4566
 *              syntax, a NUL byte, a line that is not "<letter>=", no v=0
 *              first, no o=, a stream without c=, a port over 65535, an
 *              m= line without formats, an unparsable a=rtcp, a=ptime,
 *              a=maxptime, a=rtpmap or a=crypto;
 *   -EMSGSIZE  larger than SN_SDP_MAX_TEXT, or its text does not fit an
 *              sn_sdesc (answer 488);
 *   -E2BIG     more than SN_SDP_MAX_MEDIA m= lines (answer 488);
 *   -ENOMEM, -EINVAL (NULL text or out).
 * `why` (may be NULL) receives a one-line reason. *out is unspecified on
 * error. */
int sn_sdp_parse(const char *text, size_t len, sn_sdesc *out, char *why,
                 size_t why_len);

/* Print CRLF-terminated SDP into buf: v=, o=, s=, session c=, t=0 0, a
 * session direction only when not sendrecv, then each m= line with its
 * c=, a=rtpmap for every named format (static ones too), a=fmtp, a=ptime,
 * a=maxptime, a=rtcp, a=rtcp-mux, a=crypto, the line's a=ice-ufrag and
 * a=ice-pwd (both or neither), its a=candidate lines, and its direction. A rejected
 * line (port 0) is printed as its m= line alone. Returns the length
 * (without the NUL written after it), -ENOSPC if buf is too small,
 * -EINVAL for a description that cannot be printed (no address for o=,
 * text with CR or LF in it). */
int sn_sdp_print(const sn_sdesc *d, char *buf, size_t len);

/* The SIP status for a failed sn_sdp_parse() or sn_mdesc_answer():
 * 400 (-EBADMSG), 488 (-ENOTSUP, -EMSGSIZE, -E2BIG), 500 otherwise. */
int sn_sdp_status(int err);

#endif
