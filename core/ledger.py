"""The run ledger: a local record of every cloud resource a run created.

Each run appends one JSON line when it creates a container, pool or job and
one when it deletes it. What was created and never deleted (a crash, a
killed process, ``--keep-pool``) is *outstanding*; ``topwords cleanup``
lists and deletes it. The file lives at ``$TOPWORDS_LEDGER`` or
``$XDG_STATE_HOME/topwords/ledger.jsonl`` (``~/.local/state/...``). It holds
ids and endpoints, never a secret.
"""

from __future__ import annotations

import json
import os
import stat
import threading
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from .errors import ConfigError, TopwordsError
from .naming import printable

__all__ = ["Ledger", "LedgerEntry"]

KINDS = ("job", "pool", "container")  # also the order cleanup deletes in


@dataclass(frozen=True, kw_only=True)
class LedgerEntry:
    """One resource a run created.

    Attributes:
        backend: registry name of the backend.
        endpoint: which account/service it lives in (no secrets).
        kind: ``job``, ``pool`` or ``container``.
        id: its id or name.
        run_id: the run that created it.
        time: when it was created (ISO 8601, UTC).
    """

    backend: str
    endpoint: str
    kind: str
    id: str
    run_id: str = ""
    time: str = ""

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.backend, self.endpoint, self.kind, self.id)


class Ledger:
    """An append-only JSON-lines file (safe for concurrent runs: each line is
    one small ``O_APPEND`` write)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    @classmethod
    def default(cls) -> "Ledger":
        """The ledger at ``$TOPWORDS_LEDGER``, else
        ``$XDG_STATE_HOME/topwords/ledger.jsonl`` (``~/.local/state``),
        checked with :meth:`check` (nothing is written).

        Raises:
            ConfigError: that path cannot hold the ledger.
        """
        explicit = os.environ.get("TOPWORDS_LEDGER")
        if explicit:
            return cls(Path(explicit)).check("TOPWORDS_LEDGER")
        try:
            state = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
        except RuntimeError:  # no HOME and no passwd entry
            raise ConfigError("no home directory to keep the run ledger in; set "
                              "TOPWORDS_LEDGER to a file path") from None
        return cls(Path(state) / "topwords" / "ledger.jsonl").check()

    def check(self, variable: str | None = None) -> "Ledger":
        """Make sure the ledger can be read and appended to, writing nothing:
        the file is a regular, writable file, or does not exist yet and its
        nearest existing folder is a writable folder; never under /proc or
        /sys.

        Args:
            variable: the environment variable the path came from, if any
                (named in the message).
        Returns:
            self.
        Raises:
            ConfigError: it cannot hold the ledger.
        """
        why = self._problem()
        if why is None:
            return self
        shown = printable(str(self.path))
        if variable:
            raise ConfigError(f"{variable}={shown} cannot hold the run ledger: {why}; name a "
                              "file in a writable folder")
        raise ConfigError(f"the run ledger cannot be kept at {shown}: {why}; set "
                          "TOPWORDS_LEDGER to a file in a writable folder")

    def _problem(self) -> str | None:
        where = os.path.realpath(self.path)
        for pseudo in ("/proc", "/sys"):
            if where == pseudo or where.startswith(pseudo + "/"):
                return f"it is under {pseudo}"
        try:
            info = os.stat(self.path)
        except (FileNotFoundError, NotADirectoryError):
            return self._parent_problem()
        except OSError as exc:
            return exc.strerror or str(exc)
        if stat.S_ISDIR(info.st_mode):
            return "it is a directory"
        if not stat.S_ISREG(info.st_mode):
            return "it is not a regular file"
        if not os.access(self.path, os.R_OK | os.W_OK):
            return "it cannot be read and written"
        return None

    def _parent_problem(self) -> str | None:
        """For a ledger that does not exist yet: its nearest existing folder."""
        folder = Path(os.path.abspath(self.path)).parent
        while not os.path.lexists(folder) and folder != folder.parent:
            folder = folder.parent
        shown = printable(str(folder))
        if not folder.is_dir():
            return f"{shown} is not a directory"
        if not os.access(folder, os.W_OK | os.X_OK):
            return f"{shown} is not writable"
        return None

    def created(self, entry: LedgerEntry) -> None:
        """Record that ``entry`` now exists."""
        stamped = entry if entry.time else LedgerEntry(
            **{**asdict(entry), "time": datetime.now(timezone.utc).isoformat(timespec="seconds")})
        self._append({"event": "created", **asdict(stamped)})

    def deleted(self, entry: LedgerEntry) -> None:
        """Record that ``entry`` is gone (or its deletion is under way)."""
        self._append({"event": "deleted", **asdict(entry)})

    def outstanding(self, backend: str | None = None) -> list[LedgerEntry]:
        """Entries created and not deleted, oldest first.

        Raises:
            ConfigError: the file exists but cannot be read or parsed.
        """
        live: dict[tuple, LedgerEntry] = {}
        for record in self._records():
            event = record.pop("event", None)
            entry = LedgerEntry(**record)
            if event == "created":
                live[entry.key] = entry
            elif event == "deleted":
                live.pop(entry.key, None)
        return [e for e in live.values() if backend is None or e.backend == backend]

    def _records(self) -> list[dict]:
        try:
            lines = self.path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise ConfigError(f"cannot read the run ledger {self.path}: {exc.strerror}") from None
        fields = set(LedgerEntry.__dataclass_fields__) | {"event"}
        records = []
        for number, line in enumerate(lines, 1):
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                if number == len(lines):  # a torn last line: a crash mid-write
                    continue
                raise ConfigError(f"the run ledger {self.path} is damaged at line {number}") from None
            records.append({k: v for k, v in record.items() if k in fields})
        return records

    def _append(self, record: dict) -> None:
        line = json.dumps(record, ensure_ascii=False) + "\n"
        with self._lock:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with open(self.path, "a", encoding="utf-8") as f:
                    f.write(line)
            except OSError as exc:
                raise TopwordsError(f"cannot write the run ledger {self.path}: "
                                    f"{exc.strerror or exc}") from None

