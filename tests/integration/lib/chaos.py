#!/usr/bin/env python3
"""chaos: hostile EPMD clients and a well-behaved one, for 080-chaos.

  chaos.py attack PORT --seconds S --clients N --seed X
      N concurrent connections at a time, each one attack drawn from the
      list below, until S seconds have passed (then the ones in flight
      finish, each within its own bound).  Prints one summary line:
      "attacks N wrong W" and a count per kind.  W counts replies to the
      well-formed requests that were not the expected answer.
  chaos.py good PORT --seconds S --anchor NAME --anchor-port P
      one client at a time doing what nodes do: register a fresh name,
      look it up, look up the anchor, list names, end the registration;
      prints "cycles N wrong W failed F max_ms M" where M is the longest
      single operation (connect to answer).

The attacks (every one ends by itself):
  random      0..4000 random bytes, then close
  split       a valid request cut into two or three pieces at every
              byte position in turn, with pauses; the answer is checked
  truncated   a valid request cut short, then close or half-close
  oversized   a length prefix of 3058..65535, then some bytes
  wrong       well-formed frames with wrong contents: unknown command,
              name/extra lengths that disagree with the frame, names of
              0 or 256+ characters, bad UTF-8, STOP without relaxed
              mode, two requests in one write
  rst         a request, then a reset before or while the reply comes
              (SO_LINGER 0), including NAMES with many nodes registered
  halfclose   a valid request then shutdown(SHUT_WR); the answer is
              checked
  regdrop     ALIVE2 of a throw-away name, then stray bytes, a reset or
              a plain close
  slowread    NAMES, a few pieces read slowly, then a reset or a close
              (with a 4 KiB receive buffer), or the rest read to the end
              (the answer is checked)

Before the attack, --bulk registrations (3000) with names of 255
characters and 1005 bytes are made and held, so that a NAMES reply is
about 3 MB: more than the kernel takes at once on loopback, so the
daemon has to queue the rest of it, and resets and slow readers meet a
reply half sent.

Never sent: a valid KILL_REQ (it would stop the daemon, as it must).
Only the standard library; loopback only.
"""
import argparse
import asyncio
import os
import random
import socket
import struct
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from epmdwire import alive2, port2, frame, NAMES  # noqa: E402

KILL_FRAME = b"\x00\x01k"
MAX_REPLY = 8 << 20


def expect_port2(anchor, anchor_port):
    def check(data):
        return (len(data) >= 12 and data[:2] == b"w\x00"
                and struct.unpack(">H", data[2:4])[0] == anchor_port
                and data[12:12 + len(anchor)] == anchor.encode())
    return check


def expect_missing(data):
    return data == b"w\x01"


def expect_names(daemon_port, anchor, anchor_port):
    line = ("name %s at port %d\n" % (anchor, anchor_port)).encode()

    def check(data):
        return (data[:4] == struct.pack(">I", daemon_port) and line in data)
    return check


def expect_registered(data):
    return len(data) == 6 and data[:2] == b"v\x00"


