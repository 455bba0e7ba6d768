"""A backend: one Storage and one Compute that work together."""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Callable

from .compute import Compute
from .storage import Storage

__all__ = ["Backend"]


@dataclass(kw_only=True)
class Backend:
    """What ``registry.create`` returns.

    Attributes:
        name: the registry name (``"local"``, ``"azure"``).
        storage: where inputs, the task script and outputs are staged.
        compute: where tasks run.
        describe: one line for the user about where things run (no secrets).
        endpoint: which accounts/services the resources live in (no
            secrets); the run ledger matches leftovers by it.
    """

    name: str
    storage: Storage
    compute: Compute
    describe: str = ""
    endpoint: str = ""
    _closers: list[Callable[[], None]] = field(default_factory=list, repr=False)

    def on_close(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` at ``close()`` (after compute and storage are closed)."""
        self._closers.append(fn)

    def close(self) -> None:
        """Close compute, storage and whatever the backend started. Idempotent."""
        closers, self._closers = self._closers, []
        with ExitStack() as stack:
            for fn in closers:
                stack.callback(fn)
            stack.callback(self.storage.close)
            stack.callback(self.compute.close)

    def __enter__(self) -> "Backend":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
