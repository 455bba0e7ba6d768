"""What a run created, and its deletion when the run ends, however it ends.

Each resource is recorded (in the run ledger too) *before* it is created, so
that an interrupt landing inside the create still deletes it (deletes are
idempotent), and deleted in reverse order when the run's :class:`Cleanup`
stack unwinds: on success, on errors, on Ctrl-C. A failed delete is named
(a warning; the ledger keeps the resource for ``topwords cleanup``), never
raised over the run's own error; a second signal during the cleanup ends
its waits and what is left is named (see ``interrupts``).
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import Callable, Protocol

from .interrupts import cleanup_phase
from .ledger import Ledger, LedgerEntry

__all__ = ["Cleanup", "StorageState", "Tracker"]


class _Warn(Protocol):
    def __call__(self, message: str) -> None: ...


class StorageState:
    """What the run knows of its storage: gone (its containers went with it:
    deleting them is moot) or silent (deletes would only wait)."""

    def __init__(self) -> None:
        self.lost = ""
        self.silent = False


class Cleanup(ExitStack):
    """An ExitStack whose unwinding is the cleanup phase (see ``interrupts``),
    announced by ``on_start`` once it has begun."""

    def __init__(self, on_start: Callable[[], None]) -> None:
        super().__init__()
        self._on_start = on_start

    def __exit__(self, *exc):
        with cleanup_phase():
            self._on_start()
            return super().__exit__(*exc)


class Tracker:
    """Records and deletes one run's resources.

    Args:
        backend / endpoint / storage_endpoint: where they live (ledger keys).
        run_id: the run.
        ledger: where they are recorded (None: nowhere).
        warn: how a resource left behind is named.
        storage: the run's view of its storage.
    """

    def __init__(self, *, backend: str, endpoint: str, storage_endpoint: str, run_id: str,
                 ledger: Ledger | None, warn: _Warn, storage: StorageState) -> None:
        self._backend, self._endpoint, self._storage_endpoint = backend, endpoint, \
            storage_endpoint
        self._run_id, self._ledger, self._warn, self._storage = run_id, ledger, warn, storage
        self.errors: list[str] = []
        self.abandoned = False

    def track(self, stack: ExitStack, kind: str, name: str, delete: Callable[[], None],
              keep: bool = False) -> Callable[[], None]:
        """Record a resource about to be created; unless kept, delete it when
        ``stack`` unwinds.

        Returns:
            ``disown()``: the resource is not the run's after all (it
            existed before); forget it and never delete it.
        """
        endpoint = self._storage_endpoint if kind == "container" else self._endpoint
        entry = LedgerEntry(backend=self._backend, endpoint=endpoint, kind=kind, id=name,
                            run_id=self._run_id)
        owned = [True]
        if self._ledger:
            self._ledger.created(entry)

        def disown() -> None:
            owned[0] = False
            self._forget(entry)

        def run() -> None:
            if owned[0]:
                self._delete(entry, delete)
        if not keep:
            stack.callback(run)
        return disown

    def _delete(self, entry: LedgerEntry, delete: Callable[[], None]) -> None:
        kind, name = entry.kind, entry.id
        if self.abandoned:  # a second signal ended the cleanup's waits
            self.left(kind, name, "the cleanup was interrupted before it")
            return
        if kind == "container" and self._storage.lost:
            self._forget(entry)  # gone with the storage: nothing to delete
            return
        if kind == "container" and self._storage.silent:
            self.left(kind, name, "its storage does not answer")
            return
        try:
            delete()
        except KeyboardInterrupt:
            self.abandoned = True
            self.left(kind, name, "interrupted while it was being deleted")
            raise
        except Exception as exc:  # never mask the run's own error
            self.left(kind, name, f"could not be deleted ({exc})")
        else:
            self._forget(entry)

    def _forget(self, entry: LedgerEntry) -> None:
        if self._ledger:
            self._ledger.deleted(entry)

    def left(self, kind: str, name: str, why: str) -> None:
        """Name a resource the cleanup could not delete (the ledger keeps it
        for ``topwords cleanup``)."""
        self.errors.append(f"{kind} {name} was left: {why}")
        self._warn(self.errors[-1])
