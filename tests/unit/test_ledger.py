"""The run ledger: what was created and not deleted is outstanding."""

from __future__ import annotations

import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from topwords.core.errors import ConfigError, TopwordsError
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


# -- checked before a run, writing nothing -----------------------------------

def test_check_new_file_in_new_folders_passes_and_creates_nothing(tmp_path):
    ledger = Ledger(tmp_path / "a" / "b" / "l.jsonl")
    assert ledger.check() is ledger
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("where, why", [
    ("dir", "it is a directory"), ("/proc/self/l.jsonl", "it is under /proc"),
    ("/sys/l.jsonl", "it is under /sys"), ("/dev/null", "it is not a regular file"),
    ("file/l.jsonl", "is not a directory"),
])
def test_check_unusable_path_raises_config_error_naming_it(tmp_path, where, why):
    (tmp_path / "file").write_text("x")
    path = tmp_path if where == "dir" else (tmp_path / where if not where.startswith("/")
                                            else where)
    with pytest.raises(ConfigError, match=why) as info:
        Ledger(path).check("TOPWORDS_LEDGER")
    assert str(info.value).startswith(f"TOPWORDS_LEDGER={path} cannot hold the run ledger")


def test_check_symlink_into_proc_is_refused(tmp_path):
    (tmp_path / "l.jsonl").symlink_to("/proc/self/environ")
    with pytest.raises(ConfigError, match="under /proc"):
        Ledger(tmp_path / "l.jsonl").check()


def test_default_uses_xdg_state_home_and_checks_it(monkeypatch, tmp_path):
    monkeypatch.delenv("TOPWORDS_LEDGER", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "state"))
    assert Ledger.default().path == tmp_path / "state" / "topwords" / "ledger.jsonl"
    (tmp_path / "file").write_text("x")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "file"))
    with pytest.raises(ConfigError, match="the run ledger cannot be kept at .*: .* is not a directory; set TOPWORDS_LEDGER"):
        Ledger.default()


def test_append_failure_is_one_clear_error_not_an_oserror(tmp_path):
    ledger = Ledger(tmp_path / "l.jsonl")
    (tmp_path / "l.jsonl").mkdir()  # made unusable after the check
    with pytest.raises(TopwordsError, match="cannot write the run ledger") as info:
        ledger.created(entry())
    assert not isinstance(info.value, OSError)
