"""What the fault tests that run `topwords emulator` as a process share."""

from __future__ import annotations

import time


def until(check, timeout: float = 20.0) -> bool:
    """Whether ``check()`` became true within ``timeout`` s (polled every 0.2 s)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return check()


def emulator_settings(proc) -> dict[str, str]:
    """The six settings `topwords emulator` prints (``export NAME='value'``)."""
    found = {}
    while len(found) < 6:
        line = proc.stdout.readline()
        assert line, "the emulator ended before printing its settings"
        name, _, value = line.removeprefix("export ").strip().partition("=")
        found[name] = value.strip("'")
    return found
