"""What the user sees while a run goes: stages and live task counts.

On a terminal one status line is redrawn in place; otherwise (CI logs,
pipes) each stage and each change of the counts is one plain line. Either
way it goes to stderr, so stdout holds only the results.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from topwords.core.model import TaskCounts
from topwords.core.naming import printable

__all__ = ["TerminalProgress"]


class TerminalProgress:
    """A ``core.run.Progress`` that draws on a stream (stderr).

    Attributes:
        log_interval: without a terminal, seconds between task-count lines.
    """

    log_interval = 2.0

    def __init__(self, stream: TextIO | None = None, *, quiet: bool = False) -> None:
        self.stream = stream or sys.stderr
        self.live = self.stream.isatty()
        self.quiet = quiet
        self._start = time.monotonic()
        self._stage = ""
        self._drawn = False
        self._last_counts = float("-inf")

    def _elapsed(self) -> str:
        return f"[{time.monotonic() - self._start:5.1f}s]"

    def _line(self, text: str) -> None:
        if self.quiet:
            return
        if self.live:
            self.stream.write(f"\r\x1b[K{self._elapsed()} {text}")
            self._drawn = True
        else:
            self.stream.write(f"{self._elapsed()} {text}\n")
        self.stream.flush()

    def stage(self, message: str) -> None:
        self._stage = printable(message)  # names in it may hold control characters
        self._line(self._stage)

    def tasks(self, counts: TaskCounts) -> None:
        now = time.monotonic()
        done = counts.completed == counts.total
        if not self.live and not done and now - self._last_counts < self.log_interval:
            return  # a log gets a line every few seconds, not one per change
        self._last_counts = now
        bar = _bar(counts.completed, counts.total)
        failed = f", {counts.failed} failed" if counts.failed else ""
        self._line(f"{self._stage}: {bar} {counts.completed}/{counts.total} done "
                   f"({counts.active} waiting, {counts.running} running{failed})")

    def warn(self, message: str) -> None:
        self.finish()
        self.stream.write(f"warning: {printable(message)}\n")
        self.stream.flush()

    def finish(self) -> None:
        """End the live line so that what follows starts on a new one."""
        if self._drawn:
            self.stream.write("\n")
            self.stream.flush()
            self._drawn = False


def _bar(done: int, total: int, width: int = 20) -> str:
    filled = width * done // total if total else width
    return "[" + "#" * filled + "." * (width - filled) + "]"
