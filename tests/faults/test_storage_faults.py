"""Storage that dies while the tasks run: the run fails within seconds with
one line naming the storage and what was lost, and leaves nothing behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.docker, pytest.mark.azurite]


@pytest.fixture
def many_files(tmp_path) -> list[Path]:
    """Enough tiny inputs for the tasks to take a few seconds."""
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(300):
        (folder / f"f{i:03}.txt").write_text(f"w{i} a b c\n")
    return sorted(folder.glob("*.txt"))


def _env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOPWORDS_")}
    return {**env, "TOPWORDS_LEDGER": str(tmp_path / "ledger.jsonl"),
            "TOPWORDS_LOCAL_WORK_DIR": str(tmp_path / "nodes"), **extra}


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in open(f"/proc/{pid}/task/{pid}/children").read().split()]
    except OSError:
        return []


def _run_and_kill(args, env, kill) -> tuple[subprocess.CompletedProcess, float]:
    """Run ``topwords run ARGS``; call ``kill(proc)`` once its tasks run;
    return the outcome and the seconds from the kill to the exit."""
    proc = subprocess.Popen([sys.executable, "-m", "topwords.cli", "run", "--nodes", "1",
                             *map(str, args)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    lines, killed = [], None
    for line in proc.stderr:
        lines.append(line)
        if killed is None and "running 301 task(s)" in line:
            kill(proc)
            killed = time.monotonic()
    out = proc.stdout.read()
    proc.wait()
    assert killed is not None, "".join(lines)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, "".join(lines)), \
        time.monotonic() - killed


def _errors(done) -> list[str]:
    return [line for line in done.stderr.splitlines() if line.startswith("topwords: error")]


def test_a_private_azurite_killed_mid_run_fails_it_fast_with_one_line(
        tmp_path, many_files, docker_client):
    def kill_azurite(proc):
        for watchdog in _children(proc.pid):  # the run's Azurite watchdog ...
            for azurite in _children(watchdog):  # ... and the Azurite under it
                os.kill(azurite, signal.SIGKILL)
    done, took = _run_and_kill(["--output-dir", tmp_path / "out", *many_files],
                               _env(tmp_path), kill_azurite)
    assert done.returncode == 1
    [error] = _errors(done)
    assert "the run's storage died: Azurite" in error and "exited with status" in error
    assert "went with it" in error and "Traceback" not in done.stderr
    assert took < 15  # today ~2-3 s: the storage check runs every 2 s
    assert not docker_client.api.containers(all=True, filters={"label": "topwords.local"}) or \
        all(str(tmp_path) not in str(c.get("Mounts")) for c in docker_client.api.containers(
            all=True, filters={"label": "topwords.local"}))
    cleanup = subprocess.run([sys.executable, "-m", "topwords.cli", "cleanup", "--backend",
                              "local", "--dry-run"], env=_env(tmp_path), capture_output=True,
                             text=True, timeout=120)
    assert "nothing left behind" in cleanup.stderr, cleanup.stderr


def test_a_shared_azurite_stopping_mid_run_fails_it_fast_and_names_what_is_left(
        tmp_path, many_files, docker_client):
    from topwords.backends.local.azurite import AzuriteServer
    server = AzuriteServer().start()
    url = server.blob_url
    env = _env(tmp_path, TOPWORDS_LOCAL_STORAGE_KEY=server.account_key)
    try:
        done, took = _run_and_kill(["--output-dir", tmp_path / "out", "--azurite-url",
                                    url, *many_files], env,
                                   lambda proc: server.stop())
    finally:
        server.stop()
    assert done.returncode == 1
    [error] = _errors(done)
    assert "stopped answering while the tasks ran" in error and url in error
    assert took < 15
    warnings = [line for line in done.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 5 and all("its storage does not answer" in w for w in warnings)
    assert all(str(tmp_path) not in str(c.get("Mounts")) for c in docker_client.api.containers(
        all=True, filters={"label": "topwords.local"}))  # the pool went: only blobs are left
