"""What the local backend starts dies with its owner, even on SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest

from topwords.backends.local.lifeline import is_alive, lifeline, sweep_files


def _closed(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    try:  # a zombie of our own is gone too
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def _until(check, timeout: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return check()


def test_a_lifeline_is_alive_while_its_owner_lives_and_dead_after(tmp_path):
    assert is_alive(lifeline().path)
    child = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import sys, time
        from topwords.backends.local.lifeline import lifeline
        print(lifeline().path, flush=True)
        time.sleep(60)
    """)], stdout=subprocess.PIPE, text=True)
    path = child.stdout.readline().strip()
    assert is_alive(path)
    child.kill()
    child.wait()
    assert not is_alive(path)
    assert sweep_files() >= 1 and not os.path.exists(path)
    assert not is_alive(tmp_path / "no-such.lock")


OWNER = textwrap.dedent("""
    import json, sys, tempfile, time
    from pathlib import Path
    from topwords.backends.local.azurite import AzuriteServer
    from topwords.backends.local.docker_node import connect
    from topwords.backends.local.engine import LocalBatchEngine
    from topwords.core.model import NodeState, PoolSpec
    azurite = AzuriteServer().start()
    engine = LocalBatchEngine(connect(), image=sys.argv[1], work_dir=Path(sys.argv[2]))
    engine.create_pool(PoolSpec(id="owned", node_count=1))
    while engine.list_nodes("owned")[0].state is not NodeState.IDLE:
        time.sleep(0.1)
    node = engine._pools["owned"].nodes[0]
    print(json.dumps({"watchdog": azurite._process.pid, "port": azurite.port,
                      "container": node.handle.inspect()["Id"]}), flush=True)
    time.sleep(120)
""")


@pytest.mark.docker
@pytest.mark.azurite
def test_azurite_and_node_containers_die_with_an_owner_killed_by_sigkill(tmp_path,
                                                                        docker_client):
    from topwords.backends.local.config import LocalConfig
    owner = subprocess.Popen([sys.executable, "-c", OWNER, LocalConfig.from_env().image,
                              str(tmp_path / "nodes")], stdout=subprocess.PIPE, text=True)
    try:
        started = json.loads(owner.stdout.readline())
        azurite = [int(p) for p in open(f"/proc/{started['watchdog']}/task/"
                                        f"{started['watchdog']}/children").read().split()]
        assert azurite and not _closed(started["port"])
        owner.send_signal(signal.SIGKILL)
        owner.wait()
        killed = time.monotonic()
        assert _until(lambda: all(_gone(p) for p in [started["watchdog"], *azurite]))
        assert _until(lambda: _closed(started["port"]))
        assert _until(lambda: not docker_client.api.containers(
            all=True, filters={"id": started["container"]}))
        assert time.monotonic() - killed < 20
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait()
