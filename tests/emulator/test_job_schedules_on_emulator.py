"""Job schedules through the public azure-batch 15 SDK, on process nodes
and the emulator's test clock: jobs made on time from the job
specification, one active job at a time, executionInfo, every operation
and its conflicts."""

from __future__ import annotations

import sys
from datetime import timedelta

import pytest
from azure.batch import models as bm
from azure.core.exceptions import HttpResponseError, ResourceExistsError, ResourceNotFoundError

from emulator_rig import new_id, vm_configuration, wait_for


@pytest.fixture(scope="module")
def pool_id(client):
    pool_id = new_id("sched")
    client.create_pool(bm.BatchPoolCreateOptions(
        id=pool_id, vm_size="standard_d2s_v3", target_dedicated_nodes=1,
        virtual_machine_configuration=vm_configuration(client)))
    return pool_id


def job_spec(pool_id: str, **extra) -> bm.BatchJobSpecification:
    return bm.BatchJobSpecification(pool_info=bm.BatchPoolInfo(pool_id=pool_id), **extra)


def create(client, pool_id: str, **schedule) -> str:
    schedule_id = new_id("js")
    client.create_job_schedule(bm.BatchJobScheduleCreateOptions(
        id=schedule_id, schedule=bm.BatchJobScheduleConfiguration(**schedule),
        job_specification=job_spec(pool_id, all_tasks_complete_mode="terminatejob",
                                   metadata=[bm.BatchMetadataItem(name="k", value="v")]),
        display_name="nightly"))
    return schedule_id


def jobs_of(client, schedule_id: str) -> list[str]:
    return sorted(j.id for j in client.list_jobs_from_schedule(schedule_id))


def finish(client, job_id: str) -> None:
    """Give the job one quick task; it completes (terminatejob) when that does."""
    client.create_task(job_id, bm.BatchTaskCreateOptions(id="t", command_line="true"))
    wait_for(lambda: client.get_job(job_id).state == bm.BatchJobState.COMPLETED,
             f"job {job_id} to complete")


def test_a_recurring_schedule_makes_a_job_each_interval_on_the_test_clock(emulator, client,
                                                                          pool_id):
    start = emulator.clock.now() + timedelta(hours=1)
    schedule_id = create(client, pool_id, do_not_run_until=start,
                         recurrence_interval=timedelta(days=1))
    schedule = client.get_job_schedule(schedule_id)
    assert schedule.state == bm.BatchJobScheduleState.ACTIVE
    assert schedule.execution_info.next_run_time == start.replace(microsecond=start.microsecond)
    assert schedule.execution_info.recent_job is None and jobs_of(client, schedule_id) == []

    emulator.clock.advance(timedelta(hours=1))
    first = f"{schedule_id}:job-1"
    wait_for(lambda: jobs_of(client, schedule_id) == [first], "the first job")
    schedule = client.get_job_schedule(schedule_id)
    assert schedule.execution_info.recent_job.id == first
    assert schedule.execution_info.next_run_time == start + timedelta(days=1)
    job = client.get_job(first)
    assert job.pool_info.pool_id == pool_id and job.metadata[0].value == "v"
    finish(client, first)

    emulator.clock.advance(timedelta(days=1))
    wait_for(lambda: len(jobs_of(client, schedule_id)) == 2, "the second job")
    assert jobs_of(client, schedule_id) == [first, f"{schedule_id}:job-2"]


def test_one_active_job_at_a_time_and_missed_turns_are_lost(emulator, client, pool_id):
    schedule_id = create(client, pool_id, recurrence_interval=timedelta(hours=1),
                         start_window=timedelta(minutes=10))
    first = f"{schedule_id}:job-1"
    wait_for(lambda: jobs_of(client, schedule_id) == [first], "the first job, at once")
    emulator.clock.advance(timedelta(hours=1, minutes=20))  # job-1 still active: turn missed
    client.get_job_schedule(schedule_id)  # let a tick pass
    assert jobs_of(client, schedule_id) == [first]
    finish(client, first)
    emulator.clock.advance(timedelta(minutes=45))  # the next turn (2 h), job-1 done
    wait_for(lambda: len(jobs_of(client, schedule_id)) == 2, "the job of the next turn")


def test_a_schedule_without_recurrence_completes_when_its_job_does(emulator, client, pool_id):
    schedule_id = create(client, pool_id)
    job_id = wait_for(lambda: jobs_of(client, schedule_id), "its one job")[0]
    finish(client, job_id)
    schedule = wait_for(lambda: _in_state(client, schedule_id, "completed"), "completion")
    assert schedule.execution_info.end_time is not None
    with pytest.raises(HttpResponseError) as info:
        client.disable_job_schedule(schedule_id)
    assert (info.value.status_code, info.value.error.code) == (409, "JobScheduleCompleted")


