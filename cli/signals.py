"""Ctrl-C and SIGTERM: interrupt the run once, then let cleanup finish.

The first SIGINT/SIGTERM raises ``KeyboardInterrupt`` where the run is, so
the workflow's cleanup (registered as resources were created) runs. Further
signals during cleanup only print a note: a second Ctrl-C must not leave a
pool running.
"""

from __future__ import annotations

import signal
import sys
from contextlib import contextmanager
from typing import Iterator

__all__ = ["interrupt_once"]


@contextmanager
def interrupt_once() -> Iterator[None]:
    state = {"interrupted": False}

    def handler(signum: int, frame: object) -> None:
        if state["interrupted"]:
            sys.stderr.write("\nstill cleaning up; please wait\n")
            return
        state["interrupted"] = True
        sys.stderr.write(f"\n{signal.Signals(signum).name}: stopping and cleaning up ...\n")
        raise KeyboardInterrupt

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
