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
        storage_endpoint: where its blob containers live, if not at
            ``endpoint`` (the ledger records containers under it).
        storage_death: if the backend runs its storage itself (a private
            Azurite), how to ask whether it died: None while it lives, else
            how it died; what it held is gone with it.
        gone: for a ledger endpoint that is not this backend's, why what
            lives there is gone for good (storage that ended with its run),
            or None if that is not known.
    """

    name: str
    storage: Storage
    compute: Compute
    describe: str = ""
    endpoint: str = ""
    storage_endpoint: str = ""
    storage_death: Callable[[], str | None] | None = field(default=None, repr=False)
    gone: Callable[[str], str | None] = field(default=lambda endpoint: None, repr=False)

    def __post_init__(self) -> None:
        self.storage_endpoint = self.storage_endpoint or self.endpoint
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
