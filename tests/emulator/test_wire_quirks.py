"""What real Batch clients send that the service accepts (facts in the
shared notes on Batch clients): integer-valued strings (the Azure CLI),
the retired images the official samples still name. The over-the-wire
quirks (client-request-id, Content-Length) are in test_http_framing and
test_auth; the clients themselves run in tests/clients."""

from __future__ import annotations

import pytest

from topwords.backends.local.emulator import shapes
from topwords.backends.local.emulator.errors import BatchApiError
from topwords.backends.local.emulator.images import (
    RETIRED_IMAGES, SUPPORTED_IMAGES, image_index,
)

from test_shapes import pool_body, task_body


def refused(fn, *args, **kwargs) -> BatchApiError:
    with pytest.raises(BatchApiError) as info:
        fn(*args, **kwargs)
    return info.value


def test_pool_counts_sent_as_strings_by_the_azure_cli_are_integers():
    body = pool_body(targetDedicatedNodes="1", targetLowPriorityNodes="0",
                     taskSlotsPerNode=" 2 ")
    body["startTask"]["maxTaskRetryCount"] = "3"
    spec, _ = shapes.pool_spec(body, images=image_index(), max_nodes=16)
    assert (spec.node_count, spec.spot_node_count, spec.task_slots_per_node) == (1, 0, 2)
    assert spec.start_task.max_task_retry_count == 3


def test_task_retry_count_sent_as_a_string_is_an_integer():
    body = task_body(requiredSlots="1")
    body["constraints"]["maxTaskRetryCount"] = "1"
    spec, _ = shapes.task_spec(body)
    assert spec.constraints.max_task_retry_count == 1


@pytest.mark.parametrize("value", ["one", "1.5", "", "1e3", True, 1.5, "12345678901", [1]])
def test_values_that_are_not_integers_are_refused_naming_the_property(value):
    error = refused(shapes.pool_spec, pool_body(targetDedicatedNodes=value),
                    images=image_index(), max_nodes=16)
    assert (error.status, error.code) == (400, "InvalidPropertyValue")
    assert error.values["PropertyName"] == "targetDedicatedNodes"


def test_string_retry_count_keeps_its_place_in_the_error_name():
    body = pool_body()
    body["startTask"]["maxTaskRetryCount"] = "-2"
    error = refused(shapes.pool_spec, body, images=image_index(), max_nodes=16)
    assert error.values["PropertyName"] == "startTask.maxTaskRetryCount"


def test_string_count_above_the_emulators_limit_is_still_refused():
    error = refused(shapes.pool_spec, pool_body(targetDedicatedNodes="40",
                                                targetLowPriorityNodes="0"),
                    images=image_index(), max_nodes=16)
    assert error.values["PropertyName"] == "targetDedicatedNodes"


@pytest.mark.parametrize("publisher, offer, sku, agent", [
    ("Canonical", "0001-com-ubuntu-server-focal", "20_04-lts", "batch.node.ubuntu 20.04"),
    ("canonical", "UbuntuServer", "18.04-LTS", "batch.node.ubuntu 18.04"),
])
def test_retired_quickstart_images_are_refused_saying_so_and_naming_a_current_one(
        publisher, offer, sku, agent):
    body = pool_body(virtualMachineConfiguration={
        "imageReference": {"publisher": publisher, "offer": offer, "sku": sku,
                           "version": "latest"},
        "nodeAgentSKUId": agent})
    error = refused(shapes.pool_spec, body, images=image_index(), max_nodes=16)
    assert (error.status, error.code) == (400, "InvalidPropertyValue")
    assert error.values["PropertyName"] == "virtualMachineConfiguration.imageReference"
    reason = error.values["Reason"]
    assert "retired" in reason
    current_agent, current_publisher, current_offer, current_sku = SUPPORTED_IMAGES[0]
    assert current_offer in reason and current_sku in reason and current_agent in reason


def test_retired_images_are_not_also_supported():
    assert not set(RETIRED_IMAGES) & set(image_index())


def test_unknown_image_is_not_called_retired():
    body = pool_body(virtualMachineConfiguration={
        "imageReference": {"publisher": "x", "offer": "y", "sku": "z"},
        "nodeAgentSKUId": "batch.node.ubuntu 24.04"})
    error = refused(shapes.pool_spec, body, images=image_index(), max_nodes=16)
    assert "retired" not in error.values["Reason"]
