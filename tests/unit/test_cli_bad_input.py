"""Bad input never reaches a backend: one line on stderr, exit 2, nothing created."""

from __future__ import annotations

import pytest

from topwords.cli import main as cli
from topwords.core import registry


@pytest.fixture
def no_backend(monkeypatch):
    """Fail the test if the CLI tries to build a backend (create anything)."""
    def refuse(*args, **kwargs):
        raise AssertionError("a backend was created although validation failed")
    monkeypatch.setattr(registry, "create", refuse)


@pytest.fixture
def text_file(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("some words here\n", encoding="utf-8")
    return path


def run_cli(capsys, *argv):
    with pytest.raises(SystemExit) as exit_info:
        raise SystemExit(cli.main(list(argv)))
    captured = capsys.readouterr()
    return exit_info.value.code, captured.out, captured.err


@pytest.mark.parametrize("top", ["0", "-1", "abc", "1.5", ""])
def test_run_with_bad_top_exits_2_with_one_line(no_backend, capsys, text_file, top):
    code, out, err = run_cli(capsys, "run", str(text_file), "--top", top)
    assert code == 2
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert "--top" in err


def test_run_without_files_exits_2(no_backend, capsys):
    code, _, err = run_cli(capsys, "run")
    assert code == 2
    assert err.strip() == "topwords: error: no input files given"


def test_run_with_missing_file_exits_2_and_names_it(no_backend, capsys, tmp_path):
    missing = tmp_path / "nope.txt"
    code, _, err = run_cli(capsys, "run", str(missing))
    assert code == 2
    assert str(missing) in err and "no such file" in err
    assert "Traceback" not in err


def test_run_with_directory_exits_2_with_hint(no_backend, capsys, tmp_path):
    code, _, err = run_cli(capsys, "run", str(tmp_path))
    assert code == 2
    assert "is a directory" in err


def test_run_with_binary_file_exits_2(no_backend, capsys, tmp_path):
    binary = tmp_path / "blob.bin"
    binary.write_bytes(b"\x7fELF\x00\x01\x02" * 100)
    code, _, err = run_cli(capsys, "run", str(binary))
    assert code == 2
    assert "binary" in err


def test_run_with_same_file_twice_exits_2(no_backend, capsys, text_file):
    code, _, err = run_cli(capsys, "run", str(text_file), str(text_file))
    assert code == 2
    assert "given twice" in err


def test_run_with_unknown_backend_exits_2(no_backend, capsys, text_file):
    code, _, err = run_cli(capsys, "run", str(text_file), "--backend", "nimbus")
    assert code == 2
    assert len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("flag,value", [("--nodes", "0"), ("--slots", "-2"),
                                        ("--timeout", "0"), ("--retries", "-1")])
def test_run_with_bad_pool_options_exits_2(no_backend, capsys, text_file, flag, value):
    code, _, err = run_cli(capsys, "run", str(text_file), flag, value)
    assert code == 2
    assert flag in err


def test_run_passes_azure_flags_to_the_backend_and_no_key_flag_exists(monkeypatch, capsys,
                                                                       text_file):
    seen = {}

    def capture(name, **options):
        seen.update(name=name, **options)
        raise registry.BackendUnavailable("stop here")
    monkeypatch.setattr(registry, "create", capture)
    code, _, _ = run_cli(capsys, "run", str(text_file), "--backend", "azure",
                         "--batch-url", "https://a.r.batch.azure.com",
                         "--storage-account", "st")
    assert code == 1
    assert seen == {"name": "azure", "batch_url": "https://a.r.batch.azure.com",
                    "batch_account": None, "storage_url": None, "storage_account": "st"}
    code, _, err = run_cli(capsys, "run", str(text_file), "--batch-key", "secret")
    assert code == 2 and "unrecognized arguments: --batch-key" in err
    assert "secret" not in err
