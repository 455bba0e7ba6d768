"""Deleting task and node files (``recursive``; links a task planted are
never followed) and removing nodes from a pool, through the public
azure-batch 15 SDK on process nodes."""

from __future__ import annotations

import pytest
from azure.batch import models as bm
from azure.core.exceptions import HttpResponseError, ResourceNotFoundError

from emulator_rig import client_of, new_id, start_emulator, vm_configuration, wait_for

T = bm.BatchTaskState

#: reboot options as a dict: azure-batch 15 exports no BatchNodeRebootOptions
#: and sends no Content-Type (which it then fails to serialise) for an empty one
REQUEUE = {"nodeRebootOption": "requeue"}


@pytest.fixture(scope="module")
def emulator():
    emulator = start_emulator()
    yield emulator
    emulator.stop()


@pytest.fixture(scope="module")
def client(emulator):
    with client_of(emulator) as client:
        yield client


def make_pool(client, nodes: int) -> str:
    pool_id = new_id("nodes")
    client.create_pool(bm.BatchPoolCreateOptions(
        id=pool_id, vm_size="standard_d2s_v3", target_dedicated_nodes=nodes,
        virtual_machine_configuration=vm_configuration(client)))
    wait_for(lambda: [n.state for n in client.list_nodes(pool_id)]
             == [bm.BatchNodeState.IDLE] * nodes, "idle nodes")
    return pool_id


@pytest.fixture(scope="module")
def pool_id(client):
    pool_id = make_pool(client, 1)
    yield pool_id
    client.begin_delete_pool(pool_id, polling_interval=0.2).result()


@pytest.fixture
def job_id(client, pool_id):
    job_id = new_id("job")
    client.create_job(bm.BatchJobCreateOptions(id=job_id,
                                               pool_info=bm.BatchPoolInfo(pool_id=pool_id)))
    yield job_id
    client.begin_delete_job(job_id, polling_interval=0.2).result()


def run(client, job_id: str, task_id: str, script: str) -> bm.BatchTask:
    client.create_task(job_id, bm.BatchTaskCreateOptions(id=task_id,
                                                         command_line=f"/bin/sh -c '{script}'"))
    return wait_for(lambda: (t := client.get_task(job_id, task_id)).state == T.COMPLETED and t,
                    f"task {task_id}")


def names(client, job_id: str, task_id: str) -> set[str]:
    return {f.name for f in client.list_task_files(job_id, task_id, recursive=True)}


def code_of(exc: pytest.ExceptionInfo) -> tuple[int, str]:
    return exc.value.status_code, exc.value.error.code


def test_delete_task_files_and_directories(client, job_id):
    run(client, job_id, "t", "echo a > a.txt; mkdir -p d/e; echo b > d/e/b.txt; mkdir empty")
    client.delete_task_file(job_id, "t", "wd/a.txt")
    assert "wd/a.txt" not in names(client, job_id, "t")
    with pytest.raises(ResourceNotFoundError):
        b"".join(client.download_task_file(job_id, "t", "wd/a.txt"))
    client.delete_task_file(job_id, "t", "wd/empty")  # an empty directory needs no recursive
    with pytest.raises(HttpResponseError) as full:
        client.delete_task_file(job_id, "t", "wd/d")
    assert code_of(full) == (409, "DirectoryNotEmpty")
    assert "wd/d/e/b.txt" in names(client, job_id, "t")
    client.delete_task_file(job_id, "t", "wd/d", recursive=True)
    left = names(client, job_id, "t")
    assert not any(n.startswith("wd/d") or n == "wd/empty" for n in left)
    assert {"stdout.txt", "stderr.txt"} <= left
    with pytest.raises(ResourceNotFoundError) as gone:
        client.delete_task_file(job_id, "t", "wd/a.txt")
    assert gone.value.error.code == "FileNotFound"
    with pytest.raises(ResourceNotFoundError):
        client.delete_task_file(job_id, "t", "../../../../startup/stdout.txt")


