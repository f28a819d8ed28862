#!/usr/bin/env python3
"""policy_groups: group ownership rules with real users, groups and OTP
nodes, and what a flood of refused registrations costs other clients.

usage: policy_groups.py EPMDD EPMDCTL TMPDIR ERL NODE_MODE NODE_HOST
Run as root in a mount namespace of the caller's own with an overlay on
/etc (096 does it): users and groups are written to /etc/passwd and
/etc/group there, and /etc/group gets FILLER more groups, so that every
NSS answer about groups reads a file of that size.  Prints "ok: ..."
lines and the lookup latencies, and raises on the first failure.
"""
import os
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from epmdwire import Conn, alive2, free_port, lookup, port2  # noqa: E402

EPMDD, EPMDCTL, TMP, ERL, MODE, HOST = sys.argv[1:7]
SCALE = float(os.environ.get("TEST_TIME_SCALE", "1"))
RULE_GROUPS = 31        # groups named by the rule (POLICY_MAX_IDS is 32)
FILLER = 5000           # more groups in /etc/group
FLOODERS = 8            # processes of a non-member registering owned names
FLOOD_SECONDS = 4.0
BASE = 61300            # uids and gids of the test's own (in the overlay)
USERS = {"eph3mem": BASE + 1, "eph3non": BASE + 2, "eph3fl": BASE + 3}
GROUPS = ["eph3g%d" % i for i in range(RULE_GROUPS)]


def ok(cond, what):
    if not cond:
        raise AssertionError(what)
    print("ok:", what, flush=True)


def write_etc(members):
    """Our users, and /etc/group's original lines plus our groups
    (members: group -> [user]) and the filler."""
    with open("/etc/passwd", "a") as f:
        for u, uid in USERS.items():
            f.write("%s:x:%d:%d::/nonexistent:/usr/sbin/nologin\n" % (u, uid, uid))
    with open(ORIG_GROUP) as f:
        text = f.read()
    lines = [text.rstrip("\n")]
    for i, g in enumerate(GROUPS):
        lines.append("%s:x:%d:%s" % (g, BASE + 100 + i, ",".join(members.get(g, []))))
    for i in range(FILLER):
        lines.append("eph3f%04d:x:%d:root,daemon" % (i, BASE + 1000 + i))
    tmp = "/etc/group.eph3"
    with open(tmp, "w") as f:
        f.write("\n".join(lines) + "\n")
    os.chmod(tmp, 0o644)
    os.rename(tmp, "/etc/group")


