"""The Batch data model shared by every backend.

These are plain frozen dataclasses with Batch's vocabulary (pool, StartTask,
job, task, resource file, output file, constraints). Backends map them onto
their engine: the Azure backend onto azure-batch models, the local backend
onto Docker containers, and a REST front end onto Batch JSON. Durations are
seconds (float); times are ``datetime`` in UTC.
"""

from __future__ import annotations

import enum
import itertools
from dataclasses import dataclass, field
from datetime import datetime
from typing import Mapping

from .containers import ContainerConfiguration, ContainerSettings
from .errors import ConfigError

__all__ = [
    "FailureInfo",
    "JobSpec",
    "NodeInfo",
    "NodeState",
    "OutputFile",
    "PoolInfo",
    "PoolSpec",
    "ResourceFile",
    "StartTask",
    "TaskConstraints",
    "TaskCounts",
    "TaskInfo",
    "TaskResult",
    "TaskSpec",
    "TaskState",
    "UploadCondition",
    "pattern_parts",
]


class TaskState(str, enum.Enum):
    """Batch's task states; every backend maps its native states onto these."""

    ACTIVE = "active"
    PREPARING = "preparing"
    RUNNING = "running"
    COMPLETED = "completed"


class TaskResult(str, enum.Enum):
    """How a completed task ended."""

    SUCCESS = "success"
    FAILURE = "failure"


class NodeState(str, enum.Enum):
    """The node states the workflow cares about (a subset of Batch's)."""

    CREATING = "creating"
    STARTING = "starting"
    WAITING_FOR_START_TASK = "waitingforstarttask"
    START_TASK_FAILED = "starttaskfailed"
    IDLE = "idle"
    RUNNING = "running"
    UNKNOWN = "unknown"  # lost contact: no new tasks until it answers again
    UNUSABLE = "unusable"
    LEAVING_POOL = "leavingpool"  # a resize is removing it
    REBOOTING = "rebooting"  # its agent (container or process) restarts
    REIMAGING = "reimaging"  # ... on a fresh disk


class UploadCondition(str, enum.Enum):
    """When an output file is uploaded (Batch ``uploadCondition``)."""

    TASK_SUCCESS = "tasksuccess"
    TASK_FAILURE = "taskfailure"
    TASK_COMPLETION = "taskcompletion"


def _check_relative(path: str, what: str) -> None:
    parts = path.replace("\\", "/").split("/")
    if not path or path.startswith("/") or ".." in parts:
        raise ConfigError(f"{what} must be a relative path inside the task "
                          f"directory, got {path!r}")


@dataclass(frozen=True, kw_only=True)
class ResourceFile:
    """A file Batch downloads onto the node before a task runs.

    Attributes:
        http_url: where to GET it from (a blob URL with a read SAS).
        file_path: where to put it, relative to the task's working directory.
        file_mode: optional octal mode string such as ``"0755"``.
    """

    http_url: str = field(repr=False)  # carries a SAS token
    file_path: str
    file_mode: str | None = None

    def __post_init__(self) -> None:
        _check_relative(self.file_path, "ResourceFile.file_path")


def pattern_parts(pattern: str) -> list[str]:
    """An output file pattern as components relative to the task directory
    (patterns are relative to its ``wd``; one leading ``..`` reaches the
    task directory itself, as in ``../std*.txt``).

    Raises:
        ConfigError: an absolute pattern, or ``..`` that leaves the task
            directory (or appears after a name).
    """
    parts = [p for p in pattern.replace("\\", "/").split("/") if p not in ("", ".")]
    if not pattern or pattern.startswith("/") or not parts:
        raise ConfigError(f"OutputFile.file_pattern must be a relative path inside the task "
                          f"directory, got {pattern!r}")
    ups = len(parts) - len(list(itertools.dropwhile(lambda p: p == "..", parts)))
    if ups > 1 or ".." in parts[ups:] or ups == len(parts):
        raise ConfigError(f"OutputFile.file_pattern {pattern!r} leaves the task directory "
                          "(only one leading '..' is allowed, from wd to the task directory)")
    return parts[1:] if ups else ["wd", *parts]


@dataclass(frozen=True, kw_only=True)
class OutputFile:
    """Files Batch uploads after a task ends (Batch ``OutputFile``).

    Attributes:
        file_pattern: glob relative to the task's working directory
            (``"*.out"``, ``"**/*.log"``, ``"../std*.txt"``); it may not
            leave the task directory.
        container_url: the destination container URL with a write SAS.
        path: blob name (single file) or blob prefix (pattern with wildcards).
        upload_condition: when to upload.
    """

    file_pattern: str
    container_url: str = field(repr=False)
    path: str = ""
    upload_condition: UploadCondition = UploadCondition.TASK_COMPLETION

    def __post_init__(self) -> None:
        pattern_parts(self.file_pattern)


