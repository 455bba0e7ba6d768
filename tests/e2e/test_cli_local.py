"""End to end: the ``topwords`` command on the local backend (real Docker
and Azurite), as a user runs it."""

from __future__ import annotations

import json
from collections import Counter
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest


pytestmark = [pytest.mark.docker, pytest.mark.azurite]

TUTORIAL = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "tutorial"
EXPECTED_TOP3 = {
    "taskdata1.txt": [("to", 18), ("and", 17), ("you", 14)],
    "taskdata2.txt": [("Storage", 11), ("for", 8), ("data", 7)],
    "taskdata3.txt": [("the", 10), ("of", 8), ("and", 6)],
}


@pytest.fixture
def env(tmp_path, docker_client, azurite):
    """The CLI's environment: node directories under the test's tmp dir,
    and the key of the session's Azurite (for ``--azurite-url``)."""
    return {**os.environ, "TOPWORDS_LOCAL_WORK_DIR": str(tmp_path / "nodes"),
            "TOPWORDS_LEDGER": str(tmp_path / "ledger.jsonl"),
            "TOPWORDS_LOCAL_STORAGE_KEY": azurite.account_key}


@pytest.fixture
def tutorial_files():
    if not TUTORIAL.is_dir():
        pytest.skip(f"tutorial data not found at {TUTORIAL}")
    return sorted(TUTORIAL.glob("taskdata*.txt"))


