#!/usr/bin/env python3
"""policy_restart: the policy across restarts, crashes and upgrades,
with sdmanager.py as the service manager.

usage: policy_restart.py EPMDD EPMDCTL TMPDIR [default]
Prints "ok: ..." lines and raises on the first failure.  With
"default": the default configuration file (which must be the caller's
to create and remove: 094 runs it in a mount namespace with an overlay
on /etc), read when there is no -config.
"""
import json
import os
import re
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from epmdwire import Conn, alive2, free_port, lookup  # noqa: E402
from sdmanager import Manager  # noqa: E402
from policy_lib import log_of, names_refused, ok, write  # noqa: E402

EPMDD, EPMDCTL, TMP = sys.argv[1], sys.argv[2], sys.argv[3]
SCALE = float(os.environ.get("TEST_TIME_SCALE", "1"))

GOOD = ("# names closed to everyone; two owned names\n"
        "names none\n"
        "owner holdme user=0\n"
        "owner squat* user=54321\n")
OPEN = "names any\nowner squat* user=54321\n"
BROKEN = "names none\nowner holdme user=0\nowner squat* user=epmdd-no-such-user\n"


def ctl(m, *args):
    return subprocess.run([EPMDCTL, "-s", m.control_path] + list(args),
                          capture_output=True, text=True, timeout=20 * SCALE)


def policy(m):
    return json.loads(ctl(m, "--json", "policy").stdout)


def nodes(m):
    return {n["name"]: n for n in json.loads(ctl(m, "--json", "names").stdout)["nodes"]}


def register(port, name, nodeport):
    """An ALIVE2 on a connection of its own: (result byte, Conn)."""
    c = Conn(port)
    c.send(alive2(name, port=nodeport))
    data, _ = c.read(6)
    assert len(data) == 6, (name, data)
    return data[1], c


def same(before, after):
    """Every field of names --json but the age unchanged."""
    return sorted(before) == sorted(after) and all(
        {k: v for k, v in before[n].items() if k != "registered_seconds"} ==
        {k: v for k, v in after[n].items() if k != "registered_seconds"}
        for n in before)


def start_fails(m):
    """Start the daemon, which must exit before READY=1: its status."""
    wait_for = m.wait_for

    def no_ready(key, value=None, timeout=10.0, since=0.0):
        deadline = time.time() + timeout * SCALE
        while time.time() < deadline:
            pid, status = os.waitpid(m.proc, os.WNOHANG)
            if pid:
                m.proc = None
                raise RuntimeError(os.waitstatus_to_exitcode(status))
            time.sleep(0.02)
        raise AssertionError("the daemon ran on a configuration that "
                             "does not load")
    m.wait_for = no_ready
    try:
        m.start()
        raise AssertionError("started")
    except RuntimeError as e:
        return e.args[0]
    finally:
        m.wait_for = wait_for


def check_policy_in_force(m, what):
    ok(names_refused(m), "%s: names none holds (NAMES closed, no reply)" % what)
    r, c = register(m.port, "squat%d" % int(time.time() * 1000 % 100000), 6001)
    c.close()
    ok(r == 1, "%s: an owned name of uid 54321 is refused to root" % what)


