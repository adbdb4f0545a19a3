#!/usr/bin/env python3
"""No-leak check of a NAT-lab capture: no private address in any SIP
message that crossed a router, judged from the wire.

    wirecheck.py --wan IP --lan CIDR [--lan CIDR]... [--private CIDR]...
                 [--name NAME] FILE.pcap

FILE.pcap is a capture of the router's WAN interface (both directions;
tcpdump -w). Every SIP message in it (UDP datagrams, IPv4 fragments put
back together, TCP streams reassembled and cut at Content-Length) is read
as text, start line, headers and body (SDP) alike, and every dotted IPv4
address in it is looked at:

  - an address of a --lan network (the networks behind this router) is a
    leak in any message, in either direction: nobody outside can know it
    unless it leaked;
  - any other private address (--private, default 10/8, 172.16/12,
    192.168/16 and the --lan networks) in a message sent from behind the
    router (IP source = --wan after the masquerade) is a leak, unless the
    message's recipient advertised that address itself in a message
    before: a peer's own Via, Contact or SDP echoed back to that peer (as
    RFC 3261 requires of responses and dialogs) is not ours to hide.

    wirecheck.py --list FILE.pcap
    wirecheck.py --self-test

lists every SIP message instead, one line each, in capture order:
  TIME SRC:PORT > DST:PORT PROTO START-LINE | CSeq: ... | Via: (top) | Contact: (first)
(a test reads from it what crossed the wire, and in which order), and
--self-test judges captures it writes itself, with and without leaks
(UDP, IPv4 fragments, TCP segments, a peer's own address echoed).

TLS streams cannot be read; they are counted and named. Prints one line
per leak and a last line
  wirecheck NAME: N SIP messages (S sent from behind WAN, R received), L leaks[, T TLS streams]
Exit status 0 when there is no leak and at least one SIP message was read,
1 on a leak, 2 when no SIP message was found or the capture is unreadable,
3 when all SIP went over TLS (the test must judge what the peer received).
"""
import argparse
import ipaddress
import re
import sys

try:
    import dpkt
except ImportError:
    print("wirecheck: python3 module dpkt is missing (Debian package python3-dpkt)")
    sys.exit(2)

IPV4 = re.compile(rb"(?<![0-9.])((?:[0-9]{1,3}\.){3}[0-9]{1,3})(?![0-9]|\.[0-9])")
START = re.compile(rb"^(?:[A-Z]+ [^ \r\n]+ SIP/2\.0|SIP/2\.0 [0-9]{3} )")
CLEN = re.compile(rb"^(?:content-length|l)[ \t]*:[ \t]*([0-9]+)", re.I | re.M)


def addresses(text):
    for m in IPV4.finditer(text):
        try:
            yield ipaddress.ip_address(m.group(1).decode())
        except ValueError:
            pass


def cut_stream(data):
    """(offset, message) of each SIP message of a reassembled TCP byte
    stream (RFC 3261 s.18.3), skipping the CRLF keep-alives of RFC 5626
    s.4.4.1."""
    msgs, at = [], 0
    while at < len(data):
        while data[at:at + 1] in (b"\r", b"\n"):
            at += 1
        if at >= len(data) or not START.match(data[at:at + 64]):
            break  # not SIP (or a stream joined late): stop reading it
        end = data.find(b"\r\n\r\n", at)
        if end < 0:
            msgs.append((at, data[at:]))
            break
        m = CLEN.search(data[at:end])
        n = end + 4 + (int(m.group(1)) if m else 0)
        msgs.append((at, data[at:n]))
        at = n
    return msgs


def defragment(frags, ip):
    """The whole IPv4 payload once every fragment of ip's datagram is in,
    else None."""
    key = (ip.src, ip.dst, ip.id, ip.p)
    parts = frags.setdefault(key, {})
    parts[ip.offset] = (bytes(ip.data), bool(ip.mf))
    whole = b""
    while len(whole) in parts:
        chunk, more = parts[len(whole)]
        whole += chunk
        if not more:
            del frags[key]
            return whole
        if not chunk:
            break
    return None


