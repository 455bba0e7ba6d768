"""The BatchEngine interface: what a Batch REST front end (the emulator in
``emulator/``) needs of an engine beyond the core ``Compute`` interface.

``Compute`` is what a workflow needs: create, look at and delete pools, jobs
and tasks. A front end that answers the Batch API also needs Batch's
bookkeeping for every resource (creation and last-change times, state
history, the properties it was given that the engine does not act on) and
Batch's own operations (delete that returns at once while the resource is
listed as ``deleting``, job update and termination, task termination, file
listings, the changes after creation: resize, pool and job updates) and
Batch's job schedules, which make jobs on the engine's clock.
``LocalBatchEngine`` implements both; the emulator depends on
this class only.

Every resource's state (a job schedule's too), its ``extras`` included,
lives in the engine's records (``records``): a front end keeps nothing per resource, and a deleted
resource leaves nothing behind. A record's ``modified`` changes on every
change of its resource (a front end makes ``ETag`` and ``Last-Modified``
from it).

Errors: the core ones (``PoolNotFound``, ``JobNotFound``, ``TaskNotFound``,
``ResourceExists``, ``ConfigError``, ``PoolError``) and the three below.
"""

from __future__ import annotations

import abc
from typing import Any, Mapping, Sequence

from topwords.core.compute import Compute
from topwords.core.errors import ComputeError, ConfigError, ResourceExists
from topwords.core.model import JobSpec, PoolSpec, TaskSpec

from .files import FileRoot
from .records import (
    FileEntry, JobRecord, JobScheduleRecord, JobTemplate, NodeRecord, PoolRecord, ScheduleConfig,
    TaskRecord,
)

__all__ = ["DEALLOCATION_OPTIONS", "DISABLE_TASKS", "KEEP", "BatchEngine", "Extras",
           "JobScheduleNotFound", "StateConflict", "TaskDependenciesNotEnabled"]

#: properties of a create or update body kept with the resource as given
#: (JSON values); the engine never reads them. In an update, a value of
#: None removes its key.
Extras = Mapping[str, Any]

#: ``update_pool(start_task=KEEP)``: leave the StartTask as it is
KEEP: Any = object()

#: what a resize does with the tasks of the nodes that leave (Batch's
#: ``nodeDeallocationOption``; see ``pool_resize``)
DEALLOCATION_OPTIONS = ("requeue", "terminate", "taskcompletion", "retaineddata")

#: what disabling a job does with its running tasks (Batch's ``disableTasks``;
#: see ``engine_job_ops``)
DISABLE_TASKS = ("requeue", "terminate", "wait")


class StateConflict(ComputeError):
    """The pool's, job's or task's state forbids the operation (Batch: 409).

    Attributes:
        code: Batch's error code (``JobCompleted``, ``JobBeingTerminated``,
            ``JobBeingDeleted``, ``PoolBeingDeleted``, ``TaskCompleted``,
            ``JobScheduleCompleted``, ``JobScheduleBeingTerminated``,
            ``JobScheduleBeingDeleted``, ``JobWithSameIdExists``,
            ``JobScheduleWithSameIdExists``).
    """

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


class JobScheduleNotFound(ComputeError, LookupError):
    """The job schedule does not exist (Batch: 404 JobScheduleNotFound).

    Attributes:
        schedule_id: the schedule asked for.
    """

    def __init__(self, schedule_id: str) -> None:
        super().__init__(f"job schedule {schedule_id} does not exist")
        self.schedule_id = schedule_id


class TaskDependenciesNotEnabled(ConfigError):
    """A task with dependencies for a job created without
    ``uses_task_dependencies`` (Batch: 400 TaskDependenciesNotSpecifiedOnJob).

    Attributes:
        job_id / task_id: the job and the refused task.
    """

    def __init__(self, job_id: str, task_id: str) -> None:
        super().__init__(f"task {task_id} has dependencies but job {job_id} was not "
                         "created with uses_task_dependencies")
        self.job_id, self.task_id = job_id, task_id


