"""The Compute contract: what every :class:`~topwords.core.compute.Compute`
must do (Batch's semantics), written only against the interface.

Run it on a compute by subclassing :class:`ComputeContract` where a
``compute_target`` fixture (class scope or wider) returns a
:class:`~topwords.testing.targets.ComputeTarget`::

    import pytest
    from topwords.testing import ComputeContract, ComputeTarget

    @pytest.fixture(scope="class")
    def compute_target(my_storage):
        with MyCompute(...) as compute:
            yield ComputeTarget("mine", compute, storage=my_storage)

    class TestMyCompute(ComputeContract):
        pass

Each test works under its own job (and, where it needs one, its own pool)
with unique ids, and removes them afterwards; the tests of a class share one
2-node, 2-slot pool. Tests that run commands require ``has_nodes``; those of
resource and output files also ``has_storage``.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path
from typing import Callable, Iterator

import pytest

from topwords.core.compute import Compute
from topwords.core.errors import (
    ConfigError, JobNotFound, PoolNotFound, ResourceExists, StartTaskFailed, TaskNotFound,
)
from topwords.core.model import (
    JobSpec, NodeState, OutputFile, PoolSpec, ResourceFile, StartTask, TaskConstraints,
    TaskInfo, TaskResult, TaskSpec, TaskState, UploadCondition,
)

from .targets import ComputeTarget, requires, skip_unclaimed

__all__ = ["ComputeContract"]


def bash(script: str) -> str:
    return "/bin/bash -c " + "'" + script.replace("'", "'\"'\"'") + "'"


def new_id(prefix: str = "id") -> str:
    """An id no other test (or test run) uses."""
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


class ComputeContract:
    """The Compute contract as a pytest test class to subclass (see the
    module docstring); needs a ``compute_target`` fixture."""

    @pytest.fixture(autouse=True)
    def _claimed(self, request: pytest.FixtureRequest, compute_target: ComputeTarget) -> None:
        skip_unclaimed(compute_target, request.function)

    # Class-scoped fixtures are static methods: pytest 9 deprecates
    # instance methods (each test has its own instance) and pytest 8 does
    # not take class methods.

    @pytest.fixture(scope="class")
    @staticmethod
    def compute(compute_target: ComputeTarget) -> Compute:
        return compute_target.compute

    @pytest.fixture
    def unique_id(self) -> Callable[..., str]:
        """A factory of pool/job/task ids no other test (or run) uses."""
        return new_id

    @pytest.fixture(scope="class")
    @staticmethod
    def shared_pool(compute: Compute) -> Iterator[str]:
        """A 2-node, 2-slot pool whose StartTask leaves a marker in the shared dir."""
        pool_id = new_id("pool")
        start = StartTask(command_line=bash('echo "started on $AZ_BATCH_NODE_ID" '
                                            '> "$AZ_BATCH_NODE_SHARED_DIR/marker"'))
        compute.create_pool(PoolSpec(id=pool_id, node_count=2, task_slots_per_node=2,
                                     start_task=start))
        yield pool_id
        compute.delete_pool(pool_id)

    @pytest.fixture
    def job(self, compute: Compute, compute_target: ComputeTarget, shared_pool: str
            ) -> Iterator[str]:
        """A job on the shared pool (with task dependencies where the target
        supports them)."""
        job_id = new_id("job")
        compute.create_job(JobSpec(
            id=job_id, pool_id=shared_pool,
            uses_task_dependencies=bool(compute_target.supports_task_dependencies)))
        yield job_id
        compute.delete_job(job_id)

    @pytest.fixture
    def run(self, compute: Compute, compute_target: ComputeTarget, job: str, shared_pool: str
            ) -> Callable[..., dict[str, TaskInfo]]:
        """run(*specs) -> adds the tasks to ``job`` and waits for them: {id: TaskInfo}."""
        def run_(*tasks: TaskSpec) -> dict[str, TaskInfo]:
            compute.add_tasks(job, list(tasks))
            done = compute.wait_for_tasks(job, shared_pool, compute_target.wait_seconds)
            return {t.id: t for t in done}
        return run_

    @pytest.fixture
    def container(self, compute_target: ComputeTarget) -> Iterator[str]:
        """A fresh container in the target's storage (deleted after the test)."""
        name = new_id("cc")
        compute_target.storage.create_container(name)
        yield name
        compute_target.storage.delete_container(name)

    # -- the target itself ---------------------------------------------------

    def test_target_claims_nothing_its_compute_does_not(self, compute_target, compute):
        for flag in ("supports_task_dependencies", "supports_output_files"):
            if getattr(compute_target, flag):
                assert getattr(compute, flag), f"{compute_target.name} claims {flag}"

    # -- tasks ---------------------------------------------------------------

    @requires("has_nodes")
    def test_task_exit_zero_completes_with_success_and_stdout(self, compute, job, run):
        task = run(TaskSpec(id="t1", command_line=bash("echo hello; echo oops >&2")))["t1"]
        assert task.state is TaskState.COMPLETED
        assert (task.exit_code, task.result, task.retry_count) == (0, TaskResult.SUCCESS, 0)
        assert compute.read_task_file(job, "t1", "stdout.txt") == b"hello\n"
        assert compute.read_task_file(job, "t1", "stderr.txt") == b"oops\n"

    @requires("has_nodes")
    def test_task_sees_batch_env_and_start_task_output(self, compute, job, shared_pool, run):
        script = ('echo "$AZ_BATCH_JOB_ID|$AZ_BATCH_TASK_ID|$AZ_BATCH_POOL_ID|$MY_SETTING"; '
                  'cat "$AZ_BATCH_NODE_SHARED_DIR/marker"; '
                  'test "$PWD" = "$AZ_BATCH_TASK_WORKING_DIR" && echo in-wd')
        run(TaskSpec(id="env", command_line=bash(script), environment={"MY_SETTING": "v 1"}))
        lines = compute.read_task_file(job, "env", "stdout.txt").decode().splitlines()
        assert lines[0] == f"{job}|env|{shared_pool}|v 1"
        assert lines[1].startswith("started on ")
        assert lines[2] == "in-wd"

    @requires("has_nodes")
    def test_command_line_runs_without_a_shell(self, compute, job, run):
        run(TaskSpec(id="noshell", command_line='echo "$HOME" a;b'))
        assert compute.read_task_file(job, "noshell", "stdout.txt") == b"$HOME a;b\n"

    @requires("has_nodes")
    def test_failing_task_is_retried_then_fails_with_exit_code(self, run):
        spec = TaskSpec(id="flaky",
                        command_line=bash('echo "try $AZ_BATCH_TASK_RETRY_COUNT"; exit 3'),
                        constraints=TaskConstraints(max_task_retry_count=2))
        task = run(spec)["flaky"]
        assert (task.exit_code, task.result, task.retry_count) == (3, TaskResult.FAILURE, 2)
        assert task.failure is not None and task.failure.category == "usererror"

    @requires("has_nodes")
    def test_task_succeeding_on_retry_reports_success(self, run):
        script = '[ "$AZ_BATCH_TASK_RETRY_COUNT" -ge 1 ] && exit 0; exit 1'
        spec = TaskSpec(id="second", command_line=bash(script),
                        constraints=TaskConstraints(max_task_retry_count=3))
        task = run(spec)["second"]
        assert (task.exit_code, task.result, task.retry_count) == (0, TaskResult.SUCCESS, 1)

    @requires("has_nodes")
    def test_task_over_wall_clock_limit_is_killed(self, compute, compute_target, job, run):
        spec = TaskSpec(id="slow", command_line=bash("sleep 60 & sleep 60; echo never"),
                        constraints=TaskConstraints(max_wall_clock_time=1.0,
                                                    max_task_retry_count=2))
        start = time.monotonic()
        task = run(spec)["slow"]
        assert time.monotonic() - start < 30 + compute_target.task_latency
        assert task.result is TaskResult.FAILURE
        assert task.failure.code == "MaxWallClockTimeExpiry"
        assert task.retry_count == 0
        assert b"never" not in compute.read_task_file(job, "slow", "stdout.txt")

    # -- files -----------------------------------------------------------------

    @requires("has_nodes", "has_storage")
    def test_resource_files_are_fetched_into_working_dir(self, compute, compute_target, job, run,
                                                         container, tmp_path: Path):
        storage = compute_target.storage
        source = tmp_path / "in.txt"
        source.write_text("payload ü\n", encoding="utf-8")
        storage.upload_file(container, "dir/in.txt", source)
        url = storage.blob_read_url(container, "dir/in.txt")
        spec = TaskSpec(id="fetch", command_line=bash('cat "sub dir/copy ü.txt"'),
                        resource_files=(ResourceFile(http_url=url,
                                                     file_path="sub dir/copy ü.txt"),))
        task = run(spec)["fetch"]
        assert task.result is TaskResult.SUCCESS
        assert compute.read_task_file(job, "fetch", "stdout.txt") == "payload ü\n".encode()

    @requires("has_nodes")
    def test_unreachable_resource_file_fails_task_without_retry(self, run):
        spec = TaskSpec(id="nofile", command_line="true",
                        resource_files=(ResourceFile(http_url="http://127.0.0.1:9/c/b?sig=SECRET",
                                                     file_path="b"),),
                        constraints=TaskConstraints(max_task_retry_count=3))
        task = run(spec)["nofile"]
        assert task.result is TaskResult.FAILURE
        assert (task.failure.category, task.retry_count) == ("usererror", 0)
        assert "SECRET" not in task.failure.message

    @requires("has_nodes", "has_storage", "supports_output_files")
    def test_output_files_upload_per_condition(self, compute_target, run, container):
        storage = compute_target.storage
        url = storage.container_write_url(container)
        outputs = (OutputFile(file_pattern="../std*.txt", container_url=url, path="logs",
                              upload_condition=UploadCondition.TASK_COMPLETION),
                   OutputFile(file_pattern="result.txt", container_url=url, path="result.txt",
                              upload_condition=UploadCondition.TASK_SUCCESS),
                   OutputFile(file_pattern="result.txt", container_url=url, path="failed.txt",
                              upload_condition=UploadCondition.TASK_FAILURE),
                   OutputFile(file_pattern="parts/**/*.out", container_url=url, path="parts",
                              upload_condition=UploadCondition.TASK_SUCCESS))
        script = "echo done; echo 42 > result.txt; mkdir -p parts/a; echo 1 > parts/a/x.out"
        task = run(TaskSpec(id="out", command_line=bash(script), output_files=outputs))["out"]
        assert task.result is TaskResult.SUCCESS
        assert storage.list_blobs(container) == ["logs/stderr.txt", "logs/stdout.txt",
                                                 "parts/a/x.out", "result.txt"]

    # -- scheduling ------------------------------------------------------------

    @requires("has_nodes", "supports_task_dependencies")
    def test_dependent_task_starts_after_its_parent_succeeds(self, run):
        parent = TaskSpec(id="parent", command_line=bash("sleep 0.5"))
        child = TaskSpec(id="child", command_line="true", depends_on=("parent",))
        tasks = run(child, parent)
        assert tasks["child"].result is TaskResult.SUCCESS
        assert tasks["child"].start_time >= tasks["parent"].end_time

    @requires("has_nodes", "supports_task_dependencies")
    def test_task_whose_parent_failed_is_blocked_and_the_wait_ends(self, compute_target, run):
        parent = TaskSpec(id="bad-parent", command_line="false")
        child = TaskSpec(id="blocked", command_line="true", depends_on=("bad-parent",))
        grandchild = TaskSpec(id="blocked2", command_line="true", depends_on=("blocked",))
        start = time.monotonic()
        tasks = run(parent, child, grandchild)
        assert time.monotonic() - start < compute_target.wait_seconds / 2
        assert tasks["bad-parent"].result is TaskResult.FAILURE
        assert tasks["blocked"].state is TaskState.ACTIVE
        assert tasks["blocked2"].state is TaskState.ACTIVE
        assert tasks["blocked"].depends_on == ("bad-parent",)

    @requires("has_nodes")
    def test_tasks_run_in_parallel_up_to_nodes_times_slots(self, compute_target, run):
        seconds = 1 + compute_target.task_latency
        tasks = run(*[TaskSpec(id=f"p{i}", command_line=bash(f"sleep {seconds:g}"))
                      for i in range(4)])
        starts = max(t.start_time for t in tasks.values())
        ends = min(t.end_time for t in tasks.values())
        assert starts < ends, "all four tasks (2 nodes x 2 slots) should overlap"
        assert len({t.node_id for t in tasks.values()}) == 2

    # -- ids, errors and deletes -----------------------------------------------

    def test_pool_errors_not_found_and_exists(self, compute, shared_pool, unique_id):
        with pytest.raises(ResourceExists):
            compute.create_pool(PoolSpec(id=shared_pool, node_count=1))
        assert compute.get_pool(shared_pool).spec.id == shared_pool
        with pytest.raises(PoolNotFound):
            compute.get_pool(unique_id("nopool"))
        with pytest.raises(PoolNotFound):
            compute.list_nodes(unique_id("nopool"))

    def test_job_errors_not_found_and_exists(self, compute, shared_pool, job, unique_id):
        with pytest.raises(PoolNotFound):
            compute.create_job(JobSpec(id=unique_id("job"), pool_id=unique_id("nopool")))
        with pytest.raises(ResourceExists):
            compute.create_job(JobSpec(id=job, pool_id=shared_pool))
        with pytest.raises(JobNotFound):
            compute.add_tasks(unique_id("nojob"), [TaskSpec(id="x", command_line="true")])
        with pytest.raises(JobNotFound):
            compute.list_tasks(unique_id("nojob"))
        compute.add_tasks(job, [TaskSpec(id="dup", command_line="true")])
        with pytest.raises(ResourceExists):
            compute.add_tasks(job, [TaskSpec(id="dup", command_line="true")])
        assert "dup" in {t.id for t in compute.list_tasks(job)}
        with pytest.raises(TaskNotFound):
            compute.read_task_file(job, "missing", "stdout.txt")

    @requires("supports_task_dependencies")
    def test_dependencies_need_a_job_that_uses_them(self, compute, shared_pool, unique_id):
        job_id = unique_id("job")
        compute.create_job(JobSpec(id=job_id, pool_id=shared_pool))
        try:
            with pytest.raises(ConfigError):
                compute.add_tasks(job_id, [TaskSpec(id="a", command_line="true",
                                                    depends_on=("b",))])
        finally:
            compute.delete_job(job_id)

    def test_deletes_are_idempotent(self, compute, unique_id):
        compute.delete_job(unique_id("nojob"))
        compute.delete_pool(unique_id("nopool"))
        with pytest.raises(PoolNotFound):
            compute.list_nodes(unique_id("nopool"))

    @requires("has_nodes")
    def test_failing_start_task_marks_nodes_and_fails_fast(self, compute, compute_target,
                                                           unique_id):
        pool_id, job_id = unique_id("pool"), unique_id("job")
        start = StartTask(command_line=bash("echo cannot find the thing >&2; exit 7"))
        compute.create_pool(PoolSpec(id=pool_id, node_count=1, start_task=start))
        try:
            compute.create_job(JobSpec(id=job_id, pool_id=pool_id))
            compute.add_tasks(job_id, [TaskSpec(id="t", command_line="true")])
            with pytest.raises(StartTaskFailed) as info:
                compute.wait_for_tasks(job_id, pool_id, compute_target.wait_seconds)
            assert info.value.exit_code == 7
            assert "cannot find the thing" in info.value.stderr_tail
            [node] = compute.list_nodes(pool_id)
            assert node.state is NodeState.START_TASK_FAILED
        finally:
            compute.delete_job(job_id)
            compute.delete_pool(pool_id)