def test_no_job_after_do_not_run_after(emulator, client, pool_id):
    now = emulator.clock.now()
    schedule_id = create(client, pool_id, do_not_run_until=now + timedelta(hours=2),
                         do_not_run_after=now + timedelta(hours=1))
    emulator.clock.advance(timedelta(hours=3))
    wait_for(lambda: _in_state(client, schedule_id, "completed"), "completion")
    assert jobs_of(client, schedule_id) == []


def test_disable_enable_patch_replace_terminate_delete(emulator, client, pool_id):
    schedule_id = create(client, pool_id, do_not_run_until=emulator.clock.now()
                         + timedelta(hours=1))
    assert client.job_schedule_exists(schedule_id)
    client.disable_job_schedule(schedule_id)
    emulator.clock.advance(timedelta(hours=1))
    assert _in_state(client, schedule_id, "disabled") and jobs_of(client, schedule_id) == []
    client.enable_job_schedule(schedule_id)  # the job that came due is made now
    wait_for(lambda: jobs_of(client, schedule_id), "the job made on enable")

    client.update_job_schedule(schedule_id, bm.BatchJobScheduleUpdateOptions(
        metadata=[bm.BatchMetadataItem(name="owner", value="ops")]))
    schedule = client.get_job_schedule(schedule_id)
    assert [(m.name, m.value) for m in schedule.metadata] == [("owner", "ops")]
    assert schedule.schedule.recurrence_interval is None

    schedule.schedule = bm.BatchJobScheduleConfiguration(recurrence_interval=timedelta(hours=6))
    client.replace_job_schedule(schedule_id, schedule)
    schedule = client.get_job_schedule(schedule_id)
    assert schedule.schedule.recurrence_interval == timedelta(hours=6)
    assert [m.name for m in schedule.metadata] == ["owner"]

    client.begin_terminate_job_schedule(schedule_id, polling_interval=0.1).result()
    assert _in_state(client, schedule_id, "completed")
    job = client.get_job(f"{schedule_id}:job-1")
    assert job.state == bm.BatchJobState.COMPLETED

    client.begin_delete_job_schedule(schedule_id, polling_interval=0.1).result()
    with pytest.raises(ResourceNotFoundError):  # azure-batch 15.1 raises on a 404 HEAD
        client.job_schedule_exists(schedule_id)
    with pytest.raises(ResourceNotFoundError):
        client.get_job(f"{schedule_id}:job-1")  # its jobs go with it


def test_list_and_errors(emulator, client, pool_id):
    schedule_id = create(client, pool_id, do_not_run_until=emulator.clock.now()
                         + timedelta(days=1))
    assert schedule_id in {s.id for s in client.list_job_schedules()}
    with pytest.raises(ResourceExistsError) as info:
        client.create_job_schedule(bm.BatchJobScheduleCreateOptions(
            id=schedule_id, schedule=bm.BatchJobScheduleConfiguration(),
            job_specification=job_spec(pool_id)))
    assert info.value.error.code == "JobScheduleExists"
    with pytest.raises(ResourceExistsError) as info:
        client.create_job(bm.BatchJobCreateOptions(id=schedule_id,
                                                   pool_info=bm.BatchPoolInfo(pool_id=pool_id)))
    assert info.value.error.code == "JobScheduleWithSameIdExists"
    job_id = new_id("job")
    client.create_job(bm.BatchJobCreateOptions(id=job_id,
                                               pool_info=bm.BatchPoolInfo(pool_id=pool_id)))
    with pytest.raises(ResourceExistsError) as info:
        client.create_job_schedule(bm.BatchJobScheduleCreateOptions(
            id=job_id, schedule=bm.BatchJobScheduleConfiguration(),
            job_specification=job_spec(pool_id)))
    assert info.value.error.code == "JobWithSameIdExists"
    with pytest.raises(ResourceNotFoundError) as info:
        client.get_job_schedule("no-such-schedule")
    assert info.value.error.code == "JobScheduleNotFound"
    with pytest.raises(HttpResponseError) as info:
        client.create_job_schedule(bm.BatchJobScheduleCreateOptions(
            id=new_id("js"), schedule=bm.BatchJobScheduleConfiguration(
                recurrence_interval=timedelta(seconds=30)),
            job_specification=job_spec(pool_id)))
    assert (info.value.status_code, info.value.error.code) == (400, "InvalidPropertyValue")