def main():
    conf = os.path.join(TMP, "epmdd.conf")
    write(conf, GOOD)
    m = Manager(EPMDD, TMP, free_port(), args=["-config", conf, "-d"])
    try:
        m.start()
        r, keeper = register(m.port, "holdme", 6000)
        ok(r == 0, "root registers holdme, which a rule gives to root")
        r, plain = register(m.port, "plain", 6002)
        ok(r == 0, "and an unowned name")
        check_policy_in_force(m, "at start")
        p = policy(m)
        ok(p["source"] == conf and not p["saved"], "policy: the file, as loaded")
        before = nodes(m)
        ok(before["holdme"]["owner_rule"]["pattern"] == "holdme",
           "names --json shows the rule covering holdme")
        stored = m.stored_names()

        # -- restart, crash, upgrade with a good file.
        time.sleep(1.1)
        ok(m.restart() == 0, "restart: the daemon stopped cleanly")
        ok(same(before, nodes(m)), "restart: every node and field kept, the rule included")
        ok(keeper.alive() and plain.alive(), "restart: the holders never noticed")
        check_policy_in_force(m, "after a restart")
        ok(m.stored_names() == stored, "restart: the store holds the same names")
        ok(m.crash() == -9, "crash: the daemon was killed")
        ok(same(before, nodes(m)), "crash: every node kept")
        check_policy_in_force(m, "after a crash")
        t0 = time.time()
        os.kill(m.proc, signal.SIGUSR2)
        m.wait_for("READY", "1", since=t0)
        ok(same(before, nodes(m)) and keeper.alive(), "upgrade: every node kept")
        check_policy_in_force(m, "after an upgrade")

        # -- The file breaks: a restart keeps what the previous process had.
        write(conf, BROKEN)
        time.sleep(0.1)
        ok(m.restart() == 0, "restart with a broken file: the old daemon stopped")
        log = log_of(m)
        ok("%s:3:19: user \"epmdd-no-such-user\" does not exist; keeping the "
           "configuration the previous process had" % conf in log,
           "the new daemon says the file does not load and keeps the saved one")
        p = policy(m)
        ok(p["saved"] and p["error"].startswith(conf + ":3:19:"),
           "policy: the saved configuration, and why the file was not used")
        check_policy_in_force(m, "on the saved configuration")
        ok(same(before, nodes(m)) and keeper.alive(), "and nothing registered was lost")
        st = json.loads(ctl(m, "--json", "status").stdout)
        ok(st["policy_saved"] is True and st["policy_error"].startswith(conf),
           "status says so too")
        r = ctl(m, "reload")
        ok(r.returncode == 1 and conf + ":3:19:" in r.stderr,
           "reload of the still broken file exits 1 and says why")

        # -- A good new file, reloaded: RELOADING=1, READY=1; then it is
        # what a crash with a broken file falls back to.
        write(conf, OPEN)
        # The failed reload's RELOADING=1 and READY=1 were sent before
        # its answer: read them now, or the reader thread, if late, would
        # stamp its READY=1 after t0.
        m.pump()
        t0 = time.time()
        os.kill(m.proc, signal.SIGHUP)
        rl = m.wait_for("RELOADING", "1", since=t0)
        ok("MONOTONIC_USEC" in rl and rl.get("STATUS") == "Reloading the configuration.",
           "SIGHUP: RELOADING=1 with MONOTONIC_USEC and a status")
        m.wait_for("READY", "1", since=t0)
        with m.lock:
            seq = [k for t, _, msg in m.messages if t >= t0
                   for k in ("RELOADING", "READY") if k in msg]
        ok(seq[:2] == ["RELOADING", "READY"], "then READY=1: %s" % seq[:2])
        deadline = time.time() + 5 * SCALE
        while names_refused(m) and time.time() < deadline:
            time.sleep(0.05)
        ok(not names_refused(m), "the new file is in force: NAMES answered")
        p = policy(m)
        ok(not p["saved"] and p["error"] is None and p["source"] == conf,
           "policy: the file, loaded; no error left")
        ok(nodes(m)["holdme"]["owner_rule"] is None,
           "holdme is no longer covered by a rule, and stays registered")
        write(conf, BROKEN)
        ok(m.crash() == -9, "crash with a broken file")
        ok(not names_refused(m), "the configuration of the reload is kept (from the journal)")
        r, c = register(m.port, "squatter2", 6003)
        c.close()
        ok(r == 1, "its owner rule still refuses squat*")
        ok(keeper.alive() and lookup(m.port, "holdme") == 6000, "holdme still registered")

        # -- An upgrade with the broken file: the same.
        t0 = time.time()
        os.kill(m.proc, signal.SIGUSR2)
        m.wait_for("READY", "1", since=t0)
        ok(not names_refused(m) and keeper.alive(), "upgrade with a broken file: kept, nothing lost")

        # -- A fresh start (the store emptied) on a broken file fails.
        ok(m.stop() == 0, "stop: the store is emptied")
        keeper.close()
        plain.close()

        ok(start_fails(m) == 1, "a fresh start on a broken file exits 1")
        ok("%s:3:19: user \"epmdd-no-such-user\" does not exist" % conf in log_of(m).splitlines()[-1],
           "and its last words name the file, line and column")
    finally:
        m.close()
    print("policy restart cases passed", flush=True)


