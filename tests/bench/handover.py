#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
# Copyright (c) 2026 The epmdd authors
"""handover: the longest lookup stall across a handover (issue 17).

For each size K and each kind of handover, a fresh epmdd holds K
registrations (loadgen hold, from 127.0.0.2) while 4 closed-loop lookup
clients (loadgen lookup over hold0..holdK-1) run for --seconds; one
second in, the daemon is handed over:

  upgrade  kill -USR2: an in-place upgrade (same binary, same pid);
  restart  under the tests' own service manager with a descriptor store
           (tests/integration/lib/sdmanager.py): SIGTERM, the store kept,
           started again at once (systemctl restart without RestartSec);
  crash    the same with SIGKILL (Restart=always, RestartSec= not
           counted: add it to the figure).

The figure is loadgen's longest lookup (connect to EOF, in ms) over the
whole run, and its errors (refused, wrong answers...).  With --phases
the daemon runs with -d and each record keeps its "... phases" log
lines (the times of its steps, CLOCK_MONOTONIC ms, see epmdd(8),
RESTARTS AND UPGRADES), printed after the table.  The hold is
checked afterwards: every registration must still be answered.  `make
bench` runs it after the main table (tests/bench/run --handover-runs);
alone: tests/bench/handover.py --epmdd src/epmdd --runs 3.
"""

import argparse
import json
import os
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "integration", "lib"))
import sdmanager  # noqa: E402
from epmdwire import free_port  # noqa: E402
from benchlib import parse_kv, proc_status  # noqa: E402

KINDS = ("upgrade", "restart", "crash")
PR_SET_PDEATHSIG = 1


def _pdeath():
    import ctypes
    ctypes.CDLL(None).prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)


