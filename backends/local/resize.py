"""Resizing a pool to new node counts, as Batch resizes (a resize call, or
an autoscale evaluation).

Growing adds nodes that boot as a new pool's do. Shrinking takes nodes out
of the pool at once (no new task goes to them; the emulator lists them no
more, where Batch shows them ``leavingpool`` for a while) and removes each
as its ``nodeDeallocationOption`` says:

* ``requeue`` (the default): its running tasks are stopped and go back to
  their job's queue (``requeueCount``, not a retry), the node goes now;
* ``terminate``: its running tasks are ended (failure ``TaskEnded``, not run
  again), then the node goes;
* ``taskcompletion`` / ``retaineddata``: its running tasks finish first (the
  emulator keeps no data after a node goes, so the two are the same here).

Nodes go in this order: unusable ones, those still booting, idle ones, then
the ones running the fewest tasks; the newest first among equals.
"""

from __future__ import annotations

from typing import Callable

from topwords.core.errors import ConfigError
from topwords.core.model import NodeState

from .node_pool import Node, NodePool

__all__ = ["DEALLOCATION_OPTIONS", "PoolScaling", "resize_pool"]

DEALLOCATION_OPTIONS = ("requeue", "terminate", "taskcompletion", "retaineddata")

_BOOTING = (NodeState.CREATING, NodeState.STARTING, NodeState.WAITING_FOR_START_TASK)


def resize_pool(pool: NodePool, dedicated: int, low_priority: int, option: str,
                kill: Callable[[object], None], lock) -> None:
    """Size ``pool`` to ``dedicated`` + ``low_priority`` nodes. Called under
    the engine's ``lock``; returns at once (nodes boot and go in the
    background).

    Args:
        option: one of :data:`DEALLOCATION_OPTIONS`.
        kill: ends a running task (the engine's task runner ``kill``); it is
            called in the background, not under the lock.
    Raises:
        ConfigError: a negative count or an unknown option.
    """
    if dedicated < 0 or low_priority < 0:
        raise ConfigError("node counts must be 0 or more")
    if option not in DEALLOCATION_OPTIONS:
        raise ConfigError(f"unknown nodeDeallocationOption {option!r} "
                          f"(choose from {', '.join(DEALLOCATION_OPTIONS)})")
    pool.target_dedicated, pool.target_low_priority = dedicated, low_priority
    for want, is_dedicated in ((dedicated, True), (low_priority, False)):
        have = [n for n in pool.nodes if n.dedicated == is_dedicated and not n.lost_reason]
        for _ in range(want - len(have)):
            pool.add_node(dedicated=is_dedicated)
        for node in sorted(have, key=_removal_order)[:max(0, len(have) - want)]:
            _take_out(pool, node, option, kill, lock)


def _removal_order(node: Node) -> tuple:
    if node.state is NodeState.UNUSABLE or node.state is NodeState.START_TASK_FAILED:
        rank = 0
    elif node.state in _BOOTING:
        rank = 1
    else:
        rank = 2 + len(node.running)
    return rank, -int(node.id.rsplit("-", 1)[1])


def _take_out(pool: NodePool, node: Node, option: str, kill, lock) -> None:
    """Move ``node`` from the pool's nodes to its leaving ones, and have it
    removed in the background once ``option`` allows."""
    pool.nodes.remove(node)
    pool.leaving.append(node)
    running = list(node.running)
    if option == "requeue" or not running:
        # Its runners see the node gone when their commands end with it,
        # and put their tasks back in the queue (the lost-node path).
        node.state, node.lost_reason = NodeState.UNUSABLE, "removed from the pool by a resize"
        pool.remove_later(node, lambda: None)
        return

    def drain() -> None:
        if option == "terminate":
            for task in running:
                kill(task)
        with lock:
            while node.running and not pool.deleting:
                lock.wait(0.5)
            node.state = NodeState.UNUSABLE
            node.lost_reason = "removed from the pool by a resize"
    pool.remove_later(node, drain)


class PoolScaling:
    """The engine's pool-sizing operations (mixed into ``LocalBatchEngine``,
    which provides ``_lock``, ``_pool``, ``_pools``, ``_jobs`` and
    ``_runner``)."""

    def resize_pool(self, pool_id: str, dedicated: int, low_priority: int = 0,
                    option: str = "requeue") -> None:
        """Size a pool to new node counts (see the module). Returns at once.

        Raises:
            PoolNotFound; ConfigError: a bad count or option;
            StateConflict: the pool is being deleted.
        """
        from .jobs import StateConflict
        with self._lock:
            pool = self._pool(pool_id)
            if pool.deleting:
                raise StateConflict(f"pool {pool_id} is being deleted", code="PoolBeingDeleted")
            resize_pool(pool, dedicated, low_priority, option, self._runner.kill, self._lock)
            self._lock.notify_all()

    def pool_metrics(self, pool_id: str) -> dict[str, float]:
        """What the pool's autoscale samples record now: the tasks of the
        active jobs on the pool per state and the pool's nodes.

        ``$ActiveTasks`` counts every active task (a task blocked by its
        dependencies too), ``$PendingTasks`` active plus running,
        ``$SucceededTasks`` / ``$FailedTasks`` the completed tasks of those
        jobs so far. Raises PoolNotFound.
        """
        with self._lock:
            pool = self._pool(pool_id)
            counts = [job.counts() for job in self._jobs.values()
                      if job.spec.pool_id == pool_id and job.state == "active"]
            live = [n for n in pool.nodes if not n.lost_reason]
            up = [n for n in live if n.state is not NodeState.CREATING]
            active = sum(c.active for c in counts)
            running = sum(c.running for c in counts)
            return {
                "$ActiveTasks": float(active), "$RunningTasks": float(running),
                "$PendingTasks": float(active + running),
                "$SucceededTasks": float(sum(c.succeeded for c in counts)),
                "$FailedTasks": float(sum(c.failed for c in counts)),
                "$SampleNodeCount": float(len(up)),
                "$PreemptedNodeCount": 0.0,
                "$CurrentDedicatedNodes": float(sum(n.dedicated for n in up)),
                "$CurrentLowPriorityNodes": float(sum(not n.dedicated for n in up)),
                "$TaskSlotsPerNode": float(pool.spec.task_slots_per_node),
                "$TargetDedicatedNodes": float(pool.target_dedicated),
                "$TargetLowPriorityNodes": float(pool.target_low_priority),
            }

    def pool_autoscale(self, pool_id: str):
        """The pool's autoscale state (None: not enabled). Raises PoolNotFound."""
        with self._lock:
            return self._pool(pool_id).autoscale

    def set_pool_autoscale(self, pool_id: str, state) -> None:
        """Keep ``state`` (or None) as the pool's autoscale state, in the
        pool's own record, so that it goes with the pool. Raises PoolNotFound."""
        with self._lock:
            self._pool(pool_id).autoscale = state

    def autoscale_pools(self) -> list[tuple[str, object]]:
        """``(pool id, state)`` of every pool with autoscale, not being deleted."""
        with self._lock:
            return [(i, p.autoscale) for i, p in self._pools.items()
                    if p.autoscale is not None and not p.deleting]
