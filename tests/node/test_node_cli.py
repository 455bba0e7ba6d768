"""node/task.py run as the script a compute node runs: output file and exit codes."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from topwords.node import task

SCRIPT = Path(task.__file__)
TUTORIAL = Path(__file__).resolve().parents[2].parent / "shared/data/tutorial"
BATCH_ENV = {"AZ_BATCH_NODE_ID": "tvm-1234_1-20240101t000000z", "AZ_BATCH_TASK_ID": "topNtask0",
             "AZ_BATCH_JOB_ID": "PythonTutorialJob", "AZ_BATCH_POOL_ID": "PythonTutorialPool"}


def clean_env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AZ_BATCH_") and k != task.SAS_ENV}
    env.update(extra)
    return env


def run_task(*args: str, env=None, cwd=None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(SCRIPT), *args], env=env or clean_env(),
                          cwd=cwd, capture_output=True, text=True, timeout=60)


@pytest.fixture
def taskdata1(tmp_path) -> Path:
    source = TUTORIAL / "taskdata1.txt"
    if not TUTORIAL.is_dir():
        pytest.skip("tutorial data folder %s is absent" % TUTORIAL)
    return Path(shutil.copy(source, tmp_path / "taskdata1.txt"))


def expected_report(node: str, task_id: str, job: str, pool: str) -> str:
    rule = "-" * 30
    return (f"Word\tCount\n{rule}\nto:\t18\nand:\t17\nyou:\t14\n{rule}\n"
            f"Node: {node}\nTask: {task_id}\nJob:  {job}\nPool: {pool}\n")


def test_run_tutorial_file_with_batch_env_writes_exact_report(taskdata1):
    result = run_task("--filepath", str(taskdata1), "--numwords", "3",
                      env=clean_env(**BATCH_ENV))
    assert result.returncode == 0, result.stderr
    output = taskdata1.with_name("taskdata1_OUTPUT.txt")
    assert output.read_bytes() == expected_report(*BATCH_ENV.values()).encode("utf-8")
    assert "taskdata1_OUTPUT.txt" in result.stdout
    assert result.stderr == ""


def test_run_tutorial_file_without_batch_env_writes_dashes(taskdata1):
    result = run_task("--filepath", "taskdata1.txt", "--numwords", "3", cwd=taskdata1.parent)
    assert result.returncode == 0, result.stderr
    output = taskdata1.with_name("taskdata1_OUTPUT.txt").read_text("utf-8")
    assert output == expected_report("-", "-", "-", "-")


def test_run_ignore_case_flag_merges_case_variants(tmp_path):
    (tmp_path / "in.txt").write_text("The the THE cat", "utf-8")
    result = run_task("--filepath", str(tmp_path / "in.txt"), "--numwords", "1", "--ignore-case")
    assert result.returncode == 0, result.stderr
    assert "\nthe:\t3\n" in (tmp_path / "in_OUTPUT.txt").read_text("utf-8")


@pytest.mark.parametrize("numwords", ["0", "-1", "abc", "1.5", ""])
def test_run_bad_numwords_exits_2(tmp_path, numwords):
    (tmp_path / "in.txt").write_text("a b", "utf-8")
    result = run_task("--filepath", str(tmp_path / "in.txt"), "--numwords", numwords)
    assert result.returncode == 2
    assert "--numwords" in result.stderr
    assert not (tmp_path / "in_OUTPUT.txt").exists()


def test_run_missing_filepath_flag_exits_2():
    assert run_task("--numwords", "3").returncode == 2


def test_run_empty_output_blob_exits_2(tmp_path):
    (tmp_path / "in.txt").write_text("a", "utf-8")
    result = run_task("--filepath", str(tmp_path / "in.txt"), "--numwords", "1",
                      "--output-blob", "")
    assert result.returncode == 2 and "--output-blob" in result.stderr


def test_run_missing_file_exits_1_with_one_line(tmp_path):
    result = run_task("--filepath", str(tmp_path / "nope.txt"), "--numwords", "3")
    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1
    assert "nope.txt" in result.stderr and "Traceback" not in result.stderr


def test_main_directory_as_file_returns_1(tmp_path, capsys):
    assert task.main(["--filepath", str(tmp_path), "--numwords", "3"]) == 1
    assert capsys.readouterr().err.count("\n") == 1


@pytest.mark.parametrize("workers", ["0", "-2", "x"])
def test_run_bad_workers_exits_2(tmp_path, workers):
    (tmp_path / "in.txt").write_text("a b", "utf-8")
    result = run_task("--filepath", str(tmp_path / "in.txt"), "--numwords", "1",
                      "--workers", workers)
    assert result.returncode == 2 and "--workers" in result.stderr


def test_run_large_file_with_workers_writes_same_report_as_one_process(tmp_path):
    path = tmp_path / "in.txt"
    path.write_bytes(("“Straße” Wörter, words words\u00a0word—x don't\n" * 200_000).encode("utf-8"))
    reports = []
    for workers in ("1", "3"):
        result = run_task("--filepath", str(path), "--numwords", "5", "--workers", workers)
        assert result.returncode == 0, result.stderr
        reports.append(path.with_name("in_OUTPUT.txt").read_text("utf-8"))
    assert path.stat().st_size > task.MIN_PARALLEL_SIZE
    assert reports[0] == reports[1]
    assert "\nwords:\t400000\n" in reports[0]
