#!/usr/bin/env python3
"""sdmanager: a small service manager of the tests' own.

It does for epmdd what systemd does for a Type=notify service with a
socket unit and a file descriptor store, so that restarts can be tested
without a running systemd:

- it creates and holds the listening sockets (a TCP port on 127.0.0.1
  and a control socket), which therefore stay open across restarts;
- it listens on a NOTIFY_SOCKET (datagrams, with SCM_CREDENTIALS and
  SCM_RIGHTS) and keeps the messages: READY, STATUS, STOPPING, WATCHDOG,
  and FDSTORE=1/FDNAME= (stored, at most `store_max` descriptors, as
  FileDescriptorStoreMax=; one that polls EPOLLHUP or EPOLLERR is
  dropped unless FDPOLL=0 came with it, as systemd does) and
  FDSTOREREMOVE=1/FDNAME=;
- it starts the daemon with LISTEN_PID, LISTEN_FDS and LISTEN_FDNAMES:
  the listeners first, then the stored descriptors in shuffled order;
- restart() (SIGTERM, store kept), crash() (SIGKILL, store kept) and
  stop() + start() (store emptied, as systemd 252 does).

Library for the restart tests; only the standard library.
"""
import array
import fcntl
import os
import random
import select
import signal
import socket
import struct
import subprocess
import sys
import threading
import time


SO_PEEK_OFF = 42     # Linux; not in Python's socket module


