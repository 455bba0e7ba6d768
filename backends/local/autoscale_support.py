"""What autoscale needs of the engine (mixed into ``LocalBatchEngine``,
which provides ``_lock``, ``_pool`` and ``_jobs``): the metrics a sample
records, and the pool's autoscale state, kept in the pool's own record so
that it goes with the pool. The autoscale work is ``autoscaler``'s."""

from __future__ import annotations

from topwords.core.model import NodeState

__all__ = ["AutoScaleSupport"]


class AutoScaleSupport:
    """Pool metrics and autoscale state of the engine's pools."""

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
            up = [n for n in pool.nodes if not n.lost_reason
                  and n.state not in (NodeState.CREATING, NodeState.LEAVING_POOL)]
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
                "$TargetDedicatedNodes": float(pool.spec.node_count),
                "$TargetLowPriorityNodes": float(pool.spec.spot_node_count),
            }

    def pool_usage(self, pool_id: str) -> dict:
        """What each node of the pool that is up uses now (see
        ``node_usage``), by node id: a ``NodeUsage``, or None where it cannot
        be measured. The nodes are read outside the engine's lock. Raises
        PoolNotFound."""
        with self._lock:
            pool = self._pool(pool_id)
            handles = {n.id: n.handle for n in pool.nodes if not n.lost_reason
                       and n.state not in (NodeState.CREATING, NodeState.LEAVING_POOL)}
        return {node: handle.usage() for node, handle in handles.items()}

    def pool_autoscale(self, pool_id: str):
        """The pool's autoscale state (None: not enabled). Raises PoolNotFound."""
        with self._lock:
            return self._pool(pool_id).autoscale

    def set_pool_autoscale(self, pool_id: str, state) -> None:
        """Keep ``state`` (or None) as the pool's autoscale state. Raises PoolNotFound."""
        with self._lock:
            self._pool(pool_id).autoscale = state

    def autoscale_pools(self) -> list[tuple[str, object]]:
        """``(pool id, state)`` of every pool with autoscale, not being deleted."""
        with self._lock:
            return [(i, p.autoscale) for i, p in self._pools.items()
                    if p.autoscale is not None and not p.deleting]
