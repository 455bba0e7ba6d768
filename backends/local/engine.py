"""The local Batch engine: Batch semantics on Docker containers.

``LocalBatchEngine`` implements the core ``Compute`` interface in-process:
pools are ``DockerNodePool``s, jobs hold tasks, and a scheduler puts every
runnable task (active, dependencies met) on a free slot of a usable node of
its job's pool. A task's life on its node is in ``task_runner``. Everything
is thread-safe behind one condition lock; a REST front end (the Batch
emulator) can drive the same engine.
"""

from __future__ import annotations

import shlex
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Sequence

from topwords.core.compute import Compute
from topwords.core.errors import (
    ConfigError, JobNotFound, PoolError, PoolNotFound, ResourceExists, TaskNotFound,
)
from topwords.core.model import (
    JobSpec, NodeInfo, NodeState, PoolInfo, PoolSpec, TaskInfo, TaskResult, TaskSpec, TaskState,
)

from .docker_node import docker_errors, image_exists, remove_labelled
from .node_pool import DockerNodePool, Node
from .task_runner import Task, TaskRunner

__all__ = ["LocalBatchEngine"]


class _Job:
    def __init__(self, spec: JobSpec) -> None:
        self.spec = spec
        self.tasks: dict[str, Task] = {}
        self.pending: list[Task] = []  # active and not yet placed, in order
        self.deleted = False


