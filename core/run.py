"""A generic Batch run of one workload, against any backend.

1. create the ``app``, ``input``, ``output``, ``work`` (and ``logs``)
   containers, named per run so that runs never collide; 2. upload the
   workload's app files, each with a read SAS; 3. create the pool, whose
   StartTask copies them to every node's shared directory (requested now,
   so that node allocation overlaps the input uploads); 4. upload the inputs
   and sign the URLs the workload's plan asks for; 5. create the job and add
   the plan's tasks; 6. wait for them (failing fast if the pool cannot run
   tasks or the storage dies); 7. download the results the plan names, each
   on its own; 8-9. delete what was created, always (see ``tracking``).

It knows nothing of what the tasks compute: that is the workload's
(``core.workload``).
"""

from __future__ import annotations

import shlex
import time
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path
from typing import Callable, Protocol, Sequence

from .backend import Backend
from .containers import ContainerConfiguration, ContainerSettings
from .download import Staging, download_results
from .errors import ConfigError, PoolError, TopwordsError
from .inputs import InputFile
from .ledger import Ledger
from .model import (
    JobSpec, OutputFile, PoolSpec, ResourceFile, StartTask, TaskCounts, TaskInfo,
    UploadCondition,
)
from .naming import new_run_id
from .tracking import Cleanup, StorageState, Tracker
from .watch import StorageWatch
from .workload import Expected, Plan, TaskDefaults, Urls, Workload

__all__ = ["PoolSettings", "Progress", "Result", "RunResult", "RunSettings", "SAS_MARGIN",
           "run_batch"]

#: how long a SAS outlives the run's timeout: the time from signing to the
#: start of the wait (uploads, pool and job creation), plus clock skew
SAS_MARGIN = timedelta(minutes=15)


@dataclass(frozen=True, kw_only=True)
class PoolSettings:
    """The pool a run creates (or reuses).

    Attributes:
        node_count / spot_node_count / task_slots_per_node / image / vm_size:
            as in ``PoolSpec``.
        pool_name: reuse (if compatible) or create the pool of this id,
            instead of a new pool named after the run.
        keep_pool: leave it when the run ends.
        task_image: run every task in a container of this image (the pool
            gets a container configuration that prefetches it, each task
            the same container settings); None: tasks run on the node.
    """

    node_count: int = 2
    spot_node_count: int = 0
    task_slots_per_node: int = 1
    image: str | None = None
    vm_size: str = "standard_d2s_v3"
    pool_name: str | None = None
    keep_pool: bool = False
    task_image: str | None = None

    def __post_init__(self) -> None:
        if self.task_image is not None and not self.task_image.strip():
            raise ConfigError("the task image must not be empty")
        if self.node_count < 0 or self.spot_node_count < 0 \
                or self.node_count + self.spot_node_count < 1:
            raise ConfigError("the pool needs at least one node")


@dataclass(frozen=True, kw_only=True)
class RunSettings:
    """Everything about one run that is neither an input nor the workload's.

    Attributes:
        output_dir: where results are downloaded.
        pool: the pool.
        timeout: seconds to wait for all tasks (also each task's wall-clock
            limit).
        max_task_retries: re-runs of a task that exits non-zero.
        keep_containers: leave the blob containers.
        run_id: names every resource of the run.
        sas_expiry: lifetime of every SAS the run signs (None: the timeout
            plus ``SAS_MARGIN``, so that a task's SAS dies with the run).
    """

    output_dir: Path
    pool: PoolSettings = field(default_factory=PoolSettings)
    timeout: float = 20 * 60
    max_task_retries: int = 1
    keep_containers: bool = False
    run_id: str = field(default_factory=new_run_id)
    sas_expiry: timedelta | None = None

    def __post_init__(self) -> None:
        if not self.timeout > 0:
            raise ConfigError("timeout must be > 0 seconds")
        if self.max_task_retries < 0:
            raise ConfigError("max_task_retries must be >= 0")

    @property
    def sas_lifetime(self) -> timedelta:
        return self.sas_expiry or timedelta(seconds=self.timeout) + SAS_MARGIN

    @property
    def pool_id(self) -> str:
        return self.pool.pool_name or f"topwords-{self.run_id}"

    @property
    def job_id(self) -> str:
        return f"topwords-{self.run_id}"

    @property
    def tags(self) -> dict[str, str]:
        """Metadata put on every resource of the run."""
        return {"topwords_run": self.run_id}

    def container(self, role: str) -> str:
        """Container names: ``tw-<run id>-app|input|output|work|logs``."""
        return f"tw-{self.run_id}-{role}".lower()


