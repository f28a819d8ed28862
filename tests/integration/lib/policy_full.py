#!/usr/bin/env python3
"""policy_full: the configuration in force is saved even when the saved
state is full, with sdmanager.py as the service manager.

usage: policy_full.py EPMDD EPMDCTL TMPDIR
EPMDD is the Makefile's small-state daemon (STATE_MAX_SIZE of 4 MiB):
64 MiB would take more registrations than a process may hold
descriptors for.  Registers nodes of the longest names and extras until
the saved state cannot hold them all, reloads a stricter file, breaks
the file and restarts: the stricter configuration must be in force.
Prints "ok: ..." lines and raises on the first failure.
"""
import json
import os
import resource
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from epmdwire import Conn, alive2, free_port  # noqa: E402
from sdmanager import Manager  # noqa: E402
from policy_lib import log_of, names_refused, ok, write  # noqa: E402

EPMDD, EPMDCTL, TMP = sys.argv[1], sys.argv[2], sys.argv[3]
SCALE = float(os.environ.get("TEST_TIME_SCALE", "1"))
# 255 characters (10 ASCII, 245 of 4 bytes) and 1020 bytes of extra:
# about 2100 bytes a saved record, so 4 MiB holds fewer than 2000.
MAX_NODES = 4000
EXTRA = b"x" * 1020
LAX = "names any\n"
STRICT = "names none\nowner squat* user=54321\n"
BROKEN = "names none\nowner squat* user=epmdd-no-such-user\n"
FULL = "the saved state is full"


def name(i):
    return ("full%06d" % i).encode() + "\U0001F600".encode() * 245


def main():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < MAX_NODES + 100 <= hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (MAX_NODES + 100, hard))
    conf = os.path.join(TMP, "epmdd.conf")
    write(conf, LAX)
    m = Manager(EPMDD, TMP, free_port(), args=["-config", conf])
    held = []
    try:
        m.start()
        ok(not names_refused(m), "the lax file is in force: NAMES answered")
        # Fill until the daemon says the state is full; the log is read
        # every 100 registrations (bounded by MAX_NODES).
        t0 = time.time()
        full = False
        for i in range(MAX_NODES):
            c = Conn(m.port)
            c.send(alive2(name(i), port=1024 + i % 60000, extra=EXTRA))
            data, _ = c.read(6)
            assert len(data) == 6 and data[1] == 0, (i, data)
            held.append(c)
            if i % 100 == 99 and (FULL in log_of(m) or
                                   "stopping the journal" in log_of(m)):
                full = True
                break
        print("registered %d nodes in %.1f s" % (len(held), time.time() - t0))
        ok(full, "the saved state filled up at %d registrations" % len(held))

        # A stricter file, reloaded: in force, and (the point) saved.
        write(conf, STRICT)
        r = os.spawnv(os.P_WAIT, EPMDCTL, [EPMDCTL, "-s", m.control_path,
                                           "reload"])
        ok(r == 0, "reload of the stricter file")
        ok(names_refused(m), "the stricter file is in force: NAMES refused")

        # The file breaks; a restart keeps what the previous process had.
        write(conf, BROKEN)
        ok(m.restart() == 0, "restart with a broken file: the old daemon stopped")
        log = log_of(m)
        ok("keeping the configuration the previous process had" in log,
           "the new daemon keeps the saved configuration")
        ok(names_refused(m),
           "the saved configuration is the stricter one: NAMES refused")
        c = Conn(m.port)
        c.send(alive2("squat1", port=6001))
        data, _ = c.read(6)
        c.close()
        ok(len(data) == 6 and data[1] != 0,
           "and squat1, owned by uid 54321, is refused to root")
        p = json.loads(os.popen("%s -s %s --json policy" %
                                (EPMDCTL, m.control_path)).read())
        ok(p["saved"] is True, "policy says it is the saved configuration")
        # And again across a crash: the restarted process saved it too.
        ok(m.crash() == -9, "crash with the file still broken")
        ok(names_refused(m), "the stricter configuration is still in force")
    finally:
        for c in held:
            c.s.close()
        m.close()
    print("full state cases passed", flush=True)


main()
