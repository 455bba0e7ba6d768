"""The top-N-words workflow: the tutorial's nine steps, against any backend.

1. create the app, input and output containers (named per run, so runs never
   collide); 2. upload the task script and the inputs, each with a read SAS;
3. create the pool, whose StartTask copies the task script to the shared
   directory; 4. create the job; 5. add one task per input, with a write-only
   SAS for the output container; 6. wait for the tasks; 7. download the
   outputs; 8. delete the containers; 9. delete the job and the pool.

The pool is requested right after the task script is uploaded, so that node
allocation overlaps the input uploads. Cleanup is registered as each resource
is created and always runs: on success, on errors and on KeyboardInterrupt.
"""

from __future__ import annotations

import shlex
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import timedelta
from importlib import resources
from pathlib import Path
from typing import Callable, Protocol, Sequence

from .backend import Backend
from .errors import (
    BlobNotFound, ConfigError, InputError, PoolError, StorageError, TopwordsError,
)
from .inputs import InputFile
from .interrupts import cleanup_phase
from .ledger import Ledger, LedgerEntry
from .model import (
    JobSpec, OutputFile, PoolSpec, ResourceFile, StartTask, TaskCounts, TaskInfo,
    UploadCondition,
)
from .download import Staging, download_results
from .naming import new_run_id, output_name_for
from .plan import (
    GLOBAL_OUTPUT, MANIFEST, OUTPUT_URL_ENV, REDUCE_TASK, TASK_SCRIPT, PlanSettings, TaskPlan,
    TaskUrls, manifest_bytes, plan_tasks,
)
from .report import ReportFormatError, parse_report

#: seconds between the checks that the storage still answers while tasks run
STORAGE_CHECK = 2.0
#: how long a SAS outlives the run's timeout: the time from signing to the
#: start of the wait (uploads, pool and job creation), plus clock skew
SAS_MARGIN = timedelta(minutes=15)

__all__ = ["OUTPUT_URL_ENV", "InputResult", "Progress", "RunResult", "RunSettings",
           "run_top_words"]



@dataclass(frozen=True, kw_only=True)
class RunSettings:
    """Everything about one run that is not an input file.

    Attributes:
        output_dir: where results are downloaded.
        top: how many words per input (>= 1).
        ignore_case: fold case before counting.
        node_count / spot_node_count / task_slots_per_node / image / vm_size:
            the pool.
        pool_name: reuse (if compatible) or create the pool of this id,
            instead of a new pool named after the run.
        timeout: seconds to wait for all tasks (also each task's wall-clock
            limit).
        max_task_retries: re-runs of a task that exits non-zero.
        split_size: inputs larger than this many bytes are counted by
            several map tasks, one per part (None: never split).
        keep_pool / keep_containers: skip those cleanup steps.
        run_id: names every resource of the run.
        sas_expiry: lifetime of every SAS the run signs (None: the timeout
            plus ``SAS_MARGIN``, so that a task's SAS dies with the run, not
            hours later).
    """

    output_dir: Path
    top: int = 3
    ignore_case: bool = False
    node_count: int = 2
    spot_node_count: int = 0
    task_slots_per_node: int = 1
    image: str | None = None
    vm_size: str = "standard_d2s_v3"
    pool_name: str | None = None
    timeout: float = 20 * 60
    max_task_retries: int = 1
    split_size: int | None = None
    keep_pool: bool = False
    keep_containers: bool = False
    run_id: str = field(default_factory=new_run_id)
    sas_expiry: timedelta | None = None

    def __post_init__(self) -> None:
        if isinstance(self.top, bool) or not isinstance(self.top, int) or self.top < 1:
            raise ConfigError(f"top must be a whole number >= 1, got {self.top!r}")
        if self.node_count < 0 or self.spot_node_count < 0 \
                or self.node_count + self.spot_node_count < 1:
            raise ConfigError("the pool needs at least one node")
        if self.timeout <= 0:
            raise ConfigError("timeout must be > 0 seconds")
        if self.max_task_retries < 0:
            raise ConfigError("max_task_retries must be >= 0")
        if self.split_size is not None and self.split_size < 1:
            raise ConfigError("split_size must be at least 1 byte")

    @property
    def sas_lifetime(self) -> timedelta:
        return self.sas_expiry or timedelta(seconds=self.timeout) + SAS_MARGIN

    @property
    def pool_id(self) -> str:
        return self.pool_name or f"topwords-{self.run_id}"

    @property
    def tags(self) -> dict[str, str]:
        """Metadata put on every resource of the run."""
        return {"topwords_run": self.run_id}

    @property
    def job_id(self) -> str:
        return f"topwords-{self.run_id}"

    def container(self, role: str) -> str:
        """Container names: ``tw-<run id>-app|input|output|work|logs``."""
        return f"tw-{self.run_id}-{role}".lower()


