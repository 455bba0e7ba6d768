"""``topwords emulator --env-file``: the keys land in a file only its owner reads."""

from __future__ import annotations

import os

import pytest

from topwords.backends.local.commands import write_private as _write_private
from topwords.core.errors import ConfigError


def test_an_existing_world_readable_file_becomes_0600(tmp_path):
    path = tmp_path / "batch.env"
    path.write_text("old")
    os.chmod(path, 0o644)
    _write_private(path, "export KEY=secret\n")
    assert path.read_text() == "export KEY=secret\n"
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_link_at_the_name_is_replaced_never_written_through(tmp_path):
    target = tmp_path / "elsewhere.txt"
    target.write_text("untouched")
    os.chmod(target, 0o644)
    (tmp_path / "batch.env").symlink_to(target)
    _write_private(tmp_path / "batch.env", "export KEY=secret\n")
    assert target.read_text() == "untouched"
    assert not (tmp_path / "batch.env").is_symlink()
    assert (tmp_path / "batch.env").stat().st_mode & 0o777 == 0o600


def test_an_unwritable_place_is_one_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot write the --env-file"):
        _write_private(tmp_path / "no-such-dir" / "batch.env", "x")
    assert not list(tmp_path.iterdir())
