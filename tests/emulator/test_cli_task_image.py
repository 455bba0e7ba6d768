"""``topwords run --task-image IMAGE`` runs every task in a container of
IMAGE, with the same container settings on ``--backend local`` and on
``--backend azure`` (here against the emulator), and both give the results
a plain run gives."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

pytestmark = [pytest.mark.docker, pytest.mark.azurite]

EXAMPLES = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.txt"))
IMAGE = "topwords-node:local"


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOPWORDS_")}
    return {**env, "TOPWORDS_LEDGER": str(tmp_path / "ledger.jsonl"),
            "TOPWORDS_LOCAL_WORK_DIR": str(tmp_path / "nodes"), **extra}


def topwords(*args, env, timeout=180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "topwords.cli", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=timeout)


def container_tasks_created(docker_client, since: datetime, pool_id: str) -> list[dict]:
    """Container-task containers Docker created since ``since`` in ``pool_id``
    (Docker's ``since`` is in whole seconds: others may fall in it)."""
    events = docker_client.events(since=since, until=datetime.now(timezone.utc) +
                                  timedelta(seconds=1), decode=True,
                                  filters={"type": "container", "event": "create",
                                           "label": ["topwords.container-task=1",
                                                     f"topwords.pool={pool_id}"]})
    return [e["Actor"]["Attributes"] for e in events]


def test_task_image_runs_each_task_in_a_container_on_both_backends(
        tmp_path, batch_emulator, azurite, docker_client):
    outputs = {}
    for backend, extra in (("azure", batch_emulator.environment()),
                           ("local", {"TOPWORDS_LOCAL_STORAGE_KEY": azurite.account_key})):
        out = tmp_path / backend
        args = ["run", "--backend", backend, "--task-image", IMAGE, "--output-dir", out,
                *EXAMPLES]
        if backend == "local":
            args += ["--azurite-url", azurite.blob_url]
        since = datetime.now(timezone.utc)
        done = topwords(*args, env=clean_env(tmp_path, **extra))
        assert done.returncode == 0, done.stderr
        assert f"3 of 3 input(s) succeeded on the {backend} backend" in done.stdout
        run_id = re.search(r"\(run ([\w-]+)\)", done.stdout)[1]
        created = container_tasks_created(docker_client, since, f"topwords-{run_id}")
        # three map tasks and the reduce, each in a container of the image
        assert len(created) == len(EXAMPLES) + 1, created
        assert {c["image"] for c in created} == {IMAGE}
        outputs[backend] = {p.name: re.sub(r"Node: \S+", "Node: NODE", re.sub(
            r"topwords-[\w-]+", "RUN", p.read_text("utf-8"))) for p in out.iterdir()}
    assert outputs["azure"] == outputs["local"]
    assert re.search(r"the:\t58\n", outputs["local"]["GLOBAL_OUTPUT.txt"])


def test_task_image_that_docker_lacks_is_refused_before_anything_is_made(tmp_path):
    done = topwords("run", "--task-image", "topwords-no-such-image:never", *EXAMPLES,
                    env=clean_env(tmp_path))
    assert done.returncode == 2
    assert "container image 'topwords-no-such-image:never' is not available" in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "ledger.jsonl").exists()


def test_task_image_on_process_nodes_is_refused_clearly(tmp_path):
    done = topwords("run", "--node-runtime", "process", "--task-image", IMAGE, *EXAMPLES,
                    env=clean_env(tmp_path))
    assert done.returncode == 2
    assert "needs the container node runtime" in done.stderr
    assert "Traceback" not in done.stderr
