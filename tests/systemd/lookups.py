#!/usr/bin/env python3
"""Inside the container: look up NAMES over PORT_PLEASE2 on 127.0.0.1:4369
every INTERVAL seconds until STOPFILE appears or LIMIT seconds have
passed, and write what it saw to RESULT as JSON: the number of lookups,
each failure (a refused or reset connection, a timeout, a name not found,
a port that changed) with its time, and the longest wait.

    lookups.py RESULT STOPFILE LIMIT INTERVAL NAME...
"""

import json
import os
import socket
import struct
import sys
import time

TIMEOUT = 10  # a restart under systemd queues connections in the backlog


def lookup(name):
    s = socket.create_connection(("127.0.0.1", 4369), timeout=TIMEOUT)
    try:
        body = b"z" + name.encode()
        s.sendall(struct.pack(">H", len(body)) + body)
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    finally:
        s.close()
    if len(data) < 2 or data[0] != 119:
        raise OSError("short or foreign reply %r" % data[:8])
    if data[1] != 0:
        return None
    return struct.unpack(">H", data[2:4])[0]


def main():
    result, stopfile, limit, interval = sys.argv[1:5]
    names = sys.argv[5:]
    limit, interval = float(limit), float(interval)
    start = time.monotonic()
    ports = {}
    count, failures, longest = 0, [], 0.0
    while time.monotonic() - start < limit and not os.path.exists(stopfile):
        for name in names:
            t0 = time.monotonic()
            try:
                port = lookup(name)
                if port is None:
                    failures.append([time.time(), name, "not found"])
                elif ports.setdefault(name, port) != port:
                    failures.append([time.time(), name, "port changed"])
            except OSError as e:
                failures.append([time.time(), name, str(e)])
            longest = max(longest, time.monotonic() - t0)
            count += 1
        time.sleep(interval)
    with open(result + ".tmp", "w") as f:
        json.dump({"lookups": count, "failures": failures,
                   "longest_ms": round(longest * 1000, 1),
                   "ports": ports}, f)
    os.rename(result + ".tmp", result)


if __name__ == "__main__":
    main()
