"""The local engine's operations that change a pool after it was created
(what the Batch emulator's resize, remove nodes, stop resize, pool update,
update-properties, node reboot and reimage call; see ``batch_engine``), as a mixin of
``LocalBatchEngine``: they work on its lock and pools.
"""

from __future__ import annotations

from dataclasses import replace

from topwords.core.errors import ConfigError
from topwords.core.model import NodeState

from . import container_run, pool_resize
from .batch_engine import DEALLOCATION_OPTIONS, KEEP, Extras, StateConflict

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

    def restart_node(self, pool_id: str, node_id: str, *, option: str = "requeue",
                     reimage: bool = False) -> None:
        if option not in DEALLOCATION_OPTIONS:
            raise ConfigError(f"unknown node reboot option {option!r}")
        with self._lock:
            pool = self._pool(pool_id)
            if pool.deleting:
                raise StateConflict(f"pool {pool_id} is being deleted", code="PoolBeingDeleted")
            node = next((n for n in pool.nodes if n.id == node_id and not n.lost_reason), None)
            if node is None:
                raise ConfigError(f"node {node_id} is not a node of pool {pool_id}")
            if node.state not in (NodeState.IDLE, NodeState.RUNNING):
                raise StateConflict(f"node {node_id} is {node.state.value}: only an idle or "
                                    "running node can be rebooted or reimaged",
                                    code="OperationInvalidForCurrentState")
            node.state = NodeState.REIMAGING if reimage else NodeState.REBOOTING
            if option == "terminate":
                for task in node.running:
                    task.killed = True  # they complete as TaskEnded, and stay completed
            pool.restart(node, wait_for_tasks=option in ("taskcompletion", "retaineddata"),
                         wipe=reimage)
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
