"""containerConfiguration and containerSettings as azure-batch 15 sends
them -> core specs (pure functions, no Docker)."""

from __future__ import annotations

import json

import pytest
from azure.batch import models as bm
from azure.batch._utils.model_base import SdkJSONEncoder

from topwords.backends.local.emulator import shapes
from topwords.backends.local.emulator.errors import BatchApiError
from topwords.backends.local.emulator.images import image_index, supported_images_json
from topwords.core.containers import BindMount

IMAGE = bm.BatchSupportedImage(supported_images_json()[-1])


def wire(model) -> dict:
    return json.loads(json.dumps(model, cls=SdkJSONEncoder, exclude_readonly=True))


def refused(fn, *args, **kwargs) -> BatchApiError:
    with pytest.raises(BatchApiError) as info:
        fn(*args, **kwargs)
    return info.value


def container_pool(**config) -> dict:
    return wire(bm.BatchPoolCreateOptions(
        id="p1", vm_size="standard_d2s_v3", target_dedicated_nodes=1,
        virtual_machine_configuration=bm.VirtualMachineConfiguration(
            image_reference=IMAGE.image_reference, node_agent_sku_id=IMAGE.node_agent_sku_id,
            container_configuration=bm.BatchContainerConfiguration(**config)),
        start_task=bm.BatchStartTask(
            command_line="", container_settings=bm.BatchTaskContainerSettings(
                image_name="img:1", registry=bm.ContainerRegistryReference(
                    registry_server="r.example", username="u", password="secret")))))


def task(settings: bm.BatchTaskContainerSettings, **more) -> dict:
    return wire(bm.BatchTaskCreateOptions(id="t1", command_line="python3 x.py",
                                          container_settings=settings, **more))


def test_pool_container_configuration_parses_and_passwords_are_not_echoed():
    body = container_pool(type=bm.ContainerType.DOCKER_COMPATIBLE,
                          container_image_names=["img:1", "other"],
                          container_registries=[bm.ContainerRegistryReference(
                              registry_server="r.example", username="u", password="secret")])
    spec, echo = shapes.pool_spec(body, images=image_index(), max_nodes=4)
    config = spec.container_configuration
    assert (config.type, config.image_names) == ("dockerCompatible", ("img:1", "other"))
    assert spec.start_task.command_line == ""
    assert spec.start_task.container_settings.image_name == "img:1"
    assert "secret" not in json.dumps(echo)
    vm = echo["virtualMachineConfiguration"]["containerConfiguration"]
    assert vm["containerImageNames"] == ["img:1", "other"]
    assert vm["containerRegistries"] == [{"registryServer": "r.example", "username": "u"}]


def test_pool_container_configuration_needs_a_known_type():
    error = refused(shapes.pool_spec, container_pool(type="podman"), images=image_index(),
                    max_nodes=4)
    assert (error.status, error.code) == (400, "InvalidPropertyValue")
    assert error.values["PropertyName"] == "virtualMachineConfiguration.containerConfiguration"
    assert "dockerCompatible or criCompatible" in error.values["Reason"]


def test_task_container_settings_parse_with_their_echo():
    settings = bm.BatchTaskContainerSettings(
        image_name="topwords-node:local", container_run_options="--rm -e A=1",
        working_directory=bm.ContainerWorkingDirectory.CONTAINER_IMAGE_DEFAULT,
        container_host_batch_bind_mounts=[bm.ContainerHostBatchBindMountEntry(
            source=bm.ContainerHostDataPath.SHARED, is_read_only=True),
            bm.ContainerHostBatchBindMountEntry(source=bm.ContainerHostDataPath.TASK)])
    spec, echo = shapes.task_spec(task(settings))
    got = spec.container_settings
    assert (got.image_name, got.run_options, got.working_directory) == (
        "topwords-node:local", "--rm -e A=1", "containerImageDefault")
    assert got.bind_mounts == (BindMount(source="Shared", read_only=True),
                               BindMount(source="Task"))
    assert echo["containerSettings"]["imageName"] == "topwords-node:local"


def test_a_container_task_may_have_an_empty_command_line_and_a_plain_one_may_not():
    body = {**task(bm.BatchTaskContainerSettings(image_name="img")), "commandLine": ""}
    assert shapes.task_spec(body)[0].command_line == ""
    error = refused(shapes.task_spec, {"id": "t2", "commandLine": ""})
    assert error.code == "MissingRequiredProperty"


@pytest.mark.parametrize("options,reason", [
    ("--privileged", "'--privileged' is not allowed"),
    ("--network=bridge", "'--network' is not allowed"),
    ("-v /:/host", "'-v' is not allowed"),
    ("-e SECRET", "needs NAME=value"),
])
def test_run_options_outside_the_safe_subset_are_a_clear_400(options, reason):
    error = refused(shapes.task_spec, task(bm.BatchTaskContainerSettings(
        image_name="img", container_run_options=options)))
    assert (error.status, error.code) == (400, "InvalidPropertyValue")
    assert error.values["PropertyName"] == "containerSettings"
    assert reason in error.values["Reason"]


def test_a_missing_image_name_and_a_bad_mount_source_are_refused():
    assert refused(shapes.task_spec, {"id": "t", "commandLine": "x", "containerSettings": {}}
                   ).values["PropertyName"] == "containerSettings.imageName"
    error = refused(shapes.task_spec, {"id": "t", "commandLine": "x", "containerSettings": {
        "imageName": "img", "containerHostBatchBindMounts": [{"source": "Root"}]}})
    assert error.values["PropertyName"] == "containerSettings.containerHostBatchBindMounts"


def test_a_non_admin_task_cannot_choose_its_container_user():
    error = refused(shapes.task_spec, task(bm.BatchTaskContainerSettings(
        image_name="img", container_run_options="--user 0")))
    assert "--user needs an admin task" in error.values["Reason"]
