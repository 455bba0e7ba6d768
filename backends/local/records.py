"""Snapshots of the local engine's pools, nodes, jobs, tasks, job schedules
and files, with
the Batch bookkeeping the core ``*Info`` classes leave out (creation,
last-change and state-transition times, StartTask runs, job states) and the
Batch properties a front end keeps with a resource without the engine
acting on them (``extras``); and the live side of that bookkeeping
(:class:`Tracked`, :class:`StateHistory`, the engine's clock).

The engine hands the snapshots out (taken under its lock); the Batch REST
emulator renders them as Batch JSON (see ``batch_engine``). The core
``Compute`` interface does not need them. A record is all there is of its
resource: when the resource is deleted, nothing of it is kept anywhere.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Mapping

from topwords.core.model import (
    FailureInfo, JobSpec, NodeInfo, PoolInfo, TaskInfo, TaskSpec, TaskState,
)

__all__ = ["FileEntry", "JobRecord", "JobScheduleRecord", "JobState", "JobTemplate", "NodeErrorRecord", "NodeRecord", "PoolRecord",
           "ScheduleConfig", "StartTaskRun", "StateHistory", "StateStamps", "TaskRecord", "Tracked", "utc_now"]

_clock = threading.Lock()
_last = datetime.min.replace(tzinfo=timezone.utc)
_MISSING = object()


def utc_now() -> datetime:
    """The engine's clock: an aware UTC time, as Batch reports its times,
    later than every time it gave before (two changes in the same
    microsecond get different times, so an ETag made from one changes)."""
    global _last
    with _clock:
        now = datetime.now(timezone.utc)
        _last = now if now > _last else _last + timedelta(microseconds=1)
        return _last


class Tracked:
    """Mixin of a live resource: assigning a new value (one that differs
    from the current) to an attribute named in ``TRACKED`` sets
    ``modified`` to :func:`utc_now`, and so does the first tracked
    assignment. Values are replaced, not changed in place (a new dict for
    ``extras``), for ``modified`` to follow every change."""

    TRACKED: frozenset[str] = frozenset()
    modified: datetime

    def __setattr__(self, name: str, value: object) -> None:
        if name in self.TRACKED:
            old = self.__dict__.get(name, _MISSING)
            if old is _MISSING or old is not value and old != value \
                    or "modified" not in self.__dict__:
                object.__setattr__(self, "modified", utc_now())
        object.__setattr__(self, name, value)


@dataclass(frozen=True, kw_only=True)
class StateStamps:
    """When a resource was created, last changed (any of its data:
    ``modified``, Batch's ``lastModified`` and ``ETag``) and last changed
    state, and the state it left then (Batch's ``creationTime``,
    ``stateTransitionTime``, ``previousState``,
    ``previousStateTransitionTime``)."""

    created: datetime
    modified: datetime
    state_changed: datetime
    previous_state: Any = None
    previous_state_changed: datetime | None = None


@dataclass(eq=False, kw_only=True)
class StateHistory(Tracked):
    """A live resource's state and its :class:`StateStamps` (the engine's
    jobs and tasks inherit it; guarded by the engine's lock). Subclasses
    add what else counts as a change to ``TRACKED``."""

    TRACKED = frozenset({"state"})

    state: Any
    created: datetime = field(default_factory=utc_now)
    state_changed: datetime = None  # type: ignore[assignment]  # the creation time
    previous_state: Any = None
    previous_state_changed: datetime | None = None

    def __post_init__(self) -> None:
        if self.state_changed is None:
            self.state_changed = self.created
        object.__setattr__(self, "modified", self.created)  # created is its first change

    def move(self, state: Any) -> None:
        """Enter ``state``, remembering the one left and when (nothing
        changes if it is the state already)."""
        if state != self.state:
            self.previous_state, self.previous_state_changed = self.state, self.state_changed
            self.state = state
            self.state_changed = self.modified

    def stamps(self) -> dict[str, Any]:
        """The fields of :class:`StateStamps` as they are now."""
        return {"created": self.created, "modified": self.modified,
                "state_changed": self.state_changed, "previous_state": self.previous_state,
                "previous_state_changed": self.previous_state_changed}


class JobState:
    """Batch job states the engine uses (plain strings, as Batch spells them)."""

    ACTIVE = "active"
    DISABLING = "disabling"
    DISABLED = "disabled"
    ENABLING = "enabling"
    TERMINATING = "terminating"
    COMPLETED = "completed"
    DELETING = "deleting"


@dataclass(frozen=True, kw_only=True)
class PoolRecord:
    """A pool: its info, when it was created and last changed, its allocated
    nodes of each kind (started, not lost; None: not counted), and its extras.

    Attributes:
        modified: the last change of the pool's own data (its spec, extras,
            allocation or deleting state; node changes do not count, as in
            Batch).
        extras: properties of the create or update bodies the engine keeps
            as given.
    """

    info: PoolInfo
    created: datetime
    modified: datetime
    current_dedicated: int | None = None
    current_spot: int | None = None
    autoscale: object = None  # the pool's AutoScaleState (see autoscaler); None: off
    extras: Mapping[str, Any] = field(default_factory=dict)


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
    state_changed: datetime | None = None  # when its state last changed (None: allocated)


@dataclass(frozen=True, kw_only=True)
class JobRecord(StateStamps):
    """A job: its spec (``terminate_when_tasks_complete`` as it is now),
    state and state history (``previous_state`` a :class:`JobState`), and
    extras (properties of its create and update bodies kept as given)."""

    spec: JobSpec
    state: str
    end_time: datetime | None = None
    terminate_reason: str | None = None
    extras: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class TaskRecord(StateStamps):
    """A task: its spec, its info and state history (``previous_state`` a
    ``TaskState``).

    Attributes:
        task_dir: the task directory below its node's root, ``/``-separated
            (None until placed).
        container_id: the container of a container task's last run.
        extras: properties of its create body kept as given.
    """

    spec: TaskSpec
    info: TaskInfo
    job_id: str
    pool_id: str
    task_dir: str | None = None
    container_id: str | None = None
    extras: Mapping[str, Any] = field(default_factory=dict)


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


@dataclass(frozen=True)
class ScheduleConfig:
    """When a job schedule makes jobs (None: not given)."""

    do_not_run_until: datetime | None = None
    do_not_run_after: datetime | None = None
    start_window: timedelta | None = None  # None: no limit
    recurrence: timedelta | None = None  # None: one job only


@dataclass(frozen=True, kw_only=True)
class JobTemplate:
    """What each job a schedule makes is: ``spec`` with the job's own id
    (the template's is the schedule's), and ``extras`` kept in its record."""

    spec: JobSpec
    extras: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class JobScheduleRecord(StateStamps):
    """A job schedule: when it makes jobs (``config``), what they are
    (``template``), its metadata and extras (properties of its create and
    update bodies kept as given), its state and state history, when its
    next job is due (None: no more), the jobs it made (oldest first) and
    when it completed."""

    id: str
    config: ScheduleConfig
    template: JobTemplate
    metadata: Mapping[str, str]
    extras: Mapping[str, Any]
    state: str
    next_run: datetime | None = None
    jobs: tuple[str, ...] = ()
    end_time: datetime | None = None

    @property
    def recent_job(self) -> str | None:
        return self.jobs[-1] if self.jobs else None
