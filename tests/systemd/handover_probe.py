#!/usr/bin/env python3
"""Inside the container: one handover of epmdd.service under the
container's own systemd, measured as tests/bench/handover.py measures it.

    handover_probe.py K SECONDS CLIENTS KIND...

A fresh daemon (systemctl stop, which empties the descriptor store, then
start) gets K registrations held by `loadgen hold` from 127.0.0.2, and
the time until the store has settled (NFileDescriptorStore: the 2 state
slots and the segments the sockets are parked in, doc/DECISIONS 22,
unchanged for a second) is noted, with the CPU time the container's PID 1
spent meanwhile.  Then for each KIND in turn, on the same registrations,
CLIENTS closed-loop `loadgen lookup` clients run for SECONDS
against 127.0.0.1:4369 and, one second in, the daemon is handed over:

  restart  systemctl restart epmdd.service (returns once READY came);
  crash    systemctl kill -s KILL epmdd.service (Restart=always brings
           it back after RestartSec=);
  upgrade  systemctl kill --kill-who=main -s USR2 epmdd.service (the
           in-place upgrade of epmdd(8), same binary, same PID).

Afterwards every held name is looked up once more.  At the end the hold
is released, and what was seen is printed as one JSON object on stdout,
{"setup": {...}, "runs": [one per KIND]}: loadgen's longest
lookup (connect to EOF) and errors, the trigger's own duration, the
CLOCK_MONOTONIC time of the trigger, the main PIDs and NRestarts before
and after, and the journal of epmdd.service since the trigger
(journalctl -o short-monotonic: systemd's lines about the unit and
epmdd's own, its "phases" lines when it runs with -d), so that the host
side can say where the pause went.  Timing is reported, never judged.
"""

import json
import os
import resource
import signal
import subprocess
import sys
import threading
import time

from benchlib import parse_kv, proc_status  # copied beside this file

LOADGEN = "/usr/local/bin/loadgen"
UNIT = "epmdd.service"
PORT = "4369"
# Registrations: 15000 plus lookups, loadgen's and epmdd's; epmdd's own
# limit is the unit's LimitNOFILE=.
NOFILE = 65536
STORE_TIMEOUT = 600     # seconds for the store to hold every socket
ACTIVE_TIMEOUT = 60
SETTLE = 2.0            # seconds between handovers: adoption, snapshot


def sh(cmd, check=True, timeout=120):
    r = subprocess.run(cmd, shell=True, capture_output=True, text=True,
                       timeout=timeout)
    if check and r.returncode != 0:
        raise RuntimeError("exit %d: %s\n%s%s" % (r.returncode, cmd,
                                                   r.stdout, r.stderr))
    return r.stdout.strip()


def props(*names):
    out = sh("systemctl show %s -p %s" % (UNIT, ",".join(names)))
    d = {}
    for line in out.splitlines():
        k, _, v = line.partition("=")
        d[k] = v
    return d


def last_kv(text):
    lines = [ln for ln in text.splitlines() if ln.startswith("mode=")]
    return parse_kv(lines[-1]) if lines else {}


def wait_active(timeout=ACTIVE_TIMEOUT):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        p = props("ActiveState", "SubState", "MainPID")
        if p["ActiveState"] == "active" and p["SubState"] == "running" \
                and p["MainPID"] != "0":
            return int(p["MainPID"])
        time.sleep(0.05)
    raise RuntimeError("%s not active after %d s: %s" % (
        UNIT, timeout, props("ActiveState", "SubState", "Result")))


def store_count():
    """How many descriptors systemd holds for the unit; -1 when PID 1,
    busy filling the store, does not answer in time."""
    try:
        v = props("NFileDescriptorStore").get("NFileDescriptorStore", "")
    except (RuntimeError, subprocess.TimeoutExpired):
        return -1
    return int(v) if v.isdigit() else -1


