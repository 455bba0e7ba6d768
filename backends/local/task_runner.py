"""A task's life on a node, as a Batch node agent lives it.

preparing: make the task directory, fetch the resource files from their SAS
URLs (a failure completes the task with a ``usererror``, not retried);
running: run the command line without a shell in the working directory with
the ``AZ_BATCH_*`` variables, stdout/stderr into ``stdout.txt`` and
``stderr.txt``; re-run after a non-zero exit up to ``max_task_retry_count``
times; kill it when ``max_wall_clock_time`` (counted from the first start)
passes; then upload output files per their condition and complete.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Mapping

from topwords.core.errors import NodeError
from topwords.core.model import (
    FailureInfo, NodeState, TaskInfo, TaskResult, TaskSpec, TaskState,
)

from topwords.core import nofollow
from .container_run import IMAGE_NOT_FOUND, ContainerPoolNeeded, ImageMissing, container_kwargs
from .node_pool import Node
from .records import StateHistory, TaskRecord
from .transfer import TransferError, download_resource_file, upload_output_files

__all__ = ["Task", "TaskRunner", "ended_by_user"]


@dataclass(eq=False)
class Task(StateHistory):
    """A task's mutable state (guarded by the engine's lock); ``modified``
    follows every change of it (see ``records.Tracked``)."""

    TRACKED = StateHistory.TRACKED | {"spec", "node", "exit_code", "result", "failure", "retry_count",
                                      "requeue_count", "start_time", "end_time", "extras"}

    spec: TaskSpec
    job_id: str
    state: TaskState = field(default=TaskState.ACTIVE, kw_only=True)
    node: Node | None = None
    exit_code: int | None = None
    result: TaskResult | None = None
    failure: FailureInfo | None = None
    retry_count: int = 0
    requeue_count: int = 0
    start_time: datetime | None = None
    end_time: datetime | None = None
    process: int | str | None = None  # the running command's handle on its node
    container_id: str | None = None  # a container task's container (its last run)
    killed: bool = field(default=False)
    requeue_on_kill: bool = False  # its job was disabled with requeue: back to the queue
    exit_conditions: Any = None  # its ExitConditions (see exit_conditions); None: none
    satisfies: bool | None = None  # its completion lets dependents run (None: if it succeeded)
    extras: Mapping[str, Any] = field(default_factory=dict)

    def place(self, node: Node) -> None:
        self.node = node
        self.move(TaskState.PREPARING)
        node.running.add(self)

    @property
    def dependents_may_run(self) -> bool:
        """Completed, and its dependents may run (a success, or its exit
        conditions' ``dependencyAction`` said ``satisfy``)."""
        if self.state is not TaskState.COMPLETED:
            return False
        return self.result is TaskResult.SUCCESS if self.satisfies is None else self.satisfies

    def info(self) -> TaskInfo:
        return TaskInfo(id=self.spec.id, state=self.state, depends_on=self.spec.depends_on,
                        exit_code=self.exit_code,
                        result=self.result, failure=self.failure,
                        retry_count=self.retry_count, requeue_count=self.requeue_count,
                        node_id=self.node.id if self.node else None,
                        start_time=self.start_time, end_time=self.end_time)

    def record(self, pool_id: str) -> TaskRecord:
        task_dir = None
        if self.node is not None:
            task_dir = "/".join(self.node.layout.task(self.job_id, self.spec.id).rel)
        return TaskRecord(spec=self.spec, info=self.info(), job_id=self.job_id,
                          pool_id=self.node.layout.pool_id if self.node else pool_id,
                          **self.stamps(), task_dir=task_dir, container_id=self.container_id,
                          extras=self.extras)


def ended_by_user() -> FailureInfo:
    """The failure of a task that was terminated (by a user or its job)."""
    return FailureInfo(category="usererror", code="TaskEnded", message="the task was terminated")


class _NodeLost(Exception):
    """The task's node was lost while it ran (requeue it: not a retry)."""


class _Requeued(_NodeLost):
    """The task was killed to go back to its job's queue (its job was
    disabled with ``requeue``)."""


class TaskRunner:
    """Runs placed tasks (in executor threads) and reports completions.

    Args:
        lock: the engine's lock.
        on_done: called under the lock with the node and the task when a
            task completes.
        on_requeue: called under the lock with a task whose node was lost,
            taken off it; returns False if the task must complete instead.
        on_lost: called (not under the lock) with ``(None, node, reason)``
            when a command's end shows that its node is gone.
    """

    def __init__(self, lock: threading.Condition, on_done: Callable[[Node, Task], None],
                 on_requeue: Callable[[Task], bool] = lambda task: False,
                 on_lost: Callable[[object, Node, str], None] = lambda *a: None) -> None:
        self._lock, self._on_done = lock, on_done
        self._on_requeue, self._on_lost = on_requeue, on_lost

    def run(self, task: Task, node: Node) -> None:
        try:
            result, failure, exit_code = self._attempt(task, node)
        except _NodeLost as lost:
            if self._requeue(task, node):
                return
            result, exit_code = TaskResult.FAILURE, None
            failure = FailureInfo(category="servererror", code="NodeError",
                                  message=f"its node was lost: {lost}") \
                if not task.killed else ended_by_user()
        except Exception as exc:  # never leave a task (and its job) running forever
            result, exit_code = TaskResult.FAILURE, None
            failure = FailureInfo(category="servererror", code="InternalError",
                                  message=f"the node agent failed: {type(exc).__name__}: {exc}")
        with self._lock:
            task.move(TaskState.COMPLETED)
            task.end_time = task.state_changed
            task.result, task.failure, task.exit_code = result, failure, exit_code
            task.process = None
            node.running.discard(task)
            self._on_done(node, task)

    def _attempt(self, task: Task, node: Node):
        layout, dirs = node.layout, node.layout.task(task.job_id, task.spec.id)
        user = node.user_for(task.spec)
        result, failure, exit_code = TaskResult.FAILURE, None, None
        try:
            layout.prepare(dirs, user)
            _fetch_all(task.spec.resource_files, layout.host_root, dirs.wd, user.owner)
        except (TransferError, OSError) as exc:
            failure = FailureInfo(category="usererror", code="ResourceFileDownloadError",
                                  message=str(exc))
            _append(layout.host_root, dirs.file("stderr.txt"), f"{exc}\n")
        else:
            exit_code, failure = self._execute(task, node, user)
            result = TaskResult.SUCCESS if failure is None else TaskResult.FAILURE
            upload_failure = self._upload_outputs(task, node, result)
            if failure is None and upload_failure is not None:
                result, failure = TaskResult.FAILURE, upload_failure
        return result, failure, exit_code

    def _execute(self, task: Task, node: Node, user) -> tuple[int | None, FailureInfo | None]:
        spec, dirs = task.spec, node.layout.task(task.job_id, task.spec.id)
        if task.killed:  # terminated while its resource files came in
            _raise_if_requeued(task)
            return None, ended_by_user()
        limit = spec.constraints.max_wall_clock_time
        deadline = None if limit is None else time.monotonic() + limit
        with self._lock:
            task.move(TaskState.RUNNING)
            task.start_time = task.state_changed
        argv = shlex.split(spec.command_line)
        try:
            container = container_kwargs(node, spec, dirs, task.job_id)
        except ContainerPoolNeeded as exc:
            return None, FailureInfo(category="usererror", code="ContainerPoolNeeded",
                                     message=str(exc))
        with _output_fds(node.layout.host_root, dirs) as (out, err):
            while True:
                env = {**node.layout.task_env(task.job_id, spec.id, task.retry_count),
                       **spec.environment}
                remaining = None if deadline is None else max(0.001, deadline - time.monotonic())
                try:
                    outcome = node.handle.run(
                        argv, env=env, workdir=str(dirs.node_wd), stdout=out, stderr=err,
                        user=user, timeout=remaining,
                        on_start=lambda handle: self._started(task, handle), **container)
                except ImageMissing as exc:
                    _append(node.layout.host_root, dirs.file("stderr.txt"), f"{exc}\n")
                    return None, FailureInfo(category="usererror", code=IMAGE_NOT_FOUND,
                                             message=str(exc))
                except NodeError as exc:
                    self._check_node(node)
                    return None, FailureInfo(category="servererror", code="NodeError",
                                             message=str(exc))
                if outcome.exit_code not in (0, None) and not task.killed:
                    self._check_node(node)  # a command killed with its node: 137
                if outcome.timed_out:
                    return None, FailureInfo(
                        category="usererror", code="MaxWallClockTimeExpiry",
                        message=f"the task ran longer than its {limit:g} s wall-clock limit")
                if task.killed:
                    _raise_if_requeued(task)
                    return outcome.exit_code, ended_by_user()
                if outcome.exit_code == 0:
                    return 0, None
                if task.retry_count >= task.spec.constraints.max_task_retry_count:
                    return outcome.exit_code, FailureInfo(
                        category="usererror", code="FailureExitCode",
                        message=f"the task exited with code {outcome.exit_code}")
                with self._lock:
                    task.retry_count += 1

    def _check_node(self, node: Node) -> None:
        """Raise _NodeLost if the node is lost (its heartbeat said so, or it
        does not answer now): the command's end was the node's."""
        with self._lock:
            lost = node.state is NodeState.UNUSABLE or node.evicted
        if not lost:
            try:
                node.handle.ping(timeout=2.0)
                return
            except NodeError as exc:
                self._on_lost(None, node, f"its agent is gone ({exc})")
        raise _NodeLost(node.lost_reason or "it stopped answering")

    def _requeue(self, task: Task, node: Node) -> bool:
        with self._lock:
            task.process, task.node = None, None
            node.running.discard(task)
            task.move(TaskState.ACTIVE)
            task.start_time = None
            task.requeue_count += 1
            if self._on_requeue(task):
                return True
            task.requeue_count -= 1
            task.node = node  # it completes on the node it ran on
            node.running.add(task)
            return False

    def _started(self, task: Task, handle: int | str) -> None:
        with self._lock:
            task.process = handle
            task.container_id = getattr(handle, "container_id", task.container_id)
            kill_now = task.killed
        if kill_now:
            task.node.handle.kill(handle)

    def _upload_outputs(self, task: Task, node: Node, result: TaskResult) -> FailureInfo | None:
        """Upload per condition, after success and after failure alike."""
        dirs = node.layout.task(task.job_id, task.spec.id)
        try:
            upload_output_files(task.spec.output_files, node.layout.host_root, dirs.rel,
                                succeeded=result is TaskResult.SUCCESS)
        except TransferError as exc:
            return FailureInfo(category="usererror", code="FileUploadError", message=str(exc))
        return None

    def kill(self, task: Task) -> None:
        """Terminate a placed task (its process tree is killed)."""
        with self._lock:
            task.killed = True
            handle, node = task.process, task.node
        if handle is not None and node:
            try:
                node.handle.kill(handle)
            except NodeError:
                pass  # already gone with its container


def _raise_if_requeued(task: Task) -> None:
    if task.requeue_on_kill:
        raise _Requeued("its job was disabled")


def _fetch_all(resources, node_root, wd, owner) -> None:
    """Fetch resource files, several at once when there are many (a reduce
    task may have hundreds)."""
    def fetch(resource) -> None:
        download_resource_file(resource, node_root, wd, owner=owner)
    if len(resources) <= 2:
        for resource in resources:
            fetch(resource)
        return
    with ThreadPoolExecutor(min(8, len(resources)), thread_name_prefix="fetch") as pool:
        for future in [pool.submit(fetch, r) for r in resources]:
            future.result()


@contextlib.contextmanager
def _output_fds(node_root, dirs):
    """Append descriptors of a task's stdout.txt and stderr.txt (opened
    without following links: the task owns its directory)."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
    out = nofollow.open_file(node_root, dirs.file("stdout.txt"), flags)
    try:
        err = nofollow.open_file(node_root, dirs.file("stderr.txt"), flags)
    except BaseException:
        os.close(out)
        raise
    try:
        yield out, err
    finally:
        os.close(out)
        os.close(err)


def _append(node_root, rel, text: str) -> None:
    """Append ``text`` to a node file, if that can be done safely."""
    try:
        fd = nofollow.open_file(node_root, rel, os.O_WRONLY | os.O_APPEND | os.O_CREAT)
    except (OSError, nofollow.UnsafePath):
        return
    with os.fdopen(fd, "ab") as f:
        f.write(text.encode("utf-8", "replace"))
