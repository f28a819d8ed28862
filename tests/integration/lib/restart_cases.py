#!/usr/bin/env python3
"""restart_cases: registrations across restarts, with sdmanager.py.

usage: restart_cases.py EPMDD EPMDCTL TMPDIR [CASE...]
Each case prints "ok: ..." lines and raises on the first failure; the
last line is "N cases passed".  Cases:
  restart, crash, stop_start, died_while_down, many_died_while_down,
  shuffled, store_max, store_names, park_rewrite, park_restarts,
  stale_names, corrupt_state, torn_state, no_notify, notify_access,
  creations_continue, upgrade_under_manager, upgrade_failures; and, only when named:
  restart_loop, upgrade_loop, many_upgrade, otp_nodes
"""
import os
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from epmdwire import NAMES, Conn, alive2, exchange, free_port, lookup, port2  # noqa: E402
from sdmanager import Manager  # noqa: E402

EPMDD, EPMDCTL, TMP = sys.argv[1], sys.argv[2], sys.argv[3]
# Under VALGRIND=1 (test.common) EPMDD is a valgrind-wrap script that
# runs EPMDD_REAL under memcheck, and time bounds scale by TEST_TIME_SCALE.
EPMDD_REAL = os.environ.get("EPMDD_REAL", EPMDD)
SCALE = float(os.environ.get("TEST_TIME_SCALE", "1"))


def wait_listening(port):
    """Until the daemon just started accepts on port."""
    deadline = time.time() + 10 * SCALE
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            assert time.time() < deadline, "nothing listens on %d" % port
            time.sleep(0.05)


def proc_exe(pid):
    """The program pid runs (under valgrind: the first argument after
    valgrind's options, as /proc/pid/exe is valgrind's tool)."""
    exe = os.path.realpath("/proc/%d/exe" % pid)
    if "/valgrind/" in exe:
        for a in open("/proc/%d/cmdline" % pid, "rb").read().split(b"\0")[1:]:
            if a and not a.startswith(b"-"):
                return os.path.realpath(a.decode())
    return exe


def ok(cond, what):
    if not cond:
        raise AssertionError(what)
    print("ok:", what, flush=True)


def names(port):
    data, _ = exchange(port, NAMES)
    return sorted(l.split(" ")[1] for l in data[4:].decode().splitlines())


def wait_names(port, want, tries=100):
    """The names listed, polled every 50 ms until they are want (at
    most tries times): the last list seen."""
    got = []
    for _ in range(tries):
        got = names(port)
        if got == want:
            break
        time.sleep(0.05)
    return got


def ctl_nodes(m):
    import json
    r = subprocess.run([EPMDCTL, "-s", m.control_path, "--json", "names"],
                       capture_output=True, text=True, timeout=20)
    return {n["name"]: n for n in json.loads(r.stdout)["nodes"]}


# Every field of `epmdctl --json names` survives a restart or an upgrade
# except the age, which is registered_at seen from the clock of now.
AGE_FIELDS = {"registered_seconds"}


def same_nodes(before, after, only=None):
    """Every node of `only` (default: all of before) is in after with
    every field equal but the age, which grows or stays; the reasons why
    not, or [] if so."""
    bad = []
    for n in (before if only is None else only):
        b, a = before[n], after.get(n)
        if a is None:
            bad.append("%s missing" % n)
            continue
        if sorted(a) != sorted(b):
            bad.append("%s: fields %s became %s" % (n, sorted(b), sorted(a)))
        bad += ["%s %s: %r became %r" % (n, k, b[k], a.get(k))
                for k in sorted(set(b) - AGE_FIELDS) if a.get(k) != b[k]]
        if not a.get("registered_seconds", -1) >= b["registered_seconds"]:
            bad.append("%s age went back" % n)
    return bad


def port2_replies(port, nodes):
    """The raw PORT2_RESP of each name."""
    return {n: exchange(port, port2(n))[0] for n in nodes}


def state_memfds(pid):
    """How many saved-state memfds (persist.c's slots) pid holds."""
    d = "/proc/%d/fd" % pid
    n = 0
    for fd in os.listdir(d):
        try:
            n += os.readlink(os.path.join(d, fd)).startswith("/memfd:epmdd-state")
        except OSError:
            pass
    return n


def hold(port, name, nodeport, hv=6, ntype=77):
    c = Conn(port)
    c.send(alive2(name, port=nodeport, hv=hv, lv=min(hv, 5), ntype=ntype))
    data, how = c.read(6 if hv >= 6 else 4)
    assert how == "ok" and data[1] == 0, (name, data, how)
    return c


def alive(c):
    """No end-of-file or reset on a holder's socket."""
    c.s.setblocking(False)
    try:
        return c.s.recv(1) is None
    except BlockingIOError:
        return True
    except OSError:
        return False
    finally:
        c.s.setblocking(True)


