"""The local Batch engine: Batch semantics on local nodes (Docker containers
or plain processes: see ``runtime``).

``LocalBatchEngine`` implements the core ``Compute`` interface in-process:
pools are ``NodePool``s, jobs hold tasks, and a scheduler puts every
runnable task (active, dependencies met) on a free slot of a usable node of
its job's pool. A task's life on its node is in ``task_runner``. Everything
is thread-safe behind one condition lock; a REST front end (the Batch
emulator) drives the same engine through the ``BatchEngine`` interface
(``batch_engine``): records with Batch's bookkeeping (``*_record(s)``), job
states, update and termination, task termination, file listings, and
deletes that return at once while the pool or job stays visible as
``deleting``. There is one delete path: ``Compute.delete_pool`` and
``delete_job`` start the same delete and wait for it. The changes after
creation (resize, pool updates) are in ``engine_changes``, those of jobs and
tasks (disable, enable, task update, delete, reactivate) in
``engine_job_ops``, pool resizing in ``pool_resize``.
"""

from __future__ import annotations

import shlex
import shutil
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Mapping, Sequence

from topwords.core.errors import (
    ConfigError, JobNotFound, PoolError, PoolNotFound, ResourceExists, TaskNotFound,
)
from topwords.core.model import (
    JobSpec, NodeInfo, NodeState, PoolInfo, PoolSpec, TaskCounts, TaskInfo, TaskResult,
    TaskSpec, TaskState,
)

from topwords.core import nofollow

from . import container_run
from . import pool_resize
from .autoscale_support import AutoScaleSupport
from .autoscaler import AutoScaler
from .clock import Clock
from .engine_changes import ChangeOperations, merge_extras
from .engine_job_ops import JobOperations
from .exit_conditions import ExitConditions, options_for
from .files import FileRoot
from .health import Heartbeat, HeartbeatSettings
from .node_pool import Node, NodePool
from .runtime import NodeRuntime
from .batch_engine import BatchEngine, Extras, StateConflict, TaskDependenciesNotEnabled
from .jobs import Job
from .job_schedules import JobScheduleOperations, JobSchedules
from .records import FileEntry, JobRecord, JobState, NodeRecord, PoolRecord, TaskRecord
from .task_runner import Task, TaskRunner, ended_by_user

__all__ = ["LocalBatchEngine", "StateConflict", "TaskDependenciesNotEnabled"]

