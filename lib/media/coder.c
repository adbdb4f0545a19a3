/*
 * libsipnat - the codec table and G.711 behind the coder interface.
 */
#include "media/coder.h"

#include <errno.h>
#include <strings.h>

static int g711_open(sn_coder *c)
{
    c->law = c->ops == &sn_coder_pcma ? SN_G711_ALAW : SN_G711_ULAW;
    return 0;
}

static void g711_close(sn_coder *c)
{
    c->law = SN_G711_NONE;
}

static int g711_encode(sn_coder *c, const int16_t *pcm, size_t n, uint8_t *out,
                       size_t max)
{
    if (n > max)
        return -ENOBUFS;
    sn_g711_encode(c->law, pcm, out, n);
    return (int)n;
}

static int g711_decode(sn_coder *c, const uint8_t *in, size_t len, int16_t *pcm,
                       size_t max)
{
    if (len > max)
        len = max;
    sn_g711_decode(c->law, in, pcm, len);
    return (int)len;
}

const sn_coder_ops sn_coder_pcmu = {
    "PCMU", 8000, 1, 1, g711_open, g711_close, g711_encode, g711_decode,
};
const sn_coder_ops sn_coder_pcma = {
    "PCMA", 8000, 1, 1, g711_open, g711_close, g711_encode, g711_decode,
};

const sn_coder_ops *sn_coder_find(const char *name, uint32_t clock)
{
    static const sn_coder_ops *const all[] = {&sn_coder_pcmu, &sn_coder_pcma,
                                              &sn_coder_g722, &sn_coder_opus};

    if (!name)
        return NULL;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strcasecmp(name, all[i]->name) == 0 && (!clock || clock == all[i]->clock))
            return all[i];
    return NULL;
}

void sn_coder_close(sn_coder *c)
{
    if (c->ops)
        c->ops->close(c);
    c->ops = NULL;
    c->enc = c->dec = NULL;
}

int sn_coder_open(sn_coder *c, const sn_coder_ops *ops)
{
    int r;

    sn_coder_close(c);
    if (!ops)
        return 0;
    c->ops = ops;
    r = ops->open(c);
    if (r < 0) {
        c->ops = NULL;
        c->enc = c->dec = NULL;
    }
    return r;
}
