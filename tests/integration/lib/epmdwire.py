#!/usr/bin/env python3
"""epmdwire: raw EPMD bytes for the integration tests.

Library: packet builders (alive2, port2, names, ...) and a Conn class
that sends bytes and reports what came back and how the connection
ended.  Command line, for shell tests:

  epmdwire.py hold PORT NAME NODEPORT [--hv N] [--type T] [--seconds S]
      register NAME and keep the registration open for S seconds
      (default: until stdin closes); prints the reply as hex
  epmdwire.py send PORT HEX [--half-close] [--timeout S]
      send the bytes, print "<reply hex> <closed|reset|open>"
  epmdwire.py lookup PORT NAME
      PORT_PLEASE2; prints "port N" or "missing"

Only the standard library; loopback only.
"""
import argparse
import socket
import struct
import sys
import time


def frame(body):
    return struct.pack(">H", len(body)) + body


def alive2(name, port=5000, ntype=77, proto=0, hv=6, lv=5, extra=b"",
           nlen=None, elen=None):
    if isinstance(name, str):
        name = name.encode()
    nlen = len(name) if nlen is None else nlen
    elen = len(extra) if elen is None else elen
    return frame(b"x" + struct.pack(">HBBHHH", port, ntype, proto, hv, lv, nlen)
                 + name + struct.pack(">H", elen) + extra)


def port2(name):
    if isinstance(name, str):
        name = name.encode()
    return frame(b"z" + name)


def stop(name):
    if isinstance(name, str):
        name = name.encode()
    return frame(b"s" + name)


NAMES = frame(b"n")
DUMP = frame(b"d")
KILL = frame(b"k")


def _sockaddr(family, host, port):
    """(host, port), with a link-local address's %scope (fe80::1%eth0)
    turned into its interface index, which a plain tuple cannot carry."""
    if "%" not in host:
        return (host, port)
    return socket.getaddrinfo(host, port, family, socket.SOCK_STREAM, 0,
                              socket.AI_NUMERICHOST)[0][4]


class Conn:
    """One TCP connection to a daemon on loopback (or to host, from the
    source address src; either may be link-local with a %scope)."""

    def __init__(self, port, family=socket.AF_INET, host=None, timeout=3.0,
                 src=None):
        host = host or ("127.0.0.1" if family == socket.AF_INET else "::1")
        self.s = socket.socket(family, socket.SOCK_STREAM)
        self.s.settimeout(timeout)
        if src:
            # An address, or (address, port).
            self.s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            src = src if isinstance(src, tuple) else (src, 0)
            self.s.bind(_sockaddr(family, *src))
        self.s.connect(_sockaddr(family, host, port))

    def alive(self):
        """No end-of-file, reset or stray byte waiting (a registration
        the daemon still holds)."""
        self.s.setblocking(False)
        try:
            self.s.recv(1)
            return False            # bytes or end-of-file
        except BlockingIOError:
            return True
        except OSError:
            return False
        finally:
            self.s.setblocking(True)

    def send(self, data, gap=0.0):
        """Send data; with gap > 0, byte by byte with that pause."""
        if gap <= 0:
            self.s.sendall(data)
            return
        for i in range(len(data)):
            self.s.sendall(data[i:i + 1])
            time.sleep(gap)

    def read(self, n, timeout=3.0):
        """Exactly n bytes or less; returns (bytes, end) end in ok/closed/reset/timeout."""
        self.s.settimeout(timeout)
        got = b""
        try:
            while len(got) < n:
                chunk = self.s.recv(n - len(got))
                if not chunk:
                    return got, "closed"
                got += chunk
        except socket.timeout:
            return got, "timeout"
        except ConnectionResetError:
            return got, "reset"
        return got, "ok"

    def read_to_end(self, timeout=3.0):
        """Everything until the peer closes; (bytes, closed/reset/open)."""
        self.s.settimeout(timeout)
        got = b""
        try:
            while True:
                chunk = self.s.recv(65536)
                if not chunk:
                    return got, "closed"
                got += chunk
        except socket.timeout:
            return got, "open"
        except ConnectionResetError:
            return got, "reset"

    def half_close(self):
        self.s.shutdown(socket.SHUT_WR)

    def close(self):
        self.s.close()


def exchange(port, data, timeout=3.0, half_close=False, gap=0.0):
    """One request on a fresh connection: (reply bytes, how it ended)."""
    c = Conn(port)
    try:
        c.send(data, gap)
        if half_close:
            c.half_close()
        return c.read_to_end(timeout)
    except OSError as e:
        return b"", "error:" + e.__class__.__name__
    finally:
        c.close()


def free_port():
    """A loopback TCP port nobody listens on just now."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def lookup(port, name):
    data, _ = exchange(port, port2(name))
    if len(data) >= 4 and data[:2] == b"w\x00":
        return struct.unpack(">H", data[2:4])[0]
    return None


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    h = sub.add_parser("hold")
    h.add_argument("port", type=int)
    h.add_argument("name")
    h.add_argument("nodeport", type=int)
    h.add_argument("--hv", type=int, default=6)
    h.add_argument("--type", type=int, default=77)
    h.add_argument("--seconds", type=float, default=None)
    s = sub.add_parser("send")
    s.add_argument("port", type=int)
    s.add_argument("hex")
    s.add_argument("--half-close", action="store_true")
    s.add_argument("--timeout", type=float, default=3.0)
    lk = sub.add_parser("lookup")
    lk.add_argument("port", type=int)
    lk.add_argument("name")
    a = ap.parse_args()
    if a.cmd == "hold":
        c = Conn(a.port)
        c.send(alive2(a.name, port=a.nodeport, ntype=a.type, hv=a.hv, lv=min(a.hv, 5)))
        data, how = c.read(6 if a.hv >= 6 else 4)
        print(data.hex(), how, flush=True)
        if a.seconds is not None:
            time.sleep(a.seconds)
        else:
            sys.stdin.read()
        c.close()
    elif a.cmd == "send":
        data, how = exchange(a.port, bytes.fromhex(a.hex), a.timeout, a.half_close)
        print(data.hex() or "-", how)
    elif a.cmd == "lookup":
        p = lookup(a.port, a.name)
        print("missing" if p is None else "port %d" % p)


if __name__ == "__main__":
    main()
