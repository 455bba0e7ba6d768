"""A bug in the node agent fails the task; it never hangs the job."""

from __future__ import annotations

import pytest

from topwords.backends.local import task_runner
from topwords.core.model import JobSpec, PoolSpec, ResourceFile, TaskResult, TaskSpec

pytestmark = [pytest.mark.docker, pytest.mark.azurite]


def test_unexpected_agent_error_completes_task_with_internal_error(
        module_compute, unique_id, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("agent bug")
    monkeypatch.setattr(task_runner, "download_resource_file", broken)
    pool, job = unique_id("pool"), unique_id("job")
    module_compute.create_pool(PoolSpec(id=pool, node_count=1))
    try:
        module_compute.create_job(JobSpec(id=job, pool_id=pool))
        module_compute.add_tasks(job, [TaskSpec(id="t", command_line="true", resource_files=(
            ResourceFile(http_url="http://127.0.0.1:9/x", file_path="x"),))])
        [task] = module_compute.wait_for_tasks(job, pool, 60)
        assert task.result is TaskResult.FAILURE
        assert (task.failure.category, task.failure.code) == ("servererror", "InternalError")
        assert "agent bug" in task.failure.message
    finally:
        module_compute.delete_job(job)
        module_compute.delete_pool(pool)
