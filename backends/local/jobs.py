"""A job's mutable state in the local engine (guarded by the engine's lock):
its tasks, what is waiting to be placed and which of those may run now, its
task counts, and its Batch job state (active -> terminating -> completed,
or deleting).

Everything a task completion needs is kept up to date as tasks move, so
that one completion costs in proportion to the tasks that wait for it, not
to the size of the job: a job of N map tasks and a reduce that depends on
all of them would otherwise cost O(N) per completion, O(N^2) in all.
"""

from __future__ import annotations

import heapq
import itertools
from datetime import datetime
from typing import Any, Callable, Iterator, Mapping

from topwords.core.model import JobSpec, TaskCounts, TaskResult, TaskState

from .batch_engine import StateConflict
from .records import JobRecord, JobState, StateHistory
from .task_runner import Task

__all__ = ["Job", "PendingTasks", "StateConflict"]


class PendingTasks:
    """A job's active tasks not yet placed, and which of them may run now.

    A task may run when every task it depends on has succeeded (a task id
    not in the job yet has not). Each pending task keeps the number of its
    dependencies that have not succeeded, and each task id the pending
    tasks waiting for it, so a success touches only its dependents; the
    runnable ones wait in a heap by submission number, so they come out in
    submission order. A task whose dependency failed stays pending (Batch:
    active, blocked) until it is removed or the job is cleared.
    """

    def __init__(self) -> None:
        self._numbers = itertools.count()
        self._requeued = itertools.count(-1, -1)  # before every submitted task
        self._reset()

    def _reset(self) -> None:
        self._order: dict[Task, int] = {}  # pending task -> submission number
        self._unmet: dict[Task, int] = {}  # pending task -> dependencies not succeeded (> 0)
        self._waiting: dict[str, list[Task]] = {}  # task id -> pending tasks waiting for it
        self._ready: list[tuple[int, Task]] = []  # runnable, by number; removed ones stay
        self._runnable = 0  # how many entries of _ready are still pending

    def __len__(self) -> int:
        return len(self._order)

    def __iter__(self) -> Iterator[Task]:
        """The pending tasks in submission order."""
        return iter(sorted(self._order, key=self._order.__getitem__))

    def __contains__(self, task: object) -> bool:
        return task in self._order

    def add(self, task: Task, succeeded: Callable[[str], bool]) -> None:
        """Queue a task; ``succeeded(id)`` says whether a task of the job has
        already succeeded."""
        number = self._order[task] = next(self._numbers)
        unmet = [d for d in set(task.spec.depends_on) if not succeeded(d)]
        if not unmet:
            self._push(number, task)
            return
        self._unmet[task] = len(unmet)
        for dep in unmet:
            self._waiting.setdefault(dep, []).append(task)

    def succeeded(self, task_id: str) -> None:
        """Task ``task_id`` succeeded: its pending dependents have one fewer
        dependency to wait for."""
        for task in self._waiting.pop(task_id, ()):
            left = self._unmet.get(task)
            if left is None:
                continue  # removed since
            if left > 1:
                self._unmet[task] = left - 1
            else:
                del self._unmet[task]
                self._push(self._order[task], task)

    def requeue(self, task: Task) -> None:
        """Queue a task again, before every other (its node was lost while
        it ran, so its dependencies have succeeded); the last one requeued
        comes first."""
        number = self._order[task] = next(self._requeued)
        self._push(number, task)

    def has_runnable(self) -> bool:
        return self._runnable > 0

    def take(self) -> Task | None:
        """The first runnable task in submission order, no longer pending
        (None: none may run now)."""
        while self._ready:
            _, task = heapq.heappop(self._ready)
            if self._order.pop(task, None) is not None:
                self._runnable -= 1
                return task
        return None

    def remove(self, task: Task) -> None:
        """Forget a pending task (it was terminated before it was placed)."""
        if self._order.pop(task, None) is None:
            return
        if self._unmet.pop(task, None) is None:
            self._runnable -= 1  # its heap entry is skipped by take()

    def clear(self) -> None:
        """Forget every pending task (the job ends or is deleted)."""
        self._reset()

    def _push(self, number: int, task: Task) -> None:
        heapq.heappush(self._ready, (number, task))
        self._runnable += 1


