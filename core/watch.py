"""Watching a run's storage while its tasks run.

If the storage dies or loses the run's containers, the run should fail
within seconds with one line naming the storage and what was lost, not
after every task has failed on it (each with retries).
"""

from __future__ import annotations

import time
from typing import Callable

from .errors import BlobNotFound, StorageError, StorageTimeout
from .storage import Storage
from .tracking import StorageState

__all__ = ["SLOW_LIMIT", "STORAGE_CHECK", "StorageWatch"]

#: seconds between the checks that the storage still answers
STORAGE_CHECK = 2.0
#: seconds a storage may keep taking connections without answering in time
#: (each check waits 5 s) before it counts as gone: one that refuses them, or
#: whose process died, is gone at once. A 10,000-file job's Azurite on a
#: 2-core machine loaded by other work missed every check for over 60 s
#: (twice; the cause is not known), and the same job completed in 956 s on
#: a quieter machine, its Azurite never slower than 0.5 s to answer. A hung
#: storage is rare; a job killed by a slow one loses all its work.
SLOW_LIMIT = 300.0


class StorageWatch:
    """Checks the storage at most every ``STORAGE_CHECK`` seconds.

    Args:
        storage: the run's storage.
        container: one of the run's containers (it must exist).
        endpoint: the storage's name in messages (no secrets).
        death: how to ask whether storage the backend runs itself died.
        state: where what is learned is kept (the cleanup reads it).
    """

    def __init__(self, storage: Storage, container: str, endpoint: str,
                 death: Callable[[], str | None] | None, state: StorageState) -> None:
        self._storage, self._container, self._endpoint = storage, container, endpoint
        self._death, self.state = death, state
        self._next = 0.0
        self._slow_since: float | None = None

    def __call__(self, force: bool = False) -> None:
        """Check, unless one was done less than ``STORAGE_CHECK`` s ago.

        Raises:
            StorageError: one line naming the storage and what was lost.
        """
        now = time.monotonic()
        if now < self._next and not force:
            return
        self._next = now + STORAGE_CHECK
        self._check_death()
        try:
            self._storage.check_container(self._container)
            self._slow_since = None
        except StorageTimeout as exc:
            self._check_death()
            started = self._slow_since = self._slow_since or now
            if time.monotonic() - started < SLOW_LIMIT:
                return  # busy, perhaps: the next checks decide
            self._gone(exc)
        except BlobNotFound:
            self.state.lost = "its containers are gone"
            raise StorageError(f"the run's containers are gone from {self._storage.name} "
                               f"storage ({self._endpoint}): was it restarted without keeping "
                               "its data?",
                               hint="run again; keep an Azurite's data with --location") from None
        except StorageError as exc:
            self._check_death(grace=1.0)  # its process may just be ending
            self._gone(exc)

    def _gone(self, exc: StorageError) -> None:
        self.state.silent = True
        raise StorageError(f"{self._storage.name} storage ({self._endpoint}) stopped "
                           f"answering while the tasks ran: {exc}",
                           hint="start it again, then run again") from None

    def _check_death(self, grace: float = 0.0) -> None:
        if not self._death:
            return
        deadline = time.monotonic() + grace
        while (death := self._death()) is None and time.monotonic() < deadline:
            time.sleep(0.1)
        if death:
            self.state.lost = death
            raise StorageError(f"the run's storage died: {death}; every blob of the run "
                               "(inputs and results) went with it")
