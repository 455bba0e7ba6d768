"""Hostile tasks, each of which must fail to do harm: through the local
backend (``LocalBatchEngine``) and through the Batch emulator with the real
azure-batch SDK (the azure backend's ``BatchCompute``), as ``module_compute``
gives both.

"The host" below is this test process's filesystem: a task that gets a host
path followed, written, truncated or deleted has escaped its node.
"""

from __future__ import annotations

import shlex
import uuid
import urllib.parse
from datetime import datetime, timedelta, timezone

import pytest

from topwords.core.errors import ConfigError, TaskNotFound, TopwordsError
from topwords.core.model import (
    JobSpec, NodeState, OutputFile, PoolSpec, ResourceFile, StartTask, TaskResult, TaskSpec,
    UploadCondition,
)

pytestmark = [pytest.mark.docker, pytest.mark.azurite]

WAIT = 90.0


def bash(script: str) -> str:
    return "/bin/bash -c " + shlex.quote(script)


def python(code: str) -> str:
    return "python3 -c " + shlex.quote(code)


@pytest.fixture(scope="module")
def pool(module_compute, module_unique_id):
    """One node, two slots: every task of a test lands on the same node."""
    pool_id = module_unique_id("hostile")
    module_compute.create_pool(PoolSpec(id=pool_id, node_count=1, task_slots_per_node=2))
    yield pool_id
    module_compute.delete_pool(pool_id)


@pytest.fixture
def job(module_compute, pool, unique_id):
    job_id = unique_id("job")
    module_compute.create_job(JobSpec(id=job_id, pool_id=pool, uses_task_dependencies=True))
    yield job_id
    module_compute.delete_job(job_id)


@pytest.fixture(scope="module")
def blobs(azurite):
    """Storage with the account key (what the run's client holds)."""
    with azurite.storage() as storage:
        yield storage


@pytest.fixture
def container(blobs):
    name = f"hostile-{uuid.uuid4().hex[:12]}"
    blobs.create_container(name)
    yield name
    blobs.delete_container(name)


@pytest.fixture
def host_secret(tmp_path):
    secret = tmp_path / "host-secret.txt"
    secret.write_text(f"HOST-SECRET-{uuid.uuid4().hex}")
    return secret


def run(compute, job, pool, *specs):
    compute.add_tasks(job, list(specs))
    return {t.id: t for t in compute.wait_for_tasks(job, pool, WAIT)}


def stdout_of(compute, job, task_id) -> str:
    return compute.read_task_file(job, task_id, "stdout.txt").decode("utf-8", "replace")


def engine_of(compute, request):
    """The LocalBatchEngine behind ``compute`` (itself, or the emulator's)."""
    if compute.name == "local":
        return compute
    return request.getfixturevalue("batch_emulator").engine


# -- no path a task controls is followed on the host ----------------------------

def test_links_to_a_host_file_are_never_uploaded_or_served(module_compute, job, pool, blobs,
                                                           container, host_secret):
    url = blobs.container_write_url(container)
    outputs = (OutputFile(file_pattern="out.txt", container_url=url, path="out.txt"),
               OutputFile(file_pattern="**/*.txt", container_url=url, path="all"),
               OutputFile(file_pattern="../std*.txt", container_url=url, path="logs",
                          upload_condition=UploadCondition.TASK_COMPLETION))
    script = (f"ln -s {host_secret} out.txt; mkdir d; ln -s {host_secret.parent} d/up; "
              f"ln -sf {host_secret} ../stdout.txt; ln -sf {host_secret} ../stderr.txt; "
              "echo planted")
    task = run(module_compute, job, pool, TaskSpec(id="links", command_line=bash(script),
                                                   output_files=outputs))["links"]
    assert task.result is TaskResult.SUCCESS, task.failure
    secret = host_secret.read_bytes()
    uploaded = blobs.list_blobs(container)
    for name in uploaded:
        target = host_secret.parent / "downloaded"
        blobs.download_file(container, name, target)
        assert secret not in target.read_bytes(), name
    assert "out.txt" not in uploaded  # a link is not a file to upload
    for path in ("stdout.txt", "stderr.txt", "wd/out.txt", "wd/d/up/host-secret.txt"):
        try:
            served = module_compute.read_task_file(job, "links", path)
        except TaskNotFound:
            continue
        assert secret not in served, path


