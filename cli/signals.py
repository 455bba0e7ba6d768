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

__all__ = ["interrupt_once", "keep_exit_status"]


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


def keep_exit_status() -> None:
    """Make sure an interrupted run, handled, still exits with its own status.

    CPython notes a KeyboardInterrupt that passes through an ``exec()`` of
    source text (dataclasses and namedtuple build methods that way, so an
    interrupt during an import can) and, under ``python -m``, ends the
    process at exit by re-sending itself SIGINT, handled or not: exit -2
    instead of 130. With SIGINT blocked that signal stays pending, and the
    exit status is 130 either way. Nothing is left to interrupt by then.
    Only in the program itself: a library user keeps its Ctrl-C.
    """
    from . import PROGRAM

    if PROGRAM:
        signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