def read_capture(path):
    """(time, src, dst, "udp"|"tcp", payload) of every SIP message, in capture order,
    and the TLS streams."""
    frags, flows, out = {}, {}, []
    with open(path, "rb") as f:
        for ts, frame in dpkt.pcap.Reader(f):
            ip = dpkt.ethernet.Ethernet(frame).data
            if not isinstance(ip, dpkt.ip.IP):
                continue
            l4 = ip.data
            if ip.mf or ip.offset:
                whole = defragment(frags, ip)
                if whole is None:
                    continue
                try:
                    l4 = (dpkt.udp.UDP if ip.p == dpkt.ip.IP_PROTO_UDP else dpkt.tcp.TCP)(whole)
                except (dpkt.UnpackError, dpkt.NeedData):
                    continue
            src = ipaddress.ip_address(ip.src)
            dst = ipaddress.ip_address(ip.dst)
            if isinstance(l4, dpkt.udp.UDP):
                if START.match(bytes(l4.data)):
                    out.append((ts, (src, l4.sport), (dst, l4.dport), "udp", bytes(l4.data)))
            elif isinstance(l4, dpkt.tcp.TCP):
                flow = flows.setdefault(((src, l4.sport), (dst, l4.dport)), {"isn": None, "segs": {}})
                if l4.flags & dpkt.tcp.TH_SYN:
                    flow["isn"] = (l4.seq + 1) & 0xFFFFFFFF
                elif l4.data:
                    flow["segs"].setdefault(l4.seq, (ts, bytes(l4.data)))
    tls = []
    for (src, dst), flow in flows.items():
        segs = flow["segs"]
        if not segs:
            continue
        at = flow["isn"] if flow["isn"] is not None else min(segs)
        data, times = b"", []  # times: (stream offset, capture time)
        for seq in sorted(segs, key=lambda s: (s - at) & 0xFFFFFFFF):
            ts, chunk = segs[seq]
            skip = (at - seq) & 0xFFFFFFFF
            if skip < len(chunk):  # else a retransmission of what we have
                times.append((len(data), ts))
                data += chunk[skip:]
                at = (seq + len(chunk)) & 0xFFFFFFFF
        if data[:1] == b"\x16":
            tls.append((src, dst))
            continue
        for off, msg in cut_stream(data):
            ts = [t for o, t in times if o <= off][-1]
            out.append((ts, src, dst, "tcp", msg))
    out.sort(key=lambda m: m[0])
    return out, tls


def judge(path, wan, lan, private=None, name="capture"):
    """(messages, messages sent from behind wan, leak lines, TLS streams)."""
    msgs, tls = read_capture(path)
    own = {}  # remote address -> private addresses it advertised itself
    sent, leaks = 0, []
    for ts, (src, sport), (dst, dport), proto, msg in msgs:
        outbound = src == wan
        sent += outbound
        peer = dst if outbound else src
        seen = own.setdefault(peer, set())
        for addr in sorted(set(addresses(msg))):
            if any(addr in n for n in lan):
                why = "an address of the LAN behind the router"
            elif outbound and any(addr in n for n in private + lan) and addr not in seen:
                why = "a private address %s never advertised itself" % peer
            else:
                if not outbound:
                    seen.add(addr)
                continue
            lines = msg.split(b"\r\n")
            where = next((l for l in lines if str(addr).encode() in l), b"")
            leaks.append("LEAK %s: %.3f %s:%d > %s:%d %s: %s in %r (%s)" % (
                name, ts, src, sport, dst, dport,
                lines[0].decode("utf-8", "replace"), addr,
                where.decode("utf-8", "replace"), why))
    return len(msgs), sent, leaks, tls


