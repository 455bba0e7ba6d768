"""The container model: the safe subset of containerRunOptions, settings
and configuration checks."""

from __future__ import annotations

import pytest

from topwords.core.containers import (
    BindMount, ContainerConfiguration, ContainerSettings, RunOptions, parse_run_options,
)
from topwords.core.errors import ConfigError
from topwords.core.model import PoolInfo, PoolSpec, StartTask, TaskSpec


def test_parse_run_options_takes_the_safe_subset_in_both_spellings():
    options = parse_run_options("--rm -e A=1 --env=B=two=2 -w /work --user 1000:1000 "
                                "--entrypoint /bin/sh -e 'C=with space'")
    assert options == RunOptions(env=(("A", "1"), ("B", "two=2"), ("C", "with space")),
                                 workdir="/work", user="1000:1000", entrypoint="/bin/sh")
    assert parse_run_options("--workdir=/x -u root") == RunOptions(workdir="/x", user="root")
    assert parse_run_options("") == RunOptions()


@pytest.mark.parametrize("text,says", [
    ("--privileged", "'--privileged' is not allowed"),
    ("--rm --network bridge", "'--network' is not allowed"),
    ("-v /:/host", "'-v' is not allowed"),
    ("--cap-add=SYS_ADMIN", "'--cap-add' is not allowed"),
    ("--security-opt seccomp=unconfined", "'--security-opt' is not allowed"),
    ("--pid=host", "'--pid' is not allowed"),
    ("-e HOME", "needs NAME=value"),
    ("-e =x", "needs NAME=value"),
    ("--workdir", "--workdir needs a value"),
    ("-w relative/dir", "must be an absolute path"),
    ("--rm 'unclosed", "cannot be parsed"),
])
def test_parse_run_options_refuses_everything_else_in_one_line(text, says):
    with pytest.raises(ConfigError) as refused:
        parse_run_options(text)
    assert says in str(refused.value) and "\n" not in str(refused.value)
    if "not allowed" in says:
        assert "allowed: --rm, -e, --workdir, --user, --entrypoint" in str(refused.value)


def test_settings_parse_their_run_options_and_check_their_values():
    settings = ContainerSettings(image_name="img", run_options="-e A=1")
    assert settings.options.env == (("A", "1"),)
    with pytest.raises(ConfigError, match="imageName"):
        ContainerSettings(image_name=" ")
    with pytest.raises(ConfigError, match="workingDirectory"):
        ContainerSettings(image_name="img", working_directory="elsewhere")
    with pytest.raises(ConfigError, match="'--privileged' is not allowed"):
        ContainerSettings(image_name="img", run_options="--privileged")
    with pytest.raises(ConfigError, match="must be one of Shared"):
        BindMount(source="Root")
    with pytest.raises(ConfigError, match="dockerCompatible or criCompatible"):
        ContainerConfiguration(type="podman")


def test_only_admin_tasks_may_choose_their_user():
    settings = ContainerSettings(image_name="img", run_options="--user 0")
    with pytest.raises(ConfigError, match="--user needs an admin task"):
        TaskSpec(id="t", command_line="id", container_settings=settings)
    TaskSpec(id="t", command_line="id", container_settings=settings, run_elevated=True)
    with pytest.raises(ConfigError, match="--user needs an admin task"):
        StartTask(command_line="id", container_settings=settings, run_elevated=False)


def test_a_pool_for_container_tasks_fits_only_a_pool_with_their_images():
    plain = PoolSpec(id="p")
    wanted = PoolSpec(id="p", container_configuration=ContainerConfiguration(
        image_names=("a",)))
    both = PoolSpec(id="p", container_configuration=ContainerConfiguration(
        image_names=("a", "b")))
    assert PoolInfo(spec=both).compatible_with(wanted)
    assert PoolInfo(spec=both).compatible_with(plain)
    assert not PoolInfo(spec=plain).compatible_with(wanted)
    assert not PoolInfo(spec=wanted).compatible_with(
        PoolSpec(id="p", container_configuration=ContainerConfiguration(image_names=("b",))))
