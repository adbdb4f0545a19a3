/*
 * libsipnat - G.711 companding, computed rather than tabled: each code is
 * a 3-bit segment (exponent) and a 4-bit step inside it. The results are
 * those of the G.711 tables (the unit tests check every code).
 */
#include "media/g711.h"

#include <strings.h>

#define ULAW_BIAS 0x84 /* 33 in 14-bit units, shifted to 16 bits */
#define ULAW_CLIP 8159 /* largest 14-bit magnitude before the bias */

/* The segment of a biased magnitude: index of the first end >= value. */
static unsigned segment(int value, int first_end)
{
    unsigned seg = 0;
    int end = first_end;

    while (seg < 8 && value > end) {
        seg++;
        end = end * 2 + 1;
    }
    return seg;
}

uint8_t sn_g711_ulaw_encode(int16_t sample)
{
    /* 14-bit magnitude; negative values by one's complement, as in the
     * ITU-T reference coder (G.191): -1 is a negative zero. */
    int v = sample < 0 ? (~sample) >> 2 : sample >> 2;
    uint8_t mask = sample < 0 ? 0x7F : 0xFF;
    unsigned seg;

    if (v > ULAW_CLIP)
        v = ULAW_CLIP;
    v += ULAW_BIAS >> 2;
    seg = segment(v, 0x3F);
    if (seg >= 8)
        return (uint8_t)(0x7F ^ mask);
    return (uint8_t)(((seg << 4) | ((unsigned)(v >> (seg + 1)) & 0x0F)) ^ mask);
}

int16_t sn_g711_ulaw_decode(uint8_t code)
{
    unsigned u = (uint8_t)~code;
    int t = (int)(((u & 0x0F) << 3) + ULAW_BIAS) << ((u & 0x70) >> 4);

    return (int16_t)((u & 0x80) ? ULAW_BIAS - t : t - ULAW_BIAS);
}

uint8_t sn_g711_alaw_encode(int16_t sample)
{
    int v = sample >> 3; /* 13-bit */
    uint8_t mask = 0xD5;  /* even bits inverted, sign set: positive */
    unsigned seg;
    unsigned code;

    if (v < 0) {
        v = -v - 1;
        mask = 0x55;
    }
    seg = segment(v, 0x1F);
    if (seg >= 8)
        return (uint8_t)(0x7F ^ mask);
    code = seg << 4;
    code |= (unsigned)(v >> (seg < 2 ? 1 : seg)) & 0x0F;
    return (uint8_t)(code ^ mask);
}

int16_t sn_g711_alaw_decode(uint8_t code)
{
    unsigned a = code ^ 0x55u;
    int t = (int)((a & 0x0F) << 4);
    unsigned seg = (a & 0x70) >> 4;

    if (seg == 0)
        t += 8;
    else
        t = (t + 0x108) << (seg - 1);
    return (int16_t)((a & 0x80) ? t : -t);
}

void sn_g711_encode(sn_g711_law law, const int16_t *in, uint8_t *out, size_t n)
{
    if (law == SN_G711_ALAW)
        for (size_t i = 0; i < n; i++)
            out[i] = sn_g711_alaw_encode(in[i]);
    else
        for (size_t i = 0; i < n; i++)
            out[i] = sn_g711_ulaw_encode(in[i]);
}

void sn_g711_decode(sn_g711_law law, const uint8_t *in, int16_t *out, size_t n)
{
    if (law == SN_G711_ALAW)
        for (size_t i = 0; i < n; i++)
            out[i] = sn_g711_alaw_decode(in[i]);
    else
        for (size_t i = 0; i < n; i++)
            out[i] = sn_g711_ulaw_decode(in[i]);
}

sn_g711_law sn_g711_law_from_name(const char *name)
{
    if (!name)
        return SN_G711_NONE;
    if (strcasecmp(name, "PCMU") == 0)
        return SN_G711_ULAW;
    if (strcasecmp(name, "PCMA") == 0)
        return SN_G711_ALAW;
    return SN_G711_NONE;
}
