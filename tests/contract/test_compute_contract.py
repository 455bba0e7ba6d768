"""The Compute contract, written only against the interface and run for
every backend of the ``compute`` fixture (tests/conftest.py).

Each test works under its own job (and, where it needs one, its own pool)
with unique ids, and removes them afterwards.
"""

from __future__ import annotations

import time

import pytest

from topwords.core.errors import (
    ConfigError, JobNotFound, PoolNotFound, ResourceExists, StartTaskFailed, TaskNotFound,
)
from topwords.core.model import (
    JobSpec, NodeState, OutputFile, PoolSpec, ResourceFile, StartTask, TaskConstraints,
    TaskResult, TaskSpec, TaskState, UploadCondition,
)

WAIT = 60.0


def bash(script: str) -> str:
    return "/bin/bash -c " + "'" + script.replace("'", "'\"'\"'") + "'"


@pytest.fixture(scope="module")
def shared_pool(module_compute, module_unique_id):
    """A 2-node, 2-slot pool whose StartTask leaves a marker in the shared dir."""
    pool_id = module_unique_id("pool")
    start = StartTask(command_line=bash('echo "started on $AZ_BATCH_NODE_ID" '
                                        '> "$AZ_BATCH_NODE_SHARED_DIR/marker"'))
    module_compute.create_pool(PoolSpec(id=pool_id, node_count=2, task_slots_per_node=2,
                                        start_task=start))
    yield pool_id
    module_compute.delete_pool(pool_id)


@pytest.fixture
def job(module_compute, shared_pool, unique_id):
    job_id = unique_id("job")
    module_compute.create_job(JobSpec(id=job_id, pool_id=shared_pool,
                                      uses_task_dependencies=True))
    yield job_id
    module_compute.delete_job(job_id)


def run_tasks(compute, job_id, pool_id, *tasks):
    compute.add_tasks(job_id, list(tasks))
    done = compute.wait_for_tasks(job_id, pool_id, WAIT)
    return {t.id: t for t in done}


def test_task_exit_zero_completes_with_success_and_stdout(module_compute, job, shared_pool):
    tasks = run_tasks(module_compute, job, shared_pool,
                      TaskSpec(id="t1", command_line=bash("echo hello; echo oops >&2")))
    task = tasks["t1"]
    assert task.state is TaskState.COMPLETED
    assert (task.exit_code, task.result, task.retry_count) == (0, TaskResult.SUCCESS, 0)
    assert module_compute.read_task_file(job, "t1", "stdout.txt") == b"hello\n"
    assert module_compute.read_task_file(job, "t1", "stderr.txt") == b"oops\n"


def test_task_sees_batch_env_and_start_task_output(module_compute, job, shared_pool):
    script = ('echo "$AZ_BATCH_JOB_ID|$AZ_BATCH_TASK_ID|$AZ_BATCH_POOL_ID|$MY_SETTING"; '
              'cat "$AZ_BATCH_NODE_SHARED_DIR/marker"; '
              'test "$PWD" = "$AZ_BATCH_TASK_WORKING_DIR" && echo in-wd')
    run_tasks(module_compute, job, shared_pool,
              TaskSpec(id="env", command_line=bash(script), environment={"MY_SETTING": "v 1"}))
    lines = module_compute.read_task_file(job, "env", "stdout.txt").decode().splitlines()
    assert lines[0] == f"{job}|env|{shared_pool}|v 1"
    assert lines[1].startswith("started on ")
    assert lines[2] == "in-wd"


def test_command_line_runs_without_a_shell(module_compute, job, shared_pool):
    run_tasks(module_compute, job, shared_pool,
              TaskSpec(id="noshell", command_line='echo "$HOME" a;b'))
    assert module_compute.read_task_file(job, "noshell", "stdout.txt") == b"$HOME a;b\n"


