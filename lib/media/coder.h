/*
 * libsipnat - the audio codecs of the host's own audio (internal): one
 * small interface over G.711 (g711.c), G.722 (codec_g722.c, spandsp) and
 * Opus (codec_opus.c, libopus), so the anchor neither knows nor includes
 * a codec library.
 *
 * The host's side of every codec is the anchor's audio API: 16-bit linear
 * PCM, mono, at SN_CODER_HOST_RATE (8 kHz), whatever the codec's own rate.
 * Each codec meets it at its own rates, without a resampler: libopus
 * encodes and decodes at 8 kHz itself (the RTP clock stays 48 kHz, RFC
 * 7587), spandsp's G.722 has an 8 kHz mode that codes the lower band
 * (0-4 kHz) of the 16 kHz codec, whose RTP clock is 8000 (RFC 3551 4.5.2).
 *
 * A coder is opened once per stream (at offer/answer), never per packet;
 * encode and decode run on caller buffers and do not allocate.
 */
#ifndef SIPNAT_MEDIA_CODER_H
#define SIPNAT_MEDIA_CODER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "media/g711.h"

#define SN_CODER_HOST_RATE 8000

typedef struct sn_coder sn_coder;

typedef struct sn_coder_ops {
    const char *name;        /* SDP encoding name, matched case-insensitively */
    uint32_t clock;          /* RTP clock rate of a=rtpmap */
    uint8_t channels;        /* a=rtpmap encoding parameter */
    unsigned ts_per_sample;  /* RTP clock ticks per host sample */
    /* Set up c->enc and c->dec: 0, or -ENOMEM / -EIO. */
    int (*open)(sn_coder *c);
    void (*close)(sn_coder *c);
    /* n host samples into at most max bytes: the payload length, or < 0. */
    int (*encode)(sn_coder *c, const int16_t *pcm, size_t n, uint8_t *out,
                  size_t max);
    /* A payload into at most max host samples: how many, or < 0 (a
     * payload the decoder refuses: the packet is dropped). */
    int (*decode)(sn_coder *c, const uint8_t *in, size_t len, int16_t *pcm,
                  size_t max);
} sn_coder_ops;

struct sn_coder {
    const sn_coder_ops *ops; /* NULL: no codec */
    void *enc;
    void *dec;
    sn_g711_law law;         /* G.711 only */
};

extern const sn_coder_ops sn_coder_pcmu, sn_coder_pcma, sn_coder_g722,
    sn_coder_opus;

/* The codec of an SDP encoding name and clock rate (0: any rate), or
 * NULL when the host's audio cannot use it. */
const sn_coder_ops *sn_coder_find(const char *name, uint32_t clock);
/* Close c and open it for ops (NULL: leave it closed): 0 or < 0, and c
 * closed on error. */
int sn_coder_open(sn_coder *c, const sn_coder_ops *ops);
void sn_coder_close(sn_coder *c);

static inline int sn_coder_encode(sn_coder *c, const int16_t *pcm, size_t n,
                                  uint8_t *out, size_t max)
{
    return c->ops->encode(c, pcm, n, out, max);
}

static inline int sn_coder_decode(sn_coder *c, const uint8_t *in, size_t len,
                                  int16_t *pcm, size_t max)
{
    return c->ops->decode(c, in, len, pcm, max);
}

#endif
