"""What the local backend starts dies with the process that started it, even
when that process is killed with SIGKILL.

Each owner process (a ``topwords run``, ``topwords emulator``, a test
session) holds an exclusive ``flock`` on a lifeline file for as long as it
lives; the kernel releases it the moment the process dies, however it dies.
What the owner starts waits for that lock:

* a node's agent (``node_agent.py``, the lifeline file is mounted into its
  container) kills its tasks and exits, and the container, started with
  ``auto_remove``, is removed by Docker;
* Azurite runs under a small watchdog (``azurite_watchdog.py``) that stops
  it (SIGTERM, then SIGKILL) and exits.

The lock also tells a later ``topwords run``, ``topwords emulator`` or
``topwords local cleanup`` whether a leftover's owner is alive: a lifeline
that can be locked is an owner that is gone (``is_alive``), whatever pid
now has its number.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import socket
import tempfile
import threading
from pathlib import Path

__all__ = ["Lifeline", "is_alive", "lifeline"]


class Lifeline:
    """This process's lifeline file, locked exclusively until it exits."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        name = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(4)}.lock"
        self.path = directory / name
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        self.pid = os.getpid()

    def __str__(self) -> str:
        return str(self.path)


_lock = threading.Lock()
_mine: Lifeline | None = None


def default_dir() -> Path:
    """Where lifeline files live: one folder per user, under the temp dir."""
    return Path(tempfile.gettempdir()) / f"topwords-lifelines-{os.getuid()}"


def lifeline() -> Lifeline:
    """This process's lifeline (made on first use; a forked child makes its own)."""
    global _mine
    with _lock:
        if _mine is None or _mine.pid != os.getpid():
            _mine = Lifeline(default_dir())
        return _mine


def is_alive(path: str | Path) -> bool:
    """Whether the owner of the lifeline file ``path`` still lives (a file
    that is gone, or that can be locked, belongs to a dead owner)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def sweep_files(directory: Path | None = None) -> int:
    """Delete the lifeline files of dead owners. Returns how many."""
    directory = directory or default_dir()
    gone = 0
    for path in directory.glob("*.lock") if directory.is_dir() else ():
        if not is_alive(path):
            path.unlink(missing_ok=True)
            gone += 1
    return gone