def test_failing_task_is_retried_then_fails_with_exit_code(module_compute, job, shared_pool):
    spec = TaskSpec(id="flaky", command_line=bash('echo "try $AZ_BATCH_TASK_RETRY_COUNT"; exit 3'),
                    constraints=TaskConstraints(max_task_retry_count=2))
    task = run_tasks(module_compute, job, shared_pool, spec)["flaky"]
    assert (task.exit_code, task.result, task.retry_count) == (3, TaskResult.FAILURE, 2)
    assert task.failure is not None and task.failure.category == "usererror"


def test_task_succeeding_on_retry_reports_success(module_compute, job, shared_pool):
    script = '[ "$AZ_BATCH_TASK_RETRY_COUNT" -ge 1 ] && exit 0; exit 1'
    spec = TaskSpec(id="second", command_line=bash(script),
                    constraints=TaskConstraints(max_task_retry_count=3))
    task = run_tasks(module_compute, job, shared_pool, spec)["second"]
    assert (task.exit_code, task.result, task.retry_count) == (0, TaskResult.SUCCESS, 1)


def test_task_over_wall_clock_limit_is_killed(module_compute, job, shared_pool):
    spec = TaskSpec(id="slow", command_line=bash("sleep 60 & sleep 60; echo never"),
                    constraints=TaskConstraints(max_wall_clock_time=1.0,
                                                max_task_retry_count=2))
    start = time.monotonic()
    task = run_tasks(module_compute, job, shared_pool, spec)["slow"]
    assert time.monotonic() - start < 30
    assert task.result is TaskResult.FAILURE
    assert task.failure.code == "MaxWallClockTimeExpiry"
    assert task.retry_count == 0
    assert b"never" not in module_compute.read_task_file(job, "slow", "stdout.txt")


def test_resource_files_are_fetched_into_working_dir(module_compute, job, shared_pool,
                                                     storage, container, tmp_path):
    source = tmp_path / "in.txt"
    source.write_text("payload ü\n", encoding="utf-8")
    storage.upload_file(container, "dir/in.txt", source)
    url = storage.blob_read_url(container, "dir/in.txt")
    spec = TaskSpec(id="fetch", command_line=bash('cat "sub dir/copy ü.txt"'),
                    resource_files=(ResourceFile(http_url=url, file_path="sub dir/copy ü.txt"),))
    task = run_tasks(module_compute, job, shared_pool, spec)["fetch"]
    assert task.result is TaskResult.SUCCESS
    assert module_compute.read_task_file(job, "fetch", "stdout.txt") == "payload ü\n".encode()


def test_unreachable_resource_file_fails_task_without_retry(module_compute, job, shared_pool):
    spec = TaskSpec(id="nofile", command_line="true",
                    resource_files=(ResourceFile(http_url="http://127.0.0.1:9/c/b?sig=SECRET",
                                                 file_path="b"),),
                    constraints=TaskConstraints(max_task_retry_count=3))
    task = run_tasks(module_compute, job, shared_pool, spec)["nofile"]
    assert task.result is TaskResult.FAILURE
    assert (task.failure.category, task.retry_count) == ("usererror", 0)
    assert "SECRET" not in task.failure.message


def test_output_files_upload_per_condition(module_compute, job, shared_pool, storage, container):
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
    spec = TaskSpec(id="out", command_line=bash(script), output_files=outputs)
    task = run_tasks(module_compute, job, shared_pool, spec)["out"]
    assert task.result is TaskResult.SUCCESS
    assert storage.list_blobs(container) == ["logs/stderr.txt", "logs/stdout.txt",
                                             "parts/a/x.out", "result.txt"]


def test_dependent_task_starts_after_its_parent_succeeds(module_compute, job, shared_pool):
    parent = TaskSpec(id="parent", command_line=bash("sleep 0.5"))
    child = TaskSpec(id="child", command_line="true", depends_on=("parent",))
    tasks = run_tasks(module_compute, job, shared_pool, child, parent)
    assert tasks["child"].result is TaskResult.SUCCESS
    assert tasks["child"].start_time >= tasks["parent"].end_time


