"""The Compute interface: pools of nodes, jobs and tasks with Batch semantics.

Pools allocate asynchronously, as on Azure Batch: ``create_pool`` returns at
once and nodes join (and run their StartTask) in the background. Tasks are
added to a job and scheduled onto free node slots by the backend. Waiting is
written once here, on top of the primitives.
"""

from __future__ import annotations

import abc
import time
from typing import Callable, Sequence

from .errors import PoolError, ResourceExists, StartTaskFailed, WaitTimeout
from .model import (
    JobSpec, NodeInfo, NodeState, PoolInfo, PoolSpec, TaskCounts, TaskInfo, TaskSpec,
    TaskState,
)

__all__ = ["Compute"]

ProgressCallback = Callable[[TaskCounts], None]


class Compute(abc.ABC):
    """Batch-style compute: pools, jobs, tasks.

    Capability flags (class attributes):
        name: short backend name for messages.
        poll_interval: seconds between polls in the ``wait_*`` helpers.
        max_poll_interval: polls back off up to this many seconds.
        supports_task_dependencies: honours ``TaskSpec.depends_on``.
        supports_output_files: honours ``TaskSpec.output_files``.
    """

    name: str = "compute"
    poll_interval: float = 1.0
    max_poll_interval: float = 10.0
    supports_task_dependencies: bool = False
    supports_output_files: bool = False

    # -- pools ------------------------------------------------------------

    @abc.abstractmethod
    def create_pool(self, spec: PoolSpec) -> None:
        """Start allocating a pool; return without waiting for its nodes.

        Each node runs ``spec.start_task`` (if any) as it joins.

        Raises:
            ResourceExists: a pool with this id exists.
            PoolError: the pool cannot be created (bad image, ...).
        Idempotent: no.
        """

    def validate_pool(self, spec: PoolSpec) -> None:
        """Check, before anything is created, what would make the pool fail
        for sure (an image the backend cannot run, say).

        Raises:
            ConfigError: the pool could never be created as asked.
        Idempotent: yes (read-only). The default checks nothing.
        """

    @abc.abstractmethod
    def get_pool(self, pool_id: str) -> PoolInfo:
        """The pool's spec, state and allocation errors.

        Raises:
            PoolNotFound: no such pool.
        Idempotent: yes (read-only).
        """

    @abc.abstractmethod
    def list_nodes(self, pool_id: str) -> list[NodeInfo]:
        """The pool's nodes and their states (StartTask outcome included).

        Raises:
            PoolNotFound: no such pool.
        Idempotent: yes (read-only).
        """

    @abc.abstractmethod
    def delete_pool(self, pool_id: str) -> None:
        """Delete a pool and its nodes (and anything running on them).

        Returns once deletion is under way; the pool may take a while to go.

        Idempotent: yes (a missing pool is not an error).
        """

    # -- jobs and tasks ---------------------------------------------------

    @abc.abstractmethod
    def create_job(self, spec: JobSpec) -> None:
        """Create a job bound to an existing pool.

        Raises:
            ResourceExists: a job with this id exists.
            PoolNotFound: the pool does not exist.
        Idempotent: no.
        """

    @abc.abstractmethod
    def delete_job(self, job_id: str) -> None:
        """Delete a job, terminating its running tasks.

        Idempotent: yes (a missing job is not an error).
        """

    def set_terminate_when_tasks_complete(self, job_id: str, value: bool = True) -> None:
        """Make the job end once all its tasks have completed (Batch's
        ``onAllTasksComplete=terminatejob``). Call it after adding the tasks:
        a job with no tasks counts as complete.

        Raises:
            JobNotFound: no such job.
        Idempotent: yes. The default does nothing, for backends whose jobs
        need no ending.
        """

    @abc.abstractmethod
    def add_tasks(self, job_id: str, tasks: Sequence[TaskSpec]) -> None:
        """Add tasks to a job (any number; backends chunk as they need).

        Raises:
            JobNotFound: no such job.
            ResourceExists: a task id is already in the job.
            ConfigError: a task is invalid (e.g. depends_on on a job without
                ``uses_task_dependencies``).
        Idempotent: no.
        """

    @abc.abstractmethod
    def list_tasks(self, job_id: str) -> list[TaskInfo]:
        """Every task of the job with its current state and result.

        Raises:
            JobNotFound: no such job.
        Idempotent: yes (read-only).
        """

    @abc.abstractmethod
    def read_task_file(self, job_id: str, task_id: str, path: str) -> bytes:
        """A file of a task's directory, e.g. ``stdout.txt``, ``stderr.txt``
        or ``wd/<name>``.

        Raises:
            TaskNotFound: no such task or file.
        Idempotent: yes (read-only).
        """

    def close(self) -> None:
        """Release clients. Idempotent; the default does nothing."""

    # -- built on the primitives -----------------------------------------

    def task_counts(self, job_id: str) -> TaskCounts:
        """Tasks per state (backends with a cheaper call override this)."""
        return TaskCounts.of(self.list_tasks(job_id))

    def ensure_pool(self, spec: PoolSpec) -> bool:
        """Create the pool, or reuse an existing compatible one of that id.

        Returns:
            True if it was created, False if an existing pool is reused.
        Raises:
            PoolError: a pool with that id exists but does not fit ``spec``.
        """
        try:
            self.create_pool(spec)
            return True
        except ResourceExists:
            existing = self.get_pool(spec.id)
            if not existing.compatible_with(spec):
                raise PoolError(
                    f"pool {spec.id} exists but does not fit this run (VM size, image, "
                    "slots or StartTask differ, or it is being deleted)",
                    hint="choose another --pool-id, or delete that pool") from None
            return False

    def check_pool_usable(self, pool_id: str) -> None:
        """Fail fast if the pool cannot allocate nodes or none of its nodes can
        run tasks.

        Raises:
            PoolError: the pool has allocation (resize) errors, e.g. quota,
                and no node.
            StartTaskFailed: every node's StartTask failed (or every node is
                unusable); with the first one's stderr tail.
        """
        pool = self.get_pool(pool_id)
        if pool.resize_errors and pool.current_node_count == 0:
            raise PoolError(f"pool {pool_id} cannot allocate nodes: {pool.resize_errors[0]}",
                            hint="check the VM size, the image and your core quota")
        nodes = self.list_nodes(pool_id)
        failed = [n for n in nodes if n.state in (NodeState.START_TASK_FAILED, NodeState.UNUSABLE)]
        if nodes and len(failed) == len(nodes):
            node = failed[0]
            if node.errors:
                raise PoolError(f"no node of pool {pool_id} can run tasks: node {node.id} is "
                                f"{node.state.value}: {node.errors[0]}",
                                hint="see the node's errors; a container image must be one "
                                     "the nodes can get")
            tail = node.start_task_stderr.strip()
            detail = f": {tail.splitlines()[-1]}" if tail else ""
            raise StartTaskFailed(
                f"no node of pool {pool_id} can run tasks: node {node.id} is "
                f"{node.state.value} (StartTask exit code {node.start_task_exit_code}){detail}",
                node_id=node.id, exit_code=node.start_task_exit_code, stderr_tail=tail,
                hint="the pool's StartTask must exit 0; its stderr is shown above")

    def wait_for_tasks(self, job_id: str, pool_id: str, timeout: float,
                       on_progress: ProgressCallback | None = None,
                       on_poll: Callable[[], None] | None = None) -> list[TaskInfo]:
        """Wait until every task of the job is completed or blocked (it
        depends on a task that failed, so it will never run).

        Polls the task counts with backoff from ``poll_interval`` to
        ``max_poll_interval``, calls ``on_progress`` whenever they change and
        ``on_poll`` at every poll (what it raises ends the wait), fails fast
        when the pool cannot run tasks, and lists the tasks once at the end.

        Returns:
            Every task: completed ones, and blocked ones still ``active``.
        Raises:
            WaitTimeout: not all tasks completed within ``timeout`` seconds.
            StartTaskFailed: the pool's StartTask failed.
        """
        deadline = time.monotonic() + timeout
        delay, last = self.poll_interval, None
        while True:
            if on_poll:
                on_poll()
            counts = self.task_counts(job_id)
            if counts != last:
                if on_progress:
                    on_progress(counts)
                last, delay = counts, self.poll_interval
            if counts.completed == counts.total:
                return self.list_tasks(job_id)
            if counts.running == 0 and counts.completed:
                tasks = self.list_tasks(job_id)
                if not _runnable(tasks):  # the rest wait for tasks that failed
                    return tasks
            if counts.completed == 0 and counts.running == 0:
                self.check_pool_usable(pool_id)
            if time.monotonic() >= deadline:
                raise WaitTimeout(
                    f"{counts.completed} of {counts.total} tasks completed "
                    f"within the {timeout:g} s timeout",
                    hint="raise --timeout, or check the tasks' stderr")
            time.sleep(min(delay, max(0.0, deadline - time.monotonic())))
            delay = min(delay * 1.5, self.max_poll_interval)

    def __enter__(self) -> "Compute":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _runnable(tasks: list[TaskInfo]) -> list[TaskInfo]:
    """Tasks not completed that may still run: none of the tasks they
    depend on, directly or not, has failed. O(tasks + dependencies), no
    recursion (a chain of thousands of tasks is fine)."""
    dependents: dict[str, list[str]] = {}
    for task in tasks:
        for dep in set(task.depends_on):
            dependents.setdefault(dep, []).append(task.id)
    blocked: set[str] = set()
    frontier = [t.id for t in tasks if t.state is TaskState.COMPLETED and not t.succeeded]
    while frontier:
        for task_id in dependents.get(frontier.pop(), ()):
            if task_id not in blocked:
                blocked.add(task_id)
                frontier.append(task_id)
    return [t for t in tasks if t.state is not TaskState.COMPLETED and t.id not in blocked]