class LocalBatchEngine(Compute):
    """Pools of Docker node containers running Batch jobs and tasks.

    Args:
        client: a Docker client (see ``docker_node.connect``).
        image: the default node image (a pool spec's ``image`` wins).
        work_dir: host directory for node directories (one folder per pool).
    """

    name = "local"
    poll_interval = 0.05
    max_poll_interval = 0.5
    supports_task_dependencies = True
    supports_output_files = True

    def __init__(self, client, *, image: str, work_dir: Path) -> None:
        self._client, self.image, self.work_dir = client, image, work_dir
        self._lock = threading.Condition()
        self._pools: dict[str, DockerNodePool] = {}
        self._jobs: dict[str, _Job] = {}
        self._executor = ThreadPoolExecutor(256, thread_name_prefix="task")
        self._runner = TaskRunner(self._lock, self._task_done)

    # -- pools ------------------------------------------------------------

    def create_pool(self, spec: PoolSpec) -> None:
        image = spec.image or self.image
        with docker_errors(f"checking node image {image}"):
            found = image_exists(self._client, image)
        if not found:
            raise PoolError(f"node image {image!r} is not available to Docker",
                            hint="build it offline with `topwords local build-image`, "
                                 "or choose one with --image / TOPWORDS_LOCAL_IMAGE")
        with self._lock:
            if spec.id in self._pools:
                raise ResourceExists(f"pool {spec.id} already exists")
            pool = DockerNodePool(self._client, spec, image=image,
                                  host_dir=self.work_dir / spec.id, lock=self._lock,
                                  on_change=self._dispatch)
            self._pools[spec.id] = pool
        pool.allocate()

    def get_pool(self, pool_id: str) -> PoolInfo:
        with self._lock:
            pool = self._pool(pool_id)
            booting = any(n.state in (NodeState.CREATING, NodeState.STARTING)
                          for n in pool.nodes)
            return PoolInfo(spec=pool.spec, state="deleting" if pool.deleting else "active",
                            allocation_state="resizing" if booting else "steady",
                            current_node_count=sum(n.state is not NodeState.CREATING
                                                   for n in pool.nodes))

    def list_nodes(self, pool_id: str) -> list[NodeInfo]:
        with self._lock:
            return [node.info() for node in self._pool(pool_id).nodes]

    def delete_pool(self, pool_id: str) -> None:
        """Also removes the containers of a pool this engine did not create
        (kept by an earlier run), found by their ``topwords.pool`` label."""
        with self._lock:
            pool = self._pools.pop(pool_id, None)
        if pool is not None:
            pool.delete()
            return
        with docker_errors(f"deleting pool {pool_id}"):
            remove_labelled(self._client, {"topwords.pool": pool_id})
        shutil.rmtree(self.work_dir / pool_id, ignore_errors=True)

    def _pool(self, pool_id: str) -> DockerNodePool:
        try:
            return self._pools[pool_id]
        except KeyError:
            raise PoolNotFound(f"pool {pool_id} does not exist") from None

    # -- jobs -------------------------------------------------------------

    def create_job(self, spec: JobSpec) -> None:
        with self._lock:
            if spec.id in self._jobs:
                raise ResourceExists(f"job {spec.id} already exists")
            self._pool(spec.pool_id)
            self._jobs[spec.id] = _Job(spec)

    def delete_job(self, job_id: str) -> None:
        with self._lock:
            job = self._jobs.pop(job_id, None)
            if job is None:
                return
            job.deleted = True
            job.pending.clear()
            running = [t for t in job.tasks.values() if t.node is not None
                       and t.state in (TaskState.PREPARING, TaskState.RUNNING)]
        for task in running:
            self._runner.kill(task)
        pool = self._pools.get(job.spec.pool_id)
        for node in pool.nodes if pool else ():
            shutil.rmtree(node.layout.job_dir(job_id), ignore_errors=True)

    def add_tasks(self, job_id: str, tasks: Sequence[TaskSpec]) -> None:
        with self._lock:
            job = self._job(job_id)
            ids = [t.id for t in tasks]
            clash = set(ids) & set(job.tasks) or {i for i in ids if ids.count(i) > 1}
            if clash:
                raise ResourceExists(f"task {sorted(clash)[0]} already exists in job {job_id}")
            for spec in tasks:
                _validate_task(job.spec, spec)
            for spec in tasks:
                task = Task(spec=spec, job_id=job_id)
                job.tasks[spec.id] = task
                job.pending.append(task)
            self._dispatch()

    def list_tasks(self, job_id: str) -> list[TaskInfo]:
        with self._lock:
            return [task.info() for task in self._job(job_id).tasks.values()]

    def read_task_file(self, job_id: str, task_id: str, path: str) -> bytes:
        with self._lock:
            task = self._job(job_id).tasks.get(task_id)
            if task is None:
                raise TaskNotFound(f"task {task_id} does not exist in job {job_id}")
            node = task.node
        if node is None:
            raise TaskNotFound(f"task {task_id} has not run yet, so it has no {path}")
        task_dir = node.layout.task(job_id, task_id).host
        target = task_dir.joinpath(*path.split("/")).resolve()
        if task_dir.resolve() not in target.parents or not target.is_file():
            raise TaskNotFound(f"task {task_id} has no file {path!r}")
        return target.read_bytes()

    def _job(self, job_id: str) -> _Job:
        try:
            return self._jobs[job_id]
        except KeyError:
            raise JobNotFound(f"job {job_id} does not exist") from None

    # -- scheduling (always under the lock) -------------------------------

    def _dispatch(self) -> None:
        """Place every runnable task on a free slot, in submission order."""
        for job in list(self._jobs.values()):
            pool = self._pools.get(job.spec.pool_id)
            if pool is None or not job.pending:
                continue
            nodes = [n for n in pool.nodes if n.usable and n.free_slots > 0]
            if not nodes:
                continue
            still_pending = []
            for task in job.pending:
                node = _least_busy(nodes)
                if node is None or not self._ready(job, task):
                    still_pending.append(task)
                    continue
                node.free_slots -= 1
                node.state = NodeState.RUNNING
                task.place(node)
                self._executor.submit(self._runner.run, task, node)
            job.pending = still_pending

    def _ready(self, job: _Job, task: Task) -> bool:
        return all(job.tasks[d].result is TaskResult.SUCCESS
                   if d in job.tasks else False for d in task.spec.depends_on)

    def _task_done(self, node: Node) -> None:
        """The runner calls this (under the lock) when a task completes."""
        node.free_slots += 1
        if node.state is NodeState.RUNNING and not node.running:
            node.state = NodeState.IDLE
        self._dispatch()
        self._lock.notify_all()

    # -- lifetime -----------------------------------------------------------

    def close(self) -> None:
        """Stop scheduling; pools that were not deleted stay (``--keep-pool``)."""
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._client.close()


def _least_busy(nodes: list[Node]) -> Node | None:
    free = [n for n in nodes if n.free_slots > 0 and n.usable]
    return max(free, key=lambda n: n.free_slots) if free else None


def _validate_task(job: JobSpec, spec: TaskSpec) -> None:
    if spec.depends_on and not job.uses_task_dependencies:
        raise ConfigError(f"task {spec.id} has dependencies but job {job.id} was not "
                          "created with uses_task_dependencies")
    try:
        argv = shlex.split(spec.command_line)
    except ValueError as exc:
        raise ConfigError(f"task {spec.id}: cannot parse its command line ({exc})") from None
    if not argv:
        raise ConfigError(f"task {spec.id}: empty command line")
