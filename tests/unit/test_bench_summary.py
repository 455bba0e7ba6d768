"""bench/: every script compiles, and bench/run.py's summary table is built
from the figures the sections write (bench/common.py), whatever they are."""

from __future__ import annotations

import json
import py_compile
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.fixture
def bench_modules(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCH))
    import common
    import run
    yield common, run
    for name in ("common", "run"):
        sys.modules.pop(name, None)


@pytest.mark.parametrize("script", sorted(BENCH.glob("*.py")), ids=lambda p: p.name)
def test_every_bench_script_compiles(script, tmp_path):
    py_compile.compile(str(script), cfile=str(tmp_path / "out.pyc"), doraise=True)


def test_figure_ratio_and_verdict(bench_modules):
    common, _ = bench_modules
    row = common.figure("x", 30.0, "/s", baseline="b", baseline_value=10.0, target=">= 2x",
                        verdict=False)
    assert row["ratio"] == pytest.approx(3.0)
    assert row["verdict"] == "MISS"
    info = common.figure("y", 1.0, "s")
    assert info["ratio"] is None and info["verdict"] is None


def test_summary_table_from_written_results(bench_modules, tmp_path):
    common, run = bench_modules
    out = tmp_path / "engine.json"
    common.write_result(out, "engine", [
        common.figure("engine: tasks/s", 412.3, "/s", baseline="docker exec",
                      baseline_value=20.5, target=">= 10/s", verdict=True),
        common.figure("kernel: MB/s", 54.7, "MB/s", baseline="tutorial", baseline_value=20.5,
                      target=">= 4x", verdict=False),
        common.figure("info", 5.57, "ms")], [])
    rows = json.loads(out.read_text())["rows"]
    table = run.summary_table(rows)
    assert table[0].startswith("| figure | value | baseline (same run) | ratio |")
    assert table[2] == ("| engine: tasks/s | 412/s | docker exec: 20.5/s | 20.11x | >= 10/s "
                        "| PASS |")
    assert table[3] == ("| kernel: MB/s | 54.7 MB/s | tutorial: 20.5 MB/s | 2.67x | >= 4x "
                        "| MISS |")
    assert table[4] == "| info | 5.57 ms | - | - | - | - |"


def test_unknown_section_is_refused(bench_modules, monkeypatch, capsys):
    _, run = bench_modules
    monkeypatch.setattr(sys, "argv", ["run.py", "--only", "kernel,nope"])
    with pytest.raises(SystemExit) as exc:
        run.main()
    assert exc.value.code == 2
    assert "nope" in capsys.readouterr().err
