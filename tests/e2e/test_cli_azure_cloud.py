"""The whole workflow on real Azure Batch + Blob Storage.

Runs only when credentials are in the environment (TOPWORDS_BATCH_URL,
TOPWORDS_BATCH_KEY, TOPWORDS_STORAGE_URL, TOPWORDS_STORAGE_KEY), and skips
otherwise: it allocates a one-node pool (about 5 minutes, a few cents).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from rigs import AZURE_CLOUD_ENV as NEEDED

pytestmark = pytest.mark.azure_cloud
EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.txt"))


@pytest.fixture
def azure_env(tmp_path):
    missing = [name for name in NEEDED if not os.environ.get(name)]
    if missing:
        pytest.skip(f"no Azure credentials ({', '.join(missing)} unset)")
    return {**os.environ, "TOPWORDS_LEDGER": str(tmp_path / "ledger.jsonl")}


def test_run_on_azure_gives_same_results_as_the_task_locally(tmp_path, azure_env):
    from topwords.node.task import count_words, top_words

    done = subprocess.run(
        [sys.executable, "-m", "topwords.cli", "run", "--backend", "azure", "--nodes", "1",
         "--json", "--quiet", "--timeout", "1500", "--output-dir", str(tmp_path / "out"),
         *map(str, EXAMPLES)],
        capture_output=True, text=True, env=azure_env, timeout=1800)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    for item in data["inputs"]:
        expected = top_words(count_words(item["input"]), 3)
        assert [(w["word"], w["count"]) for w in item["top_words"]] == expected
    for name in NEEDED[1::2]:
        assert os.environ[name] not in done.stdout + done.stderr
    left = subprocess.run([sys.executable, "-m", "topwords.cli", "cleanup", "--backend",
                           "azure", "--dry-run"], capture_output=True, text=True,
                          env=azure_env, timeout=300)
    assert "would delete" not in left.stderr, left.stderr
