"""Hold control connections: ctlhold.py SOCKET N RELEASE [TYPE].

Opens up to N connections to the control socket one by one, sends each
one request of TYPE (5, watch, by default; 2 for status) and keeps those
the daemon answered with anything but an error.  Prints "held H refused
R: REASONS" and holds them until the file RELEASE appears (60 s at
most).  Run as any user: it needs nothing but python3.
"""
import os
import socket
import struct
import sys
import time

path, n, release = sys.argv[1], int(sys.argv[2]), sys.argv[3]
kind = int(sys.argv[4]) if len(sys.argv) > 4 else 5
held, refused = [], []
for _ in range(n):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(5)
    s.connect(path)
    try:
        s.sendall(struct.pack(">BBHI", 1, kind, 0, 0))
    except OSError:
        pass
    data = b""
    try:
        while len(data) < 8 or len(data) < 8 + struct.unpack(">I", data[4:8])[0]:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except OSError:
        pass
    if data and data[1:2] != b"\x44":  # anything but CTL_ERROR
        held.append(s)
    else:
        refused.append(data[8:])
        s.close()
why = sorted({m.split(b"\x07message\x02")[-1][2:].decode() for m in refused})
print("held %d refused %d: %s" % (len(held), len(refused), "; ".join(why)), flush=True)
for _ in range(600):
    if os.path.exists(release):
        break
    time.sleep(0.1)
