#!/usr/bin/env python3
"""What crossed the wire, from a tcpdump capture (stdlib only).

  pcapsip.py FILE
      One line per IPv4 UDP packet carrying SIP or DNS:
        <seconds> <src>:<port> <dst>:<port> sip <first line of the message>
        <seconds> <src>:<port> <dst>:<port> dns query|answer <TYPE> <name> [rcode=N]
      Seconds are relative to the first packet of the capture. A SIP
      message's full text follows on lines starting with a tab, so a test
      can grep any header of it.
"""
import struct
import sys

TYPES = {1: "A", 5: "CNAME", 28: "AAAA", 33: "SRV", 35: "NAPTR", 6: "SOA"}


def packets(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return
    magic = data[:4]
    endian = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    nano = magic in (b"\x4d\x3c\xb2\xa1", b"\xa1\xb2\x3c\x4d")
    linktype = struct.unpack(endian + "I", data[20:24])[0]
    off = 24
    while off + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack(endian + "IIII", data[off:off + 16])
        off += 16
        pkt = data[off:off + incl]
        off += incl
        t = sec + frac / (1e9 if nano else 1e6)
        if linktype == 1:          # Ethernet
            if len(pkt) < 14 or pkt[12:14] != b"\x08\x00":
                continue
            ip = pkt[14:]
        elif linktype == 113:      # Linux cooked
            if len(pkt) < 16 or pkt[14:16] != b"\x08\x00":
                continue
            ip = pkt[16:]
        elif linktype == 101:      # raw IP
            ip = pkt
        else:
            continue
        if len(ip) < 20 or ip[0] >> 4 != 4 or ip[9] != 17:
            continue
        ihl = (ip[0] & 15) * 4
        udp = ip[ihl:]
        if len(udp) < 8:
            continue
        sport, dport = struct.unpack(">HH", udp[:4])
        src = "%d.%d.%d.%d" % tuple(ip[12:16])
        dst = "%d.%d.%d.%d" % tuple(ip[16:20])
        yield t, src, sport, dst, dport, udp[8:]


def qname(msg, off):
    labels = []
    while off < len(msg) and msg[off] != 0:
        n = msg[off]
        if n & 0xC0:
            return ".".join(labels), off + 2
        labels.append(msg[off + 1:off + 1 + n].decode("ascii", "replace"))
        off += 1 + n
    return ".".join(labels), off + 1


def main():
    start = None
    for t, src, sport, dst, dport, payload in packets(sys.argv[1]):
        if start is None:
            start = t
        head = "%.3f %s:%d %s:%d" % (t - start, src, sport, dst, dport)
        if 53 in (sport, dport) and len(payload) >= 12:
            flags = payload[2]
            name, off = qname(payload, 12)
            qtype = struct.unpack(">H", payload[off:off + 2])[0] if off + 2 <= len(payload) else 0
            print("%s dns %s %s %s rcode=%d" % (head, "answer" if flags & 0x80 else "query",
                                               TYPES.get(qtype, str(qtype)), name,
                                               payload[3] & 15))
            continue
        text = payload.decode("utf-8", "replace")
        if text.startswith("SIP/2.0 ") or " SIP/2.0\r\n" in text.split("\n", 1)[0] + "\n":
            lines = text.split("\r\n")
            print("%s sip %s" % (head, lines[0]))
            for line in lines[1:]:
                if line:
                    print("\t" + line)


if __name__ == "__main__":
    main()
