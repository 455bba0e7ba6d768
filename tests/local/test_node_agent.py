"""The node agent, run here on the host as a node container runs it
(``python3 -c <source>``) and driven through ``AgentClient``: no Docker."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from topwords.backends.local.agent_client import (
    AgentClient, agent_source, parse_port, write_token,
)
from topwords.core.errors import NodeError


@pytest.fixture
def agent(tmp_path):
    token_file = tmp_path / ".agent-token"
    token = write_token(token_file)
    assert token_file.stat().st_mode & 0o777 == 0o600
    proc = subprocess.Popen([sys.executable, "-c", agent_source(), str(token_file)],
                            stdout=subprocess.PIPE)
    try:
        port = parse_port(proc.stdout.readline())
        assert not token_file.exists()  # read, then deleted
        client = AgentClient(port, token, "node-test")
        client.token = token
        yield client
    finally:
        proc.kill()
        proc.wait()


def run(agent, tmp_path, argv, timeout=None, env=None, on_start=None):
    out, err = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    exit_code, timed_out = agent.run(argv, env=env or {}, cwd=str(tmp_path), stdout=str(out),
                                     stderr=str(err), timeout=timeout, on_start=on_start)
    read = lambda p: p.read_text() if p.exists() else ""  # noqa: E731
    return exit_code, timed_out, read(out), read(err)


def test_runs_without_a_shell_in_cwd_with_env_and_appends_output(agent, tmp_path):
    script = "import os,sys; print(os.getcwd(), os.environ['X']); sys.stderr.write('e'); sys.exit(3)"
    (tmp_path / "stdout.txt").write_text("before\n")
    code, timed_out, out, err = run(agent, tmp_path, [sys.executable, "-c", script],
                                    env={"X": "$HOME"})
    assert (code, timed_out) == (3, False)
    assert out == f"before\n{tmp_path} $HOME\n"
    assert err == "e"


def test_command_never_sees_the_agent_token(agent, tmp_path):
    code, _, out, _ = run(agent, tmp_path, ["/bin/sh", "-c", "env; cat /proc/$PPID/cmdline"])
    assert code == 0
    assert "PATH=" in out and agent.token not in out


def test_missing_program_exits_127_with_the_reason_in_stderr(agent, tmp_path):
    code, timed_out, _, err = run(agent, tmp_path, ["no-such-program-xyz"])
    assert (code, timed_out) == (127, False)
    assert "no-such-program-xyz" in err


def test_timeout_kills_the_whole_tree(agent, tmp_path):
    marker = tmp_path / "late"
    script = f"sleep 30 & (sleep 2; touch {marker}) & wait"
    started = time.monotonic()
    code, timed_out, _, _ = run(agent, tmp_path, ["/bin/bash", "-c", script], timeout=0.5)
    assert (code, timed_out) == (None, True)
    assert time.monotonic() - started < 10
    time.sleep(2.5)
    assert not marker.exists()  # the grandchild was killed too


def test_kill_by_handle_ends_the_command_with_the_signal_code(agent, tmp_path):
    handles = []

    def on_start(pid):
        handles.append(pid)
        agent.kill(pid)

    code, timed_out, _, _ = run(agent, tmp_path, ["sleep", "30"], on_start=on_start)
    assert (code, timed_out) == (128 + 9, False)
    agent.kill(handles[0])  # ended: nothing to do, no error


def test_commands_run_concurrently(agent, tmp_path):
    from concurrent.futures import ThreadPoolExecutor
    started = time.monotonic()
    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(lambda i: run(agent, tmp_path / ".", ["sleep", "1"])[0], range(8)))
    assert codes == [0] * 8
    assert time.monotonic() - started < 5


def test_wrong_token_is_refused(agent, tmp_path):
    intruder = AgentClient(agent.port, "guess", "node-test")
    with pytest.raises(NodeError, match="refused: bad request: wrong token"):
        intruder.run(["true"], env={}, cwd=str(tmp_path), stdout=str(tmp_path / "o"),
                     stderr=str(tmp_path / "e"), timeout=None)
    assert not (tmp_path / "o").exists()


def test_greetings_agent_no_agent_and_garbage():
    assert parse_port(b'{"port": 4242}') == 4242
    assert parse_port(b'{"port": null}') is None  # an image without python3
    with pytest.raises(NodeError, match="did not start: Traceback"):
        parse_port(b"Traceback (most recent call last):")
    with pytest.raises(NodeError, match="did not start: no output"):
        parse_port(b"")