class Progress(Protocol):
    """What the workflow reports while it runs (the CLI draws it)."""

    def stage(self, message: str) -> None: ...
    def tasks(self, counts: TaskCounts) -> None: ...
    def warn(self, message: str) -> None: ...


class _Silent:
    def stage(self, message: str) -> None: pass
    def tasks(self, counts: TaskCounts) -> None: pass
    def warn(self, message: str) -> None: pass


@dataclass(frozen=True, kw_only=True)
class InputResult:
    """One input's outcome.

    Attributes:
        input: the validated input.
        task: the task's final state.
        output_file: the downloaded result (None if the task produced none).
        top_words: ``(word, count)`` rows of the result, best first.
        stderr_tail: last lines of the task's stderr when it failed.
        problem: why there is no result although the task succeeded (its
            download failed, or it is not a result file).
    """

    input: InputFile | None
    task: TaskInfo
    output_file: Path | None
    top_words: list[tuple[str, int]]
    stderr_tail: str = ""
    problem: str = ""

    @property
    def succeeded(self) -> bool:
        return self.task.succeeded and self.output_file is not None


@dataclass(frozen=True, kw_only=True)
class RunResult:
    """A run's outcome: one entry per input, in input order, and ``corpus``,
    the top words of all inputs together (its ``input`` is None)."""

    run_id: str
    results: list[InputResult]
    corpus: InputResult | None
    timings: dict[str, float]
    cleanup_errors: list[str]

    @property
    def succeeded(self) -> bool:
        return all(r.succeeded for r in self.results) and bool(self.corpus and
                                                               self.corpus.succeeded)


def run_top_words(backend: Backend, inputs: Sequence[InputFile],
                  settings: RunSettings, progress: Progress | None = None,
                  ledger: Ledger | None = None) -> RunResult:
    """Run the nine steps for ``inputs`` on ``backend``.

    Every container, pool and job is recorded in ``ledger`` (if given) when
    created and when deleted, so that ``topwords cleanup`` finds what a
    crashed run left behind.

    Returns:
        The result of every input (failed tasks included).
    Raises:
        TopwordsError: a step failed; resources created so far were cleaned
            up (unless asked to keep them) before it propagates.
        KeyboardInterrupt: likewise cleaned up first.
    """
    return _Run(backend, settings, progress or _Silent(), ledger).execute(list(inputs))