def test_deleting_never_follows_links_a_task_planted(client, job_id, tmp_path):
    outside = tmp_path / "host"
    outside.mkdir()
    (outside / "keep.txt").write_text("host file")
    run(client, job_id, "planter", f"ln -s {outside} dirlink; ln -s {outside}/keep.txt filelink; "
        f"mkdir tree; ln -s {outside} tree/inner")
    for path in ("wd/dirlink/keep.txt", "wd/filelink", "wd/dirlink"):
        with pytest.raises(ResourceNotFoundError):
            client.delete_task_file(job_id, "planter", path, recursive=True)
    client.delete_task_file(job_id, "planter", "wd/tree", recursive=True)  # the link goes
    assert (outside / "keep.txt").read_text() == "host file"
    assert sorted(p.name for p in outside.iterdir()) == ["keep.txt"]


def test_delete_node_file(client, pool_id, job_id):
    task = run(client, job_id, "n", "echo x > x.txt")
    root = task.node_info.task_root_directory
    node_id = task.node_info.node_id
    client.delete_node_file(pool_id, node_id, f"{root}/wd/x.txt")
    with pytest.raises(ResourceNotFoundError):
        client.delete_node_file(pool_id, node_id, f"{root}/wd/x.txt")
    client.delete_node_file(pool_id, node_id, root, recursive=True)
    assert names(client, job_id, "n") == set()
    with pytest.raises(ResourceNotFoundError) as no_node:
        client.delete_node_file(pool_id, "node-999", "startup")
    assert no_node.value.error.code == "NodeNotFound"


def test_remove_nodes_lowers_the_target_and_requeues_their_tasks(client):
    pool_id = make_pool(client, 2)
    job_id = new_id("job")
    client.create_job(bm.BatchJobCreateOptions(id=job_id,
                                               pool_info=bm.BatchPoolInfo(pool_id=pool_id)))
    try:
        client.create_task(job_id, bm.BatchTaskCreateOptions(
            id="long", command_line="/bin/sh -c 'sleep 2; echo ok'"))
        running = wait_for(lambda: (t := client.get_task(job_id, "long")).state == T.RUNNING
                           and t, "the task to run")
        node_id = running.node_info.node_id
        with pytest.raises(ResourceNotFoundError) as unknown:
            client.begin_remove_nodes(pool_id, bm.BatchNodeRemoveOptions(
                node_ids=["node-999"]), polling_interval=0.1).result()
        assert unknown.value.error.code == "NodeNotFound"
        client.begin_remove_nodes(pool_id, bm.BatchNodeRemoveOptions(
            node_ids=[node_id], node_deallocation_option="requeue"),
            polling_interval=0.1).result()
        wait_for(lambda: client.get_pool(pool_id).allocation_state
                 == bm.AllocationState.STEADY, "a steady pool")
        pool = client.get_pool(pool_id)
        assert (pool.target_dedicated_nodes, pool.current_dedicated_nodes) == (1, 1)
        assert node_id not in [n.id for n in client.list_nodes(pool_id)]
        done = wait_for(lambda: (t := client.get_task(job_id, "long")).state == T.COMPLETED
                        and t, "the requeued task")
        assert done.execution_info.requeue_count == 1 and done.execution_info.exit_code == 0
        assert done.node_info.node_id != node_id
    finally:
        client.begin_delete_job(job_id, polling_interval=0.2).result()
        client.begin_delete_pool(pool_id, polling_interval=0.2).result()


