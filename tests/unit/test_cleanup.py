"""topwords cleanup: deletes the ledger's outstanding resources of this
backend's endpoint, jobs first, and records the deletions."""

from __future__ import annotations

from fakes import fake_backend

from topwords.core.cleanup import delete_outstanding
from topwords.core.errors import ComputeError
from topwords.core.ledger import Ledger, LedgerEntry


def entry(kind, id, endpoint=""):
    return LedgerEntry(backend="fake", endpoint=endpoint, kind=kind, id=id, run_id="r")


def test_cleanup_deletes_jobs_then_pools_then_containers(tmp_path):
    ledger = Ledger(tmp_path / "l.jsonl")
    for e in (entry("container", "c1"), entry("pool", "p1"), entry("job", "j1"),
              entry("pool", "p2", endpoint="elsewhere")):
        ledger.created(e)
    backend = fake_backend(lambda spec: (0, None))
    said = []
    failed = delete_outstanding(backend, ledger, said.append)
    assert failed == 0
    order = [c for c in backend.compute.calls + backend.storage.calls if c[0].startswith("delete")]
    assert [c[:2] for c in backend.compute.calls] == [("delete_job", "j1"), ("delete_pool", "p1")]
    assert ("delete_container", "c1") in order
    assert [e.id for e in ledger.outstanding()] == ["p2"]
    assert any("other accounts" in line for line in said)


def test_cleanup_dry_run_deletes_nothing(tmp_path):
    ledger = Ledger(tmp_path / "l.jsonl")
    ledger.created(entry("pool", "p1"))
    backend = fake_backend(lambda spec: (0, None))
    said = []
    assert delete_outstanding(backend, ledger, said.append, dry_run=True) == 0
    assert backend.compute.calls == []
    assert said == ["would delete pool p1 (run r, created " + ledger.outstanding()[0].time + ")"]


def test_cleanup_failure_keeps_entry_and_counts_it(tmp_path):
    ledger = Ledger(tmp_path / "l.jsonl")
    ledger.created(entry("pool", "p1"))
    backend = fake_backend(lambda spec: (0, None))

    def refuse(pool_id):
        raise ComputeError("403 AuthorizationFailure")
    backend.compute.delete_pool = refuse
    assert delete_outstanding(backend, ledger, lambda m: None) == 1
    assert [e.id for e in ledger.outstanding()] == ["p1"]


def test_containers_of_storage_that_ended_with_its_run_are_gone_not_deleted(tmp_path):
    ledger = Ledger(tmp_path / "l.jsonl")
    for e in (entry("container", "c-private", endpoint="private:dead"),
              entry("container", "c-live", endpoint="private:alive"),
              entry("container", "c-here")):
        ledger.created(e)
    backend = fake_backend(lambda spec: (0, None))
    backend.gone = lambda endpoint: "its Azurite ended" if endpoint == "private:dead" else None
    said = []
    assert delete_outstanding(backend, ledger, said.append) == 0
    assert ("delete_container", "c-private") not in backend.storage.calls  # nothing to delete
    assert "container c-private (run r) is gone: its Azurite ended" in said
    assert sorted(e.id for e in ledger.outstanding()) == ["c-live"]  # not known: untouched