MANAGERS = []


def manager(**kw):
    d = os.path.join(TMP, "m%d" % int(time.time() * 1e6))
    os.makedirs(d)
    m = Manager(EPMDD, d, free_port(), **kw)
    MANAGERS.append(m)
    return m


# ---------------------------------------------------------------- cases

def case_restart():
    m = manager()
    try:
        m.start()
        hs = [hold(m.port, "r%d" % i, 5000 + i) for i in range(3)]
        hs.append(hold(m.port, "old5", 5005, hv=5))   # a client that never re-registers
        hs.append(hold(m.port, "cnode", 5006, ntype=104))
        before = ctl_nodes(m)
        replies = port2_replies(m.port, before)
        m.pump(0.2)
        ok(m.parked_ids() == [1, 2, 3, 4, 5],
           "every registration's socket is parked, once")
        ok(m.stored_names() == ["p1", "state.0", "state.1"],
           "in one stored segment beside the two state slots")
        ok(state_memfds(m.proc) == 2, "with NOTIFY_SOCKET the daemon holds its two saved-state memfds")
        time.sleep(1.1)             # so that a registration time made anew would differ
        rc = m.restart()
        ok(rc == 0, "epmdd stopped cleanly (status 0)")
        after = ctl_nodes(m)
        ok(sorted(after) == sorted(before), "every node is listed after the restart")
        bad = same_nodes(before, after)
        ok(bad == [], "every field of names --json but the age is unchanged %s" % bad[:3])
        ok(port2_replies(m.port, before) == replies, "every node's PORT2_RESP is the same bytes")
        ok(state_memfds(m.proc) == 2, "the restarted daemon holds two saved-state memfds too")
        ok(all(alive(h) for h in hs), "no holder saw its connection end")
        ok(lookup(m.port, "old5") == 5005, "the hv 5 registration still answers lookups")
        hs[0].close()
        time.sleep(0.3)
        ok("r0" not in names(m.port), "a restored registration still ends when its node closes")
        # A stop closes the node's connection although a copy is parked.
        r = subprocess.run([EPMDCTL, "-s", m.control_path, "stop", "r1"],
                           capture_output=True, text=True, timeout=20)
        ok(r.returncode == 0, "epmdctl stop r1 after the restart")
        time.sleep(0.3)
        ok(not alive(hs[1]) and alive(hs[2]),
           "r1's holder sees its connection end, r2's does not")
        for h in hs:
            h.close()
    finally:
        m.close()


def case_crash():
    m = manager()
    try:
        m.start()
        hs = [hold(m.port, "c%d" % i, 5100 + i) for i in range(4)]
        # A new name's creation comes from the clock's second, so c3's own
        # first creation is the reference, not c0's.
        c3_first = ctl_nodes(m)["c3"]["creation"]
        hs[3].close()
        time.sleep(0.2)
        before = ctl_nodes(m)
        replies = port2_replies(m.port, before)
        time.sleep(1.1)
        rc = m.crash()
        ok(rc == -9, "epmdd was killed (SIGKILL)")
        after = ctl_nodes(m)
        ok(sorted(after) == ["c0", "c1", "c2"], "after a crash the journal gives back c0..c2, not c3")
        bad = same_nodes(before, after)
        ok(bad == [], "every field of names --json but the age is unchanged across the crash %s" % bad[:3])
        ok(port2_replies(m.port, before) == replies, "and every PORT2_RESP is the same bytes")
        ok(all(alive(h) for h in hs[:3]), "the holders never saw end-of-file")
        # The old name's memory survived the crash: c3 continues its count.
        h = hold(m.port, "c3", 5103)
        ok(ctl_nodes(m)["c3"]["creation"] == c3_first + 1,
           "c3 coming back gets its next creation (old-name memory kept)")
        for x in hs + [h]:
            x.close()
    finally:
        m.close()


def case_stop_start():
    m = manager()
    try:
        m.start()
        hs = [hold(m.port, "s%d" % i, 5200 + i) for i in range(3)]
        rc = m.stop()
        ok(rc == 0, "stopped cleanly")
        time.sleep(0.2)
        ok(not any(alive(h) for h in hs), "stop empties the store: every holder sees end-of-file")
        m.start()
        ok(names(m.port) == [], "a start after a stop begins empty")
        h = hold(m.port, "s0", 5200)
        ok(lookup(m.port, "s0") == 5200, "nodes register again as usual")
        for x in hs + [h]:
            x.close()
    finally:
        m.close()


