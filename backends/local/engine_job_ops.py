"""The local engine's operations on jobs and tasks after they were created
(what the Batch emulator's disable and enable job, update, delete and
reactivate task call; see ``batch_engine``), as a mixin of
``LocalBatchEngine``: they work on its lock, jobs and task runner.

Disabling a job (Batch's ``disableTasks``):

- ``requeue``: its running tasks are killed and go back to its queue
  (``requeueCount`` + 1, not a retry); they run again once it is enabled;
- ``terminate``: its running tasks are killed and complete failed
  (``TaskEnded``); they do not run again;
- ``wait``: its running tasks finish.

The job is ``disabling`` until none of its tasks runs, then ``disabled``;
no task of it is placed until it is enabled (``enabling``, then
``active``). Tasks may still be added to it.
"""

from __future__ import annotations

from dataclasses import replace

from topwords.core import nofollow
from topwords.core.errors import ConfigError
from topwords.core.model import TaskConstraints, TaskResult, TaskState

from .batch_engine import DISABLE_TASKS, KEEP, Extras, StateConflict
from .engine_changes import merge_extras
from .records import JobRecord, JobState, TaskRecord

__all__ = ["JobOperations"]


class JobOperations:
    """Job and task changes; needs the engine's ``_lock``, ``_job()``,
    ``_task()``, ``_runner``, ``_dispatch()``, ``_complete_if_done()`` and
    ``_in_background()``."""

    def disable_job(self, job_id: str, disable_tasks: str = "requeue") -> JobRecord:
        if disable_tasks not in DISABLE_TASKS:
            raise ConfigError(f"unknown disableTasks {disable_tasks!r} (choose from "
                              f"{', '.join(DISABLE_TASKS)})")
        with self._lock:
            job = self._job(job_id)
            if job.state in (JobState.DISABLING, JobState.DISABLED):
                return job.record()  # as Batch: disabling a disabled job is no error
            if job.state != JobState.ACTIVE:
                job.refuse_changes("disable it")
                raise StateConflict(f"cannot disable job {job_id}: it is {job.state}",
                                    code="OperationInvalidForCurrentState")
            job.move(JobState.DISABLING)
            running = job.placed() if disable_tasks != "wait" else []
            for task in running:
                task.requeue_on_kill = disable_tasks == "requeue"
            self._complete_if_done(job)
            self._lock.notify_all()
        for task in running:
            self._runner.kill(task)
        return self.job_record(job_id)

    def enable_job(self, job_id: str) -> JobRecord:
        with self._lock:
            job = self._job(job_id)
            if job.state not in (JobState.DISABLING, JobState.DISABLED):
                job.refuse_changes("enable it")
                raise StateConflict(f"cannot enable job {job_id}: it is {job.state}, not "
                                    "disabled", code="OperationInvalidForCurrentState")
            job.move(JobState.ENABLING)
            job.move(JobState.ACTIVE)
            self._dispatch()
            self._lock.notify_all()
            return job.record()

    def update_task(self, job_id: str, task_id: str, *, max_task_retry_count: int | None = None,
                    max_wall_clock_time=KEEP, extras: Extras | None = None) -> TaskRecord:
        with self._lock:
            job = self._job(job_id)
            task = self._task(job, task_id)
            if task.state is TaskState.COMPLETED:
                raise StateConflict(f"task {task_id} is completed", code="TaskCompleted")
            old = task.spec.constraints
            constraints = TaskConstraints(
                max_task_retry_count=old.max_task_retry_count if max_task_retry_count is None
                else max_task_retry_count,
                max_wall_clock_time=old.max_wall_clock_time if max_wall_clock_time is KEEP
                else max_wall_clock_time)
            task.spec = replace(task.spec, constraints=constraints)
            if extras:
                task.extras = merge_extras(task.extras, extras)
            return task.record(job.spec.pool_id)

    def delete_task(self, job_id: str, task_id: str) -> None:
        with self._lock:
            job = self._job(job_id)
            task = self._task(job, task_id)
            job.removed(task)
            node = task.node
            placed = node is not None and task.state is not TaskState.COMPLETED
            if placed:
                task.killed = True
            self._complete_if_done(job)
            self._dispatch()
            self._lock.notify_all()
        if placed:
            self._runner.kill(task)
        if node is None:
            return

        def remove_dir() -> None:
            with self._lock:
                self._lock.wait_for(lambda: task not in node.running, timeout=60)
            try:
                nofollow.remove_tree(node.layout.host_root,
                                     node.layout.task(job_id, task_id).rel)
            except OSError:
                pass  # best effort: the node's directory goes with the node
        self._in_background(f"delete-task-{job_id}-{task_id}", remove_dir)

    def reactivate_task(self, job_id: str, task_id: str) -> TaskRecord:
        with self._lock:
            job = self._job(job_id)
            task = self._task(job, task_id)
            job.refuse_changes("reactivate a task")
            if task.state is not TaskState.COMPLETED or task.result is not TaskResult.FAILURE:
                raise StateConflict(
                    f"task {task_id} is {task.state.value}"
                    + (" and succeeded" if task.result is TaskResult.SUCCESS else "")
                    + ": only a failed task can be reactivated",
                    code="OperationInvalidForCurrentState")
            task.move(TaskState.ACTIVE)
            task.node = task.exit_code = task.result = task.failure = None
            task.start_time = task.end_time = task.container_id = None
            task.retry_count, task.killed, task.requeue_on_kill = 0, False, False
            task.satisfies = None
            job.reactivated(task)
            self._dispatch()
            self._lock.notify_all()
            return task.record(job.spec.pool_id)