class Progress(Protocol):
    """What the run reports while it goes (a front end draws it)."""

    def stage(self, message: str) -> None: ...
    def tasks(self, counts: TaskCounts) -> None: ...
    def warn(self, message: str) -> None: ...


class _Silent:
    def stage(self, message: str) -> None: pass
    def tasks(self, counts: TaskCounts) -> None: pass
    def warn(self, message: str) -> None: pass


@dataclass(frozen=True, kw_only=True)
class Result:
    """One expected result's outcome.

    Attributes:
        expected: what the plan said (its blob, producers and input).
        task: the task that decides it (its first failed producer, else the
            last one).
        output_file: the downloaded result (None if there is none).
        value: the result as the workload read it (None without one).
        stderr_tail: last lines of the deciding task's stderr when it failed.
        problem: why there is no result although the task succeeded.
    """

    expected: Expected
    task: TaskInfo
    output_file: Path | None
    value: object = None
    stderr_tail: str = ""
    problem: str = ""

    @property
    def input(self) -> InputFile | None:
        return self.expected.input

    @property
    def succeeded(self) -> bool:
        return self.task.succeeded and self.output_file is not None


@dataclass(frozen=True, kw_only=True)
class RunResult:
    """A run's outcome: one entry per expected result, in plan order."""

    run_id: str
    results: list[Result]
    timings: dict[str, float]
    cleanup_errors: list[str]

    @property
    def succeeded(self) -> bool:
        return all(r.succeeded for r in self.results)


def run_batch(backend: Backend, workload: Workload, inputs: Sequence[InputFile],
              settings: RunSettings, progress: Progress | None = None,
              ledger: Ledger | None = None) -> RunResult:
    """Run ``workload`` over ``inputs`` on ``backend`` (see the module docstring).

    Every container, pool and job is recorded in ``ledger`` (if given) when
    created and when deleted, so that ``topwords cleanup`` finds what a
    crashed run left behind.

    Returns:
        Every expected result (failed tasks included).
    Raises:
        ConfigError: before anything is created (inputs the workload refuses,
            a pool that could never be created, an unwritable output dir).
        TopwordsError: a step failed; what was created was deleted (unless
            asked to keep it) before it propagates.
        KeyboardInterrupt: likewise cleaned up first.
    """
    return _Run(backend, workload, settings, progress or _Silent(), ledger).execute(
        list(inputs))


