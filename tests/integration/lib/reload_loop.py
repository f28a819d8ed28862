#!/usr/bin/env python3
"""reload_loop: policy reloads under a registration and lookup loop, for
093-policy-reload.

usage: reload_loop.py PORT EPMDCTL CONTROL CONFIG PID LOG A B X XLINE
           [--holders N] [--seconds S] [--max-reloads R] [--scale K]

1. Registers N long-lived nodes held0..held{N-1} (ports 20000+i) and
   keepme (port 19999) and keeps their connections open; every one must
   get result 0.
2. For S seconds (times K), concurrently:
   - two lookup loops: PORT2 of a random held name, whose answer must be
     exactly its port and name ("wrong" otherwise; "failed" when no
     whole answer came);
   - a churn loop: registers a fresh name (churnownI, covered by an
     owner rule that allows this uid in A and B, or churnfreeI, covered
     by none), checks result 0 and a lookup of it, then ends it;
   - the reloader: puts A, B and X (bad, its error on line XLINE) in
     turn in place of CONFIG (a temporary file renamed over it) and
     reloads, by `epmdctl reload` and SIGHUP in turn (the six pairs all
     come round): epmdctl must exit 0 for A and B, and 1 saying
     "epmdctl: reload: CONFIG:XLINE:" for X; a SIGHUP must bring the
     matching "SIGHUP: " line to LOG.  At most R reloads, spread over
     the time.
3. Looks every holder up once more, then prints one line:
     summary lookups L wrong W failed F churn C churn_failed CF
       reloads R good G bad B ctl RC hup RH reload_errors E
       last good|bad last_good A|B after_ok O of N seconds T
       max_lookup_ms M
4. Keeps the holders until its standard input ends, then prints
     alive A of N
   (holders, keepme included, whose connection saw no end or bytes).

Only the standard library; loopback only.
"""
import argparse
import os
import random
import shutil
import signal
import struct
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from epmdwire import Conn, alive2, port2  # noqa: E402


def err(*a):
    print(*a, file=sys.stderr, flush=True)


def register(port, name, nodeport, timeout):
    """An open Conn registered as name, or None with the reason."""
    try:
        c = Conn(port, timeout=timeout)
        c.send(alive2(name, port=nodeport))
        data, how = c.read(6, timeout)
    except OSError as e:
        return None, "%s: %r" % (name, e)
    if how != "ok" or data[:2] != b"v\x00":
        c.close()
        return None, "%s: reply %s (%s)" % (name, data.hex(), how)
    return c, None


def lookup(port, name, timeout):
    """("ok"|"wrong"|"failed", detail) for PORT2 of name."""
    try:
        c = Conn(port, timeout=timeout)
    except OSError as e:
        return None, "connect: %r" % e
    try:
        c.send(port2(name))
        data, how = c.read_to_end(timeout)
    except OSError as e:
        return None, "%r" % e
    finally:
        c.close()
    if how != "closed":
        return None, "reply %s then %s" % (data.hex(), how)
    return data, None


def port2_check(data, name, nodeport):
    """True when data is exactly the PORT2_RESP of name at nodeport."""
    nb = name.encode()
    if len(data) < 14 or data[:2] != b"w\x00":
        return False
    if struct.unpack(">H", data[2:4])[0] != nodeport:
        return False
    nlen = struct.unpack(">H", data[10:12])[0]
    return nlen == len(nb) and data[12:12 + nlen] == nb and \
        len(data) == 12 + nlen + 2 + struct.unpack(">H", data[12 + nlen:14 + nlen])[0]


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.lookups = self.wrong = self.failed = 0
        self.churn = self.churn_failed = 0
        self.max_lookup = 0.0
        self.errors = []

    def note(self, what):
        with self.lock:
            if len(self.errors) < 20:
                self.errors.append(what)


def lookup_loop(a, st, stop, holders, seed):
    rng = random.Random(seed)
    names = sorted(holders)
    timeout = 3.0 * a.scale
    while not stop.is_set():
        name = rng.choice(names)
        t0 = time.monotonic()
        data, why = lookup(a.port, name, timeout)
        dt = time.monotonic() - t0
        with st.lock:
            st.lookups += 1
            st.max_lookup = max(st.max_lookup, dt)
            if data is None:
                st.failed += 1
            elif not port2_check(data, name, holders[name]):
                st.wrong += 1
        if data is None:
            st.note("lookup %s failed: %s" % (name, why))
        elif not port2_check(data, name, holders[name]):
            st.note("lookup %s (port %d): wrong answer %s" % (name, holders[name], data.hex()))


def churn_loop(a, st, stop):
    timeout = 3.0 * a.scale
    i = 0
    while not stop.is_set():
        name = ("churnown%d" if i % 2 == 0 else "churnfree%d") % i
        nodeport = 30000 + i % 20000
        i += 1
        c, why = register(a.port, name, nodeport, timeout)
        bad = None
        if c is None:
            bad = "register " + why
        else:
            data, why = lookup(a.port, name, timeout)
            if data is None:
                bad = "lookup of %s failed: %s" % (name, why)
            elif not port2_check(data, name, nodeport):
                bad = "lookup of %s: wrong answer %s" % (name, data.hex())
            c.close()
        with st.lock:
            st.churn += 1
            st.churn_failed += bad is not None
        if bad is not None:
            st.note("churn: " + bad)