def as_user(user, fn):
    """Run fn() in a child with user's uid and gid: its exit status."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.setgroups([])
            os.setgid(USERS[user])
            os.setuid(USERS[user])
            code = fn()
        finally:
            os._exit(code)
    return pid


def register_once(port, name):
    """1 if an ALIVE2 for name is refused, 0 if accepted, 2 on error."""
    try:
        c = Conn(port, timeout=10)
        c.send(alive2(name, port=6500))
        data, _ = c.read(6, timeout=10)
        c.close()
        return 2 if len(data) != 6 else (1 if data[1] else 0)
    except OSError:
        return 2


def flood(port, name, until, want=1):
    """Register name over and over until the time until: 0 if every one
    got want (1 refused, 0 accepted)."""
    bad = 0
    n = 0
    while time.time() < until and n < 1000000:
        n += 1
        if register_once(port, name) != want:
            bad += 1
    return 1 if bad else 0


def erl(user, name, *args):
    home = os.path.join(TMP, "home." + user)
    os.makedirs(home, exist_ok=True)
    os.chown(home, USERS[user], USERS[user])
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": home,
           "USER": user, "LOGNAME": user, "ERL_EPMD_PORT": str(PORT)}
    return ["setpriv", "--reuid", str(USERS[user]), "--regid",
            str(USERS[user]), "--init-groups", "env"] + \
        ["%s=%s" % kv for kv in env.items()] + \
        [ERL, "-noshell", "-start_epmd", "false", MODE, "%s@%s" % (name, HOST),
         "-setcookie", "epmddtest"] + list(args)


def node(user, name, procs):
    p = subprocess.Popen(erl(user, name, "-eval", "receive after infinity -> ok end."),
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         cwd="/")
    procs.append(p)
    deadline = time.time() + 20 * SCALE
    while time.time() < deadline:
        if lookup(PORT, name):
            return True
        if p.poll() is not None:
            return False
        time.sleep(0.2)
    return False


def refused(user, name):
    r = subprocess.run(erl(user, name, "-eval", "halt()."), capture_output=True,
                       text=True, timeout=60 * SCALE, cwd="/")
    return r.returncode != 0 and "seems to be in use by another Erlang node" in r.stdout + r.stderr


def reload():
    return subprocess.run([EPMDCTL, "-s", CONTROL, "reload"],
                          capture_output=True, timeout=20 * SCALE).returncode == 0


def percentile(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] if xs else float("nan")


ORIG_GROUP = os.path.join(TMP, "group.orig")
PORT = free_port()
CONTROL = os.path.join(TMP, "control.groups")


def main():
    with open("/etc/group") as f, open(ORIG_GROUP, "w") as o:
        o.write(f.read())
    write_etc({"eph3g30": ["eph3mem"]})
    conf = os.path.join(TMP, "groups.conf")
    with open(conf, "w") as f:
        f.write("owner grp* %s\n" % " ".join("group=" + g for g in GROUPS))
    os.chmod(conf, 0o644)
    log = open(os.path.join(TMP, "epmdd.groups.log"), "wb")
    d = subprocess.Popen([EPMDD, "-port", str(PORT), "-address", "127.0.0.1",
                          "-config", conf, "-control", CONTROL],
                         stdout=subprocess.DEVNULL, stderr=log)
    procs = []
    kids = []
    try:
        deadline = time.time() + 5 * SCALE
        while True:
            try:
                Conn(PORT).close()
                break
            except OSError:
                assert time.time() < deadline, "epmdd is not listening"
                time.sleep(0.05)
        ok(node("eph3mem", "grp1", procs),
           "a member of the rule's last group (of %d) registers grp1" % RULE_GROUPS)
        ok(refused("eph3non", "grp2"), "a non-member's node fails at boot for grp2")

        # The stall: FLOODERS non-member processes register grp* again
        # and again while this one looks grp1 up; then the same flood of
        # names no rule covers (accepted, no membership asked), so that
        # the two figures tell the loop's cost from the CPUs' contention.
        for what, prefix, want in (
                ("refused registrations", "grpflood", 1),
                ("registrations of names no rule covers", "free", 0)):
            until = time.time() + FLOOD_SECONDS
            kids = [as_user("eph3fl", lambda i=i: flood(
                PORT, "%s%d" % (prefix, i), until, want))
                    for i in range(FLOODERS)]
            lat = []
            while time.time() < until:
                t0 = time.perf_counter()
                c = Conn(PORT, timeout=10)
                c.send(port2("grp1"))
                data, _ = c.read(4, timeout=10)
                c.close()
                lat.append((time.perf_counter() - t0) * 1000)
                assert data[:2] == b"w\x00", data
            codes = [os.waitstatus_to_exitcode(os.waitpid(k, 0)[1])
                     for k in kids]
            kids = []
            print("lookups during a flood of %s (%d groups in the rule, %d "
                  "more in /etc/group, %d flooders, %.0f s): %d lookups, p50 "
                  "%.2f ms, p99 %.2f ms, max %.2f ms" %
                  (what, RULE_GROUPS, FILLER, FLOODERS, FLOOD_SECONDS,
                   len(lat), percentile(lat, 0.5), percentile(lat, 0.99),
                   max(lat)), flush=True)
            ok(codes == [0] * FLOODERS, "every flooding registration was %s"
               % ("refused" if want else "accepted"))

        # A user added to a group: registers after a reload.
        write_etc_groups({"eph3g30": ["eph3mem"], "eph3g5": ["eph3non"]})
        ok(reload(), "reload after eph3non joined eph3g5")
        ok(node("eph3non", "grp2", procs), "eph3non's node registers grp2 now")
        # And one removed from it: refused after a reload.
        write_etc_groups({"eph3g5": ["eph3non"]})
        ok(reload(), "reload after eph3mem left eph3g30")
        pid = as_user("eph3mem", lambda: register_once(PORT, "grp3"))
        ok(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 1,
           "eph3mem's registration of grp3 is refused now")
        ok(lookup(PORT, "grp1") is not None, "its node registered before stays")
        d.terminate()
        ok(d.wait(10 * SCALE) == 0, "epmdd stops cleanly (exit 0, nothing "
           "a sanitizer would report)")
    finally:
        for k in kids:
            os.kill(k, signal.SIGKILL)
            os.waitpid(k, 0)
        for p in procs:
            p.kill()
            p.wait(10)
        if d.poll() is None:
            d.terminate()
            d.wait(10)
    print("group cases passed", flush=True)


def write_etc_groups(members):
    """/etc/group again with other members (the users stay)."""
    saved = USERS.copy()
    with open("/etc/passwd") as f:
        have = f.read()
    try:
        # write_etc appends users; they are there already.
        for u in list(USERS):
            if "\n%s:" % u in "\n" + have:
                del USERS[u]
        write_etc(members)
    finally:
        USERS.clear()
        USERS.update(saved)


main()