def _in_state(client, schedule_id: str, state: str):
    schedule = client.get_job_schedule(schedule_id)
    return schedule if schedule.state == state else None


def test_a_due_job_waits_for_the_one_before_within_its_window(emulator, client, pool_id):
    schedule_id = create(client, pool_id, recurrence_interval=timedelta(hours=1),
                         start_window=timedelta(minutes=30))
    first = f"{schedule_id}:job-1"
    wait_for(lambda: jobs_of(client, schedule_id) == [first], "the first job")
    emulator.clock.advance(timedelta(hours=1, minutes=10))  # due 10 min ago; job-1 runs
    client.get_job_schedule(schedule_id)
    assert jobs_of(client, schedule_id) == [first]
    finish(client, first)  # within the window: the waiting job is made now
    wait_for(lambda: len(jobs_of(client, schedule_id)) == 2, "the job that waited")
    schedule = client.get_job_schedule(schedule_id)
    assert schedule.execution_info.recent_job.id == f"{schedule_id}:job-2"


def test_a_one_off_schedule_whose_window_passed_while_disabled_completes_without_a_job(
        emulator, client, pool_id):
    schedule_id = create(client, pool_id, do_not_run_until=emulator.clock.now()
                         + timedelta(hours=1), start_window=timedelta(minutes=5))
    client.disable_job_schedule(schedule_id)
    emulator.clock.advance(timedelta(hours=2))
    wait_for(lambda: _in_state(client, schedule_id, "completed"), "completion")
    assert jobs_of(client, schedule_id) == []


# -- where a schedule's state lives: the engine's record, nowhere else -------------------

def test_a_schedules_etag_and_last_modified_come_from_its_engine_record(emulator, client,
                                                                        pool_id):
    from topwords.backends.local.emulator.shapes.wire import etag
    schedule_id = create(client, pool_id, do_not_run_until=emulator.clock.now()
                         + timedelta(days=1))
    record = emulator.engine.job_schedule_record(schedule_id)
    got = client.get_job_schedule(schedule_id)
    assert got.etag == etag(record.modified) and got.last_modified == record.modified
    assert record.extras["displayName"] == "nightly" and dict(record.metadata) == {}
    client.update_job_schedule(schedule_id, bm.BatchJobScheduleUpdateOptions(
        metadata=[bm.BatchMetadataItem(name="owner", value="ops")]))
    changed = emulator.engine.job_schedule_record(schedule_id)
    assert changed.modified > record.modified and changed.metadata == {"owner": "ops"}
    again = client.get_job_schedule(schedule_id)
    assert again.etag == etag(changed.modified) != got.etag
    client.begin_delete_job_schedule(schedule_id, polling_interval=0.1).result()
    assert schedule_id not in {r.id for r in emulator.engine.job_schedule_records()}


def test_the_emulator_holds_no_schedule_state(emulator, client, pool_id):
    """The routing Service has settings and the engine only, before and after
    schedules come and go; a schedule is found in the engine's records."""
    import dataclasses
    service = emulator._server.service
    settings = {f.name for f in dataclasses.fields(service)}
    assert settings == {"engine", "page_size", "max_nodes", "delete_grace", "lock", "started",
                        "conditional"}
    assert set(vars(service)) == settings
    schedule_id = create(client, pool_id, recurrence_interval=timedelta(hours=1))
    wait_for(lambda: jobs_of(client, schedule_id) == [f"{schedule_id}:job-1"], "its job")
    assert set(vars(service)) == settings
    assert schedule_id not in repr({k: v for k, v in vars(service).items() if k != "engine"})
    assert emulator.engine.job_schedule_record(schedule_id).jobs == (f"{schedule_id}:job-1",)
    from topwords.backends.local import emulator as package
    modules = [m for name, m in sys.modules.items() if name.startswith(package.__name__)]
    assert not [m.__name__ for m in modules if hasattr(m, "JobSchedules")]
    client.begin_delete_job_schedule(schedule_id, polling_interval=0.1).result()
    assert schedule_id not in {r.id for r in emulator.engine.job_schedule_records()}


def test_deleting_a_schedule_answers_once_it_is_gone_not_after_the_whole_grace(
        emulator, client, pool_id):
    import time
    schedule_id = create(client, pool_id, do_not_run_until=emulator.clock.now()
                         + timedelta(days=1))  # no job: nothing to wait for
    emulator._server.service.delete_grace = 5.0
    try:
        started = time.monotonic()
        client.begin_delete_job_schedule(schedule_id, polling_interval=0.1).result()
        assert time.monotonic() - started < 2.5
    finally:
        emulator._server.service.delete_grace = 0.5
