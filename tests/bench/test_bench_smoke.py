"""Smoke test of the one benchmark command: `bench/run.py --quick` runs all
five sections on real Docker and Azurite (~70 s on 2 cores) and prints the
summary. It checks that the bench runs, not its figures (a MISS is fine)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.docker, pytest.mark.azurite, pytest.mark.bench]

RUN = Path(__file__).resolve().parents[2] / "bench" / "run.py"


def test_quick_bench_runs_every_section(tmp_path, docker_client, azurite):
    env = {**os.environ, "TOPWORDS_LOCAL_WORK_DIR": str(tmp_path / "nodes"),
           "TOPWORDS_LEDGER": str(tmp_path / "ledger.jsonl")}
    proc = subprocess.run([sys.executable, str(RUN), "--quick"], capture_output=True,
                          text=True, env=env, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    out = proc.stdout
    assert "every section succeeded" in out
    summary = out.split("== summary", 1)[1]
    rows = [line for line in summary.splitlines() if line.startswith("| ")][1:]
    for section in ("pipeline", "kernel", "staging", "engine", "scale"):
        assert any(row.startswith(f"| {section}: ") for row in rows), section
    assert all(row.rstrip().endswith(("| PASS |", "| MISS |", "| - |")) for row in rows)
    assert "- took " in summary
