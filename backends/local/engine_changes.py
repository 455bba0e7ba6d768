"""The local engine's operations that change a pool or a job after it was
created (what the Batch emulator's resize, stop resize, pool update and
update-properties, and job update and replace call), as a mixin of
``LocalBatchEngine``: they work on its lock, pools and jobs.
"""

from __future__ import annotations

from dataclasses import replace

from topwords.core.errors import ConfigError

from . import container_run, pool_resize
from .jobs import StateConflict

__all__ = ["KEEP", "ChangeOperations"]

#: ``update_pool(start_task=KEEP)``: leave the StartTask as it is
KEEP = object()


class ChangeOperations:
    """Pool and job changes; needs the engine's ``_lock``, ``_pool()``,
    ``_job()`` and ``set_terminate_when_tasks_complete()``."""

    def resize_pool(self, pool_id: str, dedicated: int, spot: int = 0, *,
                    deallocation: str = "requeue") -> None:
        """Start resizing a pool to ``dedicated`` + ``spot`` nodes and return
        at once (see ``pool_resize``: nodes join or leave, the pool is
        ``resizing`` until they have).

        Raises:
            PoolNotFound; StateConflict: ``PoolBeingDeleted``,
            ``PoolBeingResized`` (it is not steady); ConfigError: a negative
            count or an unknown ``deallocation``.
        """
        if dedicated < 0 or spot < 0:
            raise ConfigError("node counts must be >= 0")
        with self._lock:
            try:
                pool_resize.resize(self._pool(pool_id), dedicated, spot, deallocation)
            except ValueError as exc:
                raise ConfigError(str(exc)) from None
            self._lock.notify_all()

    def stop_resizing_pool(self, pool_id: str) -> None:
        """Stop a resize (see ``pool_resize.stop_resize``); returns at once.

        Raises:
            PoolNotFound; StateConflict: ``PoolBeingDeleted``.
        """
        with self._lock:
            pool_resize.stop_resize(self._pool(pool_id))
            self._lock.notify_all()

    def update_pool(self, pool_id: str, *, start_task=KEEP, metadata=None) -> None:
        """Change a pool's StartTask (``None``: none) and/or its metadata;
        as on Batch a new StartTask runs on nodes that join or reboot from
        now on, not on those the pool has.

        Raises:
            PoolNotFound; StateConflict: ``PoolBeingDeleted``;
            UnsupportedSetting: a container StartTask on nodes that run none.
        """
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

    def update_job(self, job_id: str, *, metadata=None,
                   terminate_when_tasks_complete: bool | None = None) -> None:
        """Change a job's metadata and/or ``onAllTasksComplete`` (None: keep
        it); see :meth:`set_terminate_when_tasks_complete`.

        Raises:
            JobNotFound; StateConflict: the job is not active.
        """
        with self._lock:
            job = self._job(job_id)
            job.refuse_changes("update it")
            if metadata is not None:
                job.spec = replace(job.spec, metadata=dict(metadata))
        if terminate_when_tasks_complete is not None:
            self.set_terminate_when_tasks_complete(job_id, terminate_when_tasks_complete)