def self_test():
    import os
    import tempfile

    wan, itsp = "198.51.100.5", "203.0.113.1"
    lan = [ipaddress.ip_network("192.0.2.0/24")]
    private = [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]

    def frame(src, dst, l4, proto, ident=1, mf=0, offset=0, payload=None):
        ip = dpkt.ip.IP(src=ipaddress.ip_address(src).packed, dst=ipaddress.ip_address(dst).packed,
                        p=proto, id=ident, ttl=64)
        ip.data = payload if payload is not None else l4
        ip.mf, ip.offset = mf, offset
        ip.len = 20 + len(bytes(ip.data))
        return bytes(dpkt.ethernet.Ethernet(src=b"\x02" * 6, dst=b"\x04" * 6, type=0x0800, data=ip))

    def udp(src, dst, text):
        u = dpkt.udp.UDP(sport=5060, dport=5060, data=text)
        u.ulen = 8 + len(text)
        return [frame(src, dst, u, dpkt.ip.IP_PROTO_UDP)]

    def fragments(src, dst, text):
        u = dpkt.udp.UDP(sport=5060, dport=5060, data=text)
        u.ulen = 8 + len(text)
        raw = bytes(u)
        cut = 8 * ((len(raw) // 2) // 8)
        return [frame(src, dst, None, dpkt.ip.IP_PROTO_UDP, 7, 1, 0, raw[:cut]),
                frame(src, dst, None, dpkt.ip.IP_PROTO_UDP, 7, 0, cut, raw[cut:])]

    def tcp(src, dst, text, parts=3):
        out, seq, step = [], 1000, len(text) // parts + 1
        syn = dpkt.tcp.TCP(sport=40000, dport=5060, seq=seq - 1, flags=dpkt.tcp.TH_SYN)
        out.append(frame(src, dst, syn, dpkt.ip.IP_PROTO_TCP))
        chunks = [text[i:i + step] for i in range(0, len(text), step)]
        for i, c in enumerate(chunks):
            seg = dpkt.tcp.TCP(sport=40000, dport=5060, seq=seq, flags=dpkt.tcp.TH_ACK, data=c)
            out.append(frame(src, dst, seg, dpkt.ip.IP_PROTO_TCP))
            if i == 0:  # a retransmission must not be read twice
                out.append(frame(src, dst, seg, dpkt.ip.IP_PROTO_TCP))
            seq += len(c)
        return out

    def sip(start, *headers, body=b""):
        h = [start] + list(headers) + [b"Content-Length: %d" % len(body)]
        return b"\r\n".join(h) + b"\r\n\r\n" + body

    reg = sip(b"REGISTER sip:gw1.example.com SIP/2.0",
              b"Via: SIP/2.0/UDP " + wan.encode() + b":5060;rport;branch=z9hG4bK1",
              b"Contact: <sip:6001@198.51.100.5:5060>")
    leaky = reg.replace(b"198.51.100.5:5060;rport", b"192.0.2.10;rport")
    sdp = b"v=0\r\no=- 1 1 IN IP4 198.51.100.5\r\ns=-\r\nc=IN IP4 192.0.2.10\r\n" + b"a=x\r\n" * 40
    invite = sip(b"INVITE sip:100@gw2.example.com SIP/2.0",
                 b"Via: SIP/2.0/UDP 198.51.100.5:5060;rport;branch=z9hG4bK2", body=sdp)
    peer = sip(b"INVITE sip:6001@198.51.100.5 SIP/2.0",
               b"Via: SIP/2.0/TCP 10.0.0.20:5060;branch=z9hG4bK3",
               b"Contact: <sip:p@10.0.0.20:5060;transport=tcp>")
    answer = sip(b"SIP/2.0 200 OK", b"Via: SIP/2.0/TCP 10.0.0.20:5060;branch=z9hG4bK3",
                 b"Contact: <sip:6001@198.51.100.5:5060;transport=tcp>")
    cases = [
        ("clean UDP", udp(wan, itsp, reg), 0),
        ("LAN address in a Via", udp(wan, itsp, leaky), 1),
        ("LAN address in the SDP of a fragmented INVITE", fragments(wan, itsp, invite), 1),
        ("the peer's own address echoed over TCP",
         tcp(itsp, wan, peer) + tcp(wan, itsp, b"\r\n\r\n" + answer + answer), 0),
        ("a private address the peer never sent, over TCP",
         tcp(itsp, wan, peer) +
         tcp(wan, itsp, answer + answer.replace(b"6001@198.51.100.5", b"6001@10.9.9.9"), 4), 1),
        ("a LAN address from outside", udp(itsp, wan, leaky.replace(b"REGISTER sip", b"OPTIONS sip")), 1),
    ]
    failed = 0
    with tempfile.TemporaryDirectory() as d:
        for name, frames, want in cases:
            path = os.path.join(d, "t.pcap")
            with open(path, "wb") as f:
                w = dpkt.pcap.Writer(f)
                for i, fr in enumerate(frames):
                    w.writepkt(fr, ts=1000 + i * 0.001)
            n, _, leaks, _ = judge(path, ipaddress.ip_address(wan), lan, private)
            good = n > 0 and len(leaks) == want
            failed += not good
            print("%s - %s: %d messages, %d leaks (want %d)" % ("ok" if good else "FAIL", name, n, len(leaks), want))
    print("wirecheck self-test: %d passed, %d failed" % (len(cases) - failed, failed))
    return 1 if failed else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--self-test", action="store_true")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--wan", type=ipaddress.ip_address)
    ap.add_argument("--lan", action="append", default=[], type=ipaddress.ip_network)
    ap.add_argument("--private", action="append", type=ipaddress.ip_network)
    ap.add_argument("--name", default="capture")
    ap.add_argument("pcap", nargs="?")
    a = ap.parse_args()
    if a.self_test:
        return self_test()
    if not a.pcap or (not a.list and a.wan is None):
        ap.error("a capture, and --wan unless --list")
    private = a.private or [ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")]
    try:
        if a.list:
            for ts, (src, sport), (dst, dport), proto, msg in read_capture(a.pcap)[0]:
                lines = msg.split(b"\r\n")
                pick = [lines[0]]
                for name in (b"cseq", b"via", b"contact"):
                    pick += [l for l in lines[1:] if l.split(b":")[0].strip().lower() == name][:1]
                print("%.6f %s:%d > %s:%d %s %s" % (ts, src, sport, dst, dport, proto,
                                                   " | ".join(l.decode("utf-8", "replace") for l in pick)))
            return 0
        n, sent, leaks, tls = judge(a.pcap, a.wan, a.lan, private, a.name)
    except (OSError, ValueError, dpkt.UnpackError) as e:
        print("wirecheck %s: cannot read %s: %s" % (a.name, a.pcap, e))
        return 2
    for line in leaks:
        print(line)
    summary = "wirecheck %s: %d SIP messages (%d sent from behind %s, %d received), %d leaks" % (
        a.name, n, sent, a.wan, n - sent, len(leaks))
    if tls:
        summary += ", %d TLS streams not readable (%s)" % (
            len(tls), " ".join("%s:%d>%s:%d" % (s[0], s[1], d[0], d[1]) for s, d in tls))
    print(summary)
    if leaks:
        return 1
    return 0 if n else 3 if tls else 2


if __name__ == "__main__":
    sys.exit(main())
