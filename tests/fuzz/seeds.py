#!/usr/bin/env python3
"""seeds: write the fuzz seed corpora from the golden captures.

usage: seeds.py DATA_DIR OUT_DIR
Writes OUT_DIR/codec/* (inputs for fuzz_codec: the framing it expects,
built from every captured request) and OUT_DIR/ctlproto/* (a few valid
control messages).
"""
import os
import struct
import sys


def requests(data_dir):
    for name in sorted(os.listdir(data_dir)):
        if not name.endswith(".hex"):
            continue
        req = b""
        for line in open(os.path.join(data_dir, name)):
            if line.startswith("> "):
                req += bytes.fromhex(line[2:].strip())
        if req:
            yield name[:-4], req


def conn(req, local=True, keep=True):
    """One fuzz_codec connection: flags byte, u16 length, the bytes."""
    flags = (1 if local else 0) | (0x10 if keep else 0)
    return struct.pack(">BH", flags, len(req)) + req


def field(key, value):
    k = key.encode()
    if isinstance(value, int):
        return bytes([len(k)]) + k + b"\x01" + struct.pack(">Q", value)
    return bytes([len(k)]) + k + b"\x02" + struct.pack(">H", len(value)) + value


def msg(mtype, *fields):
    payload = b"".join(fields)
    return struct.pack(">BBHI", 1, mtype, 0, len(payload)) + payload


def main():
    data_dir, out = sys.argv[1], sys.argv[2]
    os.makedirs(os.path.join(out, "codec"), exist_ok=True)
    os.makedirs(os.path.join(out, "ctlproto"), exist_ok=True)
    reqs = dict(requests(data_dir))
    for name, req in reqs.items():
        with open(os.path.join(out, "codec", name), "wb") as f:
            f.write(b"\x03" + conn(req))
    # Register, look up, list, stop, kill: one input.
    seq = b"\x03" + b"".join(conn(reqs[n]) for n in (
        "alive2_otp25", "port2_found_otp25", "names_otp25",
        "epmd_client_stop", "epmd_client_kill") if n in reqs)
    with open(os.path.join(out, "codec", "sequence"), "wb") as f:
        f.write(seq)
    seeds = {
        "names": msg(1), "status": msg(2), "stop": msg(3, field("name", b"tnode")),
        "node": msg(64, field("name", b"tnode"), field("port", 42571),
                    field("creation", 1795522110), field("extra", b"")),
        "error": msg(68, field("code", 1), field("message", b"permission denied")),
        "event": msg(69, field("event", b"registered"), field("time_ms", 1795522110000)),
    }
    for name, blob in seeds.items():
        with open(os.path.join(out, "ctlproto", name), "wb") as f:
            f.write(blob)


if __name__ == "__main__":
    main()