class _Run:
    """One execution; each step is a method."""

    def __init__(self, backend: Backend, workload: Workload, settings: RunSettings,
                 progress: Progress, ledger: Ledger | None) -> None:
        self.storage, self.compute, self.workload = backend.storage, backend.compute, workload
        self.s, self.progress = settings, progress
        self.logs = self.compute.supports_output_files
        self.timings: dict[str, float] = {}
        self.storage_state = StorageState()
        self.tracker = Tracker(backend=backend.name, endpoint=backend.endpoint,
                               storage_endpoint=backend.storage_endpoint, run_id=settings.run_id,
                               ledger=ledger, warn=progress.warn, storage=self.storage_state)
        self.watch = StorageWatch(self.storage, settings.container("output"),
                                  backend.storage_endpoint, backend.storage_death,
                                  self.storage_state)

    def execute(self, inputs: list[InputFile]) -> RunResult:
        s = self.s
        self.workload.check(inputs)
        self.compute.validate_pool(self.pool_spec(()))
        staging = Staging(s.output_dir, s.run_id)  # an unwritable output dir fails here
        with Cleanup(lambda: self.progress.stage("cleaning up")) as stack:
            stack.callback(staging.remove)
            self.step("containers", self.create_containers, stack)
            app_urls = self.step("upload_app", self.upload_app)
            self.step("create_pool", self.create_pool, stack, app_urls)
            urls = self.step("upload_inputs", self.upload_inputs, inputs)
            plan = self.step("submit", self.submit, stack, inputs, urls)
            self.progress.stage(f"running {len(plan.tasks)} task(s)")
            done = self.step("tasks", self.compute.wait_for_tasks, s.job_id, s.pool_id,
                             s.timeout, self.progress.tasks, self.watch)
            self.watch(force=True)  # the tasks may have ended before its last check
            results = self.step("download", self.download, plan, done, staging)
            cleanup_start = time.perf_counter()
        self.timings["cleanup"] = time.perf_counter() - cleanup_start
        return RunResult(run_id=s.run_id, results=results, timings=self.timings,
                         cleanup_errors=self.tracker.errors)

    def step(self, name: str, fn: Callable, *args):
        start = time.perf_counter()
        try:
            return fn(*args)
        finally:
            self.timings[name] = time.perf_counter() - start

    def create_containers(self, stack: ExitStack) -> None:
        self.progress.stage("creating blob containers")
        roles = ("app", "input", "output", "work") + (("logs",) if self.logs else ())
        for role in roles:
            name = self.s.container(role)
            self.tracker.track(stack, "container", name,
                               lambda n=name: self.storage.delete_container(n),
                               keep=self.s.keep_containers)
            self.storage.create_container(name, metadata=self.s.tags)

    def upload_app(self) -> list[tuple[str, str]]:
        """(name, read URL) of each app file."""
        self.progress.stage(f"uploading the {self.workload.name} app files")
        app, urls = self.s.container("app"), []
        for item in self.workload.app_files():
            self.storage.upload_file(app, item.name, item.path)
            urls.append((item.name, self.storage.blob_read_url(app, item.name,
                                                               self.s.sas_lifetime)))
        return urls

    def pool_spec(self, app_urls: Sequence[tuple[str, str]]) -> PoolSpec:
        """The pool, whose StartTask copies the app files to the shared dir."""
        p, names = self.s.pool, [name for name, _ in app_urls]
        start = None
        if names:
            copy = "cp -f " + " ".join(shlex.quote(n) for n in names) + \
                ' "$AZ_BATCH_NODE_SHARED_DIR/"'
            start = StartTask(command_line=f"/bin/bash -c {shlex.quote(copy)}",
                              resource_files=tuple(ResourceFile(http_url=url, file_path=name)
                                                   for name, url in app_urls),
                              wait_for_success=True, run_elevated=True)
        containers = None if p.task_image is None else ContainerConfiguration(
            type="dockerCompatible", image_names=(p.task_image,))
        return PoolSpec(id=self.s.pool_id, node_count=p.node_count,
                        spot_node_count=p.spot_node_count, vm_size=p.vm_size, image=p.image,
                        task_slots_per_node=p.task_slots_per_node, start_task=start,
                        metadata=self.s.tags, container_configuration=containers)

    def create_pool(self, stack: ExitStack, app_urls: list[tuple[str, str]]) -> None:
        s = self.s
        nodes = s.pool.node_count + s.pool.spot_node_count
        self.progress.stage(f"creating pool {s.pool_id} ({nodes} node(s))")
        disown = self.tracker.track(stack, "pool", s.pool_id,
                                    lambda: self.compute.delete_pool(s.pool_id),
                                    keep=s.pool.keep_pool)
        try:
            created = self.compute.ensure_pool(self.pool_spec(app_urls))
        except PoolError:
            disown()  # not created, or someone else's pool that does not fit: leave it
            raise
        if not created:
            self.progress.stage(f"reusing the existing pool {s.pool_id}")

    def upload_inputs(self, inputs: list[InputFile]) -> Urls:
        s, container = self.s, self.s.container("input")
        self.progress.stage(f"uploading {len(inputs)} input file(s)")
        self.storage.upload_files(container, [(i.path, i.blob_name) for i in inputs])
        work, output, expiry = s.container("work"), s.container("output"), s.sas_lifetime
        return Urls(
            inputs=[self.storage.blob_read_url(container, i.blob_name, expiry) for i in inputs],
            output_write=lambda blob: self.storage.blob_write_url(output, blob, expiry),
            work_write=lambda blob: self.storage.blob_write_url(work, blob, expiry),
            work_read=lambda blob: self.storage.blob_read_url(work, blob, expiry),
            logs=self.log_outputs())

    def log_outputs(self) -> tuple[OutputFile, ...]:
        """stdout/stderr of a task that fails, uploaded to ``logs/<task id>/``
        so they outlive the pool. Only on failure: nothing reads a good
        task's logs, and two uploads per task were a third of a many-file
        job's storage requests (see bench/README.md, scale)."""
        if not self.logs:
            return ()
        url = self.storage.container_write_url(self.s.container("logs"), self.s.sas_lifetime)
        return (OutputFile(file_pattern="../std*.txt", container_url=url, path="{task}",
                           upload_condition=UploadCondition.TASK_FAILURE),)

    def submit(self, stack: ExitStack, inputs: list[InputFile], urls: Urls) -> Plan:
        s = self.s
        plan = self.workload.plan(inputs, urls, TaskDefaults(
            max_task_retries=s.max_task_retries, timeout=s.timeout))
        if s.pool.task_image is not None:  # the same settings on every backend
            settings = ContainerSettings(image_name=s.pool.task_image)
            plan = replace(plan, tasks=[task if task.container_settings else
                                        replace(task, container_settings=settings)
                                        for task in plan.tasks])
        self.storage.upload_blobs(s.container("work"), plan.work_blobs)
        self.tracker.track(stack, "job", s.job_id, lambda: self.compute.delete_job(s.job_id))
        self.compute.create_job(JobSpec(id=s.job_id, pool_id=s.pool_id, metadata=s.tags,
                                        uses_task_dependencies=self.workload
                                        .uses_task_dependencies))
        self.compute.add_tasks(s.job_id, plan.tasks)
        # only now: a job with no tasks yet would count as complete at once
        self.compute.set_terminate_when_tasks_complete(s.job_id)
        return plan

    def download(self, plan: Plan, done: list[TaskInfo], staging: Staging) -> list[Result]:
        """Each expected result on its own: a missing or bad one fails alone."""
        self.progress.stage(f"downloading results to {self.s.output_dir}")
        by_id = {t.id: t for t in done}
        deciding = [(e, _deciding(by_id, e.producers)) for e in plan.outputs]
        got = download_results(self.storage, self.s.container("output"),
                               [e.blob for e, task in deciding if task.succeeded], staging)
        unlucky = [task for e, task in deciding if not isinstance(got.get(e.blob), Path)]
        tails = self.stderr_tails(unlucky, staging)
        return [self.result(e, task, got.get(e.blob), tails.get(task.id, ""))
                for e, task in deciding]

    def result(self, expected: Expected, task: TaskInfo, got: Path | str | None,
               tail: str) -> Result:
        output = got if isinstance(got, Path) else None
        problem, value = (got if isinstance(got, str) else ""), None
        if output is not None:
            try:
                value = self.workload.read(output)
            except (OSError, ValueError) as exc:
                output, problem = None, f"its result {got} is not readable: {exc}"
        return Result(expected=expected, task=task, output_file=output, value=value,
                      stderr_tail="" if output is not None else tail, problem=problem)

    def stderr_tails(self, tasks: list[TaskInfo], staging: Staging,
                     lines: int = 5) -> dict[str, str]:
        """The end of each task's stderr: from the logs container (it
        outlives the pool; all at once), else from the node, else its
        failure message."""
        logs = self.read_logs([t.id for t in tasks], staging)
        tails = {}
        for task in tasks:
            text = logs.get(task.id)
            if text is None:
                try:
                    text = self.compute.read_task_file(self.s.job_id, task.id, "stderr.txt")
                except TopwordsError:
                    text = b""
            tail = text.decode("utf-8", "replace").strip().splitlines()[-lines:]
            tails[task.id] = "\n".join(tail) or (task.failure.message if task.failure else "")
        return tails

    def read_logs(self, task_ids: list[str], staging: Staging) -> dict[str, bytes]:
        """The stderr.txt the logs container holds for each task (concurrent;
        none once the storage has stopped answering)."""
        state = self.storage_state
        if not (self.logs and task_ids) or state.silent or state.lost:
            return {}
        from .errors import BlobNotFound
        folder = staging.path / "logs"
        folder.mkdir(exist_ok=True)
        items = [(f"{t}/stderr.txt", folder / f"{n}.txt") for n, t in enumerate(task_ids)]
        failed = self.storage.download_each(self.s.container("logs"), items)
        if any(not isinstance(e, BlobNotFound) for e in failed.values()):
            state.silent = True
        return {t: path.read_bytes() for t, (blob, path) in zip(task_ids, items)
                if blob not in failed and path.is_file()}


def _deciding(tasks: dict[str, TaskInfo], ids: Sequence[str]) -> TaskInfo:
    """The task that decides a result: its first failed producer, else the last."""
    infos = [tasks[i] for i in ids]
    return next((t for t in infos if not t.succeeded), infos[-1])
