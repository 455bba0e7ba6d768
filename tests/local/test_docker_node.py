"""A node container runs commands the same way through its agent (an image
with python3) and through ``docker exec`` (an image without)."""

from __future__ import annotations

import os
import time

import pytest

from topwords.backends.local.docker_node import DockerNode
from topwords.backends.local.layout import NODE_ROOT
from topwords.backends.local.labels import OWNER_LABEL
from topwords.backends.local.leftovers import owner_label
from topwords.backends.local.users import ROOT, NodeUser

pytestmark = pytest.mark.docker


@pytest.fixture(params=["agent", "exec"])
def node(request, docker_client, tmp_path, unique_id):
    from topwords.backends.local.config import LocalConfig
    if request.param == "agent":
        image = LocalConfig.from_env().image
    else:
        image = request.getfixturevalue("image_without_python")
    (tmp_path / "node" / "wd").mkdir(parents=True)
    node = DockerNode(docker_client, name=f"topwords-test-{unique_id('node')}", image=image,
                      host_root=tmp_path / "node", agent_dir=tmp_path / ".agent",
                      labels={OWNER_LABEL: owner_label()})
    node.start()
    assert node.has_agent is (request.param == "agent")
    yield node
    node.remove()
    assert not docker_client.containers.list(all=True, filters={"name": node.name})


def run(node, script, user=ROOT, **kwargs):
    root = node.host_root
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT
    out, err = os.open(root / "stdout.txt", flags), os.open(root / "stderr.txt", flags)
    try:
        outcome = node.run(["/bin/sh", "-c", script], env={"GREETING": "hi there"},
                           workdir=str(NODE_ROOT / "wd"), stdout=out, stderr=err, user=user,
                           **kwargs)
    finally:
        os.close(out)
        os.close(err)
    read = lambda name: (root / name).read_text() if (root / name).exists() else ""  # noqa: E731
    return outcome, read("stdout.txt"), read("stderr.txt")


def test_exit_code_output_env_and_cwd(node):
    outcome, out, err = run(node, 'echo "$GREETING from $(pwd)"; echo oops >&2; exit 3')
    assert (outcome.exit_code, outcome.timed_out) == (3, False)
    assert out == f"hi there from {NODE_ROOT}/wd\n"
    assert err == "oops\n"


def test_timeout_kills_the_whole_tree(node):
    started = time.monotonic()
    outcome, _, _ = run(node, "sleep 30 & (sleep 2; touch late) & wait", timeout=0.5)
    assert (outcome.exit_code, outcome.timed_out) == (None, True)
    assert time.monotonic() - started < 15
    time.sleep(2.5)
    assert not (node.host_root / "wd" / "late").exists()


def test_kill_by_the_handle_given_at_start(node):
    started = time.monotonic()
    outcome, out, _ = run(node, "echo started; sleep 30; echo never", on_start=node.kill)
    assert time.monotonic() - started < 15
    assert outcome.exit_code != 0 and not outcome.timed_out
    assert "never" not in out


def test_container_removed_mid_command_ends_it_promptly(node):
    """Through the agent: a NodeError (the agent went away); through docker
    exec: Docker reports the command killed (137)."""
    import threading

    from topwords.core.errors import NodeError
    through_agent = node.has_agent
    remover = threading.Timer(1.0, node.remove)
    remover.start()
    started = time.monotonic()
    try:
        outcome, _, _ = run(node, "sleep 60")
    except NodeError as exc:
        assert through_agent and "agent went away" in str(exc)
    else:
        assert not through_agent and outcome.exit_code == 137
    finally:
        remover.join()
    assert time.monotonic() - started < 20


def test_commands_never_see_the_agent_secret(node):
    outcome, out, _ = run(node, f"env; ls -a {NODE_ROOT} /run/batch-agent")
    assert outcome.exit_code == 0 and "PATH=" in out
    assert "TOKEN" not in out and "token" not in out


def test_a_command_runs_as_the_user_it_is_given(node):
    os.chmod(node.host_root / "wd", 0o777)
    outcome, out, _ = run(node, "id -u; id -g", user=NodeUser(123456, 1000))
    assert outcome.exit_code == 0
    assert out.split() == ["123456", "1000"]


def test_usage_reads_the_containers_cpu_and_memory(node):
    before = node.usage()
    assert before is not None and before.memory_bytes > 0
    outcome, _, _ = run(node, "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done")
    assert outcome.exit_code == 0
    after = node.usage()
    assert after.cpu_seconds > before.cpu_seconds  # the loop ran in the node's cgroup
