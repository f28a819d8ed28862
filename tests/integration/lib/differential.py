#!/usr/bin/env python3
"""differential: the same bytes to OTP's epmd and to epmdd, compared.

Each case below is a function of one Side (a fresh daemon of either kind
on a free loopback port) that records observations.  Both transcripts
must be equal after three normalisations that are not behaviour:
creation numbers are shown relative to the first one a name got, the fd
numbers in DUMP lines are masked, and the NAMES/DUMP port header is
shown as PORT when it equals the daemon's port.

Where epmdd deliberately differs from OTP 25 (doc/DECISIONS), a case
compares only what a client can observe of both (STOP of an unknown
name: the first 7 bytes) or leaves it out (a failed ALIVE2's connection
is closed by epmdd and kept by OTP; PORT_PLEASE2 of 255 characters; slow
senders past -packet_timeout).

usage: differential.py EPMDD [OTP_EPMD] [-k SUBSTRING] [-v]
"""
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from epmdwire import DUMP, KILL, NAMES, Conn, alive2, frame, free_port, port2, stop  # noqa: E402

CASES = []


def case(*flags, env=None):
    def wrap(fn):
        CASES.append((fn, list(flags), env or {}))
        return fn
    return wrap


class Side:
    """One daemon, fresh for one case, and what the case saw of it."""

    def __init__(self, binary, flags, env, logdir, label):
        self.port = free_port()
        e = {k: v for k, v in os.environ.items() if not k.startswith("ERL_EPMD_")}
        e.update(env)
        self.out = open(os.path.join(logdir, label + ".stdout"), "w+b")
        self.err = open(os.path.join(logdir, label + ".stderr"), "wb")
        self.proc = subprocess.Popen(
            [binary, "-port", str(self.port), "-address", "127.0.0.1"] + flags,
            stdin=subprocess.DEVNULL, stdout=self.out, stderr=self.err, env=e)
        self.seen = []
        self.creations = {}
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        time.sleep(0.05)

    def note(self, what, value):
        self.seen.append("%s => %r" % (what, value))

    def creation(self, name, value, form="v"):
        """A creation relative to the first one the name got.

        32-bit values: the difference.  16-bit values (cr % 3 + 1): the
        counter's step modulo 3, against the first 32-bit value if the
        name had one, else against its first 16-bit value.
        """
        if form == "v":
            first = self.creations.setdefault(name, ("v", value))
            if first[0] == "v":
                return "c0%+d" % (value - first[1])
            return "c0%+d" % (value - 1 - first[1])
        first = self.creations.setdefault(name, ("y", value - 1))
        return "c0%+d (mod 3)" % ((value - 1 - first[1]) % 3)

    def register(self, name, what=None, **kw):
        """ALIVE2 on a new connection; notes the reply; returns the Conn."""
        c = Conn(self.port)
        c.send(alive2(name, **kw))
        hv = kw.get("hv", 6)
        data, how = c.read(6 if hv >= 6 else 4)
        self.note(what or "alive2 %r" % (name,), self.alive2_reply(name, data, how))
        return c

    def alive2_reply(self, name, data, how):
        if len(data) == 6 and data[:1] == b"v":
            cr = struct.unpack(">I", data[2:])[0]
            return ("v", data[1], self.creation(name, cr) if data[1] == 0 else cr)
        if len(data) == 4 and data[:1] == b"y":
            cr = struct.unpack(">H", data[2:])[0]
            if data[1] != 0:
                return ("y", data[1], cr)
            if not 1 <= cr <= 3:
                return ("y", 0, "out of range: %d" % cr)
            return ("y", 0, self.creation(name, cr, "y"))
        return (data, "closed" if how == "reset" else how)

    def ask(self, data, what, gap=0.0, half_close=False, keep=None, timeout=3.0):
        """One request on a new connection; notes the reply and the ending."""
        c = Conn(self.port)
        try:
            c.send(data, gap)
            if half_close:
                c.half_close()
            reply, how = c.read_to_end(timeout)
        except OSError as e:
            reply, how = b"", e.__class__.__name__
        finally:
            c.close()
        if how == "reset":
            how = "closed"
        if keep is not None:
            reply = reply[:keep]
        self.note(what, (self.normalise(data, reply), how))

    def normalise(self, req, reply):
        tag = req[2:3]
        if tag == b"x" and len(reply) in (4, 6):
            return self.alive2_reply(req, reply, "ok")
        if tag in (b"n", b"d") and len(reply) >= 4:
            hdr = struct.unpack(">I", reply[:4])[0]
            body = reply[4:]
            if tag == b"d":
                body = re.sub(rb"fd = \d+", b"fd = F", body)
            return ("PORT" if hdr == self.port else hdr, body)
        return reply

    def exited(self, seconds):
        try:
            return self.proc.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            return None

    def finish(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.out.seek(0)
        stdout = self.out.read()
        self.out.close()
        self.err.close()
        self.note("daemon stdout", stdout)


# ------------------------------------------------------------------ cases

@case()
def register_lookup_list(d):
    a = d.register("alpha", port=4001)
    b = d.register("beta", port=4002, ntype=72, extra=b"\x00x\xff")
    d.ask(port2("alpha"), "port2 alpha")
    d.ask(port2("beta"), "port2 beta")
    d.ask(NAMES, "names")
    d.ask(DUMP, "dump")
    a.close()
    time.sleep(0.2)
    d.ask(NAMES, "names after alpha left")
    d.ask(DUMP, "dump after alpha left")
    b.close()


@case()
def version_forms(d):
    conns = [d.register("hv%d" % hv, port=6100 + hv, hv=hv, lv=min(hv, 5))
             for hv in (0, 2, 5, 6, 8, 300)]
    for hv in (0, 2, 5, 6, 8, 300):
        d.ask(port2("hv%d" % hv), "port2 hv%d" % hv)
    for c in conns:
        c.close()


@case()
def creation_sequence_mixed_versions(d):
    for i, hv in enumerate((6, 6, 5, 6, 5, 5, 6)):
        c = d.register("cycle", port=7000 + i, hv=hv, lv=5)
        c.close()
        time.sleep(0.15)


@case()
def duplicates_and_error_forms(d):
    a = d.register("same", port=4001)
    d.register("same", "dup v6", port=4002).close()
    d.register("same", "dup v5", port=4003, hv=5).close()
    d.register("x" * 300, "too long v6", port=4004).close()
    d.register("x" * 300, "too long v1", port=4004, hv=1).close()
    d.register(b"bad\xc0\x80", "bad utf8", port=4004).close()
    d.register("e", "extra 1021", port=4004, extra=b"e" * 1021).close()
    d.ask(port2("same"), "port2 same is the first")
    a.close()


@case()
def utf8_names(d):
    conns = []
    for name in ("\u00e9t\u00e9", "\u65e5\u672c", "\U0001F600" * 3, "a" * 254):
        conns.append(d.register(name.encode(), "alive2 %r" % name, port=4100))
    for name in ("\u00e9t\u00e9", "\u65e5\u672c", "\U0001F600" * 3, "a" * 254):
        d.ask(port2(name.encode()), "port2 %r" % name)
    d.ask(NAMES, "names")
    for c in conns:
        c.close()


@case()
def every_truncation_of_alive2(d):
    pkt = alive2("trunc", port=4242, extra=b"EX")
    for i in range(1, len(pkt)):
        d.ask(pkt[:i], "alive2 cut at %d, half-closed" % i, half_close=True)
    d.ask(NAMES, "names: nothing registered")


@case()
def every_truncation_of_port2(d):
    c = d.register("tnode", port=4243)
    pkt = port2("tnode")
    for i in range(1, len(pkt)):
        d.ask(pkt[:i], "port2 cut at %d, half-closed" % i, half_close=True)
    c.close()


@case()
def requests_split_in_two(d):
    c = d.register("split", port=4244)
    for pkt, what in ((port2("split"), "port2"), (NAMES, "names")):
        for i in range(1, len(pkt)):
            conn = Conn(d.port)
            conn.send(pkt[:i])
            time.sleep(0.02)
            conn.send(pkt[i:])
            reply, how = conn.read_to_end()
            conn.close()
            d.note("%s split at %d" % (what, i),
                   (d.normalise(pkt, reply), "closed" if how == "reset" else how))
    c.close()


@case()
def alive2_split_at_every_byte(d):
    pkt = alive2("bytewise", port=4245, extra=b"E")
    for i in range(1, len(pkt)):
        conn = Conn(d.port)
        conn.send(pkt[:i])
        time.sleep(0.02)
        conn.send(pkt[i:])
        data, how = conn.read(6)
        d.note("alive2 split at %d" % i, d.alive2_reply("bytewise", data, how))
        conn.close()
        time.sleep(0.05)


@case()
def framing(d):
    d.ask(b"\x00\x00", "length 0")
    d.ask(b"\x00\x00n", "length 0 and a byte")
    d.ask(frame(b"n" + b"\x00" * 3056), "NAMES of length 3057")
    d.ask(frame(b"n" + b"\x00" * 3057), "NAMES of length 3058")
    d.ask(b"\xff\xff" + b"n" * 100, "length 65535")
    d.ask(NAMES + b"\x00", "one byte after NAMES in one write")
    d.ask(port2("x") + port2("y"), "two PORT2 in one write")
    d.ask(b"\x00", "one byte, half-closed", half_close=True)
    d.ask(b"", "nothing, half-closed", half_close=True)
    for tag in b"aepqrAZ\x00\xff":
        d.ask(frame(bytes([tag]) + b"abc"), "tag %d" % tag)
    d.ask(NAMES, "names still answered")


@case()
def alive2_inconsistent_sizes(d):
    body = b"x" + struct.pack(">HBBHHH", 4000, 77, 0, 6, 5, 3) + b"abc"
    for i in range(len(body) + 3):
        d.ask(frame(body[:i] if i <= len(body) else body + b"\x00" * (i - len(body))),
              "alive2 body of %d bytes" % i)
    d.ask(alive2("abc", nlen=4), "Nlen one too many")
    d.ask(alive2("abc", elen=1), "Elen one too many")
    d.ask(alive2(b"a\x00c"), "NUL in the name")
    d.ask(NAMES, "names: none registered")


@case()
def registration_socket_rules(d):
    a = d.register("halfclosed", port=4001)
    a.half_close()
    d.note("half-closed registration", a.read_to_end(1.0)[1] in ("closed", "reset"))
    b = d.register("chatty", port=4002)
    b.send(b"?")
    d.note("registration after a stray byte", b.read_to_end(1.0)[1] in ("closed", "reset"))
    c = d.register("twice", port=4003)
    c.send(alive2("other", port=4004))
    d.note("registration after a second ALIVE2", c.read_to_end(1.0)[1] in ("closed", "reset"))
    time.sleep(0.2)
    d.ask(NAMES, "names: all gone")
    for x in (a, b, c):
        x.close()


@case()
def kill_refused_then_allowed(d):
    c = d.register("live", port=4001)
    d.ask(KILL, "kill with a live node")
    d.ask(stop("live"), "stop without relaxed")
    d.ask(DUMP, "dump")
    c.close()
    time.sleep(0.3)
    d.ask(KILL, "kill with no node")
    d.note("exit status", d.exited(3))


@case("-relaxed_command_check")
def relaxed_stop_and_kill(d):
    v = d.register("victim", port=4001)
    d.ask(stop("victim"), "stop victim")
    d.note("victim connection", v.read_to_end(1.0)[1] in ("closed", "reset"))
    d.ask(stop("victim"), "stop victim again", keep=7)
    d.ask(stop(b"victim\x00tail"), "stop with NUL", keep=7)
    w = d.register("victim", port=4002)
    d.ask(frame(b"kk"), "kill, relaxed, live node")
    d.note("registration after kill", w.read_to_end(2.0)[1] in ("closed", "reset"))
    d.note("exit status", d.exited(3))


@case(env={"ERL_EPMD_RELAXED_COMMAND_CHECK": "0"})
def relaxed_by_environment(d):
    c = d.register("envnode", port=4001)
    d.ask(stop("envnode"), "stop")
    c.close()


@case("-packet_timeout", "2")
def partial_requests_time_out(d):
    conns = []
    for what, data in (("empty", b""), ("length only", b"\x00\x05"),
                       ("half a port2", b"\x00\x05zab")):
        c = Conn(d.port)
        if data:
            c.send(data)
        conns.append((what, c))
    time.sleep(1.0)
    for what, c in conns:
        d.note("after 1 s: " + what, c.read_to_end(0.1)[1])
    time.sleep(3.5)
    for what, c in conns:
        d.note("after 4.5 s: " + what, c.read_to_end(0.5)[1] in ("closed", "reset"))
        c.close()


@case()
def ipv6_loopback_client(d):
    c = Conn(d.port, socket.AF_INET6)
    c.send(alive2("six", port=4006))
    d.note("alive2 over ::1", d.alive2_reply("six", *c.read(6)))
    d.ask(port2("six"), "port2 six")
    c.close()


# ------------------------------------------------------------------ runner

def main(argv):
    verbose = "-v" in argv
    argv = [a for a in argv if a != "-v"]
    only = ""
    if "-k" in argv:
        i = argv.index("-k")
        only = argv[i + 1]
        del argv[i:i + 2]
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    epmdd = argv[1]
    otp = argv[2] if len(argv) > 2 else "/usr/bin/epmd"
    logdir = tempfile.mkdtemp(prefix="epmdd-diff.")
    passed = failed = 0
    for fn, flags, env in CASES:
        if only not in fn.__name__:
            continue
        seen = []
        for binary, label in ((otp, "otp"), (epmdd, "epmdd")):
            side = Side(binary, flags, env, logdir, fn.__name__ + "." + label)
            try:
                fn(side)
            except Exception as e:  # part of the transcript
                side.note("exception", "%s: %s" % (e.__class__.__name__, e))
            finally:
                side.finish()
            seen.append(side.seen)
        if seen[0] == seen[1]:
            passed += 1
            print("same    %s (%d observations)" % (fn.__name__, len(seen[0])))
            continue
        failed += 1
        print("DIFFERS %s" % fn.__name__)
        for i, (x, y) in enumerate(zip(seen[0], seen[1])):
            if x != y:
                print("  step %d\n    otp:   %s\n    epmdd: %s" % (i, x, y))
                break
        else:
            print("  %d observations for otp, %d for epmdd" % (len(seen[0]), len(seen[1])))
        if verbose:
            print("  otp:\n    " + "\n    ".join(seen[0]))
            print("  epmdd:\n    " + "\n    ".join(seen[1]))
    print("differential: %d same, %d differ (logs in %s)" % (passed, failed, logdir))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