def nofile(pid):
    """A process's RLIMIT_NOFILE, soft/hard, from /proc."""
    try:
        with open("/proc/%d/limits" % pid) as f:
            for line in f:
                if line.startswith("Max open files"):
                    return "/".join(line.split()[3:5])
    except OSError:
        pass
    return None


def cpu_s(pid):
    """utime + stime of a process, in seconds."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def journal_since(cursor):
    """The unit's journal after CURSOR, without the one line per
    registration and unregistration."""
    text = sh("journalctl --no-pager -o short-monotonic -u %s%s" % (
        UNIT, " --after-cursor='%s'" % cursor if cursor else " -n 100"),
        check=False)
    return [ln for ln in text.splitlines() if "registered '" not in ln][:300]


def journal_cursor():
    out = sh("journalctl -n 0 --show-cursor --no-pager", check=False)
    for line in out.splitlines():
        if line.startswith("-- cursor: "):
            return line[len("-- cursor: "):]
    return None


def spawn_need(k):
    """Descriptors a restarted epmdd needs for K registrations: it holds
    every socket itself once it has read them from the segments (systemd
    passes only the state slots and a few segments)."""
    return k + 200


def pids_named(name):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open("/proc/%s/comm" % d) as f:
                    if f.read().strip() == name:
                        out.append(int(d))
            except OSError:
                pass
    return out


def crashloop(k, limit=90):
    """Kill epmdd with SIGSEGV as soon as each new process shows, until
    systemd gives up (the start limit) or LIMIT seconds pass: what a
    daemon that crashes at every start costs the host, and what is left
    afterwards."""
    rec = {"kind": "crashloop", "size": k}
    p = props("NRestarts", "MainPID")
    n0 = int(p["NRestarts"])
    cursor = journal_cursor()
    cpu0 = cpu_s(1)
    stat0 = open("/proc/stat").readline().split()[1:8]
    t0 = time.monotonic()
    rec["t0_mono_ms"] = round(t0 * 1000, 1)
    # The daemon running now is not one of the loop's starts.
    killed, kills, epmdd_cpu = set(pids_named("epmdd")), [], 0.0
    for pid in killed:
        os.kill(pid, signal.SIGSEGV)
    while time.monotonic() - t0 < limit:
        fresh = [x for x in pids_named("epmdd") if x not in killed]
        for pid in fresh:
            # Let it get as far as a start does in 20 ms.
            time.sleep(0.02)
            try:
                epmdd_cpu += cpu_s(pid) or 0
                os.kill(pid, signal.SIGSEGV)
                kills.append(round((time.monotonic() - t0) * 1000, 1))
            except OSError:
                pass
            killed.add(pid)
        if not fresh:
            st = props("ActiveState", "Result")
            if st["ActiveState"] == "failed":
                break
            time.sleep(0.01)
    rec["seconds"] = round(time.monotonic() - t0, 2)
    stat1 = open("/proc/stat").readline().split()[1:8]
    busy = [int(b) - int(a) for a, b in zip(stat0, stat1)]
    tck = os.sysconf("SC_CLK_TCK")
    rec["machine_busy_s"] = round((sum(busy) - busy[3] - busy[4]) / tck, 2)
    rec["pid1_cpu_s"] = round(cpu_s(1) - cpu0, 2)
    rec["epmdd_cpu_s"] = round(epmdd_cpu, 2)
    rec["kills_ms"] = kills
    rec["starts"] = len(kills)
    p = props("ActiveState", "SubState", "Result", "NRestarts")
    rec["end"] = p
    rec["nrestarts"] = int(p["NRestarts"]) - n0 if p["NRestarts"] else None
    rec["store_after"] = store_count()
    rec["socket"] = sh("systemctl show epmdd.socket -p ActiveState,Result "
                       "--value | paste -sd/", check=False)
    rec["listening"] = sh("ss -Hltn 'sport = :4369' | wc -l", check=False)
    rec["journal"] = journal_since(cursor)
    # What a client meets now: the socket starts a fresh, empty daemon
    # if it still listens.
    r = subprocess.run([LOADGEN, "lookup", "-p", PORT, "-c", "1", "--prefix",
                        "hold", "--nodes", str(max(k, 1)), "-n", "10", "-t",
                        "20", "-q"], capture_output=True, text=True,
                       timeout=60)
    rec["lookup_after"] = last_kv(r.stdout)
    sh("systemctl reset-failed epmdd.service epmdd.socket", check=False)
    sh("systemctl start epmdd.socket", check=False)
    return rec


def handover(kind, k, seconds, clients):
    """One handover of the running daemon, with the lookups around it."""
    rec = {"kind": kind, "size": k}
    p = props("ActiveState", "SubState", "MainPID", "NRestarts")
    if p["ActiveState"] != "active":
        raise RuntimeError("%s is %s/%s before the %s" % (
            UNIT, p["ActiveState"], p["SubState"], kind))
    pid0, n0 = int(p["MainPID"]), int(p["NRestarts"])
    cursor = journal_cursor()
    lookups = subprocess.Popen(
        [LOADGEN, "lookup", "-p", PORT, "-c", str(clients), "--prefix",
         "hold", "--nodes", str(max(k, 1)), "-t", str(seconds), "-T", "10",
         "-q"], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    try:
        time.sleep(1.0)
        rec["t0_mono_ms"] = round(time.monotonic() * 1000, 1)
        t0 = time.monotonic()
        if kind == "restart":
            r = sh("systemctl restart %s" % UNIT, check=False)
        elif kind == "crash":
            r = sh("systemctl kill -s KILL %s" % UNIT, check=False)
        else:
            r = sh("systemctl kill --kill-who=main -s USR2 %s" % UNIT,
                   check=False)
        rec["trigger_ms"] = round((time.monotonic() - t0) * 1000, 1)
        if r:
            rec["trigger_said"] = r
        out, _ = lookups.communicate(timeout=seconds + 60)
    finally:
        if lookups.poll() is None:
            lookups.kill()
            lookups.wait()
    res = last_kv(out)
    if not res:
        raise RuntimeError("loadgen lookup printed nothing")
    rec["lookup"] = res
    rec["max_ms"] = res.get("max_us", 0) / 1000.0
    rec["errors"] = res.get("errors", 0)
    rec["ok"] = res.get("ok", 0)
    try:
        pid1 = wait_active()
    except RuntimeError as e:
        rec["journal"] = journal_since(cursor)
        rec["failed"] = str(e)
        return rec
    rec["pids"] = [pid0, pid1]
    rec["nrestarts"] = int(props("NRestarts")["NRestarts"]) - n0
    rec["store_after"] = store_count()
    time.sleep(0.3)
    after = subprocess.run(
        [LOADGEN, "lookup", "-p", PORT, "-c", "4", "--prefix", "hold",
         "--nodes", str(max(k, 1)), "-n", str(max(k, 1)), "-t", "120", "-q"],
        capture_output=True, text=True, timeout=180)
    rec["after_errors"] = last_kv(after.stdout).get("errors", -1)
    rec["hwm_kib"] = proc_status(pid1, "VmHWM")
    rec["journal"] = journal_since(cursor)
    return rec


def main():
    k, seconds, clients = int(sys.argv[1]), float(sys.argv[2]), \
        int(sys.argv[3])
    kinds = sys.argv[4:]
    for kind in kinds:
        if kind not in ("restart", "crash", "upgrade", "crashloop"):
            raise SystemExit("handover_probe: unknown kind %r" % kind)
    # Root may raise the hard limit; a sandbox without CAP_SYS_RESOURCE
    # keeps the one it has (recorded: K + 64 must fit).
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (NOFILE, NOFILE))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    setup = {"size": k,
             "nofile": resource.getrlimit(resource.RLIMIT_NOFILE)[0]}
    runs = []

    # A fresh daemon: stop empties the descriptor store (systemd 252).
    sh("systemctl stop %s" % UNIT)
    sh("systemctl reset-failed %s" % UNIT, check=False)
    sh("systemctl start %s" % UNIT)
    pid0 = wait_active()
    setup["nofile_epmdd"] = nofile(pid0)
    setup["nofile_pid1"] = nofile(1)
    # A restarted epmdd holds every registration's socket under the
    # unit's LimitNOFILE= capped by PID 1's hard limit: a restart that
    # cannot keep them here is not tried.
    room = min(int(props("LimitNOFILE")["LimitNOFILE"]),
               int(setup["nofile_pid1"].split("/")[1]))
    need = spawn_need(k)
    setup["spawn_room"], setup["spawn_need"] = room, need
    if need > room:
        skipped = [x for x in kinds if x != "upgrade"]
        setup["skipped"] = ("%s: a restarted epmdd holding %d sockets "
                            "needs about %d descriptors, RLIMIT_NOFILE here "
                            "is %d" % (",".join(skipped), k, need, room))
        kinds = [x for x in kinds if x == "upgrade"]

    # One lookup client meanwhile: what a lookup meets while nodes
    # register (epmdd sends each socket to the store as it registers).
    fill = {"ok": 0, "max_us": 0, "errors": 0}
    filling = threading.Event()
    filling.set()

    def fill_lookups():
        while filling.is_set():
            r = subprocess.run(
                [LOADGEN, "lookup", "-p", PORT, "-c", "1", "--missing",
                 "nosuchnode", "-t", "2", "-T", "30", "-q"],
                capture_output=True, text=True, timeout=120)
            kv = last_kv(r.stdout)
            for key in ("ok", "errors"):
                fill[key] += kv.get(key, 0)
            fill["max_us"] = max(fill["max_us"], kv.get("max_us", 0))

    filler = threading.Thread(target=fill_lookups, daemon=True)
    filler.start()
    cpu0, t = cpu_s(1), time.monotonic()
    hold = subprocess.Popen(
        [LOADGEN, "hold", "-p", PORT, "--nodes", str(k), "--window", "64",
         "-t", "3600", "-q"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    hold_out = ""
    try:
        settled = parse_kv(hold.stdout.readline())
        if settled.get("state") != "settled":
            raise RuntimeError("hold of %d did not settle: %r" % (k, settled))
        setup["hold_s"] = round(time.monotonic() - t, 3)
        # The store settled before the handover: the slots and at least
        # one segment, unchanged for a second (PID 1 has taken every
        # FDSTORE message).
        deadline = time.monotonic() + STORE_TIMEOUT
        prev, n = -1, store_count()
        while (n < 3 or n != prev) and time.monotonic() < deadline:
            time.sleep(1.0)
            prev, n = n, store_count()
        if n < 3 or n != prev:
            raise RuntimeError("systemd's store did not settle (%d "
                               "descriptors) after %d s" % (n, STORE_TIMEOUT))
        setup["store"] = n
        setup["store_s"] = round(time.monotonic() - t, 3)
        setup["pid1_cpu_s"] = round(cpu_s(1) - cpu0, 2)
        filling.clear()
        filler.join(150)
        setup["fill_lookups"] = fill
        # Let journald and PID 1 finish with K registrations' messages.
        time.sleep(SETTLE)
        for kind in kinds:
            try:
                if kind == "crashloop":
                    rec = crashloop(k)
                else:
                    rec = handover(kind, k, seconds, clients)
            except (RuntimeError, OSError, subprocess.SubprocessError) as e:
                rec = {"kind": kind, "size": k, "failed": str(e)}
            runs.append(rec)
            if "failed" in rec:
                break
            time.sleep(SETTLE)
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        setup["failed"] = str(e)
        setup["journal"] = journal_since(None)
    finally:
        try:
            hold.stdin.close()
        except OSError:
            pass
        try:
            hold_out = hold.stdout.read()
            hold.wait(120)
        except subprocess.TimeoutExpired:
            hold.kill()
            hold.wait()
    setup["hold_lost"] = last_kv(hold_out).get("lost")
    json.dump({"setup": setup, "runs": runs}, sys.stdout)
    print()


if __name__ == "__main__":
    main()
