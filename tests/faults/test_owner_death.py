"""Killed outright, an emulator leaves nothing running, and what it left on
disk is swept by the next start; a live owner's resources are never
touched."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from fault_rig import emulator_settings, until

pytestmark = [pytest.mark.docker, pytest.mark.azurite]


def _open(url: str) -> bool:
    parts = urlsplit(url)
    with socket.socket() as sock:
        return sock.connect_ex((parts.hostname, parts.port)) == 0


def test_an_emulator_killed_with_sigkill_leaves_nothing_and_its_folder_is_swept(
        tmp_path, docker_client):
    from azure.batch import BatchClient, models as bm
    from azure.core.credentials import AzureNamedKeyCredential
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOPWORDS_")}
    before = set(Path(tempfile.gettempdir()).glob("topwords-emulator-*"))
    proc = subprocess.Popen([sys.executable, "-m", "topwords.cli", "emulator"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        exports = emulator_settings(proc)
        client = BatchClient(exports["TOPWORDS_BATCH_URL"], AzureNamedKeyCredential(
            exports["TOPWORDS_BATCH_ACCOUNT"], exports["TOPWORDS_BATCH_KEY"]))
        image = list(client.list_supported_images())[0]
        client.create_pool(bm.BatchPoolCreateOptions(
            id="orphan", vm_size="standard_d2s_v3", target_dedicated_nodes=1,
            virtual_machine_configuration=bm.VirtualMachineConfiguration(
                image_reference=image.image_reference,
                node_agent_sku_id=image.node_agent_sku_id)))
        owner = {"label": f"topwords.owner={socket.gethostname()}:{proc.pid}"}
        assert until(lambda: docker_client.api.containers(filters=owner))
        client.close()
        own_dir = set(Path(tempfile.gettempdir()).glob("topwords-emulator-*")) - before
        assert len(own_dir) == 1
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert until(lambda: not docker_client.api.containers(all=True, filters=owner))
        assert until(lambda: not _open(exports["TOPWORDS_STORAGE_URL"]))  # Azurite went too
        assert not _open(exports["TOPWORDS_BATCH_URL"])
        assert next(iter(own_dir)).exists()  # only its folder is left ...
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    swept = subprocess.run([sys.executable, "-m", "topwords.cli", "local", "cleanup"],
                           env=env, capture_output=True, text=True, timeout=60)
    assert swept.returncode == 0, swept.stderr
    assert not next(iter(own_dir)).exists()  # ... and the next sweep removes it


def test_a_sweep_never_touches_a_live_owners_containers_or_folders(docker_client, tmp_path):
    from topwords.backends.local.config import LocalConfig
    from topwords.backends.local.docker_node import connect
    from topwords.backends.local.engine import LocalBatchEngine
    from topwords.backends.local.leftovers import candidate_dirs, sweep
    from topwords.core.model import NodeState, PoolSpec
    engine = LocalBatchEngine(connect(), image=LocalConfig.from_env().image,
                              work_dir=tmp_path / "nodes")
    try:
        engine.create_pool(PoolSpec(id="alive", node_count=1))
        assert until(lambda: engine.list_nodes("alive")[0].state is NodeState.IDLE)
        said: list[str] = []
        swept = sweep(docker_client, dirs=candidate_dirs(tmp_path / "nodes"), say=said.append)
        assert swept.total == 0 or all("alive" not in line for line in said if "remov" in line)
        assert engine.list_nodes("alive")[0].state is NodeState.IDLE
        assert (tmp_path / "nodes" / "alive").is_dir()
        assert docker_client.api.containers(filters={"label": "topwords.pool=alive"})
    finally:
        engine.delete_pool("alive")
        engine.close()
