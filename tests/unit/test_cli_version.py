"""`topwords --version` reports the installed distribution's version."""

from __future__ import annotations

from importlib.metadata import version

import pytest

from topwords.cli import main as cli


def test_version_flag_prints_installed_version_and_exits_0(capsys):
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out == f"topwords {version('topwords')}\n"


def test_version_of_checkout_is_a_release_or_dev_version_from_git():
    # setuptools-scm: vX.Y.Z tags, else the fallback 0.5.0 as the base.
    major, minor, *_ = version("topwords").split(".")
    assert (int(major), int(minor)) >= (0, 5)
