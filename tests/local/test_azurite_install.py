"""The pinned Azurite: its lock files in the package, its install into the
user's cache (`topwords local setup`), and how it is found afterwards.

npm is replaced by a script that lays out what `npm ci` would; the real
`npm ci` runs in tests/packaging/test_installed_wheel.py.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import threading
from pathlib import Path
from typing import Callable

import pytest

from topwords.backends.local import azurite_npm, provision
from topwords.backends.local.azurite import find_azurite_binary
from topwords.cli import main as cli
from topwords.core.errors import ConfigError

FAKE_NPM = """#!/bin/sh
echo "$@" >> {calls}
{body}
/bin/mkdir -p node_modules/.bin node_modules/azurite
printf '#!/bin/sh\\necho fake azurite\\n' > node_modules/.bin/azurite-blob
/bin/chmod +x node_modules/.bin/azurite-blob
echo '{{"version": "3.35.0"}}' > node_modules/azurite/package.json
"""


def executable(path: Path, text: str) -> Path:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.fixture
def tools(tmp_path, monkeypatch):
    """An empty PATH directory and cache (the test adds fake node/npm)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("TOPWORDS_AZURITE_BIN", raising=False)
    return bin_dir


def fake_npm(bin_dir: Path, body: str = "") -> Path:
    """A fake `npm` (and `node`); returns the file its calls are logged in."""
    calls = bin_dir.parent / "npm-calls"
    executable(bin_dir / "npm", FAKE_NPM.format(calls=calls, body=body))
    executable(bin_dir / "node", "#!/bin/sh\nexit 0\n")
    return calls


def said() -> tuple[list[str], Callable[[str], None]]:
    lines: list[str] = []
    return lines, lines.append


# -- the pin -------------------------------------------------------------------

def test_lock_files_pin_the_same_azurite_version_as_package_json():
    package = json.loads((azurite_npm.LOCK_DIR / "package.json").read_text())
    lock = json.loads((azurite_npm.LOCK_DIR / "package-lock.json").read_text())
    assert package["dependencies"]["azurite"] == azurite_npm.pinned_version() == "3.35.0"
    assert lock["packages"][""]["dependencies"] == package["dependencies"]