def test_a_linked_job_folder_never_sends_files_to_the_host_or_deletes_there(
        module_compute, job, pool, blobs, container, tmp_path):
    host_dir = tmp_path / "host-dir"
    (host_dir / "after").mkdir(parents=True)
    (host_dir / "after" / "keep.txt").write_text("keep")
    source = tmp_path / "in.txt"
    source.write_text("resource")
    blobs.upload_file(container, "in.txt", source)
    swap = ('cd /; root="$AZ_BATCH_NODE_ROOT_DIR/workitems/$AZ_BATCH_JOB_ID"; '
            f'mv "$root/job-1" "$root/moved"; ln -s {host_dir} "$root/job-1"; echo swapped')
    first = TaskSpec(id="swap", command_line=bash(swap), run_elevated=True)
    after = TaskSpec(id="after", command_line="true", depends_on=("swap",),
                     resource_files=(ResourceFile(http_url=blobs.blob_read_url(container,
                                                                               "in.txt"),
                                                  file_path="in.txt"),))
    done = run(module_compute, job, pool, first, after)
    assert done["swap"].result is TaskResult.SUCCESS, done["swap"].failure
    assert done["after"].result is TaskResult.FAILURE  # its folder is a link: refused
    assert sorted(p.relative_to(host_dir).as_posix() for p in host_dir.rglob("*")) == [
        "after", "after/keep.txt"]
    module_compute.delete_job(job)  # the delete walks the node's job folder
    assert (host_dir / "after" / "keep.txt").read_text() == "keep"


def test_a_start_task_cannot_truncate_a_host_file_through_its_stdout(module_compute,
                                                                     unique_id, host_secret):
    before = host_secret.read_bytes()
    script = f'ln -sf {host_secret} "$AZ_BATCH_NODE_STARTUP_DIR/stdout.txt"; exit 1'
    pool_id = unique_id("hostile-start")
    module_compute.create_pool(PoolSpec(id=pool_id, node_count=1, start_task=StartTask(
        command_line=bash(script), wait_for_success=True, max_task_retry_count=1)))
    try:
        with pytest.raises(TopwordsError):
            deadline = datetime.now(timezone.utc) + timedelta(seconds=WAIT)
            while datetime.now(timezone.utc) < deadline:
                module_compute.check_pool_usable(pool_id)
        nodes = module_compute.list_nodes(pool_id)
        assert [n.state for n in nodes] == [NodeState.START_TASK_FAILED]
    finally:
        module_compute.delete_pool(pool_id)
    assert host_secret.read_bytes() == before


def test_output_patterns_that_leave_the_task_dir_are_refused(batch_client, blobs, container):
    from azure.batch import models as bm
    from azure.core.exceptions import HttpResponseError
    url = blobs.container_write_url(container)
    for pattern in ("../../../etc/passwd", "/etc/passwd", "../../std*.txt", "a/../../x"):
        with pytest.raises(ConfigError):
            OutputFile(file_pattern=pattern, container_url=url)
    job_id = f"patterns-{uuid.uuid4().hex[:8]}"
    batch_client.create_job(bm.BatchJobCreateOptions(id=job_id,
                                                     pool_info=bm.BatchPoolInfo(pool_id="none")))
    try:
        with pytest.raises(HttpResponseError) as caught:
            batch_client.create_task(job_id, bm.BatchTaskCreateOptions(
                id="t", command_line="true", output_files=[bm.OutputFile(
                    file_pattern="../../../etc/passwd",
                    destination=bm.OutputFileDestination(
                        container=bm.OutputFileBlobContainerDestination(container_url=url)),
                    upload_options=bm.OutputFileUploadConfiguration(
                        upload_condition="taskcompletion"))]))
        assert caught.value.status_code == 400
        assert "filePattern" in str(caught.value)
    finally:
        batch_client.begin_delete_job(job_id).result()


# -- nodes cannot reach each other's control channel or the loopback ------------

def test_an_admin_task_cannot_sniff_loopback(module_compute, job, pool):
    probe = ("import socket\n"
             "for family, kind in ((socket.AF_PACKET, socket.SOCK_RAW),"
             " (socket.AF_INET, socket.SOCK_RAW)):\n"
             "    try:\n"
             "        socket.socket(family, kind, socket.htons(3) if family == socket.AF_PACKET"
             " else socket.IPPROTO_TCP).close(); print('OPENED')\n"
             "    except PermissionError: print('refused')\n")
    task = run(module_compute, job, pool, TaskSpec(id="sniff", command_line=python(probe),
                                                   run_elevated=True))["sniff"]
    assert task.result is TaskResult.SUCCESS, task.failure
    assert stdout_of(module_compute, job, "sniff").split() == ["refused", "refused"]


