"""The storage watch: storage that refuses or dies fails the run at once;
storage that is only slow to answer gets SLOW_LIMIT seconds to answer again."""

from __future__ import annotations

import pytest

from topwords.core import watch
from topwords.core.errors import BlobNotFound, StorageError, StorageTimeout
from topwords.core.tracking import StorageState


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Storage:
    name = "azure-blob"

    def __init__(self) -> None:
        self.answers: list[Exception | None] = []
        self.checks = 0

    def check_container(self, container: str) -> None:
        self.checks += 1
        answer = self.answers.pop(0) if self.answers else None
        if answer is not None:
            raise answer


@pytest.fixture
def clock(monkeypatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(watch.time, "monotonic", clock)
    return clock


def _watch(storage: Storage, death=None) -> watch.StorageWatch:
    return watch.StorageWatch(storage, "tw-r1-output", "azurite:http://127.0.0.1:1", death,
                              StorageState())


def test_a_refusing_storage_fails_the_first_check(clock):
    storage = Storage()
    storage.answers = [StorageError("checking container failed: connection refused")]
    check = _watch(storage)
    with pytest.raises(StorageError, match="stopped answering while the tasks ran"):
        check()
    assert check.state.silent


def test_a_slow_storage_gets_slow_limit_seconds_then_fails(clock):
    storage = Storage()
    storage.answers = [StorageTimeout("read timed out")] * 1000
    check = _watch(storage)
    started = clock.now
    while clock.now - started < watch.SLOW_LIMIT - watch.STORAGE_CHECK:
        check()  # busy: no verdict yet
        clock.now += watch.STORAGE_CHECK
    assert storage.checks >= 10 and not check.state.silent
    clock.now = started + watch.SLOW_LIMIT
    with pytest.raises(StorageError, match="stopped answering.*read timed out"):
        check()
    assert check.state.silent


def test_an_answer_after_a_slow_spell_starts_the_limit_over(clock):
    storage = Storage()
    check = _watch(storage)
    storage.answers = [StorageTimeout("slow")] * 3 + [None] + [StorageTimeout("slow")] * 3
    for _ in range(7):  # 3 slow, 1 answer, 3 slow: never SLOW_LIMIT in a row
        check()
        clock.now += watch.SLOW_LIMIT / 3 - 1
    assert storage.checks == 7 and not check.state.silent


def test_a_slow_storage_whose_process_died_fails_at_once(clock):
    storage = Storage()
    storage.answers = [StorageTimeout("slow")]
    check = _watch(storage, death=lambda: "Azurite (pid 7) exited with status 1")
    with pytest.raises(StorageError, match="the run's storage died"):
        check()
    assert check.state.lost.startswith("Azurite")


def test_lost_containers_fail_at_once(clock):
    storage = Storage()
    storage.answers = [BlobNotFound("no container")]
    check = _watch(storage)
    with pytest.raises(StorageError, match="containers are gone"):
        check()
    assert check.state.lost


def test_the_azure_blob_errors_tell_a_timeout_from_a_refusal():
    from azure.core.exceptions import ServiceRequestError, ServiceResponseTimeoutError

    from topwords.backends.azure.blob_storage import _translate
    with pytest.raises(StorageTimeout):
        with _translate("checking container 'c'"):
            raise ServiceResponseTimeoutError("Read timed out. (read timeout=5)")
    with pytest.raises(StorageError) as refused:
        with _translate("checking container 'c'"):
            raise ServiceRequestError("Connection refused")
    assert not isinstance(refused.value, StorageTimeout)