class BatchEngine(Compute):
    """``Compute`` plus the records and operations of the Batch API.

    Thread-safe: a front end calls it from many request threads at once.
    Each method is one consistent step (taken under the engine's lock), so a
    request handler makes as few calls as it can: one per operation where
    possible.

    Attributes:
        clock: the time autoscale and job schedules run on
            (``backends.local.clock.Clock``; a test may advance it).
        autoscaler: the pools' autoscale (``backends.local.autoscaler.
            AutoScaler``: enable, disable, evaluate a formula); its state
            for a pool is in the pool's record (``PoolRecord.autoscale``).
    """

    clock: Any
    autoscaler: Any

    # -- pools ---------------------------------------------------------------

    @abc.abstractmethod
    def create_pool(self, spec: PoolSpec, *, extras: Extras | None = None,
                    autoscale: Any = None) -> None:
        """``Compute.create_pool``, keeping ``extras`` and the autoscale state
        ``autoscale`` (None: none; see ``autoscaler``) in the pool's record.

        Raises:
            ResourceExists: a pool with this id exists.
            PoolError: its nodes could not start (the image is missing, ...).
        Idempotent: no.
        """

    @abc.abstractmethod
    def pool_records(self) -> list[PoolRecord]:
        """Every pool, ``deleting`` ones included, in creation order.

        Idempotent: yes (read-only).
        """

    @abc.abstractmethod
    def pool_record(self, pool_id: str) -> PoolRecord:
        """One pool (``deleting`` until it is gone).

        Raises:
            PoolNotFound: no such pool.
        Idempotent: yes (read-only).
        """

    @abc.abstractmethod
    def node_records(self, pool_id: str) -> list[NodeRecord]:
        """The pool's nodes with their bookkeeping (StartTask runs, task
        counts, dedicated or spot).

        Raises:
            PoolNotFound: no such pool.
        Idempotent: yes (read-only).
        """

    @abc.abstractmethod
    def node_dir(self, pool_id: str, node_id: str) -> FileRoot | None:
        """A node's root directory, for its file operations (None: no such
        node).

        Raises:
            PoolNotFound: no such pool.
        Idempotent: yes (read-only).
        """

    @abc.abstractmethod
    def start_deleting_pool(self, pool_id: str) -> bool:
        """Begin deleting a pool and return at once; it stays listed with
        state ``deleting`` until its nodes are gone, then its record goes.
        ``Compute.delete_pool`` is this plus waiting until it is gone.

        Returns:
            False if it was being deleted already.
        Raises:
            PoolNotFound: no such pool.
        Idempotent: yes (a second call returns False).
        """

    @abc.abstractmethod
    def resize_pool(self, pool_id: str, dedicated: int, spot: int = 0, *,
                    deallocation: str = "requeue") -> None:
        """Start resizing a pool to ``dedicated`` + ``spot`` nodes and return
        at once: nodes join (with their StartTask) or leave (their tasks per
        ``deallocation``, one of :data:`DEALLOCATION_OPTIONS`); the pool is
        ``resizing`` until they have.

        Raises:
            PoolNotFound; StateConflict: ``PoolBeingDeleted``,
            ``PoolBeingResized`` (it is not steady); ConfigError: a negative
            count or an unknown ``deallocation``.
        Idempotent: yes (the same targets again change nothing once steady).
        """

    @abc.abstractmethod
    def remove_nodes(self, pool_id: str, node_ids: Sequence[str], *,
                     deallocation: str = "requeue") -> None:
        """Take the nodes ``node_ids`` out of a pool and return at once: they
        leave as in :meth:`resize_pool` (their tasks per ``deallocation``)
        and the pool's targets go down by as many; it is ``resizing`` until
        they have gone.

        Raises:
            PoolNotFound; StateConflict: ``PoolBeingDeleted``,
            ``PoolBeingResized``; ConfigError: an unknown ``deallocation`` or
            a node that is not the pool's (nothing is removed).
        Idempotent: no (a removed node is no longer the pool's).
        """

    @abc.abstractmethod
    def restart_node(self, pool_id: str, node_id: str, *, option: str = "requeue",
                     reimage: bool = False) -> None:
        """Reboot (or, with ``reimage``, reimage: its directory starts empty)
        an idle or running node and return at once: it is ``rebooting`` (or
        ``reimaging``), its container or process restarts, then it boots as
        a new node does, StartTask included. Its running tasks per
        ``option`` (one of :data:`DEALLOCATION_OPTIONS`: requeued, ended, or
        left to finish before it restarts).

        Raises:
            PoolNotFound; ConfigError: an unknown ``option`` or a node that is
            not the pool's; StateConflict: ``PoolBeingDeleted``, or the node
            is not idle or running (``OperationInvalidForCurrentState``).
        Idempotent: no.
        """

    @abc.abstractmethod
    def stop_resizing_pool(self, pool_id: str) -> None:
        """Stop a resize: nodes still to join or leave do not; returns at once.

        Raises:
            PoolNotFound; StateConflict: ``PoolBeingDeleted``.
        Idempotent: yes.
        """

    @abc.abstractmethod
    def update_pool(self, pool_id: str, *, start_task: Any = KEEP,
                    metadata: Mapping[str, str] | None = None,
                    extras: Extras | None = None) -> PoolRecord:
        """Change a pool's StartTask (``None``: none; :data:`KEEP`: as it
        is), its metadata (None: as it is) and its extras (the keys given).
        As on Batch a new StartTask runs on nodes that join or reboot from
        now on, not on those the pool has.

        Returns:
            the pool's record after the change.
        Raises:
            PoolNotFound; StateConflict: ``PoolBeingDeleted``.
        Idempotent: yes.
        """

    @abc.abstractmethod
    def wait_for_deletions(self, timeout: float = 120.0) -> None:
        """Wait (up to ``timeout`` seconds per deletion) until every delete
        begun so far has finished.

        Idempotent: yes.
        """

    # -- jobs ------------------------------------------------------------------

    @abc.abstractmethod
    def create_job(self, spec: JobSpec, *, pool_must_exist: bool = True,
                   extras: Extras | None = None, exit_job_actions: bool = False) -> None:
        """``Compute.create_job``; with ``pool_must_exist=False`` a job for a
        pool that does not exist (yet) is accepted, as Batch does (its tasks
        wait for the pool). ``extras`` are kept in the job's record. With
        ``exit_job_actions`` (Batch's ``onTaskFailure``
        ``performexitoptionsjobaction``) its tasks' exit conditions may
        disable or terminate it (see ``exit_conditions``).

        Raises:
            ResourceExists: a job with this id exists.
            StateConflict: ``JobScheduleWithSameIdExists`` (a job schedule
                has this id).
            PoolNotFound: the pool does not exist (``pool_must_exist``).
        Idempotent: no.
        """

    @abc.abstractmethod
    def job_records(self) -> list[JobRecord]:
        """Every job, ``deleting`` ones included, in creation order.

        Idempotent: yes (read-only).
        """

    @abc.abstractmethod
    def job_record(self, job_id: str) -> JobRecord:
        """One job.

        Raises:
            JobNotFound: no such job.
        Idempotent: yes (read-only).
        """

    @abc.abstractmethod
    def update_job(self, job_id: str, *, terminate_when_tasks_complete: bool | None = None,
                   metadata: Mapping[str, str] | None = None,
                   extras: Extras | None = None) -> JobRecord:
        """Change a job: its ``onAllTasksComplete`` (None: unchanged; True on
        a job whose tasks have all completed, or that has none, completes
        it now), its metadata (None: unchanged) and its extras (the keys
        given replace those kept).

        Returns:
            the job's record after the change.
        Raises:
            JobNotFound; StateConflict: ``terminate_when_tasks_complete`` or
            ``metadata`` for a job that is not active.
        Idempotent: yes.
        """

    @abc.abstractmethod
    def terminate_job(self, job_id: str, reason: str = "UserTerminate") -> None:
        """End a job: no more tasks start, running ones are killed, then it
        is ``completed`` with ``reason``.

        Raises:
            JobNotFound; StateConflict: it is completed, terminating or
            being deleted.
        Idempotent: no (a second call is a StateConflict).
        """

    @abc.abstractmethod
    def disable_job(self, job_id: str, disable_tasks: str = "requeue") -> JobRecord:
        """Stop placing a job's tasks: it is ``disabling`` while tasks of it
        run, then ``disabled``; its running tasks per ``disable_tasks``, one
        of :data:`DISABLE_TASKS` (requeued, terminated, or left to finish).

        Returns:
            the job's record (``disabling`` or ``disabled``).
        Raises:
            JobNotFound; ConfigError: an unknown ``disable_tasks``;
            StateConflict: the job is completed, terminating, being deleted
            (their codes) or enabling (``OperationInvalidForCurrentState``).
        Idempotent: yes (a disabling or disabled job stays as it is).
        """

    @abc.abstractmethod
    def enable_job(self, job_id: str) -> JobRecord:
        """Place a disabled (or disabling) job's tasks again: ``enabling``,
        then ``active``.

        Returns:
            the job's record.
        Raises:
            JobNotFound; StateConflict: the job is completed, terminating or
            being deleted (their codes), or active
            (``OperationInvalidForCurrentState``).
        Idempotent: no (enabling an active job is a StateConflict).
        """

    @abc.abstractmethod
    def start_deleting_job(self, job_id: str) -> bool:
        """Begin deleting a job (its running tasks are killed) and return at
        once; it stays listed as ``deleting`` until they are gone, then its
        record (and its tasks') goes. ``Compute.delete_job`` is this plus
        waiting until it is gone.

        Returns:
            False if it was being deleted already.
        Raises:
            JobNotFound: no such job.
        Idempotent: yes (a second call returns False).
        """

    # -- tasks -------------------------------------------------------------------

    @abc.abstractmethod
    def add_task_collection(self, job_id: str, tasks: Sequence[TaskSpec],
                            extras: Sequence[Extras] | None = None,
                            exit_conditions: Sequence[Any] | None = None
                            ) -> list[TaskRecord | ResourceExists | ConfigError]:
        """Add each task on its own, as Batch's add-task-collection does: a
        task whose id is taken (by the job, or by an earlier one of
        ``tasks``) or that is invalid is refused, the others are added, in
        one step. ``extras[i]`` is kept in the record of ``tasks[i]``;
        ``exit_conditions[i]`` (an ``exit_conditions.ExitConditions`` or
        None) is what its completion does to the job and its dependents; a
        job action in a job without ``exit_job_actions`` is a ConfigError.

        Returns:
            per task, in order: its record, or the error that refused it
            (``ResourceExists``, ``ConfigError`` such as
            ``TaskDependenciesNotEnabled``).
        Raises:
            JobNotFound; StateConflict: the job is not active.
        Idempotent: no.
        """

    @abc.abstractmethod
    def task_records(self, job_id: str) -> list[TaskRecord]:
        """Every task of a job, in the order they were added.

        Raises:
            JobNotFound.
        Idempotent: yes (read-only).
        """

    @abc.abstractmethod
    def task_record(self, job_id: str, task_id: str) -> TaskRecord:
        """One task.

        Raises:
            JobNotFound, TaskNotFound.
        Idempotent: yes (read-only).
        """

    @abc.abstractmethod
    def terminate_task(self, job_id: str, task_id: str) -> None:
        """Complete an active task at once (result failure), or kill a
        running one, which then completes with failure code ``TaskEnded``.

        Raises:
            JobNotFound, TaskNotFound; StateConflict: it is completed.
        Idempotent: no (a second call is a StateConflict).
        """

    @abc.abstractmethod
    def update_task(self, job_id: str, task_id: str, *, max_task_retry_count: int | None = None,
                    max_wall_clock_time: Any = KEEP, extras: Extras | None = None
                    ) -> TaskRecord:
        """Change a task's constraints: ``max_task_retry_count`` (None:
        unchanged; a running task's further retries follow it) and
        ``max_wall_clock_time`` (seconds, None: unlimited, :data:`KEEP`:
        unchanged; from its next run on), and its extras (the keys given).

        Returns:
            the task's record after the change.
        Raises:
            JobNotFound, TaskNotFound; StateConflict: ``TaskCompleted``;
            ConfigError: a negative count or a limit <= 0.
        Idempotent: yes.
        """

    @abc.abstractmethod
    def delete_task(self, job_id: str, task_id: str) -> None:
        """Delete a task in any state: it is gone from its job at once (a
        running one is killed) and its directory on its node is removed
        (in the background once it no longer runs).

        Raises:
            JobNotFound, TaskNotFound.
        Idempotent: no (a second call is TaskNotFound).
        """

    @abc.abstractmethod
    def reactivate_task(self, job_id: str, task_id: str) -> TaskRecord:
        """Make a completed, failed task ``active`` again, its retry count
        and execution results reset; it runs again up to its retry count.

        Returns:
            the task's record after the change.
        Raises:
            JobNotFound, TaskNotFound; StateConflict: the job is not active
            (its code), or the task is not completed or it succeeded
            (``OperationInvalidForCurrentState``).
        Idempotent: no.
        """

    @abc.abstractmethod
    def task_dir(self, job_id: str, task_id: str) -> FileRoot | None:
        """The task's directory on its node (None until it is placed).

        Raises:
            JobNotFound, TaskNotFound.
        Idempotent: yes (read-only).
        """

    @abc.abstractmethod
    def list_task_files(self, job_id: str, task_id: str, *,
                        recursive: bool = False) -> list[FileEntry]:
        """The task directory's files (none before it is placed).

        Raises:
            JobNotFound, TaskNotFound.
        Idempotent: yes (read-only).
        """

    # -- job schedules -------------------------------------------------------------
    # A schedule makes jobs ``<schedule id>:job-<n>`` from its template on
    # ``clock`` (see ``job_schedules`` for when); its record is all there is
    # of it, and goes when it is deleted. Reads bring it up to now first.

    @abc.abstractmethod
    def create_job_schedule(self, schedule_id: str, config: ScheduleConfig,
                            template: JobTemplate, *, metadata: Mapping[str, str] | None = None,
                            extras: Extras | None = None) -> JobScheduleRecord:
        """Keep a new schedule (``extras`` in its record) and make its first
        job if one is due now.

        Returns:
            its record.
        Raises:
            ResourceExists: a schedule with this id exists.
            StateConflict: ``JobWithSameIdExists`` (a job has this id).
            ConfigError: the id is not valid.
        Idempotent: no.
        """

    @abc.abstractmethod
    def job_schedule_records(self) -> list[JobScheduleRecord]:
        """Every schedule, ``deleting`` ones included, in creation order.

        Idempotent: yes (read-only).
        """

    @abc.abstractmethod
    def job_schedule_record(self, schedule_id: str) -> JobScheduleRecord:
        """One schedule (``deleting`` until its jobs are gone).

        Raises:
            JobScheduleNotFound.
        Idempotent: yes (read-only).
        """

    @abc.abstractmethod
    def update_job_schedule(self, schedule_id: str, *, config: ScheduleConfig | None = None,
                            template: JobTemplate | None = None,
                            metadata: Mapping[str, str] | None = None,
                            extras: Extras | None = None) -> JobScheduleRecord:
        """Change what is given (None: unchanged; ``extras``: the keys
        given, a value of None removes its key); the changes apply to the
        jobs made from now on. ``modified`` changes even if no value does.

        Returns:
            the record after the change.
        Raises:
            JobScheduleNotFound; StateConflict: ``JobScheduleCompleted``,
            ``JobScheduleBeingTerminated``, ``JobScheduleBeingDeleted``.
        Idempotent: yes (but for ``modified``).
        """

    @abc.abstractmethod
    def disable_job_schedule(self, schedule_id: str) -> None:
        """Make no more jobs until enabled (its active job goes on).

        Raises:
            JobScheduleNotFound; StateConflict: as ``update_job_schedule``.
        Idempotent: yes.
        """

    @abc.abstractmethod
    def enable_job_schedule(self, schedule_id: str) -> None:
        """Make jobs again (one that came due meanwhile now, if its start
        window is still open).

        Raises:
            JobScheduleNotFound; StateConflict: as ``update_job_schedule``.
        Idempotent: yes.
        """

    @abc.abstractmethod
    def terminate_job_schedule(self, schedule_id: str) -> None:
        """Terminate its active job and make no more; it is ``terminating``
        until that job has completed, then ``completed``. Returns at once.

        Raises:
            JobScheduleNotFound; StateConflict: as ``update_job_schedule``.
        Idempotent: no (a second call is a StateConflict).
        """

    @abc.abstractmethod
    def start_deleting_job_schedule(self, schedule_id: str) -> bool:
        """Begin deleting a schedule and its jobs and return at once; it is
        listed as ``deleting`` until its jobs are gone, then its record goes.

        Returns:
            False if it was being deleted already.
        Raises:
            JobScheduleNotFound.
        Idempotent: yes (a second call returns False).
        """
