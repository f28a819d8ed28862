"""policy_lib: what the policy scripts run under sdmanager.py share
(policy_restart.py, policy_full.py): a check that prints "ok: ..." or
raises, a configuration file written whole, a daemon's log, and whether
NAMES is refused."""
import os

from epmdwire import NAMES, exchange


def ok(cond, what):
    if not cond:
        raise AssertionError(what)
    print("ok:", what, flush=True)


def write(path, text):
    """Replace path with text at once (mode 0644), as an editor would."""
    tmp = path + ".new"
    with open(tmp, "w") as f:
        f.write(text)
    os.chmod(tmp, 0o644)
    os.rename(tmp, path)


def log_of(m):
    with open(m.log, errors="replace") as f:
        return f.read()


def names_refused(m):
    """NAMES from loopback closed without a byte (names none)?"""
    data, how = exchange(m.port, NAMES)
    return data == b"" and how in ("closed", "reset")
