"""AzuriteServer, find_azurite_binary and wait_until_reachable."""

from __future__ import annotations

import os
import socket
import stat
import time
from pathlib import Path

import pytest

from topwords.backends.local.azurite import (AZURITE_ACCOUNT, AzuriteServer,
                                            find_azurite_binary, storage_for,
                                            wait_until_reachable)
from topwords.core.errors import ConfigError, StorageError


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/{AZURITE_ACCOUNT}"


def script(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "fake-azurite"
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


# -- finding the binary ------------------------------------------------------

def test_find_azurite_binary_explicit_path_wins(tmp_path, monkeypatch):
    fake = script(tmp_path, "exit 0")
    monkeypatch.setenv("TOPWORDS_AZURITE_BIN", "/nonexistent")
    assert find_azurite_binary(str(fake)) == fake


def test_find_azurite_binary_env_variable_is_used(tmp_path, monkeypatch):
    fake = script(tmp_path, "exit 0")
    monkeypatch.setenv("TOPWORDS_AZURITE_BIN", str(fake))
    assert find_azurite_binary() == fake


def test_find_azurite_binary_missing_everywhere_raises_with_hint(tmp_path, monkeypatch):
    monkeypatch.delenv("TOPWORDS_AZURITE_BIN", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(ConfigError) as caught:
        find_azurite_binary()
    assert "topwords local setup" in caught.value.hint


def test_find_azurite_binary_explicit_missing_path_raises(tmp_path):
    with pytest.raises(ConfigError):
        find_azurite_binary(str(tmp_path / "nope"))


# -- the server ----------------------------------------------------------------

def test_start_failing_binary_raises_with_its_output(tmp_path):
    server = AzuriteServer(binary=script(tmp_path, "echo 'port in use?sig=SECRET'; exit 3"))
    with pytest.raises(StorageError) as caught:
        server.start(timeout=5)
    assert "exited" in str(caught.value) and "port in use" in str(caught.value)
    assert "SECRET" not in str(caught.value)
    assert not server.running


def test_start_silent_binary_times_out_and_is_stopped(tmp_path):
    pid_file = tmp_path / "pid"
    server = AzuriteServer(binary=script(tmp_path, f"echo $$ > {pid_file}; exec sleep 60"))
    started = time.monotonic()
    with pytest.raises(StorageError, match="did not listen"):
        server.start(timeout=0.5)
    assert time.monotonic() - started < 5
    pid = int(pid_file.read_text())
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


@pytest.mark.azurite
def test_server_started_answers_and_stop_is_idempotent(azurite):
    with AzuriteServer() as server:
        assert server.running
        assert server.blob_url.startswith("http://127.0.0.1:")
        assert server.blob_url.endswith(f"/{AZURITE_ACCOUNT}")
        assert server.port != azurite.port  # port 0: each server gets a free port
        wait_until_reachable(server.blob_url, timeout=2)
    assert not server.running
    server.stop()
    with pytest.raises(StorageError):
        server.blob_url


@pytest.mark.azurite
def test_stop_right_after_write_keeps_acknowledged_blob(azurite, tmp_path):
    source = tmp_path / "x.txt"
    source.write_text("kept")
    with AzuriteServer(tmp_path / "data") as server, server.storage() as storage:
        storage.create_container("kept")
        storage.upload_file("kept", "x.txt", source)
    with AzuriteServer(tmp_path / "data") as server, server.storage() as storage:
        assert storage.list_blobs("kept") == ["x.txt"]  # a new key reaches the same data


@pytest.mark.azurite
def test_each_server_has_its_own_random_key_and_refuses_the_dev_key(azurite, unique_name):
    from topwords.backends.local.azurite import AZURITE_KEY
    from topwords.core.errors import StorageAuthError
    assert azurite.account_key != AZURITE_KEY
    with AzuriteServer() as other:
        assert other.account_key not in (azurite.account_key, AZURITE_KEY)
    container = unique_name()
    with azurite.storage() as owner:
        owner.create_container(container)
        for key in (AZURITE_KEY, AzuriteServer().account_key):
            with storage_for(azurite.blob_url, key) as intruder:
                with pytest.raises(StorageAuthError, match="403"):
                    intruder.list_blobs(container)
        owner.delete_container(container)


# -- reaching a given URL ----------------------------------------------------------

@pytest.mark.azurite
def test_wait_until_reachable_running_azurite_returns(azurite):
    wait_until_reachable(azurite.blob_url, timeout=2)


def test_wait_until_reachable_closed_port_raises_after_timeout():
    started = time.monotonic()
    with pytest.raises(StorageError, match="no storage service answers"):
        wait_until_reachable(closed_port_url(), timeout=0.5)
    assert time.monotonic() - started < 3


def test_wait_until_reachable_bad_url_raises_config_error():
    with pytest.raises(ConfigError):
        wait_until_reachable("127.0.0.1:10000", timeout=0.5)
