"""Cleanup that a signal does not cut short.

A run cleans up what it created when it ends, however it ends. A first
Ctrl-C or SIGTERM that lands *during* that cleanup must not abort the
delete it lands in (that is how pools were left running): the front end's
signal handler asks :func:`in_cleanup` and, if so, lets the cleanup go on;
only a second signal ends the wait, and the run then names what it left.
The phase is process-wide (signals are delivered to the main thread).
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Iterator

__all__ = ["cleanup_phase", "in_cleanup"]

_depth = 0
_lock = threading.Lock()


@contextmanager
def cleanup_phase() -> Iterator[None]:
    """Mark the code inside as cleanup (nesting is fine)."""
    global _depth
    with _lock:
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1


def in_cleanup() -> bool:
    """Whether a cleanup is under way."""
    return _depth > 0
