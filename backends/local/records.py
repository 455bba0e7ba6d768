"""Read-only snapshots of the local engine's pools, nodes, jobs, tasks and
files, with the Batch bookkeeping the core ``*Info`` classes leave out
(creation and state-transition times, StartTask runs, job states).

The engine hands these out (taken under its lock); the Batch REST emulator
renders them as Batch JSON. The core ``Compute`` interface does not need
them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from topwords.core.model import (
    FailureInfo, JobSpec, NodeInfo, PoolInfo, TaskInfo, TaskSpec, TaskState,
)

__all__ = ["FileEntry", "JobRecord", "JobState", "NodeErrorRecord", "NodeRecord", "PoolRecord",
           "StartTaskRun", "TaskRecord"]


class JobState:
    """Batch job states the engine uses (plain strings, as Batch spells them)."""

    ACTIVE = "active"
    TERMINATING = "terminating"
    COMPLETED = "completed"
    DELETING = "deleting"


@dataclass(frozen=True, kw_only=True)
class PoolRecord:
    """A pool: its info plus when it was created."""

    info: PoolInfo
    created: datetime


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
class JobRecord:
    """A job: its spec (``terminate_when_tasks_complete`` as it is now),
    state and state history."""

    spec: JobSpec
    state: str
    created: datetime
    state_changed: datetime
    previous_state: str | None = None
    previous_state_changed: datetime | None = None
    end_time: datetime | None = None
    terminate_reason: str | None = None


@dataclass(frozen=True, kw_only=True)
class TaskRecord:
    """A task: its spec, its info and state history.

    Attributes:
        task_dir: the task directory below its node's root, ``/``-separated
            (None until placed).
        container_id: the container of a container task's last run.
    """

    spec: TaskSpec
    info: TaskInfo
    job_id: str
    pool_id: str
    created: datetime
    state_changed: datetime
    previous_state: TaskState | None = None
    previous_state_changed: datetime | None = None
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
