/*
 * libsipnat - G.722 through spandsp (Debian libspandsp-dev).
 *
 * Why spandsp, not libavcodec: a small telephony DSP library whose G.722
 * state is one malloc per direction per call, with a plain int16_t API
 * and an 8 kHz mode that meets the host's audio API as it is; libavcodec
 * brings all of FFmpeg, AVFrame/AVPacket handling per frame, and wants
 * 16 kHz input. In the 8 kHz mode (G722_SAMPLE_RATE_8000) each host
 * sample is one lower-band code (the upper band is coded as silence) and
 * the decoder returns the lower band: a 16 kHz peer hears the 0-4 kHz
 * band, as from any narrowband source. One byte per 1/8000 s, which is
 * also the RTP clock (RFC 3551 4.5.2).
 */
#include "media/coder.h"

#include <errno.h>
#include <spandsp/telephony.h>
#include <spandsp/g722.h>

#define G722_BITRATE 64000

static void g722_coder_close(sn_coder *c)
{
    if (c->enc)
        g722_encode_free(c->enc);
    if (c->dec)
        g722_decode_free(c->dec);
}

static int g722_coder_open(sn_coder *c)
{
    c->enc = g722_encode_init(NULL, G722_BITRATE, G722_SAMPLE_RATE_8000);
    c->dec = g722_decode_init(NULL, G722_BITRATE, G722_SAMPLE_RATE_8000);
    if (!c->enc || !c->dec) {
        g722_coder_close(c);
        return -ENOMEM;
    }
    return 0;
}

static int g722_coder_encode(sn_coder *c, const int16_t *pcm, size_t n, uint8_t *out,
                    size_t max)
{
    if (n > max)
        return -ENOBUFS;
    return g722_encode(c->enc, out, pcm, (int)n);
}

static int g722_coder_decode(sn_coder *c, const uint8_t *in, size_t len, int16_t *pcm,
                    size_t max)
{
    if (len > max)
        len = max;
    return g722_decode(c->dec, pcm, in, (int)len);
}

const sn_coder_ops sn_coder_g722 = {
    "G722", 8000, 1, 1, g722_coder_open, g722_coder_close, g722_coder_encode, g722_coder_decode,
};