def test_install_dir_follows_xdg_cache_home_and_names_version(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    target = azurite_npm.install_dir()
    assert target.parent == tmp_path / "topwords"
    assert target.name.startswith(f"azurite-{azurite_npm.pinned_version()}-")


def test_install_dir_relative_xdg_cache_home_is_ignored(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/cache")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert azurite_npm.cache_root() == tmp_path / ".cache" / "topwords"


def test_install_dir_changed_lock_gets_another_directory(tmp_path, monkeypatch):
    before = azurite_npm.install_dir()
    for name in azurite_npm.LOCK_FILES:
        shutil.copy(azurite_npm.LOCK_DIR / name, tmp_path / name)
    with open(tmp_path / "package-lock.json", "a") as lock:
        lock.write("\n")
    monkeypatch.setattr(azurite_npm, "LOCK_DIR", tmp_path)
    azurite_npm._lock_digest.cache_clear()
    try:
        assert azurite_npm.install_dir() != before
    finally:
        azurite_npm._lock_digest.cache_clear()


# -- installing (ensure_azurite) ---------------------------------------------------

def test_ensure_azurite_not_installed_runs_npm_ci_once_then_reuses(tools):
    calls = fake_npm(tools)
    lines, say = said()
    first = provision.ensure_azurite(say)
    second = provision.ensure_azurite(say)
    assert first == second == azurite_npm.install_dir() / azurite_npm.BINARY
    assert calls.read_text().split("\n")[0].startswith("ci ")
    assert len(calls.read_text().splitlines()) == 1
    assert "npm ci" in lines[0] and str(azurite_npm.install_dir()) in lines[0]
    assert lines[1].startswith("azurite: installed 3.35.0 in ")
    assert lines[2] == f"azurite: 3.35.0 (pinned) is installed in {azurite_npm.install_dir()}"
    assert find_azurite_binary() == first


def test_ensure_azurite_npm_fails_raises_its_error_and_leaves_nothing(tools):
    fake_npm(tools, body="echo 'npm error code E404' >&2\n"
                         "echo 'npm error 404 Not Found - GET azurite' >&2\n"
                         "echo 'npm error A complete log of this run can be found in: /x' >&2\n"
                         "exit 1")
    with pytest.raises(ConfigError) as caught:
        provision.ensure_azurite(lambda line: None)
    assert str(caught.value) == ("npm ci of Azurite 3.35.0 failed: code E404; "
                                 "404 Not Found - GET azurite")
    assert os.listdir(azurite_npm.cache_root()) == []
    assert azurite_npm.installed_binary() is None


def test_install_two_at_once_both_end_with_one_install(tools):
    calls = fake_npm(tools, body="/bin/sleep 0.5")
    results: list[Path] = []
    threads = [threading.Thread(target=lambda: results.append(azurite_npm.install(
        str(tools / "npm")))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(calls.read_text().splitlines()) == 2
    assert results == [azurite_npm.install_dir() / azurite_npm.BINARY] * 2
    assert os.listdir(azurite_npm.cache_root()) == [azurite_npm.install_dir().name]


def test_ensure_azurite_without_node_and_npm_names_both_with_hint(tools):
    with pytest.raises(ConfigError) as caught:
        provision.ensure_azurite(lambda line: None)
    assert str(caught.value) == "Azurite 3.35.0 needs Node.js and npm: node and npm not found"
    assert "install Node.js" in caught.value.hint


def test_ensure_azurite_without_npm_uses_azurite_on_path(tools):
    executable(tools / "node", "#!/bin/sh\nexit 0\n")
    on_path = executable(tools / "azurite-blob", "#!/bin/sh\nexit 0\n")
    lines, say = said()
    assert provision.ensure_azurite(say) == on_path
    assert lines == [f"azurite: npm is missing, so using {on_path} from PATH (not the "
                     "pinned 3.35.0)"]


def test_ensure_azurite_env_variable_wins_and_installs_nothing(tools, monkeypatch):
    calls = fake_npm(tools)
    chosen = executable(tools / "my-azurite", "#!/bin/sh\nexit 0\n")
    monkeypatch.setenv("TOPWORDS_AZURITE_BIN", str(chosen))
    lines, say = said()
    assert provision.ensure_azurite(say) == chosen
    assert not calls.exists()
    assert "TOPWORDS_AZURITE_BIN" in lines[0]


# -- finding it --------------------------------------------------------------------

def test_find_azurite_binary_prefers_the_pinned_install_to_path(tools):
    fake_npm(tools)
    executable(tools / "azurite-blob", "#!/bin/sh\nexit 0\n")
    assert find_azurite_binary() == tools / "azurite-blob"
    installed = azurite_npm.install(str(tools / "npm"))
    assert find_azurite_binary() == installed


# -- `topwords local setup` says what is missing ------------------------------------

def test_local_setup_without_docker_exits_2_with_one_line_and_hint(tools, capsys):
    assert cli.main(["local", "setup"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == ["topwords: error: the Docker client is not installed",
                   "  hint: install Docker (Debian: apt-get install docker.io)"]


@pytest.mark.docker
def test_local_setup_without_npm_exits_2_naming_it(tools, capsys, docker_client):
    (tools / "docker").symlink_to(shutil.which("docker", path="/usr/local/bin:/usr/bin:/bin"))
    assert cli.main(["local", "setup"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "docker: daemon answers"
    assert err[1] == ("topwords: error: Azurite 3.35.0 needs Node.js and npm: "
                      "node and npm not found")
    assert err[2].startswith("  hint: install Node.js 18+ with npm")
    assert len(err) == 3