def wait_port(port, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return True
        except OSError:
            time.sleep(0.02)
    return False


class Hold:
    def __init__(self, loadgen, port, k):
        self.p = subprocess.Popen(
            [loadgen, "hold", "-p", str(port), "--nodes", str(k),
             "--window", "64", "-t", "3600", "-q"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            preexec_fn=_pdeath)
        line = self.p.stdout.readline().decode()
        self.settled = parse_kv(line)
        if self.settled.get("state") != "settled":
            self.stop()
            raise RuntimeError("hold of %d did not settle: %r" % (k, line))

    def stop(self):
        try:
            self.p.stdin.close()
        except OSError:
            pass
        try:
            out = self.p.stdout.read().decode()
            self.p.wait(60)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait()
            out = ""
        lines = [l for l in out.splitlines() if l.startswith("mode=")]
        return parse_kv(lines[-1]) if lines else {}


def lookups(loadgen, port, k, seconds, clients):
    return subprocess.Popen(
        [loadgen, "lookup", "-p", str(port), "-c", str(clients),
         "--prefix", "hold", "--nodes", str(max(k, 1)), "-t", str(seconds),
         "-T", "10", "-q"],
        stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
        preexec_fn=_pdeath)


def lookup_result(p):
    out, _ = p.communicate(timeout=120)
    lines = [l for l in out.decode().splitlines() if l.startswith("mode=")]
    if not lines:
        raise RuntimeError("loadgen lookup printed nothing")
    return parse_kv(lines[-1])


def check_all(loadgen, port, k):
    """Every held name answered once more, after the handover."""
    r = subprocess.run(
        [loadgen, "lookup", "-p", str(port), "-c", "4", "--prefix", "hold",
         "--nodes", str(max(k, 1)), "-n", str(max(k, 1)), "-t", "120",
         "-q"], stdout=subprocess.PIPE, stdin=subprocess.DEVNULL,
        timeout=180)
    lines = [l for l in r.stdout.decode().splitlines()
             if l.startswith("mode=")]
    return parse_kv(lines[-1]) if lines else {"errors": -1}


def one(a, kind, k, tmp):
    port = free_port()
    rec = {"kind": kind, "size": k}
    log = os.path.join(tmp, "%s-%d.log" % (kind, k))
    mgr = proc = None
    debug = ["-d"] if a.phases else []
    if kind == "upgrade":
        with open(log, "ab") as err:
            proc = subprocess.Popen(
                [a.epmdd, "-port", str(port), "-address", "127.0.0.1",
                 "-control", os.path.join(tmp, "control")] + debug,
                stdout=subprocess.DEVNULL, stderr=err, preexec_fn=_pdeath)
        pid = proc.pid
        if not wait_port(port):
            proc.kill()
            raise RuntimeError("epmdd did not listen")
    else:
        mgr = sdmanager.Manager(a.epmdd, tmp, port, store_max=16384,
                                log=log, args=debug)
        pid = mgr.start(shuffle=True)
    try:
        hold = Hold(a.loadgen, port, k)
        lg = lookups(a.loadgen, port, k, a.seconds, a.clients)
        time.sleep(1.0)
        t0 = time.monotonic()
        if kind == "upgrade":
            os.kill(pid, signal.SIGUSR2)
        elif kind == "restart":
            mgr.restart(shuffle=True)
        else:
            mgr.crash(shuffle=True)
        rec["manager_s"] = time.monotonic() - t0
        r = lookup_result(lg)
        rec["max_ms"] = r.get("max_us", 0) / 1000.0
        rec["errors"] = r.get("errors", 0)
        rec["ok"] = r.get("ok", 0)
        rec["lookup"] = r
        # The handover is over when the log says so (an upgrade) or
        # READY came (the manager waited for it).
        time.sleep(0.3)
        after = check_all(a.loadgen, port, k)
        rec["after_errors"] = after.get("errors")
        rec["hwm_kib"] = proc_status(mgr.proc if mgr else pid, "VmHWM")
        h = hold.stop()
        rec["hold_lost"] = h.get("lost")
    finally:
        if mgr is not None:
            mgr.close()
        if proc is not None:
            proc.terminate()
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if a.phases:
            with open(log, errors="replace") as f:
                rec["phases"] = [l.rstrip("\n") for l in f
                                 if " phases: " in l]
    return rec


def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def table(recs, sizes, kinds):
    lines = ["handover    nodes  longest lookup stall ms: median (runs)"
             "            errors  after  VmHWM KiB"]
    for kind in kinds:
        for k in sizes:
            rs = [r for r in recs if r["kind"] == kind and r["size"] == k
                  and "max_ms" in r]
            if not rs:
                lines.append("%-8s %8d  failed" % (kind, k))
                continue
            runs = " ".join("%.0f" % r["max_ms"] for r in rs)
            lines.append("%-8s %8d  %6.0f (%s)%s %6d %6d %10s" % (
                kind, k, med([r["max_ms"] for r in rs]), runs,
                " " * max(0, 30 - len(runs)),
                sum(r["errors"] for r in rs),
                sum((r.get("after_errors") or 0) +
                    (r.get("hold_lost") or 0) for r in rs),
                "%.0f" % med([r.get("hwm_kib") for r in rs])
                if med([r.get("hwm_kib") for r in rs]) else "-"))
    lines.append("(errors: failed or wrong lookups during the run, all "
                 "runs; after: held names not answered afterwards or "
                 "registrations lost; a crash's figure leaves out "
                 "RestartSec=)")
    return lines


def say_lines(lines):
    for line in lines:
        print(line, flush=True)


def run_all(a, say=say_lines):
    recs = []
    tmp = tempfile.mkdtemp(prefix="epmdd-handover.")
    for run in range(a.runs):
        for k in a.sizes:
            for kind in a.kinds:
                d = os.path.join(tmp, "%s-%d-%d" % (kind, k, run))
                os.makedirs(d)
                try:
                    r = one(a, kind, k, d)
                except (RuntimeError, AssertionError, OSError,
                        subprocess.SubprocessError) as e:
                    r = {"kind": kind, "size": k, "failed": str(e)}
                r["run"] = run
                recs.append(r)
                print("handover: run %d %s %d: %s" % (
                    run + 1, kind, k,
                    "%.1f ms, %d errors" % (r["max_ms"], r["errors"])
                    if "max_ms" in r else r.get("failed")),
                    file=sys.stderr, flush=True)
    say(table(recs, a.sizes, a.kinds))
    if getattr(a, "phases", False):
        for r in recs:
            for line in r.get("phases", []):
                print("%s %d run %d: %s" % (r["kind"], r["size"],
                                            r["run"] + 1,
                                            line.split(": ", 1)[-1]))
    return recs


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--epmdd", default=os.path.join(REPO, "src", "epmdd"))
    ap.add_argument("--loadgen",
                    default=os.path.join(REPO, "build", "bench", "loadgen"))
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--sizes", default="1,1000,15000")
    ap.add_argument("--kinds", default=",".join(KINDS))
    ap.add_argument("--seconds", type=float, default=4)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--json", default=None, help="write every run here")
    ap.add_argument("--phases", action="store_true",
                    help="run epmdd with -d and print its phase lines")
    a = ap.parse_args()
    a.sizes = [int(x) for x in a.sizes.split(",")]
    a.kinds = [x for x in a.kinds.split(",") if x]
    a.epmdd = os.path.abspath(a.epmdd)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    # sdmanager's child moves up to K stored descriptors above K before
    # putting them at 3...: it needs about twice K (root may raise it).
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (65536, 65536))
    except (ValueError, OSError):
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    recs = run_all(a)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(recs, f, indent=1)


if __name__ == "__main__":
    main()
