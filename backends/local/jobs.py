"""A job's mutable state in the local engine (guarded by the engine's lock):
its tasks, what is waiting to be placed, and its Batch job state
(active -> terminating -> completed, or deleting)."""

from __future__ import annotations

from datetime import datetime, timezone

from topwords.core.errors import ComputeError
from topwords.core.model import JobSpec, TaskState

from .records import JobRecord, JobState
from .task_runner import Task

__all__ = ["Job", "StateConflict"]

_ACTIVE_STATES = (TaskState.PREPARING, TaskState.RUNNING)


class StateConflict(ComputeError):
    """The pool's, job's or task's state forbids the operation (Batch: 409).

    Attributes:
        code: Batch's error code (``JobCompleted``, ``JobBeingTerminated``,
            ``JobBeingDeleted``, ``PoolBeingDeleted``, ``TaskCompleted``).
    """

    def __init__(self, message: str, *, code: str) -> None:
        super().__init__(message)
        self.code = code


def _now() -> datetime:
    return datetime.now(timezone.utc)


class Job:
    """A job and its tasks (guarded by the engine's lock)."""

    def __init__(self, spec: JobSpec) -> None:
        self.spec = spec
        self.tasks: dict[str, Task] = {}
        self.pending: list[Task] = []  # active and not yet placed, in order
        self.deleted = False
        self.state = JobState.ACTIVE
        self.created = self.state_changed = _now()
        self.previous_state: str | None = None
        self.previous_state_changed: datetime | None = None
        self.end_time: datetime | None = None
        self.terminate_reason: str | None = None

    def move(self, state: str, reason: str | None = None) -> None:
        self.previous_state, self.previous_state_changed = self.state, self.state_changed
        self.state, self.state_changed = state, _now()
        if state == JobState.COMPLETED:
            self.end_time, self.terminate_reason = self.state_changed, reason

    def placed(self) -> list[Task]:
        return [t for t in self.tasks.values() if t.node is not None and t.state in _ACTIVE_STATES]

    def refuse_changes(self, what: str) -> None:
        """Raise StateConflict unless the job is active."""
        codes = {JobState.COMPLETED: "JobCompleted", JobState.TERMINATING: "JobBeingTerminated",
                 JobState.DELETING: "JobBeingDeleted"}
        if self.state in codes:
            raise StateConflict(f"cannot {what}: job {self.spec.id} is {self.state}",
                                code=codes[self.state])

    def record(self) -> JobRecord:
        return JobRecord(spec=self.spec, state=self.state, created=self.created,
                         state_changed=self.state_changed, previous_state=self.previous_state,
                         previous_state_changed=self.previous_state_changed,
                         end_time=self.end_time, terminate_reason=self.terminate_reason)