def test_task_whose_parent_failed_is_blocked_and_the_wait_ends(module_compute, job, shared_pool):
    parent = TaskSpec(id="bad-parent", command_line="false")
    child = TaskSpec(id="blocked", command_line="true", depends_on=("bad-parent",))
    grandchild = TaskSpec(id="blocked2", command_line="true", depends_on=("blocked",))
    start = time.monotonic()
    tasks = run_tasks(module_compute, job, shared_pool, parent, child, grandchild)
    assert time.monotonic() - start < WAIT / 2
    assert tasks["bad-parent"].result is TaskResult.FAILURE
    assert tasks["blocked"].state is TaskState.ACTIVE
    assert tasks["blocked2"].state is TaskState.ACTIVE
    assert tasks["blocked"].depends_on == ("bad-parent",)


def test_tasks_run_in_parallel_up_to_nodes_times_slots(module_compute, job, shared_pool):
    specs = [TaskSpec(id=f"p{i}", command_line=bash("sleep 1")) for i in range(4)]
    tasks = run_tasks(module_compute, job, shared_pool, *specs)
    starts = max(t.start_time for t in tasks.values())
    ends = min(t.end_time for t in tasks.values())
    assert starts < ends, "all four tasks (2 nodes x 2 slots) should overlap"
    assert len({t.node_id for t in tasks.values()}) == 2


def test_job_errors_not_found_and_exists(module_compute, shared_pool, job, unique_id):
    with pytest.raises(PoolNotFound):
        module_compute.create_job(JobSpec(id=unique_id("job"), pool_id=unique_id("nopool")))
    with pytest.raises(ResourceExists):
        module_compute.create_job(JobSpec(id=job, pool_id=shared_pool))
    with pytest.raises(JobNotFound):
        module_compute.add_tasks(unique_id("nojob"), [TaskSpec(id="x", command_line="true")])
    with pytest.raises(JobNotFound):
        module_compute.list_tasks(unique_id("nojob"))
    module_compute.add_tasks(job, [TaskSpec(id="dup", command_line="true")])
    with pytest.raises(ResourceExists):
        module_compute.add_tasks(job, [TaskSpec(id="dup", command_line="true")])
    with pytest.raises(TaskNotFound):
        module_compute.read_task_file(job, "missing", "stdout.txt")


def test_dependencies_need_a_job_that_uses_them(module_compute, shared_pool, unique_id):
    job_id = unique_id("job")
    module_compute.create_job(JobSpec(id=job_id, pool_id=shared_pool))
    try:
        with pytest.raises(ConfigError):
            module_compute.add_tasks(job_id, [TaskSpec(id="a", command_line="true",
                                                       depends_on=("b",))])
    finally:
        module_compute.delete_job(job_id)


def test_deletes_are_idempotent(module_compute, unique_id):
    module_compute.delete_job(unique_id("nojob"))
    module_compute.delete_pool(unique_id("nopool"))
    with pytest.raises(PoolNotFound):
        module_compute.list_nodes(unique_id("nopool"))


def test_failing_start_task_marks_nodes_and_fails_fast(module_compute, unique_id):
    pool_id, job_id = unique_id("pool"), unique_id("job")
    start = StartTask(command_line=bash("echo cannot find the thing >&2; exit 7"))
    module_compute.create_pool(PoolSpec(id=pool_id, node_count=1, start_task=start))
    try:
        with pytest.raises(ResourceExists):
            module_compute.create_pool(PoolSpec(id=pool_id, node_count=1))
        module_compute.create_job(JobSpec(id=job_id, pool_id=pool_id))
        module_compute.add_tasks(job_id, [TaskSpec(id="t", command_line="true")])
        with pytest.raises(StartTaskFailed) as info:
            module_compute.wait_for_tasks(job_id, pool_id, WAIT)
        assert info.value.exit_code == 7
        assert "cannot find the thing" in info.value.stderr_tail
        [node] = module_compute.list_nodes(pool_id)
        assert node.state is NodeState.START_TASK_FAILED
    finally:
        module_compute.delete_job(job_id)
        module_compute.delete_pool(pool_id)
