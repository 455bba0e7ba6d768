"""What the msrest programs beside this file share: numbered
steps (``CHECKS``) and waiting for a condition. Standard library only."""

from __future__ import annotations

import time

CHECKS: list[str] = []


def step(name: str) -> None:
    """Record and print a passed check."""
    CHECKS.append(name)
    print(f"ok {len(CHECKS)} {name}", flush=True)


def until(what: str, check, seconds: float = 60.0):
    """``check()``'s first true value, polled every 0.1 s for ``seconds``."""
    deadline = time.monotonic() + seconds
    while not (value := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen in {seconds:g} s")
        time.sleep(0.1)
    return value
