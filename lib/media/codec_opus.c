/*
 * libsipnat - Opus through libopus (Debian libopus-dev), RFC 7587.
 *
 * SDP names it opus/48000/2 whatever is sent; the RTP clock is 48 kHz. The
 * encoder and decoder run at the host's 8 kHz (libopus codes at 8, 12,
 * 16, 24 or 48 kHz and converts itself), mono: a stereo stream decodes to
 * mono, and we send mono (sprop-stereo=0 in our fmtp). One host sample is
 * six RTP clock ticks.
 */
#include "media/coder.h"

#include <errno.h>
#include <opus.h>

#define OPUS_BITRATE 24000

static void opus_coder_close(sn_coder *c)
{
    opus_encoder_destroy(c->enc);
    opus_decoder_destroy(c->dec);
}

static int opus_coder_open(sn_coder *c)
{
    int err_enc = OPUS_OK, err_dec = OPUS_OK;

    c->enc = opus_encoder_create(SN_CODER_HOST_RATE, 1, OPUS_APPLICATION_VOIP, &err_enc);
    c->dec = opus_decoder_create(SN_CODER_HOST_RATE, 1, &err_dec);
    if (!c->enc || !c->dec || err_enc != OPUS_OK || err_dec != OPUS_OK) {
        opus_coder_close(c);
        return err_enc == OPUS_ALLOC_FAIL || err_dec == OPUS_ALLOC_FAIL ? -ENOMEM : -EIO;
    }
    opus_encoder_ctl(c->enc, OPUS_SET_BITRATE(OPUS_BITRATE));
    return 0;
}

static int opus_coder_encode(sn_coder *c, const int16_t *pcm, size_t n, uint8_t *out,
                    size_t max)
{
    /* Opus frames are 2.5 to 60 ms: 20, 40 and 60 at 8 kHz are 160, 320
     * and 480 samples; other lengths are refused by libopus. */
    int r = opus_encode(c->enc, pcm, (int)n, out, (opus_int32)max);
    return r < 0 ? -EINVAL : r;
}

static int opus_coder_decode(sn_coder *c, const uint8_t *in, size_t len, int16_t *pcm,
                    size_t max)
{
    int r = opus_decode(c->dec, in, (opus_int32)len, pcm, (int)max, 0);
    return r < 0 ? -EBADMSG : r;
}

const sn_coder_ops sn_coder_opus = {
    "opus", 48000, 2, 48000 / SN_CODER_HOST_RATE, opus_coder_open, opus_coder_close, opus_coder_encode,
    opus_coder_decode,
};
