"""What the real-systemd suite's cases share: the checks' counter and
the probes run inside the container (registered nodes, what holds 4369,
unit states, erl nodes, a lookup loop), README's command blocks, and the
checks that a restart kept every registration and that epmdd holds the
port."""

import json
import os
import re
import shlex
import subprocess
import time

from container import CommandFailed

TOP = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
HOST = "epmdtest"
COOKIE = "epmdd-systemd-suite"
# Lookups of the held nodes run for at most this long (seconds), every
# LOOKUP_INTERVAL, while the daemon is restarted, killed and RabbitMQ and
# erlang-base come and go.
LOOKUP_LIMIT = 900
LOOKUP_INTERVAL = 0.05
# How long a node or RabbitMQ may take to (re-)register.
REGISTER_TIMEOUT = 90


class Suite:
    def __init__(self, c, verbose):
        self.c = c
        self.passed = 0
        self.failed = 0
        self.verbose = verbose

    def log(self, msg):
        print("  " + msg, flush=True)

    def ok(self, cond, msg, detail=""):
        if cond:
            self.passed += 1
            print("ok: " + msg, flush=True)
        else:
            self.failed += 1
            print("FAIL: " + msg + (("\n    " + detail.replace(
                "\n", "\n    ")) if detail else ""), flush=True)
        return cond

    # ------------------------------------------------------------ probes

    def nodes(self):
        """Registered nodes by name, from epmdctl --json names."""
        r = self.c.run("epmdctl --json names", check=False)
        if r.returncode != 0:
            return None
        return {n["name"]: n for n in json.loads(r.stdout)["nodes"]}

    def wait_nodes(self, names, timeout=REGISTER_TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            have = self.nodes() or {}
            if all(n in have for n in names):
                return have
            if time.monotonic() > deadline:
                return have
            time.sleep(0.5)

    def port_holders(self):
        """Processes holding a TCP listener on 4369, by name."""
        out = self.c.out("ss -Hltnp 'sport = :4369'", check=False)
        return sorted(set(re.findall(r'\("([^"]+)",pid=', out)))

    def epmd_processes(self):
        """OTP's epmd processes (the exact name, not epmdd)."""
        return self.c.out("pgrep -x epmd || true")

    def units(self):
        p = {u: self.c.props(u, "ActiveState", "LoadState", "UnitFileState")
             for u in ("epmd.socket", "epmd.service", "epmdd.socket",
                       "epmdd.service")}
        return {u: "%s/%s/%s" % (v["LoadState"], v["UnitFileState"],
                                 v["ActiveState"]) for u, v in p.items()}

    def main_pid(self):
        return int(self.c.props("epmdd.service", "MainPID")["MainPID"])

    def restarts(self):
        return int(self.c.props("epmdd.service", "NRestarts")["NRestarts"])

    def wait_active(self, unit, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            p = self.c.props(unit, "ActiveState", "SubState")
            if p["ActiveState"] == "active" and \
                    p["SubState"] in ("running", "listening"):
                return True
            time.sleep(0.2)
        return False

    def start_node(self, name):
        """A distributed erl node as a transient unit of the container's
        systemd (so that it ends with the container)."""
        self.c.run(
            "systemd-run --quiet --unit=node-%s --setenv=HOME=/root "
            "erl -sname %s -setcookie %s -noshell -start_epmd false"
            % (name, name, COOKIE))

    def ping_from_new_node(self, names):
        """A third node pings each: every name must answer pong."""
        targets = ",".join("'%s@%s'" % (n, HOST) for n in names)
        r = self.c.run(
            "erl -sname probe$$ -setcookie %s -noshell -start_epmd false "
            "-eval 'io:format(\"~p~n\", [[net_adm:ping(N) || N <- [%s]]]), "
            "halt().'" % (COOKIE, targets), check=False, timeout=60)
        return r.stdout.strip()

    def journal_records(self, node):
        out = self.c.out("journalctl -o json --no-pager -u epmdd.service "
                         "EPMD_NODE=%s" % node, check=False)
        return [json.loads(line) for line in out.splitlines() if line]

    def registered_records(self, node):
        return [r for r in self.journal_records(node)
                if "registered" in r.get("MESSAGE", "")
                and "unregistered" not in r.get("MESSAGE", "")]

    def start_lookups(self):
        self.c.write("/root/lookups.py", open(os.path.join(
            os.path.dirname(os.path.abspath(__file__)), "lookups.py")).read(),
            0o755)
        self.c.run("rm -f /run/lookups.json /run/lookups.stop; "
                   "systemd-run --quiet --unit=lookups /usr/bin/python3 "
                   "/root/lookups.py /run/lookups.json /run/lookups.stop "
                   "%d %s a b" % (LOOKUP_LIMIT, LOOKUP_INTERVAL))

    def stop_lookups(self):
        self.c.run("touch /run/lookups.stop")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            # /run inside is the container's own tmpfs.
            text = self.c.out("cat /run/lookups.json 2>/dev/null || true")
            if text:
                return json.loads(text)
            time.sleep(0.2)
        raise CommandFailed("the lookup loop left no result:\n" + self.c.out(
            "systemctl status --no-pager lookups; journalctl --no-pager "
            "-u lookups | tail -20", check=False))


def readme_blocks(section="Running under systemd"):
    """The command blocks of one README section: runs of lines indented
    by four spaces (or six, in a list item), in order."""
    text = open(os.path.join(TOP, "README")).read()
    m = re.search(r"\n%s\n-+\n(.*?)\n[^\n]+\n-+\n" % re.escape(section),
                  text, re.S)
    if m is None:
        raise CommandFailed("README has no %r section" % section)
    blocks, cur, indent = [], [], None
    for line in m.group(1).splitlines():
        lead = len(line) - len(line.lstrip(" "))
        if line.strip() and lead >= 4 and (indent is None or lead == indent):
            indent = lead
            cur.append(line[lead:])
        elif cur:
            blocks.append(cur)
            cur, indent = [], None
    if cur:
        blocks.append(cur)
    return blocks


def readme_steps(prefix, section="Running under systemd"):
    for b in readme_blocks(section):
        if b[0].startswith(prefix):
            return b
    raise CommandFailed("README's %r section has no block starting with %r"
                        % (section, prefix))


def run_readme_steps(s, c, steps):
    """Run README's lines as written: `make install` here, into the
    container's root (DESTDIR), everything else inside as root."""
    for line in steps:
        cmd = line.split("#")[0].strip() if not line.startswith("#") else ""
        if not cmd:
            continue
        if cmd.startswith("make install"):
            r = subprocess.run(shlex.split(cmd) + ["DESTDIR=" + c.root],
                               cwd=TOP, capture_output=True, text=True)
            s.ok(r.returncode == 0, "README, here: %s DESTDIR=<container>"
                 % cmd, r.stdout[-2000:] + r.stderr[-2000:])
            continue
        r = c.run(cmd, check=False)
        s.ok(r.returncode == 0, "README, inside: " + cmd,
             (r.stdout + r.stderr)[-2000:])


def same_registrations(s, before, after, names, what):
    missing = [n for n in names if n not in (after or {})]
    s.ok(not missing, "%s: every node still registered (%s)"
         % (what, " ".join(names)), "missing: %s" % missing)
    if missing:
        return
    changed = [(n, before[n]["creation"], after[n]["creation"],
                before[n]["registered_at"], after[n]["registered_at"])
               for n in names
               if (before[n]["creation"], before[n]["port"],
                   before[n]["registered_at"]) !=
               (after[n]["creation"], after[n]["port"],
                after[n]["registered_at"])]
    s.ok(not changed, "%s: same creation, port and registration time, "
         "so no node registered again" % what, "changed: %s" % changed)


def holds_port(s, what):
    holders = s.port_holders()
    s.ok(holders and set(holders) <= {"systemd", "epmdd"},
         "%s: 4369 is held by epmdd's socket (%s)" % (what, holders),
         "holders: %s" % holders)
    u = s.units()
    s.ok(u["epmd.socket"].endswith("/inactive") and
         u["epmd.service"].endswith("/inactive") and
         u["epmdd.socket"].endswith("/active"),
         "%s: epmdd.socket active, Debian's epmd units inactive" % what,
         str(u))
    s.ok(s.epmd_processes() == "", "%s: no OTP epmd process runs" % what,
         s.epmd_processes())
