"""azure-batch 14.2.0 and 11.0.0, the msrest API most existing Batch code
and samples use (api-versions 2024-02-01.19.0 and 2021-06-01.14.0; 11.0.0 is
what the official Python quickstart pins), each run a program written for Azure Batch
against the emulator unchanged: pools with a StartTask, jobs, tasks with a
dependency and retries, output files after success and after failure, task
files, job patch and update (PUT), pool resize / stop resize / patch /
update properties, node counts, errors, deletes
(tests/clients/msrest/scenario.py, in each SDK's own virtualenv); and one
for container tasks, autoscale and job schedules (modern.py); azure-batch
6.0.0 (2018-12-01.8.0) runs one written with that version's calls
(legacy.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from client_rig import (
    HERE, REPO, Storage, program_environment, require, run_checked, run_program,
)

pytestmark = [pytest.mark.docker, pytest.mark.azurite]


#: each msrest SDK tested: its version, virtualenv in the checkout, and the
#: variable that points elsewhere (all built by `make client-envs`)
SDKS = {"14.2.0": (".venv-msrest", "TOPWORDS_MSREST_PYTHON"),
        "11.0.0": (".venv-msrest11", "TOPWORDS_MSREST11_PYTHON"),
        "6.0.0": (".venv-msrest6", "TOPWORDS_MSREST6_PYTHON")}
#: the SDKs scenario.py and modern.py are written for (6.0.0 has legacy.py)
MODERN = ("11.0.0", "14.2.0")
#: the api-version each SDK sends whose spec is vendored (backends/local/
#: emulator/spec/): its runs are recorded and every answer checked against it;
#: 11.0.0's 2021-06-01.14.0 is not vendored, so its answers are not checked
CHECKED = {"14.2.0": "2024-02-01.19.0"}


def run_sdk_program(sdk: str, emulator, tmp_path: Path, program: str,
                    env: dict[str, str], min_bodies: int) -> str:
    """Run ``program`` with the SDK's python; for an SDK in CHECKED, with
    every answer it received checked against the spec of its api-version."""
    argv, cwd = [str(msrest_python(sdk)), program], HERE / "msrest"
    if sdk not in CHECKED:
        return run_program(argv, env, cwd)
    return run_checked(emulator, tmp_path / f"{program}.answers.jsonl", argv, env, cwd,
                       api_version=CHECKED[sdk], min_bodies=min_bodies)


def msrest_python(version: str) -> Path:
    """The python of that SDK's virtualenv (or of its variable)."""
    venv, variable = SDKS[version]
    given = os.environ.get(variable)
    return require(Path(given) if given else REPO / venv / "bin" / "python",
                   f"the azure-batch {version} virtualenv")


@pytest.fixture(params=MODERN, ids=lambda v: f"azure-batch-{v}")
def sdk(request) -> str:
    return request.param


@pytest.mark.parametrize("version", sorted(SDKS))
def test_the_msrest_virtualenv_has_the_pinned_sdk(version):
    out = run_program([str(msrest_python(version)), "-c", "import azure.batch, msrest; "
                       "print(azure.batch.__version__, msrest.__version__)"],
                      dict(os.environ), HERE)
    assert out.split() == [version, "0.7.1"]


def test_msrest_sdk_program_runs_unchanged_on_the_emulator(batch_emulator, sdk, tmp_path):
    storage = Storage(batch_emulator)
    try:
        env = program_environment(batch_emulator, storage, "alpha beta gamma")
        out = run_sdk_program(sdk, batch_emulator, tmp_path, "scenario.py", env, min_bodies=30)
        assert "msrest scenario: 9 checks passed" in out, out
        assert storage.names() == ["failed/stderr.txt", "failed/stdout.txt", "input.txt",
                                   "ok/result.txt"]
        assert storage.read("ok/result.txt") == b"3\n"
    finally:
        storage.close()
    pools = [r.info.spec.id for r in batch_emulator.engine.pool_records()]
    assert not [p for p in pools if p.startswith("msrest-pool-")], pools


def test_an_msrest_program_of_container_tasks_autoscale_and_schedules_runs_unchanged(
        batch_emulator, sdk, tmp_path):
    """Each msrest SDK for what modern workloads use (modern.py): a
    container pool and a task in its image, autoscale evaluated, enabled and
    disabled, a job schedule making its job."""
    from topwords.backends.local.config import LocalConfig
    env = {**os.environ, "BATCH_URL": batch_emulator.batch_url,
           "BATCH_ACCOUNT": batch_emulator.account_name,
           "BATCH_KEY": batch_emulator.account_key, "RUN_ID": os.urandom(4).hex(),
           "TASK_IMAGE": LocalConfig.from_env().image}
    out = run_sdk_program(sdk, batch_emulator, tmp_path, "modern.py", env, min_bodies=10)
    assert "msrest modern scenario: 5 checks passed" in out, out
    pools = [r.info.spec.id for r in batch_emulator.engine.pool_records()]
    assert not [p for p in pools if p.startswith("modern-pool-")], pools


def test_a_2018_msrest_program_runs_unchanged_on_the_emulator(batch_emulator):
    """azure-batch 6.0.0 (2018-12-01.8.0) with that era's calls
    (legacy.py): list_node_agent_skus, max_tasks_per_node, bare task counts."""
    storage = Storage(batch_emulator)
    try:
        env = program_environment(batch_emulator, storage, "one two three four five six")
        out = run_program([str(msrest_python("6.0.0")), "legacy.py"], env, HERE / "msrest")
        assert "msrest legacy scenario: 6 checks passed" in out, out
    finally:
        storage.close()
    pools = [r.info.spec.id for r in batch_emulator.engine.pool_records()]
    assert not [p for p in pools if p.startswith("legacy-pool-")], pools