class LocalBatchEngine(ChangeOperations, JobOperations, AutoScaleSupport, JobScheduleOperations,
                       BatchEngine):
    """Pools of local nodes running Batch jobs and tasks.

    Args:
        client: a Docker client (see ``docker_node.connect``) for the
            default ``container`` runtime; not needed with ``runtime``.
        runtime: what makes the nodes (default: containers of ``client``);
            closed by :meth:`close`.
        image: the default node image (a pool spec's ``image`` wins).
        work_dir: host directory for node directories (one folder per pool).
        account_name / account_url: what nodes see as ``AZ_BATCH_ACCOUNT_NAME``
            and ``AZ_BATCH_ACCOUNT_URL``.
        clock: the time autoscale and job schedules run on (see ``clock``).
    """

    name = "local"
    poll_interval = 0.05
    max_poll_interval = 0.5
    supports_task_dependencies = True
    supports_output_files = True

    def __init__(self, client=None, *, image: str, work_dir: Path,
                 runtime: NodeRuntime | None = None, account_name: str = "local",
                 account_url: str = "",
                 heartbeat: HeartbeatSettings = HeartbeatSettings(),
                 clock: Clock | None = None) -> None:
        if runtime is None:
            from .docker_node import ContainerRuntime
            runtime = ContainerRuntime(client)
        self.runtime, self.image, self.work_dir = runtime, image, work_dir
        self._account = {"account_name": account_name, "account_url": account_url}
        self._lock = threading.Condition()
        self._pools: dict[str, NodePool] = {}
        self._jobs: dict[str, Job] = {}
        self._executor = ThreadPoolExecutor(256, thread_name_prefix="task")
        self._runner = TaskRunner(self._lock, self._task_done, self._requeue, self._node_lost)
        self._deletions: list[threading.Thread] = []
        self._heartbeat_settings = heartbeat
        self._heartbeat: Heartbeat | None = None
        self.clock = clock or Clock()
        self.autoscaler = AutoScaler(self)
        self._schedules = JobSchedules(self)

    # -- pools ------------------------------------------------------------

    def validate_pool(self, spec: PoolSpec) -> None:
        """Raises ConfigError if Docker does not have the node image or one
        of the container images (``create_pool`` takes a missing container
        image, as Batch does: its nodes become ``unusable``);
        UnsupportedSetting if the runtime runs no containers and the pool
        asks for them."""
        try:
            self._check_image(spec)
        except PoolError as exc:
            raise ConfigError(str(exc), hint=exc.hint) from None
        container_run.check_pool(self.runtime, spec, images=True)

    def _check_image(self, spec: PoolSpec) -> str:
        """The pool's image; raises PoolError if its nodes could not start,
        UnsupportedSetting if it wants containers the runtime cannot run."""
        container_run.check_pool(self.runtime, spec, images=False)
        image = spec.image or self.image
        self.runtime.check_image(image)
        return image

    def create_pool(self, spec: PoolSpec, *, extras: Extras | None = None,
                    autoscale: object = None) -> None:
        """``autoscale``: the pool's autoscale state (see ``autoscaler``)."""
        image = self._check_image(spec)
        with self._lock:
            if spec.id in self._pools:
                raise ResourceExists(f"pool {spec.id} already exists")
            pool = NodePool(self.runtime, spec, image=image,
                            host_dir=self.work_dir / spec.id, lock=self._lock,
                            on_change=self._dispatch, account=self._account, extras=extras)
            pool.autoscale = autoscale
            self._pools[spec.id] = pool
            if self._heartbeat is None:
                self._heartbeat = Heartbeat(self._lock, self._watched, self._node_lost,
                                            self._heartbeat_settings)
        pool.allocate()

    def get_pool(self, pool_id: str) -> PoolInfo:
        with self._lock:
            pool = self._pool(pool_id)
            changing = pool_resize.allocation_changing(pool)
            return PoolInfo(spec=pool.spec, state="deleting" if pool.deleting else "active",
                            allocation_state=("stopping" if pool.stopping else "resizing")
                            if changing else "steady",
                            current_node_count=sum(_current(pool)))

    def list_nodes(self, pool_id: str) -> list[NodeInfo]:
        with self._lock:
            return [node.info() for node in self._pool(pool_id).nodes]

    def pool_records(self) -> list[PoolRecord]:
        """Every pool (deleting ones included), in creation order."""
        with self._lock:
            return [self.pool_record(i) for i in list(self._pools)]

    def pool_record(self, pool_id: str) -> PoolRecord:
        """Raises PoolNotFound."""
        with self._lock:
            pool = self._pool(pool_id)
            dedicated, spot = _current(pool)
            return PoolRecord(info=self.get_pool(pool_id), created=pool.created,
                              modified=pool.modified, current_dedicated=dedicated,
                              current_spot=spot, autoscale=pool.autoscale, extras=pool.extras)

    def node_records(self, pool_id: str) -> list[NodeRecord]:
        """Raises PoolNotFound."""
        with self._lock:
            return [node.record() for node in self._pool(pool_id).nodes]

    def node_dir(self, pool_id: str, node_id: str) -> FileRoot | None:
        """A node's root directory (None: no such node).

        Raises:
            PoolNotFound: no such pool.
        """
        with self._lock:
            for node in self._pool(pool_id).nodes:
                if node.id == node_id:
                    return FileRoot(node.layout.host_root)
        return None

    def start_deleting_pool(self, pool_id: str) -> bool:
        with self._lock:
            pool = self._pool(pool_id)
            if pool.deleting:
                return False
            pool.deleting = True

            def forget() -> None:
                with self._lock:
                    if self._pools.get(pool_id) is pool:
                        del self._pools[pool_id]
                    self._lock.notify_all()
            pool.deletion = self._in_background(f"delete-pool-{pool_id}", pool.delete, forget)
        return True

    def _in_background(self, name: str, delete, then=None) -> "_Deletion":
        """Start ``delete()``, then ``then()``, in a thread of their own."""
        deletion = _Deletion(name, delete, then)
        with self._lock:
            self._deletions = [d for d in self._deletions if d.is_alive()] + [deletion]
        deletion.start()
        return deletion

    def wait_for_deletions(self, timeout: float = 120.0) -> None:
        """Wait until deletes begun with ``start_deleting_*`` have finished."""
        with self._lock:
            deletions = list(self._deletions)
        for deletion in deletions:
            deletion.join(timeout)
        with self._lock:
            self._deletions = [d for d in self._deletions if d.is_alive()]

    def delete_pool(self, pool_id: str) -> None:
        """:meth:`start_deleting_pool` and wait until the pool is gone (its
        nodes removed); raises what removing them raised. Also removes the
        nodes of a pool this engine did not create (kept by an earlier run)
        that its runtime finds."""
        with self._lock:
            pool = self._pools.get(pool_id)
            if pool is not None and not pool.deleting:
                self.start_deleting_pool(pool_id)
        if pool is None:
            self.runtime.remove_pool(pool_id)
            shutil.rmtree(self.work_dir / pool_id, ignore_errors=True)
            return
        if pool.deletion is not None:
            pool.deletion.wait()

    def _pool(self, pool_id: str) -> NodePool:
        try:
            return self._pools[pool_id]
        except KeyError:
            raise PoolNotFound(f"pool {pool_id} does not exist") from None

    # -- jobs -------------------------------------------------------------

    def create_job(self, spec: JobSpec, *, pool_must_exist: bool = True,
                   extras: Extras | None = None, exit_job_actions: bool = False) -> None:
        if self._schedules.has(spec.id):  # before our lock: see JobSchedules' lock order
            raise StateConflict("A job schedule with the specified job id exists; a job and "
                                "a job schedule cannot have the same id.",
                                code="JobScheduleWithSameIdExists")
        with self._lock:
            if spec.id in self._jobs:
                raise ResourceExists(f"job {spec.id} already exists")
            if pool_must_exist:
                self._pool(spec.pool_id)
            job = self._jobs[spec.id] = Job(spec, extras)
            job.exit_job_actions = exit_job_actions

    def job_records(self) -> list[JobRecord]:
        """Every job (deleting ones included), in creation order."""
        with self._lock:
            return [job.record() for job in self._jobs.values()]

    def job_record(self, job_id: str) -> JobRecord:
        """Raises JobNotFound."""
        with self._lock:
            return self._job(job_id).record()

    def set_terminate_when_tasks_complete(self, job_id: str, value: bool = True) -> None:
        """Also raises StateConflict: the job is not active."""
        self.update_job(job_id, terminate_when_tasks_complete=value)

    def update_job(self, job_id: str, *, terminate_when_tasks_complete: bool | None = None,
                   metadata: Mapping[str, str] | None = None,
                   extras: Extras | None = None) -> JobRecord:
        with self._lock:
            job = self._job(job_id)
            if terminate_when_tasks_complete is not None or metadata is not None:
                job.refuse_changes("update it")
            if extras:
                job.extras = merge_extras(job.extras, extras)
            if metadata is not None:
                job.spec = replace(job.spec, metadata=dict(metadata))
            if terminate_when_tasks_complete is not None:
                job.spec = replace(job.spec,
                                   terminate_when_tasks_complete=terminate_when_tasks_complete)
                self._complete_if_done(job, allow_empty=True)
            return job.record()

    def terminate_job(self, job_id: str, reason: str = "UserTerminate") -> None:
        """End a job: no more tasks start, running ones are killed, then it
        is ``completed`` with ``reason``. Active tasks stay active.

        Raises:
            JobNotFound; StateConflict: it is completed or being deleted
            or terminated already.
        """
        with self._lock:
            job = self._job(job_id)
            job.refuse_changes("terminate it")
            running = self._terminate(job, reason)
        for task in running:
            self._runner.kill(task)

    def _terminate(self, job: Job, reason: str) -> list[Task]:
        """(Under the lock.) Move a job to terminating (completed at once
        if nothing of it runs); its running tasks, for the caller to kill."""
        job.move(JobState.TERMINATING)
        job.terminate_reason = reason
        job.pending.clear()
        running = job.placed()
        if not running:
            job.move(JobState.COMPLETED, reason)
        return running

    def start_deleting_job(self, job_id: str) -> bool:
        def delete(job: Job, running: list[Task]) -> None:
            for task in running:
                self._runner.kill(task)
            with self._lock:
                self._lock.wait_for(lambda: not job.placed(), timeout=60)
                if self._jobs.get(job_id) is job:
                    del self._jobs[job_id]
                self._lock.notify_all()
                pool = self._pools.get(job.spec.pool_id)
                nodes = list(pool.nodes) if pool else []
            for node in nodes:
                _remove_job_dir(node, job_id)

        with self._lock:
            job = self._job(job_id)
            if job.state == JobState.DELETING:
                return False
            job.move(JobState.DELETING)
            job.pending.clear()
            running = job.placed()
            job.deletion = self._in_background(f"delete-job-{job_id}",
                                               lambda: delete(job, running))
        return True

    def delete_job(self, job_id: str) -> None:
        """:meth:`start_deleting_job` and wait until the job is gone."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return
            if job.state != JobState.DELETING:
                self.start_deleting_job(job_id)
        if job.deletion is not None:
            job.deletion.wait()

    def add_tasks(self, job_id: str, tasks: Sequence[TaskSpec]) -> None:
        """Also raises StateConflict when the job is not active."""
        with self._lock:
            job = self._job(job_id)
            job.refuse_changes("add tasks")
            ids = Counter(t.id for t in tasks)  # O(n): a 10,000-task job is added at once
            clash = {i for i, n in ids.items() if n > 1 or i in job.tasks}
            if clash:
                raise ResourceExists(f"task {sorted(clash)[0]} already exists in job {job_id}")
            for spec in tasks:
                self._validate_task(job.spec, spec)
            for spec in tasks:
                job.add(_new_task(job, spec))
            self._dispatch()

    def add_task_collection(self, job_id: str, tasks: Sequence[TaskSpec],
                            extras: Sequence[Extras] | None = None,
                            exit_conditions: Sequence[ExitConditions | None] | None = None
                            ) -> list[TaskRecord | ResourceExists | ConfigError]:
        outcomes: list[TaskRecord | ResourceExists | ConfigError] = []
        with self._lock:
            job = self._job(job_id)
            job.refuse_changes("add tasks")
            for n, spec in enumerate(tasks):
                if spec.id in job.tasks:
                    outcomes.append(ResourceExists(f"task {spec.id} already exists in job "
                                                   f"{job_id}"))
                    continue
                conditions = exit_conditions[n] if exit_conditions else None
                try:
                    self._validate_task(job.spec, spec)
                    if conditions is not None and conditions.uses_job_actions() \
                            and not job.exit_job_actions:
                        raise ConfigError(f"task {spec.id}: exitConditions with a jobAction "
                                          f"need job {job_id} to be created with onTaskFailure "
                                          "performexitoptionsjobaction")
                except ConfigError as exc:
                    outcomes.append(exc)
                    continue
                task = _new_task(job, spec, extras[n] if extras else None)
                task.exit_conditions = conditions
                job.add(task)
                outcomes.append(task.record(job.spec.pool_id))
            self._dispatch()
        return outcomes

    def _validate_task(self, job: JobSpec, spec: TaskSpec) -> None:
        """Raises ConfigError for a task the job cannot take (each rule here,
        once, for every way of adding tasks); UnsupportedSetting for
        container settings on a runtime that runs no containers."""
        _validate_task(job, spec)
        if spec.container_settings is not None:
            container_run.check_runs_containers(self.runtime, "containerSettings",
                                                f"task {spec.id}")

    def list_tasks(self, job_id: str) -> list[TaskInfo]:
        with self._lock:
            return [task.info() for task in self._job(job_id).tasks.values()]

    def task_counts(self, job_id: str) -> TaskCounts:
        """Kept up to date as tasks move (O(1)): the waits poll this every
        50 ms."""
        with self._lock:
            return self._job(job_id).counts()

    def read_task_file(self, job_id: str, task_id: str, path: str) -> bytes:
        task_dir = self.task_dir(job_id, task_id)
        if task_dir is None:
            raise TaskNotFound(f"task {task_id} has not run yet, so it has no {path}")
        data = task_dir.read(path)
        if data is None:
            raise TaskNotFound(f"task {task_id} has no file {path!r}")
        return data

    def task_records(self, job_id: str) -> list[TaskRecord]:
        """Raises JobNotFound."""
        with self._lock:
            job = self._job(job_id)
            return [task.record(job.spec.pool_id) for task in job.tasks.values()]

    def task_record(self, job_id: str, task_id: str) -> TaskRecord:
        """Raises JobNotFound, TaskNotFound."""
        with self._lock:
            job = self._job(job_id)
            return self._task(job, task_id).record(job.spec.pool_id)

    def task_dir(self, job_id: str, task_id: str) -> FileRoot | None:
        """The task's directory (None until it is placed).

        Raises:
            JobNotFound, TaskNotFound.
        """
        with self._lock:
            node = self._task(self._job(job_id), task_id).node
        return FileRoot(node.layout.host_root, node.layout.task(job_id, task_id).rel) \
            if node else None

    def list_task_files(self, job_id: str, task_id: str, *,
                        recursive: bool = False) -> list[FileEntry]:
        """The task directory's files (none before it is placed).

        Raises:
            JobNotFound, TaskNotFound.
        """
        task_dir = self.task_dir(job_id, task_id)
        return task_dir.list(recursive=recursive) if task_dir else []

    def terminate_task(self, job_id: str, task_id: str) -> None:
        """Complete an active task at once (result failure), or kill a
        running one, which then completes with failure code ``TaskEnded``.

        Raises:
            JobNotFound, TaskNotFound; StateConflict: it is completed.
        """
        with self._lock:
            job = self._job(job_id)
            task = self._task(job, task_id)
            if task.state is TaskState.COMPLETED:
                raise StateConflict(f"task {task_id} is already completed", code="TaskCompleted")
            if task.node is None:
                task.move(TaskState.COMPLETED)
                task.end_time, task.result = task.state_changed, TaskResult.FAILURE
                task.failure = ended_by_user()
                job.task_completed(task)
                self._complete_if_done(job)
                self._dispatch()
                self._lock.notify_all()
                return
        self._runner.kill(task)

    def _task(self, job: Job, task_id: str) -> Task:
        task = job.tasks.get(task_id)
        if task is None:
            raise TaskNotFound(f"task {task_id} does not exist in job {job.spec.id}")
        return task

    def _job(self, job_id: str) -> Job:
        try:
            return self._jobs[job_id]
        except KeyError:
            raise JobNotFound(f"job {job_id} does not exist") from None

    # -- scheduling (always under the lock) -------------------------------

    def _dispatch(self) -> None:
        """Place runnable tasks (active, dependencies succeeded) on free
        slots, job by job, each job's in submission order, each on the
        usable node with the most free slots. Costs O(log n) per task
        placed (the job keeps its runnable tasks ready, see ``jobs``)."""
        for job in list(self._jobs.values()):
            if job.state != JobState.ACTIVE or not job.pending.has_runnable():
                continue
            pool = self._pools.get(job.spec.pool_id)
            if pool is None:
                continue
            nodes = [n for n in pool.nodes if n.usable and n.free_slots > 0]
            while nodes and job.pending.has_runnable():
                node = max(nodes, key=lambda n: n.free_slots)  # the first of equals
                task = job.pending.take()
                node.free_slots -= 1
                node.state = NodeState.RUNNING
                task.place(node)
                job.placed_task(task)
                if node.free_slots == 0:
                    nodes.remove(node)
                self._executor.submit(self._runner.run, task, node)

    def _task_done(self, node: Node, task: Task) -> None:
        """The runner calls this (under the lock) when a task completes."""
        node.free_slots += 1
        node.tasks_run += 1
        node.tasks_succeeded += task.result is TaskResult.SUCCESS
        if node.state is NodeState.RUNNING and not node.running:
            node.state = NodeState.IDLE
        job = self._jobs.get(task.job_id)
        if job is not None and job.tasks.get(task.spec.id) is task:
            action, dependency = options_for(
                task.exit_conditions, succeeded=task.result is TaskResult.SUCCESS,
                exit_code=task.exit_code, failure=task.failure)
            task.satisfies = dependency == "satisfy"
            job.task_completed(task)
            if job.exit_job_actions and action != "none" and job.state == JobState.ACTIVE:
                self._job_action(job, action)
            self._complete_if_done(job)
        self._dispatch()
        self._lock.notify_all()

    def _job_action(self, job: Job, action: str) -> None:
        """(Under the lock.) An exit condition's ``jobAction``: disable the
        job (as ``disableTasks=requeue``) or terminate it (``TaskFailed``);
        the tasks to stop are killed by the executor, not under the lock."""
        if action == "terminate":
            stop = self._terminate(job, "TaskFailed")
        else:
            job.move(JobState.DISABLING)
            stop = job.placed()
            for other in stop:
                other.requeue_on_kill = True
        for other in stop:
            self._executor.submit(self._runner.kill, other)

    def _complete_if_done(self, job: Job, allow_empty: bool = False) -> None:
        """Move a terminating job without running tasks to completed, and an
        active ``terminate_when_tasks_complete`` job whose tasks have all
        completed (an empty one only with ``allow_empty``)."""
        if job.state == JobState.TERMINATING and not job.running:
            job.move(JobState.COMPLETED, job.terminate_reason)
        elif job.state == JobState.DISABLING and not job.running:
            job.move(JobState.DISABLED)
        elif (job.state == JobState.ACTIVE and job.spec.terminate_when_tasks_complete
              and (job.tasks or allow_empty) and job.all_completed):
            job.move(JobState.COMPLETED, "AllTasksComplete")

    # -- lifetime -----------------------------------------------------------

    # -- lost nodes ------------------------------------------------------------

    def _watched(self):
        """(pool, node) pairs the heartbeat watches (called under the lock)."""
        return [(pool, node) for pool in self._pools.values() if not pool.deleting
                for node in pool.nodes]

    def _node_lost(self, pool: NodePool | None, node: Node, reason: str) -> None:
        """A node is gone or silent: ``unusable`` for good, its tasks requeued
        (by their runners, once its container is gone), a new node in its
        place."""
        with self._lock:
            pool = pool or next((p for p in self._pools.values() if node in p.nodes), None)
            if pool is None or pool.deleting or node.state is NodeState.UNUSABLE \
                    or node.state is NodeState.LEAVING_POOL or node.evicted:
                return  # already lost, or a resize is taking it away
            node.state, node.lost_reason = NodeState.UNUSABLE, reason
            pool.replace(node)
            self._lock.notify_all()

    def _requeue(self, task: Task) -> bool:
        """Put a task whose node was lost back in its job's queue, first
        (called under the lock). Returns False if it must end instead (its
        job is no longer active, or it was terminated)."""
        job = self._jobs.get(task.job_id)
        if job is None or job.tasks.get(task.spec.id) is not task:
            return False
        if task.requeue_on_kill and job.state in (JobState.DISABLING, JobState.DISABLED):
            task.killed = task.requeue_on_kill = False  # it runs again once enabled
            job.requeued(task)
            self._complete_if_done(job)
            self._lock.notify_all()
            return True
        if job.state != JobState.ACTIVE or task.killed:
            return False
        job.requeued(task)
        self._dispatch()
        self._lock.notify_all()
        return True

    def close(self) -> None:
        """Stop scheduling; pools that were not deleted stay (``--keep-pool``)
        and outlive this process."""
        self.autoscaler.stop()
        self._schedules.stop()
        if self._heartbeat is not None:
            self._heartbeat.stop()
        with self._lock:
            kept = [p for p in self._pools.values() if not p.deleting]
        for pool in kept:
            pool.keep()
        self._executor.shutdown(wait=False, cancel_futures=True)
        self.runtime.close()


class _Deletion(threading.Thread):
    """A pool's or job's delete, in a thread of its own; :meth:`wait`
    joins it and raises what the delete raised."""

    def __init__(self, name: str, delete, then=None) -> None:
        super().__init__(name=name, daemon=True)
        self._work, self.then = delete, then
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self._work()
        except BaseException as exc:  # handed to wait()
            self.error = exc
        finally:
            if self.then is not None:
                self.then()
            self._work = self.then = None  # holds nothing of the resource once done

    def wait(self, timeout: float | None = None) -> None:
        self.join(timeout)
        if self.error is not None:
            raise self.error


def _new_task(job: Job, spec: TaskSpec, extras: Extras | None = None) -> Task:
    """A task of ``job``; the job's common environment under its own (Batch's
    ``commonEnvironmentSettings``)."""
    if job.spec.common_environment:
        spec = replace(spec, environment={**job.spec.common_environment, **spec.environment})
    return Task(spec=spec, job_id=job.spec.id, extras=dict(extras or {}))
def _current(pool: NodePool) -> tuple[int, int]:
    """The pool's allocated (dedicated, spot) nodes: started, not lost."""
    here = [n for n in pool.nodes if n.state is not NodeState.CREATING and not n.lost_reason]
    dedicated = sum(n.dedicated for n in here)
    return dedicated, len(here) - dedicated


def _remove_job_dir(node: Node, job_id: str) -> None:
    try:
        nofollow.remove_tree(node.layout.host_root, node.layout.job_dir(job_id))
    except OSError:
        pass  # best effort: the pool's directory goes with the pool


def _validate_task(job: JobSpec, spec: TaskSpec) -> None:
    if spec.depends_on and not job.uses_task_dependencies:
        raise TaskDependenciesNotEnabled(job.id, spec.id)
    try:
        argv = shlex.split(spec.command_line)
    except ValueError as exc:
        raise ConfigError(f"task {spec.id}: cannot parse its command line ({exc})") from None
    if not argv and spec.container_settings is None:  # a container runs its image's command
        raise ConfigError(f"task {spec.id}: empty command line")
