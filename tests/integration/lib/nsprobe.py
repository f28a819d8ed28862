#!/usr/bin/env python3
"""nsprobe: one EPMD request from a chosen source address, for tests
that run it inside network namespaces of their own.

usage: nsprobe.py send|hold HOST PORT OP [ARG [SRC]]
  OP: alive2 (ARG NAME:NODEPORT), port2 NAME, stop NAME, names, dump,
      kill, or wait (ARG seconds: until HOST:PORT accepts)
  prints "<answer> <how the connection ended>"; answers: "-" (no byte),
  "port N", "missing", "7600"/"7601" (ALIVE2 accepted/refused), NAMES and
  DUMP as "PORT line;line", else the bytes as text.  HOST and SRC may be
  link-local with a %scope (fe80::1%eth0).  hold keeps an
  accepted registration open for HOLD_SECONDS (environment, default 30).
Every socket operation times out after PROBE_TIMEOUT seconds (default 2);
PROBE_SPORT, if set, is the source port (with SRC, or any address).
Only the standard library.
"""
import os
import socket
import struct
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import epmdwire as w  # noqa: E402

TIMEOUT = float(os.environ.get("PROBE_TIMEOUT", "2"))


def connect(host, port, src):
    fam = socket.AF_INET6 if ":" in host else socket.AF_INET
    sport = int(os.environ.get("PROBE_SPORT", "0"))
    if sport:
        src = (src or ("::" if fam == socket.AF_INET6 else "0.0.0.0"), sport)
    return w.Conn(port, family=fam, host=host, timeout=TIMEOUT, src=src)


def describe(op, data):
    if not data:
        return "-"
    if op == "port2":
        if data[:2] == b"w\x00" and len(data) >= 4:
            return "port %d" % struct.unpack(">H", data[2:4])[0]
        if data == b"w\x01":
            return "missing"
    if op in ("names", "dump") and len(data) >= 4:
        text = data[4:].replace(b"\0", b"").decode(errors="replace")
        return "%d %s" % (struct.unpack(">I", data[:4])[0],
                          ";".join(text.strip("\n").split("\n")))
    if op == "alive2":
        return data[:2].hex()
    return data.decode(errors="replace")


def packet(op, arg):
    if op == "alive2":
        name, nodeport = arg.split(":")
        return w.alive2(name, port=int(nodeport))
    return {"port2": lambda: w.port2(arg), "stop": lambda: w.stop(arg),
            "names": lambda: w.NAMES, "dump": lambda: w.DUMP,
            "kill": lambda: w.KILL}[op]()


def main():
    cmd, host, port, op = sys.argv[1:5]
    port = int(port)
    arg = sys.argv[5] if len(sys.argv) > 5 else ""
    src = sys.argv[6] if len(sys.argv) > 6 else ""
    if op == "wait":
        end = time.time() + float(arg)
        while True:
            try:
                connect(host, port, src).close()
                print("up")
                return
            except OSError as e:
                if time.time() > end:
                    print("down", e.__class__.__name__)
                    return
                time.sleep(0.05)
    try:
        c = connect(host, port, src)
    except OSError as e:
        print("connect-error", e.__class__.__name__)
        return
    c.send(packet(op, arg))
    if op == "alive2":
        # An accepted registration stays open: read the 6-byte reply.
        data, how = c.read(6, TIMEOUT)
        if len(data) == 6 and data[1] != 0:
            # A refused one is closed after its reply.
            more, how = c.read_to_end(TIMEOUT)
            data += more
    else:
        data, how = c.read_to_end(TIMEOUT)
    print(describe(op, data), how, flush=True)
    if cmd == "hold":
        time.sleep(float(os.environ.get("HOLD_SECONDS", "30")))
    c.close()


main()