class Attack:
    def __init__(self, a):
        self.a = a
        self.rng = random.Random(a.seed)
        self.counts = {}
        self.wrong = 0
        self.total = 0
        self.split_pos = 0
        self.serial = 0
        self.loop = None

    def valid_requests(self):
        """(bytes, check) pairs whose answer is known."""
        a = self.a
        self.serial += 1
        return [
            (port2(a.anchor), expect_port2(a.anchor, a.anchor_port)),
            (port2("nosuch%d" % self.serial), expect_missing),
            (NAMES, expect_names(a.port, a.anchor, a.anchor_port)),
            (alive2("split%d_%d" % (os.getpid(), self.serial), port=40000),
             expect_registered),
        ]

    async def connect(self, rcvbuf=0):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.setblocking(False)
        await asyncio.wait_for(
            self.loop.sock_connect(s, ("127.0.0.1", self.a.port)),
            5 * self.a.scale)
        return s

    async def read_all(self, s, bound=5.0):
        """Read to EOF (or reset); (bytes, how)."""
        got = b""
        end = time.monotonic() + bound * self.a.scale
        try:
            while len(got) < MAX_REPLY:
                left = end - time.monotonic()
                if left <= 0:
                    return got, "open"
                chunk = await asyncio.wait_for(
                    self.loop.sock_recv(s, 65536), left)
                if not chunk:
                    return got, "closed"
                got += chunk
        except asyncio.TimeoutError:
            return got, "open"
        except (ConnectionResetError, BrokenPipeError):
            return got, "reset"
        return got, "big"

    async def send(self, s, data):
        try:
            await asyncio.wait_for(self.loop.sock_sendall(s, data),
                                   5 * self.a.scale)
            return True
        except (OSError, asyncio.TimeoutError):
            return False

    @staticmethod
    def reset(s):
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                     struct.pack("ii", 1, 0))
        s.close()

    def note(self, kind):
        self.counts[kind] = self.counts.get(kind, 0) + 1

    def checked(self, kind, ok, detail):
        if not ok:
            self.wrong += 1
            if self.wrong <= 10:
                print("WRONG %s: %s" % (kind, detail), file=sys.stderr)

    async def one(self):
        r = self.rng
        kind = r.choice(["random", "split", "split", "truncated", "oversized",
                         "wrong", "rst", "halfclose", "regdrop", "slowread"])
        end = r.choice(["reset", "close", "read"])
        # A 4 KiB receive buffer for the ones that give up; one that
        # reads to the end reads at a normal pace.
        s = await self.connect(4096 if kind == "slowread" and end != "read"
                               else 0)
        try:
            if kind == "slowread":
                await self.do_slowread(s, r, end)
            else:
                await getattr(self, "do_" + kind)(s, r)
        finally:
            if s.fileno() >= 0:
                s.close()
        self.note(kind)
        self.total += 1

    async def do_random(self, s, r):
        data = bytes(r.getrandbits(8) for _ in range(r.randint(0, 4000)))
        if data[:3] == KILL_FRAME:
            data = b"\x00\x00" + data
        await self.send(s, data)
        await self.read_all(s, 0.5)

    async def do_split(self, s, r):
        req, check = r.choice(self.valid_requests())
        self.split_pos = self.split_pos % (len(req) - 1) + 1
        k = self.split_pos
        cuts = [k] if r.random() < 0.5 or len(req) - k < 2 else \
            [k, r.randint(k + 1, len(req) - 1)]
        prev = 0
        for c in cuts + [len(req)]:
            if not await self.send(s, req[prev:c]):
                self.checked("split", False, "send failed at %d" % prev)
                return
            prev = c
            await asyncio.sleep(r.choice([0, 0.001, 0.02]))
        if req[2:3] == b"x":
            # A registration stays open; its reply is 6 bytes.
            data, how = await self.read_all_n(s, 6)
            ok = expect_registered(data)
        else:
            data, how = await self.read_all(s, 5.0)
            ok = check(data) and how == "closed"
        self.checked("split", ok, "%s cut at %s: %r %s" %
                     (req[:3].hex(), cuts, data[:16], how))

    async def do_truncated(self, s, r):
        req, _ = r.choice(self.valid_requests())
        await self.send(s, req[:r.randint(0, len(req) - 1)])
        if r.random() < 0.5:
            s.shutdown(socket.SHUT_WR)
            data, how = await self.read_all(s, 3.0)
            self.checked("truncated", data == b"" and how != "open",
                         "half-closed partial got %r %s" % (data[:16], how))
        else:
            await asyncio.sleep(r.choice([0, 0.01, 0.1]))

    async def do_oversized(self, s, r):
        n = r.randint(3058, 65535)
        await self.send(s, struct.pack(">H", n) + b"z" * r.randint(0, 5000))
        data, how = await self.read_all(s, 3.0)
        self.checked("oversized", data == b"" and how in ("closed", "reset"),
                     "length %d got %r %s" % (n, data[:16], how))

    async def do_wrong(self, s, r):
        a = self.a
        cases = [
            frame(b"?" + b"abc"),                         # unknown command
            frame(b""),                                   # empty frame
            alive2("wr", nlen=200),                       # name length lies
            alive2("wr", extra=b"xx", elen=900),          # extra length lies
            alive2(""),                                   # empty name
            alive2("n" * 256),                            # 256 characters
            alive2(b"bad\xff\xfeutf8"),                   # not UTF-8
            frame(b"s" + a.anchor.encode()),              # STOP, not relaxed
            port2(a.anchor) + port2(a.anchor),            # two at once
            frame(b"z" + b"q" * 1100),                    # name over 1020
            frame(b"x" + b"\x00" * 3),                    # ALIVE2 too short
        ]
        data = r.choice(cases)
        await self.send(s, data)
        got, how = await self.read_all(s, 3.0)
        # None of these may register anything or answer with success.
        self.checked("wrong", not got.startswith(b"v\x00")
                     and not got.startswith(b"y\x00")
                     and not got.startswith(b"w\x00"),
                     "%r got %r %s" % (data[:12], got[:16], how))

    async def do_rst(self, s, r):
        req, _ = r.choice(self.valid_requests()[:3])
        await self.send(s, req)
        if r.random() < 0.5:
            await asyncio.sleep(r.choice([0, 0.0005, 0.002]))
        self.reset(s)

    async def do_halfclose(self, s, r):
        req, check = r.choice(self.valid_requests()[:3])
        await self.send(s, req)
        s.shutdown(socket.SHUT_WR)
        data, how = await self.read_all(s, 5.0)
        self.checked("halfclose", check(data) and how == "closed",
                     "%s got %r %s" % (req[:3].hex(), data[:16], how))

    async def do_slowread(self, s, r, end):
        # NAMES with the bulk registrations is far larger than what the
        # kernel takes at once: the daemon must queue the rest.
        await self.send(s, NAMES)
        got = b""
        for _ in range(r.randint(0, 6)):
            await asyncio.sleep(0.01)
            try:
                got += await asyncio.wait_for(self.loop.sock_recv(s, 1024),
                                              5 * self.a.scale)
            except (OSError, asyncio.TimeoutError):
                break
        if end == "reset":
            self.reset(s)
        elif end == "read":
            data, how = await self.read_all(s, 10.0)
            data = got + data
            self.checked("slowread", how == "closed" and expect_names(
                self.a.port, self.a.anchor, self.a.anchor_port)(data) and
                data.count(b"\n") == self.expect_lines(data),
                "NAMES read slowly: %d bytes, %s" % (len(data), how))

    @staticmethod
    def expect_lines(data):
        # Every line is whole: as many newlines as "name " entries.
        return data.count(b"name ")

    async def do_regdrop(self, s, r):
        self.serial += 1
        await self.send(s, alive2("drop%d_%d" % (os.getpid(), self.serial),
                                  port=40001))
        data, _ = await self.read_all_n(s, 6)
        self.checked("regdrop", expect_registered(data), "got %r" % data)
        how = r.choice(["stray", "reset", "close"])
        if how == "stray":
            await self.send(s, b"junk")
            await self.read_all(s, 2.0)
        elif how == "reset":
            self.reset(s)

    async def read_all_n(self, s, n):
        got = b""
        try:
            while len(got) < n:
                chunk = await asyncio.wait_for(
                    self.loop.sock_recv(s, n - len(got)), 5 * self.a.scale)
                if not chunk:
                    return got, "closed"
                got += chunk
        except (asyncio.TimeoutError, OSError):
            return got, "error"
        return got, "ok"

    async def worker(self, until):
        while time.monotonic() < until:
            try:
                await self.one()
            except (OSError, asyncio.TimeoutError) as e:
                self.note("client-error:" + e.__class__.__name__)

    async def hold_bulk(self):
        """Registrations with long names, so that NAMES is large."""
        held = []
        for i in range(self.a.bulk):
            s = await self.connect()
            # 255 characters, 1005 bytes: "bNNNN" and 250 four-byte ones.
            name = "b%04d" % i + "\U0001F4E6" * 250
            await self.send(s, alive2(name, port=30000 + i % 30000))
            data, _ = await self.read_all_n(s, 6)
            if not expect_registered(data):
                raise SystemExit("bulk registration %d failed: %r" % (i, data))
            held.append(s)
        return held

    async def run(self):
        self.loop = asyncio.get_running_loop()
        held = await self.hold_bulk()
        until = time.monotonic() + self.a.seconds
        await asyncio.gather(*(self.worker(until)
                               for _ in range(self.a.clients)))
        for s in held:
            s.close()


