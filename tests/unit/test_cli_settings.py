"""A setting that is wrong from the start stops the command before anything
exists: exit 2, one line, no backend created."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from topwords.cli import main as cli
from topwords.core import registry
from topwords.core.errors import ConfigError, TopwordsError
from topwords.core.ledger import Ledger

from fakes import fake_backend  # tests/ is on the path


class Reached(ConfigError):
    """Raised by the stand-in registry: validation let the command through."""


@pytest.fixture
def text_file(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("some words here\n", encoding="utf-8")
    return path


@pytest.fixture
def backend_calls(monkeypatch, tmp_path):
    """registry.create records its call and stops the command there."""
    calls = []

    def stop(name, **options):
        calls.append((name, options))
        raise Reached("reached the backend")
    monkeypatch.setattr(registry, "create", stop)
    monkeypatch.setenv("TOPWORDS_LEDGER", str(tmp_path / "ledger.jsonl"))
    return calls


def run_cli(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def refused(capsys, backend_calls, *argv) -> str:
    """Run; assert exit 2, one line on stderr, no backend; return the line."""
    with pytest.raises(SystemExit) as info:
        raise SystemExit(cli.main([str(a) for a in argv]))
    captured = capsys.readouterr()
    assert info.value.code == 2, captured.err
    assert captured.out == "" and backend_calls == []
    [line] = captured.err.splitlines()
    assert "Traceback" not in line
    return line


@pytest.mark.parametrize("flag", ["--image", "--pool-id", "--vm-size", "--output-dir",
                                  "--azurite-url", "--batch-url", "--storage-account"])
@pytest.mark.parametrize("value", ["", "  "])
def test_run_with_empty_setting_exits_2_instead_of_using_the_default(capsys, backend_calls,
                                                                     text_file, flag, value):
    line = refused(capsys, backend_calls, "run", text_file, flag, value)
    assert f"argument {flag}: must not be empty" in line


@pytest.mark.parametrize("value", ["inf", "nan", "-1", "1e400", "-inf", "0", "0.5", "64X", ""])
def test_run_with_split_size_not_finite_or_positive_exits_2(capsys, backend_calls, text_file,
                                                            value):
    line = refused(capsys, backend_calls, "run", text_file, f"--split-size={value}")
    assert "argument --split-size:" in line


@pytest.mark.parametrize("value", ["inf", "nan", "-inf", "1e300", "15552001", "0", "-5", "x"])
def test_run_with_timeout_not_finite_or_out_of_range_exits_2(capsys, backend_calls, text_file,
                                                            value):
    line = refused(capsys, backend_calls, "run", text_file, f"--timeout={value}")
    assert "argument --timeout:" in line


@pytest.mark.parametrize("argv, expected", [
    (["--top", str(2**31)], "argument --top: must be at most 2147483647"),
    (["--nodes", str(10**12)], "argument --nodes: must be at most 2147483647"),
    (["--retries", str(2**31)], "argument --retries: must be at most 2147483647"),
    (["--spot-nodes", str(2**31)], "argument --spot-nodes: must be at most 2147483647"),
    (["--slots", "257"], "argument --slots: must be at most 256"),
    (["--nodes", "65"], "the local backend runs at most 64 nodes per pool"),
    (["--nodes", "60", "--spot-nodes", "5"], "the local backend runs at most 64 nodes per pool"),
])
def test_run_with_number_beyond_its_limit_exits_2(capsys, backend_calls, text_file, argv,
                                                  expected):
    line = refused(capsys, backend_calls, "run", text_file, *argv)
    assert expected in line


def test_run_with_a_huge_number_does_not_echo_it_whole(capsys, backend_calls, text_file):
    line = refused(capsys, backend_calls, "run", text_file, "--top", "9" * 5000)
    assert len(line) < 200


@pytest.mark.parametrize("argv", [
    ["--top", str(10**9)], ["--top", str(2**31 - 1)], ["--slots", "256"], ["--nodes", "64"],
    ["--nodes", "1000", "--backend", "azure"], ["--split-size", "1e30"], ["--split-size", "1.5G"],
    ["--timeout", "15552000"], ["--retries", "0"],
])
def test_run_with_number_within_its_limit_reaches_the_backend(capsys, backend_calls, text_file,
                                                              argv):
    code, _, err = run_cli(capsys, "run", text_file, *argv)
    assert code == 2 and "reached the backend" in err
    assert len(backend_calls) == 1


def test_emulator_port_beyond_65535_exits_2(capsys, backend_calls):
    line = refused(capsys, backend_calls, "emulator", "--port", "65536")
    assert "argument --port: must be at most 65535" in line


def test_emulator_autoscale_interval_beyond_azures_exits_2(capsys, backend_calls):
    line = refused(capsys, backend_calls, "emulator", "--min-autoscale-interval", "301")
    assert "argument --min-autoscale-interval: must be at most 300" in line


# -- the run ledger, checked before the backend is created -----------------

@pytest.mark.parametrize("where", ["directory", "proc", "proc-file", "file-as-folder",
                                   "char-device"])
def test_run_with_unusable_ledger_exits_2_before_the_backend(capsys, backend_calls, monkeypatch,
                                                              tmp_path, text_file, where):
    (tmp_path / "plain").write_text("x")
    path = {"directory": tmp_path, "proc": "/proc/self/ledger.jsonl",
            "proc-file": "/proc/self/status", "file-as-folder": tmp_path / "plain" / "l.jsonl",
            "char-device": "/dev/null"}[where]
    monkeypatch.setenv("TOPWORDS_LEDGER", str(path))
    line = refused(capsys, backend_calls, "run", text_file)
    assert line.startswith(f"topwords: error: TOPWORDS_LEDGER={path} cannot hold the run "
                           "ledger: ")
    assert not list(tmp_path.glob("*.jsonl"))


def test_run_with_ledger_in_unwritable_folder_exits_2(capsys, backend_calls, monkeypatch,
                                                      tmp_path, text_file):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    monkeypatch.setenv("TOPWORDS_LEDGER", str(locked / "sub" / "l.jsonl"))
    real_access = os.access
    # root may write anywhere; answer as access(2) does for everyone else
    monkeypatch.setattr(os, "access", lambda p, mode: False if os.fspath(p) == str(locked)
                        else real_access(p, mode))
    line = refused(capsys, backend_calls, "run", text_file)
    assert f"{locked} is not writable" in line
    assert not (locked / "sub").exists()


def test_cleanup_with_directory_as_ledger_exits_2(capsys, backend_calls, monkeypatch, tmp_path):
    monkeypatch.setenv("TOPWORDS_LEDGER", str(tmp_path))
    line = refused(capsys, backend_calls, "cleanup", "--backend", "local")
    assert "it is a directory" in line


def test_run_with_good_ledger_path_writes_nothing_before_the_backend(capsys, backend_calls,
                                                                     monkeypatch, tmp_path,
                                                                     text_file):
    path = tmp_path / "new" / "deeper" / "ledger.jsonl"
    monkeypatch.setenv("TOPWORDS_LEDGER", str(path))
    code, _, err = run_cli(capsys, "run", text_file)
    assert code == 2 and "reached the backend" in err
    assert not (tmp_path / "new").exists()


# -- errors from the backend and the workflow pass through as one line ----

@pytest.mark.parametrize("error, code", [
    (ConfigError("output directory out/ is not writable"), 2),
    (ConfigError("node image 'nope:1' is not available to Docker\x1b[2J"), 2),
    (TopwordsError("the pool could not allocate nodes"), 1),
])
def test_run_error_from_the_workflow_is_one_line(capsys, monkeypatch, tmp_path, text_file,
                                                 error, code):
    monkeypatch.setenv("TOPWORDS_LEDGER", str(tmp_path / "ledger.jsonl"))
    monkeypatch.setattr(registry, "create", lambda name, **options: fake_backend(lambda spec: (0, None)))

    def fail(*args, **kwargs):
        raise error
    monkeypatch.setattr(cli, "run_top_words", fail)
    got, out, err = run_cli(capsys, "run", text_file, "--quiet")
    assert got == code and out == ""
    [line] = err.splitlines()
    assert line.startswith("topwords: error: ") and "\x1b" not in line


def test_run_config_error_while_creating_the_backend_exits_2(capsys, monkeypatch, tmp_path,
                                                             text_file):
    monkeypatch.setenv("TOPWORDS_LEDGER", str(tmp_path / "ledger.jsonl"))

    def refuse(name, **options):
        raise ConfigError("node image 'nope:1' is not available to Docker")
    monkeypatch.setattr(registry, "create", refuse)
    code, _, err = run_cli(capsys, "run", text_file, "--quiet")
    assert code == 2
    assert err.splitlines()[-1] == ("topwords: error: node image 'nope:1' is not available "
                                    "to Docker")


def test_local_azurite_interrupted_while_it_starts_stops_it(tmp_path):
    """The Azurite `topwords local azurite` started is stopped even if the
    interrupt lands before it is ready."""
    pid_file = tmp_path / "pid"
    fake = tmp_path / "azurite-blob"
    fake.write_text(f"#!/bin/sh\necho $$ > {pid_file}\nexec sleep 60\n")
    fake.chmod(0o755)
    env = {**os.environ, "TOPWORDS_AZURITE_BIN": str(fake)}
    proc = subprocess.Popen([sys.executable, "-m", "topwords.cli", "local", "azurite"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=env)
    for _ in range(200):  # until the fake runs
        if pid_file.exists() and pid_file.read_text().strip():
            break
        if proc.poll() is not None:
            pytest.fail(proc.stderr.read())
        time.sleep(0.05)
    pid = int(pid_file.read_text())
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=15) == 130, proc.stderr.read()
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_ledger_default_checks_without_writing(monkeypatch, tmp_path):
    monkeypatch.setenv("TOPWORDS_LEDGER", str(tmp_path / "a" / "b.jsonl"))
    assert Ledger.default().path == tmp_path / "a" / "b.jsonl"
    assert not (tmp_path / "a").exists()