def default_case():
    """The default file: absent, then present, then broken at a restart
    whose previous process had none."""
    usage = subprocess.run([EPMDD, "--help"], capture_output=True, text=True).stdout
    path = re.search(r"\(default:\s+(\S+) if it exists", usage).group(1)
    ok(not os.path.exists(path), "the default file %s is absent" % path)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    r = subprocess.run([EPMDD, "-check_config"], capture_output=True, text=True)
    ok(r.returncode == 0 and r.stdout.strip() ==
       "no configuration (%s absent): OTP's rules" % path,
       "-check_config with no file: OTP's rules")
    d = os.path.join(TMP, "default")
    os.makedirs(d)
    m = Manager(EPMDD, d, free_port(), args=["-d"])
    try:
        m.start()
        r, keeper = register(m.port, "k1", 6100)
        ok(r == 0, "k1 registers")
        p = policy(m)
        ok(not p["configured"] and p["file"] == path, "policy: nothing configured")
        ok(not names_refused(m), "NAMES answered (OTP's rule)")
        write(path, "names none\n")
        ok(ctl(m, "reload").returncode == 0, "a default file created since is read by a reload")
        ok(names_refused(m), "its rule is in force")
        os.unlink(path)
        ok(ctl(m, "reload").returncode == 0 and not names_refused(m),
           "the default file removed: a reload gives OTP's rules back")
        write(path, BROKEN)
        ok(m.restart() == 0, "restart with a broken default file")
        ok("keeping the configuration the previous process had" in log_of(m),
           "the new daemon keeps what the previous one had: no configuration")
        p = policy(m)
        ok(not p["configured"] and p["saved"] and p["error"].startswith(path + ":3:19:"),
           "policy: nothing configured, as saved, and why the file was not used")
        out = ctl(m, "policy").stdout
        ok(out.startswith("# no configuration, as the previous process had none: OTP's rules\n"),
           "policy says so: %r" % out.splitlines()[0])
        ok(not names_refused(m) and keeper.alive() and lookup(m.port, "k1") == 6100,
           "OTP's rules, and k1 is still registered")
        write(path, "names none\n")
        ok(ctl(m, "reload").returncode == 0 and names_refused(m), "a fixed file reloads")

        # A configuration that stops loading altogether (its owner's
        # user removed: the file and the saved text both fail) makes
        # the daemon fail to start, again and again: never OTP's rules.
        user = "epmddtmp%d" % os.getpid()
        subprocess.run(["useradd", "--system", "--no-create-home", "-s",
                        "/usr/sbin/nologin", user], check=True)
        write(path, "names none\nowner squat* user=%s\n" % user)
        ok(ctl(m, "reload").returncode == 0, "a file naming user %s loads" % user)
        subprocess.run(["userdel", user], check=True)
        os.kill(m.proc, signal.SIGTERM)
        m._exit_status()
        m.pump()
        ok(start_fails(m) == 1, "with the user gone, a restart exits 1")
        ok("and what the previous process had does not load either" in log_of(m),
           "saying that neither the file nor the saved configuration loads")
        ok(start_fails(m) == 1, "and so does the next start (Restart=on-failure): "
           "no start with OTP's rules")
        subprocess.run(["useradd", "--system", "--no-create-home", "-s",
                        "/usr/sbin/nologin", user], check=True)
        m.start()
        ok(names_refused(m) and keeper.alive() and lookup(m.port, "k1") == 6100,
           "with the user back, the daemon starts with the file, k1 still registered")
        subprocess.run(["userdel", user], check=True)
        keeper.close()
    finally:
        m.close()
        if os.path.exists(path):
            os.unlink(path)
    print("default file cases passed", flush=True)


if len(sys.argv) > 4 and sys.argv[4] == "default":
    default_case()
else:
    main()
