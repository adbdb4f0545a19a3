/*
 * libsipnat - G.711 (ITU-T) A-law and mu-law companding.
 *
 * Linear samples are 16-bit: the 14-bit (mu-law) or 13-bit (A-law) values
 * of the standard's tables scaled to the full int16_t range, as sound
 * cards and most hosts hand them over. Pure functions, no state.
 */
#ifndef SIPNAT_MEDIA_G711_H
#define SIPNAT_MEDIA_G711_H

#include <stddef.h>
#include <stdint.h>

typedef enum sn_g711_law {
    SN_G711_NONE = 0,
    SN_G711_ULAW = 1, /* PCMU, RTP payload type 0 */
    SN_G711_ALAW = 2  /* PCMA, RTP payload type 8 */
} sn_g711_law;

uint8_t sn_g711_ulaw_encode(int16_t sample);
int16_t sn_g711_ulaw_decode(uint8_t code);
uint8_t sn_g711_alaw_encode(int16_t sample);
int16_t sn_g711_alaw_decode(uint8_t code);

/* Whole frames: n samples to n codes and back. */
void sn_g711_encode(sn_g711_law law, const int16_t *in, uint8_t *out, size_t n);
void sn_g711_decode(sn_g711_law law, const uint8_t *in, int16_t *out, size_t n);

/* "PCMU" or "PCMA" (any case) to a law; SN_G711_NONE for anything else. */
sn_g711_law sn_g711_law_from_name(const char *name);

#endif
