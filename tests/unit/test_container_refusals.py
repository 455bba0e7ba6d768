"""Container settings on the process node runtime are refused up front,
clearly (no Docker is needed to see it), and the emulator answers 400
UnsupportedProperty naming the setting."""

from __future__ import annotations

import pytest

from topwords.backends.local.emulator.errors import BatchApiError
from topwords.backends.local.emulator.routing import engine_errors
from topwords.backends.local.engine import LocalBatchEngine
from topwords.backends.local.process_node import ProcessRuntime
from topwords.core.containers import ContainerConfiguration, ContainerSettings
from topwords.core.errors import ConfigError, UnsupportedSetting
from topwords.core.model import JobSpec, PoolSpec, StartTask, TaskSpec

SETTINGS = ContainerSettings(image_name="topwords-node:local")


@pytest.fixture
def engine(tmp_path):
    engine = LocalBatchEngine(runtime=ProcessRuntime(), image="any", work_dir=tmp_path)
    yield engine
    engine.close()


@pytest.mark.parametrize("spec,setting", [
    (PoolSpec(id="p", container_configuration=ContainerConfiguration(
        image_names=("topwords-node:local",))),
     "virtualMachineConfiguration.containerConfiguration"),
    (PoolSpec(id="p", start_task=StartTask(command_line="true", container_settings=SETTINGS)),
     "startTask.containerSettings"),
])
def test_process_nodes_refuse_container_pools(engine, spec, setting):
    for call in (engine.validate_pool, engine.create_pool):
        with pytest.raises(UnsupportedSetting) as refused:
            call(spec)
        assert refused.value.setting == setting
        assert "needs the container node runtime" in str(refused.value)
        assert "process nodes" in str(refused.value)
    assert engine.pool_records() == []


def test_process_nodes_refuse_container_tasks(engine):
    engine.create_job(JobSpec(id="j", pool_id="p"), pool_must_exist=False)
    with pytest.raises(UnsupportedSetting) as refused:
        engine.add_tasks("j", [TaskSpec(id="t", command_line="true",
                                        container_settings=SETTINGS)])
    assert refused.value.setting == "containerSettings"
    assert engine.list_tasks("j") == []


def test_the_emulator_answers_unsupported_property_for_them():
    with pytest.raises(BatchApiError) as answer:
        with engine_errors("Task", "t"):
            raise UnsupportedSetting("containerSettings", "task t: needs the container runtime")
    assert (answer.value.status, answer.value.code) == (400, "UnsupportedProperty")
    assert answer.value.values["PropertyName"] == "containerSettings"
    assert issubclass(UnsupportedSetting, ConfigError)


def test_an_empty_command_line_is_only_for_container_tasks(engine):
    engine.create_job(JobSpec(id="j", pool_id="p"), pool_must_exist=False)
    with pytest.raises(ConfigError, match="empty command line"):
        engine.add_tasks("j", [TaskSpec(id="t", command_line="")])


def test_a_container_start_task_needs_a_container_pool_and_an_update_is_checked(tmp_path):
    from topwords.backends.local import container_run

    class Containers:
        runs_containers, name = True, "container"
    start = StartTask(command_line="true", container_settings=SETTINGS)
    with pytest.raises(ConfigError, match="needs the pool's virtualMachineConfiguration"):
        container_run.check_pool(Containers(), PoolSpec(id="p", start_task=start),
                                 images=False)
    container_run.check_pool(Containers(), PoolSpec(
        id="p", start_task=start, container_configuration=ContainerConfiguration()),
        images=False)
    engine = LocalBatchEngine(runtime=ProcessRuntime(), image="any", work_dir=tmp_path)
    try:
        engine.create_pool(PoolSpec(id="p", node_count=0))
        with pytest.raises(UnsupportedSetting):
            engine.update_pool("p", start_task=start)
        assert engine.pool_record("p").info.spec.start_task is None
    finally:
        engine.delete_pool("p")
        engine.close()
