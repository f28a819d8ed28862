"""A booted Debian 12 container for the real-systemd suite.

The image (tests/systemd/mkimage) stays read-only: each run lays an
overlay over it, boots it with systemd-nspawn -b --private-network (its
own network namespace: nothing it does reaches the host's network) and
runs commands inside through nsenter.  On a host whose PID 1 is not
systemd, nspawn needs --keep-unit --register=no.  Every container is
stopped by its nspawn PID, and the overlay unmounted, when the run ends.
"""

import os
import shlex
import signal
import subprocess
import time

# Inside, commands get a clean environment, as from a login shell.
INNER_ENV = ["env", "-i", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:"
             "/usr/bin:/sbin:/bin", "HOME=/root", "LANG=C.UTF-8",
             "TERM=dumb"]
BOOT_TIMEOUT = 90
STOP_TIMEOUT = 60


class CommandFailed(Exception):
    pass


class Container:
    def __init__(self, image, rundir, name, log):
        self.image = image
        self.rundir = rundir
        self.name = name
        self.log = log
        self.root = os.path.join(rundir, "root")
        self.nspawn = None
        self.leader = None
        self.boots = 0
        self.mounted = False

    # ------------------------------------------------------------ life

    def mount(self):
        for d in ("upper", "work", "root"):
            os.makedirs(os.path.join(self.rundir, d), exist_ok=True)
        subprocess.run(
            ["mount", "-t", "overlay", "overlay", "-o",
             "lowerdir=%s,upperdir=%s,workdir=%s" % (
                 self.image, os.path.join(self.rundir, "upper"),
                 os.path.join(self.rundir, "work")), self.root],
            check=True)
        self.mounted = True

    def boot(self):
        self.boots += 1
        out = open(os.path.join(self.rundir, "console.%d.log" % self.boots),
                   "wb")
        self.nspawn = subprocess.Popen(
            ["systemd-nspawn", "--quiet", "--boot", "--directory", self.root,
             "--machine", self.name, "--private-network", "--keep-unit",
             "--register=no", "--console=read-only"],
            stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
        out.close()
        deadline = time.monotonic() + BOOT_TIMEOUT
        while time.monotonic() < deadline:
            if self.nspawn.poll() is not None:
                raise CommandFailed("systemd-nspawn exited with %d; see %s"
                                    % (self.nspawn.returncode, self.rundir))
            kids = subprocess.run(["pgrep", "-P", str(self.nspawn.pid)],
                                  capture_output=True, text=True).stdout
            if kids.split():
                self.leader = int(kids.split()[0])
                break
            time.sleep(0.1)
        else:
            raise CommandFailed("no container init after %d s" % BOOT_TIMEOUT)
        while time.monotonic() < deadline:
            r = self.run("systemctl is-system-running --wait", check=False,
                         timeout=max(1, deadline - time.monotonic()))
            state = r.stdout.strip()
            if state in ("running", "degraded"):
                if state == "degraded":
                    failed = self.run("systemctl --failed --no-legend",
                                      check=False).stdout
                    self.log("booted degraded: " + failed.strip())
                return time.monotonic() - (deadline - BOOT_TIMEOUT)
            time.sleep(0.2)
        raise CommandFailed("the container did not finish booting in %d s"
                            % BOOT_TIMEOUT)

    def wait_exit(self, timeout):
        """Wait for nspawn to end by itself (a reboot or poweroff inside)."""
        try:
            self.nspawn.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        self.nspawn = None
        self.leader = None
        return True

    def stop(self):
        """Power the container off by its nspawn PID; kill it if it hangs."""
        if self.nspawn is not None and self.nspawn.poll() is None:
            # nspawn turns SIGTERM into an orderly poweroff of the container.
            self.nspawn.send_signal(signal.SIGTERM)
            try:
                self.nspawn.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.nspawn.kill()
                self.nspawn.wait()
        self.nspawn = None
        self.leader = None

    def cleanup(self):
        self.stop()
        if self.mounted:
            # nspawn's own mounts may linger a moment after it exits.
            for _ in range(10):
                if subprocess.run(["umount", self.root],
                                  check=False).returncode == 0:
                    break
                time.sleep(0.5)
            else:
                subprocess.run(["umount", "--lazy", self.root], check=False)
            self.mounted = False

    # ------------------------------------------------------------ commands

    def run(self, cmd, check=True, timeout=120, input=None):
        """Run a shell command inside; returns the CompletedProcess."""
        if self.leader is None:
            raise CommandFailed("the container is not running")
        argv = ["nsenter", "-t", str(self.leader), "-a", "--"] + INNER_ENV + \
            ["/bin/sh", "-c", cmd]
        try:
            r = subprocess.run(argv, capture_output=True, text=True,
                               timeout=timeout, input=input)
        except subprocess.TimeoutExpired as e:
            raise CommandFailed("timed out after %s s: %s" % (timeout, cmd)) \
                from e
        if check and r.returncode != 0:
            raise CommandFailed("exit %d: %s\n%s%s" % (
                r.returncode, cmd, r.stdout, r.stderr))
        return r

    def out(self, cmd, **kw):
        return self.run(cmd, **kw).stdout.strip()

    def props(self, unit, *names):
        """systemctl show, as a dict."""
        text = self.out("systemctl show %s -p %s" % (
            shlex.quote(unit), ",".join(names)))
        d = {}
        for line in text.splitlines():
            k, _, v = line.partition("=")
            d[k] = v
        return d

    def write(self, path, text, mode=0o644):
        """Write a file of the container's root (not /run or /tmp, which
        are the container's own file systems)."""
        full = os.path.join(self.root, path.lstrip("/"))
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w") as f:
            f.write(text)
        os.chmod(full, mode)

