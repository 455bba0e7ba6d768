"""A Batch emulator on process nodes (no Docker, no Azurite: these tests
stage nothing) and an azure-batch 15 ``BatchClient`` on it, for the tests
of autoscale and job schedules."""

from __future__ import annotations

import time
import uuid

from azure.batch import BatchClient, models as bm
from azure.core.credentials import AzureNamedKeyCredential

from topwords.backends.local.emulator import BatchEmulator

#: no storage is used; the emulator only needs an address for it
NO_STORAGE = "http://127.0.0.1:9/devstoreaccount1"


def start_emulator(**settings) -> BatchEmulator:
    return BatchEmulator(node_runtime="process", storage_url=NO_STORAGE, delete_grace=0.5,
                         max_nodes=8, **settings).start()


def client_of(emulator: BatchEmulator) -> BatchClient:
    return BatchClient(emulator.batch_url,
                       AzureNamedKeyCredential(emulator.account_name, emulator.account_key))


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def vm_configuration(client: BatchClient) -> bm.VirtualMachineConfiguration:
    image = max((i for i in client.list_supported_images()
                 if i.node_agent_sku_id.startswith("batch.node.ubuntu")),
                key=lambda i: i.node_agent_sku_id)
    return bm.VirtualMachineConfiguration(image_reference=image.image_reference,
                                          node_agent_sku_id=image.node_agent_sku_id)


def wait_for(condition, what: str, timeout: float = 30.0):
    """Poll ``condition()`` until it returns something true; that value."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)
