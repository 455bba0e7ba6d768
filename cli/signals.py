"""Ctrl-C and SIGTERM: interrupt the run once, and never cut its cleanup
short by accident.

The first SIGINT/SIGTERM raises ``KeyboardInterrupt`` where the run is, so
the workflow's cleanup (registered as resources were created) runs. A first
signal that lands *during* cleanup (``core.interrupts.in_cleanup``) does not
raise: the cleanup finishes, and the command then exits 130. A second signal
during cleanup ends its waits: the run names what it left (and the ledger
keeps it for ``topwords cleanup``).
"""

from __future__ import annotations

import signal
import sys
from contextlib import contextmanager
from typing import Iterator

from topwords.core.interrupts import in_cleanup

__all__ = ["Interrupts", "interrupt_once", "keep_exit_status"]


class Interrupts:
    """What signals arrived (``count``) while :func:`interrupt_once` held."""

    def __init__(self) -> None:
        self.count = 0

    @property
    def received(self) -> bool:
        return self.count > 0

    def handle(self, signum: int, frame: object) -> None:
        self.count += 1
        name = signal.Signals(signum).name
        if self.count == 1 and not in_cleanup():
            sys.stderr.write(f"\n{name}: stopping and cleaning up ...\n")
            raise KeyboardInterrupt
        if self.count == 1 or not in_cleanup():
            sys.stderr.write(f"\n{name}: finishing the cleanup (again to stop waiting)\n")
            return
        sys.stderr.write(f"\n{name}: not waiting for the cleanup; what is left is named below\n")
        raise KeyboardInterrupt


@contextmanager
def interrupt_once() -> Iterator[Interrupts]:
    state = Interrupts()
    previous = {sig: signal.signal(sig, state.handle) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield state
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
