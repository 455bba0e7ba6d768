"""azure-batch 14.2.0, the msrest API most existing Batch code and samples
use (api-version 2024-02-01.19.0), runs a program written for Azure Batch
against the emulator unchanged: pools with a StartTask, jobs, tasks with a
dependency and retries, output files after success and after failure, task
files, job patch and update (PUT), pool resize / stop resize / patch /
update properties, node counts, errors, deletes
(tests/clients/msrest/scenario.py, in its own virtualenv); and one for
container tasks, autoscale and job schedules (modern.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from client_rig import HERE, REPO, Storage, program_environment, require, run_program

pytestmark = [pytest.mark.docker, pytest.mark.azurite]


def msrest_python() -> Path:
    """TOPWORDS_MSREST_PYTHON, or the python of .venv-msrest in the checkout."""
    given = os.environ.get("TOPWORDS_MSREST_PYTHON")
    return Path(given) if given else REPO / ".venv-msrest" / "bin" / "python"


def test_msrest_sdk_program_runs_unchanged_on_the_emulator(batch_emulator):
    python = require(msrest_python(), "the azure-batch 14.2.0 virtualenv")
    storage = Storage(batch_emulator)
    try:
        env = program_environment(batch_emulator, storage, "alpha beta gamma")
        out = run_program([str(python), "scenario.py"], env, HERE / "msrest")
        assert "msrest scenario: 9 checks passed" in out, out
        assert storage.names() == ["failed/stderr.txt", "failed/stdout.txt", "input.txt",
                                   "ok/result.txt"]
        assert storage.read("ok/result.txt") == b"3\n"
    finally:
        storage.close()
    pools = [r.info.spec.id for r in batch_emulator.engine.pool_records()]
    assert not [p for p in pools if p.startswith("msrest-pool-")], pools


def test_the_msrest_virtualenv_has_the_pinned_sdk():
    python = require(msrest_python(), "the azure-batch 14.2.0 virtualenv")
    out = run_program([str(python), "-c", "import azure.batch, msrest; "
                       "print(azure.batch.__version__, msrest.__version__)"],
                      dict(os.environ), HERE)
    assert out.split() == ["14.2.0", "0.7.1"]


def test_an_msrest_program_of_container_tasks_autoscale_and_schedules_runs_unchanged(
        batch_emulator):
    """azure-batch 14.2.0 for what modern workloads use (modern.py): a
    container pool and a task in its image, autoscale evaluated, enabled and
    disabled, a job schedule making its job."""
    from topwords.backends.local.config import LocalConfig
    python = require(msrest_python(), "the azure-batch 14.2.0 virtualenv")
    env = {**os.environ, "BATCH_URL": batch_emulator.batch_url,
           "BATCH_ACCOUNT": batch_emulator.account_name,
           "BATCH_KEY": batch_emulator.account_key, "RUN_ID": os.urandom(4).hex(),
           "TASK_IMAGE": LocalConfig.from_env().image}
    out = run_program([str(python), "modern.py"], env, HERE / "msrest")
    assert "msrest modern scenario: 5 checks passed" in out, out
    pools = [r.info.spec.id for r in batch_emulator.engine.pool_records()]
    assert not [p for p in pools if p.startswith("modern-pool-")], pools
