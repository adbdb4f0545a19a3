#!/usr/bin/env python3
"""Tiny UDP/TCP probe for the NAT lab (stdlib only, bounded by timeouts).

  netcheck.py listen [--tcp] --bind IP:PORT [--count N] [--timeout S] [--reply]
      Prints "ready" once bound, then one line per datagram/connection:
      "from IP:PORT <payload>".  Exit 0 if N messages arrived, 1 on timeout.
      --reply sends "reply:<payload>" back to the source.
  netcheck.py send [--tcp] [--bind IP:PORT] --to IP:PORT [--to IP:PORT ...]
                   [--msg TEXT] [--wait-reply S]
      Sends MSG to each destination from ONE socket (so a NAT sees one inside
      address:port talking to several destinations).  With --wait-reply, prints
      "reply from IP:PORT <payload>" for each reply (exit 1 if none came).
"""
import argparse
import socket
import sys
import time


def addr(s):
    host, _, port = s.rpartition(":")
    return host, int(port)


def listen(a):
    deadline = time.monotonic() + a.timeout
    got = 0
    if a.tcp:
        srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(addr(a.bind))
        srv.listen(8)
        print("ready", flush=True)
        while got < a.count:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            srv.settimeout(left)
            try:
                c, peer = srv.accept()
            except socket.timeout:
                break
            c.settimeout(max(0.1, deadline - time.monotonic()))
            try:
                data = c.recv(4096)
            except socket.timeout:
                data = b""
            print("from %s:%d %s" % (peer[0], peer[1], data.decode(errors="replace").strip()), flush=True)
            if a.reply:
                c.sendall(b"reply:" + data)
            c.close()
            got += 1
    else:
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(addr(a.bind))
        print("ready", flush=True)
        while got < a.count:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            s.settimeout(left)
            try:
                data, peer = s.recvfrom(65535)
            except socket.timeout:
                break
            print("from %s:%d %s" % (peer[0], peer[1], data.decode(errors="replace").strip()), flush=True)
            if a.reply:
                s.sendto(b"reply:" + data, peer)
            got += 1
    if got < a.count:
        print("timeout after %d/%d" % (got, a.count), flush=True)
        return 1
    return 0


def send(a):
    msg = a.msg.encode()
    if a.tcp:
        rc = 1 if a.wait_reply else 0
        for dst in a.to:
            s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if a.bind:
                s.bind(addr(a.bind))
            s.settimeout(a.wait_reply or 3.0)
            s.connect(addr(dst))
            s.sendall(msg)
            if a.wait_reply:
                try:
                    data = s.recv(4096)
                    if data:
                        print("reply from %s %s" % (dst, data.decode(errors="replace").strip()), flush=True)
                        rc = 0
                except socket.timeout:
                    pass
            s.close()
        return rc
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if a.bind:
        s.bind(addr(a.bind))
    for dst in a.to:
        s.sendto(msg, addr(dst))
    if not a.wait_reply:
        return 0
    deadline = time.monotonic() + a.wait_reply
    n = 0
    while n < len(a.to):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        s.settimeout(left)
        try:
            data, peer = s.recvfrom(65535)
        except socket.timeout:
            break
        print("reply from %s:%d %s" % (peer[0], peer[1], data.decode(errors="replace").strip()), flush=True)
        n += 1
    return 0 if n else 1


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    l = sub.add_parser("listen")
    l.add_argument("--tcp", action="store_true")
    l.add_argument("--bind", required=True)
    l.add_argument("--count", type=int, default=1)
    l.add_argument("--timeout", type=float, default=5.0)
    l.add_argument("--reply", action="store_true")
    s = sub.add_parser("send")
    s.add_argument("--tcp", action="store_true")
    s.add_argument("--bind")
    s.add_argument("--to", action="append", required=True)
    s.add_argument("--msg", default="ping")
    s.add_argument("--wait-reply", type=float, default=0.0)
    a = p.parse_args()
    try:
        return listen(a) if a.cmd == "listen" else send(a)
    except OSError as e:
        print("error: %s" % e, flush=True)
        return 2


if __name__ == "__main__":
    sys.exit(main())