@dataclass(frozen=True, kw_only=True)
class TaskConstraints:
    """Retry and time limits of a task.

    Attributes:
        max_task_retry_count: re-runs after a non-zero exit (0 = run once).
        max_wall_clock_time: seconds from start to kill; None = unlimited.
    """

    max_task_retry_count: int = 0
    max_wall_clock_time: float | None = None

    def __post_init__(self) -> None:
        if self.max_task_retry_count < 0:
            raise ConfigError("max_task_retry_count must be >= 0")
        if self.max_wall_clock_time is not None and self.max_wall_clock_time <= 0:
            raise ConfigError("max_wall_clock_time must be > 0 seconds")


@dataclass(frozen=True, kw_only=True)
class StartTask:
    """The command every node runs once as it joins a pool.

    Attributes:
        command_line: run without a shell (wrap in ``/bin/bash -c`` for one).
        resource_files: downloaded into the node's startup directory.
        environment: extra environment variables.
        wait_for_success: the node takes no tasks until the StartTask exits 0;
            a failure makes the node ``starttaskfailed``.
        run_elevated: run as an admin user (root).
        user_scope: ``pool`` (the pool's shared auto-user, Batch's default
            for a StartTask) or ``task``.
        max_task_retry_count: re-runs after a non-zero exit.
        container_settings: run it in a container of that image (the pool
            needs a ``container_configuration``).
    """

    command_line: str
    resource_files: tuple[ResourceFile, ...] = ()
    environment: Mapping[str, str] = field(default_factory=dict, repr=False)
    wait_for_success: bool = True
    run_elevated: bool = True
    user_scope: str = "pool"
    max_task_retry_count: int = 0
    container_settings: ContainerSettings | None = None

    def __post_init__(self) -> None:
        if self.container_settings is not None:
            self.container_settings.check_user(self.run_elevated, "the StartTask")


@dataclass(frozen=True, kw_only=True)
class PoolSpec:
    """A pool of compute nodes.

    Attributes:
        id: pool id (letters, digits, ``-`` and ``_``, at most 64).
        node_count: dedicated nodes (a pool may have none, as on Batch:
            created empty or resized to nothing; a run needs one, see
            ``PoolSettings``).
        vm_size: VM size (ignored by the local backend).
        image: node image (a Docker image locally; on Azure a marketplace
            image ``publisher:offer:sku[:version]``; ``None`` = let the
            backend choose).
        spot_node_count: spot/low-priority nodes on top of ``node_count``
            (the local backend runs them as ordinary nodes).
        task_slots_per_node: tasks that may run at once on one node.
        start_task: optional StartTask.
        metadata: name/value tags (e.g. the run id) kept with the pool.
        container_configuration: its nodes run container tasks (None: tasks
            run on the node only).
    """

    id: str
    node_count: int = 1
    vm_size: str = "standard_d2s_v3"
    image: str | None = None
    spot_node_count: int = 0
    task_slots_per_node: int = 1
    start_task: StartTask | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)
    container_configuration: ContainerConfiguration | None = None

    def __post_init__(self) -> None:
        _check_id(self.id, "pool id")
        if self.node_count < 0 or self.spot_node_count < 0:
            raise ConfigError("node counts must be >= 0")
        if self.task_slots_per_node < 1:
            raise ConfigError("task_slots_per_node must be >= 1")


@dataclass(frozen=True, kw_only=True)
class PoolInfo:
    """What a backend reports about an existing pool.

    Attributes:
        spec: the pool as it was created (resource file URLs may be omitted;
            ``node_count``/``spot_node_count`` are the targets).
        state: ``active`` or ``deleting``.
        allocation_state: ``steady``, ``resizing`` or ``stopping``.
        current_node_count: nodes allocated now (dedicated + spot).
        resize_errors: ``"Code: message"`` of each allocation error.
    """

    spec: PoolSpec
    state: str = "active"
    allocation_state: str = "steady"
    current_node_count: int = 0
    resize_errors: tuple[str, ...] = ()

    def compatible_with(self, wanted: PoolSpec) -> bool:
        """Whether tasks meant for ``wanted`` can run on this pool: same VM
        size, image (when ``wanted`` names one), slots and StartTask command."""
        have = self.spec
        return (self.state == "active"
                and have.vm_size.lower() == wanted.vm_size.lower()
                and (wanted.image is None or _same_image(have.image, wanted.image))
                and have.task_slots_per_node == wanted.task_slots_per_node
                and _start_command(have) == _start_command(wanted)
                and _runs_containers_of(have, wanted))


def _runs_containers_of(have: PoolSpec, wanted: PoolSpec) -> bool:
    """A pool for container tasks fits if it prefetches at least their images."""
    if wanted.container_configuration is None:
        return True
    if have.container_configuration is None:
        return False
    return set(wanted.container_configuration.image_names) <= set(
        have.container_configuration.image_names)


def _same_image(have: str | None, wanted: str) -> bool:
    """Image names compare without case; ``a:b:c`` means ``a:b:c:latest``."""
    def norm(image: str | None) -> str:
        image = (image or "").lower()
        return f"{image}:latest" if image.count(":") == 2 else image
    return norm(have) == norm(wanted)