class _Run:
    """One execution of the workflow; each step is a method."""

    def __init__(self, backend: Backend, settings: RunSettings, progress: Progress,
                 ledger: Ledger | None) -> None:
        self.storage, self.compute = backend.storage, backend.compute
        self.storage_death = backend.storage_death
        self.storage_lost = ""  # why the storage is gone (its deletes are then moot)
        self.storage_silent = False  # it stopped answering (deletes would only wait)
        self._next_check = 0.0
        self.s, self.progress, self.ledger = settings, progress, ledger
        self.backend_name, self.endpoint = backend.name, backend.endpoint
        self.storage_endpoint = backend.storage_endpoint
        self.logs = self.compute.supports_output_files
        self.timings: dict[str, float] = {}
        self.cleanup_errors: list[str] = []
        self.abandoned = False

    def execute(self, inputs: list[InputFile]) -> RunResult:
        s = self.s
        _check_reserved_names(inputs)
        self.compute.validate_pool(_pool_spec(s, "https://unsigned.invalid/task.py"))
        staging = Staging(s.output_dir, s.run_id)  # an unwritable output dir fails here
        with _Cleanup(lambda: self.progress.stage("cleaning up")) as stack:
            stack.callback(staging.remove)
            self.step("containers", self.create_containers, stack)
            script_url = self.step("upload_app", self.upload_script)
            self.step("create_pool", self.create_pool, stack, script_url)
            urls = self.step("upload_inputs", self.upload_inputs, inputs)
            plan = self.step("submit", self.submit, stack, inputs, urls)
            self.progress.stage(f"running {len(plan.tasks)} task(s)")
            done = self.step("tasks", self.compute.wait_for_tasks, s.job_id, s.pool_id,
                             s.timeout, self.progress.tasks, self.watch_storage)
            self._next_check = 0.0
            self.watch_storage()  # the tasks may have ended before its last check
            results, corpus = self.step("download", self.download, inputs, plan, done,
                                        staging)
            cleanup_start = time.perf_counter()
        self.timings["cleanup"] = time.perf_counter() - cleanup_start
        return RunResult(run_id=s.run_id, results=results, corpus=corpus,
                         timings=self.timings, cleanup_errors=self.cleanup_errors)

    def step(self, name: str, fn: Callable, *args):
        start = time.perf_counter()
        try:
            return fn(*args)
        finally:
            self.timings[name] = time.perf_counter() - start

    def track(self, stack: ExitStack, kind: str, name: str, delete: Callable[[], None],
              keep: bool = False) -> Callable[[], None]:
        """Record a resource about to be created; unless kept, delete it when
        the run ends (a failed delete is reported, never raised over the
        run's own error). Called *before* creating it, so that an interrupt
        that lands inside the create still deletes it (deletes are
        idempotent).

        Returns:
            ``disown()``: the resource is not the run's after all (it
            existed before); forget it and never delete it.
        """
        endpoint = self.storage_endpoint if kind == "container" else self.endpoint
        entry = LedgerEntry(backend=self.backend_name, endpoint=endpoint, kind=kind,
                            id=name, run_id=self.s.run_id)
        owned = [True]
        if self.ledger:
            self.ledger.created(entry)

        def disown() -> None:
            owned[0] = False
            if self.ledger:
                self.ledger.deleted(entry)

        def run() -> None:
            if not owned[0]:
                return
            if self.abandoned:  # a second signal ended the cleanup's waits
                self.left(kind, name, "the cleanup was interrupted before it")
                return
            if kind == "container" and self.storage_lost:
                if self.ledger:  # gone with the storage: nothing to delete
                    self.ledger.deleted(entry)
                return
            if kind == "container" and self.storage_silent:
                self.left(kind, name, "its storage does not answer")
                return
            try:
                delete()
            except KeyboardInterrupt:
                self.abandoned = True
                self.left(kind, name, "interrupted while it was being deleted")
                raise
            except Exception as exc:  # never mask the run's own error
                self.left(kind, name, f"could not be deleted ({exc})")
            else:
                if self.ledger:
                    self.ledger.deleted(entry)
        if not keep:
            stack.callback(run)
        return disown

    def watch_storage(self) -> None:
        """While the tasks run: fail within seconds if the storage dies or
        loses the run's containers, instead of waiting for every task to
        fail on it (called at every poll; checks every ``STORAGE_CHECK`` s).

        Raises:
            StorageError: one line naming the storage and what was lost.
        """
        now = time.monotonic()
        if now < self._next_check:
            return
        self._next_check = now + STORAGE_CHECK
        self.check_storage_death()
        try:
            self.storage.check_container(self.s.container("output"))
        except BlobNotFound:
            self.storage_lost = "its containers are gone"
            raise StorageError(f"the run's containers are gone from {self.storage.name} storage "
                               f"({self.storage_endpoint}): was it restarted without keeping "
                               "its data?",
                               hint="run again; keep an Azurite's data with --location") from None
        except StorageError as exc:
            self.check_storage_death(grace=1.0)  # its process may just be ending
            self.storage_silent = True
            raise StorageError(f"{self.storage.name} storage ({self.storage_endpoint}) stopped "
                               f"answering while the tasks ran: {exc}",
                               hint="start it again, then run again") from None

    def check_storage_death(self, grace: float = 0.0) -> None:
        """Raise StorageError if the backend's own storage died (waiting up
        to ``grace`` seconds to see it end)."""
        if not self.storage_death:
            return
        deadline = time.monotonic() + grace
        while (death := self.storage_death()) is None and time.monotonic() < deadline:
            time.sleep(0.1)
        if death:
            self.storage_lost = death
            raise StorageError(f"the run's storage died: {death}; every blob of the run "
                               "(inputs and results) went with it")

    def left(self, kind: str, name: str, why: str) -> None:
        """Name a resource the cleanup could not delete (the ledger keeps it
        for ``topwords cleanup``)."""
        self.cleanup_errors.append(f"{kind} {name} was left: {why}")
        self.progress.warn(self.cleanup_errors[-1])

    def create_containers(self, stack: ExitStack) -> None:
        self.progress.stage("creating blob containers")
        roles = ("app", "input", "output", "work") + (("logs",) if self.logs else ())
        for role in roles:
            name = self.s.container(role)
            self.track(stack, "container", name, lambda n=name: self.storage.delete_container(n),
                       keep=self.s.keep_containers)
            self.storage.create_container(name, metadata=self.s.tags)

    def upload_script(self) -> str:
        self.progress.stage("uploading the task script")
        app = self.s.container("app")
        with resources.as_file(resources.files("topwords.node") / TASK_SCRIPT) as script:
            self.storage.upload_file(app, TASK_SCRIPT, script)
        return self.storage.blob_read_url(app, TASK_SCRIPT, self.s.sas_lifetime)

    def create_pool(self, stack: ExitStack, script_url: str) -> None:
        s = self.s
        nodes = s.node_count + s.spot_node_count
        self.progress.stage(f"creating pool {s.pool_id} ({nodes} node(s))")
        disown = self.track(stack, "pool", s.pool_id,
                            lambda: self.compute.delete_pool(s.pool_id), keep=s.keep_pool)
        try:
            created = self.compute.ensure_pool(_pool_spec(s, script_url))
        except PoolError:
            disown()  # not created, or someone else's pool that does not fit: leave it
            raise
        if not created:
            self.progress.stage(f"reusing the existing pool {s.pool_id}")

    def upload_inputs(self, inputs: list[InputFile]) -> TaskUrls:
        s, container = self.s, self.s.container("input")
        self.progress.stage(f"uploading {len(inputs)} input file(s)")
        self.storage.upload_files(container, [(i.path, i.blob_name) for i in inputs])
        work, output, expiry = s.container("work"), s.container("output"), s.sas_lifetime
        return TaskUrls(
            inputs=[self.storage.blob_read_url(container, i.blob_name, expiry) for i in inputs],
            output_write=lambda blob: self.storage.blob_write_url(output, blob, expiry),
            counts_write=lambda blob: self.storage.blob_write_url(work, blob, expiry),
            counts_read=lambda blob: self.storage.blob_read_url(work, blob, expiry),
            logs=self.log_outputs())

    def log_outputs(self) -> tuple[OutputFile, ...]:
        """stdout/stderr of a task, uploaded to ``logs/<task id>/`` when it
        ends, so they outlive the pool."""
        if not self.logs:
            return ()
        url = self.storage.container_write_url(self.s.container("logs"), self.s.sas_lifetime)
        return (OutputFile(file_pattern="../std*.txt", container_url=url, path="{task}",
                           upload_condition=UploadCondition.TASK_COMPLETION),)

    def submit(self, stack: ExitStack, inputs: list[InputFile], urls: TaskUrls) -> TaskPlan:
        s = self.s
        plan = plan_tasks(PlanSettings(top=s.top, ignore_case=s.ignore_case,
                                       split_size=s.split_size, timeout=s.timeout,
                                       max_task_retries=s.max_task_retries), inputs, urls)
        with tempfile.TemporaryDirectory() as tmp:
            manifest = Path(tmp) / MANIFEST
            manifest.write_bytes(manifest_bytes(plan))
            self.storage.upload_file(s.container("work"), MANIFEST, manifest)
        self.track(stack, "job", s.job_id, lambda: self.compute.delete_job(s.job_id))
        self.compute.create_job(JobSpec(id=s.job_id, pool_id=s.pool_id, metadata=s.tags,
                                        uses_task_dependencies=True))
        self.compute.add_tasks(s.job_id, plan.tasks)
        # only now: a job with no tasks yet would count as complete at once
        self.compute.set_terminate_when_tasks_complete(s.job_id)
        return plan

    def download(self, inputs: list[InputFile], plan: TaskPlan, done: list[TaskInfo],
                 staging: Staging) -> tuple[list[InputResult], InputResult]:
        """Each expected result on its own: a missing or bad one fails that
        input alone."""
        s = self.s
        self.progress.stage(f"downloading results to {s.output_dir}")
        by_id = {t.id: t for t in done}
        deciding = [(_deciding(by_id, ids), item, output_name_for(item.blob_name))
                    for ids, item in zip(plan.producers, inputs)]
        deciding.append((by_id[REDUCE_TASK], None, GLOBAL_OUTPUT))
        wanted = [name for task, _, name in deciding if task.succeeded]
        got = download_results(self.storage, s.container("output"), wanted, staging)
        unlucky = [task for task, _, name in deciding if not isinstance(got.get(name), Path)]
        tails = self.stderr_tails(unlucky, staging)
        results = [self.result(task, item, got.get(name), tails.get(task.id, ""))
                   for task, item, name in deciding]
        return results[:-1], results[-1]

    def result(self, task: TaskInfo, item: InputFile | None, got: Path | str | None,
               tail: str) -> InputResult:
        output = got if isinstance(got, Path) else None
        problem = got if isinstance(got, str) else ""
        top: list[tuple[str, int]] = []
        if output is not None:
            try:
                top = parse_report(output.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, ReportFormatError) as exc:
                output, problem = None, f"its result {output} is not readable: {exc}"
        if output is not None:
            tail = ""
        return InputResult(input=item, task=task, output_file=output, top_words=top,
                           stderr_tail=tail, problem=problem)

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
        if not (self.logs and task_ids) or self.storage_silent or self.storage_lost:
            return {}
        folder = staging.path / "logs"
        folder.mkdir(exist_ok=True)
        items = [(f"{t}/stderr.txt", folder / f"{n}.txt") for n, t in enumerate(task_ids)]
        failed = self.storage.download_each(self.s.container("logs"), items)
        if any(not isinstance(e, BlobNotFound) for e in failed.values()):
            self.storage_silent = True
        return {t: path.read_bytes() for t, (blob, path) in zip(task_ids, items)
                if blob not in failed and path.is_file()}