def timed(fn):
    t0 = time.monotonic()
    r = fn()
    return r, (time.monotonic() - t0) * 1000.0


def request(port, data, keep=False, scale=1.0):
    s = socket.create_connection(("127.0.0.1", port), timeout=10 * scale)
    s.sendall(data)
    if keep:
        got = b""
        while len(got) < 6:
            chunk = s.recv(6 - len(got))
            if not chunk:
                break
            got += chunk
        return s, got
    got = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        got += chunk
    s.close()
    return None, got


def good(a):
    until = time.monotonic() + a.seconds
    cycles = wrong = failed = 0
    worst = 0.0
    while time.monotonic() < until:
        name = "good%d" % cycles
        nport = 20000 + cycles % 10000
        try:
            (held, rep), ms1 = timed(lambda: request(
                a.port, alive2(name, port=nport), keep=True, scale=a.scale))
            (_, look), ms2 = timed(lambda: request(a.port, port2(name),
                                                   scale=a.scale))
            (_, anc), ms3 = timed(lambda: request(a.port, port2(a.anchor),
                                                  scale=a.scale))
            (_, names), ms4 = timed(lambda: request(a.port, NAMES,
                                                    scale=a.scale))
            held.close()
        except OSError as e:
            failed += 1
            print("good: %s" % e, file=sys.stderr)
            continue
        worst = max(worst, ms1, ms2, ms3, ms4)
        ok = (expect_registered(rep)
              and look[:4] == b"w\x00" + struct.pack(">H", nport)
              and expect_port2(a.anchor, a.anchor_port)(anc)
              and ("name %s at port %d\n" % (name, nport)).encode() in names
              and expect_names(a.port, a.anchor, a.anchor_port)(names))
        if not ok:
            wrong += 1
            print("good wrong: %r %r %r" % (rep, look[:4], anc[:4]),
                  file=sys.stderr)
        cycles += 1
    print("cycles %d wrong %d failed %d max_ms %d" %
          (cycles, wrong, failed, int(worst + 0.5)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["attack", "good"])
    ap.add_argument("port", type=int)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--bulk", type=int, default=3000)
    ap.add_argument("--scale", type=float, default=1.0,
                    help="multiply every time bound (slow daemons)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--anchor", default="anchor")
    ap.add_argument("--anchor-port", type=int, default=4242)
    a = ap.parse_args()
    if a.mode == "good":
        good(a)
        return
    at = Attack(a)
    asyncio.run(at.run())
    kinds = " ".join("%s %d" % kv for kv in sorted(at.counts.items()))
    print("attacks %d wrong %d %s" % (at.total, at.wrong, kinds))


if __name__ == "__main__":
    main()
