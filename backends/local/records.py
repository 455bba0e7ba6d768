"""Read-only snapshots of the local engine's pools, nodes, jobs, tasks and
files, with the Batch bookkeeping the core ``*Info`` classes leave out
(creation and state-transition times, StartTask runs, job states).

The engine hands these out (taken under its lock); the Batch REST emulator
renders them as Batch JSON. The core ``Compute`` interface does not need
them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from topwords.core.model import (
    FailureInfo, JobSpec, NodeInfo, PoolInfo, TaskInfo, TaskSpec, TaskState,
)

__all__ = ["FileEntry", "JobRecord", "JobState", "NodeErrorRecord", "NodeRecord", "PoolRecord",
           "StartTaskRun", "StateHistory", "StateStamps", "TaskRecord", "utc_now"]


def utc_now() -> datetime:
    """The engine's clock: an aware UTC time, as Batch reports its times."""
    return datetime.now(timezone.utc)


@dataclass(frozen=True, kw_only=True)
class StateStamps:
    """When a resource was created and last changed state, and the state it
    left then (Batch's ``creationTime``, ``stateTransitionTime``,
    ``previousState``, ``previousStateTransitionTime``)."""

    created: datetime
    state_changed: datetime
    previous_state: Any = None
    previous_state_changed: datetime | None = None


@dataclass(eq=False, kw_only=True)
class StateHistory:
    """A live resource's state and its :class:`StateStamps` (the engine's
    jobs and tasks inherit it; guarded by the engine's lock)."""

    state: Any
    created: datetime = field(default_factory=utc_now)
    state_changed: datetime = None  # type: ignore[assignment]  # the creation time
    previous_state: Any = None
    previous_state_changed: datetime | None = None

    def __post_init__(self) -> None:
        if self.state_changed is None:
            self.state_changed = self.created

    def move(self, state: Any) -> None:
        """Enter ``state``, remembering the one left and when (nothing
        changes if it is the state already)."""
        if state != self.state:
            self.previous_state, self.previous_state_changed = self.state, self.state_changed
            self.state, self.state_changed = state, utc_now()

    def stamps(self) -> dict[str, Any]:
        """The fields of :class:`StateStamps` as they are now."""
        return {"created": self.created, "state_changed": self.state_changed,
                "previous_state": self.previous_state,
                "previous_state_changed": self.previous_state_changed}


class JobState:
    """Batch job states the engine uses (plain strings, as Batch spells them)."""

    ACTIVE = "active"
    TERMINATING = "terminating"
    COMPLETED = "completed"
    DELETING = "deleting"


@dataclass(frozen=True, kw_only=True)
class PoolRecord:
    """A pool: its info, when it was created, and its allocated nodes of
    each kind (started, not lost; None: not counted)."""

    info: PoolInfo
    created: datetime
    current_dedicated: int | None = None
    current_spot: int | None = None
    autoscale: object = None  # the pool's AutoScaleState (see autoscaler); None: off


@dataclass(frozen=True, kw_only=True)
class StartTaskRun:
    """How a node's StartTask went (``state``: ``running`` or ``completed``)."""

    state: str
    start_time: datetime
    end_time: datetime | None = None
    exit_code: int | None = None
    retry_count: int = 0
    failure: FailureInfo | None = None


@dataclass(frozen=True, kw_only=True)
class NodeErrorRecord:
    """One of a node's ``errors`` (what made it unusable)."""

    code: str
    message: str
    details: tuple[tuple[str, str], ...] = ()

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


@dataclass(frozen=True, kw_only=True)
class NodeRecord:
    """A node: its info, when it was allocated, what it has run."""

    info: NodeInfo
    allocated: datetime
    running_tasks: int = 0
    tasks_run: int = 0
    tasks_succeeded: int = 0
    start_task: StartTaskRun | None = None
    dedicated: bool = True
    errors: tuple[NodeErrorRecord, ...] = ()


@dataclass(frozen=True, kw_only=True)
class JobRecord(StateStamps):
    """A job: its spec (``terminate_when_tasks_complete`` as it is now),
    state and state history (``previous_state`` a :class:`JobState`)."""

    spec: JobSpec
    state: str
    end_time: datetime | None = None
    terminate_reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class TaskRecord(StateStamps):
    """A task: its spec, its info and state history (``previous_state`` a
    ``TaskState``).

    Attributes:
        task_dir: the task directory below its node's root, ``/``-separated
            (None until placed).
        container_id: the container of a container task's last run.
    """

    spec: TaskSpec
    info: TaskInfo
    job_id: str
    pool_id: str
    task_dir: str | None = None
    container_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class FileEntry:
    """A file or directory of a node or task directory.

    Attributes:
        name: path relative to the listed directory, ``/``-separated.
        mode: permission bits (``st_mode & 0o7777``).
    """

    name: str
    is_directory: bool
    size: int
    created: datetime
    modified: datetime
    mode: int
