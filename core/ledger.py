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
import threading
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from .errors import ConfigError

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
        explicit = os.environ.get("TOPWORDS_LEDGER")
        if explicit:
            return cls(Path(explicit))
        state = os.environ.get("XDG_STATE_HOME") or Path.home() / ".local" / "state"
        return cls(Path(state) / "topwords" / "ledger.jsonl")

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
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as f:
                f.write(line)