def test_tasks_reach_no_agent_but_their_own_and_that_one_only_as_admin(module_compute, job,
                                                                       pool):
    probe = ("import glob, json, os, socket\n"
             "tops = ('/run', '/mnt', '/tmp', '/var', '/root', '/home')\n"
             "print(sorted({os.path.realpath(p) for top in tops\n"
             "              for p in glob.glob(top + '/**/agent.sock', recursive=True)}))\n"
             "s = socket.socket(socket.AF_UNIX)\n"
             "try:\n"
             "    s.connect('/run/batch-agent/agent.sock')\n"
             "    s.sendall(json.dumps({'token': 'guess', 'op': 'ping'}).encode() + b'\\n')\n"
             "    print(s.makefile().readline().strip())\n"
             "except OSError as e: print('refused', type(e).__name__)\n")
    done = run(module_compute, job, pool,
               TaskSpec(id="plain", command_line=python(probe)),
               TaskSpec(id="admin", command_line=python(probe), run_elevated=True))
    plain = stdout_of(module_compute, job, "plain").splitlines()
    admin = stdout_of(module_compute, job, "admin").splitlines()
    assert done["plain"].succeeded and done["admin"].succeeded
    assert plain == ["[]", "refused PermissionError"]  # cannot even see it
    assert admin[0] == "['/run/batch-agent/agent.sock']"  # its own node's, nothing else
    assert "wrong token" in admin[1]


def test_two_nodes_see_only_their_own_node_directory(module_compute, unique_id):
    pool_id, job_id = unique_id("hostile-two"), unique_id("job")
    module_compute.create_pool(PoolSpec(id=pool_id, node_count=2))
    try:
        module_compute.create_job(JobSpec(id=job_id, pool_id=pool_id))
        probe = ('echo "$AZ_BATCH_NODE_ID"; ls "$AZ_BATCH_NODE_ROOT_DIR/workitems/'
                 '$AZ_BATCH_JOB_ID/job-1"; grep -c " /mnt/batch/tasks " /proc/mounts')
        specs = [TaskSpec(id=f"t{i}", command_line=bash(f"sleep 1; {probe}"), run_elevated=True)
                 for i in range(2)]
        done = run(module_compute, job_id, pool_id, *specs)
        seen = [stdout_of(module_compute, job_id, t).split() for t in ("t0", "t1")]
        assert all(t.succeeded for t in done.values())
        assert {s[0] for s in seen} == {"node-0", "node-1"}  # one task on each node
        for lines in seen:
            assert lines[1:] == [f"t{seen.index(lines)}", "1"]  # its own task dir, one mount
    finally:
        module_compute.delete_job(job_id)
        module_compute.delete_pool(pool_id)


# -- tasks run as Batch runs them --------------------------------------------------

def test_tasks_run_as_non_admin_users_unless_elevated(module_compute, job, pool):
    probe = 'id -u; id -g; stat -c "%u %a" . ..; touch /etc/x 2>/dev/null && echo ROOT || true'
    done = run(module_compute, job, pool,
               TaskSpec(id="one", command_line=bash(probe)),
               TaskSpec(id="two", command_line=bash(probe)),
               TaskSpec(id="pool1", command_line=bash(probe), user_scope="pool"),
               TaskSpec(id="pool2", command_line=bash(probe), user_scope="pool"),
               TaskSpec(id="admin", command_line=bash(probe), run_elevated=True))
    assert all(t.succeeded for t in done.values())
    out = {t: stdout_of(module_compute, job, t).split() for t in done}
    one, two = out["one"], out["two"]
    assert one[0] != "0" and two[0] != "0" and one[0] != two[0]  # task scope: a user each
    assert one[2:6] == [one[0], "700", one[0], "700"] and "ROOT" not in one
    assert out["pool1"][0] == out["pool2"][0] != "0"  # pool scope: one shared user
    assert out["admin"][0] == "0" and out["admin"][-1] == "ROOT"


