"""The example workload (examples/linecount) runs through the same generic
Batch run as the top-N words, on the local backend and on Azure (through
the Batch emulator and the real azure-batch SDK): the seam holds."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from topwords.core import registry
from topwords.core.inputs import validate_inputs
from topwords.core.run import PoolSettings, RunSettings, run_batch

pytestmark = [pytest.mark.docker, pytest.mark.azurite]

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "linecount"


@pytest.fixture
def line_count():
    sys.path.insert(0, str(EXAMPLE))
    try:
        from linecount import LineCount
        yield LineCount()
    finally:
        sys.path.remove(str(EXAMPLE))


@pytest.mark.parametrize("backend_name", ["local", "azure"])
def test_the_line_count_workload_runs_on_every_backend(backend_name, line_count, tmp_path,
                                                       monkeypatch, azurite, request):
    files = []
    for i, text in enumerate(["one\n", "a\nb\nc\n", "no newline", ""]):
        files.append(tmp_path / "in" / f"f{i}.txt")
        files[-1].parent.mkdir(exist_ok=True)
        files[-1].write_text(text)
    if backend_name == "azure":
        for name, value in request.getfixturevalue("batch_emulator").environment().items():
            monkeypatch.setenv(name, value)
        options = {}
    else:
        monkeypatch.setenv("TOPWORDS_LOCAL_WORK_DIR", str(tmp_path / "nodes"))
        options = {"storage_url": azurite.blob_url, "storage_key": azurite.account_key}
    with registry.create(backend_name, **options) as backend:
        if backend_name == "azure":
            backend.compute.poll_interval = backend.compute.max_poll_interval = 0.2
        done = run_batch(backend, line_count, validate_inputs(files), RunSettings(
            output_dir=tmp_path / "out", pool=PoolSettings(node_count=1), timeout=120))
    assert done.succeeded, [(r.task.failure, r.problem, r.stderr_tail) for r in done.results]
    assert [r.value for r in done.results] == [(1, 4), (3, 6), (0, 10), (0, 0)]
    assert [r.output_file.name for r in done.results] == [
        "f0.txt.lines", "f1.txt.lines", "f2.txt.lines", "f3.txt.lines"]
