# SPDX-License-Identifier: Apache-2.0
# Copyright (c) 2026 The epmdd authors
"""benchlib: what the benchmark scripts read from loadgen and /proc.

Used by tests/bench/run, tests/bench/handover.py and, copied next to it
into the container, tests/systemd/handover_probe.py: the standard
library only.
"""


def parse_kv(line):
    """loadgen's one-line key=value output as a dict (int, float or str
    values); tokens without '=' are skipped."""
    out = {}
    for tok in line.split():
        k, sep, v = tok.partition("=")
        if not sep:
            continue
        try:
            out[k] = int(v)
        except ValueError:
            try:
                out[k] = float(v)
            except ValueError:
                out[k] = v
    return out


def proc_status(pid, field):
    """A kB figure from /proc/PID/status (VmHWM, VmRSS), or None."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None