def case_died_while_down():
    m = manager()
    try:
        m.start()
        hs = [hold(m.port, "d%d" % i, 5300 + i) for i in range(3)]
        os.kill(m.proc, 15)
        m._exit_status()
        m.pump()
        hs[1].close()               # the node dies while no daemon runs
        time.sleep(0.1)
        m.start()
        ok(names(m.port) == ["d0", "d2"], "a node that died while the daemon was down is not listed")
        m.pump(0.3)
        ok(m.parked_ids() == [1, 3],
           "its socket left the store (its segment, a third dead, was "
           "rewritten), the others' stay parked")
        for x in hs:
            x.close()
    finally:
        m.close()


def case_many_died_while_down(count=2000):
    """Issue 17: sockets are taken after the listeners serve.  Lookups
    right after the restart answer from the saved state, nodes that died
    while no daemon ran are dropped once their sockets are taken, and an
    in-place upgrade (sockets left at their numbers) keeps the rest."""
    import signal
    m = manager(store_max=8192)
    try:
        m.start()
        hs = [hold(m.port, "w%04d" % i, 20000 + i) for i in range(count)]
        for _ in range(100):
            m.pump(0.05)
            if len(m.parked_ids()) == count:
                break
        os.kill(m.proc, signal.SIGKILL)
        m._exit_status()
        m.pump()
        dead = set(range(0, count, 3))
        for i in dead:
            hs[i].close()           # died while no daemon runs
        time.sleep(0.1)
        m.start()
        # At once, while sockets may still be waiting: a survivor's
        # lookup gets its own port (never "not found").
        live = [i for i in range(1, count, 97) if i not in dead]
        ports = [lookup(m.port, "w%04d" % i) for i in live]
        ok(ports == [20000 + i for i in live],
           "lookups right after the restart answer from the saved state")
        want = sorted("w%04d" % i for i in range(count) if i not in dead)
        got = wait_names(m.port, want)
        ok(got == want, "the %d nodes that died while down are dropped, "
           "the %d others kept (got %d)" % (len(dead), len(want), len(got)))
        m.pump(0.3)
        stored = m.parked_ids()
        ok(len(stored) == len(want), "their sockets left the store (%d parked)"
           % len(stored))
        segs = [x for x in m.stored_names() if x.startswith("p")]
        ok(1 <= len(segs) <= 3, "in %d stored segments" % len(segs))
        ok(all(alive(hs[i]) for i in range(count) if i not in dead),
           "the survivors never saw end-of-file")
        ok("restored %d registrations; %d ended while no daemon ran"
           % (len(want), len(dead)) in open(m.log).read(),
           "the log counts them once every socket is taken")
        # An in-place upgrade: nothing renumbered, every node kept; one
        # that ends just after SIGUSR2 is dropped.
        os.kill(m.proc, signal.SIGUSR2)
        hs[1].close()
        want.remove("w0001")
        deadline = time.time() + 20
        while open(m.log).read().count("restored ") < 2:
            assert time.time() < deadline, "no upgrade"
            time.sleep(0.05)
        got = wait_names(m.port, want)
        ok(got == want, "after an upgrade the same nodes are listed, "
           "less the one that ended (%d)" % len(got))
        ok(lookup(m.port, "w%04d" % (count - 1)) == 20000 + count - 1,
           "and answered with their ports")
        ok("dropping passed fd" not in open(m.log).read(),
           "no descriptor was dropped as unknown")
        for x in hs:
            x.close()
    finally:
        m.close()


def case_shuffled():
    m = manager(seed=7)
    try:
        m.start()
        hs = [hold(m.port, "sh%02d" % i, 5400 + i) for i in range(12)]
        before = ctl_nodes(m)
        replies = port2_replies(m.port, before)
        for seed in (1, 2, 3):
            m.rng.seed(seed)
            m.restart(shuffle=True)
            after = ctl_nodes(m)
            bad = same_nodes(before, after)
            ok(sorted(after) == sorted(before) and bad == [] and
               port2_replies(m.port, before) == replies,
               "fds handed back in shuffled order (seed %d) are matched by name: every field "
               "and PORT2_RESP unchanged %s" % (seed, bad[:3]))
        # Each node's socket is its own: closing one ends exactly that node.
        hs[5].close()
        time.sleep(0.3)
        ok(sorted(names(m.port)) == sorted("sh%02d" % i for i in range(12) if i != 5),
           "closing one holder ends exactly its own registration")
        for x in hs:
            x.close()
    finally:
        m.close()