def test_reboot_and_reimage_restart_the_node_and_run_its_start_task_again(client):
    pool_id = new_id("boot")
    client.create_pool(bm.BatchPoolCreateOptions(
        id=pool_id, vm_size="standard_d2s_v3", target_dedicated_nodes=1,
        virtual_machine_configuration=vm_configuration(client),
        start_task=bm.BatchStartTask(
            command_line="/bin/sh -c 'echo start >> $AZ_BATCH_NODE_SHARED_DIR/starts'",
            wait_for_success=True)))
    job_id = new_id("job")
    client.create_job(bm.BatchJobCreateOptions(id=job_id,
                                               pool_info=bm.BatchPoolInfo(pool_id=pool_id)))

    def idle() -> str:
        [node] = wait_for(lambda: (n := list(client.list_nodes(pool_id)))
                          and n[0].state == bm.BatchNodeState.IDLE and n, "an idle node")
        return node.id

    def starts(node_id: str) -> bytes:
        return b"".join(client.download_node_file(pool_id, node_id, "shared/starts"))
    try:
        node_id = idle()
        assert starts(node_id) == b"start\n"
        client.create_task(job_id, bm.BatchTaskCreateOptions(
            id="long", command_line="/bin/sh -c 'sleep 2; echo ok'"))
        wait_for(lambda: client.get_task(job_id, "long").state == T.RUNNING, "the task to run")
        client.begin_reboot_node(pool_id, node_id, REQUEUE, polling_interval=0.1).result()
        assert client.get_node(pool_id, node_id).state != bm.BatchNodeState.REBOOTING
        assert idle() == node_id
        assert starts(node_id) == b"start\nstart\n"  # its directory stays; StartTask again
        done = wait_for(lambda: (t := client.get_task(job_id, "long")).state == T.COMPLETED
                        and t, "the requeued task")
        assert (done.execution_info.requeue_count, done.execution_info.exit_code) == (1, 0)

        client.create_task(job_id, bm.BatchTaskCreateOptions(id="ended",
                                                             command_line="sleep 30"))
        wait_for(lambda: client.get_task(job_id, "ended").state == T.RUNNING, "the task to run")
        client.begin_reimage_node(pool_id, node_id, {"nodeReimageOption": "terminate"}, polling_interval=0.1).result()
        assert idle() == node_id
        assert starts(node_id) == b"start\n"  # a fresh disk
        ended = client.get_task(job_id, "ended")
        assert ended.state == T.COMPLETED
        assert ended.execution_info.failure_info.code == "TaskEnded"

        with pytest.raises(ResourceNotFoundError) as missing:
            client.begin_reboot_node(pool_id, "node-999", REQUEUE, polling_interval=0.1).result()
        assert missing.value.error.code == "NodeNotFound"
        client.begin_reboot_node(pool_id, node_id, REQUEUE, polling_interval=0.1)  # not waited for
        with pytest.raises(HttpResponseError) as busy:
            client.begin_reboot_node(pool_id, node_id, REQUEUE, polling_interval=0.1).result()
        assert code_of(busy) == (409, "OperationInvalidForCurrentState")
        idle()
    finally:
        client.begin_delete_job(job_id, polling_interval=0.2).result()
        client.begin_delete_pool(pool_id, polling_interval=0.2).result()


def test_node_users_and_remote_login_are_refused_as_not_emulated(client, pool_id):
    [node] = list(client.list_nodes(pool_id))
    with pytest.raises(HttpResponseError) as create:
        client.create_node_user(pool_id, node.id, bm.BatchNodeUserCreateOptions(
            name="alice", password="not-used-1!"))
    assert code_of(create) == (409, "OperationInvalidForCurrentState")
    assert "no remote logins" in create.value.error.message
    assert "not-used-1!" not in str(create.value)
    with pytest.raises(HttpResponseError) as login:
        client.get_node_remote_login_settings(pool_id, node.id)
    assert code_of(login) == (409, "OperationInvalidForCurrentState")
    for call in (lambda: client.delete_node_user(pool_id, node.id, "alice"),
                 lambda: client.replace_node_user(pool_id, node.id, "alice",
                                                  bm.BatchNodeUserReplaceOptions(
                                                      password="x-2!"))):
        with pytest.raises(ResourceNotFoundError) as user:
            call()
        assert user.value.error.code == "NodeUserNotFound"
    with pytest.raises(ResourceNotFoundError) as no_node:
        client.get_node_remote_login_settings(pool_id, "node-999")
    assert no_node.value.error.code == "NodeNotFound"
    with pytest.raises(ResourceNotFoundError) as no_pool:
        client.delete_node_user("no-such-pool", node.id, "alice")
    assert no_pool.value.error.code == "PoolNotFound"
