"""The node agent, run here on the host as a node container runs it
(``python3 -c <source>``) and driven through ``AgentClient``: no Docker."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from topwords.backends.local.agent_client import (
    AgentClient, AgentDir, agent_source, parse_greeting,
)
from topwords.core.errors import NodeError

ME = (os.geteuid(), os.getegid())


def start_agent(where):
    agent_dir = AgentDir(where)
    token_file = where / "token"
    assert where.stat().st_mode & 0o777 == 0o700
    assert token_file.stat().st_mode & 0o777 == 0o600
    proc = subprocess.Popen([sys.executable, "-c", agent_source(), str(where)],
                            stdout=subprocess.PIPE)
    assert parse_greeting(proc.stdout.readline())
    assert not token_file.exists()  # read, then deleted
    client = AgentClient(where, agent_dir.token, "node-test")
    client.token = agent_dir.token
    return proc, client


@pytest.fixture
def agent(tmp_path):
    proc, client = start_agent(tmp_path / "agent")
    try:
        yield client
    finally:
        client.close()
        proc.kill()
        proc.wait()


def run(agent, tmp_path, argv, timeout=None, env=None, on_start=None, user=ME):
    out, err = tmp_path / "stdout.txt", tmp_path / "stderr.txt"
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
    out_fd, err_fd = os.open(out, flags, 0o644), os.open(err, flags, 0o644)
    try:
        exit_code, timed_out = agent.run(argv, env=env or {}, cwd=str(tmp_path), stdout=out_fd,
                                         stderr=err_fd, user=user, timeout=timeout,
                                         on_start=on_start)
    finally:
        os.close(out_fd)
        os.close(err_fd)
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
    intruder = AgentClient(tmp_path / "agent", "guess", "node-test")
    marker = tmp_path / "ran"
    with pytest.raises(NodeError, match="refused: bad request: wrong token"):
        run(intruder, tmp_path, ["touch", str(marker)])
    assert not marker.exists()


def test_ping_answers_and_a_dead_agent_is_a_node_error(tmp_path):
    proc, client = start_agent(tmp_path / "agent")
    try:
        client.ping()
        proc.kill()
        proc.wait()
        with pytest.raises(NodeError, match="does not answer|went away|lost"):
            client.ping()
    finally:
        client.close()
        proc.kill()
        proc.wait()


def test_a_long_socket_path_is_reached_through_its_directory(tmp_path):
    deep = tmp_path / ("d" * 60) / ("e" * 60)
    deep.mkdir(parents=True)
    proc, client = start_agent(deep / "agent")
    try:
        assert len(str(deep / "agent" / "agent.sock")) > 107
        client.ping()
        assert run(client, tmp_path, ["true"])[0] == 0
    finally:
        client.close()
        proc.kill()
        proc.wait()


NOBODY = 65534
#: a Python that uid 65534 can run (the venv's may live under /root)
SYSTEM_PYTHON = "/usr/bin/python3"


def _as_nobody():
    os.setgid(NOBODY)
    os.setuid(NOBODY)


@pytest.mark.skipif(os.geteuid() != 0 or not os.path.exists(SYSTEM_PYTHON),
                    reason="needs root and /usr/bin/python3 to run processes as another uid")
def test_the_agent_memory_is_closed_to_processes_of_its_own_uid():
    import shutil
    import tempfile
    from pathlib import Path
    base = Path(tempfile.mkdtemp(prefix="tw-agent-test-"))  # not below root's 0700 tmp
    where = base / "agent"
    agent_dir = AgentDir(where)
    os.chown(base, NOBODY, NOBODY)
    os.chown(where, NOBODY, NOBODY)
    os.chown(where / "token", NOBODY, NOBODY)
    proc = subprocess.Popen([SYSTEM_PYTHON, "-c", agent_source(), str(where)],
                            stdout=subprocess.PIPE, preexec_fn=_as_nobody)
    plain = subprocess.Popen(["sleep", "30"], preexec_fn=_as_nobody)
    try:
        assert parse_greeting(proc.stdout.readline())
        probe = ("import sys\n"
                 "for pid in sys.argv[1:]:\n"
                 "    try:\n"
                 "        open('/proc/%s/mem' % pid, 'rb').close(); print(pid, 'open')\n"
                 "    except OSError as e: print(pid, 'refused', e.errno)\n")
        seen = subprocess.run([SYSTEM_PYTHON, "-c", probe, str(proc.pid), str(plain.pid)],
                              preexec_fn=_as_nobody, capture_output=True, text=True).stdout
        assert f"{plain.pid} open" in seen  # same uid, dumpable: open
        assert f"{proc.pid} refused" in seen, seen  # same uid, the agent: refused
        assert os.stat(f"/proc/{proc.pid}/mem").st_uid == 0  # proc(5): not dumpable
        assert agent_dir.token  # (kept only in the agent's memory)
    finally:
        plain.kill()
        proc.kill()
        plain.wait()
        proc.wait()
        shutil.rmtree(base, ignore_errors=True)


def test_greetings_agent_no_agent_and_garbage():
    assert parse_greeting(b'{"agent": 1}') is True
    assert parse_greeting(b'{"agent": null}') is False  # an image without python3
    with pytest.raises(NodeError, match="did not start: Traceback"):
        parse_greeting(b"Traceback (most recent call last):")
    with pytest.raises(NodeError, match="did not start: no output"):
        parse_greeting(b"")
