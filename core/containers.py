"""Container workloads in Batch's vocabulary: a pool's container
configuration and a task's container settings (Batch
``containerConfiguration`` / ``containerSettings``).

``containerRunOptions`` is free text for ``docker create`` on a real node;
here only a safe subset is taken (:data:`RUN_OPTIONS`), parsed once by
:func:`parse_run_options` so that every backend refuses the same options
with the same one line. Everything else (``--privileged``, ``--network``,
``-v``, ``--cap-add``, ...) could undo the isolation of the local nodes and
is refused. ``-e NAME`` without a value is refused too: it would copy the
engine's own environment into the task.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field

from .errors import ConfigError

__all__ = ["BindMount", "ContainerConfiguration", "ContainerSettings", "DATA_PATHS",
           "RUN_OPTIONS", "RunOptions", "parse_run_options"]

#: Batch's container types
CONTAINER_TYPES = ("dockerCompatible", "criCompatible")
#: Batch's ``containerHostBatchBindMounts`` sources
DATA_PATHS = ("Shared", "Startup", "VfsMounts", "Task", "JobPrep", "Applications")
#: the ``containerRunOptions`` taken, with whether each takes a value
RUN_OPTIONS = {"--rm": False, "-e": True, "--env": True, "-w": True, "--workdir": True,
               "-u": True, "--user": True, "--entrypoint": True}
_WORKING_DIRECTORIES = ("taskWorkingDirectory", "containerImageDefault")


@dataclass(frozen=True, kw_only=True)
class RunOptions:
    """What ``containerRunOptions`` asked for (``--rm`` changes nothing:
    task containers are always removed once their output is read)."""

    env: tuple[tuple[str, str], ...] = ()
    workdir: str | None = None
    user: str | None = None
    entrypoint: str | None = None


def parse_run_options(text: str) -> RunOptions:
    """The safe subset of ``docker create`` options (see the module docstring).

    Raises:
        ConfigError: an option outside the subset, a missing value, or
            ``-e NAME`` without ``=value``.
    """
    try:
        words = shlex.split(text or "")
    except ValueError as exc:
        raise ConfigError(f"containerRunOptions cannot be parsed ({exc})") from None
    found: dict[str, str] = {}
    env: list[tuple[str, str]] = []
    i = 0
    while i < len(words):
        word, i = words[i], i + 1
        name, has_value, value = word.partition("=") if word.startswith("--") else (word, "", "")
        if name not in RUN_OPTIONS:
            allowed = ", ".join(k for k in RUN_OPTIONS if k not in ("--env", "-w", "-u"))
            raise ConfigError(f"containerRunOptions: {word.split('=')[0]!r} is not allowed "
                              f"(allowed: {allowed}, with -e/--env, -w/--workdir, -u/--user)")
        if not RUN_OPTIONS[name]:
            continue
        if not has_value:
            if i >= len(words):
                raise ConfigError(f"containerRunOptions: {name} needs a value")
            value, i = words[i], i + 1
        if name in ("-e", "--env"):
            key, equals, setting = value.partition("=")
            if not equals or not key:
                raise ConfigError(f"containerRunOptions: {name} {value!r} needs NAME=value "
                                  "(the engine's own environment is never passed on)")
            env.append((key, setting))
        else:
            option = {"-w": "--workdir", "-u": "--user"}.get(name, name)
            if option == "--workdir" and not value.startswith("/"):
                raise ConfigError(f"containerRunOptions: {name} {value!r} must be an absolute "
                                  "path in the container")
            found[option] = value
    return RunOptions(env=tuple(env), workdir=found.get("--workdir"), user=found.get("--user"),
                      entrypoint=found.get("--entrypoint"))


@dataclass(frozen=True, kw_only=True)
class BindMount:
    """One ``containerHostBatchBindMounts`` entry: a node directory
    (``source``, one of :data:`DATA_PATHS`) mounted at its own path."""

    source: str
    read_only: bool = False

    def __post_init__(self) -> None:
        if self.source not in DATA_PATHS:
            raise ConfigError(f"containerHostBatchBindMounts source must be one of "
                              f"{', '.join(DATA_PATHS)}, got {self.source!r}")


@dataclass(frozen=True, kw_only=True)
class ContainerSettings:
    """Run a task (or StartTask) in a container of ``image_name``.

    Attributes:
        image_name: the image (locally: one Docker has; nothing is pulled).
        run_options: ``containerRunOptions`` text (the safe subset only).
        working_directory: ``taskWorkingDirectory`` (the task's ``wd``, the
            default) or ``containerImageDefault`` (the image's WORKDIR).
        bind_mounts: None mounts the whole node root (Batch's default on
            Linux); a tuple mounts only those node directories (empty:
            none).
    """

    image_name: str
    run_options: str = ""
    working_directory: str = "taskWorkingDirectory"
    bind_mounts: tuple[BindMount, ...] | None = None
    options: RunOptions = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.image_name or not self.image_name.strip():
            raise ConfigError("containerSettings.imageName must not be empty")
        if self.working_directory not in _WORKING_DIRECTORIES:
            raise ConfigError("containerSettings.workingDirectory must be taskWorkingDirectory "
                              f"or containerImageDefault, got {self.working_directory!r}")
        object.__setattr__(self, "options", parse_run_options(self.run_options))

    def check_user(self, elevated: bool, what: str) -> None:
        """Raise ConfigError if a non-admin task asks for another user."""
        if self.options.user is not None and not elevated:
            raise ConfigError(f"{what}: containerRunOptions --user needs an admin task "
                              "(elevationLevel admin); a non-admin task runs as its own "
                              "auto-user")


@dataclass(frozen=True, kw_only=True)
class ContainerConfiguration:
    """A pool whose nodes run container tasks (Batch ``containerConfiguration``).

    Attributes:
        type: ``dockerCompatible`` or ``criCompatible``.
        image_names: images every node has before it takes tasks (a node
            that cannot get one is ``unusable``).
    """

    type: str = "dockerCompatible"
    image_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.type not in CONTAINER_TYPES:
            raise ConfigError("containerConfiguration.type must be dockerCompatible or "
                              f"criCompatible, got {self.type!r}")
        if any(not name or not name.strip() for name in self.image_names):
            raise ConfigError("containerConfiguration.containerImageNames must not hold "
                              "an empty name")
