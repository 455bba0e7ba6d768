"""A soak: 50 back-to-back runs (one in ten with its own private Azurite)
leave no container, process, listening port, file descriptor, thread or
directory behind."""

from __future__ import annotations

import os
import threading
import time

import pytest

from topwords.core import registry
from topwords.core.inputs import validate_inputs
from topwords.core.run import PoolSettings, RunSettings
from topwords.workloads.topn import run_top_words

pytestmark = [pytest.mark.docker, pytest.mark.azurite]

RUNS = 50


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def _children() -> set[int]:
    me = os.getpid()
    found = set()
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == me:
                        found.add(int(entry))
            except (OSError, ValueError, IndexError):
                continue
    return found


def _listening(elders: frozenset[int] = frozenset()) -> dict[str, str]:
    """Listening TCP sockets the children of this process (but ``elders``,
    children older than the runs) hold: local address -> the holder's pid
    and command line. This process itself is not looked at: the runs' own
    code opens no listening socket (only the emulator's server listens, and
    the runs use none), while servers that earlier tests of the session
    started here may come and go (one was seen appearing during the runs in
    a whole-suite run, its owner not found); what the runs could leave
    listening is their private Azurite, a child."""
    holders = {}
    for pid in map(str, _children() - elders):
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                command = f.read().replace(b"\0", b" ").decode(errors="replace")[:120]
            for fd in os.listdir(f"/proc/{pid}/fd"):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:["):
                    holders[target[8:-1]] = f"{pid}: {command}"
        except OSError:
            continue
    ports = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            next(f)
            ports |= {cols[1]: holders[cols[9]] for cols in map(str.split, f)
                      if cols[3] == "0A" and cols[9] in holders}
    return ports


def _settled(check, timeout=15.0):
    deadline = time.monotonic() + timeout
    while not check() and time.monotonic() < deadline:
        time.sleep(0.2)
    return check()


def test_fifty_runs_leave_nothing_behind(tmp_path, azurite, docker_client, monkeypatch):
    monkeypatch.setenv("TOPWORDS_LOCAL_WORK_DIR", str(tmp_path / "nodes"))
    files = []
    for i in range(3):
        files.append(tmp_path / f"in{i}.txt")
        files[-1].write_text(f"alpha beta {i} beta\n")
    inputs = validate_inputs(files)
    owner = {"label": f"topwords.owner={os.uname().nodename}:{os.getpid()}"}

    def one(n: int) -> None:
        shared = {} if n % 10 == 0 else {"storage_url": azurite.blob_url,
                                        "storage_key": azurite.account_key}
        with registry.create("local", **shared) as backend:
            result = run_top_words(backend, inputs, RunSettings(
                output_dir=tmp_path / "out" / str(n), pool=PoolSettings(node_count=1),
                timeout=60))
        assert result.succeeded, n
        assert result.corpus.value[0] == ("beta", 6)

    one(-1)  # warm-up: imports, pools of connections, the first lifeline
    fds, threads, children = _fds(), threading.active_count(), frozenset(_children())
    ports = _listening(children)
    started = time.monotonic()
    for n in range(RUNS):
        one(n)
    took = time.monotonic() - started
    assert _settled(lambda: not docker_client.api.containers(all=True, filters=owner))
    assert _settled(lambda: _children() <= children), _children() - children
    assert _settled(lambda: _listening(children).keys() <= ports.keys()), \
        {k: v for k, v in _listening(children).items() if k not in ports}
    assert _settled(lambda: threading.active_count() <= threads + 2), threading.enumerate()
    assert _fds() <= fds + 2, sorted(os.listdir("/proc/self/fd"))
    assert not list((tmp_path / "nodes").iterdir())
    for n in range(RUNS):
        assert not list((tmp_path / "out" / str(n)).glob(".topwords-*"))  # no staging left
    print(f"{RUNS} runs in {took:.1f} s")
