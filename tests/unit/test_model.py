"""Core model rules: pool compatibility for reuse, id and path checks."""

from __future__ import annotations

import pytest

from topwords.core.errors import ConfigError
from topwords.core.model import PoolInfo, PoolSpec, ResourceFile, StartTask

START = StartTask(command_line="/bin/bash -c 'cp task.py $AZ_BATCH_NODE_SHARED_DIR'")


def pool(**kw):
    return PoolSpec(**{"id": "p", "vm_size": "standard_d2s_v3",
                       "image": "canonical:ubuntu-24_04-lts:server:latest",
                       "start_task": START, **kw})


@pytest.mark.parametrize("wanted", [
    pool(), pool(image=None), pool(image="Canonical:Ubuntu-24_04-LTS:server"),
    pool(vm_size="Standard_D2s_v3"), pool(node_count=5),
])
def test_compatible_with_same_shape_is_true(wanted):
    assert PoolInfo(spec=pool()).compatible_with(wanted)


@pytest.mark.parametrize("wanted", [
    pool(vm_size="standard_d4s_v3"), pool(image="canonical:ubuntu-22_04-lts:server"),
    pool(task_slots_per_node=2), pool(start_task=None),
    pool(start_task=StartTask(command_line="true")),
])
def test_compatible_with_other_shape_is_false(wanted):
    assert not PoolInfo(spec=pool()).compatible_with(wanted)


def test_compatible_with_deleting_pool_is_false():
    assert not PoolInfo(spec=pool(), state="deleting").compatible_with(pool())


@pytest.mark.parametrize("bad", ["", "a b", "x" * 65, "ü"])
def test_pool_spec_with_bad_id_raises_config_error(bad):
    with pytest.raises(ConfigError):
        PoolSpec(id=bad)


@pytest.mark.parametrize("path", ["/etc/passwd", "../x", "a/../../x", ""])
def test_resource_file_outside_task_dir_raises_config_error(path):
    with pytest.raises(ConfigError):
        ResourceFile(http_url="http://h/c/b?sig=x", file_path=path)


def test_resource_file_repr_hides_the_sas_url():
    assert "sig=" not in repr(ResourceFile(http_url="http://h/c/b?sig=secret", file_path="b"))
