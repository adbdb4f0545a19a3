#!/usr/bin/env python3
"""Compare what sipnat-phone recorded from an echoing peer with what it
sent. Usage:
  audio-check.py tone HZ RECORDED.wav          dominant frequency within 2 %
                                               (any rate; the first channel)
  audio-check.py wav SENT.wav RECORDED.wav     every sample one G.711 step
                                               from what was sent, in order
  audio-check.py make OUT.wav                  write a test signal (3 s)
"""
import math
import struct
import sys
import wave


def read(path):
    with wave.open(path, "rb") as w:
        if (w.getframerate(), w.getnchannels(), w.getsampwidth()) != (8000, 1, 2):
            sys.exit("%s: not 8 kHz mono 16-bit" % path)
        data = w.readframes(w.getnframes())
    return list(struct.unpack("<%dh" % (len(data) // 2), data))


def read_any(path):
    """(rate, samples of the first channel) of a 16-bit WAV at any rate:
    what a peer records at its codec's rate (48 kHz stereo for Opus)."""
    with wave.open(path, "rb") as w:
        if w.getsampwidth() != 2:
            sys.exit("%s: not 16-bit" % path)
        rate, ch = w.getframerate(), w.getnchannels()
        data = w.readframes(w.getnframes())
    s = struct.unpack("<%dh" % (len(data) // 2), data)
    return rate, list(s[::ch])


def ulaw_step(x):
    """The mu-law quantization step at x's magnitude (G.711: 8 segments
    of 16 steps, the step doubling per segment)."""
    m = min(abs(x), 32635) + 0x84
    exp = max(0, (m >> 7).bit_length() - 1)
    return 1 << (exp + 3)


def within(sent, rec):
    """Did rec come out of sent through one G.711 encode/decode? The
    decoded value sits in the middle of the step that holds the input:
    at most one step away (sign conventions of coders differ by one)."""
    return abs(rec - sent) <= ulaw_step(sent)


def main():
    mode = sys.argv[1]
    if mode == "make":
        n = 3 * 8000
        s = [int(9000 * math.sin(2 * math.pi * 523.25 * i / 8000) +
                 3000 * math.sin(2 * math.pi * 1209 * i / 8000)) for i in range(n)]
        with wave.open(sys.argv[2], "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(8000)
            w.writeframes(struct.pack("<%dh" % n, *s))
        return
    if mode == "tone":
        hz = float(sys.argv[2])
        rate, rec = read_any(sys.argv[3])
        if len(rec) < rate:
            sys.exit("FAIL - recorded %d samples, want at least 1 s" % len(rec))
        body = rec[rate // 10:]
        crossings = sum(1 for a, b in zip(body, body[1:]) if a < 0 <= b)
        f = crossings * float(rate) / len(body)
        ok = abs(f - hz) <= hz * 0.02
        print("%s - recorded %.2f s of audio at %d Hz, %.1f Hz (sent %.1f Hz)"
              % ("ok" if ok else "FAIL", len(rec) / float(rate), rate, f, hz))
        sys.exit(0 if ok else 1)
    if mode == "wav":
        sent, rec = read(sys.argv[2]), read(sys.argv[3])
        if len(rec) < 1600:
            sys.exit("FAIL - recorded only %d samples" % len(rec))
        # The recording starts some whole frames into what was sent (the
        # echo's first packets are the latching probation): find which.
        best, start = None, None
        for off in range(0, len(sent) - 160, 160):
            err = sum(abs(a - b) for a, b in zip(sent[off:off + 160], rec[:160]))
            if best is None or err < best:
                best, start = err, off
        n = min(len(rec), len(sent) - start)
        bad = sum(1 for i in range(n) if not within(sent[start + i], rec[i]))
        exact = sum(1 for i in range(n) if abs(sent[start + i] - rec[i]) <= ulaw_step(sent[start + i]) // 2)
        ok = bad == 0 and n >= 8000
        print("%s - %d samples (%.2f s) recorded from frame %d on; %d outside one "
              "G.711 step of what was sent, %d within half a step"
              % ("ok" if ok else "FAIL", n, n / 8000.0, start // 160, bad, exact))
        sys.exit(0 if ok else 1)
    sys.exit(__doc__)


if __name__ == "__main__":
    main()
