"""The run ledger: what was created and not deleted is outstanding."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from topwords.core.errors import ConfigError
from topwords.core.ledger import Ledger, LedgerEntry


def entry(kind="pool", id="p1", backend="azure", endpoint="https://b|https://s"):
    return LedgerEntry(backend=backend, endpoint=endpoint, kind=kind, id=id, run_id="r1")


def test_outstanding_without_file_is_empty(tmp_path):
    assert Ledger(tmp_path / "none.jsonl").outstanding() == []


def test_created_then_deleted_is_not_outstanding(tmp_path):
    ledger = Ledger(tmp_path / "l.jsonl")
    ledger.created(entry("pool", "p1"))
    ledger.created(entry("job", "j1"))
    ledger.deleted(entry("job", "j1"))
    [left] = ledger.outstanding()
    assert (left.kind, left.id, left.run_id) == ("pool", "p1", "r1")
    assert left.time  # stamped at creation


def test_outstanding_filters_by_backend(tmp_path):
    ledger = Ledger(tmp_path / "l.jsonl")
    ledger.created(entry(backend="azure"))
    ledger.created(entry(backend="local", id="p2"))
    assert [e.id for e in ledger.outstanding("local")] == ["p2"]


def test_same_id_in_another_endpoint_is_another_resource(tmp_path):
    ledger = Ledger(tmp_path / "l.jsonl")
    ledger.created(entry(endpoint="a"))
    ledger.created(entry(endpoint="b"))
    ledger.deleted(entry(endpoint="a"))
    assert [e.endpoint for e in ledger.outstanding()] == ["b"]


def test_torn_last_line_is_ignored_but_damage_inside_is_an_error(tmp_path):
    ledger = Ledger(tmp_path / "l.jsonl")
    ledger.created(entry())
    with open(ledger.path, "a") as f:
        f.write('{"event": "crea')
    assert len(ledger.outstanding()) == 1
    with open(ledger.path, "a") as f:
        f.write("\n" + ledger.path.read_text().splitlines()[0] + "\n")
    with pytest.raises(ConfigError, match="damaged"):
        ledger.outstanding()


def test_concurrent_writers_lose_no_line(tmp_path):
    ledger = Ledger(tmp_path / "l.jsonl")

    def write(n):
        for i in range(50):
            ledger.created(entry(id=f"p{n}-{i}"))
    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(ledger.outstanding()) == 200


@given(st.lists(st.tuples(st.sampled_from(["created", "deleted"]),
                          st.sampled_from(["p1", "p2", "p3"])), max_size=30))
def test_outstanding_is_last_event_created(tmp_path_factory, events):
    ledger = Ledger(tmp_path_factory.mktemp("l") / "l.jsonl")
    last = {}
    for event, name in events:
        getattr(ledger, event)(entry(id=name))
        last[name] = event
    assert sorted(e.id for e in ledger.outstanding()) == sorted(
        n for n, ev in last.items() if ev == "created")