def test_a_task_cannot_read_its_agents_memory_or_token(module_compute, job, pool, request):
    probe = ("import os\n"
             "agents = [p for p in os.listdir('/proc') if p.isdigit() and b'batch-agent' in\n"
             "          open('/proc/%s/cmdline' % p, 'rb').read()]\n"
             "for pid in agents:\n"
             "    for name in ('mem', 'environ', 'maps'):\n"
             "        try: print(name, open('/proc/%s/%s' % (pid, name), 'rb').read(64))\n"
             "        except OSError as e: print(name, 'refused', e.errno)\n"
             "print(sorted(os.listdir('/run/batch-agent')))\n")
    task = run(module_compute, job, pool, TaskSpec(id="mem", command_line=python(probe),
                                                   run_elevated=True))["mem"]
    out = stdout_of(module_compute, job, "mem")
    assert task.succeeded, task.failure
    assert "mem refused" in out and "environ refused" in out
    assert "['agent.sock']" in out  # the token file is gone
    engine = engine_of(module_compute, request)
    tokens = [n.handle._agent_dir.token for p in engine._pools.values() for n in p.nodes
              if n.handle._agent_dir is not None]
    assert tokens and not any(t in out for t in tokens)


# -- storage keys stay with the client; each task has only its own SAS --------------

def test_the_public_azurite_key_opens_nothing(module_compute, job, pool, azurite, blobs,
                                              container):
    from azure.storage.blob import ContainerSasPermissions, generate_container_sas
    from topwords.backends.local.azurite import AZURITE_ACCOUNT, AZURITE_KEY
    expiry = datetime.now(timezone.utc) + timedelta(hours=1)
    forged = generate_container_sas(  # what any task could sign with the public key
        AZURITE_ACCOUNT, container, account_key=AZURITE_KEY, expiry=expiry,
        permission=ContainerSasPermissions(read=True, list=True, write=True, create=True))
    base = f"{azurite.blob_url}/{container}"
    probe = ("import os, urllib.request, urllib.error\n"
             "for method, url in (('GET', os.environ['LIST']), ('PUT', os.environ['PUT'])):\n"
             "    req = urllib.request.Request(url, data=b'x' if method == 'PUT' else None,\n"
             "        method=method, headers={'x-ms-blob-type': 'BlockBlob'})\n"
             "    try: print(urllib.request.urlopen(req).status)\n"
             "    except urllib.error.HTTPError as e: print(e.code)\n")
    env = {"LIST": f"{base}?restype=container&comp=list&{forged}",
           "PUT": f"{base}/planted.txt?{forged}"}
    task = run(module_compute, job, pool, TaskSpec(id="devkey", command_line=python(probe),
                                                   environment=env))["devkey"]
    assert task.succeeded, task.failure
    assert stdout_of(module_compute, job, "devkey").split() == ["403", "403"]
    assert blobs.list_blobs(container) == []


def test_a_task_cannot_overwrite_another_tasks_output_or_the_manifest(
        module_compute, job, pool, blobs, container, tmp_path):
    theirs = tmp_path / "theirs.txt"
    theirs.write_text("their result")
    for name in ("theirs_OUTPUT.txt", "manifest.json"):
        blobs.upload_file(container, name, theirs)
    mine = blobs.blob_write_url(container, "mine_OUTPUT.txt")
    probe = ("import os, urllib.parse, urllib.request, urllib.error\n"
             "mine = os.environ['TOPWORDS_OUTPUT_URL']\n"
             "parts = urllib.parse.urlsplit(mine)\n"
             "folder = parts.path.rsplit('/', 1)[0]\n"
             "for name in ('mine_OUTPUT.txt', 'theirs_OUTPUT.txt', 'manifest.json', 'new.txt'):\n"
             "    url = urllib.parse.urlunsplit(parts._replace(path=folder + '/' + name))\n"
             "    req = urllib.request.Request(url, data=b'forged', method='PUT',\n"
             "                                 headers={'x-ms-blob-type': 'BlockBlob'})\n"
             "    try: print(name, urllib.request.urlopen(req).status)\n"
             "    except urllib.error.HTTPError as e: print(name, e.code)\n")
    task = run(module_compute, job, pool, TaskSpec(
        id="overwrite", command_line=python(probe),
        environment={"TOPWORDS_OUTPUT_URL": mine}))["overwrite"]
    assert task.succeeded, task.failure
    assert stdout_of(module_compute, job, "overwrite").splitlines() == [
        "mine_OUTPUT.txt 201", "theirs_OUTPUT.txt 403", "manifest.json 403", "new.txt 403"]
    for name in ("theirs_OUTPUT.txt", "manifest.json"):
        blobs.download_file(container, name, tmp_path / "check")
        assert (tmp_path / "check").read_text() == "their result"
    assert urllib.parse.unquote(mine).count("mine_OUTPUT.txt") == 1
