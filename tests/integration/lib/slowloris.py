#!/usr/bin/env python3
"""slowloris: many idle or partial connections, and a reader that never
reads, for 081-slow-clients.

  slowloris.py hold PORT --count N --timeout T
      opens N connections from 127.0.0.2 and 127.0.0.3 (bound with
      IP_BIND_ADDRESS_NO_PORT, so the lookups of other clients keep the
      ephemeral ports of 127.0.0.1): even ones send nothing, odd ones
      the first bytes of a PORT_PLEASE2 request.  Prints "opened N in S
      s", then "ready", then watches every connection until the daemon
      closes it or T + G (--grace, 10) s pass, and prints one line:
        closed C of N early E min_age A max_age B
      where an age is the time from a connection's connect to its close
      and E counts closes before T seconds (ages count from before the
      connect, so none is ever too short).
  slowloris.py noread PORT --bulk K --wait W
      registers K nodes with names of 1005 bytes (so that NAMES is about
      K kB), asks for NAMES with a 4 KiB receive buffer, reads nothing
      for W seconds, then reads what is there.  Prints
        noread closed|reset|open got G of R
      where R is the size of a NAMES reply read at once afterwards.

Only the standard library; loopback only.
"""
import argparse
import os
import select
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from epmdwire import alive2, NAMES, Conn  # noqa: E402

IP_BIND_ADDRESS_NO_PORT = 24


def open_many(port, count):
    socks = []
    for i in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, 1)
        s.bind(("127.0.0.%d" % (2 + i % 2), 0))
        # Before connect(): the daemon accepts, and starts its deadline,
        # only after this, however long this process waits for the CPU
        # once connect() has returned.  An age is never too short.
        t = time.monotonic()
        s.connect(("127.0.0.1", port))
        if i % 2:
            s.send(b"\x00\x07zsl")   # 3 of the 7 bytes the frame promises
        s.setblocking(False)
        socks.append((s, t))
    return socks


def hold(a):
    t0 = time.monotonic()
    socks = open_many(a.port, a.count)
    print("opened %d in %.1f s" % (len(socks), time.monotonic() - t0))
    print("ready", flush=True)
    ep = select.epoll()
    where = {}
    for s, t in socks:
        ep.register(s.fileno(), select.EPOLLIN | select.EPOLLRDHUP)
        where[s.fileno()] = (s, t)
    ages = []
    early = 0
    until = time.monotonic() + a.timeout + a.grace
    while where and time.monotonic() < until:
        for fd, _ in ep.poll(0.5):
            s, t = where.pop(fd)
            age = time.monotonic() - t
            try:
                data = s.recv(16)
            except OSError:
                data = b""
            if data:
                print("unexpected reply %r" % data, file=sys.stderr)
            ep.unregister(fd)
            s.close()
            ages.append(age)
            if age < a.timeout:
                early += 1
    print("closed %d of %d early %d min_age %.2f max_age %.2f" %
          (len(ages), len(socks), early, min(ages or [0]), max(ages or [0])))


def noread(a):
    held = []
    for i in range(a.bulk):
        c = Conn(a.port)
        c.send(alive2("r%04d" % i + "\U0001F4E6" * 250, port=30000 + i))
        data, how = c.read(6)
        if data[:2] != b"v\x00":
            raise SystemExit("registration %d failed: %r %s" % (i, data, how))
        held.append(c)
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", a.port))
    s.sendall(NAMES)
    time.sleep(a.wait)
    got, how = 0, "open"
    s.settimeout(3)
    try:
        while True:
            chunk = s.recv(1 << 20)
            if not chunk:
                how = "closed"
                break
            got += len(chunk)
    except ConnectionResetError:
        how = "reset"
    except socket.timeout:
        pass
    c = Conn(a.port)
    c.send(NAMES)
    full, _ = c.read_to_end(10)
    print("noread %s got %d of %d" % (how, got, len(full)))
    for c in held:
        c.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["hold", "noread"])
    ap.add_argument("port", type=int)
    ap.add_argument("--count", type=int, default=15000)
    ap.add_argument("--timeout", type=float, default=5)
    ap.add_argument("--grace", type=float, default=10)
    ap.add_argument("--bulk", type=int, default=3000)
    ap.add_argument("--wait", type=float, default=8)
    a = ap.parse_args()
    hold(a) if a.mode == "hold" else noread(a)


if __name__ == "__main__":
    main()