class Manager:
    def __init__(self, epmdd, tmpdir, port, store_max=4096, notify=True,
                 args=(), seed=4369, log=None):
        self.epmdd = epmdd
        self.tmp = tmpdir
        self.port = port
        self.store_max = store_max
        self.notify = notify
        self.args = list(args)
        self.rng = random.Random(seed)
        self.store = []          # [(name, fd)]
        self.polled = set()      # stored fds without FDPOLL=0
        self.dropped_hup = []    # names dropped for EPOLLHUP/EPOLLERR
        self.messages = []       # [(time, pid, {key: value})], main pid's only
        self.ignored = []        # [(time, pid, {key: value})], from any other
        self.main_pid = None     # NotifyAccess=main: whose messages count
        self.refused_store = 0
        self.proc = None
        self.log = log or os.path.join(tmpdir, "epmdd.log")
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", port))
        self.listener.listen(4096)
        self.control_path = os.path.join(tmpdir, "control")
        self.control = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.control.bind(self.control_path)
        self.control.listen(64)
        self.notify_path = os.path.join(tmpdir, "notify")
        self.ns = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.ns.bind(self.notify_path)
        self.ns.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)
        self.ns.setblocking(False)
        # Like systemd, read notifications as they come: the daemon's
        # sendmsg blocks once max_dgram_qlen of them wait unread.
        self.lock = threading.RLock()
        self.closing = False
        self.reader = threading.Thread(target=self._read_loop, daemon=True)
        self.reader.start()

    def _read_loop(self):
        while not self.closing:
            with self.lock:
                self._pump_once()
            time.sleep(0.002)

    # ------------------------------------------------------------ notify

    def pump(self, timeout=0.0):
        """Let pending notifications in; wait up to timeout for one more."""
        deadline = time.time() + timeout
        with self.lock:
            n = len(self.messages)
            self._pump_once()
        while time.time() < deadline:
            with self.lock:
                self._pump_once()
                if len(self.messages) > n:
                    return
            time.sleep(0.005)

    def _pump_once(self):
        while True:
            try:
                msg, anc, _, _ = self.ns.recvmsg(
                    65536, socket.CMSG_SPACE(12) + socket.CMSG_SPACE(4 * 253),
                    socket.MSG_CMSG_CLOEXEC)
            except (BlockingIOError, OSError):
                break
            pid, fds = None, []
            for level, kind, data in anc:
                if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS:
                    pid = struct.unpack("iII", data[:12])[0]
                elif level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                    a = array.array("i")
                    a.frombytes(data[:len(data) - len(data) % a.itemsize])
                    fds.extend(a)
            fields = dict(l.split("=", 1) for l in msg.decode().split("\n") if "=" in l)
            if pid is None or pid != self.main_pid:
                # NotifyAccess=main: systemd logs and drops these.
                for fd in fds:
                    os.close(fd)
                self.ignored.append((time.time(), pid, fields))
                print("sdmanager: ignored a notification from pid %s (main pid %s): %r"
                      % (pid, self.main_pid, fields), file=sys.stderr, flush=True)
                continue
            self.messages.append((time.time(), pid, fields))
            self._store_rules(fields, fds)
        self._poll_store()

    def _poll_store(self):
        # As systemd does (on_fd_store_io): a stored descriptor that
        # polls EPOLLHUP or EPOLLERR is closed and forgotten, unless it
        # came with FDPOLL=0.
        if not self.polled:
            return
        p = select.poll()
        for fd in self.polled:
            p.register(fd, 0)
        bad = {fd for fd, ev in p.poll(0)
               if ev & (select.POLLHUP | select.POLLERR)}
        if not bad:
            return
        keep = []
        for n, fd in self.store:
            if fd in bad:
                self.dropped_hup.append(n)
                print("sdmanager: dropped stored fd %s (EPOLLHUP/EPOLLERR)" % n,
                      file=sys.stderr, flush=True)
                os.close(fd)
            else:
                keep.append((n, fd))
        self.store = keep
        self.polled -= bad

    def _store_rules(self, fields, fds):
        if fields.get("FDSTOREREMOVE") == "1":
            name = fields.get("FDNAME", "")
            keep = []
            for n, fd in self.store:
                if n == name:
                    self.polled.discard(fd)
                    os.close(fd)
                else:
                    keep.append((n, fd))
            self.store = keep
        if fields.get("FDSTORE") == "1":
            name = fields.get("FDNAME", "stored")
            for fd in fds:
                if len(self.store) >= self.store_max:
                    self.refused_store += 1
                    os.close(fd)
                else:
                    self.store.append((name, fd))
                    if fields.get("FDPOLL") != "0":
                        self.polled.add(fd)
            return
        for fd in fds:
            os.close(fd)

    def wait_for(self, key, value=None, timeout=10.0, since=0.0):
        """Until a message with key (=value) arrives after `since`."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            self.pump(0.05)
            with self.lock:
                for t, _, m in self.messages:
                    if t >= since and key in m and (value is None or m[key] == value):
                        return m
        raise AssertionError("no %s%s from the daemon within %s s"
                             % (key, "=" + value if value else "", timeout))

    def parked_ids(self):
        """The registration ids whose sockets are parked in the stored
        segments ("p<key>", epmdd's park.c), one per socket (a socket
        parked twice counts twice).  Read by peeking, as epmdd does: the
        segments keep them."""
        self.pump()
        ids = []
        with self.lock:
            segs = [fd for n, fd in self.store if n.startswith("p")]
        for fd in segs:
            s = socket.socket(fileno=os.dup(fd))
            try:
                s.setsockopt(socket.SOL_SOCKET, SO_PEEK_OFF, 0)
                while True:
                    try:
                        data, anc, _, _ = s.recvmsg(
                            253 * 8, socket.CMSG_SPACE(253 * 4),
                            socket.MSG_PEEK | socket.MSG_DONTWAIT)
                    except BlockingIOError:
                        break
                    if not data:
                        break
                    for level, kind, d in anc:
                        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                            a = array.array("i")
                            a.frombytes(d[:len(d) - len(d) % a.itemsize])
                            for x in a:
                                os.close(x)
                    ids.extend(struct.unpack("=%dQ" % (len(data) // 8), data))
                s.setsockopt(socket.SOL_SOCKET, SO_PEEK_OFF, 0)
            finally:
                s.close()
        return sorted(ids)

    def stored_names(self):
        self.pump()
        with self.lock:
            return sorted(n for n, _ in self.store)

    # ------------------------------------------------------------ processes

    def start(self, extra_env=None, shuffle=True, inject=()):
        """Spawn epmdd with the listeners and the store (plus `inject`)."""
        self.pump()
        passed = [("epmdd.socket", self.listener.fileno()),
                  ("epmdd.socket", self.control.fileno())]
        with self.lock:
            stored = list(self.store) + list(inject)
        if shuffle:
            self.rng.shuffle(stored)
        passed += stored
        t0 = time.time()
        # The main pid is set before a notification can be read: the
        # reader waits on the lock meanwhile.
        self.lock.acquire()
        pid = os.fork()
        if pid == 0:
            try:
                # Passed descriptors into 3, 4, ...: chains into a
                # target no source holds are followed first (each dup2
                # frees its source), then the cycles left are broken
                # with one spare descriptor, so that this needs one
                # descriptor more than are passed (15000 registrations
                # under RLIMIT_NOFILE 20000).
                n = len(passed)
                cur = [fd for _, fd in passed]
                at = {fd: i for i, fd in enumerate(cur)}   # fd -> source

                def place(i):
                    target = 3 + i
                    if cur[i] != target:
                        os.dup2(cur[i], target, inheritable=True)
                        del at[cur[i]]
                        cur[i] = target
                        at[target] = i
                    else:
                        os.set_inheritable(target, True)
                done = [False] * n
                for i in range(n):
                    if done[i] or (3 + i) in at and at[3 + i] != i:
                        continue
                    # Target 3+i is free (or holds i): follow the chain.
                    j = i
                    while True:
                        old = cur[j]
                        place(j)
                        done[j] = True
                        k = old - 3
                        if old == 3 + j or not (0 <= k < n) or done[k] \
                                or old in at:
                            break
                        j = k
                for i in range(n):
                    if done[i]:
                        continue
                    # A cycle: lift the occupant of 3+i out, then chain.
                    occ = at[3 + i]
                    spare = fcntl.fcntl(cur[occ], fcntl.F_DUPFD_CLOEXEC, 3 + n)
                    del at[cur[occ]]
                    cur[occ] = spare
                    at[spare] = occ
                    j = i
                    while not done[j]:
                        old = cur[j]
                        place(j)
                        done[j] = True
                        k = old - 3
                        if not (0 <= k < n) or done[k] or old in at:
                            break
                        j = k
                # As systemd: the child gets these and nothing else.
                os.closerange(3 + len(passed), 65536)
                env = {k: v for k, v in os.environ.items()
                       if not k.startswith(("ERL_EPMD_", "LISTEN_", "NOTIFY_"))}
                env["LISTEN_PID"] = str(os.getpid())
                env["LISTEN_FDS"] = str(len(passed))
                env["LISTEN_FDNAMES"] = ":".join(n for n, _ in passed)
                if self.notify:
                    env["NOTIFY_SOCKET"] = self.notify_path
                env.update(extra_env or {})
                fd = os.open(self.log, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
                os.dup2(fd, 2)
                os.dup2(os.open("/dev/null", os.O_RDWR), 0)
                os.dup2(os.open("/dev/null", os.O_RDWR), 1)
                os.execve(self.epmdd, [self.epmdd, "-systemd", "-control",
                                       self.control_path] + self.args, env)
            finally:
                os._exit(127)
        self.proc = self.main_pid = pid
        self.lock.release()
        if self.notify:
            self.wait_for("READY", "1", since=t0)
        else:
            time.sleep(0.3)
        return pid

    def _exit_status(self, timeout=10.0):
        # Woken by the exit itself (a pidfd), as systemd is by SIGCHLD,
        # rather than by polling: a handover's measured pause must not
        # include the manager's own polling interval.
        deadline = time.time() + timeout
        pidfd = os.pidfd_open(self.proc)
        try:
            p = select.poll()
            p.register(pidfd, select.POLLIN)
            while time.time() < deadline:
                p.poll(50)
                pid, status = os.waitpid(self.proc, os.WNOHANG)
                if pid:
                    self.proc = None
                    return os.waitstatus_to_exitcode(status)
                self.pump()
        finally:
            os.close(pidfd)
        raise AssertionError("epmdd did not exit within %s s" % timeout)

    def restart(self, **kw):
        """systemctl restart: SIGTERM, keep the store, start again."""
        os.kill(self.proc, signal.SIGTERM)
        rc = self._exit_status()
        self.pump()
        self.start(**kw)
        return rc

    def crash(self, **kw):
        """SIGKILL, then Restart=on-failure: the store is kept."""
        os.kill(self.proc, signal.SIGKILL)
        rc = self._exit_status()
        self.pump()
        self.start(**kw)
        return rc

    def stop(self):
        """systemctl stop: SIGTERM, and the store is emptied."""
        if self.proc is None:
            return None
        os.kill(self.proc, signal.SIGTERM)
        rc = self._exit_status()
        self.pump()
        with self.lock:
            for _, fd in self.store:
                os.close(fd)
            self.store = []
            self.polled = set()
        return rc

    def kill_quietly(self):
        if self.proc is not None:
            try:
                os.kill(self.proc, signal.SIGKILL)
                os.waitpid(self.proc, 0)
            except OSError:
                pass
            self.proc = None

    def close(self):
        self.kill_quietly()
        self.closing = True
        self.reader.join()
        for _, fd in self.store:
            os.close(fd)
        self.store = []
        self.polled = set()
        self.listener.close()
        self.control.close()
        self.ns.close()