def case_store_max():
    """FileDescriptorStoreMax=4: two state slots and the segments, which
    hold any number of registrations: 600 (fresh segments of 256 are
    rewritten into one dense one)."""
    m = manager(store_max=4)
    try:
        m.start()
        hs = [hold(m.port, "m%03d" % i, 5500 + i) for i in range(600)]
        m.pump(0.3)
        ok(m.refused_store == 0, "the store refused nothing (%d)" % m.refused_store)
        ok(len(m.parked_ids()) == 600, "600 sockets parked in %s"
           % [x for x in m.stored_names() if x.startswith("p")])
        before = ctl_nodes(m)
        replies = port2_replies(m.port, ["m000", "m299", "m599"])
        m.restart()
        ok(len(names(m.port)) == 600, "every registration survives the restart")
        bad = same_nodes(before, ctl_nodes(m))
        ok(bad == [] and port2_replies(m.port, replies) == replies,
           "with every field and PORT2_RESP unchanged %s" % bad[:3])
        ok(all(alive(h) for h in hs), "no holder saw its connection end")
        for x in hs:
            x.close()
    finally:
        m.close()


def case_park_rewrite():
    """Parked sockets of ended registrations do not pile up: a segment a
    quarter dead is rewritten without them, and the peers see their
    registrations end although a copy was parked (Decision 22)."""
    m = manager()
    try:
        m.start()
        hs = [hold(m.port, "pk%03d" % i, 9000 + i) for i in range(600)]
        ids = m.parked_ids()
        ok(ids == list(range(1, 601)), "600 registrations, each parked once")
        for h in hs[::2]:
            h.close()
        live = list(range(2, 601, 2))   # ids of pk001, pk003, ...
        want = ["pk%03d" % i for i in range(1, 600, 2)]
        got = wait_names(m.port, want)
        ok(got == want, "the 300 closed ones are unregistered")
        m.pump(0.3)
        ids = m.parked_ids()
        dead = len(ids) - len(set(ids) & set(live))
        ok(set(live) <= set(ids) and len(ids) == len(set(ids)),
           "every live socket is parked, once")
        ok(dead <= 64 + 256 // 4 + 16,
           "at most %d of the 300 dead ones are still parked (%d)"
           % (64 + 256 // 4 + 16, dead))
        segs = [x for x in m.stored_names() if x.startswith("p")]
        ok(len(segs) <= 3, "in %d stored segments" % len(segs))
        r = subprocess.run([EPMDCTL, "-s", m.control_path, "stop", "pk001"],
                           capture_output=True, text=True, timeout=20)
        time.sleep(0.3)
        ok(r.returncode == 0 and not alive(hs[1]) and alive(hs[3]),
           "a stopped registration's peer sees the end at once")
        m.restart()
        ok(names(m.port) == want[1:], "a restart brings back exactly the live ones")
        ok(all(alive(h) for h in hs[3::2]), "whose holders never noticed")
        for h in hs:
            h.close()
    finally:
        m.close()


def case_park_restarts():
    """Segments do not pile up across restarts and upgrades: each process
    leaves its open ones behind, holding the nodes that registered with
    it, and the next merges the small ones (park_tidy)."""
    import signal
    m = manager()
    try:
        m.start()
        hs = [hold(m.port, "pr%03d" % i, 9700 + i) for i in range(300)]
        counts = []
        for r in range(12):
            hs += [hold(m.port, "late%02d%d" % (r, i), 9100 + i)
                   for i in range(5)]
            brief = [hold(m.port, "brief%02d%d" % (r, i), 9200 + i)
                     for i in range(4)]
            for b in brief:
                b.close()
            if r % 4 == 3:
                t0 = time.time()
                os.kill(m.proc, signal.SIGUSR2)
                m.wait_for("READY", "1", since=t0)
            else:
                m.restart()
            time.sleep(0.1)
            m.pump(0.1)
            counts.append(len([x for x in m.stored_names() if x.startswith("p")]))
        ok(max(counts) <= 4, "stored segments after each of 12 restarts "
           "and upgrades: %s" % counts)
        got = names(m.port)
        ok(len(got) == 360 and "late114" in got,
           "the 360 long-lived nodes are all there (%d names)" % len(got))
        ids = m.parked_ids()
        ok(len(set(ids)) >= 360 and len(ids) == len(set(ids)),
           "each socket is parked once")
        ok(all(alive(h) for h in hs), "and none of them noticed")
        for h in hs:
            h.close()
    finally:
        m.close()


def case_stale_names():
    m = manager()
    try:
        m.start()
        h = hold(m.port, "real", 5600)
        # A connected TCP socket under an id no record has, and a pipe.
        srv = socket.socket()
        srv.bind(("127.0.0.1", 0))
        srv.listen(1)
        stray = socket.create_connection(srv.getsockname())
        r, w = os.pipe()
        inject = [("rzzzz", os.dup(stray.fileno())), ("bogus", r)]
        os.kill(m.proc, 15)
        m._exit_status()
        stored = m.stored_names()
        t0 = time.time()
        m.start(inject=inject)
        ok(names(m.port) == ["real"], "with unknown and stale names at start, the real node is kept")
        log = open(m.log).read()
        ok("dropping passed fd" in log and "rzzzz" in log and "bogus" in log,
           "each dropped descriptor is logged by name")

        def removed():
            with m.lock:
                return sorted(f.get("FDNAME") for t, _, f in m.messages
                              if t >= t0 and f.get("FDSTOREREMOVE") == "1")
        deadline = time.time() + 5 * SCALE
        while removed() != ["bogus", "rzzzz"] and time.time() < deadline:
            m.pump(0.05)
        m.pump(0.3)                 # and nothing more comes
        ok(removed() == ["bogus", "rzzzz"],
           "FDSTOREREMOVE=1 is sent once for each of rzzzz and bogus, for no other name (%s)" % removed())
        ok(m.stored_names() == stored, "the real node's socket and the state slots stay in the store")
        os.close(w)
        stray.close()
        srv.close()
        h.close()
    finally:
        m.close()


def corrupt(m, how):
    for name, fd in m.store:
        if name.startswith("state."):
            size = os.fstat(fd).st_size
            if how == "garbage":
                os.pwrite(fd, b"\xff" * 64, 40)
            elif how == "foreign":
                os.pwrite(fd, b"NOTEPMDD", 0)
            elif how == "torn":
                os.ftruncate(fd, size - 3)


def case_corrupt_state():
    for how in ("garbage", "foreign"):
        m = manager()
        try:
            m.start()
            hs = [hold(m.port, "x%d" % i, 5700 + i) for i in range(3)]
            os.kill(m.proc, 15)
            m._exit_status()
            m.pump()
            corrupt(m, how)
            m.start()
            ok(names(m.port) == [], "a %s state blob is rejected: the daemon starts clean" % how)
            ok("rejected" in open(m.log).read(), "and says the saved state was rejected")
            time.sleep(0.2)
            ok(not any(alive(x) for x in hs), "the orphaned sockets are closed (nodes re-register)")
            h = hold(m.port, "x0", 5700)
            ok(lookup(m.port, "x0") == 5700, "and it serves normally")
            for x in hs + [h]:
                x.close()
        finally:
            m.close()


def case_torn_state():
    m = manager()
    try:
        m.start()
        hs = [hold(m.port, "t%d" % i, 5800 + i) for i in range(3)]
        m.crash()  # the new process compacts into the other slot once it serves
        late = hold(m.port, "late", 5899)  # one journal record after it
        os.kill(m.proc, 9)
        m._exit_status()
        m.pump()
        corrupt(m, "torn")          # both slots: cut 3 bytes off each
        m.start()
        got = names(m.port)
        ok(got[:3] == ["t0", "t1", "t2"] or sorted(got) == ["t0", "t1", "t2"],
           "a journal cut short mid-record still gives back what it holds")
        ok("late" not in got, "the cut record is ignored: its node is not listed")
        # The loaded slot goes on (the cut record cut off) until the
        # snapshot owed since start-up is written: what comes after it
        # is kept by either.
        after = hold(m.port, "after", 5898)
        m.crash()
        got = names(m.port)
        ok(sorted(got) == ["after", "t0", "t1", "t2"],
           "records after a cut-short one survive the next crash: %r" % got)
        for x in hs + [late, after]:
            x.close()
    finally:
        m.close()


def case_no_notify():
    m = manager(notify=False)
    try:
        m.start()
        h = hold(m.port, "plain", 5900)
        ok(lookup(m.port, "plain") == 5900 and names(m.port) == ["plain"],
           "without NOTIFY_SOCKET registration, lookup and NAMES work")
        ok(sorted(ctl_nodes(m)) == ["plain"], "and epmdctl on the passed control socket")
        # With no store to keep them in, no saved-state memfd is made
        # (case_restart checks that there are two with NOTIFY_SOCKET).
        ok(state_memfds(m.proc) == 0, "no saved-state memfd is kept without a store")
        h.close()
    finally:
        m.close()


def case_notify_access():
    """The manager's NotifyAccess=main: another pid cannot touch the store."""
    m = manager()
    try:
        m.start()
        h = hold(m.port, "na", 6100)
        m.pump(0.2)
        stored = m.stored_names()
        ok("p1" in stored and m.parked_ids() == [1],
           "the node's socket is parked in the store")
        intruder = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        intruder.sendto(b"FDSTOREREMOVE=1\nFDNAME=p1", m.notify_path)
        intruder.sendmsg([b"FDSTORE=1\nFDNAME=intruder"],
                         [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("i", intruder.fileno()))],
                         0, m.notify_path)
        intruder.close()
        deadline = time.time() + 5
        while len(m.ignored) < 2 and time.time() < deadline:
            m.pump(0.05)
        ok([(pid, f.get("FDNAME")) for _, pid, f in m.ignored] == [(os.getpid(), "p1"), (os.getpid(), "intruder")],
           "both messages from the test's own pid were ignored")
        ok(m.stored_names() == stored, "and the store is as it was")
        m.ignored.clear()           # expected here; main() checks every other case has none
        h.close()
    finally:
        m.close()


def case_creations_continue():
    m = manager()
    try:
        m.start()
        h = hold(m.port, "again", 6000)
        first = ctl_nodes(m)["again"]["creation"]
        h.close()
        time.sleep(0.2)
        m.restart()
        h = hold(m.port, "again", 6000)
        ok(ctl_nodes(m)["again"]["creation"] == first + 1,
           "a name unregistered before a restart continues its creation count after it")
        h.close()
    finally:
        m.close()


MODE = os.environ.get("NODE_MODE", "-sname")


def erl_eval(port, host, expr, name):
    r = subprocess.run(["erl", "-noshell", "-start_epmd", "false", MODE, name + "@" + host,
                        "-hidden", "-setcookie", "epmddtest", "-eval", expr + ", halt()."],
                       env=dict(os.environ, ERL_EPMD_PORT=str(port)), capture_output=True,
                       text=True, timeout=60)
    return r.stdout.strip()


def case_otp_nodes():
    """Real OTP nodes keep their registration, untouched, across a restart."""
    host = os.environ.get("NODE_HOST") or socket.gethostname().split(".")[0]
    m = manager()
    nodes = []
    try:
        m.start()
        env = dict(os.environ, ERL_EPMD_PORT=str(m.port))
        for n in ("otpa", "otpb"):
            nodes.append(subprocess.Popen(
                ["erl", "-noshell", "-start_epmd", "false", MODE, n + "@" + host,
                 "-setcookie", "epmddtest", "-eval", "receive after infinity -> ok end."],
                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        deadline = time.time() + 30
        while sorted(names(m.port)) != ["otpa", "otpb"]:
            assert time.time() < deadline, "the nodes did not register"
            time.sleep(0.1)
        own = erl_eval(m.port, host, "io:format(\"~p ~p\", [rpc:call('otpa@%s', erlang, system_info, [creation]), "
                       "rpc:call('otpb@%s', erlang, system_info, [creation])])" % (host, host), "probe1")
        before = ctl_nodes(m)
        replies = port2_replies(m.port, before)
        logged = open(m.log).read().count("registered 'otpa'")
        time.sleep(1.1)             # so that a registration time made anew would differ
        t0 = time.time()
        m.restart()
        listed = ctl_nodes(m)
        ok(time.time() - t0 < 2.0 * SCALE and sorted(listed) == ["otpa", "otpb"],
           "both nodes are listed at once after the restart (%.0f ms)" % ((time.time() - t0) * 1000))
        bad = same_nodes(before, listed)
        ok(bad == [], "with every field of names --json but the age unchanged %s" % bad[:3])
        ok(port2_replies(m.port, before) == replies, "and the same PORT2_RESP bytes")
        ok("%d %d" % (listed["otpa"]["creation"], listed["otpb"]["creation"]) == own,
           "which are the nodes' own (%s)" % own)
        out = erl_eval(m.port, host, "io:format(\"~p ~p\", [net_adm:ping('otpa@%s'), "
                       "rpc:call('otpa@%s', net_adm, ping, ['otpb@%s'])])" % (host, host, host), "probe2")
        ok(out == "pong pong", "they are reachable through the restarted daemon (%s)" % out)
        time.sleep(2.5)  # longer than OTP's 2 s re-registration delay
        ok(open(m.log).read().count("registered 'otpa'") == logged,
           "and never registered again (their connection never saw end-of-file)")
    finally:
        for p in nodes:
            p.terminate()
            p.wait(10)
        m.close()


# ---------------------------------------------------------------- loops

class Lookups:
    """A lookup loop in a thread: every lookup a new connection."""

    def __init__(self, port, want):
        import threading
        self.port, self.want = port, want
        self.n = self.failed = self.refused = 0
        self.stall = 0.0
        self.errors = []
        self.stop = threading.Event()
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        names = sorted(self.want)
        i = 0
        while not self.stop.is_set():
            name = names[i % len(names)]
            i += 1
            t = time.time()
            try:
                c = Conn(self.port, timeout=10)
                c.send(port2(name))
                data, how = c.read_to_end(10)
                c.close()
                if data[:2] != b"w\x00" or struct.unpack(">H", data[2:4])[0] != self.want[name]:
                    self.failed += 1
                    self.errors.append((name, data[:4], how))
            except ConnectionRefusedError:
                self.refused += 1
            except OSError as e:
                self.failed += 1
                self.errors.append((name, repr(e)))
            self.stall = max(self.stall, time.time() - t)
            self.n += 1

    def finish(self):
        self.stop.set()
        self.t.join()


def case_restart_loop(count=100):
    m = manager()
    try:
        m.start()
        want = {"loop%d" % i: 7000 + i for i in range(3)}
        hs = [hold(m.port, n, p) for n, p in want.items()]
        lk = Lookups(m.port, want)
        t0 = time.time()
        for i in range(count):
            m.restart()
        secs = time.time() - t0
        time.sleep(0.2)
        lk.finish()
        print("restart loop: %d restarts (SIGTERM, start again) in %.1f s, %d lookups, "
              "%d failed, %d refused, longest lookup %.0f ms"
              % (count, secs, lk.n, lk.failed, lk.refused, lk.stall * 1000))
        ok(lk.failed == 0 and lk.refused == 0,
           "0 failed and 0 refused lookups across %d restarts %s" % (count, lk.errors[:3]))
        ok(all(alive(h) for h in hs), "no registration saw its connection end")
        for h in hs:
            h.close()
    finally:
        m.close()


def case_upgrade_loop(count=100):
    import signal
    port = free_port()
    d = os.path.join(TMP, "up%d" % port)
    os.makedirs(d)
    log = open(os.path.join(d, "epmdd.log"), "wb")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ERL_EPMD_", "LISTEN_", "NOTIFY_"))}
    p = subprocess.Popen([EPMDD, "-port", str(port), "-address", "127.0.0.1",
                          "-control", os.path.join(d, "control")],
                         stdout=subprocess.DEVNULL, stderr=log, env=env)
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        want = {"up%d" % i: 7100 + i for i in range(3)}
        hs = [hold(port, n, pp) for n, pp in want.items()]
        lk = Lookups(port, want)
        t0 = time.time()
        logpath = os.path.join(d, "epmdd.log")
        for i in range(count):
            if i % 10 == 0:
                r = subprocess.run([EPMDCTL, "-s", os.path.join(d, "control"), "upgrade"],
                                   capture_output=True, timeout=30)
                assert r.returncode == 0, r.stderr
            else:
                os.kill(p.pid, signal.SIGUSR2)
            # The next one only once this one is done.
            deadline = time.time() + 10
            while open(logpath).read().count("nodes registered; listening") < i + 2:
                assert time.time() < deadline, "upgrade %d did not finish" % i
                time.sleep(0.01)
        secs = time.time() - t0
        time.sleep(0.2)
        lk.finish()
        print("upgrade loop: %d upgrades (every tenth by epmdctl, the rest by SIGUSR2) in %.1f s, "
              "%d lookups, %d failed, %d refused, longest lookup %.0f ms"
              % (count, secs, lk.n, lk.failed, lk.refused, lk.stall * 1000))
        ok(p.poll() is None, "the same process (pid %d) is still running" % p.pid)
        ok(lk.failed == 0 and lk.refused == 0,
           "0 failed and 0 refused lookups across %d upgrades %s" % (count, lk.errors[:3]))
        ok(all(alive(h) for h in hs), "no registration saw its connection end")
        ok(sorted(names(port)) == sorted(want), "every node is still listed")
        for h in hs:
            h.close()
    finally:
        p.terminate()
        p.wait(10)


def case_upgrade_under_manager():
    """An upgrade while the store is in use: nothing doubles or leaks."""
    import signal
    m = manager()
    try:
        m.start()
        hs = [hold(m.port, "um%d" % i, 7200 + i) for i in range(3)]
        before = m.stored_names()
        nodes = ctl_nodes(m)
        replies = port2_replies(m.port, nodes)
        t0 = time.time()
        os.kill(m.proc, signal.SIGUSR2)
        m.wait_for("READY", "1", since=t0)
        ok(m.stored_names() == before, "after an in-place upgrade the store holds the same names once")
        bad = same_nodes(nodes, ctl_nodes(m))
        ok(bad == [] and port2_replies(m.port, nodes) == replies,
           "every field of names --json but the age, and PORT2_RESP, unchanged %s" % bad[:3])
        m.restart()
        ok(sorted(names(m.port)) == ["um0", "um1", "um2"], "and a restart after it still restores them")
        for h in hs:
            h.close()
    finally:
        m.close()


def case_upgrade_failures():
    port = free_port()
    d = os.path.join(TMP, "uf%d" % port)
    os.makedirs(d)
    ctl = os.path.join(d, "control")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ERL_EPMD_", "LISTEN_", "NOTIFY_"))}
    p = subprocess.Popen([EPMDD, "-port", str(port), "-address", "127.0.0.1", "-control", ctl],
                         stdout=subprocess.DEVNULL, stderr=open(os.path.join(d, "log"), "wb"), env=env)
    try:
        wait_listening(port)
        h = hold(port, "keep", 7300)
        for bad, why in (("/bin/false", "does not run"), (os.path.join(d, "missing"), "No such file")):
            r = subprocess.run([EPMDCTL, "-s", ctl, "upgrade", bad], capture_output=True, text=True)
            ok(r.returncode == 1 and why in r.stderr, "upgrade to %s is refused: %s" % (bad, r.stderr.strip()))
        ok(p.poll() is None and lookup(port, "keep") == 7300 and alive(h),
           "after refused upgrades the daemon runs on with its registrations")
        # A copy of the binary elsewhere: the new path is used.
        import shutil
        copy = os.path.join(d, "epmdd-new")
        shutil.copy(EPMDD_REAL, copy)
        r = subprocess.run([EPMDCTL, "-s", ctl, "upgrade", copy], capture_output=True, text=True)
        ok(r.returncode == 0, "upgrade to another binary is accepted")
        deadline = time.time() + 10
        while proc_exe(p.pid) != os.path.realpath(copy):
            assert time.time() < deadline, "the process did not switch binaries"
            time.sleep(0.05)
        ok(True, "the same pid now runs %s" % copy)
        ok(lookup(port, "keep") == 7300 and alive(h), "with its registration")
        h.close()
    finally:
        p.terminate()
        p.wait(10)


def case_many_upgrade():
    """15000 registrations through one upgrade (names via a memfd)."""
    import signal
    port = free_port()
    d = os.path.join(TMP, "mu%d" % port)
    os.makedirs(d)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ERL_EPMD_", "LISTEN_", "NOTIFY_"))}
    logpath = os.path.join(d, "log")
    p = subprocess.Popen([EPMDD, "-port", str(port), "-address", "127.0.0.1",
                          "-control", os.path.join(d, "control")],
                         stdout=subprocess.DEVNULL, stderr=open(logpath, "wb"), env=env)
    try:
        wait_listening(port)
        hs = []
        for i in range(15000):
            c = Conn(port)
            c.send(alive2("many%05d" % i, port=20000 + i % 40000))
            hs.append(c)
        for c in hs:
            assert c.read(6)[1] == "ok"
        os.kill(p.pid, signal.SIGUSR2)
        deadline = time.time() + 30
        while "restored " not in open(logpath).read():
            assert time.time() < deadline, "no upgrade"
            time.sleep(0.05)
        n = len(names(port))
        ok(n == 15000, "15000 registrations survive one upgrade (got %d)" % n)
        ok(all(alive(c) for c in hs[::997]), "their connections stay open")
        for c in hs:
            c.close()
    finally:
        p.terminate()
        p.wait(20)


def state_header(next_id, generation=1):
    """A saved state with no records: only the id counter."""
    import zlib
    head = b"EPMDDST\0" + struct.pack(">IIQ", 1, generation, next_id)
    return head + struct.pack(">II", zlib.crc32(head), 0)


def case_store_names():
    """Before parking, each socket was stored under its own name and
    LISTEN_FDNAMES (execve's 128 KiB) bounded how many survived a
    restart (about 8000 with long ids).  Now 9000 with 13-digit ids all
    survive in a few segments."""
    m = manager(store_max=64)
    try:
        # A state whose next id is 2^63: 13 base-36 digits a name.
        fd = os.memfd_create("state-seed")
        os.write(fd, state_header(1 << 63))
        m.store.append(("state.0", fd))
        m.start()
        hs = [hold(m.port, "s%04d" % i, 20000 + i) for i in range(9000)]
        m.pump(0.3)
        segs = [x for x in m.stored_names() if x.startswith("p")]
        ok(len(m.parked_ids()) == 9000, "all 9000 sockets are parked")
        ok(len(segs) <= 5, "in %d stored segments" % len(segs))
        m.restart()
        ok(len(names(m.port)) == 9000,
           "after a restart every registration is back")
        ok(all(alive(h) for h in hs[::97]), "and the holders never noticed")
        for h in hs:
            h.close()
    finally:
        m.close()


def main():
    cases = {k[5:]: v for k, v in globals().items() if k.startswith("case_")}
    slow = {"restart_loop", "upgrade_loop", "many_upgrade", "otp_nodes"}
    wanted = sys.argv[4:] or sorted(set(cases) - slow)
    for name in wanted:
        print("== %s" % name, flush=True)
        cases[name]()
        ignored = [x for m in MANAGERS for x in m.ignored]
        ok(ignored == [], "no notification came from a pid other than the main pid %s" % ignored[:3])
        hup = [x for m in MANAGERS for x in m.dropped_hup]
        ok(hup == [], "no stored descriptor was dropped for EPOLLHUP, as "
           "systemd would without FDPOLL=0 %s" % hup[:3])
        MANAGERS.clear()
    print("%d cases passed" % len(wanted))


if __name__ == "__main__":
    main()
