"""Conditional requests through azure-batch 15's ``BatchClient`` (its
``etag``/``match_condition`` and ``if_modified_since``/``if_unmodified_since``
keywords), on an emulator with process nodes: optimistic concurrency code
gets 412 ConditionNotMet when the resource changed under it, and a get
whose condition says nothing changed gets 304 (which azure-batch 15's own
error policy raises as ``ResourceModifiedError``; the tests check the
status)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from azure.batch import models as bm
from azure.core import MatchConditions
from azure.core.exceptions import HttpResponseError, ResourceModifiedError

from emulator_rig import new_id, vm_configuration, wait_for


def status_of(call, *args, **kwargs) -> int:
    """The HTTP status of a call that the SDK raises on."""
    with pytest.raises(HttpResponseError) as caught:
        call(*args, **kwargs)
    return caught.value.status_code


def make_job(client) -> str:
    """A job on a pool that does not exist: nothing runs, nothing changes it."""
    job_id = new_id("cond")
    client.create_job(bm.BatchJobCreateOptions(id=job_id,
                                               pool_info=bm.BatchPoolInfo(pool_id="absent")))
    return job_id


def test_update_job_with_a_stale_etag_is_412_and_changes_nothing(client):
    job_id = make_job(client)
    seen = client.get_job(job_id).etag
    client.update_job(job_id, bm.BatchJobUpdateOptions(priority=10), etag=seen,
                      match_condition=MatchConditions.IfNotModified)
    with pytest.raises(ResourceModifiedError) as caught:
        client.update_job(job_id, bm.BatchJobUpdateOptions(priority=20), etag=seen,
                          match_condition=MatchConditions.IfNotModified)
    assert caught.value.status_code == 412
    assert caught.value.error.code == "ConditionNotMet"
    job = client.get_job(job_id)
    assert job.priority == 10 and job.etag != seen


def test_two_writers_with_one_etag_only_the_first_wins(client):
    job_id = make_job(client)
    seen = client.get_job(job_id).etag
    outcomes = []
    for priority in (1, 2):
        try:
            client.update_job(job_id, bm.BatchJobUpdateOptions(priority=priority), etag=seen,
                              match_condition=MatchConditions.IfNotModified)
            outcomes.append("ok")
        except ResourceModifiedError:
            outcomes.append("412")
    assert outcomes == ["ok", "412"]
    assert client.get_job(job_id).priority == 1


def test_get_job_with_its_current_etag_as_if_none_match_is_304(client):
    job_id = make_job(client)
    seen = client.get_job(job_id).etag
    assert status_of(client.get_job, job_id, etag=seen,
                     match_condition=MatchConditions.IfModified) == 304
    client.update_job(job_id, bm.BatchJobUpdateOptions(priority=5))
    assert client.get_job(job_id, etag=seen,
                          match_condition=MatchConditions.IfModified).priority == 5


def test_get_job_not_modified_since_its_last_modified_is_304(client):
    job_id = make_job(client)
    job = client.get_job(job_id)
    assert status_of(client.get_job, job_id, if_modified_since=job.last_modified) == 304
    earlier = job.last_modified - timedelta(seconds=1)
    assert client.get_job(job_id, if_modified_since=earlier).id == job_id


def test_get_with_if_unmodified_since_before_the_last_change_is_412(client):
    job_id = make_job(client)
    job = client.get_job(job_id)
    with pytest.raises(HttpResponseError) as caught:
        client.get_job(job_id, if_unmodified_since=job.last_modified - timedelta(seconds=1))
    assert caught.value.status_code == 412
    assert client.get_job(job_id, if_unmodified_since=job.last_modified).id == job_id


def test_get_with_a_matching_if_match_is_answered(client):
    job_id = make_job(client)
    seen = client.get_job(job_id).etag
    assert client.get_job(job_id, etag=seen,
                          match_condition=MatchConditions.IfNotModified).etag == seen
    with pytest.raises(ResourceModifiedError):
        client.get_job(job_id, etag="0x1", match_condition=MatchConditions.IfNotModified)


def test_delete_job_with_a_stale_etag_is_412_and_the_job_stays(client):
    job_id = make_job(client)
    seen = client.get_job(job_id).etag
    client.update_job(job_id, bm.BatchJobUpdateOptions(priority=3))
    with pytest.raises(ResourceModifiedError):
        client.begin_delete_job(job_id, etag=seen,
                                match_condition=MatchConditions.IfNotModified).result()
    assert client.get_job(job_id).state == bm.BatchJobState.ACTIVE
    fresh = client.get_job(job_id).etag
    client.begin_delete_job(job_id, etag=fresh, match_condition=MatchConditions.IfNotModified,
                            polling_interval=0).result()
    assert not [j for j in client.list_jobs() if j.id == job_id]


def test_update_not_modified_since_a_time_is_412(client):
    job_id = make_job(client)
    job = client.get_job(job_id)
    with pytest.raises(HttpResponseError) as caught:
        client.update_job(job_id, bm.BatchJobUpdateOptions(priority=7),
                          if_modified_since=job.last_modified)
    assert caught.value.status_code == 412
    assert client.get_job(job_id).priority != 7


def test_terminate_task_with_a_stale_etag_is_412(client):
    job_id = make_job(client)
    client.create_task(job_id, bm.BatchTaskCreateOptions(id="t", command_line="true"))
    task = client.get_task(job_id, "t")
    assert status_of(client.get_task, job_id, "t", etag=task.etag,
                     match_condition=MatchConditions.IfModified) == 304
    with pytest.raises(ResourceModifiedError):
        client.terminate_task(job_id, "t", etag="0x1",
                              match_condition=MatchConditions.IfNotModified)
    assert client.get_task(job_id, "t").state == bm.BatchTaskState.ACTIVE
    client.terminate_task(job_id, "t", etag=task.etag,
                          match_condition=MatchConditions.IfNotModified)
    assert client.get_task(job_id, "t").state == bm.BatchTaskState.COMPLETED


def test_pool_update_and_exists_follow_the_pools_etag(client):
    pool_id = new_id("cond")
    client.create_pool(bm.BatchPoolCreateOptions(
        id=pool_id, vm_size="standard_d2s_v3", target_dedicated_nodes=0,
        virtual_machine_configuration=vm_configuration(client)))
    try:
        seen = client.get_pool(pool_id).etag
        client.update_pool(pool_id, bm.BatchPoolUpdateOptions(
            metadata=[bm.BatchMetadataItem(name="a", value="1")]), etag=seen,
            match_condition=MatchConditions.IfNotModified)
        with pytest.raises(ResourceModifiedError):
            client.update_pool(pool_id, bm.BatchPoolUpdateOptions(
                metadata=[bm.BatchMetadataItem(name="a", value="2")]), etag=seen,
                match_condition=MatchConditions.IfNotModified)
        assert [m.value for m in client.get_pool(pool_id).metadata] == ["1"]
        assert status_of(client.get_pool, pool_id, etag=client.get_pool(pool_id).etag,
                         match_condition=MatchConditions.IfModified) == 304
        assert client.pool_exists(pool_id, etag=seen,
                                  match_condition=MatchConditions.IfModified)
    finally:
        client.begin_delete_pool(pool_id, polling_interval=0).result()


def test_a_condition_on_a_missing_job_is_404(client):
    with pytest.raises(HttpResponseError) as caught:
        client.get_job(new_id("absent"), etag="0x1",
                       match_condition=MatchConditions.IfNotModified)
    assert caught.value.status_code == 404


@pytest.fixture(scope="module")
def ran_task(client):
    """A task that has run on a one-node pool: its files are there."""
    pool_id, job_id = new_id("cond"), new_id("cond")
    client.create_pool(bm.BatchPoolCreateOptions(
        id=pool_id, vm_size="standard_d2s_v3", target_dedicated_nodes=1,
        virtual_machine_configuration=vm_configuration(client)))
    client.create_job(bm.BatchJobCreateOptions(id=job_id,
                                               pool_info=bm.BatchPoolInfo(pool_id=pool_id)))
    client.create_task(job_id, bm.BatchTaskCreateOptions(
        id="ran", command_line="/bin/sh -c 'echo hello'"))
    wait_for(lambda: client.get_task(job_id, "ran").state == bm.BatchTaskState.COMPLETED,
             "the task to complete")
    yield job_id, "ran"
    client.begin_delete_pool(pool_id, polling_interval=0).result()


def test_file_properties_follow_if_modified_since(client, ran_task):
    job_id, task_id = ran_task
    props = client.get_task_file_properties(job_id, task_id, "stdout.txt")
    changed = props.last_modified
    assert status_of(client.get_task_file_properties, job_id, task_id, "stdout.txt",
                     if_modified_since=changed) == 304
    earlier = changed - timedelta(seconds=1)
    assert client.get_task_file_properties(job_id, task_id, "stdout.txt",
                                           if_modified_since=earlier).content_length == 6
    assert status_of(client.get_task_file_properties, job_id, task_id, "stdout.txt",
                     if_unmodified_since=earlier) == 412
    data = b"".join(client.download_task_file(job_id, task_id, "stdout.txt",
                                              if_unmodified_since=changed))
    assert data == b"hello\n"
