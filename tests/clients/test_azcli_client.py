"""The Azure CLI (azure-cli 2.91.0, `az batch ...`, api-version
2024-02-01.19.0) runs a shell script written for Azure Batch against the
emulator unchanged: a pool with a StartTask (its integer options sent as
strings), a job, a task retried once and failing, a task from a JSON file
with a resource file and an output file, task files downloaded, task
counts, a missing pool's error, deletes (tests/clients/azcli/scenario.sh);
every answer it gets checked against the 2024-02-01.19.0 spec."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from client_rig import (
    HERE, REPO, Storage, program_environment, require, run_checked, run_program,
)

pytestmark = [pytest.mark.docker, pytest.mark.azurite]


def az_bin() -> Path:
    """TOPWORDS_AZCLI_BIN, or the bin of .venv-azcli in the checkout."""
    given = os.environ.get("TOPWORDS_AZCLI_BIN")
    return require(Path(given) if given else REPO / ".venv-azcli" / "bin",
                   "the Azure CLI 2.91.0 virtualenv")


def test_an_az_batch_script_runs_unchanged_on_the_emulator(batch_emulator, tmp_path):
    bin_dir = az_bin()
    require(bin_dir / "az", "the Azure CLI 2.91.0 virtualenv")
    bash = shutil.which("bash")
    assert bash, "bash is not on PATH"
    storage = Storage(batch_emulator)
    try:
        env = program_environment(batch_emulator, storage, "one two three four five")
        env.update(PATH=f"{bin_dir}{os.pathsep}{env['PATH']}",
                   AZURE_CONFIG_DIR=str(tmp_path / "az"), AZURE_CORE_COLLECT_TELEMETRY="no",
                   AZURE_CORE_NO_COLOR="true", AZURE_CORE_ONLY_SHOW_ERRORS="true")
        out = run_checked(batch_emulator, tmp_path / "answers.jsonl", [bash, "scenario.sh"],
                          env, HERE / "azcli", api_version="2024-02-01.19.0", min_bodies=12)
        assert "az scenario: 11 checks passed" in out, out
        assert storage.names() == ["az/result.txt", "input.txt"]
        assert storage.read("az/result.txt") == b"5\n"
    finally:
        storage.close()
    pools = [r.info.spec.id for r in batch_emulator.engine.pool_records()]
    assert not [p for p in pools if p.startswith("az-pool-")], pools


def test_the_azcli_virtualenv_has_the_pinned_cli():
    bin_dir = az_bin()
    out = run_program([str(bin_dir / "python"), "-c", "import azure.cli.core, azure.batch; "
                       "print(azure.cli.core.__version__, azure.batch.__version__)"],
                      dict(os.environ), HERE)
    assert out.split()[0] == "2.91.0", out
