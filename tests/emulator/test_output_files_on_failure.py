"""Output files per ``uploadCondition`` after a task fails, through the
azure-batch 15 SDK: as on Batch, ``taskFailure`` and ``taskCompletion``
files upload after a non-zero exit (the very files people add to see why a
task failed) and ``taskSuccess`` ones do not; after success it is the other
way round. Links a failing task plants are not followed then either."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from azure.batch import models as bm

from test_batch_client_conformance import (  # noqa: F401  (fixtures)
    bash, blobs, job, new_id, pool, wait_for_tasks,
)

pytestmark = [pytest.mark.node_runtimes("process", "container")]  # see tests/rigs.py

C = bm.OutputFileUploadCondition


def outputs(url: str) -> list[bm.OutputFile]:
    def out(pattern: str, path: str, condition: C) -> bm.OutputFile:
        return bm.OutputFile(
            file_pattern=pattern,
            destination=bm.OutputFileDestination(container=bm.OutputFileBlobContainerDestination(
                container_url=url, path=path)),
            upload_options=bm.OutputFileUploadConfiguration(upload_condition=condition))
    return [out("../std*.txt", "failure-logs", C.TASK_FAILURE),
            out("result.txt", "always/result.txt", C.TASK_COMPLETION),
            out("result.txt", "success/result.txt", C.TASK_SUCCESS),
            out("*.lnk", "links", C.TASK_FAILURE)]


def test_failed_task_uploads_its_failure_and_completion_files(batch_client, job, blobs,
                                                              tmp_path):
    secret = tmp_path / "host-secret.txt"
    secret.write_text(f"HOST-SECRET-{uuid.uuid4().hex}")
    out = blobs.container()
    script = (f'echo partial > result.txt; ln -s {secret} planted.lnk; '
              f'echo "why it failed (try $AZ_BATCH_TASK_RETRY_COUNT)" >&2; exit 3')
    batch_client.create_task(job, bm.BatchTaskCreateOptions(
        id="fails", command_line=bash(script), output_files=outputs(blobs.write_url(out)),
        constraints=bm.BatchTaskConstraints(max_task_retry_count=1)))
    task = wait_for_tasks(batch_client, job, 1)["fails"]
    run = task.execution_info
    assert (run.exit_code, run.result, run.retry_count) == (
        3, bm.BatchTaskExecutionResult.FAILURE, 1)
    assert run.failure_info.code == "FailureExitCode"  # not an upload failure
    assert blobs.names(out) == ["always/result.txt", "failure-logs/stderr.txt",
                                "failure-logs/stdout.txt"]
    client = blobs.service.get_container_client(out)
    stderr = client.download_blob("failure-logs/stderr.txt").readall()
    assert stderr.endswith(b"why it failed (try 1)\n")
    assert client.download_blob("always/result.txt").readall() == b"partial\n"


def test_succeeded_task_uploads_its_success_and_completion_files_only(batch_client, job, blobs):
    out = blobs.container()
    batch_client.create_task(job, bm.BatchTaskCreateOptions(
        id="works", command_line=bash("echo done > result.txt"),
        output_files=outputs(blobs.write_url(out))))
    task = wait_for_tasks(batch_client, job, 1)["works"]
    assert task.execution_info.result == bm.BatchTaskExecutionResult.SUCCESS
    assert blobs.names(out) == ["always/result.txt", "success/result.txt"]


def test_task_killed_at_its_wall_clock_limit_still_uploads_failure_logs(batch_client, job,
                                                                        blobs):
    out = blobs.container()
    batch_client.create_task(job, bm.BatchTaskCreateOptions(
        id="slow", command_line=bash("echo started >&2; sleep 30"),
        output_files=outputs(blobs.write_url(out)),
        constraints=bm.BatchTaskConstraints(max_wall_clock_time=timedelta(seconds=1))))
    task = wait_for_tasks(batch_client, job, 1)["slow"]
    assert task.execution_info.failure_info.code == "MaxWallClockTimeExpiry"
    assert blobs.names(out) == ["failure-logs/stderr.txt", "failure-logs/stdout.txt"]
