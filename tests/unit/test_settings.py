"""One merger of settings for every backend's config: explicit values win
over variables, which win over a config file's values."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from topwords.backends.local.config import LocalConfig
from topwords.core.errors import ConfigError
from topwords.core.settings import merge_settings


@dataclass(frozen=True, kw_only=True)
class Demo:
    url: str | None = None
    name: str | None = None
    size: str | None = None


ENV = {"url": "DEMO_URL", "name": "DEMO_NAME", "size": "DEMO_SIZE"}


def test_explicit_wins_over_the_environment_which_wins_over_the_base(monkeypatch):
    monkeypatch.setenv("DEMO_URL", "env-url")
    monkeypatch.setenv("DEMO_NAME", "env-name")
    monkeypatch.setenv("DEMO_SIZE", "")  # empty: not given
    values = merge_settings(Demo, {"url": "explicit", "name": None}, ENV, what="demo",
                            base={"name": "file", "size": "file-size"})
    assert values == {"url": "explicit", "name": "env-name", "size": "file-size"}


def test_an_unknown_option_is_one_config_error_naming_the_known_ones(monkeypatch):
    with pytest.raises(ConfigError, match=r"^unknown demo option\(s\): colour, sise; "
                                          r"known: name, size, url$"):
        merge_settings(Demo, {"sise": 1, "colour": 2}, ENV, what="demo")


def test_local_config_uses_it(monkeypatch, tmp_path):
    monkeypatch.setenv("TOPWORDS_LOCAL_IMAGE", "from-env:1")
    assert LocalConfig.from_env().image == "from-env:1"
    assert LocalConfig.from_env(image="explicit:2", storage_url=None).image == "explicit:2"
    with pytest.raises(ConfigError, match="unknown local backend option"):
        LocalConfig.from_env(imgae="x")