class _Cleanup(ExitStack):
    """An ExitStack whose unwinding is the cleanup phase (see ``interrupts``),
    announced by ``on_start`` once it has begun."""

    def __init__(self, on_start: Callable[[], None]) -> None:
        super().__init__()
        self._on_start = on_start

    def __exit__(self, *exc):
        with cleanup_phase():
            self._on_start()
            return super().__exit__(*exc)


def _pool_spec(s: RunSettings, script_url: str) -> PoolSpec:
    copy = f'cp -f {TASK_SCRIPT} "$AZ_BATCH_NODE_SHARED_DIR/{TASK_SCRIPT}"'
    start = StartTask(
        command_line=f"/bin/bash -c {shlex.quote(copy)}",
        resource_files=(ResourceFile(http_url=script_url, file_path=TASK_SCRIPT),),
        wait_for_success=True, run_elevated=True)
    return PoolSpec(id=s.pool_id, node_count=s.node_count, spot_node_count=s.spot_node_count,
                    vm_size=s.vm_size, image=s.image, task_slots_per_node=s.task_slots_per_node,
                    start_task=start, metadata=s.tags)


def _deciding(tasks: dict[str, TaskInfo], ids: list[str]) -> TaskInfo:
    """The task that decides an input's outcome: its first failed task,
    else the last one (the map task, or the reduce of a split input)."""
    infos = [tasks[i] for i in ids]
    return next((t for t in infos if not t.succeeded), infos[-1])


def _check_reserved_names(inputs: Sequence[InputFile]) -> None:
    for item in inputs:
        if output_name_for(item.blob_name) == GLOBAL_OUTPUT:
            raise InputError(f"{item.path}: its result would be {GLOBAL_OUTPUT}, the name "
                             "of the corpus-wide result; rename the file")
