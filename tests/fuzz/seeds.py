#!/usr/bin/env python3
"""seeds: write the fuzz seed corpora from the golden captures.

usage: seeds.py DATA_DIR OUT_DIR
Writes OUT_DIR/codec/* (inputs for fuzz_codec: the framing it expects,
built from every captured request), OUT_DIR/ctlproto/* (a few valid
control messages), OUT_DIR/state/* (saved-state records in
fuzz_state's framing, laid out as src/state.c documents them) and
OUT_DIR/config/* (configuration files and -allow values for
fuzz_config, in the grammar of epmdd.conf(5)).
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


def registered(rid, name, port, creation=1795522110, extra=b""):
    """A REGISTERED record body (src/state.c): type 1 and its fields."""
    name = name.encode()
    return (b"\x01" + struct.pack(">QIqIQ", rid, creation, 1795522110, 0, 0)
            + b"\x04" + bytes([127, 0, 0, 1]) + bytes(12)
            + struct.pack(">HHBBHHi", 40000, port, 77, 0, 6, 5, -1)
            + struct.pack(">H", len(name)) + name
            + struct.pack(">H", len(extra)) + extra)


def unregistered(rid):
    return b"\x02" + struct.pack(">Qq", rid, 1795522200)


def old(name, creation=1795522100):
    name = name.encode()
    return (b"\x03" + struct.pack(">IqHi", creation, 1795522000, 4001, -1)
            + struct.pack(">H", len(name)) + name)


def policy(text, file=True):
    """A POLICY record body: type 4, flags, len:u32, the text."""
    return b"\x04" + bytes([1 if file else 0]) + struct.pack(">I", len(text)) + text


CONFIGS = {
    "otp": b"register local\nlookup any\nnames any\ndump local\nadmin local\n",
    "cluster": b"# a cluster subnet\nnames local 10.1.0.0/16\nlookup local 10.1.0.0/16"
               b" fd00:1::/64\nregister local\n",
    "rabbit": b"owner rabbit user=r\nowner rabbitmqcli-* user=r group=a\n"
              b"owner * group=w\nadmin none\r\n",
    "errors": b"names 10.1.0.0/8\nowner ra*b user=x\nfoo\n",
}


def state_input(records, gen=1, next_id=10):
    """fuzz_state's input: flags 0, generation, next id, len:u16 records."""
    return (b"\x00" + struct.pack(">IQ", gen, next_id)
            + b"".join(struct.pack(">H", len(r)) + r for r in records))


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
    # The same with fuzz_codec's policy in force (first byte's bit 2).
    with open(os.path.join(out, "codec", "policy-sequence"), "wb") as f:
        f.write(b"\x07" + seq[1:])
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
    os.makedirs(os.path.join(out, "state"), exist_ok=True)
    states = {
        "one": [registered(1, "seed", 4000)],
        "journal": [registered(1, "a", 4000), registered(2, "b", 4001),
                    unregistered(1), old("c"), registered(3, "a", 4002)],
        "old": [old("x"), old("y", 7)],
        "extra": [registered(5, "withextra", 4100, extra=b"\x01\x02")],
        "policy": [policy(CONFIGS["rabbit"]), registered(1, "rabbit", 4000),
                   policy(b"", file=False)],
    }
    for name, recs in states.items():
        with open(os.path.join(out, "state", name), "wb") as f:
            f.write(state_input(recs))
    # fuzz_config: byte 0 even, a file; odd, an -allow value.
    os.makedirs(os.path.join(out, "config"), exist_ok=True)
    for name, text in CONFIGS.items():
        with open(os.path.join(out, "config", name), "wb") as f:
            f.write(b"\x00" + text)
    for name, value in {"allow-names": b"\x05local,10.0.0.0/8 ::1",
                        "allow-any": b"\x01any"}.items():
        with open(os.path.join(out, "config", name), "wb") as f:
            f.write(value)


if __name__ == "__main__":
    main()
