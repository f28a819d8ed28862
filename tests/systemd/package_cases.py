"""The Debian package under the real systemd: on a fresh RabbitMQ host,
install the .deb made by `make deb`, upgrade it to a newer build while
erl nodes and RabbitMQ are registered and a lookup loop runs, restart
RabbitMQ, reinstall erlang-base, then remove and purge it; at each step
say what holds 4369 and which nodes are registered."""

import os
import re
import shutil
import subprocess
import time

from container import CommandFailed
from suite import TOP, holds_port, same_registrations


def newer_than(changelog):
    """Now, or a minute after the changelog's latest entry if that is
    later: lintian refuses an entry no newer than the one before."""
    r = subprocess.run(["dpkg-parsechangelog", "-l", changelog, "-S",
                        "Timestamp"], capture_output=True, text=True)
    last = int(r.stdout.strip()) if r.stdout.strip().isdigit() else 0
    return max(time.time(), last + 60)


def build_debs(workdir, log):
    """The package of this tree, and of a copy whose VERSION is one
    step newer (a changelog entry to match): (old, new) .deb paths."""
    r = subprocess.run(["make", "--no-print-directory", "deb"], cwd=TOP,
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise CommandFailed("make deb: " + r.stdout[-3000:] + r.stderr[-3000:])
    old = sorted(f for f in os.listdir(os.path.join(TOP, "build", "deb"))
                 if f.endswith(".deb") and "dbgsym" not in f)[0]
    old = os.path.join(TOP, "build", "deb", old)
    shutil.rmtree(workdir, ignore_errors=True)
    os.makedirs(workdir)
    subprocess.run("tar -cf - --exclude=./build --exclude=./.git . | "
                   "tar -C %s -xf -" % workdir, shell=True, cwd=TOP,
                   check=True)
    version = open(os.path.join(workdir, "VERSION")).read().strip() + "+1"
    with open(os.path.join(workdir, "VERSION"), "w") as f:
        f.write(version + "\n")
    cl = os.path.join(workdir, "debian", "changelog")
    entry = ("epmdd (%s-1) unstable; urgency=medium\n\n"
             "  * A newer build, for the upgrade test.\n\n"
             " -- The epmdd authors <epmdd@users.noreply.example.org>  %s\n\n"
             % (version, time.strftime("%a, %d %b %Y %H:%M:%S +0000",
                                       time.gmtime(newer_than(cl)))))
    text = open(cl).read()
    with open(cl, "w") as f:
        f.write(entry + text)
    r = subprocess.run(["make", "--no-print-directory", "deb"], cwd=workdir,
                       capture_output=True, text=True)
    if r.returncode != 0:
        raise CommandFailed("make deb (newer): " + r.stdout[-3000:] +
                            r.stderr[-3000:])
    new = [f for f in os.listdir(os.path.join(workdir, "build", "deb"))
           if f.endswith(".deb") and "dbgsym" not in f][0]
    log("built %s and %s" % (os.path.basename(old), new))
    return old, os.path.join(workdir, "build", "deb", new)


def report(s, c, step):
    """What holds 4369 and which nodes are registered, for the log."""
    names = c.out("epmd -names 2>&1 || true")
    listed = sorted(re.findall(r"^name (\S+) at port", names, re.M))
    s.log("%s: 4369 held by %s; registered: %s" % (
        step, ",".join(s.port_holders()) or "nothing", " ".join(listed)))
    return listed


def wait_epmd_names(c, names, timeout=90):
    """Wait until epmd -names (either daemon) lists every name."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        out = c.out("epmd -names 2>&1 || true")
        if all(re.search(r"^name %s at port" % n, out, re.M) for n in names):
            return True
        time.sleep(0.5)
    return False


def run(s, c, old_deb, new_deb):
    old_name, new_name = os.path.basename(old_deb), os.path.basename(new_deb)
    shutil.copy(old_deb, os.path.join(c.root, "root", old_name))
    shutil.copy(new_deb, os.path.join(c.root, "root", new_name))
    report(s, c, "a fresh RabbitMQ host")

    # README: apt install ./epmdd_*.deb
    r = c.run("cd /root && apt-get install -y ./%s 2>&1" % old_name,
              check=False, timeout=300)
    s.ok(r.returncode == 0, "apt install ./%s" % old_name, r.stdout[-2000:])
    holds_port(s, "after installing the package")
    u = s.units()
    s.ok(u["epmd.socket"].startswith("masked/") and
         u["epmd.service"].startswith("masked/") and
         u["epmdd.socket"] == "loaded/enabled/active",
         "the package masks Debian's epmd units and enables epmdd.socket",
         str(u))
    s.ok(c.out("cat /var/lib/epmdd/masked-units").split() ==
         ["epmd.socket", "epmd.service"],
         "and records that it masked them")
    s.ok(c.run("test -d /etc/epmdd && test ! -e /etc/epmdd/epmdd.conf",
               check=False).returncode == 0 and
         c.run("id epmdd", check=False).returncode == 0,
         "/etc/epmdd is there without a configuration file; user epmdd "
         "exists")
    rabbit = s.wait_nodes(["rabbit"])
    s.ok("rabbit" in rabbit, "RabbitMQ's node registers with epmdd")

    names = ["a", "b"]
    for n in names:
        s.start_node(n)
    before = s.wait_nodes(names + ["rabbit"])
    report(s, c, "nodes started")
    s.start_lookups()

    pid = s.main_pid()
    r = c.run("cd /root && apt-get install -y ./%s 2>&1" % new_name,
              check=False, timeout=300)
    s.ok(r.returncode == 0, "upgrade: apt install ./%s" % new_name,
         r.stdout[-2000:])
    s.wait_active("epmdd.service")
    newpid = s.main_pid()
    exe = c.out("readlink /proc/%d/exe" % newpid, check=False)
    version = c.out("dpkg-query -W -f '${Version}' epmdd")
    s.ok(newpid not in (0, pid) and exe == "/usr/sbin/epmdd" and
         version == new_name.split("_")[1],
         "the upgrade restarted epmdd on the new binary (pid %d -> %d, %s, "
         "%s)" % (pid, newpid, exe, version))
    after = s.nodes()
    same_registrations(s, before, after, names + ["rabbit"], "package upgrade")
    holds_port(s, "after the upgrade")
    report(s, c, "after the upgrade")

    c.run("systemctl restart rabbitmq-server", timeout=180)
    have = s.wait_nodes(["rabbit"] + names)
    holds_port(s, "RabbitMQ restarted with the package installed")
    same_registrations(s, before, have, names, "RabbitMQ restart")
    report(s, c, "after a RabbitMQ restart")

    r = c.run("dpkg -i /var/cache/apt/archives/erlang-base_*.deb 2>&1",
              check=False, timeout=300)
    s.ok(r.returncode == 0, "dpkg -i erlang-base (reinstall)", r.stdout[-2000:])
    s.wait_active("epmdd.service")
    have = s.wait_nodes(["rabbit"] + names)
    holds_port(s, "erlang-base reinstalled with the package installed")
    u = s.units()
    s.ok(u["epmd.socket"].startswith("masked/") and
         u["epmd.service"].startswith("masked/"),
         "the package's mask survives erlang-base's postinst", str(u))
    same_registrations(s, before, have, names, "erlang-base reinstall")
    report(s, c, "after the erlang-base reinstall")

    res = s.stop_lookups()
    s.ok(res["lookups"] > 100 and not res["failures"],
         "lookups of a and b from the first install to here: %d, %d failed, "
         "longest %.0f ms" % (res["lookups"], len(res["failures"]),
                              res["longest_ms"]), str(res["failures"][:10]))

    r = c.run("apt-get remove -y epmdd 2>&1", check=False, timeout=300)
    s.ok(r.returncode == 0, "apt remove epmdd", r.stdout[-2000:])
    u = s.units()
    s.ok(u["epmd.socket"] == "loaded/enabled/active" and
         u["epmdd.socket"].endswith("/inactive"),
         "after removal Debian's epmd.socket is unmasked and listens", str(u))
    ok = wait_epmd_names(c, ["rabbit", "a", "b"])
    holders = s.port_holders()
    s.ok(ok and holders == ["epmd", "systemd"],
         "after removal OTP's epmd serves 4369 and the nodes registered "
         "with it again (%s)" % holders)
    report(s, c, "after apt remove")

    r = c.run("apt-get purge -y epmdd 2>&1", check=False, timeout=300)
    s.ok(r.returncode == 0, "apt purge epmdd", r.stdout[-2000:])
    left = c.out("ls -d /etc/epmdd /var/lib/epmdd /lib/systemd/system/epmdd.* "
                 "/etc/systemd/system/*epmdd* "
                 "/etc/systemd/system/*/*epmdd* /usr/sbin/epmdd 2>/dev/null "
                 "|| true")
    s.ok(left == "", "purge leaves nothing of epmdd's", left)
    s.ok(c.out("dpkg-query -W -f '${db:Status-Status}' epmdd 2>/dev/null "
               "|| true") in ("", "not-installed"),
         "dpkg knows epmdd no more")
    report(s, c, "after apt purge")