def _start_command(spec: PoolSpec) -> str | None:
    return spec.start_task.command_line if spec.start_task else None


@dataclass(frozen=True, kw_only=True)
class JobSpec:
    """A job: a set of tasks bound to a pool.

    Attributes:
        uses_task_dependencies: tasks may have ``depends_on``.
        terminate_when_tasks_complete: the job ends once every task has
            completed (Batch ``onAllTasksComplete=terminatejob``).
        metadata: name/value tags kept with the job.
        common_environment: environment variables of every task of the job,
            under the task's own (Batch ``commonEnvironmentSettings``).
    """

    id: str
    pool_id: str
    uses_task_dependencies: bool = False
    terminate_when_tasks_complete: bool = False
    metadata: Mapping[str, str] = field(default_factory=dict)
    common_environment: Mapping[str, str] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        _check_id(self.id, "job id")


@dataclass(frozen=True, kw_only=True)
class TaskSpec:
    """One unit of work.

    Attributes:
        id: unique within the job.
        command_line: run without a shell, in the task's working directory.
        resource_files: downloaded into the working directory first.
        output_files: uploaded after the task ends.
        environment: extra environment variables (may hold SAS URLs).
        constraints: retries and wall-clock limit.
        depends_on: ids of tasks that must succeed first (the job must have
            ``uses_task_dependencies``).
        run_elevated: run as an admin user (root) instead of a non-admin
            auto-user.
        user_scope: ``task`` (an auto-user of its own) or ``pool`` (one
            auto-user shared by the pool's tasks).
        container_settings: run it in a container of that image (the pool
            needs a ``container_configuration``).
    """

    id: str
    command_line: str
    resource_files: tuple[ResourceFile, ...] = ()
    output_files: tuple[OutputFile, ...] = ()
    environment: Mapping[str, str] = field(default_factory=dict, repr=False)
    constraints: TaskConstraints = TaskConstraints()
    depends_on: tuple[str, ...] = ()
    run_elevated: bool = False
    user_scope: str = "task"
    container_settings: ContainerSettings | None = None

    def __post_init__(self) -> None:
        _check_id(self.id, "task id")
        if self.user_scope not in ("task", "pool"):
            raise ConfigError(f"user_scope must be 'task' or 'pool', got {self.user_scope!r}")
        if self.container_settings is not None:
            self.container_settings.check_user(self.run_elevated, f"task {self.id}")


@dataclass(frozen=True, kw_only=True)
class FailureInfo:
    """Why a task failed before or instead of exiting 0."""

    category: str  # "usererror" | "servererror"
    code: str      # e.g. "ResourceDownloadError", "MaxWallClockTimeExpiry"
    message: str


@dataclass(frozen=True, kw_only=True)
class TaskInfo:
    """A snapshot of a task's state and, once completed, its result.

    ``depends_on``: the tasks it waits for; if one of them fails, it is
    *blocked*: it stays active and never runs (Batch's default).
    ``retry_count``: re-runs after non-zero exits; ``requeue_count``: times
    it was put back in the queue because its node was lost (not a retry).
    """

    id: str
    state: TaskState
    depends_on: tuple[str, ...] = ()
    exit_code: int | None = None
    result: TaskResult | None = None
    failure: FailureInfo | None = None
    retry_count: int = 0
    requeue_count: int = 0
    node_id: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None

    @property
    def succeeded(self) -> bool:
        return self.result is TaskResult.SUCCESS


@dataclass(frozen=True, kw_only=True)
class TaskCounts:
    """Tasks of a job per state, as Batch's ``taskcounts``."""

    active: int = 0
    running: int = 0  # preparing + running
    completed: int = 0
    succeeded: int = 0
    failed: int = 0

    @classmethod
    def of(cls, tasks: "list[TaskInfo] | tuple[TaskInfo, ...]") -> "TaskCounts":
        states = [t.state for t in tasks]
        done = [t for t in tasks if t.state is TaskState.COMPLETED]
        return cls(
            active=states.count(TaskState.ACTIVE),
            running=states.count(TaskState.RUNNING) + states.count(TaskState.PREPARING),
            completed=len(done),
            succeeded=sum(t.succeeded for t in done),
            failed=sum(not t.succeeded for t in done),
        )

    @property
    def total(self) -> int:
        return self.active + self.running + self.completed


@dataclass(frozen=True, kw_only=True)
class NodeInfo:
    """A compute node and, if it ran one, its StartTask's outcome;
    ``errors``: ``"Code: message"`` of each error that made it unusable
    (Batch's node ``errors``, e.g. a container image it could not get)."""

    id: str
    state: NodeState
    start_task_exit_code: int | None = None
    start_task_stderr: str = ""
    errors: tuple[str, ...] = ()


_ID_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")


def _check_id(value: str, what: str) -> None:
    if not value or len(value) > 64 or not set(value) <= _ID_CHARS:
        raise ConfigError(f"{what} must be 1-64 letters, digits, '-' or '_', got {value!r}")
