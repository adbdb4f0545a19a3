#!/usr/bin/env python3
"""RTP end of a lab call: sends a G.711 stream with a recognisable payload
to the address the call's SDP named, and counts what comes back.

    rtpcheck.py --bind IP:PORT --to IP:PORT --tag X [--count N] [--pps 50]
                [--expect-tag Y] [--linger S] [--ssrc HEX] [--start-after S]
                [--latch]

Every packet sent is RTP v2, PT 0, 172 bytes; its payload is the tag byte,
the sequence number (2 bytes) and then bytes derived from the sequence
number, so a receiver can tell a packet of the other end (tag Y) intact
from anything else. Prints one JSON line:
  {"sent":N,"received":N,"intact":N,"foreign":N,"bad":N,"moves":N,
   "sources":[...]}
where "intact" counts packets with the expected tag and payload, "bad"
those with the tag but a damaged payload, "foreign" anything else.
Bounded: it sends --count packets and stops --linger seconds later.
--start-after: listen at once, send only that many seconds later.
--latch: symmetric RTP, as an ITSP does for customers behind NAT: once
RTP arrives, send to where the latest RTP came from; "moves" counts the
changes of address.
"""
import argparse
import json
import select
import socket
import struct
import time


def payload(tag, seq):
    body = bytes((seq * 7 + i) & 0xFF for i in range(157))
    return tag.encode()[:1] + struct.pack("!H", seq & 0xFFFF) + body


def hostport(s):
    host, port = s.rsplit(":", 1)
    return host.strip("[]"), int(port)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bind", required=True)
    ap.add_argument("--to", required=True)
    ap.add_argument("--tag", required=True)
    ap.add_argument("--expect-tag")
    ap.add_argument("--count", type=int, default=150)
    ap.add_argument("--pps", type=int, default=50)
    ap.add_argument("--linger", type=float, default=1.0)
    ap.add_argument("--ssrc", default="")
    # Both ends of a call start sending at the same wall-clock moment, so
    # that neither is still starting up (a loaded machine takes a second
    # or more to start python in a namespace) while the other sends.
    ap.add_argument("--start-at", type=float, default=0.0)
    ap.add_argument("--start-after", type=float, default=0.0)
    ap.add_argument("--latch", action="store_true")
    a = ap.parse_args()
    if not 1 <= a.count <= 100000 or not 1 <= a.pps <= 10000 or \
            not 0 <= a.start_after <= 30:
        ap.error("count, pps or start-after out of range")

    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(hostport(a.bind))
    to = hostport(a.to)
    ssrc = int(a.ssrc, 16) if a.ssrc else (hash(a.tag + a.bind) & 0xFFFFFFFF)
    sent = received = intact = foreign = bad = moves = 0
    sources = {}
    interval = 1.0 / a.pps
    delay = a.start_at - time.time()
    if delay > 30:
        ap.error("--start-at more than 30 s ahead")
    if delay > 0:
        time.sleep(delay)
    start = time.monotonic() + a.start_after
    end = None
    seq = 0
    while True:
        now = time.monotonic()
        if seq < a.count and now >= start + seq * interval:
            hdr = struct.pack("!BBHII", 0x80, 0, seq & 0xFFFF, seq * 160, ssrc)
            s.sendto(hdr + payload(a.tag, seq), to)
            sent += 1
            seq += 1
            if seq == a.count:
                end = time.monotonic() + a.linger
            continue
        if end is not None and now >= end:
            break
        wait = (start + seq * interval - now) if seq < a.count else (end - now)
        r, _, _ = select.select([s], [], [], max(0.0, min(wait, 0.05)))
        if not r:
            continue
        data, src = s.recvfrom(2048)
        received += 1
        if a.latch and len(data) >= 12 and data[0] & 0xC0 == 0x80 and \
                src[:2] != to:
            to = src[:2]
            moves += 1
        key = "%s:%d" % src
        sources[key] = sources.get(key, 0) + 1
        if a.expect_tag and len(data) == 172 and data[0] == 0x80 and \
                data[12:13] == a.expect_tag.encode()[:1]:
            rseq = struct.unpack("!H", data[13:15])[0]
            if data[12:] == payload(a.expect_tag, rseq):
                intact += 1
            else:
                bad += 1
        else:
            foreign += 1
    print(json.dumps({"sent": sent, "received": received, "intact": intact,
                      "foreign": foreign, "bad": bad, "moves": moves,
                      "sources": sorted(sources)}))


if __name__ == "__main__":
    main()
