"""Task ``exitConditions`` through the public azure-batch 15 SDK on process
nodes: exit codes and ranges, pre-processing and file upload errors and the
default choose a ``jobAction`` (none, disable, terminate: only in a job with
``onTaskFailure`` performexitoptionsjobaction) and a ``dependencyAction``
(satisfy, block)."""

from __future__ import annotations

import pytest
from azure.batch import models as bm
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from emulator_rig import client_of, new_id, start_emulator, vm_configuration, wait_for

J, T = bm.BatchJobState, bm.BatchTaskState


@pytest.fixture(scope="module")
def emulator():
    emulator = start_emulator()
    yield emulator
    emulator.stop()


@pytest.fixture(scope="module")
def client(emulator):
    with client_of(emulator) as client:
        yield client


@pytest.fixture(scope="module")
def pool_id(client):
    pool_id = new_id("exits")
    client.create_pool(bm.BatchPoolCreateOptions(
        id=pool_id, vm_size="standard_d2s_v3", target_dedicated_nodes=1, task_slots_per_node=2,
        virtual_machine_configuration=vm_configuration(client)))
    yield pool_id
    client.begin_delete_pool(pool_id, polling_interval=0.2).result()


@pytest.fixture
def make_job(client, pool_id):
    made = []

    def make(on_failure: str = "performexitoptionsjobaction") -> str:
        job_id = new_id("job")
        client.create_job(bm.BatchJobCreateOptions(
            id=job_id, pool_info=bm.BatchPoolInfo(pool_id=pool_id),
            uses_task_dependencies=True, task_failure_mode=on_failure))
        made.append(job_id)
        return job_id
    yield make
    for job_id in made:
        try:
            client.begin_delete_job(job_id, polling_interval=0.2).result()
        except ResourceNotFoundError:
            pass


def options(job=None, dependency=None) -> bm.ExitOptions:
    return bm.ExitOptions(job_action=job, dependency_action=dependency)


def add(client, job_id: str, task_id: str, script: str, exits=None, depends=None, **more):
    client.create_task(job_id, bm.BatchTaskCreateOptions(
        id=task_id, command_line=f"/bin/sh -c '{script}'", exit_conditions=exits,
        depends_on=bm.BatchTaskDependencies(task_ids=depends) if depends else None, **more))


def completed(client, job_id: str, task_id: str) -> bm.BatchTask:
    return wait_for(lambda: (t := client.get_task(job_id, task_id)).state == T.COMPLETED and t,
                    f"task {task_id} to complete")


def test_an_exit_code_satisfies_dependents_and_the_default_blocks(client, make_job):
    job_id = make_job()
    exits = bm.ExitConditions(exit_codes=[bm.ExitCodeMapping(
        code=3, exit_options=options(dependency="satisfy"))])
    add(client, job_id, "three", "exit 3", exits)
    add(client, job_id, "after-three", "true", depends=["three"])
    add(client, job_id, "four", "exit 4", exits)
    add(client, job_id, "after-four", "true", depends=["four"])
    assert completed(client, job_id, "three").execution_info.result == \
        bm.BatchTaskExecutionResult.FAILURE
    assert completed(client, job_id, "after-three").execution_info.exit_code == 0
    completed(client, job_id, "four")
    for _ in range(10):  # blocked: a failure with no satisfy
        assert client.get_task(job_id, "after-four").state == T.ACTIVE
    assert client.get_job(job_id).state == J.ACTIVE  # jobAction none
    shown = client.get_task(job_id, "three").exit_conditions
    assert shown.exit_codes[0].code == 3 and shown.exit_codes[0].exit_options.dependency_action \
        == bm.DependencyAction.SATISFY


def test_a_success_can_block_its_dependents(client, make_job):
    job_id = make_job()
    add(client, job_id, "ok", "true", bm.ExitConditions(exit_codes=[bm.ExitCodeMapping(
        code=0, exit_options=options(dependency="block"))]))
    add(client, job_id, "after", "true", depends=["ok"])
    assert completed(client, job_id, "ok").execution_info.exit_code == 0
    for _ in range(10):
        assert client.get_task(job_id, "after").state == T.ACTIVE


def test_an_exit_code_range_terminates_the_job(client, make_job):
    job_id = make_job()
    add(client, job_id, "long", "sleep 30")
    add(client, job_id, "bad", "exit 12", bm.ExitConditions(exit_code_ranges=[
        bm.ExitCodeRangeMapping(start=10, end=19, exit_options=options(job="terminate"))]))
    wait_for(lambda: client.get_job(job_id).state == J.COMPLETED, "the job to terminate")
    job = client.get_job(job_id)
    assert job.execution_info.termination_reason == "TaskFailed"
    assert completed(client, job_id, "long").execution_info.failure_info.code == "TaskEnded"


def test_the_default_disables_the_job_and_requeues_its_running_tasks(client, make_job):
    job_id = make_job()
    add(client, job_id, "long", "sleep 2; echo done")
    wait_for(lambda: client.get_task(job_id, "long").state == T.RUNNING, "the task to run")
    add(client, job_id, "bad", "exit 1", bm.ExitConditions(default=options(job="disable")))
    wait_for(lambda: client.get_job(job_id).state == J.DISABLED, "the job to be disabled")
    long = client.get_task(job_id, "long")
    assert long.state == T.ACTIVE and long.execution_info.requeue_count == 1
    client.begin_enable_job(job_id, polling_interval=0.1).result()
    assert completed(client, job_id, "long").execution_info.exit_code == 0


def test_pre_processing_and_upload_errors_have_their_own_options(client, make_job):
    job_id = make_job()
    add(client, job_id, "no-input", "true", bm.ExitConditions(
        pre_processing_error=options(dependency="satisfy"), default=options(job="terminate")),
        resource_files=[bm.ResourceFile(http_url="http://127.0.0.1:9/missing",
                                        file_path="in.txt")])
    add(client, job_id, "after", "true", depends=["no-input"])
    task = completed(client, job_id, "no-input")
    assert task.execution_info.failure_info.code == "ResourceFileDownloadError"
    assert completed(client, job_id, "after").execution_info.exit_code == 0
    assert client.get_job(job_id).state == J.ACTIVE  # preProcessingError, not the default


def test_job_actions_need_perform_exit_options_job_action(client, make_job):
    job_id = make_job("noaction")
    with pytest.raises(HttpResponseError) as refused:
        add(client, job_id, "t", "exit 1", bm.ExitConditions(default=options(job="terminate")))
    assert (refused.value.status_code, refused.value.error.code) == (400, "InvalidPropertyValue")
    add(client, job_id, "dep-only", "exit 1", bm.ExitConditions(
        default=options(job="none", dependency="satisfy")))
    completed(client, job_id, "dep-only")
    assert client.get_job(job_id).task_failure_mode == bm.BatchTaskFailureMode.NO_ACTION
    with pytest.raises(HttpResponseError) as bad:
        add(client, job_id, "r", "true", bm.ExitConditions(exit_code_ranges=[
            bm.ExitCodeRangeMapping(start=5, end=1, exit_options=options())]))
    assert bad.value.error.code == "InvalidPropertyValue"
