"""A container task ends with the emulator that started it, even one killed
with SIGKILL: it lives in its node's PID namespace, and the node ends with
its owner's lifeline. What is left is an exited container labelled with
that dead lifeline, which the sweeps of later runs remove."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from topwords.backends.local.labels import LIFELINE_LABEL
from topwords.backends.local.lifeline import is_alive

from fault_rig import emulator_settings, until

pytestmark = [pytest.mark.docker, pytest.mark.azurite]

IMAGE = "topwords-node:local"


def test_a_container_task_ends_with_its_killed_emulator(docker_client):
    from azure.batch import BatchClient, models as bm
    from azure.core.credentials import AzureNamedKeyCredential
    env = {k: v for k, v in os.environ.items() if not k.startswith("TOPWORDS_")}
    proc = subprocess.Popen([sys.executable, "-m", "topwords.cli", "emulator"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    task_filter = None
    try:
        exports = emulator_settings(proc)
        client = BatchClient(exports["TOPWORDS_BATCH_URL"], AzureNamedKeyCredential(
            exports["TOPWORDS_BATCH_ACCOUNT"], exports["TOPWORDS_BATCH_KEY"]))
        image = list(client.list_supported_images())[0]
        pool_id = f"orphan-ct-{proc.pid}"
        client.create_pool(bm.BatchPoolCreateOptions(
            id=pool_id, vm_size="standard_d2s_v3", target_dedicated_nodes=1,
            virtual_machine_configuration=bm.VirtualMachineConfiguration(
                image_reference=image.image_reference, node_agent_sku_id=image.node_agent_sku_id,
                container_configuration=bm.BatchContainerConfiguration(
                    type=bm.ContainerType.DOCKER_COMPATIBLE, container_image_names=[IMAGE]))))
        client.create_job(bm.BatchJobCreateOptions(id="j", pool_info=bm.BatchPoolInfo(
            pool_id=pool_id)))
        client.create_task("j", bm.BatchTaskCreateOptions(
            id="forever", command_line="sleep 3600",
            container_settings=bm.BatchTaskContainerSettings(image_name=IMAGE)))
        task_filter = {"label": ["topwords.container-task=1", f"topwords.pool={pool_id}"]}
        assert until(lambda: docker_client.api.containers(filters=task_filter), 30.0), \
            "the container task did not start"
        client.close()
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        # within seconds: its node's agent ends on the lifeline at once, and the
        # node's PID namespace takes the task with it (not a later sweep)
        assert until(lambda: not docker_client.api.containers(filters=task_filter), 5.0), \
            "the container task outlived its emulator"
        for left in docker_client.api.containers(all=True, filters=task_filter):
            assert not is_alive(left["Labels"][LIFELINE_LABEL])  # the sweeps will take it
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for left in docker_client.api.containers(all=True, filters=task_filter or {
                "label": f"topwords.pool=orphan-ct-{proc.pid}"}):
            docker_client.api.remove_container(left["Id"], force=True)  # ours only