def topwords(*args, env, timeout=180):
    return subprocess.run([sys.executable, "-m", "topwords.cli", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=timeout)


def our_containers(docker_client, tmp_path: Path) -> list:
    """Node containers of this test's runs (their node dirs are in tmp_path),
    so that other runs on the same machine do not count."""
    return [c for c in docker_client.containers.list(all=True, filters={"label": "topwords.local"})
            if any(m["Source"].startswith(str(tmp_path)) for m in c.attrs["Mounts"])]


def report_rows(text: str) -> list[tuple[str, int]]:
    body = text.split("-" * 30 + "\n")[1]
    return [(w, int(c)) for w, c in (line.rsplit(":\t", 1) for line in body.splitlines())]


def test_run_on_tutorial_files_writes_exact_outputs(tmp_path, env, tutorial_files, docker_client):
    out = tmp_path / "out"
    done = topwords("run", "--backend", "local", "--top", "3", "--output-dir", out,
                    *tutorial_files, env=env)
    assert done.returncode == 0, done.stderr
    for n, name in enumerate(sorted(EXPECTED_TOP3)):
        text = (out / name.replace(".txt", "_OUTPUT.txt")).read_text(encoding="utf-8")
        rows = "".join(f"{w}:\t{c}\n" for w, c in EXPECTED_TOP3[name])
        assert re.fullmatch(
            "Word\tCount\n" + "-" * 30 + "\n" + re.escape(rows) + "-" * 30 + "\n"
            r"Node: node-\d+\n"
            f"Task: topNtask{n}\n"
            r"Job:  topwords-[\w-]+\n"
            r"Pool: topwords-[\w-]+\n", text), text
    assert "3 of 3 input(s) succeeded" in done.stdout
    assert our_containers(docker_client, tmp_path) == []


def test_run_json_lists_each_input_with_its_top_words(tmp_path, env, tutorial_files, azurite):
    done = topwords("run", "--json", "--top", "3", "--output-dir", tmp_path / "out",
                    "--azurite-url", azurite.blob_url, *tutorial_files, env=env)
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert data["succeeded"] is True
    got = {Path(i["input"]).name: [(w["word"], w["count"]) for w in i["top_words"]]
           for i in data["inputs"]}
    assert got == EXPECTED_TOP3
    assert all(Path(i["output_file"]).is_file() for i in data["inputs"])
    for stream in (done.stdout, done.stderr):
        assert "sig=" not in stream and env["TOPWORDS_LOCAL_STORAGE_KEY"] not in stream


def test_run_keeps_outputs_of_same_base_names_odd_names_and_empty_files(
        tmp_path, env, azurite):
    for folder, name, text in [("a", "x.txt", "alpha beta beta\n"),
                               ("b", "x.txt", "gamma gamma delta\n"),
                               ("a", "my notes ü.txt", "„Zażółć” gęślą jaźń… jaźń\n"),
                               ("b", "empty.txt", "")]:
        (tmp_path / folder).mkdir(exist_ok=True)
        (tmp_path / folder / name).write_text(text, encoding="utf-8")
    inputs = [tmp_path / "a/x.txt", tmp_path / "b/x.txt", tmp_path / "a/my notes ü.txt",
              tmp_path / "b/empty.txt"]
    out = tmp_path / "out"
    done = topwords("run", "--top", "2", "--output-dir", out, "--azurite-url", azurite.blob_url,
                    *inputs, env=env)
    assert done.returncode == 0, done.stderr
    read = lambda rel: report_rows((out / rel).read_text(encoding="utf-8"))  # noqa: E731
    assert read("a/x_OUTPUT.txt") == [("beta", 2), ("alpha", 1)]
    assert read("b/x_OUTPUT.txt") == [("gamma", 2), ("delta", 1)]
    assert read("a/my notes ü_OUTPUT.txt") == [("jaźń", 2), ("Zażółć", 1)]
    assert read("b/empty_OUTPUT.txt") == []


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupted_run_leaves_no_container_or_node_dir(tmp_path, env, tutorial_files,
                                                         docker_client, azurite, sig):
    proc = subprocess.Popen(
        [sys.executable, "-m", "topwords.cli", "run", "--output-dir", str(tmp_path / "out"),
         "--azurite-url", azurite.blob_url, *map(str, tutorial_files)],
        stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env=env)
    for line in proc.stderr:  # interrupt while the pool is being allocated
        if "creating pool" in line:
            proc.send_signal(sig)
            break
    rest = proc.stderr.read()
    assert proc.wait(timeout=60) == 130, rest
    assert "Traceback" not in rest
    assert our_containers(docker_client, tmp_path) == []
    assert list((tmp_path / "nodes").glob("*")) == []


def test_account_key_never_reaches_a_node(tmp_path, env, tutorial_files, docker_client, azurite):
    key = azurite.account_key
    done = topwords("run", "--keep-pool", "--output-dir", tmp_path / "out",
                    "--azurite-url", azurite.blob_url, *tutorial_files, env=env)
    assert done.returncode == 0, done.stderr
    kept = our_containers(docker_client, tmp_path)
    try:
        assert len(kept) == 2
        for container in kept:
            inspected = json.dumps(docker_client.api.inspect_container(container.id))
            assert key not in inspected
            assert "AccountKey" not in inspected
            _, env_out = container.exec_run(["env"])
            assert key.encode() not in env_out
            assert sorted(m["Destination"] for m in container.attrs["Mounts"]) == [
                "/mnt/batch/tasks", "/run/batch-agent", "/run/batch-owner.lock"]
        for path in (tmp_path / "nodes").rglob("*"):
            if path.is_file():
                assert key.encode() not in path.read_bytes(), path
        listed = topwords("cleanup", "--backend", "local", "--dry-run", env=env)
        assert listed.returncode == 0 and "would delete pool topwords-" in listed.stderr
        assert len(our_containers(docker_client, tmp_path)) == 2  # a dry run deletes nothing
    finally:
        cleaned = topwords("cleanup", "--backend", "local", env=env)
    assert cleaned.returncode == 0, cleaned.stderr
    assert our_containers(docker_client, tmp_path) == []
    assert list((tmp_path / "nodes").glob("*")) == []
    again = topwords("cleanup", "--backend", "local", env=env)
    assert "nothing left behind" in again.stderr


def test_local_cleanup_removes_containers_of_dead_runs(tmp_path, env, tutorial_files,
                                                       docker_client, azurite):
    done = topwords("run", "--keep-pool", "--nodes", "1", "--output-dir", tmp_path / "out",
                    "--azurite-url", azurite.blob_url, *tutorial_files[:1], env=env)
    assert done.returncode == 0, done.stderr
    assert len(our_containers(docker_client, tmp_path)) == 1
    cleaned = topwords("local", "cleanup", env=env)
    assert cleaned.returncode == 0, cleaned.stderr
    assert our_containers(docker_client, tmp_path) == []


def test_failing_tasks_show_exit_code_and_stderr_from_logs(tmp_path, env, tutorial_files,
                                                           docker_client, azurite,
                                                           image_without_python):
    done = topwords("run", "--image", image_without_python, "--retries", "1",
                    "--output-dir", tmp_path / "out", "--azurite-url", azurite.blob_url,
                    *tutorial_files[:2], env=env)
    assert done.returncode == 1
    assert done.stdout.count("FAILED: FailureExitCode: the task exited with code 127") == 2
    # the corpus result's reduce task never runs: the map tasks it needs failed
    assert "FAILED: task reduce did not run: a task it depends on failed" in done.stdout
    assert "python3: command not found" in done.stdout  # the stderr tail
    assert "0 of 2 input(s) succeeded" in done.stdout
    assert our_containers(docker_client, tmp_path) == []


def test_split_inputs_and_corpus_result_match_the_unsplit_counts(tmp_path, env, tutorial_files,
                                                                 azurite):
    from topwords.node.task import count_words, top_words

    examples = sorted((Path(__file__).resolve().parents[2] / "examples").glob("*.txt"))
    files = [*tutorial_files, *examples]
    runs = {}
    for name, extra in (("whole", []), ("split", ["--split-size", "700"])):
        done = topwords("run", "--json", "--quiet", "--top", "5", "--output-dir",
                        tmp_path / name, "--azurite-url", azurite.blob_url, *extra, *files,
                        env=env)
        assert done.returncode == 0, done.stderr
        runs[name] = json.loads(done.stdout)
    rows = lambda item: [(w["word"], w["count"]) for w in item["top_words"]]  # noqa: E731
    for whole, split in zip(runs["whole"]["inputs"], runs["split"]["inputs"]):
        assert rows(split) == rows(whole) == top_words(count_words(whole["input"]), 5)
    total = Counter()
    for path in files:
        total.update(count_words(path))
    assert rows(runs["split"]["corpus"]) == rows(runs["whole"]["corpus"]) == top_words(total, 5)
    assert Path(runs["split"]["corpus"]["output_file"]).name == "GLOBAL_OUTPUT.txt"


def test_missing_node_image_is_exit_2_one_clear_error_and_nothing_is_created(tmp_path, env, tutorial_files,
                                                            docker_client, azurite):
    with azurite.storage() as storage:
        before = sorted(c.name for c in storage._service.list_containers())
    done = topwords("run", "--image", "nonexistent:tag", "--output-dir", tmp_path / "out",
                    "--azurite-url", azurite.blob_url, *tutorial_files, env=env)
    assert done.returncode == 2, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("topwords:")]
    assert errors == ["topwords: error: node image 'nonexistent:tag' is not available to Docker"]
    assert "hint:" in done.stderr and "Traceback" not in done.stderr
    with azurite.storage() as storage:
        assert sorted(c.name for c in storage._service.list_containers()) == before
    assert our_containers(docker_client, tmp_path) == []
    assert not (tmp_path / "out").exists()
    assert not (tmp_path / "ledger.jsonl").exists() or \
        (tmp_path / "ledger.jsonl").read_text().strip() == ""


def test_sigint_during_cleanup_lets_it_finish_then_exits_130(tmp_path, env, tutorial_files,
                                                             docker_client, azurite):
    proc = subprocess.Popen([sys.executable, "-m", "topwords.cli", "run", "--output-dir",
                             str(tmp_path / "out"), "--azurite-url", azurite.blob_url,
                             *map(str, tutorial_files)],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if "cleaning up" in line:
            proc.send_signal(signal.SIGINT)
            break
    rest, _ = proc.communicate(timeout=120)
    stderr = "".join(seen) + proc.stderr.read() if not proc.stderr.closed else "".join(seen)
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr
    assert "3 of 3 input(s) succeeded" in rest  # the results were in before the signal
    assert our_containers(docker_client, tmp_path) == []
    left = topwords("cleanup", "--backend", "local", "--dry-run", env=env)
    assert "nothing left behind" in left.stderr, left.stderr
