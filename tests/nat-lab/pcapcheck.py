#!/usr/bin/env python3
"""What crossed one interface of the NAT lab, from its capture (stdlib only).

    pcapcheck.py FILE [FILE...]

Reads classic pcap files (tcpdump -w; Ethernet or Linux cooked) and prints
one JSON object:
  "rtp":  {"SRC:PORT>DST:PORT": packets, ...} for RTP (version 2, PT < 72,
          at least 12 bytes, not RTCP) on UDP ports other than 5060 and 3478
  "stun": [{"from": "IP:PORT", "to": "IP:PORT", "class": "request" |
          "success" | "error" | "indication", "mapped": "IP:PORT" or null}]
          (XOR-MAPPED-ADDRESS of success responses decoded)
          "method" (1 Binding, 3 Allocate, 4 Refresh, 6 Send, 7 Data, 8
          CreatePermission, 9 ChannelBind) and "lifetime" (LIFETIME, or null) and "peer"
          (XOR-PEER-ADDRESS, or null)
  "checks": the same for STUN on other ports than 3478 and 5060 (ICE
          connectivity checks on the media ports)
  "channel": {"SRC:PORT>DST:PORT": packets} for TURN ChannelData (RFC 8656
          12.4: first byte 0x40-0x4F) to or from port 3478
  "sip":  number of SIP messages (UDP 5060)
  "lan":  SIP messages naming a LAN address (192.0.2.x, 10.x, 172.16-31.x):
          the packet's addresses, the first line and the lines naming it
  "sdp":  [{"from": ..., "to": ..., "first": first line, "c": address,
          "m": port}] for every SIP message with an SDP body
"""
import json
import re
import struct
import sys

LAN = re.compile(rb"(?<![0-9.])(192\.0\.2\.\d+|10\.\d+\.\d+\.\d+|172\.(1[6-9]|2\d|3[01])\.\d+\.\d+)(?![0-9])")


def packets(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return
    magic = struct.unpack("<I", data[:4])[0]
    endian = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        _, _, incl, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        off += 16
        frame = data[off:off + incl]
        off += incl
        if linktype == 1 and len(frame) >= 14:          # Ethernet
            etype = struct.unpack("!H", frame[12:14])[0]
            ip = frame[14:]
            if etype == 0x8100 and len(frame) >= 18:
                etype = struct.unpack("!H", frame[16:18])[0]
                ip = frame[18:]
        elif linktype == 113 and len(frame) >= 16:      # Linux cooked
            etype = struct.unpack("!H", frame[14:16])[0]
            ip = frame[16:]
        else:
            continue
        if etype != 0x0800 or len(ip) < 20 or ip[9] != 17:
            continue
        ihl = (ip[0] & 15) * 4
        udp = ip[ihl:]
        if len(udp) < 8:
            continue
        sport, dport = struct.unpack("!HH", udp[:4])
        src = "%d.%d.%d.%d" % tuple(ip[12:16])
        dst = "%d.%d.%d.%d" % tuple(ip[16:20])
        yield src, sport, dst, dport, udp[8:]


def stun_info(p):
    if len(p) < 20 or p[0] > 3 or p[4:8] != b"\x21\x12\xa4\x42":
        return None
    mtype = struct.unpack("!H", p[:2])[0]
    cls = ((mtype >> 7) & 2) | ((mtype >> 4) & 1)
    mapped = None
    lifetime = None
    peer = None
    off = 20
    while off + 4 <= len(p):
        atype, alen = struct.unpack("!HH", p[off:off + 4])
        val = p[off + 4:off + 4 + alen]
        if atype == 0x0020 and alen >= 8 and val[1] == 1:
            port = struct.unpack("!H", val[2:4])[0] ^ 0x2112
            addr = bytes(a ^ b for a, b in zip(val[4:8], p[4:8]))
            mapped = "%d.%d.%d.%d:%d" % (tuple(addr) + (port,))
        if atype == 0x0012 and alen >= 8 and val[1] == 1:
            port = struct.unpack("!H", val[2:4])[0] ^ 0x2112
            addr = bytes(a ^ b for a, b in zip(val[4:8], p[4:8]))
            peer = "%d.%d.%d.%d:%d" % (tuple(addr) + (port,))
        if atype == 0x000D and alen == 4:
            lifetime = struct.unpack("!I", val)[0]
        off += 4 + ((alen + 3) & ~3)
    method = (mtype & 0x000F) | ((mtype & 0x00E0) >> 1) | ((mtype & 0x3E00) >> 2)
    return {"class": ["request", "indication", "success", "error"][cls],
            "mapped": mapped, "method": method, "lifetime": lifetime,
            "peer": peer}


def main():
    out = {"rtp": {}, "stun": [], "checks": [], "channel": {}, "sip": 0, "lan": [],
           "sdp": []}
    for path in sys.argv[1:]:
        for src, sport, dst, dport, p in packets(path):
            a, b = "%s:%d" % (src, sport), "%s:%d" % (dst, dport)
            if 5060 in (sport, dport):
                if not p or p[:1] == b"\r":
                    continue  # keep-alive CRLF
                out["sip"] += 1
                first = p.split(b"\r\n", 1)[0].decode("latin-1")
                if LAN.search(p):
                    where = [ln.decode("latin-1") for ln in p.split(b"\r\n") if LAN.search(ln)]
                    out["lan"].append("%s>%s %s: %s" % (a, b, first, " | ".join(where)))
                head, _, body = p.partition(b"\r\n\r\n")
                if body.startswith(b"v=0"):
                    c = re.search(rb"\r?\nc=IN IP4 (\S+)", body)
                    m = re.search(rb"\r?\nm=audio (\d+)", body)
                    out["sdp"].append({"from": a, "to": b, "first": first,
                                       "c": c.group(1).decode() if c else None,
                                       "m": int(m.group(1)) if m else None})
                continue
            if 3478 in (sport, dport) and len(p) >= 4 and 0x40 <= p[0] <= 0x4F:
                key = a + ">" + b
                out["channel"][key] = out["channel"].get(key, 0) + 1
                continue
            s = stun_info(p)
            if s is not None and 3478 in (sport, dport):
                s.update({"from": a, "to": b})
                out["stun"].append(s)
                continue
            if s is not None:
                # STUN on a media port: ICE connectivity checks.
                s.update({"from": a, "to": b})
                out["checks"].append(s)
                continue
            if len(p) >= 12 and p[0] >> 6 == 2 and (p[1] & 0x7F) < 72:
                key = a + ">" + b
                out["rtp"][key] = out["rtp"].get(key, 0) + 1
    print(json.dumps(out))


if __name__ == "__main__":
    main()