class Reloader:
    def __init__(self, a):
        self.a = a
        self.files = [("A", a.file_a), ("B", a.file_b), ("X", a.file_x)]
        self.logpos = 0
        self.reloads = self.good = self.bad = self.by_ctl = self.by_hup = 0
        self.errors = []
        self.last = None
        self.last_good = "A"    # what the daemon started with
        self.skip_log()

    def skip_log(self):
        """Read LOG from where it was up to now; its new lines."""
        with open(self.a.log, "rb") as f:
            f.seek(self.logpos)
            data = f.read()
        end = data.rfind(b"\n") + 1     # whole lines only
        self.logpos += end
        return data[:end].decode(errors="replace").splitlines()

    def put(self, path):
        """path in place of CONFIG, atomically (temporary file, rename)."""
        tmp = self.a.config + ".new"
        shutil.copyfile(path, tmp)
        os.chmod(tmp, 0o644)
        os.rename(tmp, self.a.config)

    def reload(self, i):
        a = self.a
        label, path = self.files[i % 3]
        by_ctl = i % 2 == 0
        good = label != "X"
        self.put(path)
        if by_ctl:
            self.by_ctl += 1
            r = subprocess.run([a.epmdctl, "-s", a.control, "reload"],
                               capture_output=True, text=True, timeout=60 * a.scale)
            if good and r.returncode != 0:
                self.errors.append("reload %d (%s, epmdctl): exit %d: %s"
                                   % (i, label, r.returncode, r.stderr.strip()))
            want = "epmdctl: reload: %s:%d:" % (a.config, a.xline)
            if not good and (r.returncode != 1 or not r.stderr.startswith(want)):
                self.errors.append("reload %d (X, epmdctl): exit %d, stderr %r (want 1 and %r)"
                                   % (i, r.returncode, r.stderr.strip(), want))
        else:
            self.by_hup += 1
            self.skip_log()
            os.kill(a.pid, signal.SIGHUP)
            # The next reload only once the daemon has done this one
            # (signals sent meanwhile would merge into one).
            deadline = time.monotonic() + 30 * a.scale
            got = []
            while not got and time.monotonic() < deadline:
                time.sleep(0.01)
                got = [l for l in self.skip_log() if " SIGHUP: " in l]
            if not got:
                self.errors.append("reload %d (%s, SIGHUP): nothing logged" % (i, label))
            elif len(got) > 1:
                self.errors.append("reload %d (%s, SIGHUP): %d reloads logged" % (i, label, len(got)))
            else:
                ok = ("SIGHUP: reloaded the configuration: " + a.config) in got[0] if good else \
                    ("SIGHUP: %s:%d:" % (a.config, a.xline) in got[0] and
                     got[0].endswith("; the policy in force is unchanged"))
                if not ok:
                    self.errors.append("reload %d (%s, SIGHUP): logged %r" % (i, label, got[0]))
        self.reloads += 1
        if good:
            self.good += 1
            self.last_good = label
        else:
            self.bad += 1
        self.last = "good" if good else "bad"


def main():
    ap = argparse.ArgumentParser()
    for f in ("port", "epmdctl", "control", "config", "pid", "log",
              "file_a", "file_b", "file_x", "xline"):
        ap.add_argument(f, type=int if f in ("port", "pid", "xline") else str)
    ap.add_argument("--holders", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=15)
    ap.add_argument("--max-reloads", type=int, default=150)
    ap.add_argument("--scale", type=float, default=1)
    a = ap.parse_args()
    timeout = 3.0 * a.scale

    holders = {"held%d" % i: 20000 + i for i in range(a.holders)}
    conns = {}
    for name, nodeport in list(holders.items()) + [("keepme", 19999)]:
        c, why = register(a.port, name, nodeport, timeout)
        if c is None:
            err("holder registration failed:", why)
            return 1
        conns[name] = c
    print("registered %d holders and keepme" % a.holders, flush=True)

    st = Stats()
    stop = threading.Event()
    threads = [threading.Thread(target=lookup_loop, args=(a, st, stop, holders, s))
               for s in (1, 2)]
    threads.append(threading.Thread(target=churn_loop, args=(a, st, stop)))
    rl = Reloader(a)
    seconds = a.seconds * a.scale
    gap = seconds / a.max_reloads
    t0 = time.monotonic()
    for t in threads:
        t.start()
    try:
        i = 0
        while i < a.max_reloads and time.monotonic() - t0 < seconds:
            due = t0 + i * gap
            if time.monotonic() < due:
                time.sleep(due - time.monotonic())
            rl.reload(i)
            i += 1
        # The lookups and churn run on to the end of the time.
        left = t0 + seconds - time.monotonic()
        if left > 0:
            time.sleep(left)
    finally:
        stop.set()
        for t in threads:
            t.join()
    secs = time.monotonic() - t0

    after_ok = 0
    for name, nodeport in holders.items():
        data, why = lookup(a.port, name, timeout)
        if data is not None and port2_check(data, name, nodeport):
            after_ok += 1
        else:
            st.note("after the loop, lookup %s: %s" % (name, why or data.hex()))
    for e in rl.errors[:10] + st.errors[:10]:
        err("error:", e)
    print("summary lookups %d wrong %d failed %d churn %d churn_failed %d "
          "reloads %d good %d bad %d ctl %d hup %d reload_errors %d "
          "last %s last_good %s after_ok %d of %d seconds %.1f max_lookup_ms %d"
          % (st.lookups, st.wrong, st.failed, st.churn, st.churn_failed,
             rl.reloads, rl.good, rl.bad, rl.by_ctl, rl.by_hup, len(rl.errors),
             rl.last, rl.last_good, after_ok, a.holders, secs, st.max_lookup * 1000),
          flush=True)

    sys.stdin.read()
    n = sum(c.alive() for c in conns.values())
    print("alive %d of %d" % (n, len(conns)), flush=True)
    for c in conns.values():
        c.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