class Job(StateHistory):
    """A job and its tasks (guarded by the engine's lock).

    ``running`` and the completed/failed counts follow the engine's calls of
    ``placed_task``/``task_completed``, so ``counts()`` costs O(1).
    ``modified`` follows its spec, extras and state (see ``records.Tracked``).
    """

    TRACKED = StateHistory.TRACKED | {"spec", "extras", "end_time", "terminate_reason"}

    def __init__(self, spec: JobSpec, extras: Mapping[str, Any] | None = None) -> None:
        self.spec = spec
        self.extras: Mapping[str, Any] = dict(extras or {})
        super().__init__(state=JobState.ACTIVE)
        self.tasks: dict[str, Task] = {}
        self.pending = PendingTasks()  # active and not yet placed
        self.running: dict[Task, None] = {}  # placed, not completed, in placing order
        self.completed = 0
        self.failed = 0
        self.end_time: datetime | None = None
        self.terminate_reason: str | None = None
        self.deletion = None  # the engine's delete, once begun
        self.exit_job_actions = False  # onTaskFailure=performexitoptionsjobaction

    def add(self, task: Task) -> None:
        """A new task, active and pending (its id is not in the job)."""
        self.tasks[task.spec.id] = task
        self.pending.add(task, self._succeeded)

    def _succeeded(self, task_id: str) -> bool:
        task = self.tasks.get(task_id)
        return task is not None and task.dependents_may_run

    def placed_task(self, task: Task) -> None:
        """A task taken from ``pending`` was placed on a node."""
        self.running[task] = None

    def requeued(self, task: Task) -> None:
        """A placed task is active again, first in the queue (its node was
        lost; the runner has taken it off the node)."""
        self.running.pop(task, None)
        self.pending.requeue(task)

    def task_completed(self, task: Task) -> None:
        """A task of this job moved to completed (placed, or still pending:
        it was terminated before it ran)."""
        self.running.pop(task, None)
        self.pending.remove(task)
        self.completed += 1
        if task.dependents_may_run:
            self.pending.succeeded(task.spec.id)
        if task.result is not TaskResult.SUCCESS:
            self.failed += 1

    def reactivated(self, task: Task) -> None:
        """A completed, failed task is active again (and pending)."""
        self.completed -= 1
        self.failed -= 1
        self.pending.add(task, self._succeeded)

    def removed(self, task: Task) -> None:
        """Forget a task (it was deleted): whatever its state, it no longer
        counts. A running one is off ``running`` here; its runner's end is
        then ignored (the task is no longer the job's)."""
        del self.tasks[task.spec.id]
        self.pending.remove(task)
        self.running.pop(task, None)
        if task.state is TaskState.COMPLETED:
            self.completed -= 1
            self.failed -= task.result is not TaskResult.SUCCESS

    @property
    def all_completed(self) -> bool:
        return self.completed == len(self.tasks)

    def counts(self) -> TaskCounts:
        running = len(self.running)
        return TaskCounts(active=len(self.tasks) - running - self.completed, running=running,
                          completed=self.completed, succeeded=self.completed - self.failed,
                          failed=self.failed)

    def move(self, state: str, reason: str | None = None) -> None:
        super().move(state)
        if state == JobState.COMPLETED:
            self.end_time, self.terminate_reason = self.state_changed, reason

    def placed(self) -> list[Task]:
        """The placed tasks not completed yet (preparing or running)."""
        return list(self.running)

    def refuse_changes(self, what: str) -> None:
        """Raise StateConflict unless the job is active."""
        codes = {JobState.COMPLETED: "JobCompleted", JobState.TERMINATING: "JobBeingTerminated",
                 JobState.DELETING: "JobBeingDeleted"}
        if self.state in codes:
            raise StateConflict(f"cannot {what}: job {self.spec.id} is {self.state}",
                                code=codes[self.state])

    def record(self) -> JobRecord:
        return JobRecord(spec=self.spec, state=self.state, **self.stamps(),
                         end_time=self.end_time, terminate_reason=self.terminate_reason,
                         extras=self.extras)
