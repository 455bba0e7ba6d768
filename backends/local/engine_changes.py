"""The local engine's operations that change a pool after it was created
(what the Batch emulator's resize, remove nodes, stop resize, pool update
and update-properties call; see ``batch_engine``), as a mixin of
``LocalBatchEngine``: they work on its lock and pools.
"""

from __future__ import annotations

from dataclasses import replace

from topwords.core.errors import ConfigError

from . import container_run, pool_resize
from .batch_engine import KEEP, Extras, StateConflict

__all__ = ["ChangeOperations", "merge_extras"]


def merge_extras(extras: Extras, changes: Extras) -> dict:
    """``extras`` with ``changes`` (a value of None removes its key)."""
    merged = {**extras, **changes}
    return {k: v for k, v in merged.items() if v is not None}


class ChangeOperations:
    """Pool changes; needs the engine's ``_lock`` and ``_pool()``."""

    def resize_pool(self, pool_id: str, dedicated: int, spot: int = 0, *,
                    deallocation: str = "requeue") -> None:
        if dedicated < 0 or spot < 0:
            raise ConfigError("node counts must be >= 0")
        with self._lock:
            try:
                pool_resize.resize(self._pool(pool_id), dedicated, spot, deallocation)
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
            self._lock.notify_all()

    def remove_nodes(self, pool_id: str, node_ids, *, deallocation: str = "requeue") -> None:
        with self._lock:
            try:
                pool_resize.remove_nodes(self._pool(pool_id), list(node_ids), deallocation)
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
            self._lock.notify_all()

    def stop_resizing_pool(self, pool_id: str) -> None:
        with self._lock:
            pool_resize.stop_resize(self._pool(pool_id))
            self._lock.notify_all()

    def update_pool(self, pool_id: str, *, start_task=KEEP, metadata=None,
                    extras: Extras | None = None):
        with self._lock:
            pool = self._pool(pool_id)
            if pool.deleting:
                raise StateConflict(f"pool {pool_id} is being deleted", code="PoolBeingDeleted")
            changes = {} if start_task is KEEP else {"start_task": start_task}
            if metadata is not None:
                changes["metadata"] = dict(metadata)
            updated = replace(pool.spec, **changes)
            container_run.check_pool(self.runtime, updated, images=False)
            pool.spec = updated
            if extras:
                pool.extras = merge_extras(pool.extras, extras)
            return self.pool_record(pool_id)
